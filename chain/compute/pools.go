package compute

import (
	"bytes"
	"encoding/binary"
	"strconv"

	"github.com/veil-network/veil/chain/types"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
)

// Stake pools (Phala's stake_pool_v2). A pool's account holds its value:
// free balance (contributions, rewards, released stakes) plus reserved
// balance (its workers' stakes). Contributors hold shares; a share is
// worth pool value / total shares, so rewards raise the price and slashes
// lower it without touching any contributor's record.

func queuedKey(id uint64) []byte { return key(prefixQueued, u64(id)) }

func sharesOf(s types.KVStore, account types.AccountID, id uint64) types.Amount {
	v := s.Get(SharesKey(account, id))
	if v == nil {
		return types.Amount{}
	}
	a, err := types.AmountFromBytes(v)
	if err != nil {
		panic(&types.StoreFailure{Err: err})
	}
	return a
}

func setShares(s types.KVStore, account types.AccountID, id uint64, a types.Amount) {
	if a.IsZero() {
		s.Delete(SharesKey(account, id))
		return
	}
	s.Set(SharesKey(account, id), a.Bytes())
}

// poolFunds is the pool account's free balance and its value (free +
// reserved).
func (m *Module) poolFunds(s types.KVStore, id uint64) (free, value types.Amount) {
	b := m.bank.Get(s, PoolAccount(id))
	return b.Free, b.Total()
}

func poolArg(s types.KVStore, id uint64) (*computev1.Pool, error) {
	p := Pool(s, id)
	if p == nil {
		return nil, errf(CodePoolNotFound, "no pool %d", id)
	}
	return p, nil
}

func (m *Module) createPool(ctx *types.Context, sender types.AccountID, msg *computev1.MsgCreatePool) error {
	if c := msg.GetCommissionPpm(); c > PPM {
		return errf(CodeInvalidCommission, "commission %d ppm is above %d (100%%)", c, PPM)
	}
	id := max(types.GetUint64(ctx.Store, keyNextPool), 1)
	types.SetUint64(ctx.Store, keyNextPool, id+1)
	account := PoolAccount(id)
	putPool(ctx.Store, &computev1.Pool{Id: id, Owner: sender[:], CommissionPpm: msg.GetCommissionPpm(), Account: account[:],
		TotalShares: "0", CreatedAt: ctx.Height, CommissionTotal: "0"})
	if ctx.Emitting() {
		ctx.Emit("pool_created", types.Attr{Key: "pool_id", Value: strconv.FormatUint(id, 10)},
			types.Attr{Key: "owner", Value: ctx.Address(sender)}, types.Attr{Key: "account", Value: ctx.Address(account)},
			types.Attr{Key: "commission_ppm", Value: strconv.FormatUint(uint64(msg.GetCommissionPpm()), 10)})
	}
	return nil
}

func (m *Module) addWorker(ctx *types.Context, sender types.AccountID, msg *computev1.MsgAddWorker) error {
	pool, err := poolArg(ctx.Store, msg.GetPoolId())
	if err != nil {
		return err
	}
	if !bytes.Equal(pool.GetOwner(), sender[:]) {
		return errf(CodeNotPoolOwner, "pool %d is owned by %s", pool.GetId(), ctx.Address(types.AccountID(pool.GetOwner())))
	}
	w, err := workerArg(ctx.Store, msg.GetWorker())
	if err != nil {
		return err
	}
	if !bytes.Equal(w.GetOperator(), sender[:]) {
		return errf(CodeNotOperator, "worker %s is operated by %s", types.HexID(w.GetIdentity()), ctx.Address(types.AccountID(w.GetOperator())))
	}
	if w.GetPoolId() != 0 {
		return errf(CodeWorkerInPool, "worker %s belongs to pool %d", types.HexID(w.GetIdentity()), w.GetPoolId())
	}
	if w.GetState() != computev1.WorkerState_WORKER_STATE_READY {
		return errf(CodeNotReady, "worker %s is %s, only a ready worker joins a pool", types.HexID(w.GetIdentity()), stateName(w.GetState()))
	}
	if max := m.Params(ctx.Store).MaxPoolWorkers; uint32(len(pool.GetWorkers())) >= max {
		return errf(CodePoolFull, "pool %d has %d workers, the maximum", pool.GetId(), max)
	}
	w.PoolId = pool.GetId()
	pool.Workers = append(pool.Workers, w.GetIdentity())
	putWorker(ctx.Store, w)
	putPool(ctx.Store, pool)
	if ctx.Emitting() {
		ctx.Emit("pool_worker_added", types.Attr{Key: "pool_id", Value: strconv.FormatUint(pool.GetId(), 10)},
			types.Attr{Key: "worker", Value: types.HexID(w.GetIdentity())})
	}
	return nil
}

