package npos

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// The tests in this file restate the assertions of Substrate's own unit
// tests (substrate/primitives/npos-elections/src/{tests,phragmms,reduce}.rs
// in paritytech/polkadot-sdk); each test names its upstream counterpart.

type tv = Voter[uint64]

// votersWithStakes builds voters like upstream's create_stake_of helper.
func votersWithStakes(votes [][]uint64, stakes map[uint64]uint64) []tv {
	out := make([]tv, len(votes))
	for i, v := range votes {
		out[i] = tv{ID: v[0], Stake: stakes[v[0]], Targets: v[1:]}
	}
	return out
}

// selfVoters is upstream's auto_generate_self_voters.
func selfVoters(cands []uint64) [][]uint64 {
	out := make([][]uint64, len(cands))
	for i, c := range cands {
		out[i] = []uint64{c, c}
	}
	return out
}

type winnerWant struct {
	id     uint64
	backed string
	round  int
}

func checkWinners(t *testing.T, got []Winner[uint64], want []winnerWant, ordered bool) {
	t.Helper()
	g := make([]string, len(got))
	for i, w := range got {
		g[i] = fmt.Sprintf("%d:%s:%d", w.ID, w.BackedStake, w.Round)
	}
	wn := make([]string, len(want))
	for i, w := range want {
		wn[i] = fmt.Sprintf("%d:%s:%d", w.id, w.backed, w.round)
	}
	if !ordered {
		slices.Sort(g)
		slices.Sort(wn)
	}
	if !slices.Equal(g, wn) {
		t.Fatalf("winners %v, want %v", g, wn)
	}
}

type assignWant struct {
	who  uint64
	dist [][2]uint64 // target, parts
}

func checkAssignments(t *testing.T, got []Assignment[uint64], want []assignWant) {
	t.Helper()
	var g []assignWant
	for _, a := range got {
		var d [][2]uint64
		for _, x := range a.Distribution {
			d = append(d, [2]uint64{x.Target, x.Parts})
		}
		g = append(g, assignWant{a.Voter, d})
	}
	if !reflect.DeepEqual(g, want) {
		t.Fatalf("assignments %v, want %v", g, want)
	}
}

func checkAssignmentsSum(t *testing.T, res ElectionResult[uint64]) {
	t.Helper()
	for _, a := range res.Assignments {
		var s uint64
		for _, d := range a.Distribution {
			s += d.Parts
		}
		if s != res.Accuracy.One() {
			t.Fatalf("assignment of %d sums to %d", a.Voter, s)
		}
	}
}

const billion = 1_000_000_000

