package npos

// Rational128 mirrors sp_arithmetic::Rational128: a numerator and a
// denominator, both u128. Upstream keeps them unreduced and compares by exact
// cross-multiplication, and several of its operations ("lazy" add/sub) assume
// equal denominators without checking. Those shortcuts change results, so
// the engine reproduces them (on numerators, see seqPhragmenCore) rather
// than doing textbook rational arithmetic.
type Rational128 struct {
	N, D Uint128
}

// rationalFrom is Rational128::from: the denominator is clamped to at least 1.
func rationalFrom(n, d Uint128) Rational128 {
	if d.IsZero() {
		d = Uint128{0, 1}
	}
	return Rational128{n, d}
}

// rationalMax is Bounded::max_value() for Rational128: u128::MAX / 1.
func rationalMax() Rational128 { return Rational128{MaxUint128(), Uint128{0, 1}} }

// IsZero reports whether the numerator is zero.
func (r Rational128) IsZero() bool { return r.N.IsZero() }

// Cmp is upstream's Ord: equal denominators compare numerators; a zero
// denominator is "infinity"; otherwise the cross products are compared
// exactly in 256 bits.
func (r Rational128) Cmp(o Rational128) int {
	if r.D == o.D {
		return r.N.Cmp(o.N)
	}
	if r.D.IsZero() {
		return 1
	}
	if o.D.IsZero() {
		return -1
	}
	return mul128(r.N, o.D).cmp(mul128(o.N, r.D))
}

// toDen is Rational128::to_den: the numerator rescaled to denominator den,
// rounded to nearest (ties down).
func (r Rational128) toDen(den Uint128) (Rational128, bool) {
	if den == r.D {
		return r, true
	}
	n, ok := MulDivRounding(r.N, den, r.D, RoundNearestPrefDown)
	if !ok {
		return Rational128{}, false
	}
	return Rational128{n, den}, true
}
