package compute

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/randomness"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
	randomnessv1 "github.com/veil-network/veil/gen/veil/randomness/v1"
)

const longValidity = 1_000_000

func TestBindErrors(t *testing.T) {
	e := newEnv(t, testParams(), longValidity)
	w := e.newWorker(e.alice)
	e.mustFail("short identity", e.alice, &computev1.MsgBind{Worker: []byte{1, 2}}, types.CodeInvalidRequest)
	e.mustFail("unregistered", e.alice, &computev1.MsgBind{Worker: make([]byte, 32)}, CodeWorkerNotRegistered)
	e.mustFail("other operator's worker", e.bob, &computev1.MsgBind{Worker: w.ident()}, CodeNotOperator)
	e.mustExec(e.alice, &computev1.MsgBind{Worker: w.ident()})
	if got := e.state(w); got != computev1.WorkerState_WORKER_STATE_READY {
		t.Fatalf("state %v", got)
	}
	if len(e.eventsOf("bound")) != 1 {
		t.Fatal("no bound event")
	}
	e.mustFail("bound twice", e.alice, &computev1.MsgBind{Worker: w.ident()}, CodeAlreadyBound)

	// A stale worker cannot be bound.
	s := newEnv(t, testParams(), 5)
	sw := s.newWorker(s.alice)
	s.blocks(6)
	s.mustFail("stale", s.alice, &computev1.MsgBind{Worker: sw.ident()}, CodeWorkerStale)
}

