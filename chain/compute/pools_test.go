package compute

import (
	"testing"

	"github.com/veil-network/veil/chain/types"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
)

func (e *env) pool(id uint64) *computev1.Pool {
	e.t.Helper()
	p := Pool(e.ctx.Store, id)
	if p == nil {
		e.t.Fatalf("no pool %d", id)
	}
	return p
}

func (e *env) price(id uint64) string {
	p := e.pool(id)
	return priceString(e.balance(PoolAccount(id)).Total(), amountOf(p.GetTotalShares()))
}

func TestPoolErrors(t *testing.T) {
	p := testParams()
	p.MaxPoolWorkers = 2
	e := newEnv(t, p, longValidity)
	e.mustFail("commission above 100%", e.alice, &computev1.MsgCreatePool{CommissionPpm: PPM + 1}, CodeInvalidCommission)
	e.mustExec(e.alice, &computev1.MsgCreatePool{CommissionPpm: PPM})
	if pl := e.pool(1); pl.GetOwner() == nil || PoolAccount(1) != types.AccountID(pl.GetAccount()) {
		t.Fatalf("pool %v", pl)
	}
	w1 := e.ready(e.alice, 1000)
	w2 := e.ready(e.alice, 1000)
	w3 := e.ready(e.alice, 1000)
	wb := e.ready(e.bob, 1000)
	e.mustFail("unknown pool (add)", e.alice, &computev1.MsgAddWorker{PoolId: 7, Worker: w1.ident()}, CodePoolNotFound)
	e.mustFail("unknown pool (contribute)", e.bob, &computev1.MsgContribute{PoolId: 7, Amount: "1"}, CodePoolNotFound)
	e.mustFail("unknown pool (withdraw)", e.bob, &computev1.MsgWithdraw{PoolId: 7, Shares: "1"}, CodePoolNotFound)
	e.mustFail("not the owner", e.bob, &computev1.MsgAddWorker{PoolId: 1, Worker: wb.ident()}, CodeNotPoolOwner)
	e.mustFail("another operator's worker", e.alice, &computev1.MsgAddWorker{PoolId: 1, Worker: wb.ident()}, CodeNotOperator)
	e.mustFail("unbound worker", e.alice, &computev1.MsgAddWorker{PoolId: 1, Worker: make([]byte, 32)}, CodeNotBound)
	e.mustExec(e.alice, &computev1.MsgStartComputing{Worker: w3.ident(), Stake: toks(40).String()})
	e.mustFail("computing worker", e.alice, &computev1.MsgAddWorker{PoolId: 1, Worker: w3.ident()}, CodeNotReady)
	e.mustExec(e.alice, &computev1.MsgAddWorker{PoolId: 1, Worker: w1.ident()})
	e.mustFail("twice", e.alice, &computev1.MsgAddWorker{PoolId: 1, Worker: w1.ident()}, CodeWorkerInPool)
	e.mustExec(e.alice, &computev1.MsgAddWorker{PoolId: 1, Worker: w2.ident()})
	e.mustExec(e.alice, &computev1.MsgStopComputing{Worker: w3.ident()})
	e.blocks(int(p.CooldownBlocks))
	e.mustExec(e.alice, &computev1.MsgReclaim{Worker: w3.ident()})
	e.mustFail("pool full", e.alice, &computev1.MsgAddWorker{PoolId: 1, Worker: w3.ident()}, CodePoolFull)

	e.mustFail("zero contribution", e.bob, &computev1.MsgContribute{PoolId: 1, Amount: "0"}, types.CodeInvalidAmount)
	e.mustFail("contribution beyond the balance", e.bob, &computev1.MsgContribute{PoolId: 1, Amount: toks(2_000_000).String()}, types.CodeInsufficientFunds)
	e.mustFail("pool worker started from empty pool", e.alice, &computev1.MsgStartComputing{Worker: w1.ident(), Stake: toks(40).String()}, types.CodeInsufficientFunds)
	e.mustExec(e.bob, &computev1.MsgContribute{PoolId: 1, Amount: toks(100).String()})
	e.mustFail("withdraw beyond shares", e.bob, &computev1.MsgWithdraw{PoolId: 1, Shares: toks(100).AddSat(types.NewAmount(1)).String()}, CodeInsufficientShares)
	e.mustFail("withdraw without shares", e.dave, &computev1.MsgWithdraw{PoolId: 1, Shares: "1"}, CodeInsufficientShares)
	e.mustFail("withdraw zero", e.bob, &computev1.MsgWithdraw{PoolId: 1, Shares: "0"}, types.CodeInvalidAmount)
	e.mustFail("non-owner starts a pool worker", e.bob, &computev1.MsgStartComputing{Worker: w1.ident(), Stake: toks(40).String()}, CodeNotPoolOwner)
	// The owner starts pool workers with the pool's funds.
	e.mustExec(e.alice, &computev1.MsgStartComputing{Worker: w1.ident(), Stake: toks(40).String()})
	if b := e.balance(PoolAccount(1)); b.Reserved.Cmp(toks(40)) != 0 || b.Free.Cmp(toks(60)) != 0 {
		t.Fatalf("pool balance %+v", b)
	}
	if e.balance(e.alice).Reserved.Cmp(types.Amount{}) != 0 {
		t.Fatal("pool stake reserved on the operator")
	}
}