func (m *Module) contribute(ctx *types.Context, sender types.AccountID, msg *computev1.MsgContribute) error {
	amount, err := types.ParseAmount(msg.GetAmount())
	if err != nil {
		return types.Errf(types.CodeInvalidAmount, "amount: %v", err)
	}
	if amount.IsZero() {
		return types.Errf(types.CodeInvalidAmount, "amount must be positive")
	}
	pool, err := poolArg(ctx.Store, msg.GetPoolId())
	if err != nil {
		return err
	}
	id := pool.GetId()
	total := amountOf(pool.GetTotalShares())
	_, value := m.poolFunds(ctx.Store, id)
	shares := amount
	if !total.IsZero() {
		if value.IsZero() {
			return errf(CodePoolInsolvent, "pool %d has %s shares and no value left", id, total)
		}
		var ok bool
		if shares, ok = amount.MulDiv(total, value); !ok {
			return types.Errf(types.CodeOverflow, "shares for %s overflow", amount)
		}
		if shares.IsZero() {
			return errf(CodeContributionTooSmall, "%s buys no share of pool %d at %s per share", amount, id, priceString(value, total))
		}
	}
	newTotal, ok := total.Add(shares)
	if !ok {
		return types.Errf(types.CodeOverflow, "pool %d total shares overflow", id)
	}
	// A user transfer: the contributor keeps the existential deposit (or
	// sends everything), the pool account ends above it.
	if err := m.bank.Transfer(ctx, sender, PoolAccount(id), amount); err != nil {
		return err
	}
	setShares(ctx.Store, sender, id, sharesOf(ctx.Store, sender, id).AddSat(shares))
	pool.TotalShares = newTotal.String()
	if ctx.Emitting() {
		ctx.Emit("contributed", types.Attr{Key: "pool_id", Value: strconv.FormatUint(id, 10)},
			types.Attr{Key: "account", Value: ctx.Address(sender)}, types.Attr{Key: "amount", Value: amount.String()},
			types.Attr{Key: "shares", Value: shares.String()})
	}
	// New free funds serve waiting withdrawals first (serveQueue writes
	// the pool).
	m.serveQueue(ctx, pool)
	return nil
}

func (m *Module) withdraw(ctx *types.Context, sender types.AccountID, msg *computev1.MsgWithdraw) error {
	shares, err := types.ParseAmount(msg.GetShares())
	if err != nil {
		return types.Errf(types.CodeInvalidAmount, "shares: %v", err)
	}
	if shares.IsZero() {
		return types.Errf(types.CodeInvalidAmount, "shares must be positive")
	}
	pool, err := poolArg(ctx.Store, msg.GetPoolId())
	if err != nil {
		return err
	}
	id := pool.GetId()
	held := sharesOf(ctx.Store, sender, id)
	if held.Cmp(shares) < 0 {
		return errf(CodeInsufficientShares, "%s holds %s shares of pool %d (queued shares excluded), not %s", ctx.Address(sender), held, id, shares)
	}
	var entry *computev1.WithdrawRequest
	for _, r := range pool.GetWithdrawQueue() {
		if bytes.Equal(r.GetAccount(), sender[:]) {
			entry = r
		}
	}
	if entry == nil {
		if len(pool.GetWithdrawQueue()) >= MaxWithdrawQueue {
			return errf(CodeWithdrawQueueFull, "pool %d has %d accounts waiting to withdraw", id, MaxWithdrawQueue)
		}
		// A new request queues behind earlier ones (first come, first
		// served); an account's later request joins its earlier one.
		entry = &computev1.WithdrawRequest{Account: sender[:], Shares: "0", RequestedAt: ctx.Height}
		pool.WithdrawQueue = append(pool.WithdrawQueue, entry)
	}
	entry.Shares = amountOf(entry.GetShares()).AddSat(shares).String()
	setShares(ctx.Store, sender, id, held.SubSat(shares))
	m.serveQueue(ctx, pool)
	if ctx.Emitting() {
		for _, r := range pool.GetWithdrawQueue() {
			if bytes.Equal(r.GetAccount(), sender[:]) {
				ctx.Emit("withdraw_queued", types.Attr{Key: "pool_id", Value: strconv.FormatUint(id, 10)},
					types.Attr{Key: "account", Value: ctx.Address(sender)}, types.Attr{Key: "shares", Value: r.GetShares()},
					types.Attr{Key: "requested_at", Value: strconv.FormatInt(r.GetRequestedAt(), 10)})
			}
		}
	}
	return nil
}

