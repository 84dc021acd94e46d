package staking

import (
	"math"
	"math/big"

	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/npos"
)

// The module's arithmetic is on u128 amounts only. Products that can
// exceed 128 bits (stake × reward, stake × fraction) go through npos's
// exact 256-bit MulDivRounding; nothing is ever a float.

// fromBigSat converts a non-negative integer, saturating at u128::MAX.
func fromBigSat(v *big.Int) types.Amount {
	if a, ok := types.AmountFromBig(v); ok {
		return a
	}
	if v.Sign() < 0 {
		return types.Amount{}
	}
	return types.MaxAmount()
}

// voteFactor is Polkadot's U128CurrencyToVote factor: max(1, issuance /
// u64::MAX). Stakes are divided by it to become u64 vote weights, so the
// sum of all votes stays near u64::MAX however large the issuance grows
// (with 12 decimals, u64::MAX units are only 18.4 million tokens).
func voteFactor(issuance types.Amount) types.Amount {
	f, _ := issuance.DivMod64(math.MaxUint64)
	if f.IsZero() {
		return types.NewAmount(1)
	}
	return f
}

// toVote converts a stake to an election vote weight: ⌊stake/factor⌋,
// saturating at u64::MAX (it cannot exceed it while the stake is at most
// the issuance).
func toVote(stake, factor types.Amount) uint64 {
	q := stake.MulDivSat(types.NewAmount(1), factor)
	v, ok := q.Uint64()
	if !ok {
		return math.MaxUint64
	}
	return v
}

// toCurrency converts an election stake (vote units) back to an amount:
// vote·factor, which is exact while the factor is 1 and otherwise at
// most the staker's real stake (so exposures never exceed bonds).
func toCurrency(v npos.Uint128, factor types.Amount) types.Amount {
	return types.AmountFromUint128(v).MulDivSat(factor, types.NewAmount(1))
}
