package npos

import (
	"math/big"
	"math/bits"
	"slices"
	"testing"
)

// splitmix64 is a tiny deterministic generator for tests and benchmarks
// (no math/rand global state).
type splitmix64 struct{ s uint64 }

func (r *splitmix64) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *splitmix64) intn(n int) int { return int(r.next() % uint64(n)) }

// u128 draws values with varied magnitudes, including edge values.
func (r *splitmix64) u128() Uint128 {
	switch r.next() % 8 {
	case 0:
		return Uint128{}
	case 1:
		return MaxUint128()
	case 2:
		return U128(r.next() % 1000)
	case 3:
		return U128(r.next())
	case 4:
		return Uint128{r.next() % 4, r.next()}
	case 5:
		return MaxUint128().Sub(U128(r.next() % 1000))
	}
	return Uint128{r.next(), r.next()}
}

func toBig(u Uint128) *big.Int {
	b := new(big.Int).SetUint64(u.Hi)
	b.Lsh(b, 64)
	return b.Or(b, new(big.Int).SetUint64(u.Lo))
}

func fromBig(t testing.TB, b *big.Int) Uint128 {
	t.Helper()
	if b.Sign() < 0 || b.BitLen() > 128 {
		t.Fatalf("%s does not fit in u128", b)
	}
	lo := new(big.Int).And(b, new(big.Int).SetUint64(^uint64(0)))
	hi := new(big.Int).Rsh(b, 64)
	return Uint128{hi.Uint64(), lo.Uint64()}
}

func bigMax() *big.Int { return new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1)) }

func TestNposUint128Arithmetic(t *testing.T) {
	r := &splitmix64{1}
	for i := 0; i < 200000; i++ {
		a, b := r.u128(), r.u128()
		ba, bb := toBig(a), toBig(b)
		if got, want := a.Cmp(b), ba.Cmp(bb); got != want {
			t.Fatalf("cmp %s %s: %d want %d", a, b, got, want)
		}
		sum := new(big.Int).Add(ba, bb)
		if s, ok := a.CheckedAdd(b); ok != (sum.Cmp(bigMax()) <= 0) || (ok && toBig(s).Cmp(sum) != 0) {
			t.Fatalf("add %s %s", a, b)
		}
		prod := new(big.Int).Mul(ba, bb)
		if p, ok := a.CheckedMul(b); ok != (prod.Cmp(bigMax()) <= 0) || (ok && toBig(p).Cmp(prod) != 0) {
			t.Fatalf("mul %s %s: %s %v", a, b, p, ok)
		}
		if !b.IsZero() {
			q, rem := a.QuoRem(b)
			bq, br := new(big.Int).QuoRem(ba, bb, new(big.Int))
			if toBig(q).Cmp(bq) != 0 || toBig(rem).Cmp(br) != 0 {
				t.Fatalf("quorem %s / %s = %s r %s, want %s r %s", a, b, q, rem, bq, br)
			}
		}
		if s := a.String(); s != ba.String() {
			t.Fatalf("string %s want %s", s, ba)
		}
		if p, err := ParseUint128(ba.String()); err != nil || p != a {
			t.Fatalf("parse %s: %v %v", ba, p, err)
		}
	}
	if _, err := ParseUint128("340282366920938463463374607431768211456"); err == nil {
		t.Fatal("2^128 must not parse")
	}
	for _, bad := range []string{"", "-1", "1.5", "0x10", "1e3", " "} {
		if _, err := ParseUint128(bad); err == nil {
			t.Fatalf("%q must not parse", bad)
		}
	}
}

// bigMulDiv is the reference for multiply_by_rational_with_rounding.
func bigMulDiv(a, b, c Uint128, rnd Rounding) (*big.Int, bool) {
	if c.IsZero() {
		return nil, false
	}
	bc := toBig(c)
	q, rem := new(big.Int).QuoRem(new(big.Int).Mul(toBig(a), toBig(b)), bc, new(big.Int))
	half := new(big.Int).Rsh(bc, 1)
	up := false
	switch rnd {
	case RoundUp:
		up = rem.Sign() > 0
	case RoundNearestPrefUp:
		up = rem.Cmp(new(big.Int).Add(half, new(big.Int).And(bc, big.NewInt(1)))) >= 0
	case RoundNearestPrefDown:
		up = rem.Cmp(half) > 0
	}
	if up {
		q.Add(q, big.NewInt(1))
	}
	return q, q.Cmp(bigMax()) <= 0
}