// serveQueue pays pool's withdraw queue from its free balance, head
// first: a request the free balance covers is paid in full (its shares
// burned at the current price); otherwise the shares the free balance can
// buy back are burned and paid and the rest waits. Payments round down, so
// what remains in the pool never falls below what the remaining shares
// are worth. It writes pool (and its queued marker), so callers that
// changed it need not.
func (m *Module) serveQueue(ctx *types.Context, pool *computev1.Pool) {
	id := pool.GetId()
	account := PoolAccount(id)
	total := amountOf(pool.GetTotalShares())
	served := 0
	for served < len(pool.GetWithdrawQueue()) {
		r := pool.GetWithdrawQueue()[served]
		want := amountOf(r.GetShares())
		free, value := m.poolFunds(ctx.Store, id)
		burn, pay := want, want.MulDivSat(value, total)
		if pay.Cmp(free) > 0 {
			burn = free.MulDivSat(total, value)
			pay = burn.MulDivSat(value, total)
		}
		if burn.IsZero() {
			break
		}
		if !pay.IsZero() {
			m.mustMove(ctx, account, types.AccountID(r.GetAccount()), pay)
		}
		total = total.SubSat(burn)
		left := want.SubSat(burn)
		r.Shares = left.String()
		if ctx.Emitting() {
			ctx.Emit("withdrawn", types.Attr{Key: "pool_id", Value: strconv.FormatUint(id, 10)},
				types.Attr{Key: "account", Value: ctx.Address(types.AccountID(r.GetAccount()))},
				types.Attr{Key: "shares", Value: burn.String()}, types.Attr{Key: "amount", Value: pay.String()},
				types.Attr{Key: "remaining_shares", Value: left.String()})
		}
		if !left.IsZero() {
			break
		}
		served++
	}
	pool.WithdrawQueue = pool.WithdrawQueue[served:]
	pool.TotalShares = total.String()
	putPool(ctx.Store, pool)
	if len(pool.WithdrawQueue) == 0 {
		ctx.Store.Delete(queuedKey(id))
	} else {
		ctx.Store.Set(queuedKey(id), []byte{})
	}
}

// autoReclaim releases the stakes of force-stopped workers whose cool-down
// ended, oldest first, at most MaxReclaimsPerBlock; the released funds
// land in the pool's free balance for its withdraw queue.
func (m *Module) autoReclaim(ctx *types.Context, g *globals) error {
	for _, d := range dueAt(ctx.Store, prefixReclaim, ctx.Height, MaxReclaimsPerBlock) {
		ctx.Store.Delete(d.key)
		w := Worker(ctx.Store, d.id)
		if w == nil || w.GetState() != computev1.WorkerState_WORKER_STATE_COOLING_DOWN || !w.GetForcedStop() || w.GetCooldownEndsAt() != d.h {
			continue
		}
		if err := m.reclaimWorker(ctx, g, w); err != nil {
			return err
		}
	}
	return nil
}

// serveQueues serves the withdraw queues of up to MaxQueuedPoolsPerBlock
// pools, round robin from the pool after the last one served, and stops
// the workers of a pool whose oldest waiting request is older than
// withdraw_grace_blocks: their stakes return to the pool when their
// cool-down ends (autoReclaim) and pay the queue.
func (m *Module) serveQueues(ctx *types.Context, p Params, g *globals) {
	cursor := types.GetUint64(ctx.Store, keyQueueCursor)
	var after, wrapped []uint64
	ctx.Store.Iterate(prefixQueued, func(k, _ []byte) bool {
		if len(k) != len(prefixQueued)+8 {
			return true
		}
		id := binary.BigEndian.Uint64(k[len(prefixQueued):])
		if id > cursor {
			after = append(after, id)
		} else if len(wrapped) < MaxQueuedPoolsPerBlock {
			wrapped = append(wrapped, id)
		}
		return len(after) < MaxQueuedPoolsPerBlock
	})
	ids := append(after, wrapped...)
	if len(ids) > MaxQueuedPoolsPerBlock {
		ids = ids[:MaxQueuedPoolsPerBlock]
	}
	for _, id := range ids {
		pool := Pool(ctx.Store, id)
		if pool == nil {
			continue
		}
		m.serveQueue(ctx, pool)
		q := pool.GetWithdrawQueue()
		if len(q) == 0 || ctx.Height-q[0].GetRequestedAt() < int64(p.WithdrawGraceBlocks) {
			continue
		}
		for _, wid := range pool.GetWorkers() {
			if w := Worker(ctx.Store, wid); w != nil && isActive(w.GetState()) {
				m.stopWorker(ctx, p, g, w, true)
			}
		}
	}
	if len(ids) > 0 {
		types.SetUint64(ctx.Store, keyQueueCursor, ids[len(ids)-1])
	}
}

// priceString renders value/shares with 12 decimals, rounded down ("1"
// for a pool without shares: the first contribution buys 1:1).
func priceString(value, shares types.Amount) string {
	if shares.IsZero() {
		return "1.000000000000"
	}
	const scale = 1_000_000_000_000
	q := value.MulDivSat(types.NewAmount(scale), shares)
	whole, frac := q.DivMod64(scale)
	f := strconv.FormatUint(frac, 10)
	for len(f) < 12 {
		f = "0" + f
	}
	return whole.String() + "." + f
}
