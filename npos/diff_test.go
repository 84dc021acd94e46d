package npos

import (
	"fmt"
	"reflect"
	"strconv"
	"testing"
)

// randomElection draws an adversarial election: few candidates, duplicates
// and unknown targets, zero and near-u64::MAX stakes.
func randomElection(r *splitmix64) (int, []string, []Voter[string], *BalancingConfig, Accuracy) {
	nc := 1 + r.intn(8)
	cands := make([]string, nc)
	for i := range cands {
		cands[i] = strconv.Itoa(100 + i)
		if r.intn(12) == 0 && i > 0 {
			cands[i] = cands[r.intn(i)] // duplicate candidate
		}
	}
	nv := r.intn(12)
	voters := make([]Voter[string], nv)
	for i := range voters {
		var stake uint64
		switch r.intn(6) {
		case 0:
			stake = 0
		case 1:
			stake = ^uint64(0) - r.next()%1000
		case 2:
			stake = r.next()
		default:
			stake = 1 + r.next()%1000
		}
		nt := r.intn(6)
		targets := make([]string, nt)
		for j := range targets {
			if r.intn(10) == 0 {
				targets[j] = "unknown"
			} else {
				targets[j] = strconv.Itoa(100 + r.intn(nc+1))
			}
		}
		id := strconv.Itoa(i)
		if r.intn(4) == 0 {
			id = cands[r.intn(nc)] // self vote
		}
		voters[i] = Voter[string]{ID: id, Stake: stake, Targets: targets}
	}
	var bal *BalancingConfig
	if r.intn(2) == 0 {
		bal = &BalancingConfig{Iterations: r.intn(5), Tolerance: U128(r.next() % 3)}
	}
	acc := []Accuracy{Percent, PerU16, Permill, Perbill, Perquintill}[r.intn(5)]
	return 1 + r.intn(nc+2), cands, voters, bal, acc
}

func normaliseResult(r ElectionResult[string]) ElectionResult[string] {
	if len(r.Winners) == 0 {
		r.Winners = nil
	}
	if len(r.Assignments) == 0 {
		r.Assignments = nil
	}
	return r
}

// TestNposDifferential compares the optimised engine with the literal
// transcription of upstream on random elections.
func TestNposDifferential(t *testing.T) {
	r := &splitmix64{7}
	iters := 20000
	if testing.Short() {
		iters = 2000
	}
	for i := 0; i < iters; i++ {
		toElect, cands, voters, bal, acc := randomElection(r)
		for _, alg := range []string{"seq", "mms"} {
			var got, want ElectionResult[string]
			var err, werr error
			if alg == "seq" {
				got, err = SeqPhragmen(toElect, cands, voters, bal, acc)
				want, werr = refSeqPhragmen(toElect, cands, voters, bal, acc)
			} else {
				got, err = PhragMMS(toElect, cands, voters, bal, acc)
				want, werr = refPhragMMS(toElect, cands, voters, bal, acc)
			}
			want.Accuracy = acc
			if (err == nil) != (werr == nil) {
				t.Fatalf("%s #%d: err %v vs ref %v", alg, i, err, werr)
			}
			if err != nil {
				continue
			}
			if g, w := normaliseResult(got), normaliseResult(want); !reflect.DeepEqual(g, w) {
				t.Fatalf("%s #%d mismatch\ninput: to_elect=%d cands=%v voters=%+v bal=%+v acc=%v\n got: %+v\nwant: %+v",
					alg, i, toElect, cands, voters, bal, acc, g, w)
			}
			if _, err := got.Outcome(); err != nil {
				t.Fatalf("%s #%d outcome: %v", alg, i, err)
			}
		}
	}
}

// TestNposDifferentialLarger uses more voters and rounds, where incremental
// score maintenance and the PhragMMS cache matter.
func TestNposDifferentialLarger(t *testing.T) {
	r := &splitmix64{8}
	iters := 300
	if testing.Short() {
		iters = 30
	}
	for i := 0; i < iters; i++ {
		nc := 5 + r.intn(40)
		cands := make([]string, nc)
		for j := range cands {
			cands[j] = fmt.Sprint("c", j)
		}
		nv := 10 + r.intn(150)
		voters := make([]Voter[string], nv)
		for j := range voters {
			targets := make([]string, 1+r.intn(8))
			for k := range targets {
				targets[k] = cands[r.intn(nc)]
			}
			stake := 1 + r.next()%1_000_000
			if r.intn(10) == 0 {
				stake = r.next()
			}
			voters[j] = Voter[string]{ID: fmt.Sprint("v", j), Stake: stake, Targets: targets}
		}
		var bal *BalancingConfig
		if r.intn(2) == 0 {
			bal = &BalancingConfig{Iterations: 1 + r.intn(4)}
		}
		toElect := 1 + r.intn(nc)
		// Perquintill exercises PhragMMS's 128-bit denominators.
		acc := []Accuracy{Perbill, Perquintill}[i%2]
		got, err := SeqPhragmen(toElect, cands, voters, bal, acc)
		want, werr := refSeqPhragmen(toElect, cands, voters, bal, acc)
		if err != nil || werr != nil || !reflect.DeepEqual(normaliseResult(got), normaliseResult(want)) {
			t.Fatalf("seq #%d mismatch: %v %v", i, err, werr)
		}
		got, err = PhragMMS(toElect, cands, voters, bal, acc)
		want, werr = refPhragMMS(toElect, cands, voters, bal, acc)
		want.Accuracy = acc
		if err != nil || werr != nil || !reflect.DeepEqual(normaliseResult(got), normaliseResult(want)) {
			t.Fatalf("mms #%d mismatch: %v %v", i, err, werr)
		}
	}
}
