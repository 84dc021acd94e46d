package npos

import (
	"fmt"
	"math"
)

// Reduce is upstream's reduce: it removes redundant edges from staked
// assignments without changing any voter's total or any target's total
// backing, first by cancelling cycles of length four (reduce_4), then by
// cancelling every remaining cycle (reduce_all). It modifies assignments in
// place and returns the number of edges removed.
//
// The traversal, the choice of the minimum edge of each cycle and the tree
// re-organisation follow upstream step by step, so the output is identical
// to upstream's, including its quirks: when several edges tie for the
// minimum of a 4-cycle the last one is cut, in longer cycles the first one;
// a repeated target inside one distribution is kept and only its first
// entry is ever updated; and identifiers are compared by value regardless of
// role (a voter and a target with the same identifier match), as upstream
// does when re-organising the tree.
//
// Voters must be unique: upstream panics or corrupts the result otherwise,
// here ErrDuplicateVoter is returned before anything is changed. Where
// upstream would panic on corrupt input, ErrCorruptAssignments is returned
// and assignments may be partially reduced.
func Reduce[A comparable](assignments []StakedAssignment[A]) (int, error) {
	r, ids, err := newReducer(assignments)
	if err != nil {
		return 0, fmt.Errorf("reduce: %w", err)
	}
	n4, err := r.reduce4()
	if err == nil {
		var nAll int
		nAll, err = r.reduceAll()
		n4 += nAll
	}
	// Write back even after an error so the slices stay consistent.
	for v := range assignments {
		d := r.dist[v]
		out := make([]StakedEdge[A], len(d))
		for i, x := range d {
			out[i] = StakedEdge[A]{Target: ids[x.t], Stake: x.w}
		}
		assignments[v].Distribution = out
	}
	if err != nil {
		return n4, fmt.Errorf("reduce: %w", err)
	}
	return n4, nil
}

type redEdge struct {
	t int32 // target index
	w Uint128
}

// reducer is the index-based state of reduce. Nodes 0..nV-1 are voters
// (assignment order), nodes nV.. are targets (first-appearance order).
type reducer struct {
	nV   int
	dist [][]redEdge
	// uid[node] identifies the account of a node: a voter and a target with
	// the same identifier share a uid, which upstream's by-value comparisons
	// rely on.
	uid     []int32
	parent  []int32
	created []bool
	visited []uint32
	stamp   uint32
	pathA   []int32
	pathB   []int32
}

func newReducer[A comparable](assignments []StakedAssignment[A]) (*reducer, []A, error) {
	nV := len(assignments)
	edges := 0
	for _, a := range assignments {
		edges += len(a.Distribution)
	}
	if nV+edges >= math.MaxInt32 {
		return nil, nil, fmt.Errorf("%d voters and %d edges: %w", nV, edges, ErrTooLarge)
	}
	uidOf := make(map[A]int32, nV)
	voterUID := make([]int32, nV)
	for i, a := range assignments {
		if _, dup := uidOf[a.Voter]; dup {
			return nil, nil, fmt.Errorf("voter at %d: %w", i, ErrDuplicateVoter)
		}
		uidOf[a.Voter] = int32(len(uidOf))
		voterUID[i] = uidOf[a.Voter]
	}
	targetIndex := make(map[A]int32)
	var ids []A
	var targetUID []int32
	dist := make([][]redEdge, nV)
	for i, a := range assignments {
		d := make([]redEdge, len(a.Distribution))
		for j, e := range a.Distribution {
			t, ok := targetIndex[e.Target]
			if !ok {
				t = int32(len(ids))
				targetIndex[e.Target] = t
				ids = append(ids, e.Target)
				u, known := uidOf[e.Target]
				if !known {
					u = int32(len(uidOf))
					uidOf[e.Target] = u
				}
				targetUID = append(targetUID, u)
			}
			d[j] = redEdge{t: t, w: e.Stake}
		}
		dist[i] = d
	}
	nodes := nV + len(ids)
	r := &reducer{
		nV:      nV,
		dist:    dist,
		uid:     append(voterUID, targetUID...),
		parent:  make([]int32, nodes),
		created: make([]bool, nodes),
		visited: make([]uint32, nodes),
	}
	for i := range r.parent {
		r.parent[i] = -1
	}
	return r, ids, nil
}

