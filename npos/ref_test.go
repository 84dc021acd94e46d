package npos

import "slices"

// This file is a deliberately literal, slow transcription of upstream's
// election code (pointer-linked candidates, every loop over every voter and
// edge in every round, unit-step normalisation). It is the differential
// reference for the optimised engine: both must agree on random inputs.

type refCandidate struct {
	who      string
	score    Rational128
	approval Uint128
	backed   Uint128
	elected  bool
	round    int
}

type refEdge struct {
	who    string
	load   Rational128
	cand   *refCandidate
	weight Uint128
}

type refVoter struct {
	who    string
	stake  uint64
	edges  []*refEdge
	budget Uint128
	load   Rational128
}

func refSetup(candidates []string, voters []Voter[string]) ([]*refCandidate, []*refVoter) {
	cache := map[string]int{}
	cands := make([]*refCandidate, len(candidates))
	for i, c := range candidates {
		cache[c] = i
		cands[i] = &refCandidate{who: c, score: Rational128{Uint128{}, U128(1)}}
	}
	var out []*refVoter
	for _, v := range voters {
		var edges []*refEdge
	targets:
		for _, t := range v.Targets {
			for _, e := range edges {
				if e.who == t {
					continue targets
				}
			}
			if idx, ok := cache[t]; ok {
				cands[idx].approval = cands[idx].approval.AddSat(U128(v.Stake))
				edges = append(edges, &refEdge{who: t, cand: cands[idx], load: Rational128{Uint128{}, U128(1)}})
			}
		}
		if len(edges) > 0 {
			out = append(out, &refVoter{who: v.ID, stake: v.Stake, edges: edges, budget: U128(v.Stake), load: Rational128{Uint128{}, U128(1)}})
		}
	}
	return cands, out
}

func refMulDivOrMax(a, b, c Uint128) Uint128 {
	v, ok := MulDivRounding(a, b, c, RoundDown)
	if !ok {
		return MaxUint128()
	}
	return v
}

func refNormalizeElected(v *refVoter) error {
	var ws []Uint128
	for _, e := range v.edges {
		if e.cand.elected {
			ws = append(ws, e.weight)
		}
	}
	norm, err := refNormalize(ws, v.budget, MaxUint128())
	if err != nil {
		return err
	}
	i := 0
	for _, e := range v.edges {
		if e.cand.elected {
			e.cand.backed = e.cand.backed.SubSat(e.weight)
			e.weight = norm[i]
			e.cand.backed = e.cand.backed.AddSat(e.weight)
			i++
		}
	}
	return nil
}

func refSeqPhragmenCore(toElect int, cands []*refCandidate, voters []*refVoter) error {
	den := MaxUint128()
	toElect = min(toElect, len(cands))
	for round := 0; round < toElect; round++ {
		for _, c := range cands {
			if !c.elected {
				if c.approval.IsZero() {
					c.score = rationalMax()
				} else {
					c.score = rationalFrom(den.Quo(c.approval), den)
				}
			}
		}
		for _, v := range voters {
			for _, e := range v.edges {
				c := e.cand
				if !c.elected && !c.approval.IsZero() {
					tn := refMulDivOrMax(v.load.N, v.budget, c.approval)
					c.score = c.score.lazySaturatingAdd(rationalFrom(tn, v.load.D))
				}
			}
		}
		var winner *refCandidate
		for _, c := range cands {
			if !c.elected && (winner == nil || c.score.Cmp(winner.score) < 0) {
				winner = c
			}
		}
		if winner == nil {
			break
		}
		winner.elected = true
		winner.round = round
		for _, v := range voters {
			for _, e := range v.edges {
				if e.who == winner.who {
					e.load = winner.score.lazySaturatingSub(v.load)
					v.load = winner.score
				}
			}
		}
	}
	for _, v := range voters {
		for _, e := range v.edges {
			if e.cand.elected {
				e.weight = refMulDivOrMax(v.budget, e.load.N, v.load.N)
			} else {
				e.weight = Uint128{}
			}
			e.cand.backed = e.cand.backed.AddSat(e.weight)
		}
		v.edges = slices.DeleteFunc(v.edges, func(e *refEdge) bool { return e.weight.IsZero() })
		if err := refNormalizeElected(v); err != nil {
			return err
		}
	}
	return nil
}

