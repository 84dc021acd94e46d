package npos

import (
	"fmt"
	"math"
	"math/bits"
)

// engine is the index-based election state shared by seq-Phragmén and
// PhragMMS. Upstream links voters, edges and candidates with Rc<RefCell<…>>
// pointers; here every entity is an index into flat slices, which keeps the
// traversal order identical (voters in input order, edges in each voter's
// order, candidates in input order) while avoiding pointer chasing and most
// allocations.
type engine struct {
	acc Accuracy

	// Candidates, in input order (duplicates included, as upstream keeps them).
	nCand int
	// canon[c] is the candidate every edge naming c's identifier points to:
	// upstream's setup_inputs caches identifier -> index in a map, so a
	// duplicated identifier resolves to its last occurrence.
	canon    []int32
	approval []Uint128
	backed   []Uint128
	elected  []bool
	round    []int

	// Voters that kept at least one edge, in input order.
	vSrc   []int32 // index in the caller's voter slice
	budget []Uint128
	vStart []int32 // edges of voter v are vStart[v]..vEnd[v]-1
	vEnd   []int32

	// Edges, grouped by voter.
	eCand   []int32
	eWeight []Uint128

	// Edges grouped by (canonical) candidate, each group in voter order,
	// with the voter of each grouped edge alongside (bVoter) so the hot
	// loops read it sequentially.
	// eVoter is the voter of each edge. The grouping is built before
	// seq-Phragmén compacts each voter's edges and is not used after it.
	bStart []int32
	bEdge  []int32
	bVoter []int32
	eVoter []int32

	// Scratch buffers reused by balancing and normalisation.
	scratchEdges []int32
	scratchVals  []Uint128
	scratchSort  []idxVal
}

// validateElection checks the arguments shared by both algorithms.
func validateElection[A comparable](toElect int, candidates []A, balancing *BalancingConfig, acc Accuracy) error {
	if !acc.Valid() {
		return fmt.Errorf("election accuracy %v: %w", acc, ErrInvalidAccuracy)
	}
	if toElect <= 0 {
		return fmt.Errorf("to_elect %d: %w", toElect, ErrZeroToElect)
	}
	if len(candidates) == 0 {
		return ErrNoCandidates
	}
	if balancing != nil && balancing.Iterations < 0 {
		return fmt.Errorf("balancing iterations %d: %w", balancing.Iterations, ErrInvalidBalancing)
	}
	if len(candidates) >= math.MaxInt32 {
		return fmt.Errorf("%d candidates: %w", len(candidates), ErrTooLarge)
	}
	return nil
}

// checkEdgeCount rejects inputs whose indices would not fit the int32
// slices of the engine (billions of votes; far beyond any real election).
func checkEdgeCount[A comparable](voters []Voter[A]) error {
	total := 0
	for _, v := range voters {
		total += len(v.Targets)
		if total >= math.MaxInt32 || len(voters) >= math.MaxInt32 {
			return fmt.Errorf("more than %d votes: %w", math.MaxInt32, ErrTooLarge)
		}
	}
	return nil
}

// setupInputs is upstream's setup_inputs: it drops targets that are not
// candidates and repeated targets within a voter, adds each voter's stake
// (saturating) to the approval stake of every candidate it names, and drops
// voters left without edges.
func setupInputs[A comparable](acc Accuracy, candidates []A, voters []Voter[A]) *engine {
	nCand := len(candidates)
	e := &engine{
		acc:      acc,
		nCand:    nCand,
		canon:    make([]int32, nCand),
		approval: make([]Uint128, nCand),
		backed:   make([]Uint128, nCand),
		elected:  make([]bool, nCand),
		round:    make([]int, nCand),
	}
	index := make(map[A]int32, nCand)
	for i, c := range candidates {
		index[c] = int32(i)
	}
	for i, c := range candidates {
		e.canon[i] = index[c]
	}
	totalEdges := 0
	for _, v := range voters {
		totalEdges += len(v.Targets)
	}
	e.eCand = make([]int32, 0, totalEdges)
	e.vSrc = make([]int32, 0, len(voters))
	e.budget = make([]Uint128, 0, len(voters))
	e.vStart = make([]int32, 0, len(voters))
	e.vEnd = make([]int32, 0, len(voters))
	// seen[c] == voter index + 1 marks c as already named by that voter, the
	// O(1) equivalent of upstream's `edges.iter().any(|e| e.who == v)`.
	seen := make([]int32, nCand)
	for vi, v := range voters {
		start := len(e.eCand)
		stake := U128(v.Stake)
		for _, t := range v.Targets {
			ci, ok := index[t]
			if !ok || seen[ci] == int32(vi+1) {
				continue
			}
			seen[ci] = int32(vi + 1)
			e.approval[ci] = e.approval[ci].AddSat(stake)
			e.eCand = append(e.eCand, ci)
		}
		if len(e.eCand) == start {
			continue
		}
		e.vSrc = append(e.vSrc, int32(vi))
		e.budget = append(e.budget, stake)
		e.vStart = append(e.vStart, int32(start))
		e.vEnd = append(e.vEnd, int32(len(e.eCand)))
	}
	e.eWeight = make([]Uint128, len(e.eCand))
	e.buildBackers()
	return e
}

