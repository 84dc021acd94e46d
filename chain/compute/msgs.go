package compute

import (
	"bytes"
	"strconv"

	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
)

// authorize checks that sender controls w: its pool's owner for a pool
// worker (who is also its operator, AddWorker requires it), else its
// operator.
func authorize(ctx *types.Context, sender types.AccountID, w *computev1.ComputeWorker) error {
	if id := w.GetPoolId(); id != 0 {
		p := Pool(ctx.Store, id)
		if p == nil {
			return types.Errf(types.CodeInternal, "worker %s names missing pool %d", types.HexID(w.GetIdentity()), id)
		}
		if !bytes.Equal(p.GetOwner(), sender[:]) {
			return errf(CodeNotPoolOwner, "worker %s belongs to pool %d, owned by %s", types.HexID(w.GetIdentity()), id, ctx.Address(types.AccountID(p.GetOwner())))
		}
		return nil
	}
	if !bytes.Equal(w.GetOperator(), sender[:]) {
		return errf(CodeNotOperator, "worker %s is operated by %s", types.HexID(w.GetIdentity()), ctx.Address(types.AccountID(w.GetOperator())))
	}
	return nil
}

// bind creates the compute record of a registered worker for its
// registered operator. The registration already proved the identity's
// consent to that operator, so binding needs no signature of its own.
func (m *Module) bind(ctx *types.Context, sender types.AccountID, msg *computev1.MsgBind) error {
	id := msg.GetWorker()
	if len(id) != 32 {
		return types.Errf(types.CodeInvalidRequest, "worker identity has %d bytes, want 32", len(id))
	}
	rec := registry.Worker(ctx.Store, id)
	if rec == nil {
		return errf(CodeWorkerNotRegistered, "worker %s is not registered", types.HexID(id))
	}
	if !bytes.Equal(rec.GetOperator(), sender[:]) {
		return errf(CodeNotOperator, "worker %s is registered to operator %s", types.HexID(id), ctx.Address(types.AccountID(rec.GetOperator())))
	}
	if registry.IsStale(rec, ctx.Height) {
		return errf(CodeWorkerStale, "worker %s is stale since height %d: re-attest first", types.HexID(id), rec.GetExpiresAt())
	}
	if ctx.Store.Has(WorkerKey(id)) {
		return errf(CodeAlreadyBound, "worker %s is bound already", types.HexID(id))
	}
	score, at := Score(ctx.Store, id)
	w := &computev1.ComputeWorker{
		Identity: bytes.Clone(id), Operator: sender[:], State: computev1.WorkerState_WORKER_STATE_READY,
		Stake: "0", Score: score, ScoreReportedAt: at, RewardDebt: "0", RewardsTotal: "0", SlashedTotal: "0",
		BoundAt: ctx.Height,
	}
	putWorker(ctx.Store, w)
	if ctx.Emitting() {
		ctx.Emit("bound", types.Attr{Key: "worker", Value: types.HexID(id)}, types.Attr{Key: "operator", Value: ctx.Address(sender)},
			types.Attr{Key: "score", Value: strconv.FormatUint(score, 10)})
	}
	return nil
}

