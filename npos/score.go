package npos

// ElectionScore is upstream's ElectionScore. In order of significance:
// MinimalStake (maximise), SumStake (maximise), SumStakeSquared (minimise).
type ElectionScore struct {
	MinimalStake    Uint128 `json:"minimal_stake"`
	SumStake        Uint128 `json:"sum_stake"`
	SumStakeSquared Uint128 `json:"sum_stake_squared"`
}

// EvaluateSupport is upstream's evaluate_support over the supports' totals.
// Sums and squares saturate at u128::MAX, as upstream's do. With no support
// at all the minimal stake stays u128::MAX, which is upstream's answer too.
func EvaluateSupport[A comparable](supports []Support[A]) ElectionScore {
	totals := make([]Uint128, len(supports))
	for i, s := range supports {
		totals[i] = s.Total
	}
	return EvaluateTotals(totals)
}

// EvaluateTotals scores a list of backing totals (one per winner).
func EvaluateTotals(totals []Uint128) ElectionScore {
	score := ElectionScore{MinimalStake: MaxUint128()}
	for _, t := range totals {
		score.SumStake = score.SumStake.AddSat(t)
		score.SumStakeSquared = score.SumStakeSquared.AddSat(t.MulSat(t))
		if t.Less(score.MinimalStake) {
			score.MinimalStake = t
		}
	}
	return score
}

// Cmp is upstream's Ord for ElectionScore: lexicographic on
// (MinimalStake, SumStake, -SumStakeSquared). It returns +1 when s is the
// better score.
func (s ElectionScore) Cmp(o ElectionScore) int {
	if c := s.MinimalStake.Cmp(o.MinimalStake); c != 0 {
		return c
	}
	if c := s.SumStake.Cmp(o.SumStake); c != 0 {
		return c
	}
	return o.SumStakeSquared.Cmp(s.SumStakeSquared)
}

// thresholdCmp is upstream's ThresholdOrd::tcmp for u128: Equal when this is
// within threshold of that, saturating at the bounds.
func thresholdCmp(this, that, threshold Uint128) int {
	if threshold.IsZero() {
		return this.Cmp(that)
	}
	upper := that.AddSat(threshold)
	lower := that.SubSat(threshold)
	if !lower.Less(upper) {
		// Defensive upstream branch (only reachable when both saturate).
		return this.Cmp(that)
	}
	cl, cu := this.Cmp(lower), this.Cmp(upper)
	switch {
	case cl > 0 && cu > 0:
		return 1
	case cl < 0 && cu < 0:
		return -1
	}
	return 0
}

// StrictThresholdBetter is upstream's strict_threshold_better: s must beat o
// by more than threshold (a PerThing of accuracy acc, applied with mul_ceil
// to o's component) on MinimalStake; or tie within it there while being no
// worse and beat SumStake by more than it; or tie within it on both while
// being no worse on both and beat SumStakeSquared (lower) by more than it.
func (s ElectionScore) StrictThresholdBetter(o ElectionScore, acc Accuracy, thresholdParts uint64) bool {
	this := [3]Uint128{s.MinimalStake, s.SumStake, s.SumStakeSquared}
	that := [3]Uint128{o.MinimalStake, o.SumStake, o.SumStakeSquared}
	var ge [3]bool
	var ord [3]int
	for i := range this {
		ge[i] = !this[i].Less(that[i])
		ord[i] = thresholdCmp(this[i], that[i], acc.MulCeil(thresholdParts, that[i]))
	}
	switch {
	case ord[0] > 0:
		return true
	case ge[0] && ord[0] == 0 && ord[1] > 0:
		return true
	case ge[0] && ord[0] == 0 && ge[1] && ord[1] == 0 && ord[2] < 0:
		return true
	}
	return false
}

// ToSupports is upstream's to_supports: one Support per target named in the
// staked assignments, with its voters in assignment order and a saturating
// total. Upstream orders supports by target identifier (a BTreeMap); a
// comparable identifier has no order, so here supports come in order of
// first appearance — use OrderSupports to impose the winners' order. The
// order never changes totals, voters or the score.
func ToSupports[A comparable](staked []StakedAssignment[A]) []Support[A] {
	index := make(map[A]int)
	var out []Support[A]
	for _, a := range staked {
		for _, d := range a.Distribution {
			i, ok := index[d.Target]
			if !ok {
				i = len(out)
				index[d.Target] = i
				out = append(out, Support[A]{Target: d.Target})
			}
			s := &out[i]
			s.Total = s.Total.AddSat(d.Stake)
			s.Voters = append(s.Voters, Backing[A]{Voter: a.Voter, Stake: d.Stake})
		}
	}
	if out == nil {
		out = []Support[A]{}
	}
	return out
}

// OrderSupports returns supports reordered to follow order (typically the
// winners); supports whose target is not in order keep their relative order
// after them. Targets of order without a support are skipped, as upstream's
// support map has no entry for a winner nobody backs.
func OrderSupports[A comparable](supports []Support[A], order []A) []Support[A] {
	pos := make(map[A]int, len(supports))
	for i, s := range supports {
		pos[s.Target] = i
	}
	used := make([]bool, len(supports))
	out := make([]Support[A], 0, len(supports))
	for _, id := range order {
		if i, ok := pos[id]; ok && !used[i] {
			used[i] = true
			out = append(out, supports[i])
		}
	}
	for i, s := range supports {
		if !used[i] {
			out = append(out, s)
		}
	}
	return out
}
