package npos

import (
	"fmt"
	"math/bits"
)

// PhragMMS runs upstream's phragmms: in every round the candidate with the
// highest max-score is elected, stake is moved to it from over-backed
// winners, and (when balancing is given) the whole solution is star-balanced
// before the next round. Winners are returned in election order with their
// final backed stake, assignments as for SeqPhragmen.
//
// Unlike seq-Phragmén, PhragMMS never elects a candidate nobody approves
// (its score is zero), so it may return fewer than toElect winners even when
// there are enough candidates; like upstream, that is not an error.
func PhragMMS[A comparable](toElect int, candidates []A, voters []Voter[A], balancing *BalancingConfig, accuracy Accuracy) (ElectionResult[A], error) {
	if err := validateElection(toElect, candidates, balancing, accuracy); err != nil {
		return ElectionResult[A]{}, fmt.Errorf("phragmms: %w", err)
	}
	if err := checkEdgeCount(voters); err != nil {
		return ElectionResult[A]{}, fmt.Errorf("phragmms: %w", err)
	}
	e := setupInputs(accuracy, candidates, voters)
	st := newMMSState(e)
	winners := make([]int, 0, min(toElect, e.nCand))
	for round := 0; round < toElect; round++ {
		w, score, ok := st.selectBest()
		if !ok {
			break
		}
		st.applyElected(w, score)
		e.round[w] = round
		st.setElected(w)
		winners = append(winners, w)
		if balancing != nil {
			e.balance(*balancing)
			st.refresh()
		} else {
			st.update()
		}
	}

	assignments, err := intoAssignments(e, candidates, voters)
	if err != nil {
		return ElectionResult[A]{}, fmt.Errorf("phragmms: %w", err)
	}
	res := ElectionResult[A]{Accuracy: accuracy, Assignments: assignments, Winners: make([]Winner[A], len(winners))}
	for i, c := range winners {
		res.Winners[i] = Winner[A]{ID: candidates[c], BackedStake: e.backed[c], Round: e.round[c]}
	}
	return res, nil
}

// mmsState holds PhragMMS per-round data on top of the engine.
//
// Upstream's calculate_max_score recomputes, every round, each voter's
// "contribution" (the sum over its elected edges of
// from_rational(weight, backed)) and adds it to the score denominator of
// every unelected candidate it votes for. Those sums are order-independent
// (wrapping u128 additions), so this state keeps them incrementally: the
// per-edge terms, the per-voter contributions and the per-candidate
// denominators are updated only where apply_elected changed a weight or a
// backed stake. Balancing changes everything, so after it they are rebuilt
// from scratch (refresh), which is exactly upstream's computation.
type mmsState struct {
	e *engine
	// contrib[v] is the wrapping sum of the terms of voter v.
	contrib []Uint128
	// denom[c] is ACCURACY + the wrapping sum of contrib over c's voters:
	// the denominator of c's score while c is unelected.
	denom []Uint128
	// narrow is set when every denominator provably fits in 64 bits
	// (ACCURACY·(edges+1) < 2^64, e.g. Perbill up to 18 billion edges);
	// contributions and denominators are then kept in contrib64/denom64,
	// which halves the work of the hot loop. Modular 64-bit sums of values
	// whose true total fits are exact.
	narrow    bool
	contrib64 []uint64
	denom64   []uint64
	// flag[c]: flagElected | flagDirty (apply_elected touched c) |
	// flagFastDiv (div[c] holds c's backed stake prepared for division).
	flag        []uint8
	div         []divisor64
	dirty       []int32
	accuracyOne Uint128
	// Each voter's edges are also laid out by "position" (within its
	// vStart..vEnd range) with the edges to elected candidates first:
	// positions vStart[v]..vStart[v]+nEl[v] are elected, the rest unelected.
	// Sums over a voter's edges do not depend on their order, so update can
	// stream through just the part it needs. Per position: the edge (pk), its
	// candidate (pc), its weight when it fits in 64 bits (pw, else
	// wideWeight) and its term (pt); permPos maps an edge to its position.
	pk      []int32
	pc      []int32
	pw      []uint64
	pt      []uint64
	permPos []int32
	nEl     []int32
}

// wideWeight marks a position whose weight does not fit in 64 bits (only
// possible on inputs upstream itself would saturate on).
const wideWeight = ^uint64(0)

const (
	flagElected uint8 = 1 << iota
	flagDirty
	flagFastDiv
)