// phragmen_poc_works and phragmen_core_poc_works.
func TestNposUpstreamPhragmenPoc(t *testing.T) {
	voters := votersWithStakes([][]uint64{{10, 1, 2}, {20, 1, 3}, {30, 2, 3}}, map[uint64]uint64{10: 10, 20: 20, 30: 30})
	res, err := SeqPhragmen(2, []uint64{1, 2, 3}, voters, nil, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	checkWinners(t, res.Winners, []winnerWant{{3, "35", 0}, {2, "25", 1}}, true)
	checkAssignments(t, res.Assignments, []assignWant{
		{10, [][2]uint64{{2, billion}}}, {20, [][2]uint64{{3, billion}}}, {30, [][2]uint64{{2, billion / 2}, {3, billion / 2}}},
	})
	staked := AssignmentRatioToStaked(Perbill, res.Assignments)
	want := []StakedAssignment[uint64]{
		{Voter: 10, Distribution: []StakedEdge[uint64]{{2, U128(10)}}},
		{Voter: 20, Distribution: []StakedEdge[uint64]{{3, U128(20)}}},
		{Voter: 30, Distribution: []StakedEdge[uint64]{{2, U128(15)}, {3, U128(15)}}},
	}
	if !reflect.DeepEqual(staked, want) {
		t.Fatalf("staked %v", staked)
	}
	sup := ToSupports(staked)
	if sup[0].Target != 2 || sup[0].Total != U128(25) || sup[1].Target != 3 || sup[1].Total != U128(35) {
		t.Fatalf("supports %v", sup)
	}
}

// phragmen_poc_works_with_balancing.
func TestNposUpstreamPhragmenPocBalancing(t *testing.T) {
	voters := votersWithStakes([][]uint64{{10, 1, 2}, {20, 1, 3}, {30, 2, 3}}, map[uint64]uint64{10: 10, 20: 20, 30: 30})
	res, err := SeqPhragmen(2, []uint64{1, 2, 3}, voters, &BalancingConfig{Iterations: 4}, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	checkWinners(t, res.Winners, []winnerWant{{3, "30", 0}, {2, "30", 1}}, true)
	checkAssignments(t, res.Assignments, []assignWant{
		{10, [][2]uint64{{2, billion}}}, {20, [][2]uint64{{3, billion}}}, {30, [][2]uint64{{2, 666666666}, {3, 333333334}}},
	})
	staked := AssignmentRatioToStaked(Perbill, res.Assignments)
	if staked[2].Distribution[0].Stake != U128(20) || staked[2].Distribution[1].Stake != U128(10) {
		t.Fatalf("staked %v", staked)
	}
}

// balancing_core_works: seq_phragmen_core(4) then balance(4 iterations).
func TestNposUpstreamBalancingCore(t *testing.T) {
	voters := []tv{
		{10, 10, []uint64{1, 2}}, {20, 20, []uint64{1, 3}}, {30, 30, []uint64{1, 2, 3, 4}},
		{40, 40, []uint64{1, 3, 4, 5}}, {50, 50, []uint64{2, 4, 5}},
	}
	e := setupInputs(Perbill, []uint64{1, 2, 3, 4, 5}, voters)
	if err := e.seqPhragmenCore(4); err != nil {
		t.Fatal(err)
	}
	if iters := e.balance(BalancingConfig{Iterations: 4}); iters == 0 {
		t.Fatal("no balancing iteration")
	}
	want := [][][2]uint64{
		{{1, 9}, {2, 1}}, {{1, 9}, {3, 11}}, {{1, 8}, {2, 7}, {3, 8}, {4, 7}}, {{1, 11}, {3, 18}, {4, 11}}, {{2, 30}, {4, 20}},
	}
	cands := []uint64{1, 2, 3, 4, 5}
	for v := range e.vSrc {
		var got [][2]uint64
		for k := e.vStart[v]; k < e.vEnd[v]; k++ {
			got = append(got, [2]uint64{cands[e.eCand[k]], e.eWeight[k].Lo})
		}
		if !reflect.DeepEqual(got, want[v]) {
			t.Fatalf("voter %d edges %v, want %v", v, got, want[v])
		}
	}
	wantC := []struct {
		elected bool
		round   int
		backed  uint64
	}{{true, 1, 37}, {true, 2, 38}, {true, 3, 37}, {true, 0, 38}, {false, 0, 0}}
	for c, w := range wantC {
		if e.elected[c] != w.elected || e.round[c] != w.round || e.backed[c] != U128(w.backed) {
			t.Fatalf("candidate %d: %v %d %s", cands[c], e.elected[c], e.round[c], e.backed[c])
		}
	}
}

// phragmen_core_test_without_edges.
func TestNposUpstreamCoreWithoutEdges(t *testing.T) {
	e := setupInputs(Perbill, []uint64{1, 2, 3}, []tv{{10, 10, nil}, {20, 20, nil}, {30, 30, nil}})
	if len(e.vSrc) != 0 {
		t.Fatal("voters without edges must be dropped")
	}
}

// phragmen_accuracy_on_large_scale_only_candidates.
func TestNposUpstreamLargeScaleOnlyCandidates(t *testing.T) {
	cands := []uint64{1, 2, 3, 4, 5}
	m := ^uint64(0)
	stakes := map[uint64]uint64{1: m - 1, 2: m - 4, 3: m - 5, 4: m - 3, 5: m - 2}
	res, err := SeqPhragmen(2, cands, votersWithStakes(selfVoters(cands), stakes), nil, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	checkWinners(t, res.Winners, []winnerWant{{1, "18446744073709551614", 0}, {5, "18446744073709551613", 1}}, false)
	if len(res.Assignments) != 2 {
		t.Fatal(res.Assignments)
	}
	checkAssignmentsSum(t, res)
}

// phragmen_accuracy_on_large_scale_voters_and_candidates.
func TestNposUpstreamLargeScaleVotersAndCandidates(t *testing.T) {
	cands := []uint64{1, 2, 3, 4, 5}
	votes := append([][]uint64{{13, 1, 3, 5}, {14, 2, 4}}, selfVoters(cands)...)
	m := ^uint64(0)
	stakes := map[uint64]uint64{1: m - 1, 2: m - 4, 3: m - 5, 4: m - 3, 5: m - 2, 13: m - 10, 14: m}
	res, err := SeqPhragmen(2, cands, votersWithStakes(votes, stakes), nil, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	checkWinners(t, res.Winners, []winnerWant{{2, "36893488147419103226", 0}, {1, "36893488147419103219", 1}}, false)
	checkAssignments(t, res.Assignments, []assignWant{
		{13, [][2]uint64{{1, billion}}}, {14, [][2]uint64{{2, billion}}}, {1, [][2]uint64{{1, billion}}}, {2, [][2]uint64{{2, billion}}},
	})
}

// phragmen_accuracy_on_small_scale_self_vote and _no_self_vote.
func TestNposUpstreamSmallScale(t *testing.T) {
	cands := []uint64{40, 10, 20, 30}
	res, err := SeqPhragmen(3, cands, votersWithStakes(selfVoters(cands), map[uint64]uint64{40: 0, 10: 1, 20: 2, 30: 1}), nil, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	checkWinners(t, res.Winners, []winnerWant{{20, "2", 0}, {10, "1", 1}, {30, "1", 2}}, false)
	checkAssignmentsSum(t, res)

	votes := [][]uint64{{1, 10}, {2, 20}, {3, 30}, {4, 40}}
	res, err = SeqPhragmen(3, cands, votersWithStakes(votes, map[uint64]uint64{4: 0, 1: 1, 2: 2, 3: 1}), nil, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	checkWinners(t, res.Winners, []winnerWant{{20, "2", 0}, {10, "1", 1}, {30, "1", 2}}, false)
	checkAssignmentsSum(t, res)
}

// phragmen_large_scale_test and phragmen_large_scale_test_2.
func TestNposUpstreamLargeScale(t *testing.T) {
	cands := []uint64{2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24}
	votes := append([][]uint64{append([]uint64{50}, cands...)}, selfVoters(cands)...)
	stakes := map[uint64]uint64{
		2: 1, 4: 100, 6: 1000000, 8: 100000000001000, 10: 100000000002000, 12: 100000000003000,
		14: 400000000000000, 16: 400000000001000, 18: 18000000000000000, 20: 20000000000000000,
		22: 500000000000100000, 24: 500000000000200000, 50: 990000000000000000,
	}
	res, err := SeqPhragmen(2, cands, votersWithStakes(votes, stakes), nil, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	ids := []uint64{res.Winners[0].ID, res.Winners[1].ID}
	slices.Sort(ids)
	if !slices.Equal(ids, []uint64{22, 24}) {
		t.Fatal(ids)
	}
	checkAssignmentsSum(t, res)

	cands = []uint64{2, 4}
	votes = append([][]uint64{{50, 2, 4}}, selfVoters(cands)...)
	res, err = SeqPhragmen(2, cands, votersWithStakes(votes, map[uint64]uint64{2: 4_000_000, 4: 4_000_000, 50: 1_000_000_000_000_000_000}), nil, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	checkWinners(t, res.Winners, []winnerWant{{2, "500000000005000000", 0}, {4, "500000000003000000", 1}}, false)
	checkAssignments(t, res.Assignments, []assignWant{
		{50, [][2]uint64{{2, 500000000}, {4, 500000000}}}, {2, [][2]uint64{{2, billion}}}, {4, [][2]uint64{{4, billion}}},
	})
}

// elect_has_no_entry_barrier: a candidate nobody votes for is elected last
// with zero backing when to_elect allows it.
func TestNposUpstreamNoEntryBarrier(t *testing.T) {
	res, err := SeqPhragmen(3, []uint64{10, 20, 30}, votersWithStakes([][]uint64{{1, 10}, {2, 20}}, map[uint64]uint64{1: 10, 2: 10}), nil, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	checkWinners(t, res.Winners, []winnerWant{{10, "10", 0}, {20, "10", 1}, {30, "0", 2}}, false)
}

// phragmen_self_votes_should_be_kept.
func TestNposUpstreamSelfVotesKept(t *testing.T) {
	votes := [][]uint64{{5, 5}, {10, 10}, {20, 20}, {1, 10, 20}}
	res, err := SeqPhragmen(2, []uint64{5, 10, 20, 30}, votersWithStakes(votes, map[uint64]uint64{5: 5, 10: 10, 20: 20, 1: 8}), nil, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	checkWinners(t, res.Winners, []winnerWant{{20, "24", 0}, {10, "14", 1}}, true)
	sup := OrderSupports(ToSupports(AssignmentRatioToStaked(Perbill, res.Assignments)), []uint64{10, 20})
	if len(sup) != 2 || sup[0].Total != U128(14) || sup[1].Total != U128(24) ||
		!reflect.DeepEqual(sup[0].Voters, []Backing[uint64]{{10, U128(10)}, {1, U128(4)}}) {
		t.Fatalf("supports %v", sup)
	}
}

// duplicate_target_is_ignored and duplicate_target_is_ignored_when_winner.
func TestNposUpstreamDuplicateTargets(t *testing.T) {
	res, err := SeqPhragmen(2, []uint64{1, 2, 3}, []tv{{10, 100, []uint64{1, 1, 2, 3}}, {20, 100, []uint64{2, 3}}, {30, 50, []uint64{1, 1, 2}}}, nil, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	checkWinners(t, res.Winners, []winnerWant{{2, "140", 0}, {3, "110", 1}}, true)
	targets := func(res ElectionResult[uint64]) [][]uint64 {
		var out [][]uint64
		for _, a := range res.Assignments {
			row := []uint64{a.Voter}
			for _, d := range a.Distribution {
				row = append(row, d.Target)
			}
			out = append(out, row)
		}
		return out
	}
	if got := targets(res); !reflect.DeepEqual(got, [][]uint64{{10, 2, 3}, {20, 2, 3}, {30, 2}}) {
		t.Fatal(got)
	}
	res, err = SeqPhragmen(2, []uint64{1, 2, 3}, []tv{{10, 100, []uint64{1, 1, 2, 3}}, {20, 100, []uint64{1, 2}}}, nil, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	checkWinners(t, res.Winners, []winnerWant{{1, "100", 0}, {2, "100", 1}}, true)
	if got := targets(res); !reflect.DeepEqual(got, [][]uint64{{10, 1, 2}, {20, 1, 2}}) {
		t.Fatal(got)
	}
}

// winners_are_sorted_by_round.
func TestNposUpstreamWinnersSortedByRound(t *testing.T) {
	voters := []tv{{10, 10, []uint64{1, 2}}, {20, 20, []uint64{2, 3}}, {30, 30, []uint64{3, 4}}, {40, 40, []uint64{4, 5}}}
	for _, run := range []func(int, []uint64, []tv, *BalancingConfig, Accuracy) (ElectionResult[uint64], error){SeqPhragmen[uint64], PhragMMS[uint64]} {
		res, err := run(3, []uint64{1, 2, 3, 4, 5}, voters, nil, Perbill)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range res.Winners {
			if w.Round != i {
				t.Fatalf("winner %d has round %d", i, w.Round)
			}
		}
	}
}

// phragmms.rs: basic_election_works, linear_voting_example_works,
// large_balance_wont_overflow.
func TestNposUpstreamPhragMMS(t *testing.T) {
	cfg := &BalancingConfig{Iterations: 2}
	res, err := PhragMMS(2, []uint64{1, 2, 3}, []tv{{10, 10, []uint64{1, 2}}, {20, 20, []uint64{1, 3}}, {30, 30, []uint64{2, 3}}}, cfg, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	checkWinners(t, res.Winners, []winnerWant{{3, "30", 0}, {2, "30", 1}}, true)
	checkAssignments(t, res.Assignments, []assignWant{
		{10, [][2]uint64{{2, billion}}}, {20, [][2]uint64{{3, billion}}}, {30, [][2]uint64{{2, 666666666}, {3, 333333334}}},
	})

	voters := []tv{
		{2, 2000, []uint64{11}}, {4, 1000, []uint64{11, 21}}, {6, 1000, []uint64{21, 31}}, {8, 1000, []uint64{31, 41}},
		{110, 1000, []uint64{41, 51}}, {120, 1000, []uint64{51, 61}}, {130, 1000, []uint64{61, 71}},
	}
	res, err = PhragMMS(4, []uint64{11, 21, 31, 41, 51, 61, 71}, voters, cfg, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	checkWinners(t, res.Winners, []winnerWant{{11, "3000", 0}, {31, "2000", 1}, {51, "1500", 2}, {61, "1500", 3}}, true)

	voters = nil
	for i := uint64(0); i < 1000; i++ {
		voters = append(voters, tv{10 + i, ^uint64(0), []uint64{1, 2, 3}})
	}
	voters = append(voters, tv{2, ^uint64(0), []uint64{1, 3}})
	res, err = PhragMMS(2, []uint64{1, 2, 3}, voters, cfg, Perbill)
	if err != nil {
		t.Fatal(err)
	}
	if res.Winners[0].ID != 1 || res.Winners[1].ID != 3 {
		t.Fatal(res.Winners)
	}
}

// basic_election_manual_works: the internal PhragMMS steps with Percent.
func TestNposUpstreamPhragMMSManual(t *testing.T) {
	e := setupInputs(Percent, []uint64{1, 2, 3}, []tv{{10, 10, []uint64{1, 2}}, {20, 20, []uint64{1, 3}}, {30, 30, []uint64{2, 3}}})
	st := newMMSState(e)
	edges := func(v int) [][2]uint64 {
		var out [][2]uint64
		for k := e.vStart[v]; k < e.vEnd[v]; k++ {
			out = append(out, [2]uint64{[]uint64{1, 2, 3}[e.eCand[k]], e.eWeight[k].Lo})
		}
		return out
	}
	w, score, ok := st.calculateMaxScore()
	if !ok || w != 2 || score.Cmp(Rational128{U128(50), U128(1)}) != 0 {
		t.Fatalf("round 1 winner %d score %v", w, score)
	}
	st.applyElected(w, score)
	if !reflect.DeepEqual(edges(2), [][2]uint64{{2, 0}, {3, 30}}) || !reflect.DeepEqual(edges(1), [][2]uint64{{1, 0}, {3, 20}}) {
		t.Fatal(edges(2), edges(1))
	}
	e.elected[w], e.round[w] = true, 0
	e.balance(BalancingConfig{Iterations: 10})
	w, score, ok = st.calculateMaxScore()
	if !ok || w != 1 || score.Cmp(Rational128{U128(25), U128(1)}) != 0 {
		t.Fatalf("round 2 winner %d score %v", w, score)
	}
	st.applyElected(w, score)
	if !reflect.DeepEqual(edges(2), [][2]uint64{{2, 15}, {3, 15}}) || !reflect.DeepEqual(edges(0), [][2]uint64{{1, 0}, {2, 10}}) {
		t.Fatal(edges(2), edges(0))
	}
	e.elected[w] = true
	e.balance(BalancingConfig{Iterations: 10})
	if !reflect.DeepEqual(edges(2), [][2]uint64{{2, 20}, {3, 10}}) || !reflect.DeepEqual(edges(1), [][2]uint64{{1, 0}, {3, 20}}) ||
		!reflect.DeepEqual(edges(0), [][2]uint64{{1, 0}, {2, 10}}) {
		t.Fatal(edges(2), edges(1), edges(0))
	}
}

// assignment_convert_works, assignment_convert_will_not_normalize,
// assignment_can_normalize, staked_assignment_can_normalize, into_staked_works.
func TestNposUpstreamAssignmentConversions(t *testing.T) {
	staked := StakedAssignment[uint64]{Voter: 1, Distribution: []StakedEdge[uint64]{{20, U128(100)}, {30, U128(25)}}}
	a := staked.IntoAssignment(Perbill)
	if !reflect.DeepEqual(a.Distribution, []RatioEdge[uint64]{{20, 800000000}, {30, 200000000}}) {
		t.Fatal(a)
	}
	if back := a.IntoStaked(Perbill, U128(125)); !reflect.DeepEqual(back, staked) {
		t.Fatal(back)
	}
	a = Assignment[uint64]{Voter: 1, Distribution: []RatioEdge[uint64]{{2, 330000000}, {3, 660000000}}}
	if s := a.IntoStaked(Perbill, U128(100)); s.Distribution[0].Stake != U128(33) || s.Distribution[1].Stake != U128(66) {
		t.Fatal(s)
	}
	staked = StakedAssignment[uint64]{Voter: 1, Distribution: []StakedEdge[uint64]{
		{2, U128(333_333_333_333_333)}, {3, U128(333_333_333_333_333)}, {4, U128(666_666_666_666_333)},
	}}
	if a := staked.IntoAssignment(Perbill); !reflect.DeepEqual(a.Distribution, []RatioEdge[uint64]{{2, 250000000}, {3, 250000000}, {4, 499999999}}) {
		t.Fatal(a)
	}
	if err := a.TryNormalize(Perbill); err != nil || a.Distribution[0].Parts != 340000000 || a.Distribution[1].Parts != 660000000 {
		t.Fatal(a, err)
	}
	s := StakedAssignment[uint64]{Voter: 1, Distribution: []StakedEdge[uint64]{{2, U128(33)}, {3, U128(66)}}}
	if err := s.TryNormalize(U128(100)); err != nil || s.Distribution[0].Stake != U128(34) {
		t.Fatal(s, err)
	}
	ratios := []Assignment[uint64]{
		{Voter: 1, Stake: 100, Distribution: []RatioEdge[uint64]{{10, 500000000}, {20, 500000000}}},
		{Voter: 2, Stake: 100, Distribution: []RatioEdge[uint64]{{10, 330000000}, {20, 670000000}}},
	}
	got := AssignmentRatioToStaked(Perbill, ratios)
	if got[0].Distribution[0].Stake != U128(50) || got[1].Distribution[0].Stake != U128(33) || got[1].Distribution[1].Stake != U128(67) {
		t.Fatal(got)
	}
	back, err := AssignmentStakedToRatioNormalized(Perbill, got)
	if err != nil || back[1].Distribution[0].Parts+back[1].Distribution[1].Parts != billion {
		t.Fatal(back, err)
	}
}

func sa(who uint64, d ...uint64) StakedAssignment[uint64] {
	out := StakedAssignment[uint64]{Voter: who}
	for i := 0; i+1 < len(d); i += 2 {
		out.Distribution = append(out.Distribution, StakedEdge[uint64]{d[i], U128(d[i+1])})
	}
	return out
}

// reduce.rs tests.
func TestNposUpstreamReduce(t *testing.T) {
	// basic_reduce_4_cycle_works (reduce_4 alone).
	as := []StakedAssignment[uint64]{sa(1, 10, 25, 20, 75), sa(2, 10, 50, 20, 50)}
	r, _, _ := newReducer(as)
	if n, err := r.reduce4(); err != nil || n != 1 || !reflect.DeepEqual(r.dist, [][]redEdge{{{1, U128(100)}}, {{0, U128(75)}, {1, U128(25)}}}) {
		t.Fatalf("reduce_4: %d %v %v", n, err, r.dist)
	}
	// basic_reduce_all_cycles_works / basic_reduce_works.
	mk := func() []StakedAssignment[uint64] {
		return []StakedAssignment[uint64]{
			sa(1, 10, 10), sa(2, 10, 15, 20, 5), sa(3, 20, 15, 40, 15), sa(4, 20, 10, 30, 10, 40, 20), sa(5, 20, 20, 30, 10, 40, 20),
		}
	}
	want := []StakedAssignment[uint64]{
		sa(1, 10, 10), sa(2, 10, 15, 20, 5), sa(3, 20, 30), sa(4, 40, 40), sa(5, 20, 15, 30, 20, 40, 15),
	}
	as = mk()
	r, _, _ = newReducer(as)
	if n, err := r.reduceAll(); err != nil || n != 3 {
		t.Fatalf("reduce_all: %d %v", n, err)
	}
	as = mk()
	if n, err := Reduce(as); err != nil || n != 3 || !reflect.DeepEqual(as, want) {
		t.Fatalf("reduce: %d %v %v", n, err, as)
	}
	// should_deal_with_self_vote.
	as = append(mk(), sa(10, 10, 100), sa(20, 20, 200))
	if n, err := Reduce(as); err != nil || n != 3 || !reflect.DeepEqual(as, append(want, sa(10, 10, 100), sa(20, 20, 200))) {
		t.Fatalf("self vote: %d %v %v", n, err, as)
	}
	// reduce_3_common_votes_same_weight.
	as = []StakedAssignment[uint64]{sa(4, 1000000, 100, 1000002, 100, 1000004, 100), sa(5, 1000000, 100, 1000002, 100, 1000004, 100)}
	if _, err := Reduce(as); err != nil || !reflect.DeepEqual(as, []StakedAssignment[uint64]{
		sa(4, 1000000, 200, 1000004, 100), sa(5, 1000002, 200, 1000004, 100),
	}) {
		t.Fatalf("3 common votes: %v %v", err, as)
	}
	// reduce_panics_on_duplicate_voter: an error here.
	as = []StakedAssignment[uint64]{sa(1, 10, 10, 20, 10), sa(1, 10, 15, 20, 5), sa(2, 10, 15, 20, 15)}
	if _, err := Reduce(as); !errors.Is(err, ErrDuplicateVoter) {
		t.Fatal(err)
	}
	// should_deal_with_duplicates_target.
	as = []StakedAssignment[uint64]{sa(1, 10, 15, 20, 5), sa(2, 10, 15, 20, 15, 10, 1, 20, 1)}
	if _, err := Reduce(as); err != nil || !reflect.DeepEqual(as, []StakedAssignment[uint64]{
		sa(1, 10, 20), sa(2, 10, 10, 20, 20, 10, 1, 20, 1),
	}) {
		t.Fatalf("duplicate targets: %v %v", err, as)
	}
	// bound_should_be_kept: at most n + m edges remain.
	as = []StakedAssignment[uint64]{
		sa(1, 103, 72, 101, 53, 100, 83, 102, 38), sa(2, 103, 18, 101, 36, 102, 54, 100, 94),
		sa(3, 100, 96, 101, 35, 102, 52, 103, 69), sa(4, 102, 34, 100, 47, 103, 91, 101, 73),
	}
	r, _, _ = newReducer(as)
	if n, err := r.reduceAll(); err != nil || 16-n > 8 {
		t.Fatalf("bound: %d %v", n, err)
	}
}

// calculateMaxScore is upstream's calculate_max_score computed from scratch.
func (s *mmsState) calculateMaxScore() (int, Rational128, bool) {
	s.refresh()
	return s.selectBest()
}
