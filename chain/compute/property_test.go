package compute

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/types"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
)

// TestPropertyRandomOps drives the module with random sequences of every
// message, egress (answers right and wrong, benchmark reports), blocks
// and registration refreshes, from fixed seeds. After every step the env
// checks the invariants (checkInvariants: issuance = Σ balances, Σ stakes
// = Σ reserved on operator and pool accounts, globals and indexes match
// the workers, pool shares held + queued = total_shares, the pot covers
// pending rewards); here additionally issuance = genesis issuance + every
// block reward minted (nothing else creates or destroys money), and a
// failed message leaves state untouched.
func TestPropertyRandomOps(t *testing.T) {
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { randomOps(t, rand.New(rand.NewPCG(seed, 99)), 500) })
	}
}

func randomOps(t *testing.T, r *rand.Rand, steps int) {
	p := DefaultParams()
	p.ChallengesPerHour = 600 // λ = active/6 per block
	p.ResponseWindowBlocks = 3
	p.CooldownBlocks = 5
	p.WithdrawGraceBlocks = 15
	p.SlashPPM = 50_000
	p.MaxPoolWorkers = 3
	p.RewardPerBlock = types.NewAmount(1_000_000_007) // not a round number: exercises the carry
	e := newEnv(t, p, 120)
	ops := []types.AccountID{e.alice, e.bob, e.dave}
	people := []types.AccountID{e.alice, e.bob, e.dave, e.ferdie, addr(t, bank.DevAccounts[2].Address), addr(t, bank.DevAccounts[4].Address)}
	var ws []*worker
	for i := range 7 {
		ws = append(ws, e.newWorker(ops[i%len(ops)]))
	}
	startIssuance := e.bank.Issuance(e.ctx.Store)
	minted := types.Amount{}
	seen := 0
	collectMinted := func() {
		for _, ev := range e.events[seen:] {
			if ev.Type == "block_reward" {
				minted = minted.AddSat(types.MustParseAmount(attr(ev, "minted")))
			}
		}
		seen = len(e.events)
	}
	pick := func() *worker { return ws[r.IntN(len(ws))] }
	// sender is mostly the worker's controller, sometimes anyone.
	sender := func(w *worker) types.AccountID {
		if r.IntN(6) == 0 {
			return people[r.IntN(len(people))]
		}
		if rec := Worker(e.ctx.Store, w.ident()); rec != nil && rec.GetPoolId() != 0 {
			if pl := Pool(e.ctx.Store, rec.GetPoolId()); pl != nil {
				return types.AccountID(pl.GetOwner())
			}
		}
		return w.operator
	}
	amount := func(max uint64) types.Amount {
		switch r.IntN(8) {
		case 0:
			return types.Amount{}
		case 1:
			return types.NewAmount(1 + r.Uint64N(1000))
		default:
			return toks(1 + r.Uint64N(max))
		}
	}
	poolID := func() uint64 { return uint64(r.IntN(4)) } // 0 and unknown ids included
	run := func(who types.AccountID, msg proto.Message) {
		before := e.store().Clone()
		if err := e.exec(who, msg); err != nil {
			if types.CodeOf(err) == types.CodeInternal {
				t.Fatalf("%T: internal error %v", msg, err)
			}
			if !before.Equal(e.store()) {
				t.Fatalf("%T failed (%v) and changed state", msg, err)
			}
		}
	}
	for step := range steps {
		w := pick()
		switch op := r.IntN(20); {
		case op < 2:
			run(sender(w), &computev1.MsgBind{Worker: w.ident()})
		case op < 4:
			stake := amount(400)
			if rec := Worker(e.ctx.Store, w.ident()); rec != nil && r.IntN(2) == 0 {
				min, _ := MinStake(p.MinStakeK, rec.GetScore())
				stake = min.SubSat(types.NewAmount(uint64(r.IntN(2))))
			}
			run(sender(w), &computev1.MsgStartComputing{Worker: w.ident(), Stake: stake.String()})
		case op < 5:
			run(sender(w), &computev1.MsgStopComputing{Worker: w.ident()})
		case op < 6:
			// Mostly a cooling-down worker, if there is one.
			for _, x := range r.Perm(len(ws)) {
				if rec := Worker(e.ctx.Store, ws[x].ident()); rec.GetState() == computev1.WorkerState_WORKER_STATE_COOLING_DOWN && r.IntN(4) > 0 {
					w = ws[x]
					break
				}
			}
			run(sender(w), &computev1.MsgReclaim{Worker: w.ident()})
		case op < 7:
			score := r.Uint64N(20_000)
			e.egress(w, TopicBenchmark, enc(t, &computev1.BenchmarkReport{Score: score}))
		case op < 10:
			// Answer open challenges: most right, some with a wrong nonce,
			// some not at all; and one answer with no challenge open.
			for _, x := range ws {
				c := Worker(e.ctx.Store, x.ident()).GetChallenge()
				if c == nil || r.IntN(4) == 0 {
					continue
				}
				nonce := c.GetNonce()
				if r.IntN(10) == 0 {
					nonce = make([]byte, 32)
				}
				e.egress(x, TopicHeartbeat, enc(t, &computev1.HeartbeatAnswer{ChallengeHeight: c.GetHeight(), Nonce: nonce, SyncedHeight: e.ctx.Height}))
			}
			if Worker(e.ctx.Store, w.ident()).GetChallenge() == nil {
				e.egress(w, TopicHeartbeat, enc(t, &computev1.HeartbeatAnswer{ChallengeHeight: e.ctx.Height, Nonce: make([]byte, 32), SyncedHeight: e.ctx.Height}))
			}
		case op < 13:
			e.blocks(1 + r.IntN(3))
		case op < 14:
			c := uint32(r.IntN(PPM + 2))
			run(people[r.IntN(len(people))], &computev1.MsgCreatePool{CommissionPpm: c})
		case op < 15:
			run(sender(w), &computev1.MsgAddWorker{PoolId: poolID(), Worker: w.ident()})
		case op < 17:
			run(people[r.IntN(len(people))], &computev1.MsgContribute{PoolId: poolID(), Amount: amount(300).String()})
		case op < 19:
			who, id := people[r.IntN(len(people))], poolID()
			held := sharesOf(e.ctx.Store, who, id)
			shares := amount(300)
			if !held.IsZero() && r.IntN(3) > 0 {
				shares = held.MulDivSat(types.NewAmount(1+r.Uint64N(100)), types.NewAmount(90)) // sometimes above
			}
			run(who, &computev1.MsgWithdraw{PoolId: id, Shares: shares.String()})
		default:
			e.register(w) // refresh the attestation (stale workers come back)
		}
		collectMinted()
		if want := startIssuance.AddSat(minted); e.bank.Issuance(e.ctx.Store).Cmp(want) != 0 {
			t.Fatalf("step %d: issuance %s, want genesis %s + minted %s", step, e.bank.Issuance(e.ctx.Store), startIssuance, minted)
		}
		for _, c := range Eligible(e.ctx.Store, e.ctx.Height) {
			rec := Worker(e.ctx.Store, c.Identity)
			if rec.GetState() != computev1.WorkerState_WORKER_STATE_COMPUTING || !onlineAt(e.ctx.Store, e.ctx.Height, c.Identity) {
				t.Fatalf("step %d: ineligible %x listed (%s)", step, c.Identity, stateName(rec.GetState()))
			}
		}
	}
	// The run must have reached the interesting states.
	for _, typ := range []string{"computing_started", "heartbeat", "worker_slashed", "worker_recovered", "reclaimed", "contributed", "withdrawn"} {
		if len(e.eventsOf(typ)) == 0 {
			t.Errorf("no %s event in %d steps", typ, steps)
		}
	}
}
