package worker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keyderiv"
	"github.com/veil-network/veil/crypto/keys"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
	"github.com/veil-network/veil/worker/executor"
)

// withTrustRoot binds w and gives it a trust root (no headers: the
// tests below call process directly, as dispatch does after verifying).
func withTrustRoot(t testing.TB, w *Worker) {
	t.Helper()
	const chainID = "contracts-chain"
	gh := bytes.Repeat([]byte{9}, 32)
	if err := w.bind(chainID, gh); err != nil {
		t.Fatal(err)
	}
	chain := signedChain(t, chainID, 1)
	vsp, _ := chain[0].ValidatorSet.ToProto()
	vsb, _ := vsp.Marshal()
	if _, err := w.sync.initTrustRoot(&workerv1.InitTrustRootRequest{Root: &workerv1.InitTrustRootRequest_Explicit{Explicit: &workerv1.TrustRoot{
		ChainId: chainID, GenesisHash: gh, InitialHeight: 1, ValidatorSet: vsb}}}); err != nil {
		t.Fatal(err)
	}
}

func buildHelloWorld(t *testing.T) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go contract to wasm")
	}
	out := filepath.Join(t.TempDir(), "hello.wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = filepath.Join("..", "contracts", "examples", "hello-world")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// feed processes one message as dispatch would after proving it.
func feed(t testing.TB, w *Worker, topic string, seq uint64, origin *mqv1.Origin, payload []byte) {
	t.Helper()
	w.sync.mu.Lock()
	defer w.sync.mu.Unlock()
	m := &mqv1.Message{Topic: topic, Sequence: seq, Origin: origin, Payload: payload, Height: 10 + int64(seq), TimeUnixNano: time.Unix(1_700_000_000, 0).UnixNano()}
	if err := w.sync.process(m); err != nil {
		t.Fatalf("process %s/%d: %v", topic, seq, err)
	}
	w.sync.flushExecutor()
}

func mustProto(t testing.TB, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var moduleOrigin = &mqv1.Origin{Kind: &mqv1.Origin_Module{Module: "contracts"}}

// TestWorkerRunsContract wires the pieces: a sealed contract-key
// delivery on the worker's topic, code through ProvideCode, the
// contract's topic followed, commands executed with state reports queued,
// and a sealed query over the ContractService API.
func TestWorkerRunsContract(t *testing.T) {
	code := buildHelloWorld(t)
	w, _ := newTestWorker(t, t.TempDir(), nil)
	defer w.Close()
	withTrustRoot(t, w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	pos := w.sync.inbox.Positions()
	if _, ok := pos[mq.TopicGatekeeper]; !ok {
		t.Fatalf("gatekeeper topic not followed: %v", pos)
	}
	// A gatekeeper's delivery of contract keys, sealed to this worker.
	id := sha256.Sum256([]byte("a contract"))
	master, _ := keyderiv.NewMaster([32]byte{42})
	sec, _ := master.ContractSecrets(id)
	ck, _ := sec.Keys(id)
	self := [32]byte(w.Identity())
	sealed, err := envelope.SealContractSecrets(w.keys.HPKE.PublicKey(), self, id, 1, sec)
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256(code)
	wt := mq.WorkerTopic(self)
	// Malformed worker and gatekeeper messages are skipped, not fatal.
	feed(t, w, wt, 0, moduleOrigin, []byte{0xff, 0x01})
	feed(t, w, mq.TopicGatekeeper, 0, moduleOrigin, []byte{0xff, 0x01})
	feed(t, w, wt, 1, moduleOrigin, mustProto(t, &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_ContractKey{ContractKey: &contractsv1.ContractKeyDelivery{
		ContractId: id[:], Epoch: 1, CodeHash: hash[:], Sealed: sealed}}}))
	info := w.Info()
	if len(info.GetMissingCode()) != 1 || !bytes.Equal(info.GetMissingCode()[0], hash[:]) || len(info.GetContracts()) != 1 || info.GetContracts()[0].GetReady() {
		t.Fatalf("after key: missing %x contracts %v", info.GetMissingCode(), info.GetContracts())
	}
	client := workerv1connect.NewWorkerServiceClient(http.DefaultClient, w.URL())
	ctx := context.Background()
	if _, err := client.ProvideCode(ctx, connect.NewRequest(&workerv1.ProvideCodeRequest{Code: []byte("\x00asm junk")})); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("unawaited code: %v", err)
	}
	pr, err := client.ProvideCode(ctx, connect.NewRequest(&workerv1.ProvideCodeRequest{Code: code}))
	if err != nil || !bytes.Equal(pr.Msg.GetCodeHash(), hash[:]) {
		t.Fatalf("provide code: %v", err)
	}
	ct := mq.ContractTopic(id)
	if n, ok := w.sync.inbox.Next(ct); !ok || n != 0 {
		t.Fatalf("contract topic not followed: %v %d", ok, n)
	}
	egressBefore := w.sync.outbox.Next()
	alice := keys.NewEd25519FromSeed(sha256.Sum256([]byte("alice")))
	deployer := sha256.Sum256([]byte("deployer"))
	feed(t, w, ct, 0, moduleOrigin, mustProto(t, &contractsv1.ContractMessage{Kind: &contractsv1.ContractMessage_Init{Init: &contractsv1.Init{Deployer: deployer[:], CodeHash: hash[:]}}}))
	env, err := envelope.SealCommand(ck.HPKE.PublicKey(), envelope.Call{ContractID: id, Nonce: 1, Method: "increment", Args: []byte(`{"by":3}`)}, alice)
	if err != nil {
		t.Fatal(err)
	}
	feed(t, w, ct, 1, moduleOrigin, mustProto(t, &contractsv1.ContractMessage{Kind: &contractsv1.ContractMessage_Command{Command: &contractsv1.Command{Sender: alice.Public().Bytes(), Envelope: env}}}))
	// Garbage on the contract topic consumes its sequence, nothing else.
	feed(t, w, ct, 2, moduleOrigin, []byte("garbage"))
	st := w.Info().GetContracts()[0]
	if !st.GetReady() || st.GetNextSequence() != 3 || st.GetKeyEpoch() != 1 || len(st.GetStateRoot()) != 32 {
		t.Fatalf("status %v", st)
	}
	if w.sync.outbox.Next()-egressBefore < 2 {
		t.Fatal("no state reports queued")
	}
	// The relayer proves the log's length with every batch (feed bypasses
	// dispatch): the worker answers reads only once it executed that far.
	w.sync.exec.NoteChainNext(id, 3)
	// A sealed query through the API.
	q, qc, err := envelope.SealQuery(w.keys.HPKE.PublicKey(), envelope.QueryRequest{ContractID: id, Method: "get_count", Expiry: time.Now().Add(time.Minute)}, alice)
	if err != nil {
		t.Fatal(err)
	}
	cc := workerv1connect.NewContractServiceClient(http.DefaultClient, w.URL())
	resp, err := cc.Query(ctx, connect.NewRequest(&workerv1.ContractQueryRequest{Envelope: q}))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := qc.OpenResponse(resp.Msg.GetResponse())
	if err != nil || string(pt) != `{"ok":true,"result":{"count":3}}` {
		t.Fatalf("query answer %s %v", pt, err)
	}
	if _, err := cc.Query(ctx, connect.NewRequest(&workerv1.ContractQueryRequest{Envelope: q})); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("replayed query: %v", err)
	}
	// Unassignment stops following the topic.
	feed(t, w, wt, 2, moduleOrigin, mustProto(t, &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_ContractUnassigned{ContractUnassigned: &contractsv1.ContractUnassigned{ContractId: id[:]}}}))
	if _, ok := w.sync.inbox.Next(ct); ok {
		t.Fatal("unassigned contract still followed")
	}
	var mf bytes.Buffer
	if r, err := http.Get(w.URL() + "/healthz"); err == nil {
		r.Body.Close()
	}
	mfs, _ := w.Registry().Gather()
	for _, f := range mfs {
		mf.WriteString(f.GetName() + "\n")
	}
	for _, name := range []string{"veil_worker_contract_commands_total", "veil_worker_contract_queries_total", "veil_worker_contract_query_seconds"} {
		if !strings.Contains(mf.String(), name) {
			t.Fatalf("metric %s missing", name)
		}
	}
}