func TestNposMulDivRounding(t *testing.T) {
	r := &splitmix64{2}
	for i := 0; i < 300000; i++ {
		a, b, c := r.u128(), r.u128(), r.u128()
		rnd := Rounding(r.next() % 4)
		got, ok := MulDivRounding(a, b, c, rnd)
		want, wantOK := bigMulDiv(a, b, c, rnd)
		if ok != wantOK || (ok && toBig(got).Cmp(want) != 0) {
			t.Fatalf("muldiv(%s, %s, %s, %d) = %s %v, want %v %v", a, b, c, rnd, got, ok, want, wantOK)
		}
	}
	// Upstream's own assertions (sp-arithmetic helpers_128bit.rs, rational.rs).
	max := MaxUint128()
	max64 := U128(^uint64(0))
	cases := []struct {
		a, b, c Uint128
		r       Rounding
		want    Uint128
		ok      bool
	}{
		{U128(1), U128(1), U128(1), RoundUp, U128(1), true},
		{U128(3), U128(1), U128(3), RoundUp, U128(1), true},
		{U128(1), U128(1), U128(3), RoundUp, U128(1), true},
		{U128(1), U128(2), U128(3), RoundDown, U128(0), true},
		{U128(1), U128(1), U128(3), RoundNearestPrefDown, U128(0), true},
		{U128(1), U128(1), U128(2), RoundNearestPrefDown, U128(0), true},
		{U128(1), U128(2), U128(3), RoundNearestPrefDown, U128(1), true},
		{U128(1), U128(1), U128(3), RoundNearestPrefUp, U128(0), true},
		{U128(1), U128(1), U128(2), RoundNearestPrefUp, U128(1), true},
		{U128(1), U128(2), U128(3), RoundNearestPrefUp, U128(1), true},
		{max, max.Sub(U128(1)), max, RoundDown, max.Sub(U128(1)), true},
		{max, U128(1), max, RoundDown, U128(1), true},
		{max, max.Sub(U128(1)), max, RoundUp, max.Sub(U128(1)), true},
		{U128(1), max.Sub(U128(1)), max, RoundDown, U128(0), true},
		{U128(1), U128(1), max, RoundUp, U128(1), true},
		{U128(1), max.shr(1), max, RoundNearestPrefDown, U128(0), true},
		{U128(1), max.shr(1).Add(U128(1)), max, RoundNearestPrefDown, U128(1), true},
		{U128(1), max.shr(1), max, RoundNearestPrefUp, U128(0), true},
		{U128(1), max.shr(1).Add(U128(1)), max, RoundNearestPrefUp, U128(1), true},
		{max, U128(2), U128(3), RoundDown, max.Quo(U128(3)).mul64(2), true},
		{max64.mul64(2).Sub(U128(1)), max64, max64, RoundDown, max64.mul64(2).Sub(U128(1)), true},
		{max64.mul64(2).Sub(U128(1)), max64.Sub(U128(1)), max64, RoundDown, max64.mul64(2).Sub(U128(3)), true},
		{U128(10), max, max.shr(1), RoundNearestPrefDown, U128(20), true},
		{max, U128(10), max.shr(1), RoundNearestPrefDown, U128(20), true},
		{U128(1_000_000_000), max.shr(3), max.shr(1), RoundUp, U128(250000000), true},
		{U128(5), U128(5), U128(0), RoundDown, Uint128{}, false},
		{max, max, U128(1), RoundDown, Uint128{}, false},
	}
	for i, c := range cases {
		got, ok := MulDivRounding(c.a, c.b, c.c, c.r)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("case %d: got %s %v want %s %v", i, got, ok, c.want, c.ok)
		}
	}
}

