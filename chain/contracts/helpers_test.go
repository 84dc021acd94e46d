package contracts

import (
	"bytes"
	"compress/gzip"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/chaintest"
	"github.com/veil-network/veil/chain/compute"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

const testChainID = "veil-contracts-test"

var testGenesisHash = sha256.Sum256([]byte("contracts test genesis"))

// Shared fixtures (chaintest) under the short names the tests use.
var (
	addr = chaintest.Addr
	attr = chaintest.Attr
	enc  = chaintest.Encode
)

// env is the chain's modules on an in-memory store: bank (dev accounts
// funded), sudo (//Alice), registry (simulated workers allowed), mq and
// contracts, wired as app.NewModuleSet wires them.
type env struct {
	t      testing.TB
	ctx    *types.Context
	r      *types.Router
	bank   *bank.Module
	reg    *registry.Module
	q      *mq.Module
	cm     *compute.Module
	c      *Module
	alice  types.AccountID // sudo, operator
	bob    types.AccountID
	ferdie types.AccountID
	events []types.Event
}

func newEnv(t testing.TB, validity uint64) *env {
	t.Helper()
	ctx := &types.Context{Store: store.NewMemory(), ChainID: testChainID, GenesisHash: testGenesisHash, Height: 1,
		Time: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), SS58Prefix: 42}
	core := chaintest.NewCore()
	b, reg, q := core.Bank, core.Registry, core.MQ
	c := New(b, q)
	q.HandleEgress(Name, c)
	cm := compute.New(b, q)
	q.HandleEgress(compute.Name, cm)
	cm.SetIneligibleHook(c.WorkerLost)
	reg.SetStaleHook(c.WorkerLost)
	r := core.Init(t, ctx, validity, chaintest.Section{Module: cm}, chaintest.Section{Module: c})
	return &env{t: t, ctx: ctx, r: r, bank: b, reg: reg, q: q, cm: cm, c: c,
		alice: addr(t, bank.DevAccounts[0].Address), bob: addr(t, bank.DevAccounts[1].Address), ferdie: addr(t, bank.DevAccounts[5].Address)}
}

func (e *env) store() *store.Memory { return e.ctx.Store.(*store.Memory) }

// exec runs msg as sender the way the app runs a message: in a cache that
// is written only on success.
func (e *env) exec(sender types.AccountID, msg proto.Message) error {
	e.t.Helper()
	evs, err := chaintest.Exec(e.t, e.r, e.ctx, sender, msg)
	e.events = append(e.events, evs...)
	return err
}

// mustFail runs msg, expects code, and checks that nothing changed.
func (e *env) mustFail(what string, sender types.AccountID, msg proto.Message, code types.Code) {
	e.t.Helper()
	before := e.store().Clone()
	err := e.exec(sender, msg)
	if types.CodeOf(err) != code {
		e.t.Fatalf("%s: %v, want code %d %s", what, err, code, CodeName(code))
	}
	if !before.Equal(e.store()) {
		e.t.Fatalf("%s: state changed", what)
	}
}

func (e *env) advance(h int64) {
	for e.ctx.Height < h {
		e.ctx.Height++
		e.ctx.Time = e.ctx.Time.Add(time.Second)
	}
}

// lastEvent returns the last event of type typ (fails if none).
func (e *env) lastEvent(typ string) types.Event {
	e.t.Helper()
	return chaintest.LastEvent(e.t, e.events, typ)
}

// message reads ingress message seq on topic, checks its origin module and
// decodes its payload into into.
func (e *env) message(topic string, seq uint64, module string, into proto.Message) {
	e.t.Helper()
	b := e.ctx.Store.Get(mq.MessageKey(topic, seq))
	if b == nil {
		e.t.Fatalf("no message %d on %s", seq, topic)
	}
	var msg mqv1.Message
	if err := proto.Unmarshal(b, &msg); err != nil {
		e.t.Fatal(err)
	}
	if msg.GetOrigin().GetModule() != module {
		e.t.Fatalf("%s/%d: origin %v, want module %s", topic, seq, msg.GetOrigin(), module)
	}
	if err := proto.Unmarshal(msg.GetPayload(), into); err != nil {
		e.t.Fatal(err)
	}
}

// worker is a simulated TEE worker registered by //Alice.
type worker struct{ *chaintest.Worker }

func (w *worker) id() [32]byte { return w.ID() }

func (e *env) newWorker() *worker {
	e.t.Helper()
	w := &worker{chaintest.RandomWorker(e.t)}
	e.registerWorker(w)
	return w
}

// registerWorker registers (or refreshes) w for operator //Alice.
func (e *env) registerWorker(w *worker) {
	e.t.Helper()
	if err := e.exec(e.alice, w.Registration(e.t, testChainID, testGenesisHash, e.alice)); err != nil {
		e.t.Fatalf("register worker: %v", err)
	}
}

