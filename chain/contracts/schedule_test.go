package contracts

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"testing"

	"github.com/veil-network/veil/chain/compute"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

// computeWith binds w (already registered and synced) and starts it with
// stake tokens (1 token = 10^12).
func (e *env) computeWith(w *worker, tokens uint64) {
	e.t.Helper()
	id := w.id()
	e.mustEgress(w, registry.TopicSynced, enc(e.t, &registryv1.SyncReport{SyncedHeight: e.ctx.Height}))
	e.mustEgress(w, compute.TopicBenchmark, enc(e.t, &computev1.BenchmarkReport{Score: 400, DurationMs: 100, Iterations: 1280}))
	if err := e.exec(e.alice, &computev1.MsgBind{Worker: id[:]}); err != nil {
		e.t.Fatalf("bind: %v", err)
	}
	stake, _ := types.NewAmount(tokens).Mul64(1_000_000_000_000)
	if err := e.exec(e.alice, &computev1.MsgStartComputing{Worker: id[:], Stake: stake.String()}); err != nil {
		e.t.Fatalf("start computing: %v", err)
	}
}

// TestAssignDrawsEligibleWorkersByStake: draws are distinct, only from
// eligible workers, the same for the same inputs, and proportional to
// stake.
func TestAssignDrawsEligibleWorkersByStake(t *testing.T) {
	e := newEnv(t, 1000)
	s := e.ctx.Store
	stakes := []uint64{100, 100, 400, 100}
	var ws []*worker
	for _, st := range stakes {
		w := e.newWorker()
		e.computeWith(w, st)
		ws = append(ws, w)
	}
	// A fifth eligible worker (e.sync starts it with 100 tokens); then
	// the ineligible: one registered and synced but never bound, and one
	// stopped.
	e.sync(e.newWorker())
	unbound := e.newWorker()
	e.mustEgress(unbound, registry.TopicSynced, enc(t, &registryv1.SyncReport{SyncedHeight: e.ctx.Height}))
	stopped := e.newWorker()
	e.computeWith(stopped, 1000)
	sid := stopped.id()
	if err := e.exec(e.alice, &computev1.MsgStopComputing{Worker: sid[:]}); err != nil {
		t.Fatal(err)
	}
	eligible := compute.Eligible(s, e.ctx.Height)
	if len(eligible) != 5 {
		t.Fatalf("%d eligible workers, want 5", len(eligible))
	}
	isEligible := func(w []byte) bool {
		return slices.ContainsFunc(eligible, func(c compute.Candidate) bool { return bytes.Equal(c.Identity, w) })
	}
	first := map[[32]byte]int{}
	const draws = 2000
	for i := range draws {
		var id [32]byte
		binary.BigEndian.PutUint64(id[:], uint64(i))
		id = sha256.Sum256(id[:])
		got, err := Assign(s, e.ctx.Height, id, 3, nil)
		if err != nil || len(got) != 3 {
			t.Fatalf("draw %d: %d workers, %v", i, len(got), err)
		}
		for j, w := range got {
			if !isEligible(w) {
				t.Fatalf("draw %d picked ineligible %x", i, w)
			}
			if slices.ContainsFunc(got[:j], func(x []byte) bool { return bytes.Equal(x, w) }) {
				t.Fatalf("draw %d picked %x twice", i, w)
			}
		}
		again, _ := Assign(s, e.ctx.Height, id, 3, nil)
		if !sameWorkers(got, again) {
			t.Fatal("the same draw gave another result")
		}
		first[[32]byte(got[0])]++
	}
	// First seats: stake 400 of 800 total for the heavy worker (the
	// e.sync one has 100): expected 1000 of 2000; each 100-stake worker
	// 250.
	heavy := ws[2].id()
	if n := first[heavy]; n < 880 || n > 1120 {
		t.Fatalf("the 4x-stake worker took %d of %d first seats, want about 1000", n, draws)
	}
	light := ws[0].id()
	if n := first[light]; n < 180 || n > 320 {
		t.Fatalf("a 1x-stake worker took %d of %d first seats, want about 250", n, draws)
	}
	// Keep: eligible members stay, in order; ineligible ones are redrawn.
	keep := [][]byte{sid[:], heavy[:]}
	got, err := Assign(s, e.ctx.Height, [32]byte{1}, 2, keep)
	if err != nil || !bytes.Equal(got[0], heavy[:]) || bytes.Equal(got[1], sid[:]) {
		t.Fatalf("keep: %x, %v", got, err)
	}
	// Too few: all eligible, and the error.
	got, err = Assign(s, e.ctx.Height, [32]byte{2}, 6, nil)
	if types.CodeOf(err) != CodeNotEnoughWorkers || len(got) != 5 {
		t.Fatalf("6 of 5: %d, %v", len(got), err)
	}
}