func TestNposRationalCmp(t *testing.T) {
	r := &splitmix64{3}
	for i := 0; i < 100000; i++ {
		a := rationalFrom(r.u128(), r.u128())
		b := rationalFrom(r.u128(), r.u128())
		want := new(big.Int).Mul(toBig(a.N), toBig(b.D)).Cmp(new(big.Int).Mul(toBig(b.N), toBig(a.D)))
		if got := a.Cmp(b); got != want {
			t.Fatalf("cmp %v %v = %d want %d", a, b, got, want)
		}
	}
	// Upstream's ordering_and_eq_works.
	rr := func(n, d uint64) Rational128 { return Rational128{U128(n), U128(d)} }
	if rr(1, 2).Cmp(rr(1, 3)) <= 0 || rr(1, 2).Cmp(rr(2, 6)) <= 0 || rr(1, 2).Cmp(rr(6, 6)) >= 0 ||
		rr(2, 1).Cmp(rr(2, 6)) <= 0 || rr(5, 10).Cmp(rr(1, 2)) != 0 ||
		rr(1, 1490000000000200000).Cmp(rr(1, 1490000000000200001)) <= 0 {
		t.Fatal("upstream ordering assertions")
	}
	// to_den: upstream's to_denom_works.
	max := MaxUint128()
	if v, _ := rr(1, 5).toDen(U128(10)); v != rr(2, 10) {
		t.Fatal(v)
	}
	if v, _ := rr(4, 10).toDen(U128(5)); v != rr(2, 5) {
		t.Fatal(v)
	}
	if v, _ := (Rational128{max.Sub(U128(10)), max}).toDen(U128(10)); v != rr(10, 10) {
		t.Fatal(v)
	}
	if v, _ := (Rational128{max.shr(1), max}).toDen(U128(1_000_000_000)); v != rr(500_000_000, 1_000_000_000) {
		t.Fatal(v)
	}
}

// refNormalize is a literal transcription of upstream's normalize, one unit
// per loop iteration, used to check the accelerated version.
func refNormalize(input []Uint128, target, limit Uint128) ([]Uint128, error) {
	var sum Uint128
	for _, v := range input {
		var ok bool
		sum, ok = sum.CheckedAdd(v)
		if !ok || limit.Less(sum) {
			return nil, ErrNormalizeSumOverflow
		}
	}
	count := len(input)
	if limit.Less(U128(uint64(count))) {
		return nil, ErrNormalizeLengthOverflow
	}
	if count == 0 {
		return []Uint128{}, nil
	}
	countT := U128(uint64(count))
	var diff Uint128
	if sum.Less(target) {
		diff = target.Sub(sum)
	} else {
		diff = sum.Sub(target)
	}
	if diff.IsZero() {
		return slices.Clone(input), nil
	}
	needsBump := sum.Less(target)
	perRound, leftover := diff.QuoRem(countT)
	out := make([]idxVal, count)
	for i, v := range input {
		out[i] = idxVal{i, v}
	}
	slices.SortStableFunc(out, func(a, b idxVal) int { return a.val.Cmp(b.val) })
	if needsBump {
		minIndex := 0
		threshold := target.Quo(countT)
		if !perRound.IsZero() {
			for range count {
				out[minIndex].val = out[minIndex].val.Add(perRound)
				if !out[minIndex].val.Less(threshold) {
					minIndex = (minIndex + 1) % count
				}
			}
		}
		for !leftover.IsZero() {
			out[minIndex].val = out[minIndex].val.Add(U128(1))
			if !out[minIndex].val.Less(threshold) {
				minIndex = (minIndex + 1) % count
			}
			leftover = leftover.Sub(U128(1))
		}
	} else {
		maxIndex := count - 1
		threshold := out[0].val
		dec := func(i int) int {
			if i == 0 {
				return count - 1
			}
			return i - 1
		}
		if !perRound.IsZero() {
			for range count {
				v := out[maxIndex].val
				if d, ok := v.CheckedSub(perRound); ok {
					out[maxIndex].val = d
				} else {
					leftover = leftover.Add(perRound.Sub(v))
					out[maxIndex].val = Uint128{}
				}
				if !threshold.Less(out[maxIndex].val) {
					maxIndex = dec(maxIndex)
				}
			}
		}
		for !leftover.IsZero() {
			if d, ok := out[maxIndex].val.CheckedSub(U128(1)); ok {
				out[maxIndex].val = d
				if !threshold.Less(d) {
					maxIndex = dec(maxIndex)
				}
				leftover = leftover.Sub(U128(1))
			} else {
				maxIndex = dec(maxIndex)
			}
		}
	}
	res := make([]Uint128, count)
	for _, e := range out {
		res[e.idx] = e.val
	}
	return res, nil
}

