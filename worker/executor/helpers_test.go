package executor

import (
	"context"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keyderiv"
	"github.com/veil-network/veil/crypto/keys"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	"github.com/veil-network/veil/worker/runtime"
)

// Contracts are built to wasm once per test binary (seconds each).
var (
	buildOnce sync.Once
	bins      map[string][]byte
	buildErr  string
	buildDir  string
)

func contractsWasm(t testing.TB) map[string][]byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds Go contracts to wasm (slow); skipped in -short mode")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "veil-executor-wasm")
		if err != nil {
			buildErr = err.Error()
			return
		}
		buildDir = dir
		bins = map[string][]byte{}
		for name, pkg := range map[string]string{
			"hello-world": filepath.Join("..", "..", "contracts", "examples", "hello-world"),
			"secret-note": filepath.Join("..", "..", "contracts", "examples", "secret-note"),
			"payer":       filepath.Join("testdata", "payer"),
		} {
			out := filepath.Join(dir, name+".wasm")
			cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
			cmd.Dir = pkg
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			if msg, err := cmd.CombinedOutput(); err != nil {
				buildErr = "go build " + pkg + ": " + err.Error() + "\n" + string(msg)
				return
			}
			b, err := os.ReadFile(out)
			if err != nil {
				buildErr = err.Error()
				return
			}
			bins[name] = b
		}
	})
	if buildErr != "" {
		if strings.Contains(buildErr, "unsupported GOOS/GOARCH") {
			t.Skip(buildErr)
		}
		t.Fatal(buildErr)
	}
	return bins
}