// egress submits a worker's signed egress through mq (as a relayer would,
// from //Bob) and returns the mq_egress status ("accepted" or "refused:
// …"). The transaction itself must succeed.
func (e *env) egress(w *worker, topic string, payload []byte) string {
	e.t.Helper()
	n := len(e.events)
	if err := e.exec(e.bob, w.NextEgress(e.t, e.ctx.Store, topic, payload)); err != nil {
		e.t.Fatalf("egress %s: %v", topic, err)
	}
	return chaintest.EgressStatus(e.t, e.events[n:])
}

func (e *env) mustEgress(w *worker, topic string, payload []byte) {
	e.t.Helper()
	if st := e.egress(w, topic, payload); st != "accepted" {
		e.t.Fatalf("egress %s: %s", topic, st)
	}
}

// refused expects a refusal naming the code's name and no change beyond
// the consumed egress sequence.
func (e *env) refused(what string, w *worker, topic string, payload []byte, name string) {
	e.t.Helper()
	before := e.store().Clone()
	st := e.egress(w, topic, payload)
	if !strings.HasPrefix(st, "refused: ") || !strings.Contains(st, name) {
		e.t.Fatalf("%s: status %q, want refused with %s", what, st, name)
	}
	if !chaintest.EqualExcept(before, e.store(), mq.EgressSequenceKey(w.id())) {
		e.t.Fatalf("%s: state changed", what)
	}
}

// sync makes w online: a sync report through egress; and, the first
// time, eligible for contracts: a benchmark score, bound to //Alice and
// computing with 100 tokens of stake.
func (e *env) sync(w *worker) {
	e.t.Helper()
	e.mustEgress(w, registry.TopicSynced, enc(e.t, &registryv1.SyncReport{SyncedHeight: e.ctx.Height}))
	id := w.id()
	if compute.Worker(e.ctx.Store, id[:]) != nil {
		return
	}
	e.mustEgress(w, compute.TopicBenchmark, enc(e.t, &computev1.BenchmarkReport{Score: 400, DurationMs: 100, Iterations: 1280}))
	if err := e.exec(e.alice, &computev1.MsgBind{Worker: id[:]}); err != nil {
		e.t.Fatalf("bind: %v", err)
	}
	if err := e.exec(e.alice, &computev1.MsgStartComputing{Worker: id[:], Stake: "100000000000000"}); err != nil {
		e.t.Fatalf("start computing: %v", err)
	}
}

// gatekeeper designates w and publishes master epoch 1 from it.
func (e *env) gatekeeper(w *worker) {
	e.t.Helper()
	id := w.id()
	if err := e.exec(e.alice, &registryv1.MsgRegisterGatekeeper{Identity: id[:]}); err != nil {
		e.t.Fatal(err)
	}
	hk, err := hpke.MLKEM768X25519().GenerateKey()
	if err != nil {
		e.t.Fatal(err)
	}
	e.mustEgress(w, registry.TopicMasterKey, enc(e.t, &contractsv1.MasterKeyPublication{Epoch: 1, HpkePublicKey: hk.PublicKey().Bytes(), SigningPublicKey: make([]byte, 32)}))
}

// Hand-built wasm modules.

func uleb(b []byte, v uint32) []byte { return binary.AppendUvarint(b, uint64(v)) }

func section(out []byte, id byte, body []byte) []byte {
	out = append(out, id)
	out = uleb(out, uint32(len(body)))
	return append(out, body...)
}

func name(b []byte, s string) []byte { return append(uleb(b, uint32(len(s))), s...) }

// testWasm is the smallest module with the Veil ABI: _initialize,
// veil_abi_version (returns 1), veil_call (returns 0) and one memory. tag
// goes into a custom section so tests can make distinct codes. Without
// abi, the veil_call export is missing.
func testWasm(tag string, abi bool) []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = section(out, 1, []byte{3, 0x60, 0, 0, 0x60, 0, 1, 0x7f, 0x60, 2, 0x7f, 0x7f, 1, 0x7f})
	out = section(out, 3, []byte{3, 0, 1, 2})
	out = section(out, 5, []byte{1, 0, 1})
	var ex []byte
	n := byte(3)
	if abi {
		n = 4
	}
	ex = append(ex, n)
	ex = append(name(ex, "_initialize"), 0, 0)
	ex = append(name(ex, "veil_abi_version"), 0, 1)
	ex = append(name(ex, "memory"), 2, 0)
	if abi {
		ex = append(name(ex, "veil_call"), 0, 2)
	}
	out = section(out, 7, ex)
	out = section(out, 10, []byte{3, 2, 0, 0x0b, 4, 0, 0x41, 1, 0x0b, 4, 0, 0x41, 0, 0x0b})
	if tag != "" {
		out = section(out, 0, name(nil, "tag"+tag))
	}
	return out
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