func (m *Module) startComputing(ctx *types.Context, sender types.AccountID, msg *computev1.MsgStartComputing) error {
	stake, err := types.ParseAmount(msg.GetStake())
	if err != nil {
		return types.Errf(types.CodeInvalidAmount, "stake: %v", err)
	}
	if stake.IsZero() {
		return types.Errf(types.CodeInvalidAmount, "stake must be positive")
	}
	w, err := workerArg(ctx.Store, msg.GetWorker())
	if err != nil {
		return err
	}
	if err := authorize(ctx, sender, w); err != nil {
		return err
	}
	if w.GetState() != computev1.WorkerState_WORKER_STATE_READY {
		return errf(CodeNotReady, "worker %s is %s, start needs ready", types.HexID(w.GetIdentity()), stateName(w.GetState()))
	}
	rec := registry.Worker(ctx.Store, w.GetIdentity())
	if rec == nil {
		return errf(CodeWorkerNotRegistered, "worker %s is no longer registered", types.HexID(w.GetIdentity()))
	}
	if registry.IsStale(rec, ctx.Height) {
		return errf(CodeWorkerStale, "worker %s is stale since height %d: re-attest first", types.HexID(w.GetIdentity()), rec.GetExpiresAt())
	}
	if w.GetScore() == 0 {
		return errf(CodeNoScore, "worker %s has not reported a benchmark score yet", types.HexID(w.GetIdentity()))
	}
	p := m.Params(ctx.Store)
	min, ok := MinStake(p.MinStakeK, w.GetScore())
	if !ok || stake.Cmp(min) < 0 {
		minText := min.String()
		if !ok {
			minText = "more than u128::MAX"
		}
		return errf(CodeStakeBelowMinimum, "stake %s is below the minimum %s for score %d (min_stake_k %s × isqrt(P) %d)",
			stake, minText, w.GetScore(), p.MinStakeK, isqrt64(w.GetScore()))
	}
	if id := w.GetPoolId(); id != 0 {
		if pool := Pool(ctx.Store, id); len(pool.GetWithdrawQueue()) > 0 {
			return errf(CodeWithdrawPending, "pool %d has %d queued withdrawals: its free funds are owed to them", id, len(pool.GetWithdrawQueue()))
		}
	}
	account := stakeAccount(w)
	if err := m.bank.Reserve(ctx, account, stake); err != nil {
		return err
	}
	g := loadGlobals(ctx.Store)
	g.TotalStake = g.TotalStake.AddSat(stake)
	w.Stake = stake.String()
	w.Value = initialValue(stake, p.TokenUnit, p.ValueCap)
	w.State = computev1.WorkerState_WORKER_STATE_COMPUTING
	w.ComputingSince, w.CooldownEndsAt, w.ForcedStop, w.Challenge = ctx.Height, 0, false, nil
	w.Share, w.RewardDebt = 0, g.Acc.String()
	m.rebalance(ctx, p, &g, w)
	activeAdd(ctx.Store, &g, w.GetIdentity())
	ctx.Store.Set(computingKey(w.GetIdentity()), stake.Bytes())
	g.Computing++
	putWorker(ctx.Store, w)
	saveGlobals(ctx.Store, g)
	if ctx.Emitting() {
		ctx.Emit("computing_started", types.Attr{Key: "worker", Value: types.HexID(w.GetIdentity())},
			types.Attr{Key: "stake", Value: stake.String()}, types.Attr{Key: "account", Value: ctx.Address(account)},
			types.Attr{Key: "value", Value: strconv.FormatUint(w.GetValue(), 10)},
			types.Attr{Key: "share", Value: strconv.FormatUint(w.GetShare(), 10)},
			types.Attr{Key: "pool_id", Value: strconv.FormatUint(w.GetPoolId(), 10)})
	}
	return nil
}

func (m *Module) stopComputing(ctx *types.Context, sender types.AccountID, msg *computev1.MsgStopComputing) error {
	w, err := workerArg(ctx.Store, msg.GetWorker())
	if err != nil {
		return err
	}
	if err := authorize(ctx, sender, w); err != nil {
		return err
	}
	if !isActive(w.GetState()) {
		return errf(CodeNotComputing, "worker %s is %s, stop needs computing or unresponsive", types.HexID(w.GetIdentity()), stateName(w.GetState()))
	}
	p := m.Params(ctx.Store)
	g := loadGlobals(ctx.Store)
	m.stopWorker(ctx, p, &g, w, false)
	saveGlobals(ctx.Store, g)
	return nil
}

func (m *Module) reclaim(ctx *types.Context, sender types.AccountID, msg *computev1.MsgReclaim) error {
	w, err := workerArg(ctx.Store, msg.GetWorker())
	if err != nil {
		return err
	}
	if err := authorize(ctx, sender, w); err != nil {
		return err
	}
	if w.GetState() != computev1.WorkerState_WORKER_STATE_COOLING_DOWN {
		return errf(CodeNotCoolingDown, "worker %s is %s, reclaim needs cooling down", types.HexID(w.GetIdentity()), stateName(w.GetState()))
	}
	if ctx.Height < w.GetCooldownEndsAt() {
		return errf(CodeCooldownNotOver, "worker %s cools down until height %d (now %d)", types.HexID(w.GetIdentity()), w.GetCooldownEndsAt(), ctx.Height)
	}
	g := loadGlobals(ctx.Store)
	if err := m.reclaimWorker(ctx, &g, w); err != nil {
		return err
	}
	saveGlobals(ctx.Store, g)
	return nil
}