// TestRestoreHandsChainNextToExecutor: the contract log lengths a sealed
// checkpoint proved reach the executor when the worker restarts, so a
// restarted worker that has executed the whole log answers reads at once
// instead of refusing them until the relayer proves the length again.
func TestRestoreHandsChainNextToExecutor(t *testing.T) {
	code := buildHelloWorld(t)
	ctx := context.Background()
	home := t.TempDir()
	w, _ := newTestWorker(t, home, nil)
	withTrustRoot(t, w)
	id := sha256.Sum256([]byte("a contract"))
	master, _ := keyderiv.NewMaster([32]byte{42})
	sec, _ := master.ContractSecrets(id)
	self := [32]byte(w.Identity())
	sealed, err := envelope.SealContractSecrets(w.keys.HPKE.PublicKey(), self, id, 1, sec)
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256(code)
	feed(t, w, mq.WorkerTopic(self), 0, moduleOrigin, mustProto(t, &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_ContractKey{ContractKey: &contractsv1.ContractKeyDelivery{
		ContractId: id[:], Epoch: 1, CodeHash: hash[:], Sealed: sealed}}}))
	if _, err := w.exec.ProvideCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	if err := w.sync.subscribeReady(); err != nil {
		t.Fatal(err)
	}
	ct := mq.ContractTopic(id)
	deployer := sha256.Sum256([]byte("deployer"))
	feed(t, w, ct, 0, moduleOrigin, mustProto(t, &contractsv1.ContractMessage{Kind: &contractsv1.ContractMessage_Init{Init: &contractsv1.Init{Deployer: deployer[:], CodeHash: hash[:]}}}))
	// As dispatch records a proven next sequence (feed bypasses it).
	w.sync.mu.Lock()
	w.sync.chainNext[ct] = chainNext{Next: 1, Version: 1}
	err = w.sync.checkpoint()
	w.sync.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2, _ := newTestWorker(t, home, nil)
	defer w2.Close()
	alice := keys.NewEd25519FromSeed(sha256.Sum256([]byte("alice")))
	q, qc, err := envelope.SealQuery(w2.keys.HPKE.PublicKey(), envelope.QueryRequest{ContractID: id, Method: "get_count", Expiry: time.Now().Add(time.Minute)}, alice)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := w2.exec.Query(ctx, q, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pt, err := qc.OpenResponse(resp)
	if err != nil || !strings.HasPrefix(string(pt), `{"ok":true,`) {
		t.Fatalf("query after restart: %s %v", pt, err)
	}
}