func newMMSState(e *engine) *mmsState {
	nE, nV := len(e.eCand), len(e.vSrc)
	s := &mmsState{
		e:           e,
		flag:        make([]uint8, e.nCand),
		div:         make([]divisor64, e.nCand),
		accuracyOne: U128(e.acc.One()),
		pk:          make([]int32, nE),
		pc:          make([]int32, nE),
		pw:          make([]uint64, nE),
		pt:          make([]uint64, nE),
		permPos:     make([]int32, nE),
		nEl:         make([]int32, nV),
	}
	bound, ok := U128(e.acc.One()).CheckedMul(U128(uint64(nE) + 1))
	s.narrow = ok && bound.Hi == 0
	if s.narrow {
		s.contrib64 = make([]uint64, nV)
		s.denom64 = make([]uint64, e.nCand)
	} else {
		s.contrib = make([]Uint128, nV)
		s.denom = make([]Uint128, e.nCand)
	}
	s.refresh()
	return s
}

// setElected marks candidate c elected in the engine and in the flags, and
// moves the edges naming it into their voters' elected positions.
func (s *mmsState) setElected(c int) {
	e := s.e
	e.elected[c] = true
	s.flag[c] |= flagElected
	bv := e.backerVoters(int32(c))
	for i, k := range e.backers(int32(c)) {
		v := bv[i]
		s.swapPos(s.permPos[k], e.vStart[v]+s.nEl[v])
		s.nEl[v]++
	}
}

// swapPos exchanges two positions of one voter.
func (s *mmsState) swapPos(a, b int32) {
	if a == b {
		return
	}
	s.pk[a], s.pk[b] = s.pk[b], s.pk[a]
	s.pc[a], s.pc[b] = s.pc[b], s.pc[a]
	s.pw[a], s.pw[b] = s.pw[b], s.pw[a]
	s.pt[a], s.pt[b] = s.pt[b], s.pt[a]
	s.permPos[s.pk[a]] = a
	s.permPos[s.pk[b]] = b
}

// setWeight writes edge k's weight in the engine and its position.
func (s *mmsState) setWeight(k int32, w Uint128) {
	s.e.eWeight[k] = w
	if w.Hi == 0 && w.Lo != wideWeight {
		s.pw[s.permPos[k]] = w.Lo
	} else {
		s.pw[s.permPos[k]] = wideWeight
	}
}

// denominator returns the score denominator of unelected candidate c.
func (s *mmsState) denominator(c int) Uint128 {
	if s.narrow {
		return U128(s.denom64[c])
	}
	return s.denom[c]
}

// refresh recomputes every term, contribution and denominator from the
// current weights, backed stakes and elected flags.
func (s *mmsState) refresh() {
	e := s.e
	for c := range s.flag {
		s.flag[c] = 0
		if e.elected[c] {
			s.flag[c] = flagElected
		}
	}
	s.dirty = s.dirty[:0]
	for v := range e.vSrc {
		n := e.vStart[v]
		place := func(k int32) {
			s.pk[n], s.pc[n], s.permPos[k], s.pt[n] = k, e.eCand[k], n, 0
			if w := e.eWeight[k]; w.Hi == 0 && w.Lo != wideWeight {
				s.pw[n] = w.Lo
			} else {
				s.pw[n] = wideWeight
			}
			n++
		}
		for k := e.vStart[v]; k < e.vEnd[v]; k++ {
			if e.elected[e.eCand[k]] {
				place(k)
			}
		}
		s.nEl[v] = n - e.vStart[v]
		for k := e.vStart[v]; k < e.vEnd[v]; k++ {
			if !e.elected[e.eCand[k]] {
				place(k)
			}
		}
	}
	for c := 0; c < e.nCand; c++ {
		if s.narrow {
			s.denom64[c] = s.accuracyOne.Lo
		} else {
			s.denom[c] = s.accuracyOne
		}
	}
	for v := range e.vSrc {
		var contrib Uint128
		for pos := e.vStart[v]; pos < e.vStart[v]+s.nEl[v]; pos++ {
			k := s.pk[pos]
			t := e.acc.FromRational(e.eWeight[k], e.backed[e.eCand[k]])
			s.pt[pos] = t
			contrib = contrib.Add(U128(t))
		}
		if s.narrow {
			s.contrib64[v] = contrib.Lo
		} else {
			s.contrib[v] = contrib
		}
		for k := e.vStart[v]; k < e.vEnd[v]; k++ {
			if c := e.eCand[k]; !e.elected[c] {
				if s.narrow {
					s.denom64[c] += contrib.Lo
				} else {
					s.denom[c] = s.denom[c].Add(contrib)
				}
			}
		}
	}
}

// selectBest picks the first unelected candidate with the strictly highest
// score approval·ACCURACY / denominator, compared exactly. A candidate
// nobody approves scores zero and is never picked. (Upstream clamps the
// denominator to at least 1 after each addition; it could only differ from
// the wrapping sum if that sum hit exactly 2^128, which needs more than 10^19
// voters.)
func (s *mmsState) selectBest() (int, Rational128, bool) {
	e := s.e
	best := -1
	bestScore := Rational128{Uint128{}, U128(1)}
	for c := 0; c < e.nCand; c++ {
		if e.approval[c].IsZero() || e.elected[c] {
			continue
		}
		n, ok := e.approval[c].CheckedMul(s.accuracyOne)
		if !ok {
			n = MaxUint128()
		}
		score := rationalFrom(n, s.denominator(c))
		if score.Cmp(bestScore) > 0 {
			best, bestScore = c, score
		}
	}
	return best, bestScore, best >= 0
}

