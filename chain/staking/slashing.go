package staking

import (
	"encoding/binary"
	"strconv"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/types"
)

// SlashFraction is Polkadot's equivocation slash, min((3k/n)², 1), for k
// offenders among the n validators of the offence era, computed as one
// exact rounding-down division: ⌊10⁹·9k²/n²⌋ parts per billion.
func SlashFraction(k, n int) Perbill {
	if n <= 0 || 3*k >= n {
		return PerbillOne
	}
	num := uint64(9) * uint64(k) * uint64(k) * uint64(PerbillOne)
	return Perbill(num / (uint64(n) * uint64(n)))
}

// handleMisbehavior slashes the equivocations CometBFT reports in this
// block. The offender is identified by its consensus address (the key
// stays bound to its stash for good, so late evidence still finds it); the
// era is the one whose set signed the offending height. A new offender is
// chilled and removed from the consensus set at once; then every offender
// of that era is slashed up to the era's current fraction (a second
// offender in the same era raises the first one's fraction too, as
// Polkadot's offences do; a repeated report of the same offender changes
// nothing).
func (m *Module) handleMisbehavior(ctx *types.Context, upd map[[32]byte]int64) {
	s := ctx.Store
	for _, mb := range ctx.Block.Misbehavior {
		ignore := func(reason string) {
			ctx.Emit("offence_ignored", types.Attr{Key: "kind", Value: mb.Kind},
				types.Attr{Key: "height", Value: strconv.FormatInt(mb.Height, 10)}, types.Attr{Key: "reason", Value: reason})
		}
		if mb.Kind != types.MisbehaviorDuplicateVote && mb.Kind != types.MisbehaviorLightClientAttack {
			ignore("unknown_kind")
			continue
		}
		stash, ok := AddrOwner(s, mb.Address)
		if !ok {
			ignore("unknown_validator")
			continue
		}
		era, ok := consensusEra(s, mb.Height)
		if !ok {
			ignore("outside_history")
			continue
		}
		if !s.Has(eraKey(era, "overview", &stash)) {
			ignore("not_elected")
			continue
		}
		ok = s.Has(key(prefixOffence, u64(era), stash[:]))
		if !ok {
			setU32(s, key(prefixOffence, u64(era), stash[:]), 0)
			chilled := m.chill(s, stash)
			ctx.Emit("offence",
				types.Attr{Key: "stash", Value: ctx.Address(stash)},
				types.Attr{Key: "kind", Value: mb.Kind},
				types.Attr{Key: "era", Value: strconv.FormatUint(era, 10)},
				types.Attr{Key: "height", Value: strconv.FormatInt(mb.Height, 10)},
				types.Attr{Key: "chilled", Value: strconv.FormatBool(chilled)})
			m.removeFromActive(ctx, stash, upd)
		}
		m.applyEraSlashes(ctx, era)
	}
}

// removeFromActive takes a stash's keys out of the consensus set (power 0
// in this block's updates) unless that would leave the set empty, which
// would halt CometBFT: then the removal waits for the next election.
func (m *Module) removeFromActive(ctx *types.Context, stash types.AccountID, upd map[[32]byte]int64) {
	s := ctx.Store
	all := activeSet(s)
	var mine []activeEntry
	for _, a := range all {
		if a.stash == stash {
			mine = append(mine, a)
		}
	}
	if len(mine) == 0 {
		return
	}
	if len(all)-len(mine) < 1 {
		ctx.Emit("validator_removal_deferred", types.Attr{Key: "stash", Value: ctx.Address(stash)},
			types.Attr{Key: "reason", Value: "last_validator"})
		return
	}
	for _, a := range mine {
		s.Delete(key(prefixActive, a.pub[:]))
		upd[a.pub] = 0
	}
	ctx.Emit("validator_removed", types.Attr{Key: "stash", Value: ctx.Address(stash)})
}

// applyEraSlashes brings every offender of an era (and its nominators, by
// their exposure) up to the era's current slash fraction.
func (m *Module) applyEraSlashes(ctx *types.Context, era uint64) {
	s := ctx.Store
	type offender struct {
		stash   types.AccountID
		applied Perbill
	}
	p := key(prefixOffence, u64(era))
	var offs []offender
	s.Iterate(p, func(k, v []byte) bool {
		if len(v) != 4 {
			failf("malformed offence record %q", k)
		}
		offs = append(offs, offender{accountOf(k[len(p):]), Perbill(binary.BigEndian.Uint32(v))})
		return true
	})
	n := 0
	s.Iterate(key(eraPrefix(era), []byte("overview/")), func(_, _ []byte) bool { n++; return true })
	f := SlashFraction(len(offs), n)
	for _, o := range offs {
		if o.applied >= f {
			continue
		}
		ov, ok := overview(s, era, o.stash)
		if !ok {
			continue
		}
		delta := func(v types.Amount) types.Amount { return f.MulFloor(v).SubSat(o.applied.MulFloor(v)) }
		own := m.slashStaker(ctx, o.stash, delta(parseStored(ov.GetOwn(), "exposure own")))
		var noms types.Amount
		if ov.GetNominatorCount() > 0 {
			for _, x := range others(s, era, o.stash) {
				noms = noms.AddSat(m.slashStaker(ctx, accountOf(x.GetWho()), delta(parseStored(x.GetValue(), "exposure value"))))
			}
		}
		setU32(s, key(prefixOffence, u64(era), o.stash[:]), uint32(f))
		ctx.Emit("slashed",
			types.Attr{Key: "stash", Value: ctx.Address(o.stash)},
			types.Attr{Key: "era", Value: strconv.FormatUint(era, 10)},
			types.Attr{Key: "fraction", Value: strconv.FormatUint(uint64(f), 10)},
			types.Attr{Key: "own", Value: own.String()},
			types.Attr{Key: "nominators", Value: noms.String()})
	}
}