func u128s(vs ...uint64) []Uint128 {
	out := make([]Uint128, len(vs))
	for i, v := range vs {
		out[i] = U128(v)
	}
	return out
}

func TestNposNormalize(t *testing.T) {
	// Upstream's normalize_tests (sp-arithmetic lib.rs).
	cases := []struct {
		in     []uint64
		target uint64
		want   []uint64
	}{
		{[]uint64{8, 9, 7, 10}, 40, []uint64{10, 10, 10, 10}},
		{[]uint64{7, 7, 7, 7}, 40, []uint64{10, 10, 10, 10}},
		{[]uint64{7, 7, 7, 10}, 40, []uint64{11, 11, 8, 10}},
		{[]uint64{7, 8, 7, 10}, 40, []uint64{11, 8, 11, 10}},
		{[]uint64{7, 7, 8, 10}, 40, []uint64{11, 11, 8, 10}},
		{[]uint64{8, 11, 9, 10}, 40, []uint64{10, 11, 9, 10}},
		{[]uint64{10, 7, 10, 10}, 40, []uint64{10, 10, 10, 10}},
		{[]uint64{10, 10, 7, 10}, 40, []uint64{10, 10, 10, 10}},
		{[]uint64{10, 10, 10, 7}, 40, []uint64{10, 10, 10, 10}},
		{[]uint64{12, 11, 13, 10}, 40, []uint64{10, 10, 10, 10}},
		{[]uint64{13, 13, 13, 13}, 40, []uint64{10, 10, 10, 10}},
		{[]uint64{13, 13, 13, 10}, 40, []uint64{12, 9, 9, 10}},
		{[]uint64{13, 12, 13, 10}, 40, []uint64{9, 12, 9, 10}},
		{[]uint64{13, 13, 12, 10}, 40, []uint64{9, 9, 12, 10}},
		{[]uint64{1, 100, 100}, 10, []uint64{1, 9, 0}},
		{[]uint64{1, 8, 9}, 1, []uint64{0, 1, 0}},
		// voter_normalize_ops_works (npos-elections tests.rs).
		{[]uint64{30, 33, 30}, 100, []uint64{34, 33, 33}},
		{[]uint64{33, 30}, 100, []uint64{34, 66}},
		// staked_assignment_can_normalize.
		{[]uint64{33, 66}, 100, []uint64{34, 66}},
	}
	for i, c := range cases {
		got, err := Normalize(u128s(c.in...), U128(c.target))
		if err != nil || !slices.Equal(got, u128s(c.want...)) {
			t.Errorf("case %d: normalize(%v, %d) = %v, %v want %v", i, c.in, c.target, got, err, c.want)
		}
	}
	// u8 sum overflow: normalize(vec![1u8; 256], 10) fails, 255 works.
	if _, err := normalizeBounded(u128s(slices.Repeat([]uint64{1}, 256)...), U128(10), U128(255)); err == nil {
		t.Error("u8 sum overflow must fail")
	}
	if _, err := normalizeBounded(u128s(slices.Repeat([]uint64{1}, 255)...), U128(10), U128(255)); err != nil {
		t.Error(err)
	}
	// Per-thing normalisation (works_for_per_thing, can_work_for_peru16).
	perThing := []struct {
		acc  Accuracy
		in   []uint64
		want []uint64
	}{
		{Perbill, []uint64{330000000, 330000000, 330000000}, []uint64{333333334, 333333333, 333333333}},
		{Perbill, []uint64{200000000, 150000000, 300000000}, []uint64{316666668, 383333332, 300000000}},
		{PerU16, []uint64{26214, 26214, 26214}, []uint64{21845, 21845, 21845}},
		// assignment_can_normalize.
		{Perbill, []uint64{330000000, 660000000}, []uint64{340000000, 660000000}},
	}
	for i, c := range perThing {
		got, err := c.acc.NormalizeParts(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("per-thing case %d: %v %v want %v", i, got, err, c.want)
		}
	}

	// Differential check against the literal transcription.
	r := &splitmix64{4}
	for i := 0; i < 100000; i++ {
		n := 1 + r.intn(8)
		in := make([]Uint128, n)
		scale := []uint64{10, 1000, 100_000}[r.intn(3)]
		for j := range in {
			in[j] = U128(r.next() % scale)
		}
		target := U128(r.next() % (scale * uint64(n)))
		got, err := Normalize(in, target)
		want, werr := refNormalize(in, target, MaxUint128())
		if (err == nil) != (werr == nil) || !slices.Equal(got, want) {
			t.Fatalf("normalize(%v, %s) = %v %v, want %v %v", in, target, got, err, want, werr)
		}
	}
	// A carry that upstream would drain one unit at a time for ~2^98 steps.
	big := MaxUint128().shr(30)
	got, err := Normalize([]Uint128{U128(1), big, big}, U128(10))
	if err != nil {
		t.Fatal(err)
	}
	var s Uint128
	for _, v := range got {
		s = s.Add(v)
	}
	if s != U128(10) {
		t.Fatalf("sum %s", s)
	}
}

