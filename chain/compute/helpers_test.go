package compute

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/chaintest"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

const testChainID = "veil-compute-test"

var testGenesisHash = sha256.Sum256([]byte("compute test genesis"))

// Shared fixtures (chaintest) under the short names the tests use.
var (
	addr = chaintest.Addr
	attr = chaintest.Attr
	enc  = chaintest.Encode
)

var tok = types.NewAmount(1_000_000_000_000)

func toks(n uint64) types.Amount { a, _ := tok.Mul64(n); return a }

// testParams are DefaultParams with heartbeats off (tests that want them
// turn them on), so reward arithmetic is exact and predictable.
func testParams() Params {
	p := DefaultParams()
	p.ChallengesPerHour = 0
	return p
}

// env is bank (dev accounts funded), sudo, registry (simulated workers
// allowed), mq and compute on an in-memory store, wired as the app wires
// modules, with a recording ineligible hook.
type env struct {
	t      testing.TB
	ctx    *types.Context
	r      *types.Router
	bank   *bank.Module
	reg    *registry.Module
	q      *mq.Module
	c      *Module
	alice  types.AccountID
	bob    types.AccountID
	dave   types.AccountID
	ferdie types.AccountID
	events []types.Event
	// hooked records the workers the ineligible hook was called for.
	hooked  [][]byte
	workers int
	// noCheck skips the invariant check after every step (benchmarks).
	noCheck bool
	// beforeBegin runs before each BeginBlock (the randomness module's
	// place in the block).
	beforeBegin func()
}

func newEnv(t testing.TB, p Params, validity uint64) *env {
	t.Helper()
	ctx := &types.Context{Store: store.NewMemory(), ChainID: testChainID, GenesisHash: testGenesisHash, Height: 1,
		Time: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), SS58Prefix: 42}
	core := chaintest.NewCore()
	b, reg, q := core.Bank, core.Registry, core.MQ
	c := New(b, q)
	q.HandleEgress(Name, c)
	cRaw, _ := json.Marshal(Genesis{Params: p})
	r := core.Init(t, ctx, validity, chaintest.Section{Module: c, Genesis: cRaw})
	e := &env{t: t, ctx: ctx, r: r, bank: b, reg: reg, q: q, c: c,
		alice: addr(t, bank.DevAccounts[0].Address), bob: addr(t, bank.DevAccounts[1].Address),
		dave: addr(t, bank.DevAccounts[3].Address), ferdie: addr(t, bank.DevAccounts[5].Address)}
	c.SetIneligibleHook(func(ctx *types.Context, w []byte) error {
		e.hooked = append(e.hooked, bytes.Clone(w))
		return nil
	})
	return e
}

func (e *env) store() *store.Memory { return e.ctx.Store.(*store.Memory) }

// exec runs msg as sender the way the app runs a message: in a cache that
// is written only on success. Invariants are checked afterwards.
func (e *env) exec(sender types.AccountID, msg proto.Message) error {
	e.t.Helper()
	evs, err := chaintest.Exec(e.t, e.r, e.ctx, sender, msg)
	if err != nil {
		return err
	}
	e.events = append(e.events, evs...)
	e.check()
	return nil
}

func (e *env) mustExec(sender types.AccountID, msg proto.Message) {
	e.t.Helper()
	if err := e.exec(sender, msg); err != nil {
		e.t.Fatalf("%T: %v", msg, err)
	}
}

// mustFail runs msg, expects code, and checks that nothing changed.
func (e *env) mustFail(what string, sender types.AccountID, msg proto.Message, code types.Code) {
	e.t.Helper()
	before := e.store().Clone()
	hooked := len(e.hooked)
	err := e.exec(sender, msg)
	if types.CodeOf(err) != code {
		e.t.Fatalf("%s: %v, want code %d %s", what, err, code, CodeName(code))
	}
	if !before.Equal(e.store()) {
		e.t.Fatalf("%s: state changed", what)
	}
	if len(e.hooked) != hooked {
		e.t.Fatalf("%s: hook called", what)
	}
}