func TestStartStopReclaim(t *testing.T) {
	p := testParams()
	e := newEnv(t, p, longValidity)
	w := e.newWorker(e.alice)
	e.mustExec(e.alice, &computev1.MsgBind{Worker: w.ident()})
	start := func(stake string) *computev1.MsgStartComputing {
		return &computev1.MsgStartComputing{Worker: w.ident(), Stake: stake}
	}
	e.mustFail("no score", e.alice, start(toks(100).String()), CodeNoScore)
	e.report(w, 1000) // isqrt(1000) = 31: minimum 31 tokens
	if e.rec(w).GetScore() != 1000 {
		t.Fatal("bound worker did not take the score")
	}
	e.mustFail("unbound worker", e.alice, &computev1.MsgStartComputing{Worker: make([]byte, 32), Stake: "1"}, CodeNotBound)
	e.mustFail("zero stake", e.alice, start("0"), types.CodeInvalidAmount)
	e.mustFail("malformed stake", e.alice, start("1e3"), types.CodeInvalidAmount)
	e.mustFail("other operator", e.bob, start(toks(100).String()), CodeNotOperator)
	below := toks(31).SubSat(types.NewAmount(1))
	err := e.exec(e.alice, start(below.String()))
	if types.CodeOf(err) != CodeStakeBelowMinimum || !strings.Contains(err.Error(), toks(31).String()) {
		t.Fatalf("below minimum: %v (want the minimum %s named)", err, toks(31))
	}
	e.mustFail("more than the balance", e.alice, start(toks(2_000_000).String()), types.CodeInsufficientFunds)

	before := e.balance(e.alice)
	e.mustExec(e.alice, start(toks(31).String()))
	r := e.rec(w)
	if r.GetState() != computev1.WorkerState_WORKER_STATE_COMPUTING || r.GetStake() != toks(31).String() {
		t.Fatalf("after start: %v", r)
	}
	if r.GetValue() != 31*ValueUnitsPerToken {
		t.Fatalf("V₀ = %d, want %d", r.GetValue(), 31*ValueUnitsPerToken)
	}
	// Simulated: confidence 5, weight 0.7: P term = 2·1000·0.7 tokens.
	if want := shareOf(31_000, 1000, 700_000); r.GetShare() != want || want != isqrt64(31_000*31_000+1_400_000*1_400_000) {
		t.Fatalf("share %d, want %d", r.GetShare(), want)
	}
	if after := e.balance(e.alice); after.Reserved.Cmp(toks(31)) != 0 || before.Free.SubSat(after.Free).Cmp(toks(31)) != 0 {
		t.Fatalf("balance %+v after staking from %+v", after, before)
	}
	if !IsEligible(e.ctx.Store, e.ctx.Height, w.ident()) {
		t.Fatal("computing, synced worker not eligible")
	}
	e.mustFail("start twice", e.alice, start(toks(31).String()), CodeNotReady)
	e.mustFail("reclaim while computing", e.alice, &computev1.MsgReclaim{Worker: w.ident()}, CodeNotCoolingDown)
	e.mustFail("stop by other", e.bob, &computev1.MsgStopComputing{Worker: w.ident()}, CodeNotOperator)

	e.blocks(3)
	e.mustExec(e.alice, &computev1.MsgStopComputing{Worker: w.ident()})
	r = e.rec(w)
	if r.GetState() != computev1.WorkerState_WORKER_STATE_COOLING_DOWN || r.GetCooldownEndsAt() != e.ctx.Height+int64(p.CooldownBlocks) || r.GetShare() != 0 {
		t.Fatalf("after stop: %v", r)
	}
	if len(e.hooked) != 1 || !bytes.Equal(e.hooked[0], w.ident()) {
		t.Fatalf("hook calls %x", e.hooked)
	}
	if IsEligible(e.ctx.Store, e.ctx.Height, w.ident()) {
		t.Fatal("cooling-down worker eligible")
	}
	// Three blocks of the whole worker part, settled at the stop.
	part := p.RewardPerBlock.SubSat(ppmOf(p.RewardPerBlock, p.TreasuryCutPPM))
	want, _ := part.Mul64(3)
	if got := amountOf(r.GetRewardsTotal()); want.SubSat(got).Cmp(types.NewAmount(1)) > 0 || got.Cmp(want) > 0 {
		t.Fatalf("rewards %s, want %s (−1 for rounding)", got, want)
	}
	e.mustFail("stop twice", e.alice, &computev1.MsgStopComputing{Worker: w.ident()}, CodeNotComputing)
	e.mustFail("reclaim before cool-down", e.alice, &computev1.MsgReclaim{Worker: w.ident()}, CodeCooldownNotOver)
	e.blocks(int(p.CooldownBlocks))
	e.mustFail("reclaim by other", e.bob, &computev1.MsgReclaim{Worker: w.ident()}, CodeNotOperator)
	e.mustExec(e.alice, &computev1.MsgReclaim{Worker: w.ident()})
	if e.state(w) != computev1.WorkerState_WORKER_STATE_READY || !e.balance(e.alice).Reserved.IsZero() {
		t.Fatalf("after reclaim: %v, %+v", e.rec(w), e.balance(e.alice))
	}
	e.mustFail("reclaim twice", e.alice, &computev1.MsgReclaim{Worker: w.ident()}, CodeNotCoolingDown)
	e.mustFail("stop a ready worker", e.alice, &computev1.MsgStopComputing{Worker: w.ident()}, CodeNotComputing)
	// Ready again: it can start again, V reset from the new stake.
	e.mustExec(e.alice, start(toks(50).String()))
	if e.rec(w).GetValue() != 50*ValueUnitsPerToken {
		t.Fatalf("V after restart %d", e.rec(w).GetValue())
	}
}

// heartbeatParams challenge every active worker about once a block.
func heartbeatParams() Params {
	p := DefaultParams()
	p.ChallengesPerHour = 3600
	p.ExpectedBlockMs = 1000
	p.ResponseWindowBlocks = 5
	return p
}