func TestNposPerThing(t *testing.T) {
	// Percent::from_rational(989, 1000) == 98 (rounds down).
	if p := Percent.FromRational(U128(989), U128(1000)); p != 98 {
		t.Fatal(p)
	}
	if p := Percent.FromRational(U128(190), U128(400)); p != 47 {
		t.Fatal(p)
	}
	// from_rational with q == 0 or p > q is One().
	if p := Perbill.FromRational(U128(0), U128(0)); p != 1_000_000_000 {
		t.Fatal(p)
	}
	if p := Perbill.FromRational(U128(5), U128(4)); p != 1_000_000_000 {
		t.Fatal(p)
	}
	rounding := []struct {
		p    uint64
		r    Rounding
		want uint64
	}{
		{989, RoundDown, 98}, {984, RoundNearestPrefUp, 98}, {985, RoundNearestPrefDown, 98},
		{985, RoundNearestPrefUp, 99}, {986, RoundNearestPrefDown, 99}, {981, RoundUp, 99},
	}
	for _, c := range rounding {
		if got, ok := Percent.FromRationalWithRounding(U128(c.p), U128(1000), c.r); !ok || got != c.want {
			t.Errorf("from_rational_with_rounding(%d/1000, %d) = %d", c.p, c.r, got)
		}
	}
	if _, ok := Percent.FromRationalWithRounding(U128(1001), U128(1000), RoundUp); ok {
		t.Error("1001/1000 must fail")
	}
	// Mul rounds to nearest, mul_floor down, mul_ceil up.
	if Percent.Mul(34, U128(10)) != U128(3) || Percent.Mul(36, U128(10)) != U128(4) ||
		Percent.MulFloor(36, U128(10)) != U128(3) || Percent.MulCeil(34, U128(10)) != U128(4) {
		t.Error("per-thing multiplication rounding")
	}
	// into_staked_works / assignment_convert_will_not_normalize.
	if Perbill.Mul(330000000, U128(100)) != U128(33) || Perbill.Mul(670000000, U128(100)) != U128(67) {
		t.Error("into_staked rounding")
	}
	for _, a := range []Accuracy{Percent, PerU16, Permill, Perbill, Perquintill} {
		b, err := ParseAccuracy(a.String())
		if err != nil || b != a {
			t.Errorf("accuracy round trip %v", a)
		}
	}
	if _, err := ParseAccuracy("perthousand"); err == nil {
		t.Error("unknown accuracy must fail")
	}
}