// TestPoolRewardsAndSlash: rewards raise the share price (commission to
// the owner), a slash lowers it.
func TestPoolRewardsAndSlash(t *testing.T) {
	p := heartbeatParams()
	p.SlashPPM = 100_000 // 10%: more than the rewards settled with the miss
	e := newEnv(t, p, longValidity)
	e.mustExec(e.alice, &computev1.MsgCreatePool{CommissionPpm: 100_000}) // 10%
	w := e.ready(e.alice, 1000)
	e.mustExec(e.alice, &computev1.MsgAddWorker{PoolId: 1, Worker: w.ident()})
	e.mustExec(e.bob, &computev1.MsgContribute{PoolId: 1, Amount: toks(300).String()})
	e.mustExec(e.dave, &computev1.MsgContribute{PoolId: 1, Amount: toks(100).String()})
	if e.price(1) != "1.000000000000" {
		t.Fatalf("price %s", e.price(1))
	}
	e.mustExec(e.alice, &computev1.MsgStartComputing{Worker: w.ident(), Stake: toks(400).String()})
	owner := e.balance(e.alice).Free
	e.untilChallenged(w)
	e.answer(w)
	paid := amountOf(e.rec(w).GetRewardsTotal())
	if paid.IsZero() {
		t.Fatal("no reward settled")
	}
	commission := ppmOf(paid, 100_000)
	if got := e.balance(e.alice).Free.SubSat(owner); got.Cmp(commission) != 0 {
		t.Fatalf("owner got %s of %s, want commission %s", got, paid, commission)
	}
	if e.pool(1).GetCommissionTotal() != commission.String() {
		t.Fatalf("commission_total %s", e.pool(1).GetCommissionTotal())
	}
	value := e.balance(PoolAccount(1)).Total()
	if want := toks(400).AddSat(paid.SubSat(commission)); value.Cmp(want) != 0 {
		t.Fatalf("pool value %s, want %s", value, want)
	}
	up := e.price(1)
	if up <= "1.000000000000" {
		t.Fatalf("price after rewards %s", up)
	}
	// A miss slashes the pool's reserved stake: the price drops.
	c := e.untilChallenged(w)
	value, paid, commission = e.balance(PoolAccount(1)).Total(), amountOf(e.rec(w).GetRewardsTotal()), amountOf(e.pool(1).GetCommissionTotal())
	for e.ctx.Height <= c.GetDeadline() {
		e.block()
	}
	if e.state(w) != computev1.WorkerState_WORKER_STATE_UNRESPONSIVE {
		t.Fatal("not unresponsive")
	}
	// Exactly: value + rewards settled with the miss − commission − slash.
	slashed := amountOf(e.rec(w).GetSlashedTotal())
	gain := amountOf(e.rec(w).GetRewardsTotal()).SubSat(paid).SubSat(amountOf(e.pool(1).GetCommissionTotal()).SubSat(commission))
	if want := value.AddSat(gain).SubSat(slashed); e.balance(PoolAccount(1)).Total().Cmp(want) != 0 || slashed.Cmp(toks(40)) != 0 {
		t.Fatalf("pool value %s, want %s (slashed %s)", e.balance(PoolAccount(1)).Total(), want, slashed)
	}
	if down := e.price(1); down >= up || down >= "1.000000000000" {
		t.Fatalf("price after the slash %s (was %s)", down, up)
	}
	// Contributions after the slash buy at the lower price.
	total, value := amountOf(e.pool(1).GetTotalShares()), e.balance(PoolAccount(1)).Total()
	e.mustExec(e.ferdie, &computev1.MsgContribute{PoolId: 1, Amount: toks(50).String()})
	want := toks(50).MulDivSat(total, value)
	if got := sharesOf(e.ctx.Store, e.ferdie, 1); got.Cmp(want) != 0 || got.Cmp(toks(50)) <= 0 {
		t.Fatalf("ferdie's shares %s, want %s (> 50 tokens' worth at a price below 1)", got, want)
	}
}