// firstPos returns the position of the first entry of voter v whose target
// has account uid u, or -1 (upstream's `position`/`find` by identifier).
func (r *reducer) firstPos(v int, u int32) int {
	for i, e := range r.dist[v] {
		if r.uid[r.nV+int(e.t)] == u {
			return i
		}
	}
	return -1
}

func (r *reducer) removeAt(v, pos int) {
	d := r.dist[v]
	r.dist[v] = append(d[:pos], d[pos+1:]...)
}

// reduce4 is upstream's reduce_4.
func (r *reducer) reduce4() (int, error) {
	// Keyed by the ordered pair of targets as it appears in a distribution:
	// upstream's BTreeMap<(A, A), A> treats (a, b) and (b, a) as different.
	comb := make(map[uint64]int32, r.nV*4)
	changed := 0
	var ids []int32
	for ai := 0; ai < r.nV; ai++ {
		ids = ids[:0]
		for _, e := range r.dist[ai] {
			ids = append(ids, e.t)
		}
		for i := 0; i < len(ids); i++ {
			for j := i + 1; j < len(ids); j++ {
				v1, v2 := ids[i], ids[j]
				key := uint64(uint32(v1))<<32 | uint64(uint32(v2))
				other, ok := comb[key]
				if !ok {
					comb[key] = int32(ai)
					continue
				}
				// The pair may have been cut from this voter meanwhile; more
				// than two matches means duplicates.
				if r.countPair(ai, v1, v2) != 2 {
					continue
				}
				otherCycle, nOther := r.pairEntries(int(other), v1, v2)
				if nOther < 2 {
					// Not a cycle: this voter takes over the pair.
					comb[key] = int32(ai)
					continue
				}
				if nOther > 2 {
					continue
				}
				whoCycle, _ := r.pairEntries(ai, v1, v2)
				// Align the targets of both halves.
				if otherCycle[0].t != whoCycle[0].t {
					otherCycle[0], otherCycle[1] = otherCycle[1], otherCycle[0]
				}
				cycle := [4]redEdge{whoCycle[0], whoCycle[1], otherCycle[0], otherCycle[1]}
				minValue := MaxUint128()
				minIndex := 0
				for idx, c := range cycle {
					// `<=`: the last of equal minima wins.
					if !minValue.Less(c.w) {
						minValue, minIndex = c.w, idx
					}
				}
				var increase, decrease [2]int
				if minIndex < 2 {
					sibling := 1 - minIndex
					increase = [2]int{sibling, minIndex + 2}
					decrease = [2]int{minIndex, sibling + 2}
				} else {
					sibling := 3 - minIndex%2
					increase = [2]int{sibling, minIndex - 2}
					decrease = [2]int{minIndex, sibling - 2}
				}
				voterOf := func(i int) int {
					if i < 2 {
						return ai
					}
					return int(other)
				}
				for _, i := range increase {
					v := voterOf(i)
					if pos := r.firstTarget(v, cycle[i].t); pos >= 0 {
						r.dist[v][pos].w = r.dist[v][pos].w.AddSat(minValue)
					}
				}
				whoRemoved, otherRemoved := false, false
				for _, i := range decrease {
					v := voterOf(i)
					pos := r.firstTarget(v, cycle[i].t)
					if pos < 0 {
						continue
					}
					next := r.dist[v][pos].w.SubSat(minValue)
					if next.IsZero() {
						r.removeAt(v, pos)
						changed++
						if i < 2 {
							whoRemoved = true
						} else {
							otherRemoved = true
						}
					} else {
						r.dist[v][pos].w = next
					}
				}
				switch {
				case !whoRemoved && otherRemoved:
					comb[key] = int32(ai)
				case whoRemoved && !otherRemoved:
					// other keeps the pair.
				case whoRemoved && otherRemoved:
					delete(comb, key)
				default:
					return changed, fmt.Errorf("reduce_4 removed no edge of a 4-cycle: %w", ErrCorruptAssignments)
				}
			}
		}
	}
	return changed, nil
}

