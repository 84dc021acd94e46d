package devnet_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/devnet"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/relay"
	"github.com/veil-network/veil/worker"
)

// registryGenesis returns a dev app_state whose registry section mutate
// changed.
func registryGenesis(t *testing.T, mutate func(g *registry.Genesis)) json.RawMessage {
	t.Helper()
	st := app.DefaultGenesis(app.NewModuleSet().Modules)
	var g registry.Genesis
	if err := json.Unmarshal(st[registry.Name], &g); err != nil {
		t.Fatal(err)
	}
	mutate(&g)
	st[registry.Name], _ = json.Marshal(g)
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func startWith(t *testing.T, o devnet.Options) *devnet.Network {
	t.Helper()
	if o.Home == "" {
		o.Home = t.TempDir()
	}
	o.Logger = testLogger(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	n, err := devnet.Start(ctx, o)
	if err != nil {
		t.Fatalf("start dev network: %v", err)
	}
	return n
}

// workerRecord reads a worker from the registry (nil if absent).
func workerRecord(t *testing.T, c *client.Client, identity []byte) *registry.WorkerView {
	t.Helper()
	var v registry.WorkerView
	_, err := c.QueryModule(context.Background(), registry.Name, "worker", registry.WorkerQuery{Identity: hex.EncodeToString(identity)}, &v)
	if connect.CodeOf(err) == connect.CodeNotFound {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return &v
}

// waitFor polls cond every 100 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Since(start)
}

// TestDevNetworkWorkerRegisters: 'veil dev' networks run a simulated
// worker whose relayer registers it within seconds; network.json lists it;
// after a restart the sealed identity is the same and still registered.
func TestDevNetworkWorkerRegisters(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	home := t.TempDir()
	n := startWith(t, devnet.Options{Home: home, Reset: true, BlockTime: 200 * time.Millisecond, Workers: 1})
	c := n.Client()
	if len(n.Info.Workers) != 1 || n.Info.Workers[0].API == "" || n.Info.Workers[0].Identity == "" {
		t.Fatalf("network info workers: %+v", n.Info.Workers)
	}
	file, err := client.LoadNetwork(devnet.NetworkFile(home))
	if err != nil || len(file.Workers) != 1 || file.Workers[0].Identity != n.Info.Workers[0].Identity {
		t.Fatalf("network.json workers: %+v %v", file, err)
	}
	id := n.Workers[0].Identity()
	var rec *registry.WorkerView
	took := waitFor(t, 15*time.Second, "worker registered", func() bool { rec = workerRecord(t, c, id); return rec != nil })
	t.Logf("worker registered %v after the network started", took)
	op := n.Info.Workers[0].Operator
	if rec.Operator != op || rec.TEEKind != "simulated" || !rec.Simulated || rec.Stale || rec.Confidence != registry.SimulatedConfidence ||
		rec.Measurement != registry.SimulatedMeasurementID(registry.DevWorkerMeasurement()) || rec.ExpiresAt != rec.AttestedAt+registry.DefaultValidityBlocks {
		t.Fatalf("record %+v", rec)
	}
	// The worker heard about it from its relayer.
	info := n.Workers[0].Info()
	waitFor(t, 5*time.Second, "worker told of its registration", func() bool {
		info = n.Workers[0].Info()
		return info.GetRegistration().GetState() == workerv1.RegistrationState_REGISTRATION_STATE_REGISTERED
	})
	if info.GetRegistration().GetExpiresAt() != rec.ExpiresAt || info.GetWorkerInfo().GetChainId() != n.Info.ChainID {
		t.Fatalf("worker info %v", info)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}

	n = startWith(t, devnet.Options{Home: home, BlockTime: 200 * time.Millisecond, Workers: 1})
	defer n.Stop()
	if !bytes.Equal(n.Workers[0].Identity(), id) {
		t.Fatal("the worker's sealed identity changed across a restart")
	}
	// The relayer finds the record fresh and does not register again.
	waitFor(t, 10*time.Second, "relayer caught up", func() bool { return n.Relayers[0].Status().ExpiresAt == rec.ExpiresAt })
	if s := n.Relayers[0].Status(); s.Registrations != 0 {
		t.Fatalf("re-registered a fresh worker after restart: %+v", s)
	}
}

// TestReattestationAndExpiry: with a short validity the relayer re-attests
// at 80% (expires_at moves on); once it stops, the worker turns stale at
// expires_at and the chain announces it.
func TestReattestationAndExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	const validity = 20
	n := startWith(t, devnet.Options{Reset: true, BlockTime: 100 * time.Millisecond,
		AppState: registryGenesis(t, func(g *registry.Genesis) { g.Params.AttestationValidityBlocks = validity })})
	defer n.Stop()
	c := n.Client()
	w, err := worker.New(context.Background(), worker.Config{Home: t.TempDir(), TEE: attest.KindSimulated, Listen: "127.0.0.1:0", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := relay.New(relay.Config{WorkerURL: w.URL(), Node: c, Operator: mustSigner(t, "//Charlie"),
		PollInterval: 100 * time.Millisecond, MinBackoff: 100 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	var first *registry.WorkerView
	waitFor(t, 15*time.Second, "registration", func() bool { first = workerRecord(t, c, w.Identity()); return first != nil })
	if first.ExpiresAt != first.AttestedAt+validity {
		t.Fatalf("record %+v", first)
	}
	var second *registry.WorkerView
	waitFor(t, 20*time.Second, "re-attestation", func() bool {
		second = workerRecord(t, c, w.Identity())
		return second.ExpiresAt > first.ExpiresAt
	})
	// Re-attested at 80% of the window, before expiry, never stale.
	if second.RegisteredAt != first.RegisteredAt || second.AttestedAt >= first.ExpiresAt || second.AttestedAt < first.AttestedAt+validity*80/100 || second.Stale {
		t.Fatalf("refresh: first %+v second %+v", first, second)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("relayer: %v", err)
	}
	last := workerRecord(t, c, w.Identity())
	if err := c.WaitHeight(context.Background(), last.ExpiresAt+1); err != nil {
		t.Fatal(err)
	}
	if rec := workerRecord(t, c, w.Identity()); !rec.Stale || rec.ExpiresAt != last.ExpiresAt {
		t.Fatalf("after expiry: %+v", rec)
	}
	b, err := c.Block(context.Background(), last.ExpiresAt)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range b.GetBlock().GetEvents() {
		if ev.GetType() == "worker_stale" && ev.GetAttributes()[0].GetValue() == "0x"+hex.EncodeToString(w.Identity()) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no worker_stale event in block %d: %v", last.ExpiresAt, b.GetBlock().GetEvents())
	}
}

// TestRelayerSurvivesWorkerOutage: a relayer started before its worker
// keeps retrying and registers the worker once it comes up.
func TestRelayerSurvivesWorkerOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	n := startWith(t, devnet.Options{Reset: true, BlockTime: 200 * time.Millisecond})
	defer n.Stop()
	w, err := worker.New(context.Background(), worker.Config{Home: t.TempDir(), TEE: attest.KindSimulated, Listen: "127.0.0.1:0", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	// Reserve an address, then leave it closed while the relayer starts.
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	url := w.URL()
	w.Close()
	r, err := relay.New(relay.Config{WorkerURL: url, Node: n.Client(), Operator: mustSigner(t, "//Dave"),
		PollInterval: 100 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go r.Run(ctx)
	waitFor(t, 5*time.Second, "relayer reports the outage", func() bool { return r.Status().LastError != "" })
	w2, err := worker.New(context.Background(), worker.Config{Home: t.TempDir(), TEE: attest.KindSimulated, Listen: url[len("http://"):], Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w2.Start(); err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	waitFor(t, 15*time.Second, "registration after the outage", func() bool { return workerRecord(t, n.Client(), w2.Identity()) != nil })
}

// attestation asks an in-process worker (bound as configured) for a
// registration message for operator.
func registration(t *testing.T, w *worker.Worker, operator types.AccountID) *registryv1.MsgRegisterWorker {
	t.Helper()
	a, err := w.Attest(context.Background(), operator[:])
	if err != nil {
		t.Fatal(err)
	}
	return &registryv1.MsgRegisterWorker{WorkerInfo: a.GetWorkerInfo(), Evidence: a.GetEvidence(), OperatorSignature: a.GetOperatorSignature()}
}

func newBoundWorker(t *testing.T, chainID string, genesisHash []byte, measurement []byte) *worker.Worker {
	t.Helper()
	w, err := worker.New(context.Background(), worker.Config{Home: t.TempDir(), TEE: attest.KindSimulated, ChainID: chainID,
		GenesisHash: genesisHash, SimulatedMeasurement: measurement, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestRegistrationBadInputs submits every bad registration as a real
// transaction to a real node: each is refused in CheckTx with its registry
// code and changes nothing (no record, the sender's nonce unused).
func TestRegistrationBadInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	n := startWith(t, devnet.Options{Reset: true, BlockTime: 200 * time.Millisecond})
	c := n.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	chainID, gh := st.GetChainId(), st.GetGenesisHash()
	eve, ferdie := mustSigner(t, "//Eve"), mustSigner(t, "//Ferdie")
	eveID, ferdieID := types.AccountID(eve.Public().Key), types.AccountID(ferdie.Public().Key)

	good := newBoundWorker(t, chainID, gh, nil)
	// Registered to Eve, so that Ferdie's attempt is a hijack.
	if _, err := c.Send(ctx, eve, []proto.Message{registration(t, good, eveID)}, client.TxOptions{Wait: true}); err != nil {
		t.Fatalf("good registration: %v", err)
	}

	fresh := newBoundWorker(t, chainID, gh, nil)
	other := newBoundWorker(t, chainID, gh, nil)
	swapped := registration(t, fresh, eveID)
	swapped.Evidence = registration(t, other, eveID).Evidence
	otherGenesis := bytes.Repeat([]byte{0x42}, 32)
	garbage := registration(t, fresh, eveID)
	garbage.Evidence.Quote = []byte("garbage, not a quote")
	oversized := registration(t, fresh, eveID)
	oversized.Collateral = make([]byte, registry.DefaultMaxCollateral+1)

	cases := []regCase{
		{"binding mismatch", eve, swapped, registry.CodeBindingMismatch},
		{"another chain's genesis hash", eve, registration(t, newBoundWorker(t, chainID, otherGenesis, nil), eveID), registry.CodeWrongChain},
		{"measurement not on the allowlist", eve, registration(t, newBoundWorker(t, chainID, gh, []byte("unknown build")), eveID), registry.CodeMeasurementNotAllowed},
		{"garbage quote", eve, garbage, registry.CodeMalformedEvidence},
		{"oversized collateral", eve, oversized, registry.CodeCollateralTooLarge},
		{"hijack by another operator", ferdie, registration(t, good, ferdieID), registry.CodeHijack},
	}
	runRejections(t, c, good.Identity(), cases)
	n.Stop()

	// A production registry: the dev measurement is allowed but simulated
	// TEEs are not.
	n = startWith(t, devnet.Options{Reset: true, BlockTime: 200 * time.Millisecond, AppState: registryGenesis(t, func(g *registry.Genesis) {
		g.Params.AllowSimulatedTEE = false
	})})
	defer n.Stop()
	c = n.Client()
	st, err = c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := newBoundWorker(t, st.GetChainId(), st.GetGenesisHash(), nil)
	runRejections(t, c, nil, []regCase{{"simulated evidence on a chain without allow_simulated_tee", eve, registration(t, w, eveID), registry.CodeSimulatedNotAllowed}})
}

// regCase is a registration that must be refused with code.
type regCase struct {
	name   string
	sender keys.Signer
	msg    *registryv1.MsgRegisterWorker
	code   types.Code
}

// runRejections submits each case (without waiting) and checks the
// CheckTx code, then that the registry and nonces are unchanged.
func runRejections(t *testing.T, c *client.Client, registered []byte, cases []regCase) {
	t.Helper()
	ctx := context.Background()
	var before []registry.WorkerView
	if _, err := c.QueryModule(ctx, registry.Name, "workers", nil, &before); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := types.AccountID(tc.sender.Public().Key)
			acct, err := c.Account(ctx, id.Hex())
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Send(ctx, tc.sender, []proto.Message{tc.msg}, client.TxOptions{})
			var txErr *client.TxError
			if !errors.As(err, &txErr) {
				t.Fatalf("not rejected: %v", err)
			}
			if txErr.Code() != tc.code || txErr.Result.GetHeight() != 0 {
				t.Fatalf("code %d at height %d (%s), want %d (%s)", txErr.Code(), txErr.Result.GetHeight(), txErr.Result.GetLog(), tc.code, registry.CodeName(tc.code))
			}
			after, err := c.Account(ctx, id.Hex())
			if err != nil {
				t.Fatal(err)
			}
			if after.GetNonce() != acct.GetNonce() || after.GetFree() != acct.GetFree() {
				t.Fatalf("a refused registration used the nonce or charged: %v -> %v", acct, after)
			}
		})
	}
	var after []registry.WorkerView
	if _, err := c.QueryModule(ctx, registry.Name, "workers", nil, &after); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("the registry changed: %v -> %v", before, after)
	}
	if registered != nil && (len(after) != 1 || after[0].Identity != "0x"+hex.EncodeToString(registered)) {
		t.Fatalf("registry %v", after)
	}
}
