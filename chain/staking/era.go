package staking

import (
	"bytes"
	"math"
	"slices"
	"strconv"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/types"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
	"github.com/veil-network/veil/npos"
)

// MaxTotalVotingPower is CometBFT's cap on the sum of all voting power
// (types.MaxTotalVotingPower = MaxInt64/8): the proposer-priority
// arithmetic must not overflow.
const MaxTotalVotingPower = math.MaxInt64 / 8

// Reasons an election keeps the current set (the "reason" attribute of the
// election_failed event).
const (
	FailNoCandidates   = "no_candidates"
	FailTooFewElected  = "fewer_than_min_validator_count"
	FailElectionError  = "election_error"
	FailTooFewCandidat = "fewer_candidates_than_min_validator_count"
)

// elected is one winner of an election with its exposure and power.
type elected struct {
	stash  types.AccountID
	prefs  *stakingv1.ValidatorPrefs
	total  types.Amount
	own    types.Amount
	others []*stakingv1.IndividualExposure
	power  int64
}

type electionOutcome struct {
	winners    []elected // in stash order
	candidates int
	voters     int
}

// elect snapshots the intentions and runs the configured election. The
// snapshot: every validator candidate (bonded at least min_validator_bond)
// votes for itself with its active bond; every nominator (at least
// min_nominator_bond) votes for its targets with its active bond. Stakes
// become u64 vote weights by Polkadot's CurrencyToVote (see voteFactor).
// A non-empty reason means the election failed and nothing was decided.
func (m *Module) elect(s types.KVStore, p Params) (electionOutcome, string) {
	type cand struct {
		stash types.AccountID
		prefs *stakingv1.ValidatorPrefs
	}
	var cands []cand
	s.Iterate(prefixValidator, func(k, v []byte) bool {
		var pr stakingv1.ValidatorPrefs
		types.DecodeProto(v, &pr)
		cands = append(cands, cand{accountOf(k[len(prefixValidator):]), &pr})
		return true
	})
	type nom struct {
		stash   types.AccountID
		targets [][]byte
	}
	var noms []nom
	s.Iterate(prefixNominator, func(k, v []byte) bool {
		var n stakingv1.Nominations
		types.DecodeProto(v, &n)
		noms = append(noms, nom{accountOf(k[len(prefixNominator):]), n.GetTargets()})
		return true
	})

	factor := voteFactor(m.bank.Issuance(s))
	var out electionOutcome
	ids := make([]types.AccountID, 0, len(cands))
	prefs := make(map[types.AccountID]*stakingv1.ValidatorPrefs, len(cands))
	voters := make([]npos.Voter[types.AccountID], 0, len(cands)+len(noms))
	for _, c := range cands {
		l, ok := m.ledger(s, c.stash)
		if !ok || belowMinimum(l.Active, p.MinValidatorBond) {
			continue // below a raised minimum: not a candidate until topped up
		}
		ids = append(ids, c.stash)
		prefs[c.stash] = c.prefs
		voters = append(voters, npos.Voter[types.AccountID]{ID: c.stash, Stake: toVote(l.Active, factor), Targets: []types.AccountID{c.stash}})
	}
	for _, n := range noms {
		l, ok := m.ledger(s, n.stash)
		if !ok || belowMinimum(l.Active, p.MinNominatorBond) {
			continue
		}
		ts := make([]types.AccountID, len(n.targets))
		for i, t := range n.targets {
			ts[i] = accountOf(t)
		}
		voters = append(voters, npos.Voter[types.AccountID]{ID: n.stash, Stake: toVote(l.Active, factor), Targets: ts})
	}
	out.candidates, out.voters = len(ids), len(voters)
	if len(ids) == 0 {
		return out, FailNoCandidates
	}
	if len(ids) < int(p.MinValidatorCount) {
		return out, FailTooFewCandidat
	}
	toElect := min(int(p.ValidatorCount), len(ids))
	var bal *npos.BalancingConfig
	if p.BalancingIterations > 0 {
		bal = &npos.BalancingConfig{Iterations: int(p.BalancingIterations), Tolerance: p.BalancingTolerance.Uint128()}
	}
	run := npos.SeqPhragmen[types.AccountID]
	if p.Election == ElectionPhragMMS {
		run = npos.PhragMMS[types.AccountID]
	}
	res, err := run(toElect, ids, voters, bal, npos.Perbill)
	if err != nil {
		return out, FailElectionError
	}
	if len(res.Winners) < int(p.MinValidatorCount) {
		return out, FailTooFewElected
	}
	// The staked view only: res.Outcome would also build supports in
	// winner order and a score, which nothing here uses.
	normalized, err := npos.AssignmentRatioToStakedNormalized(res.Accuracy, res.Assignments)
	if err != nil {
		return out, FailElectionError
	}
	// Reduce the solution (as Polkadot's election miners do): every
	// voter's and every winner's total stays exactly the same, but the
	// edges drop to at most voters + winners − 1 per connected component,
	// so the stored exposures and the payouts of an era shrink from up to
	// 16 per nominator to about one. On an error the unreduced
	// assignments are used.
	staked := slices.Clone(normalized) // Reduce replaces each Distribution
	if _, err := npos.Reduce(staked); err != nil {
		staked = normalized
	}
	support := make(map[types.AccountID]npos.Support[types.AccountID], len(res.Winners))
	for _, sp := range npos.ToSupports(staked) {
		support[sp.Target] = sp
	}
	for _, w := range res.Winners {
		e := elected{stash: w.ID, prefs: prefs[w.ID]}
		for _, b := range support[w.ID].Voters {
			v := toCurrency(b.Stake, factor)
			if v.IsZero() {
				continue
			}
			if b.Voter == w.ID {
				e.own = e.own.AddSat(v)
			} else {
				e.others = append(e.others, &stakingv1.IndividualExposure{Who: append([]byte(nil), b.Voter[:]...), Value: v.String()})
			}
			e.total = e.total.AddSat(v)
		}
		out.winners = append(out.winners, e)
	}
	slices.SortFunc(out.winners, func(a, b elected) int { return bytes.Compare(a.stash[:], b.stash[:]) })
	unit, _ := p.PowerUnit.Uint64()
	totals := make([]types.Amount, len(out.winners))
	for i, w := range out.winners {
		totals[i] = w.total
	}
	for i, pw := range Powers(totals, unit) {
		out.winners[i].power = pw
	}
	return out, ""
}

