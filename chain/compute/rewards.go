package compute

import (
	"math/big"
	"strconv"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
)

// Rewards follow the "reward per share" accumulator of MasterChef-style
// distributions: each block's worker part raises acc by part·SCALE/total
// share, and a worker is owed share·(acc − reward_debt)/SCALE. Settling
// (paying that and setting reward_debt = acc) is needed only when the
// worker's share changes, so a block costs O(1) however many workers
// compute.

// pendingReward is what w is owed at accumulator acc.
func pendingReward(w *computev1.ComputeWorker, acc types.Amount) types.Amount {
	if w.GetShare() == 0 {
		return types.Amount{}
	}
	diff := wrapSub(acc, amountOf(w.GetRewardDebt()))
	return types.NewAmount(w.GetShare()).MulDivSat(diff, rewardScale)
}

// rebalance settles w's rewards at its current (old) share, then sets the
// share its present state, V and P give: positive only while Computing.
// Callers change state, V or P first and call rebalance before writing w.
func (m *Module) rebalance(ctx *types.Context, p Params, g *globals, w *computev1.ComputeWorker) {
	m.settle(ctx, g, w)
	var share uint64
	if w.GetState() == computev1.WorkerState_WORKER_STATE_COMPUTING {
		var level uint32
		if rec := registry.Worker(ctx.Store, w.GetIdentity()); rec != nil {
			level = rec.GetConfidence()
		}
		share = shareOf(w.GetValue(), w.GetScore(), p.confidenceWeight(level))
	}
	g.TotalShare = g.TotalShare.SubSat(types.NewAmount(w.GetShare())).AddSat(types.NewAmount(share))
	w.Share = share
	w.RewardDebt = g.Acc.String()
}

// settle pays w's pending reward from the pot: to the operator, or for a
// pool worker the commission to the pool's owner and the rest into the
// pool account (raising its share price). The pot always covers what is
// owed (Σ pending ≤ minted − paid, since every payment rounds down); the
// payment is nevertheless capped at the pot's balance so that a bug could
// never halt a block.
func (m *Module) settle(ctx *types.Context, g *globals, w *computev1.ComputeWorker) {
	due := pendingReward(w, g.Acc)
	w.RewardDebt = g.Acc.String()
	if due.IsZero() {
		return
	}
	due = due.Min(m.bank.Get(ctx.Store, PotAccount).Free)
	if due.IsZero() {
		return
	}
	commission := types.Amount{}
	var pool *computev1.Pool
	if id := w.GetPoolId(); id != 0 {
		pool = Pool(ctx.Store, id)
	}
	if pool != nil {
		commission = ppmOf(due, pool.GetCommissionPpm())
		if !commission.IsZero() {
			m.mustMove(ctx, PotAccount, types.AccountID(pool.GetOwner()), commission)
			pool.CommissionTotal = amountOf(pool.GetCommissionTotal()).AddSat(commission).String()
			putPool(ctx.Store, pool)
		}
		if rest := due.SubSat(commission); !rest.IsZero() {
			m.mustMove(ctx, PotAccount, PoolAccount(pool.GetId()), rest)
		}
	} else {
		m.mustMove(ctx, PotAccount, types.AccountID(w.GetOperator()), due)
	}
	w.RewardsTotal = amountOf(w.GetRewardsTotal()).AddSat(due).String()
	if ctx.Emitting() {
		attrs := []types.Attr{{Key: "worker", Value: types.HexID(w.GetIdentity())}, {Key: "amount", Value: due.String()},
			{Key: "to", Value: ctx.Address(stakeAccount(w))}}
		if pool != nil {
			attrs = append(attrs, types.Attr{Key: "pool_id", Value: strconv.FormatUint(pool.GetId(), 10)},
				types.Attr{Key: "commission", Value: commission.String()},
				types.Attr{Key: "owner", Value: ctx.Address(types.AccountID(pool.GetOwner()))})
		}
		ctx.Emit("rewards_paid", attrs...)
	}
}

// mustMove moves free balance between accounts the module controls the
// amounts of; a failure (the source lacks it, an overflow) is a broken
// invariant, i.e. corrupted state, and halts the node like a store
// failure rather than letting it diverge.
func (m *Module) mustMove(ctx *types.Context, from, to types.AccountID, amount types.Amount) {
	if err := m.bank.Move(ctx, from, to, amount); err != nil {
		panic(&types.StoreFailure{Err: err})
	}
}

// distributeBlockReward mints the block's reward when some worker has a
// positive share: the treasury's cut to the treasury, the rest to the pot,
// and raises the accumulator by rest·SCALE/total share. The division's
// remainder (in reward units × SCALE) is carried into the next block, so
// no reward is lost to rounding at this step.
func (m *Module) distributeBlockReward(ctx *types.Context, p Params, g *globals) error {
	if g.TotalShare.IsZero() || p.RewardPerBlock.IsZero() {
		return nil
	}
	cut := ppmOf(p.RewardPerBlock, p.TreasuryCutPPM)
	part := p.RewardPerBlock.SubSat(cut)
	if !cut.IsZero() {
		if err := m.bank.Mint(ctx, auth.TreasuryAccount, cut); err != nil {
			return err
		}
	}
	if part.IsZero() {
		return nil
	}
	if err := m.bank.Mint(ctx, PotAccount, part); err != nil {
		return err
	}
	num := new(big.Int).Mul(part.Big(), big.NewInt(RewardScale))
	num.Add(num, g.Carry.Big())
	q, r := new(big.Int).QuoRem(num, g.TotalShare.Big(), new(big.Int))
	// q < 2^128: part ≤ 10^21 and SCALE = 10^12 (Params.Validate), carry <
	// total share; r < total share.
	step, _ := types.AmountFromBig(q)
	g.Acc = wrapAdd(g.Acc, step)
	g.Carry, _ = types.AmountFromBig(r)
	if ctx.Emitting() {
		ctx.Emit("block_reward", types.Attr{Key: "minted", Value: p.RewardPerBlock.String()},
			types.Attr{Key: "treasury", Value: cut.String()}, types.Attr{Key: "workers", Value: part.String()},
			types.Attr{Key: "total_share", Value: g.TotalShare.String()})
	}
	return nil
}