// stopWorker moves an active worker to CoolingDown: rewards settled, share
// 0, out of the active set, open challenge dropped. forced marks a stop
// the pool's withdraw queue imposed; such workers are reclaimed
// automatically when their cool-down ends.
func (m *Module) stopWorker(ctx *types.Context, p Params, g *globals, w *computev1.ComputeWorker, forced bool) {
	id := w.GetIdentity()
	wasComputing := w.GetState() == computev1.WorkerState_WORKER_STATE_COMPUTING
	w.State = computev1.WorkerState_WORKER_STATE_COOLING_DOWN
	m.rebalance(ctx, p, g, w)
	activeRemove(ctx.Store, g, id)
	if wasComputing {
		ctx.Store.Delete(computingKey(id))
		g.Computing--
	}
	if c := w.GetChallenge(); c != nil {
		ctx.Store.Delete(deadlineKey(c.GetDeadline(), id))
		w.Challenge = nil
	}
	w.CooldownEndsAt = ctx.Height + int64(p.CooldownBlocks)
	w.ForcedStop = forced
	if forced {
		ctx.Store.Set(reclaimKey(w.CooldownEndsAt, id), []byte{})
	}
	putWorker(ctx.Store, w)
	if ctx.Emitting() {
		ctx.Emit("computing_stopped", types.Attr{Key: "worker", Value: types.HexID(id)},
			types.Attr{Key: "cooldown_ends_at", Value: strconv.FormatInt(w.CooldownEndsAt, 10)},
			types.Attr{Key: "forced", Value: strconv.FormatBool(forced)})
	}
	if wasComputing {
		m.notifyIneligible(ctx, id)
	}
}

// reclaimWorker releases a cooled-down worker's stake; it becomes Ready.
func (m *Module) reclaimWorker(ctx *types.Context, g *globals, w *computev1.ComputeWorker) error {
	stake := amountOf(w.GetStake())
	account := stakeAccount(w)
	if !stake.IsZero() {
		if err := m.bank.Unreserve(ctx, account, stake); err != nil {
			return types.Errf(types.CodeInternal, "release stake of %s: %v", types.HexID(w.GetIdentity()), err)
		}
	}
	g.TotalStake = g.TotalStake.SubSat(stake)
	if w.GetForcedStop() {
		ctx.Store.Delete(reclaimKey(w.GetCooldownEndsAt(), w.GetIdentity()))
	}
	w.Stake, w.State = "0", computev1.WorkerState_WORKER_STATE_READY
	putWorker(ctx.Store, w)
	if ctx.Emitting() {
		ctx.Emit("reclaimed", types.Attr{Key: "worker", Value: types.HexID(w.GetIdentity())},
			types.Attr{Key: "stake", Value: stake.String()}, types.Attr{Key: "account", Value: ctx.Address(account)},
			types.Attr{Key: "forced", Value: strconv.FormatBool(w.GetForcedStop())})
	}
	return nil
}

func isActive(s computev1.WorkerState) bool {
	return s == computev1.WorkerState_WORKER_STATE_COMPUTING || s == computev1.WorkerState_WORKER_STATE_UNRESPONSIVE
}

// State names in events, errors and queries (WorkerView.State).
const (
	StateReady        = "ready"
	StateComputing    = "computing"
	StateUnresponsive = "unresponsive"
	StateCoolingDown  = "cooling_down"
)

// stateName is the state's name in events, errors and queries.
func stateName(s computev1.WorkerState) string {
	switch s {
	case computev1.WorkerState_WORKER_STATE_READY:
		return StateReady
	case computev1.WorkerState_WORKER_STATE_COMPUTING:
		return StateComputing
	case computev1.WorkerState_WORKER_STATE_UNRESPONSIVE:
		return StateUnresponsive
	case computev1.WorkerState_WORKER_STATE_COOLING_DOWN:
		return StateCoolingDown
	}
	return "unspecified"
}
