package npos

import (
	"fmt"
	"math/bits"
	"strings"
)

// Uint128 is an unsigned 128-bit integer, the Go counterpart of Rust's u128
// (Substrate's ExtendedBalance). It is a value type: every operation returns a
// new value. Upstream mixes wrapping, saturating and checked u128 arithmetic;
// each method name says which one it is, and call sites pick the same flavour
// upstream uses, because the flavour is observable in the results.
type Uint128 struct {
	Hi, Lo uint64
}

// MaxUint128 returns u128::MAX, used by upstream both as the load
// denominator (DEN) and as the saturation value. It is a function rather
// than a package variable so the package holds no mutable state.
func MaxUint128() Uint128 { return Uint128{Hi: ^uint64(0), Lo: ^uint64(0)} }

// U128 converts a uint64 to Uint128.
func U128(v uint64) Uint128 { return Uint128{Lo: v} }

// IsZero reports whether u == 0.
func (u Uint128) IsZero() bool { return u.Hi == 0 && u.Lo == 0 }

// IsMax reports whether u == u128::MAX.
func (u Uint128) IsMax() bool { return u.Hi == ^uint64(0) && u.Lo == ^uint64(0) }

// Cmp returns -1, 0 or +1 as u is less than, equal to or greater than v.
func (u Uint128) Cmp(v Uint128) int {
	switch {
	case u.Hi < v.Hi:
		return -1
	case u.Hi > v.Hi:
		return 1
	case u.Lo < v.Lo:
		return -1
	case u.Lo > v.Lo:
		return 1
	}
	return 0
}

// Less reports u < v.
func (u Uint128) Less(v Uint128) bool {
	return u.Hi < v.Hi || (u.Hi == v.Hi && u.Lo < v.Lo)
}

// Add returns u+v wrapping around at 2^128, like Rust's `+` in a release
// build (upstream relies on sums that cannot realistically overflow).
func (u Uint128) Add(v Uint128) Uint128 {
	s, _ := u.CheckedAdd(v)
	return s
}

// CheckedAdd returns u+v and false when the sum overflows u128.
func (u Uint128) CheckedAdd(v Uint128) (Uint128, bool) {
	lo, c := bits.Add64(u.Lo, v.Lo, 0)
	hi, c := bits.Add64(u.Hi, v.Hi, c)
	return Uint128{hi, lo}, c == 0
}

// AddSat returns u+v clamped to u128::MAX (Rust's saturating_add).
func (u Uint128) AddSat(v Uint128) Uint128 {
	s, ok := u.CheckedAdd(v)
	if !ok {
		return MaxUint128()
	}
	return s
}

// Sub returns u-v wrapping around at zero.
func (u Uint128) Sub(v Uint128) Uint128 {
	d, _ := u.CheckedSub(v)
	return d
}

// CheckedSub returns u-v and false when v > u.
func (u Uint128) CheckedSub(v Uint128) (Uint128, bool) {
	lo, b := bits.Sub64(u.Lo, v.Lo, 0)
	hi, b := bits.Sub64(u.Hi, v.Hi, b)
	return Uint128{hi, lo}, b == 0
}

// SubSat returns u-v clamped to zero (Rust's saturating_sub).
func (u Uint128) SubSat(v Uint128) Uint128 {
	d, ok := u.CheckedSub(v)
	if !ok {
		return Uint128{}
	}
	return d
}

// CheckedMul returns u*v and false when the product overflows u128.
func (u Uint128) CheckedMul(v Uint128) (Uint128, bool) {
	if u.Hi != 0 && v.Hi != 0 {
		return Uint128{}, false
	}
	hi, lo := bits.Mul64(u.Lo, v.Lo)
	h1, l1 := bits.Mul64(u.Hi, v.Lo)
	h2, l2 := bits.Mul64(u.Lo, v.Hi)
	if h1 != 0 || h2 != 0 {
		return Uint128{}, false
	}
	hi, c := bits.Add64(hi, l1, 0)
	if c != 0 {
		return Uint128{}, false
	}
	hi, c = bits.Add64(hi, l2, 0)
	if c != 0 {
		return Uint128{}, false
	}
	return Uint128{hi, lo}, true
}

// MulSat returns u*v clamped to u128::MAX (Rust's saturating_mul).
func (u Uint128) MulSat(v Uint128) Uint128 {
	p, ok := u.CheckedMul(v)
	if !ok {
		return MaxUint128()
	}
	return p
}