// block ends the current block (registry and compute EndBlock) and begins
// the next one (compute BeginBlock: its heartbeat draws); the
// transactions run in between are the next block's.
func (e *env) block() {
	e.t.Helper()
	ctx := e.ctx.WithStore(e.ctx.Store)
	if err := e.reg.EndBlock(ctx); err != nil {
		e.t.Fatal(err)
	}
	if err := e.c.EndBlock(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.events = append(e.events, ctx.Events()...)
	e.ctx.Height++
	e.ctx.Time = e.ctx.Time.Add(time.Second)
	if e.beforeBegin != nil {
		e.beforeBegin()
	}
	ctx = e.ctx.WithStore(e.ctx.Store)
	if err := e.c.BeginBlock(ctx); err != nil {
		e.t.Fatal(err)
	}
	e.events = append(e.events, ctx.Events()...)
	e.check()
}

func (e *env) blocks(n int) {
	e.t.Helper()
	for range n {
		e.block()
	}
}

// eventsOf returns the recorded events of type typ.
func (e *env) eventsOf(typ string) []types.Event { return chaintest.EventsOf(e.events, typ) }

// worker is a simulated TEE worker with a deterministic identity, and
// the operator it registered for.
type worker struct {
	*chaintest.Worker
	operator types.AccountID
}

func (w *worker) id() [32]byte  { return w.ID() }
func (w *worker) ident() []byte { id := w.id(); return id[:] }

// newWorker registers a simulated worker for operator and reports a sync
// (registry egress), so it is online.
func (e *env) newWorker(operator types.AccountID) *worker {
	e.t.Helper()
	w := e.registered(operator)
	e.sync(w)
	return w
}

// registered registers a simulated worker for operator through the
// registry's MsgRegisterWorker; it has not reported a sync.
func (e *env) registered(operator types.AccountID) *worker {
	t := e.t
	t.Helper()
	e.workers++
	seed := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("compute test worker"), uint64(e.workers)))
	w := &worker{Worker: chaintest.NewWorker(t, ed25519.NewKeyFromSeed(seed[:])), operator: operator}
	e.register(w)
	return w
}

// register registers (or refreshes) w for its operator.
func (e *env) register(w *worker) {
	e.t.Helper()
	if err := e.exec(w.operator, w.Registration(e.t, testChainID, testGenesisHash, w.operator)); err != nil {
		e.t.Fatalf("register worker: %v", err)
	}
}