// TestRestoreWithoutGatekeeperTopic: a sealed checkpoint written before
// the gatekeeper topic existed still restores, following it from 0.
func TestRestoreWithoutGatekeeperTopic(t *testing.T) {
	home := t.TempDir()
	w, _ := newTestWorker(t, home, nil)
	withTrustRoot(t, w)
	w.sync.mu.Lock()
	w.sync.setPosition(mq.TopicGatekeeper, 0, true)
	w.sync.setPosition(mq.TopicSystem, 5, false)
	if err := w.sync.checkpoint(); err != nil {
		t.Fatal(err)
	}
	w.sync.mu.Unlock()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w2, _ := newTestWorker(t, home, nil)
	defer w2.Close()
	pos := w2.sync.inbox.Positions()
	if n, ok := pos[mq.TopicGatekeeper]; !ok || n != 0 || pos[mq.TopicSystem] != 5 {
		t.Fatalf("positions after restore: %v", pos)
	}
}

// FuzzProcess feeds arbitrary payloads to every topic kind process
// handles (with both origins): nothing panics and the worker keeps going.
func FuzzProcess(f *testing.F) {
	w, err := New(context.Background(), Config{Home: f.TempDir(), TEE: "simulated", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	withTrustRoot(f, w)
	w.sync.store = &syncStore{}
	id := sha256.Sum256([]byte("fuzz contract"))
	self := [32]byte(w.Identity())
	topics := []string{mq.WorkerTopic(self), mq.TopicGatekeeper, mq.ContractTopic(id), mq.TopicSystem}
	f.Add(uint8(0), mustProto(f, &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_ContractKey{ContractKey: &contractsv1.ContractKeyDelivery{ContractId: id[:], CodeHash: id[:], Sealed: []byte{1}}}}))
	f.Add(uint8(0), mustProto(f, &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_MasterKey{MasterKey: &contractsv1.MasterKeyDelivery{Sealed: []byte{1}}}}))
	f.Add(uint8(0), mustProto(f, &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_ContractUnassigned{ContractUnassigned: &contractsv1.ContractUnassigned{ContractId: id[:]}}}))
	f.Add(uint8(1), mustProto(f, &contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_GatekeeperAdded{GatekeeperAdded: &contractsv1.GatekeeperAdded{Identity: id[:]}}}))
	f.Add(uint8(2), mustProto(f, &contractsv1.ContractMessage{Kind: &contractsv1.ContractMessage_Command{Command: &contractsv1.Command{Sender: id[:], Envelope: []byte{1, 1}}}}))
	f.Add(uint8(4), []byte(`{"op":"ping"}`))
	f.Add(uint8(0), heartbeatMsg(f, 3, id[:], 5))
	f.Add(uint8(0), heartbeatMsg(f, 3, id[:5], 2))
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		origin := moduleOrigin
		if which&4 != 0 {
			origin = &mqv1.Origin{Kind: &mqv1.Origin_Account{Account: id[:]}}
		}
		w.sync.mu.Lock()
		defer w.sync.mu.Unlock()
		m := &mqv1.Message{Topic: topics[int(which)%len(topics)], Payload: payload, Origin: origin}
		if err := w.sync.process(m); err != nil && !strings.Contains(err.Error(), executor.ErrSequence.Error()) {
			t.Fatalf("process: %v", err)
		}
	})
}