func (r *reducer) countPair(v int, t1, t2 int32) int {
	n := 0
	for _, e := range r.dist[v] {
		if e.t == t1 || e.t == t2 {
			n++
		}
	}
	return n
}

// pairEntries returns the first two entries of voter v naming t1 or t2 and
// how many such entries there are.
func (r *reducer) pairEntries(v int, t1, t2 int32) ([2]redEdge, int) {
	var out [2]redEdge
	n := 0
	for _, e := range r.dist[v] {
		if e.t == t1 || e.t == t2 {
			if n < 2 {
				out[n] = e
			}
			n++
		}
	}
	return out, n
}

func (r *reducer) firstTarget(v int, t int32) int {
	for i, e := range r.dist[v] {
		if e.t == t {
			return i
		}
	}
	return -1
}

// root is Node::root: the path from start to its root, stopping before a
// node already on the path (parent cycles can exist transiently).
func (r *reducer) root(start int32, path []int32) (int32, []int32) {
	r.stamp++
	if r.stamp == 0 {
		clear(r.visited)
		r.stamp = 1
	}
	path = append(path[:0], start)
	r.visited[start] = r.stamp
	cur := start
	for {
		p := r.parent[cur]
		if p < 0 || r.visited[p] == r.stamp {
			return cur, path
		}
		path = append(path, p)
		r.visited[p] = r.stamp
		cur = p
	}
}

// merge is upstream's merge: the shorter path is reversed and hung below
// the start of the longer one.
func (r *reducer) merge(voterPath, targetPath []int32) {
	shorter, longer := voterPath, targetPath
	if len(voterPath) > len(targetPath) {
		shorter, longer = targetPath, voterPath
	}
	for i := 0; i+1 < len(shorter); i++ {
		r.parent[shorter[i+1]] = shorter[i]
	}
	r.parent[shorter[0]] = longer[0]
}