// TestWithdrawQueue: what the free balance covers is paid at once, the
// rest waits and is paid when the stake comes back.
func TestWithdrawQueue(t *testing.T) {
	p := testParams()
	e := newEnv(t, p, longValidity)
	e.mustExec(e.alice, &computev1.MsgCreatePool{CommissionPpm: 0})
	w := e.ready(e.alice, 1000)
	e.mustExec(e.alice, &computev1.MsgAddWorker{PoolId: 1, Worker: w.ident()})
	e.mustExec(e.bob, &computev1.MsgContribute{PoolId: 1, Amount: toks(100).String()})
	e.mustExec(e.alice, &computev1.MsgStartComputing{Worker: w.ident(), Stake: toks(80).String()})
	bob := e.balance(e.bob).Free
	e.mustExec(e.bob, &computev1.MsgWithdraw{PoolId: 1, Shares: toks(50).String()})
	// 20 free: 20 paid at once, 30 shares queued.
	if got := e.balance(e.bob).Free.SubSat(bob); got.Cmp(toks(20)) != 0 {
		t.Fatalf("paid %s at once", got)
	}
	q := e.pool(1).GetWithdrawQueue()
	if len(q) != 1 || q[0].GetShares() != toks(30).String() || len(e.eventsOf("withdraw_queued")) != 1 {
		t.Fatalf("queue %v", q)
	}
	if sharesOf(e.ctx.Store, e.bob, 1).Cmp(toks(50)) != 0 {
		t.Fatalf("bob holds %s", sharesOf(e.ctx.Store, e.bob, 1))
	}
	e.mustFail("queued shares are not withdrawable twice", e.bob, &computev1.MsgWithdraw{PoolId: 1, Shares: toks(50).AddSat(types.NewAmount(1)).String()}, CodeInsufficientShares)
	// Rewards flow into the pool and pay part of the queue (block by block).
	e.blocks(3)
	e.mustExec(e.alice, &computev1.MsgStopComputing{Worker: w.ident()})
	e.block() // the settled rewards pay the queue head partly
	if len(e.pool(1).GetWithdrawQueue()) != 1 {
		t.Fatal("queue emptied by rewards alone")
	}
	e.blocks(int(p.CooldownBlocks))
	e.mustExec(e.alice, &computev1.MsgReclaim{Worker: w.ident()})
	e.block()
	if q := e.pool(1).GetWithdrawQueue(); len(q) != 0 {
		t.Fatalf("queue %v after the reclaim", q)
	}
	// Bob got his 50 shares' worth: 50 tokens plus his part of rewards.
	if got := e.balance(e.bob).Free.SubSat(bob); got.Cmp(toks(50)) <= 0 {
		t.Fatalf("bob received %s for 50 of 100 shares", got)
	}
	// Everyone out: the pool is empty of shares.
	e.mustExec(e.bob, &computev1.MsgWithdraw{PoolId: 1, Shares: toks(50).String()})
	if pl := e.pool(1); pl.GetTotalShares() != "0" || len(pl.GetWithdrawQueue()) != 0 {
		t.Fatalf("pool %v", pl)
	}
	if b := e.balance(PoolAccount(1)); b.Total().Cmp(types.NewAmount(2)) > 0 {
		t.Fatalf("pool keeps %+v with no shares", b)
	}
}