// QuoRem returns u/v and u%v. v must not be zero; callers check, because
// upstream never divides by zero on these paths (it uses max(1) or checks).
func (u Uint128) QuoRem(v Uint128) (q, r Uint128) {
	if v.Hi == 0 {
		if u.Hi < v.Lo {
			ql, rl := bits.Div64(u.Hi, u.Lo, v.Lo)
			return Uint128{0, ql}, Uint128{0, rl}
		}
		qh, rh := bits.Div64(0, u.Hi, v.Lo)
		ql, rl := bits.Div64(rh, u.Lo, v.Lo)
		return Uint128{qh, ql}, Uint128{0, rl}
	}
	if u.Less(v) {
		return Uint128{}, u
	}
	// v.Hi != 0, so the quotient fits in 64 bits. Normalise and estimate.
	s := uint(bits.LeadingZeros64(v.Hi))
	vn := v.shl(s)
	// u >> 1 guarantees the high word is below vn.Hi for Div64.
	u1 := u.shr(1)
	tq, _ := bits.Div64(u1.Hi, u1.Lo, vn.Hi)
	tq >>= 63 - s
	if tq != 0 {
		tq--
	}
	q = Uint128{0, tq}
	r = u.Sub(v.mul64(tq))
	if !r.Less(v) {
		q = q.Add(Uint128{0, 1})
		r = r.Sub(v)
	}
	return q, r
}

// Quo returns u/v (v must not be zero).
func (u Uint128) Quo(v Uint128) Uint128 {
	q, _ := u.QuoRem(v)
	return q
}

// Rem returns u%v (v must not be zero).
func (u Uint128) Rem(v Uint128) Uint128 {
	_, r := u.QuoRem(v)
	return r
}

// mul64 returns u*v truncated to 128 bits.
func (u Uint128) mul64(v uint64) Uint128 {
	hi, lo := bits.Mul64(u.Lo, v)
	return Uint128{hi + u.Hi*v, lo}
}

func (u Uint128) shl(n uint) Uint128 {
	switch {
	case n == 0:
		return u
	case n >= 128:
		return Uint128{}
	case n >= 64:
		return Uint128{u.Lo << (n - 64), 0}
	}
	return Uint128{u.Hi<<n | u.Lo>>(64-n), u.Lo << n}
}

func (u Uint128) shr(n uint) Uint128 {
	switch {
	case n == 0:
		return u
	case n >= 128:
		return Uint128{}
	case n >= 64:
		return Uint128{0, u.Hi >> (n - 64)}
	}
	return Uint128{u.Hi >> n, u.Lo>>n | u.Hi<<(64-n)}
}

// String renders u in decimal.
func (u Uint128) String() string {
	if u.Hi == 0 {
		return fmt.Sprintf("%d", u.Lo)
	}
	var buf [40]byte
	i := len(buf)
	ten19 := uint64(10_000_000_000_000_000_000)
	for u.Hi != 0 {
		// Peel 19 decimal digits at a time.
		qh, rh := bits.Div64(0, u.Hi, ten19)
		ql, r := bits.Div64(rh, u.Lo, ten19)
		u = Uint128{qh, ql}
		for k := 0; k < 19; k++ {
			i--
			buf[i] = byte('0' + r%10)
			r /= 10
		}
	}
	// The loop leaves a non-zero quotient (u was at least 2^64 > 10^19).
	return fmt.Sprintf("%d", u.Lo) + string(buf[i:])
}

// MarshalText encodes u as a decimal string, so JSON carries it as a string
// and never loses precision.
func (u Uint128) MarshalText() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalText parses a decimal string.
func (u *Uint128) UnmarshalText(b []byte) error {
	v, err := ParseUint128(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}

// ParseUint128 parses a non-negative decimal integer that fits in 128 bits.
func ParseUint128(s string) (Uint128, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Uint128{}, fmt.Errorf("parse %q: %w", s, ErrInvalidNumber)
	}
	var u Uint128
	for _, ch := range []byte(s) {
		if ch < '0' || ch > '9' {
			return Uint128{}, fmt.Errorf("parse %q: %w", s, ErrInvalidNumber)
		}
		hi, lo := bits.Mul64(u.Lo, 10)
		h2, h2lo := bits.Mul64(u.Hi, 10)
		if h2 != 0 {
			return Uint128{}, fmt.Errorf("parse %q: overflows u128: %w", s, ErrInvalidNumber)
		}
		nh, c := bits.Add64(hi, h2lo, 0)
		if c != 0 {
			return Uint128{}, fmt.Errorf("parse %q: overflows u128: %w", s, ErrInvalidNumber)
		}
		nl, c := bits.Add64(lo, uint64(ch-'0'), 0)
		nh, c = bits.Add64(nh, 0, c)
		if c != 0 {
			return Uint128{}, fmt.Errorf("parse %q: overflows u128: %w", s, ErrInvalidNumber)
		}
		u = Uint128{nh, nl}
	}
	return u, nil
}