func TestHeartbeatFlow(t *testing.T) {
	p := heartbeatParams()
	e := newEnv(t, p, longValidity)
	w := e.computing(e.alice, 1000, toks(100))
	other := e.ready(e.bob, 1000)  // bound, never computing
	stranger := e.newWorker(e.bob) // registered, not bound

	c := e.untilChallenged(w)
	rc := e.rec(w).GetChallenge()
	if c == nil || c.GetHeight() != rc.GetHeight() || !bytes.Equal(c.GetNonce(), rc.GetNonce()) || c.GetDeadline() != rc.GetDeadline() {
		t.Fatalf("challenge on the topic %v, on the record %v", c, rc)
	}
	if c.GetDeadline() != c.GetHeight()+int64(p.ResponseWindowBlocks) {
		t.Fatalf("deadline %d for height %d", c.GetDeadline(), c.GetHeight())
	}
	// No randomness module here: the seed is SHA-256(domain ‖ height).
	seed := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(randomness.NoRandomnessDomain), uint64(c.GetHeight())))
	if !bytes.Equal(c.GetNonce(), ChallengeNonce(seed[:], w.ident())) || len(c.GetNonce()) != 32 {
		t.Fatalf("nonce %x", c.GetNonce())
	}
	if ev := e.eventsOf("heartbeat_challenge"); len(ev) == 0 {
		t.Fatal("no heartbeat_challenge event")
	}

	ans := func(h int64, nonce []byte) []byte {
		return enc(t, &computev1.HeartbeatAnswer{ChallengeHeight: h, Nonce: nonce, SyncedHeight: e.ctx.Height})
	}
	e.refused("wrong nonce", w, TopicHeartbeat, ans(c.GetHeight(), make([]byte, 32)), CodeWrongChallenge)
	e.refused("wrong height", w, TopicHeartbeat, ans(c.GetHeight()-1, c.GetNonce()), CodeWrongChallenge)
	e.refused("unbound worker", stranger, TopicHeartbeat, ans(c.GetHeight(), c.GetNonce()), CodeNotBound)
	e.refused("no open challenge", other, TopicHeartbeat, ans(c.GetHeight(), c.GetNonce()), CodeNoChallenge)
	e.refused("malformed", w, TopicHeartbeat, []byte{0xff, 0xff}, 0)

	v0 := e.rec(w).GetValue()
	e.answer(w)
	r := e.rec(w)
	if r.GetChallenge() != nil || r.GetHeartbeats() != 1 || r.GetLastHeartbeat() != e.ctx.Height {
		t.Fatalf("after answer: %v", r)
	}
	if r.GetValue() != grow(v0, p.ValueGrowthPPM, p.ValueCap) || r.GetValue() <= v0 {
		t.Fatalf("V %d → %d", v0, r.GetValue())
	}
	if amountOf(r.GetRewardsTotal()).IsZero() || len(e.eventsOf("rewards_paid")) == 0 {
		t.Fatal("answer settled no rewards")
	}
	e.refused("answer twice", w, TopicHeartbeat, ans(c.GetHeight(), c.GetNonce()), CodeNoChallenge)

	// The next challenge goes unanswered: Unresponsive, slashed, hooked.
	c = e.untilChallenged(w)
	treasury := e.balance(auth.TreasuryAccount).Free
	stake := amountOf(e.rec(w).GetStake())
	hooks := len(e.hooked)
	for e.ctx.Height <= c.GetDeadline() {
		e.block()
	}
	r = e.rec(w)
	if r.GetState() != computev1.WorkerState_WORKER_STATE_UNRESPONSIVE || r.GetMisses() != 1 || r.GetShare() != 0 {
		t.Fatalf("after miss: %v", r)
	}
	slash := ppmOf(stake, p.SlashPPM)
	if amountOf(r.GetStake()).Cmp(stake.SubSat(slash)) != 0 || r.GetSlashedTotal() != slash.String() {
		t.Fatalf("stake %s slashed %s, from %s", r.GetStake(), r.GetSlashedTotal(), stake)
	}
	// The treasury gets the slash plus each block's cut (none after the
	// miss: the only worker has no share).
	if got := e.balance(auth.TreasuryAccount).Free.SubSat(treasury); got.Cmp(slash) < 0 {
		t.Fatalf("treasury gained %s, slash %s", got, slash)
	}
	if e.balance(e.alice).Reserved.Cmp(amountOf(r.GetStake())) != 0 {
		t.Fatalf("reserved %s, stake %s", e.balance(e.alice).Reserved, r.GetStake())
	}
	if len(e.hooked) != hooks+1 || !bytes.Equal(e.hooked[hooks], w.ident()) {
		t.Fatal("hook not called on Computing → Unresponsive")
	}
	if len(e.eventsOf("worker_unresponsive")) != 1 || len(e.eventsOf("worker_slashed")) != 1 {
		t.Fatal("missing unresponsive/slashed events")
	}
	if IsEligible(e.ctx.Store, e.ctx.Height, w.ident()) {
		t.Fatal("unresponsive worker eligible")
	}
	// Still challenged while Unresponsive; answering recovers it.
	e.untilChallenged(w)
	e.answer(w)
	r = e.rec(w)
	if r.GetState() != computev1.WorkerState_WORKER_STATE_COMPUTING || r.GetShare() == 0 || len(e.eventsOf("worker_recovered")) != 1 {
		t.Fatalf("after recovery: %v", r)
	}
	if !IsEligible(e.ctx.Store, e.ctx.Height, w.ident()) {
		t.Fatal("recovered worker not eligible")
	}
	// A miss while Unresponsive only decays V: no second slash, no hook.
	c = e.untilChallenged(w)
	for e.ctx.Height <= c.GetDeadline() {
		e.block()
	}
	c = e.untilChallenged(w)
	stake = amountOf(e.rec(w).GetStake())
	v := e.rec(w).GetValue()
	hooks = len(e.hooked)
	for e.ctx.Height <= c.GetDeadline() {
		e.block()
	}
	r = e.rec(w)
	if r.GetState() != computev1.WorkerState_WORKER_STATE_UNRESPONSIVE || amountOf(r.GetStake()).Cmp(stake) != 0 ||
		r.GetValue() != decay(v, p.ValueDecayPPM) || len(e.hooked) != hooks {
		t.Fatalf("second miss while unresponsive: %v (stake was %s, V %d)", r, stake, v)
	}
	// Stopping an unresponsive worker drops its open challenge.
	e.untilChallenged(w)
	e.mustExec(e.alice, &computev1.MsgStopComputing{Worker: w.ident()})
	if e.rec(w).GetChallenge() != nil {
		t.Fatal("stopped worker keeps its challenge")
	}
}