// Powers scales backed stakes to CometBFT voting power: ⌊total/unit⌋,
// at least 1 (an elected validator with power 0 would be a removal). If
// the sum would exceed MaxTotalVotingPower, every power is halved (still
// at least 1) until it fits — which needs a total backing above
// MaxTotalVotingPower × unit (1.15·10¹⁸ tokens at the default unit).
func Powers(totals []types.Amount, unit uint64) []int64 {
	if unit == 0 {
		unit = 1
	}
	ps := make([]uint64, len(totals))
	for i, t := range totals {
		q, _ := t.DivMod64(unit)
		v, ok := q.Uint64()
		if !ok || v > MaxTotalVotingPower {
			v = MaxTotalVotingPower
		}
		ps[i] = max(v, 1)
	}
	for {
		var sum uint64
		fits := true
		for _, v := range ps {
			sum += v
			if sum > MaxTotalVotingPower {
				fits = false
				break
			}
		}
		if fits {
			break
		}
		shrunk := false
		for i := range ps {
			if ps[i] > 1 {
				ps[i] = max(ps[i]>>1, 1)
				shrunk = true
			}
		}
		if !shrunk {
			break // unreachable: validator_count ≤ 1,000 powers of 1 always fit
		}
	}
	out := make([]int64, len(ps))
	for i, v := range ps {
		out[i] = int64(v)
	}
	return out
}

