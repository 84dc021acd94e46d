package npos

import "fmt"

// IntoStaked is Assignment::into_staked: each non-zero ratio becomes
// parts·stake/One() rounded to the nearest integer with ties down (upstream's
// `PerThing * u128`), so the stakes may add up to slightly more or less than
// the stake. Zero ratios are dropped.
func (a Assignment[A]) IntoStaked(acc Accuracy, stake Uint128) StakedAssignment[A] {
	dist := make([]StakedEdge[A], 0, len(a.Distribution))
	for _, d := range a.Distribution {
		if d.Parts == 0 {
			continue
		}
		dist = append(dist, StakedEdge[A]{Target: d.Target, Stake: acc.Mul(d.Parts, stake)})
	}
	return StakedAssignment[A]{Voter: a.Voter, Distribution: dist}
}

// TryNormalize is Assignment::try_normalize: the parts are normalised to sum
// to exactly One().
func (a *Assignment[A]) TryNormalize(acc Accuracy) error {
	parts := make([]uint64, len(a.Distribution))
	for i, d := range a.Distribution {
		parts[i] = d.Parts
	}
	norm, err := acc.NormalizeParts(parts)
	if err != nil {
		return err
	}
	for i := range a.Distribution {
		a.Distribution[i].Parts = norm[i]
	}
	return nil
}

// IntoAssignment is StakedAssignment::into_assignment: every stake becomes
// from_rational(stake, total), rounded down, and ratios that round to zero
// are dropped. The result is not normalised. Stake is set to the total,
// saturated to u64.
func (s StakedAssignment[A]) IntoAssignment(acc Accuracy) Assignment[A] {
	total := s.Total()
	dist := make([]RatioEdge[A], 0, len(s.Distribution))
	for _, d := range s.Distribution {
		if p := acc.FromRational(d.Stake, total); p != 0 {
			dist = append(dist, RatioEdge[A]{Target: d.Target, Parts: p})
		}
	}
	stake := total.Lo
	if total.Hi != 0 {
		stake = ^uint64(0)
	}
	return Assignment[A]{Voter: s.Voter, Stake: stake, Distribution: dist}
}

// TryNormalize is StakedAssignment::try_normalize: the stakes are
// normalised to sum to exactly stake.
func (s *StakedAssignment[A]) TryNormalize(stake Uint128) error {
	vals := make([]Uint128, len(s.Distribution))
	for i, d := range s.Distribution {
		vals[i] = d.Stake
	}
	norm, err := Normalize(vals, stake)
	if err != nil {
		return err
	}
	for i := range s.Distribution {
		s.Distribution[i].Stake = norm[i]
	}
	return nil
}

// AssignmentRatioToStaked is upstream's assignment_ratio_to_staked, with
// each assignment's Stake playing stake_of(who). It does not normalise.
func AssignmentRatioToStaked[A comparable](acc Accuracy, ratios []Assignment[A]) []StakedAssignment[A] {
	out := make([]StakedAssignment[A], len(ratios))
	for i, a := range ratios {
		out[i] = a.IntoStaked(acc, U128(a.Stake))
	}
	return out
}

// AssignmentRatioToStakedNormalized is upstream's
// assignment_ratio_to_staked_normalized: as AssignmentRatioToStaked, then
// each voter's stakes are normalised to add up to exactly its stake.
func AssignmentRatioToStakedNormalized[A comparable](acc Accuracy, ratios []Assignment[A]) ([]StakedAssignment[A], error) {
	if !acc.Valid() {
		return nil, fmt.Errorf("ratio to staked: %w", ErrInvalidAccuracy)
	}
	out := AssignmentRatioToStaked(acc, ratios)
	for i := range out {
		if err := out[i].TryNormalize(U128(ratios[i].Stake)); err != nil {
			return nil, fmt.Errorf("ratio to staked: assignment %d: %w: %w", i, ErrArithmetic, err)
		}
	}
	return out, nil
}

// AssignmentStakedToRatio is upstream's assignment_staked_to_ratio: no
// normalisation, so ratios may add up to less than One().
func AssignmentStakedToRatio[A comparable](acc Accuracy, staked []StakedAssignment[A]) []Assignment[A] {
	out := make([]Assignment[A], len(staked))
	for i, s := range staked {
		out[i] = s.IntoAssignment(acc)
	}
	return out
}

// AssignmentStakedToRatioNormalized is upstream's
// assignment_staked_to_ratio_normalized: each assignment's ratios are
// normalised to exactly One().
func AssignmentStakedToRatioNormalized[A comparable](acc Accuracy, staked []StakedAssignment[A]) ([]Assignment[A], error) {
	if !acc.Valid() {
		return nil, fmt.Errorf("staked to ratio: %w", ErrInvalidAccuracy)
	}
	out := AssignmentStakedToRatio(acc, staked)
	for i := range out {
		if err := out[i].TryNormalize(acc); err != nil {
			return nil, fmt.Errorf("staked to ratio: assignment %d: %w: %w", i, ErrArithmetic, err)
		}
	}
	return out, nil
}
