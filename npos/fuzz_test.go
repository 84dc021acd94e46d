package npos

import (
	"encoding/binary"
	"errors"
	"reflect"
	"strconv"
	"testing"
)

// byteSource turns fuzz input into bounded choices; it yields zeros once
// exhausted, so every input decodes to some election.
type byteSource struct{ b []byte }

func (s *byteSource) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	v := s.b[0]
	s.b = s.b[1:]
	return v
}

func (s *byteSource) intn(n int) int { return int(s.byte()) % n }

func (s *byteSource) u64() uint64 {
	var buf [8]byte
	for i := range buf {
		buf[i] = s.byte()
	}
	return binary.LittleEndian.Uint64(buf[:])
}

// stake draws small, large and extreme stakes.
func (s *byteSource) stake() uint64 {
	switch s.intn(5) {
	case 0:
		return 0
	case 1:
		return ^uint64(0) - uint64(s.byte())
	case 2:
		return s.u64()
	}
	return uint64(s.byte()) + 1
}

func decodeElection(data []byte) (int, []string, []Voter[string], *BalancingConfig, Accuracy, bool) {
	s := &byteSource{data}
	nc := 1 + s.intn(10)
	cands := make([]string, nc)
	for i := range cands {
		cands[i] = strconv.Itoa(i)
		if s.intn(16) == 0 {
			cands[i] = strconv.Itoa(s.intn(nc)) // duplicates
		}
	}
	nv := s.intn(16)
	voters := make([]Voter[string], nv)
	for i := range voters {
		targets := make([]string, s.intn(8))
		for j := range targets {
			targets[j] = strconv.Itoa(s.intn(nc + 2)) // includes unknown targets
		}
		id := "v" + strconv.Itoa(i)
		if s.intn(8) == 0 {
			id = cands[s.intn(nc)]
		}
		voters[i] = Voter[string]{ID: id, Stake: s.stake(), Targets: targets}
	}
	var bal *BalancingConfig
	if s.intn(2) == 0 {
		bal = &BalancingConfig{Iterations: s.intn(6), Tolerance: U128(uint64(s.intn(4)))}
	}
	acc := []Accuracy{Percent, PerU16, Permill, Perbill, Perquintill}[s.intn(5)]
	return s.intn(nc+3) + 1, cands, voters, bal, acc, s.intn(2) == 0
}