// TestGraceForcedStop: a queue head older than withdraw_grace_blocks stops
// the pool's workers; they are reclaimed automatically after the cool-down
// and the queue is paid.
func TestGraceForcedStop(t *testing.T) {
	p := testParams()
	p.RewardPerBlock = types.Amount{} // rewards would refill the queue
	p.WithdrawGraceBlocks = 20
	e := newEnv(t, p, longValidity)
	e.mustExec(e.alice, &computev1.MsgCreatePool{CommissionPpm: 0})
	ws := []*worker{e.ready(e.alice, 1000), e.ready(e.alice, 1000)}
	for _, w := range ws {
		e.mustExec(e.alice, &computev1.MsgAddWorker{PoolId: 1, Worker: w.ident()})
	}
	e.mustExec(e.bob, &computev1.MsgContribute{PoolId: 1, Amount: toks(200).String()})
	for _, w := range ws {
		e.mustExec(e.alice, &computev1.MsgStartComputing{Worker: w.ident(), Stake: toks(100).String()})
	}
	bob := e.balance(e.bob).Free
	e.mustExec(e.bob, &computev1.MsgWithdraw{PoolId: 1, Shares: toks(150).String()})
	requested := e.ctx.Height
	e.mustFail("reclaim while computing", e.alice, &computev1.MsgReclaim{Worker: ws[0].ident()}, CodeNotCoolingDown)
	for e.ctx.Height < requested+int64(p.WithdrawGraceBlocks) {
		e.block()
		if e.state(ws[0]) != computev1.WorkerState_WORKER_STATE_COMPUTING {
			t.Fatalf("stopped at %d, before the grace period", e.ctx.Height)
		}
	}
	e.block()
	for _, w := range ws {
		r := e.rec(w)
		if r.GetState() != computev1.WorkerState_WORKER_STATE_COOLING_DOWN || !r.GetForcedStop() {
			t.Fatalf("after grace: %v", r)
		}
	}
	if len(e.hooked) != 2 {
		t.Fatalf("hook called %d times", len(e.hooked))
	}
	e.mustFail("no restart with a queue", e.alice, &computev1.MsgStartComputing{Worker: ws[0].ident(), Stake: "1"}, CodeNotReady)
	e.blocks(int(p.CooldownBlocks) + 1)
	for _, w := range ws {
		if e.state(w) != computev1.WorkerState_WORKER_STATE_READY {
			t.Fatalf("not reclaimed automatically: %v", e.rec(w))
		}
	}
	if len(e.pool(1).GetWithdrawQueue()) != 0 {
		t.Fatal("queue not served after the automatic reclaim")
	}
	if got := e.balance(e.bob).Free.SubSat(bob); got.Cmp(toks(150)) != 0 {
		t.Fatalf("bob received %s for 150 shares at price 1", got)
	}
	// With the queue empty the owner can start again.
	e.mustExec(e.alice, &computev1.MsgStartComputing{Worker: ws[0].ident(), Stake: toks(40).String()})
	if e.rec(ws[0]).GetForcedStop() {
		t.Fatal("forced_stop kept after restart")
	}
}

// TestStartBlockedByQueue: a pool worker cannot start while the pool's
// queue is not empty.
func TestStartBlockedByQueue(t *testing.T) {
	e := newEnv(t, testParams(), longValidity)
	e.mustExec(e.alice, &computev1.MsgCreatePool{CommissionPpm: 0})
	w1, w2 := e.ready(e.alice, 1000), e.ready(e.alice, 1000)
	e.mustExec(e.alice, &computev1.MsgAddWorker{PoolId: 1, Worker: w1.ident()})
	e.mustExec(e.alice, &computev1.MsgAddWorker{PoolId: 1, Worker: w2.ident()})
	e.mustExec(e.bob, &computev1.MsgContribute{PoolId: 1, Amount: toks(100).String()})
	e.mustExec(e.alice, &computev1.MsgStartComputing{Worker: w1.ident(), Stake: toks(100).String()})
	e.mustExec(e.bob, &computev1.MsgWithdraw{PoolId: 1, Shares: toks(10).String()})
	e.mustExec(e.dave, &computev1.MsgContribute{PoolId: 1, Amount: toks(5).String()}) // pays part of the queue
	if len(e.pool(1).GetWithdrawQueue()) != 1 {
		t.Fatal("queue should still wait")
	}
	e.mustExec(e.dave, &computev1.MsgContribute{PoolId: 1, Amount: toks(50).String()})
	if len(e.pool(1).GetWithdrawQueue()) != 0 {
		t.Fatal("contribution did not serve the queue")
	}
	e.mustExec(e.bob, &computev1.MsgWithdraw{PoolId: 1, Shares: toks(80).String()}) // 45 free: queued again
	e.mustFail("start with a queue", e.alice, &computev1.MsgStartComputing{Worker: w2.ident(), Stake: toks(31).String()}, CodeWithdrawPending)
}