// TestLateAnswer: an answer after the deadline that the sweep has not
// reached yet (a backlog) is refused as expired.
func TestLateAnswer(t *testing.T) {
	e := newEnv(t, heartbeatParams(), longValidity)
	w := e.computing(e.alice, 1000, toks(100))
	c := e.untilChallenged(w)
	e.ctx.Height = c.GetDeadline() + 1 // no EndBlock ran in between
	e.refused("late", w, TopicHeartbeat, enc(t, &computev1.HeartbeatAnswer{ChallengeHeight: c.GetHeight(), Nonce: c.GetNonce(), SyncedHeight: c.GetHeight()}), CodeChallengeExpired)
	e.ctx.Height = c.GetDeadline()
	e.refused("synced height in the future", w, TopicHeartbeat, enc(t, &computev1.HeartbeatAnswer{ChallengeHeight: c.GetHeight(), Nonce: c.GetNonce(), SyncedHeight: e.ctx.Height + 1}), 0)
	e.mustEgress(w, TopicHeartbeat, enc(t, &computev1.HeartbeatAnswer{ChallengeHeight: c.GetHeight(), Nonce: c.GetNonce(), SyncedHeight: c.GetHeight()}))
}

// TestBlockRandomness: with the randomness module's record present, the
// nonce derives from its output.
func TestBlockRandomness(t *testing.T) {
	e := newEnv(t, heartbeatParams(), longValidity)
	w := e.computing(e.alice, 1000, toks(100))
	out := bytes.Repeat([]byte{0x5a}, 64)
	// What the randomness module records before BeginBlock.
	e.beforeBegin = func() {
		next := sha512.Sum512(out)
		out = next[:]
		e.ctx.Store.Set([]byte("randomness/latest"), enc(t, &randomnessv1.BlockRandomness{Height: e.ctx.Height, Output: out}))
	}
	for range 200 {
		e.block()
		if e.rec(w).GetChallenge() != nil {
			break
		}
	}
	c := e.rec(w).GetChallenge()
	if c == nil {
		t.Fatal("never challenged")
	}
	if !bytes.Equal(c.GetNonce(), ChallengeNonce(out, w.ident())) {
		t.Fatalf("nonce %x is not derived from the block randomness", c.GetNonce())
	}
}

func TestDrawCount(t *testing.T) {
	p := DefaultParams()
	p.ChallengesPerHour, p.ExpectedBlockMs = 60, 1000 // λ = active/60
	seed := []byte("seed")
	var total uint64
	const blocks = 6000
	for h := range int64(blocks) {
		total += drawCount(p, 600, seed, h) // λ = 10 exactly
	}
	if total != 10*blocks {
		t.Fatalf("λ = 10: %d draws in %d blocks", total, blocks)
	}
	total = 0
	for h := range int64(blocks) {
		n := drawCount(p, 90, seed, h) // λ = 1.5
		if n != 1 && n != 2 {
			t.Fatalf("λ = 1.5 gave %d", n)
		}
		total += n
	}
	// Mean 1.5: 9000 ± a few standard deviations (σ ≈ 39).
	if total < 8700 || total > 9300 {
		t.Fatalf("λ = 1.5: %d draws in %d blocks", total, blocks)
	}
	if n := drawCount(p, 1<<40, seed, 1); n != MaxChallengesPerBlock {
		t.Fatalf("huge set: %d draws", n)
	}
}

