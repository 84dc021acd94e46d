package npos

// balance is upstream's balancing::balance (star balancing): every round
// balances all voters once, in input order, and the loop stops after
// cfg.Iterations rounds or as soon as no voter's spread exceeded the
// tolerance. It returns the number of rounds run.
func (e *engine) balance(cfg BalancingConfig) int {
	if cfg.Iterations <= 0 {
		return 0
	}
	iter := 0
	for {
		var maxDiff Uint128
		for v := range e.vSrc {
			if d := e.balanceVoter(v, cfg.Tolerance); maxDiff.Less(d) {
				maxDiff = d
			}
		}
		iter++
		if !cfg.Tolerance.Less(maxDiff) || iter >= cfg.Iterations {
			return iter
		}
	}
}

// balanceVoter is upstream's balance_voter: take the voter's stake off all
// its elected edges, then pour it back onto the least backed of them so that
// they end up level (water filling), in order of backed stake with ties kept
// in edge order (Rust's sort_by_key is stable). All arithmetic saturates
// exactly where upstream's does.
func (e *engine) balanceVoter(v int, tolerance Uint128) Uint128 {
	edges := e.scratchEdges[:0]
	for k := e.vStart[v]; k < e.vEnd[v]; k++ {
		if e.elected[e.eCand[k]] {
			edges = append(edges, k)
		}
	}
	e.scratchEdges = edges
	// Either empty, or a single (self) vote: nothing to balance.
	if len(edges) <= 1 {
		return Uint128{}
	}
	budget := e.budget[v]

	var stakeUsed Uint128
	minStake := e.backed[e.eCand[edges[0]]]
	var maxBacking Uint128
	hasBacking := false
	for _, k := range edges {
		w := e.eWeight[k]
		stakeUsed = stakeUsed.AddSat(w)
		b := e.backed[e.eCand[k]]
		if b.Less(minStake) {
			minStake = b
		}
		if !w.IsZero() {
			if !hasBacking || maxBacking.Less(b) {
				maxBacking = b
			}
			hasBacking = true
		}
	}
	var difference Uint128
	if hasBacking {
		difference = maxBacking.SubSat(minStake).AddSat(budget.SubSat(stakeUsed))
		if difference.Less(tolerance) {
			return difference
		}
	} else {
		difference = budget
	}

	// Remove all backings of this voter.
	for _, k := range edges {
		c := e.eCand[k]
		e.backed[c] = e.backed[c].SubSat(e.eWeight[k])
		e.eWeight[k] = Uint128{}
	}

	// Stable insertion sort by the candidates' remaining backed stake; the
	// lists are a voter's votes (at most a few dozen).
	for i := 1; i < len(edges); i++ {
		for j := i; j > 0 && e.backed[e.eCand[edges[j]]].Less(e.backed[e.eCand[edges[j-1]]]); j-- {
			edges[j], edges[j-1] = edges[j-1], edges[j]
		}
	}

	var cumulative Uint128
	lastIndex := len(edges) - 1
	for index, k := range edges {
		bs := e.backed[e.eCand[k]]
		temp := bs.MulSat(U128(uint64(index)))
		if budget.Less(temp.SubSat(cumulative)) {
			// index.saturating_sub(1); index > 0 here since temp is 0 at 0.
			lastIndex = max(index-1, 0)
			break
		}
		cumulative = cumulative.AddSat(bs)
	}

	lastStake := e.backed[e.eCand[edges[lastIndex]]]
	ways := U128(uint64(lastIndex + 1))
	excess := budget.AddSat(cumulative).SubSat(lastStake.MulSat(ways))
	share := excess.Quo(ways)
	for _, k := range edges[:lastIndex+1] {
		c := e.eCand[k]
		w := share.AddSat(lastStake).SubSat(e.backed[c])
		e.eWeight[k] = w
		e.backed[c] = e.backed[c].AddSat(w)
	}

	// excess / ways can leave the voter slightly under-spent; upstream
	// re-normalises and ignores failure, since an un-normalised voter is not
	// corrupt.
	_ = e.tryNormalizeElected(v)
	return difference
}