func refBalanceVoter(v *refVoter, tolerance Uint128) Uint128 {
	var el []*refEdge
	for _, e := range v.edges {
		if e.cand.elected {
			el = append(el, e)
		}
	}
	if len(el) <= 1 {
		return Uint128{}
	}
	var used Uint128
	for _, e := range el {
		used = used.AddSat(e.weight)
	}
	var backing []Uint128
	minStake := MaxUint128()
	for _, e := range el {
		minStake = min128(minStake, e.cand.backed)
		if !e.weight.IsZero() {
			backing = append(backing, e.cand.backed)
		}
	}
	var diff Uint128
	if len(backing) > 0 {
		maxStake := backing[0]
		for _, b := range backing {
			if maxStake.Less(b) {
				maxStake = b
			}
		}
		diff = maxStake.SubSat(minStake).AddSat(v.budget.SubSat(used))
		if diff.Less(tolerance) {
			return diff
		}
	} else {
		diff = v.budget
	}
	for _, e := range el {
		e.cand.backed = e.cand.backed.SubSat(e.weight)
		e.weight = Uint128{}
	}
	slices.SortStableFunc(el, func(a, b *refEdge) int { return a.cand.backed.Cmp(b.cand.backed) })
	var cumulative Uint128
	last := len(el) - 1
	for i, e := range el {
		bs := e.cand.backed
		if v.budget.Less(bs.MulSat(U128(uint64(i))).SubSat(cumulative)) {
			last = max(i-1, 0)
			break
		}
		cumulative = cumulative.AddSat(bs)
	}
	lastStake := el[last].cand.backed
	ways := U128(uint64(last + 1))
	excess := v.budget.AddSat(cumulative).SubSat(lastStake.MulSat(ways))
	for _, e := range el[:last+1] {
		w := excess.Quo(ways).AddSat(lastStake).SubSat(e.cand.backed)
		e.weight = w
		e.cand.backed = e.cand.backed.AddSat(w)
	}
	_ = refNormalizeElected(v)
	return diff
}

func min128(a, b Uint128) Uint128 {
	if a.Less(b) {
		return a
	}
	return b
}

func refBalance(voters []*refVoter, cfg BalancingConfig) {
	if cfg.Iterations == 0 {
		return
	}
	iter := 0
	for {
		var maxDiff Uint128
		for _, v := range voters {
			if d := refBalanceVoter(v, cfg.Tolerance); maxDiff.Less(d) {
				maxDiff = d
			}
		}
		iter++
		if !cfg.Tolerance.Less(maxDiff) || iter >= cfg.Iterations {
			return
		}
	}
}

func refAssignments(acc Accuracy, voters []*refVoter) ([]Assignment[string], error) {
	var out []Assignment[string]
	for _, v := range voters {
		var dist []RatioEdge[string]
		for _, e := range v.edges {
			if p := acc.FromRational(e.weight, v.budget); p != 0 {
				dist = append(dist, RatioEdge[string]{Target: e.who, Parts: p})
			}
		}
		if len(dist) == 0 {
			continue
		}
		in := make([]Uint128, len(dist))
		for i, d := range dist {
			in[i] = U128(d.Parts)
		}
		norm, err := refNormalize(in, U128(acc.One()), acc.upperMax())
		if err != nil {
			return nil, err
		}
		for i := range dist {
			dist[i].Parts = min(norm[i].Lo, acc.One())
		}
		out = append(out, Assignment[string]{Voter: v.who, Stake: v.stake, Distribution: dist})
	}
	return out, nil
}

