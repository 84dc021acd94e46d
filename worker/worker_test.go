package worker

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hpke"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
)

var testGenesis = bytes.Repeat([]byte{7}, 32)

func newTestWorker(t *testing.T, home string, mutate func(*Config)) (*Worker, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	cfg := Config{Home: home, TEE: attest.KindSimulated, Listen: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if mutate != nil {
		mutate(&cfg)
	}
	w, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w, &logs
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestKeysSealedAndStable(t *testing.T) {
	home := t.TempDir()
	w, logs := newTestWorker(t, home, nil)
	if m := mode(t, filepath.Join(home, SimulatedSeedFile)); m != 0o600 {
		t.Fatalf("seed file mode %v", m)
	}
	if m := mode(t, filepath.Join(home, KeysFile)); m != 0o600 {
		t.Fatalf("sealed file mode %v", m)
	}
	if !strings.Contains(logs.String(), "SIMULATED TEE") {
		t.Fatal("no loud warning for the simulated platform")
	}
	// Secrets never reach the log or the sealed file in plaintext.
	seed, _ := os.ReadFile(filepath.Join(home, SimulatedSeedFile))
	sealed, _ := os.ReadFile(filepath.Join(home, KeysFile))
	hb, _ := w.keys.HPKE.Bytes()
	for _, secret := range [][]byte{w.keys.Identity.Seed(), hb, seed} {
		for _, enc := range []string{hex.EncodeToString(secret), string(secret)} {
			if strings.Contains(logs.String(), enc) {
				t.Fatal("a secret was logged")
			}
		}
		if bytes.Contains(sealed, secret) {
			t.Fatal("a secret is in the sealed file in plaintext")
		}
	}
	if w.Info().GetBound() {
		t.Fatal("bound without a binding")
	}
	id := w.Identity()
	if err := w.bind("veil-test", testGenesis); err != nil {
		t.Fatal(err)
	}
	// Sealing (twice now) left the live HPKE key intact: it still opens
	// what is sealed to its public key.
	pk, err := hpke.MLKEM768X25519().NewPublicKey(w.keys.HPKEPublic)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := hpke.Seal(pk, hpke.HKDFSHA256(), hpke.AES256GCM(), []byte("info"), []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := hpke.Open(w.keys.HPKE, hpke.HKDFSHA256(), hpke.AES256GCM(), []byte("info"), ct); err != nil || string(pt) != "hello" {
		t.Fatalf("HPKE key damaged by sealing: %v", err)
	}
	// A restart finds the same keys and the binding.
	w2, _ := newTestWorker(t, home, nil)
	if !bytes.Equal(w2.Identity(), id) || !bytes.Equal(w2.keys.HPKEPublic, w.keys.HPKEPublic) {
		t.Fatal("identity changed across restarts")
	}
	if info := w2.Info(); !info.GetBound() || info.GetWorkerInfo().GetChainId() != "veil-test" {
		t.Fatalf("binding lost: %v", info)
	}
	// Binding flags that disagree with the sealed binding are refused.
	_, err = New(context.Background(), Config{Home: home, TEE: attest.KindSimulated, ChainID: "other", GenesisHash: testGenesis, Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, errAlreadyBound) {
		t.Fatalf("rebinding at start: %v", err)
	}
}

func TestSealedFileRejections(t *testing.T) {
	home := t.TempDir()
	newTestWorker(t, home, nil)
	path := filepath.Join(home, KeysFile)
	good, _ := os.ReadFile(path)

	// Another claimed measurement derives another sealing key.
	_, err := New(context.Background(), Config{Home: home, TEE: attest.KindSimulated, SimulatedMeasurement: []byte("other build"), Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, ErrNotSealed) {
		t.Fatalf("other measurement: %v", err)
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x40
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := New(context.Background(), Config{Home: home, TEE: attest.KindSimulated, Logger: slog.New(slog.DiscardHandler)}); !errors.Is(err, ErrNotSealed) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
		if i > 40 {
			break // header, nonce and the first ciphertext bytes suffice
		}
	}
	// A seed file others can read is refused.
	os.WriteFile(path, good, 0o600)
	os.Chmod(filepath.Join(home, SimulatedSeedFile), 0o644)
	if _, err := New(context.Background(), Config{Home: home, TEE: attest.KindSimulated, Logger: slog.New(slog.DiscardHandler)}); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable seed: %v", err)
	}
}

// noSealPlatform is a simulated platform without a sealing key, like TDX.
type noSealPlatform struct{ *attest.SimulatedPlatform }

func (noSealPlatform) SealingKey(context.Context, string) ([]byte, error) {
	return nil, attest.ErrSealingUnavailable
}

func TestEphemeralKeysWithoutSealing(t *testing.T) {
	home := t.TempDir()
	p, _ := attest.NewSimulatedPlatform(bytes.Repeat([]byte{1}, 32), []byte("m"))
	w1, logs := newTestWorker(t, home, func(c *Config) { c.Platform = noSealPlatform{p} })
	w2, _ := newTestWorker(t, home, func(c *Config) { c.Platform = noSealPlatform{p} })
	if bytes.Equal(w1.Identity(), w2.Identity()) {
		t.Fatal("keys persisted without a sealing key")
	}
	if _, err := os.Stat(filepath.Join(home, KeysFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key file was written: %v", err)
	}
	if !strings.Contains(logs.String(), "no sealing key") {
		t.Fatal("no warning about ephemeral keys")
	}
}

func TestAPI(t *testing.T) {
	w, _ := newTestWorker(t, t.TempDir(), nil)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	c := workerv1connect.NewWorkerServiceClient(http.DefaultClient, w.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	op := types.AccountID{5, 5}

	info, err := c.Info(ctx, connect.NewRequest(&workerv1.InfoRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	if !info.Msg.GetSimulated() || info.Msg.GetBound() || info.Msg.GetSyncedHeight() != 0 ||
		info.Msg.GetRegistration().GetState() != workerv1.RegistrationState_REGISTRATION_STATE_UNREGISTERED ||
		info.Msg.GetWorkerInfo().GetHpkeSuite().GetKemId() != registry.HPKEKEMID || len(info.Msg.GetWorkerInfo().GetHpkePublicKey()) != registry.HPKEPublicKeySize {
		t.Fatalf("info %v", info.Msg)
	}
	code := func(err error) connect.Code { return connect.CodeOf(err) }
	if _, err := c.Attestation(ctx, connect.NewRequest(&workerv1.AttestationRequest{Operator: op[:]})); code(err) != connect.CodeFailedPrecondition {
		t.Fatalf("attestation while unbound: %v", err)
	}
	for _, bad := range []*workerv1.BindRequest{{}, {ChainId: "x"}, {ChainId: strings.Repeat("x", 51), GenesisHash: testGenesis}, {ChainId: "x", GenesisHash: testGenesis[:31]}} {
		if _, err := c.Bind(ctx, connect.NewRequest(bad)); code(err) != connect.CodeInvalidArgument {
			t.Fatalf("bind %v: %v", bad, err)
		}
	}
	for range 2 { // idempotent
		if _, err := c.Bind(ctx, connect.NewRequest(&workerv1.BindRequest{ChainId: "veil-test", GenesisHash: testGenesis})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Bind(ctx, connect.NewRequest(&workerv1.BindRequest{ChainId: "veil-other", GenesisHash: testGenesis})); code(err) != connect.CodeFailedPrecondition {
		t.Fatalf("rebind: %v", err)
	}
	for _, bad := range [][]byte{nil, op[:31], make([]byte, 32)} {
		if _, err := c.Attestation(ctx, connect.NewRequest(&workerv1.AttestationRequest{Operator: bad})); code(err) != connect.CodeInvalidArgument {
			t.Fatalf("operator %x: %v", bad, err)
		}
	}
	att, err := c.Attestation(ctx, connect.NewRequest(&workerv1.AttestationRequest{Operator: op[:]}))
	if err != nil {
		t.Fatal(err)
	}
	wi := att.Msg.GetWorkerInfo()
	rd := registry.ReportData("veil-test", [32]byte(testGenesis), wi.GetIdentity(), wi.GetHpkePublicKey())
	if !bytes.Equal(att.Msg.GetReportData(), rd[:]) {
		t.Fatal("report data differs from the registry's formula")
	}
	res, err := attest.NewVerifier().Verify(attest.Evidence{Kind: attest.Kind(att.Msg.GetEvidence().GetKind()), Quote: att.Msg.GetEvidence().GetQuote()},
		nil, attest.Policy{AllowSimulated: true, ReportData: rd[:]}, time.Now())
	if err != nil {
		t.Fatalf("evidence does not verify: %v", err)
	}
	if res.MeasurementID() != registry.SimulatedMeasurementID(registry.DevWorkerMeasurement()) {
		t.Fatalf("measurement %s", res.MeasurementID())
	}
	if !ed25519.Verify(wi.GetIdentity(), registry.OperatorMessage("veil-test", [32]byte(testGenesis), wi.GetIdentity(), op), att.Msg.GetOperatorSignature()) {
		t.Fatal("operator consent does not verify")
	}

	for _, bad := range []*workerv1.Registration{
		nil, {}, {State: 99}, {State: workerv1.RegistrationState_REGISTRATION_STATE_REGISTERED, Operator: []byte{1}},
		{State: workerv1.RegistrationState_REGISTRATION_STATE_REGISTERED, TxHash: []byte{1}},
		{State: workerv1.RegistrationState_REGISTRATION_STATE_REJECTED, Log: strings.Repeat("l", maxLogBytes+1)},
		{State: workerv1.RegistrationState_REGISTRATION_STATE_REGISTERED, ExpiresAt: -1},
	} {
		if _, err := c.ReportRegistration(ctx, connect.NewRequest(&workerv1.ReportRegistrationRequest{Registration: bad})); code(err) != connect.CodeInvalidArgument {
			t.Fatalf("report %v: %v", bad, err)
		}
	}
	reg := &workerv1.Registration{State: workerv1.RegistrationState_REGISTRATION_STATE_REGISTERED, Operator: op[:], RegisteredAt: 3, ExpiresAt: 90, ObservedHeight: 4}
	if _, err := c.ReportRegistration(ctx, connect.NewRequest(&workerv1.ReportRegistrationRequest{Registration: reg})); err != nil {
		t.Fatal(err)
	}
	info, _ = c.Info(ctx, connect.NewRequest(&workerv1.InfoRequest{}))
	if info.Msg.GetRegistration().GetExpiresAt() != 90 || !info.Msg.GetBound() {
		t.Fatalf("info after report %v", info.Msg)
	}
}

func TestListenMustBeLoopback(t *testing.T) {
	w, _ := newTestWorker(t, t.TempDir(), func(c *Config) { c.Listen = "0.0.0.0:0" })
	if err := w.Start(); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("non-loopback listen: %v", err)
	}
	w, _ = newTestWorker(t, t.TempDir(), func(c *Config) { c.Listen = "0.0.0.0:0"; c.AllowRemote = true })
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
}

func TestUnsupportedPlatforms(t *testing.T) {
	for _, k := range []attest.Kind{attest.KindSGX, "nitro"} {
		if _, err := New(context.Background(), Config{Home: t.TempDir(), TEE: k, Logger: slog.New(slog.DiscardHandler)}); err == nil {
			t.Errorf("%s accepted", k)
		}
	}
	// Off TDX/SEV-SNP hardware the platforms say what is missing.
	for _, k := range []attest.Kind{attest.KindTDX, attest.KindSEVSNP} {
		_, err := New(context.Background(), Config{Home: t.TempDir(), TEE: k, Logger: slog.New(slog.DiscardHandler)})
		if err != nil && !errors.Is(err, attest.ErrNoHardware) {
			t.Errorf("%s: %v", k, err)
		}
	}
}