// writeExposures stores an era's elected validators.
func (m *Module) writeExposures(s types.KVStore, era uint64, out electionOutcome) {
	for _, w := range out.winners {
		st := w.stash
		types.SetProto(s, eraKey(era, "overview", &st), &stakingv1.ExposureOverview{
			Total: w.total.String(), Own: w.own.String(), NominatorCount: uint32(len(w.others)),
			Commission: w.prefs.GetCommission(), ConsensusPubkey: w.prefs.GetConsensusPubkey(), Power: w.power,
		})
		if len(w.others) > 0 {
			types.SetProto(s, eraKey(era, "others", &st), &stakingv1.ExposureOthers{Others: w.others})
		}
	}
}

// applySet makes the consensus set the election's winners: every key of
// the current set that is not a winner's gets power 0, every winner's key
// its power. upd collects the updates of this block by public key.
func (m *Module) applySet(ctx *types.Context, out electionOutcome, upd map[[32]byte]int64) {
	s := ctx.Store
	next := make(map[[32]byte]elected, len(out.winners))
	for _, w := range out.winners {
		var pub [32]byte
		copy(pub[:], w.prefs.GetConsensusPubkey())
		next[pub] = w
	}
	for _, a := range activeSet(s) {
		w, stays := next[a.pub]
		switch {
		case !stays:
			s.Delete(key(prefixActive, a.pub[:]))
			upd[a.pub] = 0
		case w.power == a.power && w.stash == a.stash:
			delete(next, a.pub) // unchanged: no update needed
		}
	}
	for _, w := range out.winners {
		var pub [32]byte
		copy(pub[:], w.prefs.GetConsensusPubkey())
		if _, changed := next[pub]; !changed {
			continue
		}
		types.SetProto(s, key(prefixActive, pub[:]), &stakingv1.ActiveValidator{Stash: append([]byte(nil), w.stash[:]...), Power: w.power})
		upd[pub] = w.power
	}
}

// sortedUpdates orders a block's validator updates by public key, so every
// node returns byte-identical responses.
func sortedUpdates(upd map[[32]byte]int64) []types.ValidatorUpdate {
	out := make([]types.ValidatorUpdate, 0, len(upd))
	for pub, p := range upd {
		out = append(out, types.ValidatorUpdate{PubKey: pub, Power: p})
	}
	slices.SortFunc(out, func(a, b types.ValidatorUpdate) int { return bytes.Compare(a.PubKey[:], b.PubKey[:]) })
	return out
}

// rotate ends the current era and starts the next one with a fresh
// election. A failed election changes nothing: the era (and the set)
// continue until the next boundary, and an election_failed event says why.
func (m *Module) rotate(ctx *types.Context, p Params, upd map[[32]byte]int64) {
	s := ctx.Store
	cur := CurrentEra(s)
	out, reason := m.elect(s, p)
	if reason != "" {
		ctx.Emit("election_failed",
			types.Attr{Key: "era", Value: strconv.FormatUint(cur, 10)},
			types.Attr{Key: "reason", Value: reason},
			types.Attr{Key: "candidates", Value: strconv.Itoa(out.candidates)},
			types.Attr{Key: "min_validator_count", Value: strconv.FormatUint(uint64(p.MinValidatorCount), 10)})
		return
	}
	m.endEra(ctx, p, cur)
	next := cur + 1
	types.SetProto(s, eraKey(next, "info", nil), &stakingv1.EraInfo{StartHeight: ctx.Height + 1, StartTimeMs: ctx.Time.UnixMilli()})
	m.writeExposures(s, next, out)
	types.SetUint64(s, keyCurrentEra, next)
	m.applySet(ctx, out, upd)
	m.prune(s, p, next)
	ctx.Emit("new_era",
		types.Attr{Key: "era", Value: strconv.FormatUint(next, 10)},
		types.Attr{Key: "start_height", Value: strconv.FormatInt(ctx.Height+1, 10)},
		types.Attr{Key: "validators", Value: strconv.Itoa(len(out.winners))},
		types.Attr{Key: "candidates", Value: strconv.Itoa(out.candidates)},
		types.Attr{Key: "voters", Value: strconv.Itoa(out.voters)})
}