func refSeqPhragmen(toElect int, candidates []string, voters []Voter[string], bal *BalancingConfig, acc Accuracy) (ElectionResult[string], error) {
	cands, vs := refSetup(candidates, voters)
	if err := refSeqPhragmenCore(toElect, cands, vs); err != nil {
		return ElectionResult[string]{}, err
	}
	if bal != nil {
		refBalance(vs, *bal)
	}
	var winners []*refCandidate
	for _, c := range cands {
		if c.elected {
			winners = append(winners, c)
		}
	}
	slices.SortStableFunc(winners, func(a, b *refCandidate) int { return a.round - b.round })
	as, err := refAssignments(acc, vs)
	if err != nil {
		return ElectionResult[string]{}, err
	}
	res := ElectionResult[string]{Accuracy: acc, Assignments: as}
	for _, w := range winners {
		res.Winners = append(res.Winners, Winner[string]{ID: w.who, BackedStake: w.backed, Round: w.round})
	}
	return res, nil
}

func refPhragMMS(toElect int, candidates []string, voters []Voter[string], bal *BalancingConfig, acc Accuracy) (ElectionResult[string], error) {
	cands, vs := refSetup(candidates, voters)
	one := U128(acc.One())
	var winners []*refCandidate
	for round := 0; round < toElect; round++ {
		// calculate_max_score
		for _, c := range cands {
			if !c.elected {
				c.score = rationalFrom(U128(1), one)
			}
		}
		for _, v := range vs {
			var contrib Uint128
			for _, e := range v.edges {
				if e.cand.elected {
					contrib = contrib.Add(U128(acc.FromRational(e.weight, e.cand.backed)))
				}
			}
			for _, e := range v.edges {
				if !e.cand.elected {
					e.cand.score = rationalFrom(U128(1), contrib.Add(e.cand.score.D))
				}
			}
		}
		best := Rational128{Uint128{}, U128(1)}
		var w *refCandidate
		for _, c := range cands {
			if !c.approval.IsZero() {
				n, ok := c.approval.CheckedMul(one)
				if !ok {
					n = MaxUint128()
				}
				c.score = rationalFrom(n, c.score.D)
				if !c.elected && c.score.Cmp(best) > 0 {
					best, w = c.score, c
				}
			} else {
				c.score = Rational128{Uint128{}, U128(1)}
			}
		}
		if w == nil {
			break
		}
		// apply_elected
		cut, _ := w.score.toDen(U128(1))
		cutoff := cut.N
		eb := w.backed
		for _, v := range vs {
			idx := slices.IndexFunc(v.edges, func(e *refEdge) bool { return e.who == w.who })
			if idx < 0 {
				continue
			}
			var used Uint128
			for _, e := range v.edges {
				used = used.Add(e.weight)
			}
			nw := v.budget.SubSat(used)
			eb = eb.AddSat(nw)
			for i, e := range v.edges {
				if i == idx || e.weight.IsZero() {
					continue
				}
				if cutoff.Less(e.cand.backed) {
					d := e.cand.backed
					if d.IsZero() {
						d = U128(1)
					}
					take := e.weight.MulSat(cutoff).Quo(d)
					e.weight = e.weight.SubSat(take)
					e.cand.backed = e.cand.backed.SubSat(take)
					eb = eb.AddSat(take)
					nw = nw.AddSat(take)
				}
			}
			v.edges[idx].weight = nw
		}
		w.backed = eb
		w.round = round
		w.elected = true
		winners = append(winners, w)
		if bal != nil {
			refBalance(vs, *bal)
		}
	}
	as, err := refAssignments(acc, vs)
	if err != nil {
		return ElectionResult[string]{}, err
	}
	res := ElectionResult[string]{Accuracy: acc, Assignments: as}
	for _, w := range winners {
		res.Winners = append(res.Winners, Winner[string]{ID: w.who, BackedStake: w.backed, Round: w.round})
	}
	return res, nil
}

// lazySaturatingAdd adds numerators and keeps r's denominator, as upstream
// does (it assumes both denominators are equal).
func (r Rational128) lazySaturatingAdd(o Rational128) Rational128 {
	if o.IsZero() {
		return r
	}
	return Rational128{r.N.AddSat(o.N), r.D}
}

// lazySaturatingSub subtracts numerators and keeps r's denominator.
func (r Rational128) lazySaturatingSub(o Rational128) Rational128 {
	if o.IsZero() {
		return r
	}
	return Rational128{r.N.SubSat(o.N), r.D}
}