// TestRewardsProportional: three workers with different V (stake) and P
// earn in proportion to their shares; the treasury takes its cut.
func TestRewardsProportional(t *testing.T) {
	p := testParams()
	e := newEnv(t, p, longValidity)
	ws := []*worker{
		e.computing(e.alice, 100, toks(10)),
		e.computing(e.bob, 5000, toks(2000)),
		e.computing(e.dave, 400, toks(300)),
	}
	// All three started in earlier blocks' transactions; the rewards of
	// the next n blocks go to exactly these shares.
	treasury := e.balance(auth.TreasuryAccount).Free
	const n = 50
	e.blocks(n)
	var shares [3]uint64
	var total uint64
	for i, w := range ws {
		shares[i] = e.rec(w).GetShare()
		total += shares[i]
	}
	ops := []types.AccountID{e.alice, e.bob, e.dave}
	cut := ppmOf(p.RewardPerBlock, p.TreasuryCutPPM)
	part := p.RewardPerBlock.SubSat(cut)
	paid := types.Amount{}
	for i, w := range ws {
		free := e.balance(ops[i]).Free
		e.mustExec(ops[i], &computev1.MsgStopComputing{Worker: w.ident()})
		got := e.balance(ops[i]).Free.SubSat(free)
		if got.Cmp(amountOf(e.rec(w).GetRewardsTotal())) != 0 {
			t.Fatalf("worker %d: paid %s, rewards_total %s", i, got, e.rec(w).GetRewardsTotal())
		}
		partN, _ := part.Mul64(n)
		want := partN.MulDivSat(types.NewAmount(shares[i]), types.NewAmount(total))
		// Each block's accumulator step and the settlement round down.
		if got.Cmp(want) > 0 || want.SubSat(got).Cmp(types.NewAmount(n+1)) > 0 {
			t.Fatalf("worker %d (share %d of %d): paid %s, want %s", i, shares[i], total, got, want)
		}
		paid = paid.AddSat(got)
	}
	cutN, _ := cut.Mul64(n)
	if got := e.balance(auth.TreasuryAccount).Free.SubSat(treasury); got.Cmp(cutN) != 0 {
		t.Fatalf("treasury got %s, want %s", got, cutN)
	}
	// Nothing is minted once no worker has a share.
	iss := e.bank.Issuance(e.ctx.Store)
	e.blocks(3)
	if e.bank.Issuance(e.ctx.Store).Cmp(iss) != 0 {
		t.Fatal("minted with no share")
	}
	// What stays in the pot is rounding dust only.
	if pot := e.balance(PotAccount).Free; pot.Cmp(types.NewAmount(4*n)) > 0 {
		t.Fatalf("pot keeps %s after everything was settled", pot)
	}
}

func TestBenchmarkReport(t *testing.T) {
	p := testParams()
	e := newEnv(t, p, longValidity)
	w := e.newWorker(e.alice)
	e.refused("zero score", w, TopicBenchmark, enc(t, &computev1.BenchmarkReport{Score: 0}), CodeInvalidScore)
	e.refused("malformed", w, TopicBenchmark, []byte{0xff}, 0)
	e.report(w, p.MaxScore+5) // unbound: kept under compute/score
	if s, at := Score(e.ctx.Store, w.ident()); s != p.MaxScore || at != e.ctx.Height {
		t.Fatalf("score %d at %d", s, at)
	}
	e.mustExec(e.alice, &computev1.MsgBind{Worker: w.ident()})
	if e.rec(w).GetScore() != p.MaxScore {
		t.Fatal("bind did not pick up the score")
	}
	e.report(w, 900)
	e.mustExec(e.alice, &computev1.MsgStartComputing{Worker: w.ident(), Stake: toks(30).String()})
	share := e.rec(w).GetShare()
	e.blocks(4)
	e.report(w, 3600) // share rises; rewards up to now are settled first
	r := e.rec(w)
	if r.GetShare() <= share || r.GetShare() != shareOf(r.GetValue(), 3600, 700_000) {
		t.Fatalf("share %d → %d", share, r.GetShare())
	}
	if amountOf(r.GetRewardsTotal()).IsZero() {
		t.Fatal("score change did not settle")
	}
	if g := e.globals(); g.TotalShare.Cmp(types.NewAmount(r.GetShare())) != 0 {
		t.Fatalf("total share %s, worker %d", g.TotalShare, r.GetShare())
	}
}