// endEra fixes an era's payout from the inflation curve and queues the
// payment of every validator that earned points (paid in later blocks by
// processPayouts).
func (m *Module) endEra(ctx *types.Context, p Params, era uint64) {
	s := ctx.Store
	info, ok := eraInfo(s, era)
	if !ok {
		info = &stakingv1.EraInfo{StartHeight: ctx.Height, StartTimeMs: ctx.Time.UnixMilli()}
	}
	var staked types.Amount
	var totalPoints uint64
	vals := eraValidators(s, era)
	pts := make([]uint32, len(vals))
	for i, v := range vals {
		staked = staked.AddSat(parseStored(v.ov.GetTotal(), "exposure total"))
		st := v.stash
		pts[i] = getU32(s, eraKey(era, "points", &st))
		totalPoints += uint64(pts[i])
	}
	if totalPoints > math.MaxUint32 {
		totalPoints = math.MaxUint32 // unreachable: points per block are u32 and eras are short
	}
	payout, rest := EraPayout(staked, m.bank.Issuance(s), ctx.Time.UnixMilli()-info.GetStartTimeMs(), p.Inflation)
	info.TotalPoints = uint32(totalPoints)
	info.Payout = payout.String()
	info.TotalStaked = staked.String()
	info.Ended = true
	types.SetProto(s, eraKey(era, "info", nil), info)
	if totalPoints > 0 && !payout.IsZero() {
		for i, v := range vals {
			if pts[i] > 0 {
				setU32(s, key(prefixPayQueue, u64(era), v.stash[:]), 0)
			}
		}
	}
	if p.Inflation.RemainderToTreasury && !rest.IsZero() {
		if err := m.bank.Mint(ctx, auth.TreasuryAccount, rest); err != nil {
			ctx.Emit("payout_failed", types.Attr{Key: "era", Value: strconv.FormatUint(era, 10)}, types.Attr{Key: "error", Value: err.Error()})
			rest = types.Amount{}
		}
	} else {
		rest = types.Amount{}
	}
	ctx.Emit("era_ended",
		types.Attr{Key: "era", Value: strconv.FormatUint(era, 10)},
		types.Attr{Key: "payout", Value: payout.String()},
		types.Attr{Key: "treasury", Value: rest.String()},
		types.Attr{Key: "total_staked", Value: staked.String()},
		types.Attr{Key: "total_points", Value: strconv.FormatUint(totalPoints, 10)})
}

// prune drops eras older than history_depth: at most four per rotation
// (bounded work even after history_depth is lowered), never one whose
// payouts are still queued.
func (m *Module) prune(s types.KVStore, p Params, cur uint64) {
	if cur < uint64(p.HistoryDepth) {
		return
	}
	cutoff := cur - uint64(p.HistoryDepth) // eras ≤ cutoff go
	oldest := types.GetUint64(s, keyOldestEra)
	for n := 0; oldest <= cutoff && n < 4; n++ {
		queued := false
		s.Iterate(key(prefixPayQueue, u64(oldest)), func(_, _ []byte) bool { queued = true; return false })
		if queued {
			break
		}
		for _, k := range collectKeys(s, eraPrefix(oldest)) {
			s.Delete(k)
		}
		for _, k := range collectKeys(s, key(prefixOffence, u64(oldest))) {
			s.Delete(k)
		}
		oldest++
	}
	types.SetUint64(s, keyOldestEra, oldest)
}

// consensusEra finds the era whose elected set signed height h: era 0's
// from its first height (InitChain's set applies at once), a later era's
// from its start height + 1 (updates apply at H+2 after the electing
// block H). ok is false for heights before the kept history.
func consensusEra(s types.KVStore, h int64) (uint64, bool) {
	oldest := types.GetUint64(s, keyOldestEra)
	for e := CurrentEra(s); ; e-- {
		info, ok := eraInfo(s, e)
		if !ok {
			return 0, false
		}
		start := info.GetStartHeight()
		if e > 0 {
			start++
		}
		if h >= start {
			return e, true
		}
		if e == 0 || e <= oldest {
			return 0, false
		}
	}
}