// reduceAll is upstream's reduce_all.
func (r *reducer) reduceAll() (int, error) {
	changed := 0
	var cycle []int32
	type pair struct{ a, b int32 }
	var additional []pair
	for ai := 0; ai < r.nV; ai++ {
		voterNode := int32(ai)
		distIndex := 0
		for distIndex < len(r.dist[ai]) {
			targetNode := int32(r.nV) + r.dist[ai][distIndex].t
			voterExists, targetExists := r.created[voterNode], r.created[targetNode]
			r.created[voterNode], r.created[targetNode] = true, true
			switch {
			case !voterExists && !targetExists, voterExists && !targetExists:
				r.parent[targetNode] = voterNode
				distIndex++
				continue
			case !voterExists && targetExists:
				r.parent[voterNode] = targetNode
				distIndex++
				continue
			}

			voterRoot, vp := r.root(voterNode, r.pathA)
			r.pathA = vp
			targetRoot, tp := r.root(targetNode, r.pathB)
			r.pathB = tp
			if voterRoot != targetRoot {
				r.merge(vp, tp)
				distIndex++
				continue
			}

			common := 0
			for common < len(vp) && common < len(tp) && vp[len(vp)-1-common] == tp[len(tp)-1-common] {
				common++
			}
			// The cycle always runs [target, …, voter].
			cycle = cycle[:0]
			cycle = append(cycle, tp[:min(len(tp), max(len(tp)-common, 0)+1)]...)
			for i := max(len(vp)-common, 0) - 1; i >= 0; i-- {
				cycle = append(cycle, vp[i])
			}
			n := len(cycle)
			nextIndex := func(i int) int {
				if i < n-1 {
					return i + 1
				}
				return 0
			}
			prevIndex := func(i int) int {
				if i > 0 {
					return i - 1
				}
				return n - 1
			}

			// Find the minimum edge of the cycle (first of equal minima).
			minValue := MaxUint128()
			found := false
			var minTargetUID, minVoterUID int32
			minIndex, minDirection := 0, 0
			for i := 0; i < n; i++ {
				cur := cycle[i]
				if int(cur) >= r.nV {
					continue
				}
				for _, dir := range [2]int{1, 0} {
					nb := cycle[prevIndex(i)]
					if dir == 1 {
						nb = cycle[nextIndex(i)]
					}
					if pos := r.firstPos(int(cur), r.uid[nb]); pos >= 0 {
						if w := r.dist[cur][pos].w; w.Less(minValue) {
							minValue, found = w, true
							minTargetUID, minVoterUID = r.uid[nb], r.uid[cur]
							minIndex, minDirection = i, dir
						}
					}
				}
			}
			if !found {
				// Upstream logs "UNREACHABLE" and abandons this voter.
				break
			}

			targetChunk := len(tp) - common
			minChainInVoter := minIndex+minDirection > targetChunk
			shouldIncCounter := true
			startOperationAdd := ((minIndex%2)+minDirection)%2 == 1
			additional = additional[:0]
			for i := 0; i < n; i++ {
				cur := cycle[i]
				if int(cur) >= r.nV {
					continue
				}
				v := int(cur)
				// The edge towards the previous node.
				prev := cycle[prevIndex(i)]
				if pos := r.firstPos(v, r.uid[prev]); pos >= 0 {
					add := startOperationAdd == (i%2 == 0)
					if r.applyCycleDelta(v, pos, minValue, add) {
						if v == ai {
							shouldIncCounter = false
						}
						changed++
						if !(i == minIndex && minDirection == 0) {
							additional = append(additional, pair{cur, prev})
						}
					}
				}
				// The edge towards the next node.
				next := cycle[nextIndex(i)]
				if pos := r.firstPos(v, r.uid[next]); pos >= 0 {
					add := startOperationAdd != (i%2 == 0)
					if r.applyCycleDelta(v, pos, minValue, add) {
						if v == ai {
							shouldIncCounter = false
						}
						changed++
						if !(i == minIndex && minDirection == 1) {
							additional = append(additional, pair{cur, next})
						}
					}
				}
			}

			// Re-organise the tree unless the minimum edge was the new edge
			// itself (always the last and first element of the cycle).
			if !(minIndex == n-1 && minDirection == 1) {
				onMinEdge := func(node int32) bool {
					u := r.uid[node]
					return u == minVoterUID || u == minTargetUID
				}
				if minChainInVoter {
					for i := 0; i+1 < len(vp); i++ {
						if onMinEdge(vp[i]) && onMinEdge(vp[i+1]) {
							break
						}
						r.parent[vp[i+1]] = vp[i]
					}
					r.parent[voterNode] = targetNode
				} else {
					for i := 0; i+1 < len(tp); i++ {
						if onMinEdge(tp[i]) && onMinEdge(tp[i+1]) {
							break
						}
						r.parent[tp[i+1]] = tp[i]
					}
					r.parent[targetNode] = voterNode
				}
			}

			// Detach every other edge that collapsed to zero.
			for _, p := range additional {
				if r.parent[p.a] == p.b {
					r.parent[p.a] = -1
				} else if r.parent[p.b] == p.a {
					r.parent[p.b] = -1
				}
			}
			if shouldIncCounter {
				distIndex++
			}
		}
	}
	return changed, nil
}

// applyCycleDelta adds (add) or subtracts the cycle's minimum on one edge,
// saturating, and removes the edge when it reaches zero (reporting true).
func (r *reducer) applyCycleDelta(v, pos int, delta Uint128, add bool) bool {
	w := r.dist[v][pos].w
	if add {
		w = w.AddSat(delta)
	} else {
		w = w.SubSat(delta)
	}
	if w.IsZero() {
		r.removeAt(v, pos)
		return true
	}
	r.dist[v][pos].w = w
	return false
}