// FuzzNposElection: random elections never panic; every assignment sums to
// One(); after the normalised staked conversion every voter's stakes sum to
// its stake; the supports are exactly the staked assignments seen per
// target; and the result matches the literal transcription of upstream.
func FuzzNposElection(f *testing.F) {
	f.Add([]byte{3, 4, 0, 2, 1, 2, 0, 1, 3, 2, 0, 1})
	f.Add([]byte{7, 9, 1, 255, 255, 255, 255, 255, 255, 255, 255, 4, 1, 2, 3, 4, 2, 5})
	f.Add([]byte{1, 0})
	f.Add([]byte("seq-phragmen and phragmms with balancing"))
	f.Fuzz(func(t *testing.T, data []byte) {
		toElect, cands, voters, bal, acc, mms := decodeElection(data)
		run, ref := SeqPhragmen[string], refSeqPhragmen
		if mms {
			run, ref = PhragMMS[string], refPhragMMS
		}
		res, err := run(toElect, cands, voters, bal, acc)
		if err != nil {
			if !errors.Is(err, ErrArithmetic) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		for _, a := range res.Assignments {
			var s uint64
			for _, d := range a.Distribution {
				s += d.Parts
			}
			if s != acc.One() {
				t.Fatalf("assignment of %s sums to %d parts", a.Voter, s)
			}
		}
		out, err := res.Outcome()
		if err != nil {
			t.Fatalf("outcome: %v", err)
		}
		perTarget := map[string]Uint128{}
		for i, s := range out.Staked {
			if tot := s.Total(); tot != U128(res.Assignments[i].Stake) {
				t.Fatalf("voter %s: staked total %s, stake %d", s.Voter, tot, res.Assignments[i].Stake)
			}
			for _, d := range s.Distribution {
				perTarget[d.Target] = perTarget[d.Target].AddSat(d.Stake)
			}
		}
		if len(out.Supports) != len(perTarget) {
			t.Fatalf("%d supports for %d targets", len(out.Supports), len(perTarget))
		}
		for _, sp := range out.Supports {
			var sum Uint128
			for _, b := range sp.Voters {
				sum = sum.AddSat(b.Stake)
			}
			if sum != sp.Total || sp.Total != perTarget[sp.Target] {
				t.Fatalf("support of %s: total %s, voters %s, staked %s", sp.Target, sp.Total, sum, perTarget[sp.Target])
			}
		}
		// The literal transcription drains normalisation leftovers one
		// unit at a time, so compare only where stakes keep that short.
		for _, v := range voters {
			if v.Stake > 1<<20 {
				return
			}
		}
		want, werr := ref(toElect, cands, voters, bal, acc)
		want.Accuracy = acc
		if werr != nil || !reflect.DeepEqual(normaliseResult(res), normaliseResult(want)) {
			t.Fatalf("differs from the literal transcription (%v)\n got: %+v\nwant: %+v", werr, res, want)
		}
	})
}

// FuzzNposReduce: reduce never panics, rejects duplicate voters, and keeps
// every voter's total and every target's total backing — unless a
// distribution names a target twice: upstream then updates only the first
// entry and can move stake between targets (reproduced here, see
// docs/npos.md), so only the absence of panics is checked.
func FuzzNposReduce(f *testing.F) {
	f.Add([]byte{2, 2, 0, 25, 1, 75, 2, 0, 50, 1, 50})
	f.Add([]byte{5, 1, 0, 10, 2, 0, 15, 1, 5, 2, 1, 15, 3, 15, 3, 1, 10, 2, 10, 3, 20})
	f.Add([]byte("reduce cycles of every length"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &byteSource{data}
		nv := s.intn(24)
		nt := 1 + s.intn(12)
		dupVoter := s.intn(16) == 0
		assignments := make([]StakedAssignment[string], nv)
		for i := range assignments {
			id := "v" + strconv.Itoa(i)
			if dupVoter && i > 0 && s.intn(4) == 0 {
				id = assignments[s.intn(i)].Voter
			}
			if s.intn(10) == 0 {
				id = "t" + strconv.Itoa(s.intn(nt)) // a voter sharing a target's identifier
			}
			dist := make([]StakedEdge[string], s.intn(7))
			for j := range dist {
				w := uint64(s.byte())
				if s.intn(6) == 0 {
					w = s.u64() >> 8 // large, but sums stay far from saturation
				}
				dist[j] = StakedEdge[string]{Target: "t" + strconv.Itoa(s.intn(nt)), Stake: U128(w)}
			}
			assignments[i] = StakedAssignment[string]{Voter: id, Distribution: dist}
		}
		voterTotals := make([]Uint128, nv)
		targetTotals := map[string]Uint128{}
		seen := map[string]bool{}
		unique, dupTargets := true, false
		edges := 0
		for i, a := range assignments {
			if seen[a.Voter] {
				unique = false
			}
			seen[a.Voter] = true
			named := map[string]bool{}
			for _, d := range a.Distribution {
				if named[d.Target] {
					dupTargets = true
				}
				named[d.Target] = true
			}
			voterTotals[i] = a.Total()
			for _, d := range a.Distribution {
				targetTotals[d.Target] = targetTotals[d.Target].Add(d.Stake)
			}
			edges += len(a.Distribution)
		}
		removed, err := Reduce(assignments)
		if !unique {
			if !errors.Is(err, ErrDuplicateVoter) {
				t.Fatalf("duplicate voters: err %v", err)
			}
			return
		}
		if err != nil {
			if errors.Is(err, ErrCorruptAssignments) {
				return // upstream panics on this input
			}
			t.Fatalf("reduce: %v", err)
		}
		if dupTargets {
			return
		}
		after := 0
		gotTargets := map[string]Uint128{}
		for i, a := range assignments {
			if tot := a.Total(); tot != voterTotals[i] {
				t.Fatalf("voter %s total %s, was %s", a.Voter, tot, voterTotals[i])
			}
			for _, d := range a.Distribution {
				gotTargets[d.Target] = gotTargets[d.Target].Add(d.Stake)
			}
			after += len(a.Distribution)
		}
		for target, tot := range targetTotals {
			if gotTargets[target] != tot {
				t.Fatalf("target %s total %s, was %s", target, gotTargets[target], tot)
			}
		}
		if edges-after != removed {
			t.Fatalf("removed %d edges, reported %d", edges-after, removed)
		}
	})
}