// egress submits w's signed egress through mq (as a relayer would, from
// //Ferdie) and returns the mq_egress status ("accepted" or "refused: …").
func (e *env) egress(w *worker, topic string, payload []byte) string {
	e.t.Helper()
	n := len(e.events)
	if err := e.exec(e.ferdie, w.NextEgress(e.t, e.ctx.Store, topic, payload)); err != nil {
		return "tx failed: " + err.Error()
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
func (e *env) refused(what string, w *worker, topic string, payload []byte, code types.Code) {
	e.t.Helper()
	before := e.store().Clone()
	st := e.egress(w, topic, payload)
	if !strings.HasPrefix(st, "refused: ") || !strings.Contains(st, CodeName(code)) {
		e.t.Fatalf("%s: status %q, want refused with %s", what, st, CodeName(code))
	}
	if !chaintest.EqualExcept(before, e.store(), mq.EgressSequenceKey(w.id())) {
		e.t.Fatalf("%s: state changed", what)
	}
}

func (e *env) sync(w *worker) {
	e.t.Helper()
	e.mustEgress(w, registry.TopicSynced, enc(e.t, &registryv1.SyncReport{SyncedHeight: e.ctx.Height}))
}

func (e *env) report(w *worker, score uint64) {
	e.t.Helper()
	e.mustEgress(w, TopicBenchmark, enc(e.t, &computev1.BenchmarkReport{Score: score, DurationMs: 1000, Iterations: score}))
}

// ready registers, reports score and binds a worker for operator.
func (e *env) ready(operator types.AccountID, score uint64) *worker {
	e.t.Helper()
	w := e.newWorker(operator)
	e.report(w, score)
	e.mustExec(operator, &computev1.MsgBind{Worker: w.ident()})
	return w
}

// computing is ready plus MsgStartComputing with stake.
func (e *env) computing(operator types.AccountID, score uint64, stake types.Amount) *worker {
	e.t.Helper()
	w := e.ready(operator, score)
	e.mustExec(operator, &computev1.MsgStartComputing{Worker: w.ident(), Stake: stake.String()})
	return w
}

func (e *env) rec(w *worker) *computev1.ComputeWorker {
	e.t.Helper()
	r := Worker(e.ctx.Store, w.ident())
	if r == nil {
		e.t.Fatalf("worker %x not bound", w.ident())
	}
	return r
}

func (e *env) state(w *worker) computev1.WorkerState { return e.rec(w).GetState() }

// challengeMessage reads the latest message on w's topic as a heartbeat
// challenge sent by the compute module (nil if the topic is empty).
func (e *env) challengeMessage(w *worker) *computev1.HeartbeatChallenge {
	e.t.Helper()
	topic := mq.WorkerTopic(w.id())
	n := mq.NextSequence(e.ctx.Store, topic)
	if n == 0 {
		return nil
	}
	var msg mqv1.Message
	if err := proto.Unmarshal(e.ctx.Store.Get(mq.MessageKey(topic, n-1)), &msg); err != nil {
		e.t.Fatal(err)
	}
	if msg.GetOrigin().GetModule() != Name {
		e.t.Fatalf("message origin %v, want module %s", msg.GetOrigin(), Name)
	}
	var wm contractsv1.WorkerMessage
	if err := proto.Unmarshal(msg.GetPayload(), &wm); err != nil {
		e.t.Fatal(err)
	}
	return wm.GetHeartbeat()
}

// untilChallenged ends blocks until w has an open challenge (at most 500).
func (e *env) untilChallenged(w *worker) *computev1.HeartbeatChallenge {
	e.t.Helper()
	for range 500 {
		if e.rec(w).GetChallenge() != nil {
			return e.challengeMessage(w)
		}
		e.block()
	}
	e.t.Fatalf("worker %x never challenged", w.ident())
	return nil
}

// answer answers w's open challenge (from the message on its topic).
func (e *env) answer(w *worker) {
	e.t.Helper()
	c := e.challengeMessage(w)
	e.mustEgress(w, TopicHeartbeat, enc(e.t, &computev1.HeartbeatAnswer{ChallengeHeight: c.GetHeight(), Nonce: c.GetNonce(), SyncedHeight: e.ctx.Height}))
}

func (e *env) balance(a types.AccountID) bank.Balance { return e.bank.Get(e.ctx.Store, a) }

func (e *env) globals() globals { return loadGlobals(e.ctx.Store) }

// check verifies the module's invariants over the whole state.
func (e *env) check() {
	e.t.Helper()
	if e.noCheck {
		return
	}
	checkInvariants(e.t, e.ctx.Store, e.bank)
}

// checkInvariants: bank issuance = Σ balances; every reserved balance is
// exactly the stakes reserved on it (only compute reserves here); the
// globals match the workers; the active index is a permutation of the
// active workers; the computing index is the Computing workers with their
// stakes; pool shares (held + queued) sum to total_shares; the pot covers
// every pending reward; deadlines match open challenges.
func checkInvariants(t testing.TB, s types.KVStore, b *bank.Module) {
	t.Helper()
	var sum, reserved types.Amount
	b.ForEach(s, func(_ types.AccountID, bal bank.Balance) bool {
		sum, _ = sum.Add(bal.Total())
		reserved, _ = reserved.Add(bal.Reserved)
		return true
	})
	if iss := b.Issuance(s); iss.Cmp(sum) != 0 {
		t.Fatalf("issuance %s != Σ balances %s", iss, sum)
	}
	g := loadGlobals(s)
	var totalShare, totalStake, pending types.Amount
	var active, computing uint64
	stakeOn := map[types.AccountID]types.Amount{}
	var ws []*computev1.ComputeWorker
	s.Iterate(prefixWorker, func(_, v []byte) bool {
		w := &computev1.ComputeWorker{}
		types.DecodeProto(v, w)
		ws = append(ws, w)
		return true
	})
	for _, w := range ws {
		id := w.GetIdentity()
		stake := amountOf(w.GetStake())
		totalStake, _ = totalStake.Add(stake)
		totalShare, _ = totalShare.Add(types.NewAmount(w.GetShare()))
		pending, _ = pending.Add(pendingReward(w, g.Acc))
		acct := stakeAccount(w)
		stakeOn[acct], _ = stakeOn[acct].Add(stake)
		st := w.GetState()
		if (st == computev1.WorkerState_WORKER_STATE_READY) != stake.IsZero() {
			t.Fatalf("worker %x is %s with stake %s", id, stateName(st), stake)
		}
		if st != computev1.WorkerState_WORKER_STATE_COMPUTING && w.GetShare() != 0 {
			t.Fatalf("worker %x is %s with share %d", id, stateName(st), w.GetShare())
		}
		if isActive(st) {
			active++
			v := s.Get(activePosKey(id))
			if len(v) != 8 || !bytes.Equal(s.Get(activeIdxKey(binary.BigEndian.Uint64(v))), id) {
				t.Fatalf("active worker %x not indexed", id)
			}
		} else if s.Has(activePosKey(id)) || w.GetChallenge() != nil {
			t.Fatalf("inactive worker %x indexed or challenged", id)
		}
		if st == computev1.WorkerState_WORKER_STATE_COMPUTING {
			computing++
			if !bytes.Equal(s.Get(computingKey(id)), stake.Bytes()) {
				t.Fatalf("computing worker %x: index %x, stake %s", id, s.Get(computingKey(id)), stake)
			}
		} else if s.Has(computingKey(id)) {
			t.Fatalf("worker %x is %s but in the computing index", id, stateName(st))
		}
		if c := w.GetChallenge(); c != nil && !s.Has(deadlineKey(c.GetDeadline(), id)) {
			t.Fatalf("worker %x: challenge without deadline entry", id)
		}
	}
	if totalShare.Cmp(g.TotalShare) != 0 || totalStake.Cmp(g.TotalStake) != 0 || active != g.Active || computing != g.Computing {
		t.Fatalf("globals %+v; workers: share %s stake %s active %d computing %d", g, totalShare, totalStake, active, computing)
	}
	if s.Has(activeIdxKey(g.Active)) {
		t.Fatalf("active index longer than %d", g.Active)
	}
	var onAccounts types.Amount
	for acct, st := range stakeOn {
		if r := b.Get(s, acct).Reserved; r.Cmp(st) != 0 {
			t.Fatalf("account %s reserves %s, its workers' stakes are %s", acct, r, st)
		}
		onAccounts, _ = onAccounts.Add(st)
	}
	if reserved.Cmp(onAccounts) != 0 {
		t.Fatalf("Σ reserved %s != Σ stakes %s", reserved, onAccounts)
	}
	if pot := b.Get(s, PotAccount).Free; pot.Cmp(pending) < 0 {
		t.Fatalf("pot %s cannot pay pending %s", pot, pending)
	}
	held := map[uint64]types.Amount{}
	s.Iterate(prefixShares, func(k, v []byte) bool {
		a, _ := types.AmountFromBytes(v)
		if a.IsZero() {
			t.Fatalf("zero shares stored")
		}
		id := binary.BigEndian.Uint64(k[len(k)-8:])
		held[id], _ = held[id].Add(a)
		return true
	})
	s.Iterate(prefixPool, func(_, v []byte) bool {
		p := &computev1.Pool{}
		types.DecodeProto(v, p)
		sum := held[p.GetId()]
		for _, r := range p.GetWithdrawQueue() {
			sum, _ = sum.Add(amountOf(r.GetShares()))
		}
		if sum.Cmp(amountOf(p.GetTotalShares())) != 0 {
			t.Fatalf("pool %d: Σ shares %s != total %s", p.GetId(), sum, p.GetTotalShares())
		}
		if (len(p.GetWithdrawQueue()) > 0) != s.Has(queuedKey(p.GetId())) {
			t.Fatalf("pool %d: queue index out of step", p.GetId())
		}
		return true
	})
	s.Iterate(prefixDeadline, func(k, _ []byte) bool {
		id := k[len(k)-32:]
		h := int64(binary.BigEndian.Uint64(k[len(prefixDeadline):]))
		w := Worker(s, id)
		if w == nil || w.GetChallenge().GetDeadline() != h {
			t.Fatalf("deadline entry %d for %x without its challenge", h, id)
		}
		return true
	})
}