// TestHookFailure: a failing hook never blocks the transition; its writes
// are discarded and the failure announced.
func TestHookFailure(t *testing.T) {
	e := newEnv(t, testParams(), longValidity)
	w := e.computing(e.alice, 1000, toks(100))
	e.c.SetIneligibleHook(func(ctx *types.Context, _ []byte) error {
		ctx.Store.Set([]byte("scheduler/scratch"), []byte{1})
		return errors.New("no replacement worker")
	})
	e.mustExec(e.alice, &computev1.MsgStopComputing{Worker: w.ident()})
	if e.state(w) != computev1.WorkerState_WORKER_STATE_COOLING_DOWN {
		t.Fatal("stop blocked by the hook")
	}
	if e.ctx.Store.Has([]byte("scheduler/scratch")) {
		t.Fatal("failed hook's writes kept")
	}
	if ev := e.eventsOf("ineligible_hook_failed"); len(ev) != 1 || !strings.Contains(attr(ev[0], "error"), "no replacement") {
		t.Fatalf("events %v", ev)
	}
}

func TestEligible(t *testing.T) {
	const validity = 40
	e := newEnv(t, heartbeatParams(), validity)
	good := e.computing(e.alice, 1000, toks(100))
	// Registered and computing, but its light client never reported.
	unsynced := e.registered(e.alice)
	e.report(unsynced, 1000)
	e.mustExec(e.alice, &computev1.MsgBind{Worker: unsynced.ident()})
	e.mustExec(e.alice, &computev1.MsgStartComputing{Worker: unsynced.ident(), Stake: toks(100).String()})
	cooling := e.computing(e.bob, 1000, toks(100))
	e.mustExec(e.bob, &computev1.MsgStopComputing{Worker: cooling.ident()})
	silent := e.computing(e.dave, 1000, toks(100))
	ready := e.ready(e.dave, 1000)

	ids := func() []string {
		var out []string
		for _, c := range Eligible(e.ctx.Store, e.ctx.Height) {
			out = append(out, types.HexID(c.Identity))
		}
		return out
	}
	want := []string{types.HexID(good.ident()), types.HexID(silent.ident())}
	if bytes.Compare(good.ident(), silent.ident()) > 0 {
		want[0], want[1] = want[1], want[0]
	}
	if got := ids(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("eligible %v, want %v (sorted by identity)", got, want)
	}
	if c := Eligible(e.ctx.Store, e.ctx.Height); c[0].Stake.Cmp(toks(100)) != 0 {
		t.Fatalf("candidate stake %s", c[0].Stake)
	}
	for _, w := range []*worker{unsynced, cooling, ready} {
		if IsEligible(e.ctx.Store, e.ctx.Height, w.ident()) {
			t.Fatalf("%x eligible", w.ident())
		}
	}
	// silent never answers: once Unresponsive it leaves the set; good
	// answers everything.
	for range 200 {
		if e.state(silent) == computev1.WorkerState_WORKER_STATE_UNRESPONSIVE {
			break
		}
		if e.rec(good).GetChallenge() != nil {
			e.answer(good)
		}
		e.block()
	}
	if e.state(silent) != computev1.WorkerState_WORKER_STATE_UNRESPONSIVE {
		t.Fatal("silent worker never became unresponsive")
	}
	for _, c := range Eligible(e.ctx.Store, e.ctx.Height) {
		if bytes.Equal(c.Identity, silent.ident()) {
			t.Fatal("unresponsive worker eligible")
		}
	}
	// Past its attestation's expiry, good is stale: not eligible although
	// still Computing.
	rec := registry.Worker(e.ctx.Store, good.ident())
	for e.ctx.Height < rec.GetExpiresAt() {
		if e.rec(good).GetChallenge() != nil {
			e.answer(good)
		}
		e.block()
	}
	if e.state(good) != computev1.WorkerState_WORKER_STATE_COMPUTING {
		t.Fatalf("good worker is %s", stateName(e.state(good)))
	}
	if len(Eligible(e.ctx.Store, e.ctx.Height)) != 0 || IsEligible(e.ctx.Store, e.ctx.Height, good.ident()) {
		t.Fatalf("stale worker eligible: %v", ids())
	}
}

