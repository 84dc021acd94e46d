package npos

import (
	"fmt"
	"math/bits"
	"strings"
)

// Accuracy identifies a PerThing type of sp_arithmetic: a fixed-point ratio
// in [0, 1] stored as integer parts of One(). The election algorithms are
// generic over it upstream (the `P` parameter); here it is a value, so that
// a chain can pick it from configuration and the CLI from JSON.
//
// Besides One() every accuracy carries the bound of its Rust "Upper" type,
// because upstream's normalisation runs in that type and fails exactly when
// a sum or a length does not fit in it.
type Accuracy uint8

// The PerThing types upstream ships.
const (
	Percent     Accuracy = iota + 1 // parts of 100; inner u8, upper u16
	PerU16                          // parts of 65535; inner u16, upper u32
	Permill                         // parts of 1_000_000; inner u32, upper u64
	Perbill                         // parts of 1_000_000_000; inner u32, upper u64
	Perquintill                     // parts of 10^18; inner u64, upper u128
)

// ParseAccuracy maps a lowercase upstream name ("perbill", "permill",
// "percent", "peru16", "perquintill") to an Accuracy.
func ParseAccuracy(s string) (Accuracy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "percent":
		return Percent, nil
	case "peru16":
		return PerU16, nil
	case "permill":
		return Permill, nil
	case "perbill":
		return Perbill, nil
	case "perquintill":
		return Perquintill, nil
	}
	return 0, fmt.Errorf("accuracy %q (want perbill, permill, percent, peru16 or perquintill): %w", s, ErrInvalidAccuracy)
}

// String returns the lowercase upstream name.
func (a Accuracy) String() string {
	switch a {
	case Percent:
		return "percent"
	case PerU16:
		return "peru16"
	case Permill:
		return "permill"
	case Perbill:
		return "perbill"
	case Perquintill:
		return "perquintill"
	}
	return fmt.Sprintf("Accuracy(%d)", uint8(a))
}

// Valid reports whether a is one of the defined accuracies.
func (a Accuracy) Valid() bool { return a >= Percent && a <= Perquintill }

// One returns ACCURACY, the number of parts that make 100%.
func (a Accuracy) One() uint64 {
	switch a {
	case Percent:
		return 100
	case PerU16:
		return 65535
	case Permill:
		return 1_000_000
	case Perbill:
		return 1_000_000_000
	case Perquintill:
		return 1_000_000_000_000_000_000
	}
	return 0
}

// upperMax is the maximum of the PerThing's Upper type.
func (a Accuracy) upperMax() Uint128 {
	switch a {
	case Percent:
		return U128(1<<16 - 1)
	case PerU16:
		return U128(1<<32 - 1)
	case Permill, Perbill:
		return U128(^uint64(0))
	}
	return MaxUint128()
}

// FromParts clamps parts to One(), like PerThing::from_parts.
func (a Accuracy) FromParts(parts uint64) uint64 {
	return min(parts, a.One())
}

// FromRationalWithRounding is PerThing::from_rational_with_rounding with
// N = u128: ok is false when q is zero or p > q, otherwise the parts are
// One()*p/q rounded as asked.
func (a Accuracy) FromRationalWithRounding(p, q Uint128, r Rounding) (uint64, bool) {
	if q.IsZero() || q.Less(p) {
		return 0, false
	}
	v, ok := MulDivRounding(U128(a.One()), p, q, r)
	if !ok || v.Hi != 0 || v.Lo > a.One() {
		return 0, false
	}
	return v.Lo, true
}

// FromRational is PerThing::from_rational: it rounds down, and — the
// surprising upstream rule — returns One() (100%) when q is zero or p > q
// instead of failing. A zero-stake voter therefore reports 100% on every
// edge; see docs/npos.md.
func (a Accuracy) FromRational(p, q Uint128) uint64 {
	if p.Hi == 0 && q.Hi == 0 && p.Lo <= q.Lo && q.Lo != 0 {
		// Fast path (the common case: stakes fit in u64): One()*p < 2^124
		// and the quotient is at most One(), so one 128/64 division gives
		// the exact floor.
		hi, lo := bits.Mul64(a.One(), p.Lo)
		v, _ := bits.Div64(hi, lo, q.Lo)
		return v
	}
	v, ok := a.FromRationalWithRounding(p, q, RoundDown)
	if !ok {
		return a.One()
	}
	return v
}

// mulRounding is PerThing's overflow_prune_mul: x * parts / One() rounded
// as asked. Upstream splits x into x/One() and x%One() to avoid overflow; the
// result equals the exactly rounded product, which is what this computes.
func (a Accuracy) mulRounding(parts uint64, x Uint128, r Rounding) Uint128 {
	v, ok := MulDivRounding(x, U128(parts), U128(a.One()), r)
	if !ok {
		// Unreachable: parts <= One(), so the result is at most x.
		return x
	}
	return v
}

// Mul is `PerThing * N` for N = u128, which upstream rounds to the nearest
// integer with ties going down (NearestPrefDown), not down.
func (a Accuracy) Mul(parts uint64, x Uint128) Uint128 {
	return a.mulRounding(a.FromParts(parts), x, RoundNearestPrefDown)
}

// MulFloor is PerThing::mul_floor for u128.
func (a Accuracy) MulFloor(parts uint64, x Uint128) Uint128 {
	return a.mulRounding(a.FromParts(parts), x, RoundDown)
}

// MulCeil is PerThing::mul_ceil for u128.
func (a Accuracy) MulCeil(parts uint64, x Uint128) Uint128 {
	return a.mulRounding(a.FromParts(parts), x, RoundUp)
}

// NormalizeParts is `Vec<P>::normalize(P::one())`: the parts are widened to
// the Upper type, normalised with Normalize and clamped back with
// from_parts. It fails where upstream fails (sum or length beyond Upper).
func (a Accuracy) NormalizeParts(parts []uint64) ([]uint64, error) {
	in := make([]Uint128, len(parts))
	for i, p := range parts {
		in[i] = U128(p)
	}
	out, err := normalizeBounded(in, U128(a.One()), a.upperMax())
	if err != nil {
		return nil, fmt.Errorf("normalize %s parts: %w", a, err)
	}
	res := make([]uint64, len(out))
	for i, v := range out {
		// saturated_into::<Inner>() then from_parts: both clamp.
		if v.Hi != 0 {
			res[i] = a.One()
		} else {
			res[i] = a.FromParts(v.Lo)
		}
	}
	return res, nil
}
