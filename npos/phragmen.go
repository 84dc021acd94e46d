package npos

import (
	"fmt"
	"slices"
)

// SeqPhragmen runs sequential Phragmén exactly as upstream's seq_phragmen,
// optionally followed by star balancing, and returns the winners in election
// order with their backed stake plus the voters' ratio assignments in the
// given accuracy, normalised to sum to exactly 100%.
//
// Upstream is a best-effort election: when toElect exceeds the number of
// candidates every candidate is elected (those nobody approves last, with
// zero backing, in input order) and no error is returned. Here toElect < 1
// and an empty candidate list are rejected with ErrZeroToElect and
// ErrNoCandidates, where upstream would silently return an empty result.
//
// Input clean-up follows upstream: targets that are not candidates and
// repeated targets inside a voter are dropped, voters left without targets
// are dropped, and a candidate listed twice keeps both entries with every
// vote going to the last one (upstream's identifier cache).
func SeqPhragmen[A comparable](toElect int, candidates []A, voters []Voter[A], balancing *BalancingConfig, accuracy Accuracy) (ElectionResult[A], error) {
	if err := validateElection(toElect, candidates, balancing, accuracy); err != nil {
		return ElectionResult[A]{}, fmt.Errorf("seq-phragmen: %w", err)
	}
	if err := checkEdgeCount(voters); err != nil {
		return ElectionResult[A]{}, fmt.Errorf("seq-phragmen: %w", err)
	}
	e := setupInputs(accuracy, candidates, voters)
	if err := e.seqPhragmenCore(toElect); err != nil {
		return ElectionResult[A]{}, fmt.Errorf("seq-phragmen: %w", err)
	}
	if balancing != nil {
		// May leave zero-weight edges; into_assignment strips them.
		e.balance(*balancing)
	}

	winners := make([]int, 0, min(toElect, e.nCand))
	for c := 0; c < e.nCand; c++ {
		if e.elected[c] {
			winners = append(winners, c)
		}
	}
	// Upstream sorts by election round (stable); rounds are distinct.
	slices.SortStableFunc(winners, func(a, b int) int { return e.round[a] - e.round[b] })

	assignments, err := intoAssignments(e, candidates, voters)
	if err != nil {
		return ElectionResult[A]{}, fmt.Errorf("seq-phragmen: %w", err)
	}
	res := ElectionResult[A]{Accuracy: accuracy, Assignments: assignments, Winners: make([]Winner[A], len(winners))}
	for i, c := range winners {
		res.Winners[i] = Winner[A]{ID: candidates[c], BackedStake: e.backed[c], Round: e.round[c]}
	}
	return res, nil
}

// seqPhragmenCore is upstream's seq_phragmen_core.
//
// Upstream recomputes every unelected candidate's score from every edge in
// every round (O(rounds·edges) 128-bit divisions). The score numerator of
// candidate c is DEN/approval(c) plus, over its voters v, the term
// floor(load(v)·budget(v)/approval(c)), accumulated with saturating adds.
// All terms are non-negative, so the saturating running sum equals
// min(u128::MAX, exact sum) whatever the order; and a term only changes when
// its voter's load changes, which happens only to the voters of the round's
// winner. This implementation therefore keeps each term and an exact 192-bit
// sum per candidate and updates them incrementally, which yields upstream's
// numbers exactly at a fraction of the cost.
func (e *engine) seqPhragmenCore(toElect int) error {
	toElect = min(toElect, e.nCand)
	den := MaxUint128()
	nE := len(e.eCand)
	term := make([]Uint128, nE)
	edgeLoad := make([]Uint128, nE) // numerators; upstream's Rational128 denominators never matter
	voterLoad := make([]Uint128, len(e.vSrc))
	sums := make([]acc192, e.nCand)
	base := make([]Uint128, e.nCand)
	// Approval stakes that fit in 64 bits (the usual case) get a prepared
	// divisor: the score terms divide by them for every voter of a winner.
	fast := make([]bool, e.nCand)
	divs := make([]divisor64, e.nCand)
	for c := range base {
		if a := e.approval[c]; !a.IsZero() {
			base[c] = den.Quo(a)
			if a.Hi == 0 {
				fast[c], divs[c] = true, newDivisor64(a.Lo)
			}
		}
	}

	for round := 0; round < toElect; round++ {
		// Loops 1 and 2: score = (DEN/approval + Σ terms) / DEN, or
		// u128::MAX / 1 when nobody approves the candidate.
		best := -1
		var bestScore Rational128
		for c := 0; c < e.nCand; c++ {
			if e.elected[c] {
				continue
			}
			var s Rational128
			if e.approval[c].IsZero() {
				s = rationalMax()
			} else {
				s = Rational128{sums[c].plusSat(base[c]), den}
			}
			// min_by_key keeps the first of equal minima.
			if best < 0 || s.Cmp(bestScore) < 0 {
				best, bestScore = c, s
			}
		}
		if best < 0 {
			break
		}
		e.elected[best] = true
		e.round[best] = round
		score := bestScore.N

		// Loop 3: voters with an edge naming the winner's identifier take
		// its score as their load. Edges name identifiers, so they all point
		// to the identifier's canonical candidate.
		bv := e.backerVoters(e.canon[best])
		for i, k := range e.backers(e.canon[best]) {
			v := bv[i]
			// lazy_saturating_sub: a zero voter load leaves the score as is.
			edgeLoad[k] = score.SubSat(voterLoad[v])
			voterLoad[v] = score
			budget := e.budget[v]
			for k2 := e.vStart[v]; k2 < e.vEnd[v]; k2++ {
				c2 := e.eCand[k2]
				if e.elected[c2] || e.approval[c2].IsZero() {
					continue
				}
				var t Uint128
				var ok bool
				if fast[c2] && budget.Hi == 0 {
					t, ok = divs[c2].mulDivDown(score, budget.Lo)
				} else {
					t, ok = MulDivRounding(score, budget, e.approval[c2], RoundDown)
				}
				if !ok {
					t = MaxUint128()
				}
				sums[c2].sub(term[k2])
				sums[c2].add(t)
				term[k2] = t
			}
		}
	}

	// Final pass: edge weights from loads, backed stakes, dropping zero
	// edges and normalising each voter to its budget.
	for v := range e.vSrc {
		budget := e.budget[v]
		for k := e.vStart[v]; k < e.vEnd[v]; k++ {
			c := e.eCand[k]
			var w Uint128
			if e.elected[c] {
				var ok bool
				if w, ok = MulDivRounding(budget, edgeLoad[k], voterLoad[v], RoundDown); !ok {
					w = MaxUint128()
				}
			}
			e.eWeight[k] = w
			e.backed[c] = e.backed[c].AddSat(w)
		}
		// retain(|e| e.weight > 0), keeping order.
		out := e.vStart[v]
		for k := e.vStart[v]; k < e.vEnd[v]; k++ {
			if !e.eWeight[k].IsZero() {
				e.eCand[out] = e.eCand[k]
				e.eWeight[out] = e.eWeight[k]
				out++
			}
		}
		e.vEnd[v] = out
		if err := e.tryNormalizeElected(v); err != nil {
			return fmt.Errorf("normalize voter %d: %w: %w", e.vSrc[v], ErrArithmetic, err)
		}
	}
	return nil
}
