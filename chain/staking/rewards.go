package staking

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/veil-network/veil/chain/types"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
)

// notePoints credits the era points of this block: points_per_block to the
// proposer and points_per_signature to every validator whose signature is
// in the block's last commit. Only validators elected for the current era
// earn points (in the two blocks after an era change CometBFT still runs
// the previous set; a departing validator's points there are dropped).
func (m *Module) notePoints(ctx *types.Context, p Params, era uint64) {
	s := ctx.Store
	add := func(addr []byte, n uint32) {
		if n == 0 {
			return
		}
		stash, ok := AddrOwner(s, addr)
		if !ok || !s.Has(eraKey(era, "overview", &stash)) {
			return
		}
		k := eraKey(era, "points", &stash)
		cur := uint64(getU32(s, k)) + uint64(n)
		setU32(s, k, uint32(min(cur, math.MaxUint32)))
	}
	add(ctx.Block.Proposer, p.PointsPerBlock)
	for _, v := range ctx.Block.Votes {
		if v.Signed {
			add(v.Address, p.PointsPerSignature)
		}
	}
}

// processPayouts pays at most payouts_per_block stakers of ended eras,
// oldest era first. Each queue entry is a validator of an era with the
// index of the next staker to pay: 0 is the validator itself, i > 0 its
// i-th nominator.
func (m *Module) processPayouts(ctx *types.Context, p Params) {
	s := ctx.Store
	budget := int(p.PayoutsPerBlock)
	type item struct {
		k     []byte
		era   uint64
		stash types.AccountID
		next  uint32
	}
	var items []item
	s.Iterate(prefixPayQueue, func(k, v []byte) bool {
		rest := k[len(prefixPayQueue):]
		if len(rest) != 40 || len(v) != 4 {
			failf("malformed payout queue entry %q", k)
		}
		items = append(items, item{k: append([]byte(nil), k...), era: binary.BigEndian.Uint64(rest[:8]), stash: accountOf(rest[8:]), next: binary.BigEndian.Uint32(v)})
		return len(items) < budget
	})
	// Queue entries are in era order: read and decode each era's info
	// once, not once per validator.
	var ei *eraPayoutInfo
	for _, it := range items {
		if budget <= 0 {
			break
		}
		if ei == nil || ei.era != it.era {
			ei = loadEraPayout(s, it.era)
		}
		next, done := m.payValidator(ctx, ei, it.stash, it.next, &budget)
		if done {
			s.Delete(it.k)
		} else {
			setU32(s, it.k, next)
		}
	}
}

// Reward is how one era's payout of a validator splits.
type Reward struct {
	// Validator is the validator's era payout: era payout × its points /
	// all points (rounded down).
	Validator types.Amount
	// Commission is ⌊commission × Validator⌋, paid to the validator first.
	Commission types.Amount
	// Own is commission + ⌊(Validator − Commission) × own / total⌋.
	Own types.Amount
}

// splitReward computes a validator's reward and the share of a stake of
// value within its exposure total: ⌊(reward − commission) × value / total⌋.
func splitReward(payout types.Amount, points, totalPoints uint32, commission Perbill, own, total types.Amount) (Reward, types.Amount) {
	v := payout.MulDivSat(types.NewAmount(uint64(points)), types.NewAmount(uint64(totalPoints)))
	c := commission.MulFloor(v)
	left := v.SubSat(c)
	return Reward{Validator: v, Commission: c, Own: c.AddSat(left.MulDivSat(own, total))}, left
}

// eraPayoutInfo is what paying any validator of an ended era needs from
// its EraInfo; ok is false when the era has no info or no points.
type eraPayoutInfo struct {
	era         uint64
	ok          bool
	payout      types.Amount
	totalPoints uint32
}

func loadEraPayout(s types.KVStore, era uint64) *eraPayoutInfo {
	ei := &eraPayoutInfo{era: era}
	info, ok := eraInfo(s, era)
	if !ok || info.GetTotalPoints() == 0 {
		return ei
	}
	ei.ok, ei.payout, ei.totalPoints = true, parseStored(info.GetPayout(), "era payout"), info.GetTotalPoints()
	return ei
}

func (m *Module) payValidator(ctx *types.Context, ei *eraPayoutInfo, stash types.AccountID, next uint32, budget *int) (uint32, bool) {
	s := ctx.Store
	era := ei.era
	if !ei.ok {
		return 0, true
	}
	ov, ok := overview(s, era, stash)
	if !ok {
		return 0, true
	}
	total := parseStored(ov.GetTotal(), "exposure total")
	r, left := splitReward(ei.payout, getU32(s, eraKey(era, "points", &stash)),
		ei.totalPoints, Perbill(ov.GetCommission()), parseStored(ov.GetOwn(), "exposure own"), total)
	var oth []*stakingv1.IndividualExposure
	if ov.GetNominatorCount() > 0 {
		oth = others(s, era, stash)
	}
	for int(next) <= len(oth) && *budget > 0 {
		if next == 0 {
			m.pay(ctx, era, stash, r.Own)
		} else {
			o := oth[next-1]
			m.pay(ctx, era, accountOf(o.GetWho()), left.MulDivSat(parseStored(o.GetValue(), "exposure value"), total))
		}
		next++
		*budget--
	}
	return next, int(next) > len(oth)
}

// pay mints a reward to the staker's payee: re-staked (minted to the stash
// and bonded), the stash's free balance, or another account. A staker
// without a ledger any more (fully withdrawn) is paid to its stash.
func (m *Module) pay(ctx *types.Context, era uint64, who types.AccountID, amt types.Amount) {
	if amt.IsZero() {
		return
	}
	s := ctx.Store
	l, bonded := m.ledger(s, who)
	dest, restake := who, false
	if bonded {
		switch l.Payee.Kind {
		case stakingv1.PayeeKind_PAYEE_KIND_STAKED:
			restake = true
		case stakingv1.PayeeKind_PAYEE_KIND_ACCOUNT:
			dest = l.Payee.Account
		}
	}
	if err := m.bank.Mint(ctx, dest, amt); err != nil {
		ctx.Emit("payout_failed", types.Attr{Key: "stash", Value: ctx.Address(who)}, types.Attr{Key: "error", Value: err.Error()})
		return
	}
	if restake {
		if l.bondMore(amt) && m.bank.Reserve(ctx, who, amt) == nil {
			m.setLedger(s, who, l)
		} else {
			restake = false
		}
	}
	if !ctx.Emitting() {
		return
	}
	to := "free"
	if restake {
		to = "staked"
	}
	ctx.Emit("reward",
		types.Attr{Key: "stash", Value: ctx.Address(who)},
		types.Attr{Key: "account", Value: ctx.Address(dest)},
		types.Attr{Key: "era", Value: strconv.FormatUint(era, 10)},
		types.Attr{Key: "amount", Value: amt.String()},
		types.Attr{Key: "destination", Value: to})
}