// slashStaker takes up to amt of a staker's bond — active first, then
// unlocking chunks newest first (they are still bonded until withdrawn) —
// and moves it from the stash's reserved balance to the treasury. It
// returns what was taken.
func (m *Module) slashStaker(ctx *types.Context, stash types.AccountID, amt types.Amount) types.Amount {
	if amt.IsZero() {
		return types.Amount{}
	}
	s := ctx.Store
	l, ok := m.ledger(s, stash)
	if !ok {
		return types.Amount{}
	}
	amt = amt.Min(l.Total).Min(m.bank.Get(s, stash).Reserved)
	if amt.IsZero() {
		return amt
	}
	if err := m.bank.SlashReserved(ctx, stash, amt, auth.TreasuryAccount); err != nil {
		ctx.Emit("slash_failed", types.Attr{Key: "stash", Value: ctx.Address(stash)}, types.Attr{Key: "error", Value: err.Error()})
		return types.Amount{}
	}
	rem := amt
	take := rem.Min(l.Active)
	l.Active, rem = l.Active.SubSat(take), rem.SubSat(take)
	for i := len(l.Unlocking) - 1; i >= 0 && !rem.IsZero(); i-- {
		take = rem.Min(l.Unlocking[i].Value)
		l.Unlocking[i].Value, rem = l.Unlocking[i].Value.SubSat(take), rem.SubSat(take)
	}
	kept := l.Unlocking[:0]
	for _, c := range l.Unlocking {
		if !c.Value.IsZero() {
			kept = append(kept, c)
		}
	}
	l.Unlocking = kept
	l.Total = l.Total.SubSat(amt)
	m.setLedger(s, stash, l)
	return amt
}

// noteLiveness counts missed commit signatures: a validator's window opens
// at its first miss and lasts downtime_window blocks; reaching
// downtime_max_missed misses inside it chills the validator (it leaves the
// set at the next election; there is no slash for being offline).
func (m *Module) noteLiveness(ctx *types.Context, p Params) {
	if p.Slashing.DowntimeWindow <= 0 {
		return
	}
	s := ctx.Store
	for _, v := range ctx.Block.Votes {
		if v.Signed {
			continue
		}
		stash, ok := AddrOwner(s, v.Address)
		if !ok {
			continue
		}
		k := key(prefixLiveness, stash[:])
		start, missed := ctx.Height, uint32(0)
		if b := s.Get(k); b != nil {
			if len(b) != 12 {
				failf("malformed liveness record %q", k)
			}
			start, missed = int64(binary.BigEndian.Uint64(b)), binary.BigEndian.Uint32(b[8:])
			if ctx.Height-start >= p.Slashing.DowntimeWindow {
				start, missed = ctx.Height, 0
			}
		}
		missed++
		if missed >= p.Slashing.DowntimeMaxMissed {
			s.Delete(k)
			if m.chill(s, stash) {
				ctx.Emit("chilled", types.Attr{Key: "stash", Value: ctx.Address(stash)}, types.Attr{Key: "reason", Value: "downtime"},
					types.Attr{Key: "missed", Value: strconv.FormatUint(uint64(missed), 10)})
			}
			continue
		}
		s.Set(k, binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, uint64(start)), missed))
	}
}

// EndBlock implements types.EndBlocker: misbehaviour, liveness and era
// points of this block, the era rotation at a boundary, then a bounded
// batch of payouts. It never fails: a chain must not halt over staking
// (only a store failure, raised as a panic, stops the node).
func (m *Module) EndBlock(ctx *types.Context) error {
	s := ctx.Store
	p := m.Params(s)
	if p.EraLength <= 0 {
		return nil // no staking parameters in state (not initialised)
	}
	upd := map[[32]byte]int64{}
	if ctx.Block != nil {
		m.handleMisbehavior(ctx, upd)
		m.noteLiveness(ctx, p)
		m.notePoints(ctx, p, CurrentEra(s))
	}
	if ctx.Height%p.EraLength == 0 {
		m.rotate(ctx, p, upd)
	}
	m.processPayouts(ctx, p)
	if len(upd) > 0 {
		ctx.SetValidatorUpdates(sortedUpdates(upd))
	}
	return nil
}
