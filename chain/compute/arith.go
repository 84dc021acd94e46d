package compute

import (
	"math/big"
	"math/bits"

	"github.com/veil-network/veil/chain/types"
)

// The module's arithmetic is integer only. Amounts are u128; products that
// can exceed 128 bits go through npos's exact 256-bit MulDivRounding or
// math/big, both deterministic.

// RewardScale is the fixed-point scale of the reward accumulator: acc
// counts reward units per share unit times RewardScale.
const RewardScale = 1_000_000_000_000

var rewardScale = types.NewAmount(RewardScale)

// ppmOf returns ⌊a·ppm/10^6⌋ (never more than a for ppm ≤ 10^6).
func ppmOf(a types.Amount, ppm uint32) types.Amount {
	return a.MulDivSat(types.NewAmount(uint64(ppm)), types.NewAmount(PPM))
}

// wrapAdd and wrapSub are u128 arithmetic modulo 2^128, for the reward
// accumulator: only differences acc − reward_debt matter, and those are
// exact modulo 2^128 as long as one worker's unsettled accumulation stays
// below 2^128 (docs/compute.md, "Arithmetic").
func wrapAdd(a, b types.Amount) types.Amount { s, _ := a.Add(b); return s }
func wrapSub(a, b types.Amount) types.Amount { d, _ := a.Sub(b); return d }

// isqrt64 is ⌊√x⌋.
func isqrt64(x uint64) uint64 {
	if x == 0 {
		return 0
	}
	// Newton's method from a power of two above the root.
	r := uint64(1) << ((bits.Len64(x) + 1) / 2)
	for {
		n := (r + x/r) / 2
		if n >= r {
			return r
		}
		r = n
	}
}

// shareOf is the reward share √(V² + (2·P·conf)²), with P's term scaled to
// value units: 2·P·conf_ppm/10^6 tokens-equivalent, times
// ValueUnitsPerToken. The parameter bounds keep the radicand below 2^97.
func shareOf(v, score, confPPM uint64) uint64 {
	pterm := 2 * score * confPPM / (PPM / ValueUnitsPerToken)
	r := new(big.Int).SetUint64(v)
	r.Mul(r, r)
	pt := new(big.Int).SetUint64(pterm)
	pt.Mul(pt, pt)
	r.Add(r, pt)
	r.Sqrt(r)
	if !r.IsUint64() {
		return ^uint64(0)
	}
	return r.Uint64()
}

// MinStake is the minimum stake of a worker with score P: k·isqrt(P)
// (k = min_stake_k); false when it exceeds u128 (no stake can meet it).
func MinStake(k types.Amount, score uint64) (types.Amount, bool) {
	return k.Mul64(isqrt64(score))
}

// initialValue is V₀ = stake in thousandths of a token, capped.
func initialValue(stake, tokenUnit types.Amount, limit uint64) uint64 {
	v, ok := stake.MulDiv(types.NewAmount(ValueUnitsPerToken), tokenUnit)
	n, fits := v.Uint64()
	if !ok || !fits || n > limit {
		return limit
	}
	return n
}

// grow is V + ⌊V·ppm/10^6⌋, capped.
func grow(v uint64, ppm uint32, limit uint64) uint64 {
	hi, lo := bits.Mul64(v, uint64(ppm))
	d, _ := bits.Div64(hi, lo, PPM)
	if v > limit || d > limit-v {
		return limit
	}
	return v + d
}

// decay is V − ⌊V·ppm/10^6⌋.
func decay(v uint64, ppm uint32) uint64 {
	hi, lo := bits.Mul64(v, uint64(ppm))
	d, _ := bits.Div64(hi, lo, PPM)
	return v - d
}

// amountOf reads a stored decimal amount field (empty = 0); one that does
// not parse is corrupted state.
func amountOf(s string) types.Amount {
	if s == "" {
		return types.Amount{}
	}
	a, err := types.ParseAmount(s)
	if err != nil {
		panic(&types.StoreFailure{Err: err})
	}
	return a
}