// TestAutomaticReplacement: a worker that stops computing is replaced on
// its contracts in the same block's EndBlock; with nobody left to draw
// the contract runs short and is retried until a worker appears.
func TestAutomaticReplacement(t *testing.T) {
	ce := newContractEnv(t, 1000)
	e := ce.env
	s := e.ctx.Store
	if err := e.exec(e.bob, &contractsv1.MsgInstantiate{CodeHash: ce.code[:], Replicas: 2}); err != nil {
		t.Fatal(err)
	}
	id := ContractID(e.bob, ce.code, nil)
	rec := Contract(s, id)
	gkID := ce.w[0].id()
	gone := rec.GetWorkers()[0]
	if bytes.Equal(gone, gkID[:]) {
		gone = rec.GetWorkers()[1]
	}
	var newcomer []byte
	for _, w := range ce.w {
		if wid := w.id(); !isAssigned(rec, wid[:]) {
			newcomer = wid[:]
		}
	}
	if got := AssignedContracts(s, gone); len(got) != 1 || got[0] != id {
		t.Fatalf("index of %x: %x", gone, got)
	}
	gkBefore := mq.NextSequence(s, mq.TopicGatekeeper)
	goneBefore := mq.NextSequence(s, mq.WorkerTopic([32]byte(gone)))

	e.advance(e.ctx.Height + 1)
	if err := e.exec(e.alice, &computev1.MsgStopComputing{Worker: gone}); err != nil {
		t.Fatal(err)
	}
	if Contract(s, id).GetWorkers() == nil || !isAssigned(Contract(s, id), gone) {
		t.Fatal("replaced before EndBlock")
	}
	if err := e.c.EndBlock(e.ctx); err != nil {
		t.Fatal(err)
	}
	rec = Contract(s, id)
	h := rec.GetHistory()[len(rec.GetHistory())-1]
	if isAssigned(rec, gone) || !isAssigned(rec, newcomer) || h.GetReason() != ReasonReplaced || h.GetHeight() != e.ctx.Height {
		t.Fatalf("after replacement: %v", rec)
	}
	if len(AssignedContracts(s, gone)) != 0 || len(AssignedContracts(s, newcomer)) != 1 {
		t.Fatal("worker index not updated")
	}
	var wm contractsv1.WorkerMessage
	e.message(mq.WorkerTopic([32]byte(gone)), goneBefore, Name, &wm)
	if !bytes.Equal(wm.GetContractUnassigned().GetContractId(), id[:]) {
		t.Fatalf("removed worker got %v", &wm)
	}
	var gm contractsv1.GatekeeperMessage
	e.message(mq.TopicGatekeeper, gkBefore, Name, &gm)
	if r := gm.GetContractKeyRequest(); len(r.GetWorkers()) != 1 || !bytes.Equal(r.GetWorkers()[0].GetIdentity(), newcomer) {
		t.Fatalf("key request %v", r)
	}
	// A second EndBlock has nothing to do.
	if err := e.c.EndBlock(e.ctx); err != nil || len(Contract(s, id).GetHistory()) != len(rec.GetHistory()) {
		t.Fatalf("second EndBlock: %v", err)
	}

	// Now the newcomer goes too, and nobody is left to draw.
	var stays []byte
	for _, w := range rec.GetWorkers() {
		if !bytes.Equal(w, newcomer) {
			stays = w
		}
	}
	if err := e.exec(e.alice, &computev1.MsgStopComputing{Worker: newcomer}); err != nil {
		t.Fatal(err)
	}
	if err := e.c.EndBlock(e.ctx); err != nil {
		t.Fatal(err)
	}
	rec = Contract(s, id)
	if len(rec.GetWorkers()) != 1 || !bytes.Equal(rec.GetWorkers()[0], stays) {
		t.Fatalf("understaffed contract keeps %x", rec.GetWorkers())
	}
	if ev := e.lastCtxEvent(t, "contract_understaffed"); attr(ev, "workers") != "1" {
		t.Fatalf("understaffed event %v", ev)
	}
	// A fresh worker starts computing; the retry picks it up after
	// UnderstaffedRetryBlocks, not before.
	fresh := e.newWorker()
	e.sync(fresh)
	fid := fresh.id()
	e.advance(e.ctx.Height + UnderstaffedRetryBlocks - 1)
	if err := e.c.EndBlock(e.ctx); err != nil || len(Contract(s, id).GetWorkers()) != 1 {
		t.Fatalf("retried early: %v", err)
	}
	e.advance(e.ctx.Height + 1)
	if err := e.c.EndBlock(e.ctx); err != nil {
		t.Fatal(err)
	}
	rec = Contract(s, id)
	if len(rec.GetWorkers()) != 2 || !isAssigned(rec, fid[:]) {
		t.Fatalf("after retry: %x", rec.GetWorkers())
	}
}

// TestStaleWorkerReplaced: the registry's expiry announcement replaces
// the worker on its contracts.
func TestStaleWorkerReplaced(t *testing.T) {
	const validity = 100
	ce := newContractEnv(t, validity)
	e := ce.env
	s := e.ctx.Store
	if err := e.exec(e.bob, &contractsv1.MsgInstantiate{CodeHash: ce.code[:], Replicas: 2}); err != nil {
		t.Fatal(err)
	}
	id := ContractID(e.bob, ce.code, nil)
	rec := Contract(s, id)
	gkID := ce.w[0].id()
	gone := rec.GetWorkers()[0]
	if bytes.Equal(gone, gkID[:]) {
		gone = rec.GetWorkers()[1]
	}
	// Everyone but gone re-attests.
	e.advance(50)
	for _, w := range ce.w {
		if wid := w.id(); !bytes.Equal(wid[:], gone) {
			e.registerWorker(w)
		}
	}
	e.advance(validity + 1)
	if err := e.reg.EndBlock(e.ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.c.EndBlock(e.ctx); err != nil {
		t.Fatal(err)
	}
	rec = Contract(s, id)
	if isAssigned(rec, gone) || len(rec.GetWorkers()) != 2 || rec.GetHistory()[len(rec.GetHistory())-1].GetReason() != ReasonReplaced {
		t.Fatalf("after expiry: %v", rec)
	}
}

// lastCtxEvent returns the last block-level event (EndBlock's) of type typ.
func (e *env) lastCtxEvent(t *testing.T, typ string) types.Event {
	t.Helper()
	evs := e.ctx.Events()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type == typ {
			return evs[i]
		}
	}
	t.Fatalf("no %s event", typ)
	return types.Event{}
}