// markDirty records that candidate c's backed stake may have changed.
func (s *mmsState) markDirty(c int32) {
	if s.flag[c]&flagDirty == 0 {
		s.flag[c] |= flagDirty
		s.dirty = append(s.dirty, c)
	}
}

// applyElected is upstream's apply_elected: every voter of the new winner
// puts its unused budget on it and, from each other edge whose candidate is
// backed above the cutoff (the winner's score rounded to an integer), moves
// the share weight·cutoff/backed over to it. Every candidate whose backed
// stake or edge weights may change is recorded for update.
func (s *mmsState) applyElected(w int, score Rational128) {
	e := s.e
	cutoffR, ok := score.toDen(U128(1))
	if !ok {
		// Unreachable: n/d <= n fits in u128 (upstream expects here).
		cutoffR = Rational128{MaxUint128(), U128(1)}
	}
	cutoff := cutoffR.N
	electedBacked := e.backed[w]
	s.markDirty(int32(w))
	bv := e.backerVoters(e.canon[w])
	for i, k := range e.backers(e.canon[w]) {
		v := bv[i]
		var used Uint128
		for k2 := e.vStart[v]; k2 < e.vEnd[v]; k2++ {
			used = used.Add(e.eWeight[k2])
		}
		newWeight := e.budget[v].SubSat(used)
		electedBacked = electedBacked.AddSat(newWeight)
		for k2 := e.vStart[v]; k2 < e.vEnd[v]; k2++ {
			if k2 == k || e.eWeight[k2].IsZero() {
				continue
			}
			c := e.eCand[k2]
			if cutoff.Less(e.backed[c]) {
				div := e.backed[c]
				if div.IsZero() {
					div = U128(1)
				}
				take := e.eWeight[k2].MulSat(cutoff).Quo(div)
				s.setWeight(k2, e.eWeight[k2].SubSat(take))
				e.backed[c] = e.backed[c].SubSat(take)
				electedBacked = electedBacked.AddSat(take)
				newWeight = newWeight.AddSat(take)
				s.markDirty(c)
			}
		}
		s.setWeight(k, newWeight)
	}
	e.backed[w] = electedBacked
}

// update brings terms, contributions and denominators up to date after
// applyElected and the winner's election. Weights only change on edges of
// dirty candidates, so recomputing the terms of those candidates' edges
// catches every change. The pass is voter-major and sequential over the edge
// arrays: late in an election nearly every voter is affected, and streaming
// through memory beats chasing each dirty candidate's voters.
func (s *mmsState) update() {
	e := s.e
	flag := s.flag
	one := e.acc.One()
	for _, c := range s.dirty {
		if b := e.backed[c]; b.Hi == 0 && b.Lo != 0 {
			s.div[c] = newDivisor64(b.Lo)
			flag[c] |= flagFastDiv
		}
	}
	for v := range e.vSrc {
		start, end := e.vStart[v], e.vEnd[v]
		split := start + s.nEl[v]
		// d is the change of the voter's contribution, modulo 2^128 (or
		// 2^64 when narrow): terms may go down as well as up.
		var d Uint128
		for pos := start; pos < split; pos++ {
			c := s.pc[pos]
			f := flag[c]
			if f&flagDirty == 0 {
				continue
			}
			var t uint64
			if w, div := s.pw[pos], &s.div[c]; f&flagFastDiv != 0 && w <= div.orig {
				// from_rational(w, backed) = floor(One·w/backed) when
				// w <= backed; the quotient is at most One(). (wideWeight
				// exceeds any 64-bit backed stake but one equal to it, and
				// then the quotient is the same.)
				t = div.quo(bits.Mul64(one, w))
			} else {
				t = e.acc.FromRational(e.eWeight[s.pk[pos]], e.backed[c])
			}
			if old := s.pt[pos]; t != old {
				d = d.Add(U128(t)).Sub(U128(old))
				s.pt[pos] = t
			}
		}
		if d.IsZero() {
			continue
		}
		unelected := s.pc[split:end]
		if s.narrow {
			s.contrib64[v] += d.Lo
			for _, c := range unelected {
				s.denom64[c] += d.Lo
			}
			continue
		}
		s.contrib[v] = s.contrib[v].Add(d)
		for _, c := range unelected {
			s.denom[c] = s.denom[c].Add(d)
		}
	}
	for _, c := range s.dirty {
		flag[c] &^= flagDirty | flagFastDiv
	}
	s.dirty = s.dirty[:0]
}