func TestQueries(t *testing.T) {
	e := newEnv(t, heartbeatParams(), longValidity)
	w := e.computing(e.alice, 1000, toks(100))
	e.mustExec(e.bob, &computev1.MsgCreatePool{CommissionPpm: 50_000})
	e.mustExec(e.dave, &computev1.MsgContribute{PoolId: 1, Amount: toks(10).String()})
	e.untilChallenged(w)
	q := func(path string, args any) any {
		t.Helper()
		var raw []byte
		if args != nil {
			raw, _ = json.Marshal(args)
		}
		v, err := e.c.Query(e.ctx, path, raw)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if _, err := json.Marshal(v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	ws := q("workers", nil).([]WorkerView)
	if len(ws) != 1 || ws[0].Identity != types.HexID(w.ident()) || ws[0].State != "computing" || ws[0].Stake != toks(100).String() ||
		ws[0].Challenge == nil || !ws[0].Eligible || ws[0].Operator != e.alice.Address(42) {
		t.Fatalf("workers %+v", ws)
	}
	if ws[0].PendingRewards == "0" {
		t.Fatal("no pending rewards after blocks")
	}
	if v := q("worker", map[string]string{"identity": types.HexID(w.ident())}).(WorkerView); v.Identity != ws[0].Identity {
		t.Fatalf("worker %+v", v)
	}
	pv := q("pool", map[string]uint64{"id": 1}).(PoolView)
	if pv.Owner != e.bob.Address(42) || pv.TotalShares != toks(10).String() || pv.SharePrice != "1.000000000000" || pv.Value != toks(10).String() {
		t.Fatalf("pool %+v", pv)
	}
	if ps := q("pools", nil).([]PoolView); len(ps) != 1 {
		t.Fatalf("pools %+v", ps)
	}
	cs := q("contributions", map[string]string{"account": e.dave.Address(42)}).([]ContributionView)
	if len(cs) != 1 || cs[0].Shares != toks(10).String() || cs[0].Value != toks(10).String() {
		t.Fatalf("contributions %+v", cs)
	}
	if cs := q("contributions", map[string]string{"account": e.dave.Hex()}).([]ContributionView); len(cs) != 1 {
		t.Fatal("hex account not accepted")
	}
	tv := q("totals", nil).(TotalsView)
	if tv.Active != 1 || tv.Computing != 1 || tv.TotalStake != toks(100).String() || tv.TotalShare == "0" {
		t.Fatalf("totals %+v", tv)
	}
	if pp := q("params", nil).(Params); pp.ChallengesPerHour != 3600 {
		t.Fatalf("params %+v", pp)
	}
	for _, bad := range []struct {
		path string
		args string
		code types.Code
	}{
		{"worker", `{"identity":"0x12"}`, types.CodeInvalidRequest},
		{"worker", `{"identity":"` + types.HexID(make([]byte, 32)) + `"}`, types.CodeNotFound},
		{"pool", `{"id":9}`, types.CodeNotFound},
		{"contributions", `{"account":"nope"}`, types.CodeInvalidAddress},
		{"nope", ``, types.CodeInvalidRequest},
		{"workers", `{`, types.CodeInvalidRequest},
	} {
		if _, err := e.c.Query(e.ctx, bad.path, []byte(bad.args)); types.CodeOf(err) != bad.code {
			t.Errorf("%s %s: %v, want code %d", bad.path, bad.args, err, bad.code)
		}
	}
}

func TestGenesisValidation(t *testing.T) {
	m := New(nil, nil)
	if err := m.ValidateGenesis(m.DefaultGenesis(), 42); err != nil {
		t.Fatal(err)
	}
	bad := []func(*Params){
		func(p *Params) { p.TokenUnit = types.Amount{} },
		func(p *Params) { p.ExpectedBlockMs = 0 },
		func(p *Params) { p.ResponseWindowBlocks = 0 },
		func(p *Params) { p.SlashPPM = PPM + 1 },
		func(p *Params) { p.TreasuryCutPPM = PPM + 1 },
		func(p *Params) { p.ValueCap = 0 },
		func(p *Params) { p.ConfidenceWeightsPPM = []uint32{1, 2, 3, 4} },
		func(p *Params) { p.ConfidenceWeightsPPM = []uint32{1, 2, 3, 4, PPM + 1} },
		func(p *Params) { p.MaxScore = 0 },
		func(p *Params) { p.MaxPoolWorkers = 0 },
		func(p *Params) { p.RewardPerBlock = types.MustParseAmount("1000000000000000000001") },
		func(p *Params) { p.ChallengesPerHour = limitChallenges + 1 },
	}
	for i, f := range bad {
		p := DefaultParams()
		f(&p)
		raw, _ := json.Marshal(Genesis{Params: p})
		if err := m.ValidateGenesis(raw, 42); err == nil {
			t.Errorf("bad params %d accepted", i)
		}
	}
	if err := m.ValidateGenesis([]byte(`{"params":{},"workers":[]}`), 42); err == nil {
		t.Error("unknown genesis field accepted")
	}
}

func TestArithmetic(t *testing.T) {
	for _, x := range []uint64{0, 1, 2, 3, 4, 15, 16, 17, 1 << 32, 1<<32 - 1, 1<<64 - 1, 999_999_999} {
		r := isqrt64(x)
		if r*r > x || (r+1 <= 1<<32-1 && (r+1)*(r+1) <= x) {
			t.Errorf("isqrt64(%d) = %d", x, r)
		}
	}
	if shareOf(3, 0, PPM) != 3 || shareOf(0, 2, PPM/2) != 2000 || shareOf(3000, 2, PPM) != 5000 {
		t.Fatalf("shareOf: %d %d %d", shareOf(3, 0, PPM), shareOf(0, 2, PPM/2), shareOf(3000, 2, PPM))
	}
	// Bounds: the largest V and P still fit.
	if s := shareOf(limitValueCap, limitScore, PPM); s == 0 || s == ^uint64(0) {
		t.Fatalf("share at the bounds %d", s)
	}
	if grow(1000, 1000, 1_000_000) != 1001 || grow(999, 1000, 1_000_000) != 999 || grow(1000, PPM, 1500) != 1500 {
		t.Fatal("grow")
	}
	if decay(1000, 20_000) != 980 || decay(1000, PPM) != 0 || decay(^uint64(0), PPM) != 0 {
		t.Fatal("decay")
	}
	if initialValue(toks(5), tok, 1<<40) != 5000 || initialValue(toks(5), tok, 10) != 10 {
		t.Fatal("initialValue")
	}
	if priceString(types.NewAmount(3), types.NewAmount(2)) != "1.500000000000" || priceString(types.NewAmount(1), types.NewAmount(3)) != "0.333333333333" {
		t.Fatal("priceString")
	}
	// The accumulator wraps modulo 2^128 and differences stay exact.
	near := types.MaxAmount().SubSat(types.NewAmount(5))
	w := &computev1.ComputeWorker{Share: 2, RewardDebt: near.String()}
	acc := wrapAdd(near, types.NewAmount(10*RewardScale))
	if got := pendingReward(w, acc); got.Cmp(types.NewAmount(20)) != 0 {
		t.Fatalf("pending across the wrap %s", got)
	}
}

// TestCodes pins the numbering (clients match on numbers) and names.
func TestCodes(t *testing.T) {
	if CodeWorkerNotRegistered != 500 || CodeStakeBelowMinimum != 510 || CodeNoMessageQueue != 525 {
		t.Fatal("compute codes renumbered")
	}
	seen := map[string]bool{}
	for c := CodeWorkerNotRegistered; c <= CodeNoMessageQueue; c++ {
		n := CodeName(c)
		if n == "" || seen[n] {
			t.Fatalf("code %d: name %q", c, n)
		}
		seen[n] = true
	}
	if CodeName(CodeNoMessageQueue+1) != "" {
		t.Fatal("name for an unassigned code")
	}
}