// wasmCache is a compilation cache shared by the tests' runtimes.
func wasmCache(t testing.TB) string {
	d := filepath.Join(os.TempDir(), "veil-executor-test-wazero-cache")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

var testMasterSecret = [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}

// testOpener opens "deliveries" by deriving from a fixed master secret
// (the gatekeeper's sealing is tested in its own package).
func testOpener(d *contractsv1.ContractKeyDelivery) (*keyderiv.ContractKeys, *keyderiv.ContractSecrets, error) {
	m, err := keyderiv.NewMaster(testMasterSecret)
	if err != nil {
		return nil, nil, err
	}
	sec, err := m.ContractSecrets([32]byte(d.GetContractId()))
	if err != nil {
		return nil, nil, err
	}
	ks, err := sec.Keys([32]byte(d.GetContractId()))
	if err != nil {
		return nil, nil, err
	}
	return ks, sec, nil
}

func contractKeys(t testing.TB, id [32]byte) *keyderiv.ContractKeys {
	m, err := keyderiv.NewMaster(testMasterSecret)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := m.Contract(id)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// harness is one executor with one contract and a chain-like log.
type harness struct {
	t        testing.TB
	e        *Executor
	home     string
	sealing  []byte
	workerSK hpke.PrivateKey
	id       [32]byte
	ck       *keyderiv.ContractKeys
	code     []byte
	seq      uint64
	deployer [32]byte
	now      time.Time
	reports  []*contractsv1.StateReport
	egress   []*contractsv1.SignedContractEgress
}

type hopt struct {
	ephemeral bool
	home      string
	sealing   []byte
	workerSK  hpke.PrivateKey
}

func newHarness(t testing.TB, contract string, o hopt) *harness {
	t.Helper()
	code := contractsWasm(t)[contract]
	h := &harness{t: t, home: o.home, sealing: o.sealing, workerSK: o.workerSK, code: code,
		deployer: account("deployer"), now: time.Unix(1_800_000_000, 0)}
	if h.home == "" {
		h.home = t.TempDir()
	}
	if h.sealing == nil && !o.ephemeral {
		h.sealing = make([]byte, 32)
		rand.Read(h.sealing)
	}
	if h.workerSK == nil {
		var err error
		if h.workerSK, err = hpke.MLKEM768X25519().GenerateKey(); err != nil {
			t.Fatal(err)
		}
	}
	h.id = sha256.Sum256([]byte("contract " + contract))
	h.ck = contractKeys(t, h.id)
	h.open()
	return h
}

func (h *harness) open() {
	h.t.Helper()
	var log *slog.Logger // the default
	if _, bench := h.t.(*testing.B); bench {
		// Benchmark lines must stay readable.
		log = slog.New(slog.DiscardHandler)
	}
	e, err := Open(context.Background(), Config{Home: h.home, SealingKey: h.sealing, HPKE: h.workerSK, OpenKey: testOpener,
		Runtime: runtime.Config{CacheDir: wasmCache(h.t)}, ReplayCacheSize: 1000, Log: log})
	if err != nil {
		h.t.Fatal(err)
	}
	h.e = e
	h.t.Cleanup(func() { e.Close(context.Background()) })
	// As the syncer does from its restored checkpoint: the log's proven
	// length, without which reads are refused.
	h.e.NoteChainNext(h.id, h.seq)
}

func (h *harness) restart() {
	h.t.Helper()
	if err := h.e.Close(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.open()
}

// install delivers the key and the code and runs Init (sequence 0).
func (h *harness) install(initArgs string) {
	h.t.Helper()
	ctx := context.Background()
	hash := sha256.Sum256(h.code)
	ready, err := h.e.HandleContractKey(ctx, &contractsv1.ContractKeyDelivery{ContractId: h.id[:], Epoch: 1, CodeHash: hash[:]})
	if err != nil || ready {
		h.t.Fatalf("key delivery: ready %v, err %v", ready, err)
	}
	if mc := h.e.MissingCode(); len(mc) != 1 || [32]byte(mc[0]) != hash {
		h.t.Fatalf("missing code %x", mc)
	}
	if _, err := h.e.ProvideCode(ctx, append([]byte("x"), h.code...)); err == nil {
		h.t.Fatal("unawaited code accepted")
	}
	got, err := h.e.ProvideCode(ctx, h.code)
	if err != nil || got != hash {
		h.t.Fatalf("provide code: %x %v", got, err)
	}
	if len(h.e.MissingCode()) != 0 {
		h.t.Fatal("code still missing")
	}
	if _, ok := h.e.Ready()[h.id]; !ok {
		h.t.Fatal("contract not ready")
	}
	h.push(&contractsv1.ContractMessage{Kind: &contractsv1.ContractMessage_Init{Init: &contractsv1.Init{
		Deployer: h.deployer[:], CodeHash: hash[:], Args: []byte(initArgs)}}})
}

func (h *harness) message(cm *contractsv1.ContractMessage) *mqv1.Message {
	p, err := proto.Marshal(cm)
	if err != nil {
		h.t.Fatal(err)
	}
	return &mqv1.Message{Topic: mq.ContractTopic(h.id), Sequence: h.seq, Payload: p, Height: int64(100 + h.seq),
		TimeUnixNano: time.Unix(1_700_000_000+int64(h.seq)*6, 0).UnixNano()}
}

// push executes the next log entry.
func (h *harness) push(cm *contractsv1.ContractMessage) Outcome {
	h.t.Helper()
	return h.pushRaw(h.message(cm))
}

func (h *harness) pushRaw(m *mqv1.Message) Outcome {
	h.t.Helper()
	out, err := h.e.Execute(context.Background(), h.id, m)
	if err != nil {
		h.t.Fatalf("execute %d: %v", m.Sequence, err)
	}
	h.seq++
	// As the syncer does after each delivered batch: the proven length.
	h.e.NoteChainNext(h.id, h.seq)
	h.collect(out.Egress)
	return out
}

func (h *harness) collect(egs []Egress) {
	for _, eg := range egs {
		switch eg.Topic {
		case TopicState:
			var r contractsv1.StateReport
			if err := proto.Unmarshal(eg.Payload, &r); err != nil {
				h.t.Fatal(err)
			}
			h.reports = append(h.reports, &r)
		case TopicEgress:
			var s contractsv1.SignedContractEgress
			if err := proto.Unmarshal(eg.Payload, &s); err != nil {
				h.t.Fatal(err)
			}
			h.egress = append(h.egress, &s)
		default:
			h.t.Fatalf("egress topic %q", eg.Topic)
		}
	}
}

func (h *harness) flush() {
	h.t.Helper()
	egs, err := h.e.Flush()
	if err != nil {
		h.t.Fatal(err)
	}
	h.collect(egs)
}

func (h *harness) sealCommand(signer keys.Signer, nonce uint64, method, args string) []byte {
	h.t.Helper()
	env, err := envelope.SealCommand(h.ck.HPKE.PublicKey(), envelope.Call{ContractID: h.id, Nonce: nonce, Method: method, Args: []byte(args)}, signer)
	if err != nil {
		h.t.Fatal(err)
	}
	return env
}

func commandMsg(sender [32]byte, env []byte) *contractsv1.ContractMessage {
	return &contractsv1.ContractMessage{Kind: &contractsv1.ContractMessage_Command{Command: &contractsv1.Command{Sender: sender[:], Envelope: env}}}
}

func (h *harness) command(signer keys.Signer, nonce uint64, method, args string) Outcome {
	h.t.Helper()
	return h.push(commandMsg(signer.Public().Key, h.sealCommand(signer, nonce, method, args)))
}

// query seals a query, answers it and decrypts the response.
func (h *harness) query(signer keys.Signer, method, args string) Response {
	h.t.Helper()
	env, qc := h.sealQuery(signer, h.id, method, args)
	resp, err := h.e.Query(context.Background(), env, h.now)
	if err != nil {
		h.t.Fatalf("query %s: %v", method, err)
	}
	pt, err := qc.OpenResponse(resp)
	if err != nil {
		h.t.Fatal(err)
	}
	var r Response
	if err := json.Unmarshal(pt, &r); err != nil {
		h.t.Fatalf("response %s: %v", pt, err)
	}
	return r
}

func (h *harness) sealQuery(signer keys.Signer, id [32]byte, method, args string) ([]byte, *envelope.QueryContext) {
	h.t.Helper()
	env, qc, err := envelope.SealQuery(h.workerSK.PublicKey(), envelope.QueryRequest{ContractID: id, Method: method, Args: []byte(args),
		Expiry: h.now.Add(time.Minute)}, signer)
	if err != nil {
		h.t.Fatal(err)
	}
	return env, qc
}

func (h *harness) receipt(signer keys.Signer, seq uint64) Response {
	h.t.Helper()
	return h.query(signer, ReceiptMethod, `{"sequence":`+itoa(seq)+`}`)
}

func (h *harness) status() (next uint64, root [32]byte) {
	for _, s := range h.e.Status() {
		if [32]byte(s.ContractId) == h.id {
			return s.NextSequence, [32]byte(s.StateRoot)
		}
	}
	h.t.Fatal("contract not in status")
	return 0, root
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func account(name string) [32]byte {
	return sha256.Sum256([]byte("account " + name))
}

func signer(name string) *keys.Ed25519Signer {
	return keys.NewEd25519FromSeed(sha256.Sum256([]byte("seed " + name)))
}

func decodeReceipt(t testing.TB, r Response) Receipt {
	t.Helper()
	if !r.OK {
		t.Fatalf("receipt query failed: %s: %s", r.Code, r.Error)
	}
	var rc Receipt
	if err := json.Unmarshal(r.Result, &rc); err != nil {
		t.Fatal(err)
	}
	return rc
}