func TestNposScore(t *testing.T) {
	sc := func(a, b, c uint64) ElectionScore { return ElectionScore{U128(a), U128(b), U128(c)} }
	better := func(this, that ElectionScore, parts uint64) bool {
		return this.StrictThresholdBetter(that, Perbill, parts)
	}
	// score_comparison_is_lexicographical_no_epsilon.
	if !better(sc(12, 10, 35), sc(10, 20, 30), 0) || better(sc(9, 30, 10), sc(10, 20, 30), 0) ||
		!better(sc(10, 25, 40), sc(10, 20, 30), 0) || better(sc(10, 20, 40), sc(10, 20, 30), 0) {
		t.Error("no epsilon")
	}
	// score_comparison_with_epsilon (1%).
	eps := uint64(10_000_000)
	base := sc(1000, 5000, 100000)
	checks := []struct {
		s    ElectionScore
		want bool
	}{
		{sc(1009, 5000, 100000), false}, {sc(1010, 5000, 100000), false}, {sc(1011, 5000, 100000), true},
		{sc(999, 6000, 100000), false},
		{sc(1005, 5000, 100000), false}, {sc(1005, 5050, 100000), false}, {sc(1005, 5051, 100000), true},
		{sc(1005, 5025, 100000), false}, {sc(1005, 5025, 99_000), false}, {sc(1005, 5025, 98_999), true},
	}
	for i, c := range checks {
		if got := better(c.s, base, eps); got != c.want {
			t.Errorf("epsilon case %d: %v", i, got)
		}
	}
	// score_comparison_large_value.
	initial := ElectionScore{U128(12488167277027543), U128(5559266368032409496), mustU128(t, "118749283262079244270992278287436446")}
	claim := ElectionScore{U128(12488167277027543), U128(5559266368032409496), mustU128(t, "118700736389524721358337889258988054")}
	for k, want := range map[uint64]bool{1: true, 2: true, 3: true, 4: true, 5: false} {
		parts := Perbill.FromRational(U128(k), U128(10_000))
		if got := better(claim, initial, parts); got != want {
			t.Errorf("large value %d/10000: %v", k, got)
		}
	}
	// ord_works.
	if sc(10, 5, 15).Cmp(sc(10, 5, 15)) != 0 || sc(10, 5, 15).Cmp(sc(9, 5, 15)) == 0 ||
		sc(10, 5, 15).Cmp(sc(8, 5, 25)) <= 0 || sc(10, 5, 15).Cmp(sc(9, 20, 5)) <= 0 ||
		sc(10, 5, 15).Cmp(sc(10, 4, 25)) <= 0 || sc(10, 5, 15).Cmp(sc(10, 4, 5)) <= 0 ||
		sc(10, 5, 15).Cmp(sc(10, 5, 16)) <= 0 || sc(10, 5, 15).Cmp(sc(10, 5, 25)) <= 0 {
		t.Error("ord")
	}
	// evaluate_support saturates.
	s := EvaluateTotals([]Uint128{MaxUint128(), U128(2)})
	if !s.SumStake.IsMax() || !s.SumStakeSquared.IsMax() || s.MinimalStake != U128(2) {
		t.Error("saturation", s)
	}
	if e := EvaluateTotals(nil); !e.MinimalStake.IsMax() {
		t.Error("empty score")
	}
}

func mustU128(t testing.TB, s string) Uint128 {
	t.Helper()
	v, err := ParseUint128(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNposDivisor64(t *testing.T) {
	r := &splitmix64{9}
	for i := 0; i < 500000; i++ {
		d := r.next() >> (r.next() % 64)
		if d == 0 {
			d = 1
		}
		hi := r.next() % d
		lo := r.next()
		if r.intn(4) == 0 {
			hi = d - 1
			lo = ^uint64(0)
		}
		want, _ := bits.Div64(hi, lo, d)
		if got := newDivisor64(d).quo(hi, lo); got != want {
			t.Fatalf("(%d:%d)/%d = %d want %d", hi, lo, d, got, want)
		}
	}
}

func TestNposDivisor64MulDiv(t *testing.T) {
	r := &splitmix64{10}
	for i := 0; i < 300000; i++ {
		d := r.next() >> (r.next() % 64)
		if d == 0 {
			d = 1
		}
		a, b := r.u128(), r.next()>>(r.next()%64)
		got, ok := newDivisor64(d).mulDivDown(a, b)
		want, wok := MulDivRounding(a, U128(b), U128(d), RoundDown)
		if ok != wok || got != want {
			t.Fatalf("%s*%d/%d = %s %v want %s %v", a, b, d, got, ok, want, wok)
		}
	}
}