// uint256 is a little-endian 4-word product used for exact a*b/c.
type uint256 [4]uint64

// mul128 returns the full 256-bit product a*b.
func mul128(a, b Uint128) uint256 {
	var r uint256
	h, l := bits.Mul64(a.Lo, b.Lo)
	r[0] = l
	r[1] = h
	h, l = bits.Mul64(a.Lo, b.Hi)
	var c uint64
	r[1], c = bits.Add64(r[1], l, 0)
	r[2], c = bits.Add64(h, 0, c)
	r[3] = c
	h, l = bits.Mul64(a.Hi, b.Lo)
	r[1], c = bits.Add64(r[1], l, 0)
	r[2], c = bits.Add64(r[2], h, c)
	r[3] += c
	h, l = bits.Mul64(a.Hi, b.Hi)
	r[2], c = bits.Add64(r[2], l, 0)
	r[3], _ = bits.Add64(r[3], h, c)
	return r
}

func (x uint256) cmp(y uint256) int {
	for i := 3; i >= 0; i-- {
		if x[i] != y[i] {
			if x[i] < y[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// div256by128 divides n by d (d != 0). ok is false when the quotient does not
// fit in 128 bits; the remainder is then meaningless.
func div256by128(n uint256, d Uint128) (q, r Uint128, ok bool) {
	// The quotient fits in 128 bits iff the top half of n is below d.
	top := Uint128{n[3], n[2]}
	if !top.Less(d) {
		return Uint128{}, Uint128{}, false
	}
	if d.Hi == 0 {
		// Top half < d < 2^64 means n[3] == 0 and n[2] < d.Lo.
		q1, rr := bits.Div64(n[2], n[1], d.Lo)
		q0, rr := bits.Div64(rr, n[0], d.Lo)
		return Uint128{q1, q0}, Uint128{0, rr}, true
	}
	if n[3] == 0 && n[2] == 0 {
		q, r = Uint128{n[1], n[0]}.QuoRem(d)
		return q, r, true
	}
	// Knuth algorithm D with a normalised two-word divisor. Shifting keeps the
	// numerator within four words because top < d.
	s := uint(bits.LeadingZeros64(d.Hi))
	dn := d.shl(s)
	var u [4]uint64
	if s == 0 {
		u = n
	} else {
		u[3] = n[3]<<s | n[2]>>(64-s)
		u[2] = n[2]<<s | n[1]>>(64-s)
		u[1] = n[1]<<s | n[0]>>(64-s)
		u[0] = n[0] << s
	}
	q1, r1h, r1l := div3by2(u[3], u[2], u[1], dn.Hi, dn.Lo)
	q0, r0h, r0l := div3by2(r1h, r1l, u[0], dn.Hi, dn.Lo)
	rem := Uint128{r0h, r0l}.shr(s)
	return Uint128{q1, q0}, rem, true
}

// div3by2 divides the three-word value (u2,u1,u0) by the normalised divisor
// (d1,d0), given (u2,u1) < (d1,d0). It returns the one-word quotient and the
// two-word remainder.
func div3by2(u2, u1, u0, d1, d0 uint64) (q, rh, rl uint64) {
	var rhat uint64
	overflow := false
	if u2 >= d1 {
		// (u2,u1) < (d1,d0) with u2 >= d1 means u2 == d1.
		q = ^uint64(0)
		var c uint64
		rhat, c = bits.Add64(u1, d1, 0)
		overflow = c != 0
	} else {
		q, rhat = bits.Div64(u2, u1, d1)
	}
	for !overflow {
		ph, pl := bits.Mul64(q, d0)
		if ph < rhat || (ph == rhat && pl <= u0) {
			break
		}
		q--
		var c uint64
		rhat, c = bits.Add64(rhat, d1, 0)
		overflow = c != 0
	}
	// remainder = (u2,u1,u0) - q*(d1,d0); add back once if it went negative.
	p1h, p1l := bits.Mul64(q, d0)
	p2h, p2l := bits.Mul64(q, d1)
	mid, c := bits.Add64(p1h, p2l, 0)
	high := p2h + c
	r0, b := bits.Sub64(u0, p1l, 0)
	r1, b := bits.Sub64(u1, mid, b)
	_, b = bits.Sub64(u2, high, b)
	if b != 0 {
		q--
		r0, c = bits.Add64(r0, d0, 0)
		r1, _ = bits.Add64(r1, d1, c)
	}
	return q, r1, r0
}

// Rounding mirrors sp_arithmetic::Rounding.
type Rounding uint8

// Rounding modes, with upstream's names.
const (
	RoundDown Rounding = iota
	RoundUp
	RoundNearestPrefUp
	RoundNearestPrefDown
)

// MulDivRounding is sp_arithmetic's multiply_by_rational_with_rounding: the
// exact value of a*b/c rounded as asked, or ok=false when c is zero or the
// result does not fit in u128 (upstream returns None there). Upstream's
// Double128 long division is exact, so a 256-bit product and an exact
// division reproduce it bit for bit.
func MulDivRounding(a, b, c Uint128, r Rounding) (Uint128, bool) {
	if c.IsZero() {
		return Uint128{}, false
	}
	q, rem, ok := div256by128(mul128(a, b), c)
	if !ok {
		return Uint128{}, false
	}
	if roundsUp(rem, c, r) {
		var fits bool
		q, fits = q.CheckedAdd(Uint128{0, 1})
		if !fits {
			return Uint128{}, false
		}
	}
	return q, true
}

// roundsUp decides whether a quotient with remainder rem (of divisor c) is
// bumped, using upstream's exact comparisons (c/2 + c%2 rather than
// (c+1)/2, which would overflow for c = u128::MAX).
func roundsUp(rem, c Uint128, r Rounding) bool {
	switch r {
	case RoundUp:
		return !rem.IsZero()
	case RoundNearestPrefUp:
		half := c.shr(1).Add(Uint128{0, c.Lo & 1})
		return !rem.Less(half)
	case RoundNearestPrefDown:
		return c.shr(1).Less(rem)
	}
	return false
}

// divisor64 is a 64-bit divisor prepared for repeated division by
// multiplication (Möller and Granlund, "Improved division by invariant
// integers", 2011): d is normalised (top bit set) by shift, and v is its
// reciprocal floor((2^128-1)/d) - 2^64. PhragMMS divides by the same backed
// stake for every voter of a candidate, where this is several times faster
// than a hardware division.
type divisor64 struct {
	orig, d, v uint64
	shift      uint
}

func newDivisor64(d uint64) divisor64 {
	s := uint(bits.LeadingZeros64(d))
	dn := d << s
	v, _ := bits.Div64(^dn, ^uint64(0), dn)
	return divisor64{orig: d, d: dn, v: v, shift: s}
}

// quo returns floor((hi·2^64 + lo) / d) for a numerator whose quotient fits
// in 64 bits (hi < original d).
func (x divisor64) quo(hi, lo uint64) uint64 {
	u1, u0 := hi, lo
	if x.shift != 0 {
		u1 = hi<<x.shift | lo>>(64-x.shift)
		u0 = lo << x.shift
	}
	q, _ := x.step(u1, u0)
	return q
}

// step divides the normalised two-word value (u1, u0), u1 < d, returning the
// quotient and the (normalised) remainder.
func (x divisor64) step(u1, u0 uint64) (q, r uint64) {
	qh, ql := bits.Mul64(x.v, u1)
	var c uint64
	ql, c = bits.Add64(ql, u0, 0)
	qh, _ = bits.Add64(qh, u1, c)
	qh++
	r = u0 - qh*x.d
	if r > ql {
		qh--
		r += x.d
	}
	if r >= x.d {
		qh++
		r -= x.d
	}
	return qh, r
}

// mulDivDown returns floor(a·b / orig) for a 128-bit a and 64-bit b, and
// false when the quotient does not fit in 128 bits — the same answer as
// MulDivRounding(a, U128(b), U128(orig), RoundDown).
func (x divisor64) mulDivDown(a Uint128, b uint64) (Uint128, bool) {
	// a·b as three words p2:p1:p0.
	h0, p0 := bits.Mul64(a.Lo, b)
	h1, l1 := bits.Mul64(a.Hi, b)
	p1, c := bits.Add64(l1, h0, 0)
	p2 := h1 + c
	if p2 >= x.orig {
		return Uint128{}, false
	}
	s := x.shift
	var n2, n1, n0 uint64
	if s == 0 {
		n2, n1, n0 = p2, p1, p0
	} else {
		n2 = p2<<s | p1>>(64-s)
		n1 = p1<<s | p0>>(64-s)
		n0 = p0 << s
	}
	q1, r := x.step(n2, n1)
	q0, _ := x.step(r, n0)
	return Uint128{q1, q0}, true
}