// buildBackers groups edges by candidate with a counting sort, which keeps
// voter order inside each group.
func (e *engine) buildBackers() {
	nE := len(e.eCand)
	e.bStart = make([]int32, e.nCand+1)
	e.bEdge = make([]int32, nE)
	e.bVoter = make([]int32, nE)
	e.eVoter = make([]int32, nE)
	for v := range e.vStart {
		for k := e.vStart[v]; k < e.vEnd[v]; k++ {
			e.eVoter[k] = int32(v)
			e.bStart[e.eCand[k]+1]++
		}
	}
	for c := 0; c < e.nCand; c++ {
		e.bStart[c+1] += e.bStart[c]
	}
	fill := make([]int32, e.nCand)
	copy(fill, e.bStart[:e.nCand])
	for k := 0; k < nE; k++ {
		c := e.eCand[k]
		e.bEdge[fill[c]] = int32(k)
		e.bVoter[fill[c]] = e.eVoter[k]
		fill[c]++
	}
}

// backers returns the edges pointing to candidate c, in voter order.
func (e *engine) backers(c int32) []int32 {
	return e.bEdge[e.bStart[c]:e.bStart[c+1]]
}

// backerVoters returns the voters of backers(c), position by position.
func (e *engine) backerVoters(c int32) []int32 {
	return e.bVoter[e.bStart[c]:e.bStart[c+1]]
}

// tryNormalizeElected is Voter::try_normalize_elected: the weights of the
// voter's edges to elected candidates are normalised to its budget and the
// candidates' backed stakes follow the change.
func (e *engine) tryNormalizeElected(v int) error {
	vals := e.scratchVals[:0]
	var sum Uint128
	overflow := false
	for k := e.vStart[v]; k < e.vEnd[v]; k++ {
		if e.elected[e.eCand[k]] {
			w := e.eWeight[k]
			vals = append(vals, w)
			var ok bool
			if sum, ok = sum.CheckedAdd(w); !ok {
				overflow = true
			}
		}
	}
	e.scratchVals = vals
	if !overflow && sum == e.budget[v] {
		// normalize() returns the input unchanged; nothing to write back.
		return nil
	}
	// Normalise in place: vals is scratch.
	var err error
	if e.scratchSort, err = normalizeInto(vals, vals, e.budget[v], MaxUint128(), e.scratchSort); err != nil {
		return err
	}
	norm := vals
	i := 0
	for k := e.vStart[v]; k < e.vEnd[v]; k++ {
		c := e.eCand[k]
		if !e.elected[c] {
			continue
		}
		e.backed[c] = e.backed[c].SubSat(e.eWeight[k])
		e.eWeight[k] = norm[i]
		e.backed[c] = e.backed[c].AddSat(norm[i])
		i++
	}
	return nil
}

// intoAssignments is Voter::into_assignment followed by
// Assignment::try_normalize for every voter, in voter order.
func intoAssignments[A comparable](e *engine, candidates []A, voters []Voter[A]) ([]Assignment[A], error) {
	out := make([]Assignment[A], 0, len(e.vSrc))
	one := e.acc.One()
	upper := e.acc.upperMax()
	var parts []Uint128
	var edges []int32 // the edge of each entry of parts
	var sortBuf []idxVal
	for v := range e.vSrc {
		parts, edges = parts[:0], edges[:0]
		var sum Uint128
		for k := e.vStart[v]; k < e.vEnd[v]; k++ {
			if p := e.acc.FromRational(e.eWeight[k], e.budget[v]); p != 0 {
				parts = append(parts, U128(p))
				edges = append(edges, k)
				sum = sum.AddSat(U128(p))
			}
		}
		if len(parts) == 0 {
			continue
		}
		// try_normalize: skipped when the parts already add up to One()
		// (normalize returns them unchanged then).
		if sum != U128(one) {
			var err error
			if sortBuf, err = normalizeInto(parts, parts, U128(one), upper, sortBuf); err != nil {
				return nil, fmt.Errorf("normalize assignment of voter %d: %w: %w", e.vSrc[v], ErrArithmetic, err)
			}
		}
		src := voters[e.vSrc[v]]
		dist := make([]RatioEdge[A], len(parts))
		for i, p := range parts {
			// saturated_into::<Inner>() then from_parts: both clamp.
			n := one
			if p.Hi == 0 && p.Lo < one {
				n = p.Lo
			}
			dist[i] = RatioEdge[A]{Target: candidates[e.eCand[edges[i]]], Parts: n}
		}
		out = append(out, Assignment[A]{Voter: src.ID, Stake: src.Stake, Distribution: dist})
	}
	return out, nil
}

// acc192 is an exact 192-bit accumulator. seq-Phragmén keeps each
// candidate's score numerator as an exact sum and saturates only when it is
// read, which equals upstream's saturating running sum because every term is
// non-negative.
type acc192 struct{ w0, w1, w2 uint64 }

func (a *acc192) add(v Uint128) {
	var c uint64
	a.w0, c = bits.Add64(a.w0, v.Lo, 0)
	a.w1, c = bits.Add64(a.w1, v.Hi, c)
	a.w2 += c
}

func (a *acc192) sub(v Uint128) {
	var b uint64
	a.w0, b = bits.Sub64(a.w0, v.Lo, 0)
	a.w1, b = bits.Sub64(a.w1, v.Hi, b)
	a.w2 -= b
}

// plusSat returns base + a clamped to u128::MAX.
func (a *acc192) plusSat(base Uint128) Uint128 {
	if a.w2 != 0 {
		return MaxUint128()
	}
	return base.AddSat(Uint128{a.w1, a.w0})
}
