package npos

import (
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// A second, literal transcription of upstream's reduce.rs (pointer nodes,
// linear `find` over assignments, by-identifier comparisons) used as the
// differential reference for the index-based Reduce.

type refNodeID struct {
	who   string
	voter bool
}

type refNode struct {
	id     refNodeID
	parent *refNode
}

func refRoot(start *refNode) (*refNode, []*refNode) {
	path := []*refNode{start}
	visited := []*refNode{start}
	cur := start
	for cur.parent != nil {
		next := cur.parent
		if slices.Contains(visited, next) {
			break
		}
		path = append(path, next)
		cur = next
		visited = append(visited, cur)
	}
	return cur, path
}

type refSA struct {
	who  string
	dist []refSE
}

type refSE struct {
	t string
	w Uint128
}

func refFind(as []refSA, who string) int {
	for i := range as {
		if as[i].who == who {
			return i
		}
	}
	return -1
}

func refPos(d []refSE, t string) int {
	for i := range d {
		if d[i].t == t {
			return i
		}
	}
	return -1
}

func refReduce4(as []refSA) (int, bool) {
	type key struct{ a, b string }
	m := map[key]string{}
	changed := 0
	for ai := range as {
		who := as[ai].who
		var ids []string
		for _, d := range as[ai].dist {
			ids = append(ids, d.t)
		}
		for i := 0; i < len(ids); i++ {
			for j := i + 1; j < len(ids); j++ {
				v1, v2 := ids[i], ids[j]
				k := key{v1, v2}
				otherWho, ok := m[k]
				if !ok {
					m[k] = who
					continue
				}
				cnt := 0
				for _, d := range as[ai].dist {
					if d.t == v1 || d.t == v2 {
						cnt++
					}
				}
				if cnt != 2 {
					continue
				}
				oi := refFind(as, otherWho)
				if oi < 0 {
					continue
				}
				var other []refSE
				for _, d := range as[oi].dist {
					if d.t == v1 || d.t == v2 {
						other = append(other, d)
					}
				}
				if len(other) < 2 {
					m[k] = who
					continue
				}
				if len(other) != 2 {
					continue
				}
				var mine []refSE
				for _, d := range as[ai].dist {
					if d.t == v1 || d.t == v2 {
						mine = append(mine, d)
					}
				}
				if other[0].t != mine[0].t {
					other[0], other[1] = other[1], other[0]
				}
				cycle := append(append([]refSE{}, mine...), other...)
				minV, minI := MaxUint128(), 0
				for idx, c := range cycle {
					if !minV.Less(c.w) {
						minV, minI = c.w, idx
					}
				}
				var inc, dec []int
				dec = append(dec, minI)
				if minI < 2 {
					sib := 1 - minI
					inc = append(inc, sib)
					dec = append(dec, sib+2)
					inc = append(inc, minI+2)
				} else {
					sib := 3 - minI%2
					inc = append(inc, sib)
					dec = append(dec, sib-2)
					inc = append(inc, minI-2)
				}
				voterOf := func(i int) string {
					if i < 2 {
						return who
					}
					return otherWho
				}
				for _, i := range inc {
					for x := range as {
						if as[x].who == voterOf(i) {
							if p := refPos(as[x].dist, cycle[i].t); p >= 0 {
								as[x].dist[p].w = as[x].dist[p].w.AddSat(minV)
							}
						}
					}
				}
				var removed []int
				for _, i := range dec {
					for x := range as {
						if as[x].who == voterOf(i) {
							if p := refPos(as[x].dist, cycle[i].t); p >= 0 {
								nv := as[x].dist[p].w.SubSat(minV)
								if nv.IsZero() {
									as[x].dist = slices.Delete(as[x].dist, p, p+1)
									removed = append(removed, i)
									changed++
								} else {
									as[x].dist[p].w = nv
								}
							}
						}
					}
				}
				wr := slices.ContainsFunc(removed, func(i int) bool { return i < 2 })
				or := slices.ContainsFunc(removed, func(i int) bool { return i >= 2 })
				switch {
				case !wr && or:
					m[k] = who
				case wr && !or:
				case wr && or:
					delete(m, k)
				default:
					return changed, false
				}
			}
		}
	}
	return changed, true
}

func refReduceAll(as []refSA) int {
	changed := 0
	tree := map[refNodeID]*refNode{}
	for ai := range as {
		voter := as[ai].who
		di := 0
		for di < len(as[ai].dist) {
			target := as[ai].dist[di].t
			vid, tid := refNodeID{voter, true}, refNodeID{target, false}
			_, vEx := tree[vid]
			_, tEx := tree[tid]
			if !vEx {
				tree[vid] = &refNode{id: vid}
			}
			if !tEx {
				tree[tid] = &refNode{id: tid}
			}
			vn, tn := tree[vid], tree[tid]
			if !vEx || !tEx {
				if !vEx && tEx {
					vn.parent = tn
				} else {
					tn.parent = vn
				}
				di++
				continue
			}
			vr, vp := refRoot(vn)
			tr, tp := refRoot(tn)
			if vr != tr {
				short, long := vp, tp
				if len(vp) > len(tp) {
					short, long = tp, vp
				}
				for i := 0; i+1 < len(short); i++ {
					short[i+1].parent = short[i]
				}
				short[0].parent = long[0]
				di++
				continue
			}
			common := 0
			for common < len(vp) && common < len(tp) && vp[len(vp)-1-common] == tp[len(tp)-1-common] {
				common++
			}
			var cycle []*refNode
			cycle = append(cycle, tp[:min(len(tp), max(len(tp)-common, 0)+1)]...)
			for i := max(len(vp)-common, 0) - 1; i >= 0; i-- {
				cycle = append(cycle, vp[i])
			}
			n := len(cycle)
			next := func(i int) int {
				if i < n-1 {
					return i + 1
				}
				return 0
			}
			prev := func(i int) int {
				if i > 0 {
					return i - 1
				}
				return n - 1
			}
			minV := MaxUint128()
			var minT, minVo string
			minI, minD, found := 0, 0, false
			for i := 0; i < n; i++ {
				if !cycle[i].id.voter {
					continue
				}
				cur := cycle[i].id.who
				for _, dir := range []int{1, 0} {
					nb := cycle[prev(i)].id.who
					if dir == 1 {
						nb = cycle[next(i)].id.who
					}
					if x := refFind(as, cur); x >= 0 {
						if p := refPos(as[x].dist, nb); p >= 0 && as[x].dist[p].w.Less(minV) {
							minV, minT, minVo, minI, minD, found = as[x].dist[p].w, nb, cur, i, dir, true
						}
					}
				}
			}
			if !found {
				break
			}
			targetChunk := len(tp) - common
			minInVoter := minI+minD > targetChunk
			inc := true
			startAdd := ((minI%2)+minD)%2 == 1
			type pr struct{ a, b *refNode }
			var extra []pr
			for i := 0; i < n; i++ {
				cur := cycle[i]
				if !cur.id.voter {
					continue
				}
				for _, side := range []int{0, 1} {
					nbI := prev(i)
					add := startAdd == (i%2 == 0)
					if side == 1 {
						nbI = next(i)
						add = startAdd != (i%2 == 0)
					}
					for x := range as {
						if as[x].who != cur.id.who {
							continue
						}
						p := refPos(as[x].dist, cycle[nbI].id.who)
						if p < 0 {
							continue
						}
						w := as[x].dist[p].w
						if add {
							w = w.AddSat(minV)
						} else {
							w = w.SubSat(minV)
						}
						if w.IsZero() {
							if x == ai {
								inc = false
							}
							as[x].dist = slices.Delete(as[x].dist, p, p+1)
							changed++
							if !(i == minI && minD == side) {
								extra = append(extra, pr{cycle[i], cycle[nbI]})
							}
						} else {
							as[x].dist[p].w = w
						}
					}
				}
			}
			if !(minI == n-1 && minD == 1) {
				onMin := func(x *refNode) bool { return x.id.who == minVo || x.id.who == minT }
				if minInVoter {
					for i := 0; i+1 < len(vp); i++ {
						if onMin(vp[i]) && onMin(vp[i+1]) {
							break
						}
						vp[i+1].parent = vp[i]
					}
					vn.parent = tn
				} else {
					for i := 0; i+1 < len(tp); i++ {
						if onMin(tp[i]) && onMin(tp[i+1]) {
							break
						}
						tp[i+1].parent = tp[i]
					}
					tn.parent = vn
				}
			}
			for _, p := range extra {
				if p.a.parent == p.b {
					p.a.parent = nil
				} else if p.b.parent == p.a {
					p.b.parent = nil
				}
			}
			if inc {
				di++
			}
		}
	}
	return changed
}

// TestNposReduceDifferential compares Reduce with the literal transcription
// on random staked assignments (unique voters; duplicate targets and
// voter/target identifier clashes included).
func TestNposReduceDifferential(t *testing.T) {
	r := &splitmix64{11}
	iters := 20000
	if testing.Short() {
		iters = 2000
	}
	for it := 0; it < iters; it++ {
		nv, nt := 1+r.intn(30), 1+r.intn(10)
		var as []StakedAssignment[string]
		var ref []refSA
		for i := 0; i < nv; i++ {
			who := "v" + strconv.Itoa(i)
			if r.intn(8) == 0 {
				who = "t" + strconv.Itoa(i) // clashes with a target identifier
			}
			k := r.intn(6)
			if r.intn(3) == 0 {
				k = 2 + r.intn(3)
			}
			var d []StakedEdge[string]
			var rd []refSE
			for j := 0; j < k; j++ {
				tg := "t" + strconv.Itoa(r.intn(nt))
				w := U128(uint64(r.intn(50)))
				if r.intn(5) == 0 {
					w = U128(r.next() >> 4)
				}
				d = append(d, StakedEdge[string]{tg, w})
				rd = append(rd, refSE{tg, w})
			}
			as = append(as, StakedAssignment[string]{Voter: who, Distribution: d})
			ref = append(ref, refSA{who, rd})
		}
		n4, ok := refReduce4(ref)
		want := -1
		if ok {
			want = n4 + refReduceAll(ref)
		}
		got, err := Reduce(as)
		if (err == nil) != ok {
			t.Fatalf("#%d: err %v, reference ok %v", it, err, ok)
		}
		if err != nil {
			continue
		}
		if got != want {
			t.Fatalf("#%d: removed %d, reference %d", it, got, want)
		}
		for i := range as {
			var rd []refSE
			for _, d := range as[i].Distribution {
				rd = append(rd, refSE{d.Target, d.Stake})
			}
			if !reflect.DeepEqual(rd, ref[i].dist) && (len(rd) != 0 || len(ref[i].dist) != 0) {
				t.Fatalf("#%d voter %s: %v, reference %v", it, as[i].Voter, rd, ref[i].dist)
			}
		}
	}
}
