package staking

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"

	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/npos"
)

// Perbill is a fraction in parts per billion, as Substrate's Perbill: the
// only representation of fractions in chain code (no floats).
type Perbill uint32

// PerbillOne is 100%.
const PerbillOne Perbill = 1_000_000_000

// MulFloor returns ⌊a·p⌋.
func (p Perbill) MulFloor(a types.Amount) types.Amount {
	return a.MulDivSat(types.NewAmount(uint64(p)), types.NewAmount(uint64(PerbillOne)))
}

// String renders p as a percentage ("5%", "12.5%") for events and text
// output; JSON carries the integer parts.
func (p Perbill) String() string {
	whole, frac := uint32(p)/10_000_000, uint32(p)%10_000_000
	if frac == 0 {
		return fmt.Sprintf("%d%%", whole)
	}
	s := fmt.Sprintf("%07d", frac)
	s = string(bytes.TrimRight([]byte(s), "0"))
	return fmt.Sprintf("%d.%s%%", whole, s)
}

// Limits that no parameter change can exceed: they bound the work of one
// election (and so of one block).
const (
	// MaxNominationsLimit is the hard cap of targets per nominator.
	MaxNominationsLimit = 16
	// MaxUnlockingChunks bounds a ledger's unlocking list (Polkadot's
	// MaxUnlockingChunks).
	MaxUnlockingChunks = 32
	// MaxValidatorCountLimit bounds validator_count (CometBFT gossips
	// every vote to every validator; beyond a few hundred it slows down).
	MaxValidatorCountLimit = 1_000
	// MaxCandidatesLimit bounds max_validators.
	MaxCandidatesLimit = 10_000
	// MaxNominatorsLimit bounds max_nominators.
	MaxNominatorsLimit = 100_000
	// MaxBalancingIterations bounds balancing_iterations.
	MaxBalancingIterations = 100
)

// Election algorithms.
const (
	ElectionSeqPhragmen = npos.AlgorithmSeqPhragmen
	ElectionPhragMMS    = npos.AlgorithmPhragMMS
)

// Inflation are the parameters of Polkadot's ideal-staking-rate curve:
// the stakers' yearly inflation is
//
//	I(x) = min + (max − min) · adj(x),
//	adj(x) = x / ideal                  for x < ideal
//	adj(x) = 2^((ideal − x) / falloff)  for x ≥ ideal
//
// where x is the staked fraction of the issuance.
type Inflation struct {
	Min     Perbill `json:"min_inflation"`
	Max     Perbill `json:"max_inflation"`
	Ideal   Perbill `json:"ideal_stake"`
	Falloff Perbill `json:"falloff"`
	// RemainderToTreasury mints the difference between the maximum
	// inflation and the stakers' payout to the treasury (Polkadot does);
	// off, it is not minted at all.
	RemainderToTreasury bool `json:"remainder_to_treasury"`
}

// Slashing are the misbehaviour parameters. Duplicate votes always slash
// min((3k/n)², 1) of the exposure (docs/staking.md); downtime chills.
type Slashing struct {
	// DowntimeWindow is the length in blocks of the window in which missed
	// commit signatures are counted; 0 disables downtime detection.
	DowntimeWindow int64 `json:"downtime_window"`
	// DowntimeMaxMissed missed signatures within one window chill the
	// validator.
	DowntimeMaxMissed uint32 `json:"downtime_max_missed"`
}

// Params are the staking parameters, set in genesis and changed by
// governance (MsgSetStakingParams).
type Params struct {
	// ValidatorCount is the number of seats an election fills.
	ValidatorCount uint32 `json:"validator_count"`
	// MinValidatorCount: an election electing fewer keeps the current set.
	MinValidatorCount uint32 `json:"min_validator_count"`
	// MaxValidators and MaxNominators cap the declared candidates and
	// nominators, which bounds the work of one election.
	MaxValidators    uint32       `json:"max_validators"`
	MaxNominators    uint32       `json:"max_nominators"`
	MinValidatorBond types.Amount `json:"min_validator_bond"`
	MinNominatorBond types.Amount `json:"min_nominator_bond"`
	// EraLength in blocks: an era ends in the EndBlock of every height
	// that is a multiple of it.
	EraLength int64 `json:"era_length"`
	// BondingDuration in eras before unbonded funds can be withdrawn.
	BondingDuration uint32 `json:"bonding_duration"`
	// HistoryDepth eras of exposures are kept (for late evidence and
	// payouts); at least BondingDuration so unbonding funds stay slashable.
	HistoryDepth uint32 `json:"history_depth"`
	// Election is "seq-phragmen" or "phragmms".
	Election string `json:"election"`
	// BalancingIterations rounds of star balancing (0 = none) stopping
	// once no voter moves more than BalancingTolerance (vote units).
	BalancingIterations uint32       `json:"balancing_iterations"`
	BalancingTolerance  types.Amount `json:"balancing_tolerance"`
	// MaxNominations is the most targets a nominator may name (≤ 16).
	MaxNominations uint32 `json:"max_nominations"`
	// PowerUnit is the backed stake per unit of CometBFT voting power.
	PowerUnit types.Amount `json:"power_unit"`
	Inflation Inflation    `json:"inflation"`
	// Era points: per block proposed and per commit signature.
	PointsPerBlock     uint32 `json:"points_per_block"`
	PointsPerSignature uint32 `json:"points_per_signature"`
	// PayoutsPerBlock is how many stakers are paid per block once an era
	// has ended.
	PayoutsPerBlock uint32   `json:"payouts_per_block"`
	Slashing        Slashing `json:"slashing"`
}

// Token is 10^12 units (12 decimals, as the dev chain's VEIL).
var token = types.NewAmount(1_000_000_000_000)

func tokens(n uint64) types.Amount {
	a, _ := token.Mul64(n)
	return a
}

// DefaultParams are for a long-running network: hour-long eras at 1 s
// blocks, 100 seats, Polkadot's inflation curve.
func DefaultParams() Params {
	return Params{
		ValidatorCount:      100,
		MinValidatorCount:   1,
		MaxValidators:       1_000,
		MaxNominators:       10_000,
		MinValidatorBond:    tokens(1_000),
		MinNominatorBond:    tokens(10),
		EraLength:           3_600,
		BondingDuration:     28,
		HistoryDepth:        84,
		Election:            ElectionSeqPhragmen,
		BalancingIterations: 10,
		MaxNominations:      MaxNominationsLimit,
		PowerUnit:           token,
		Inflation: Inflation{
			Min: 25_000_000, Max: 100_000_000, Ideal: 750_000_000, Falloff: 50_000_000,
		},
		PointsPerBlock:     20,
		PointsPerSignature: 1,
		PayoutsPerBlock:    64,
		Slashing:           Slashing{DowntimeWindow: 600, DowntimeMaxMissed: 300},
	}
}

// DevParams are DefaultParams with a short era (20 blocks) and bonding
// duration (2 eras), so dev chains show era changes within a minute.
func DevParams() Params {
	p := DefaultParams()
	p.EraLength = 20
	p.BondingDuration = 2
	p.HistoryDepth = 16
	p.Slashing = Slashing{DowntimeWindow: 100, DowntimeMaxMissed: 50}
	return p
}

// Validate checks the parameters' ranges and consistency.
func (p Params) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.ValidatorCount < 1 || p.ValidatorCount > MaxValidatorCountLimit {
		bad("validator_count %d is outside 1..%d", p.ValidatorCount, MaxValidatorCountLimit)
	}
	if p.MinValidatorCount < 1 || p.MinValidatorCount > p.ValidatorCount {
		bad("min_validator_count %d is outside 1..validator_count", p.MinValidatorCount)
	}
	if p.MaxValidators < p.ValidatorCount || p.MaxValidators > MaxCandidatesLimit {
		bad("max_validators %d is outside validator_count..%d", p.MaxValidators, MaxCandidatesLimit)
	}
	if p.MaxNominators > MaxNominatorsLimit {
		bad("max_nominators %d exceeds %d", p.MaxNominators, MaxNominatorsLimit)
	}
	if p.EraLength < 1 {
		bad("era_length must be at least 1 block")
	}
	if p.HistoryDepth < 1 || p.HistoryDepth < p.BondingDuration {
		bad("history_depth %d must be at least 1 and at least bonding_duration %d", p.HistoryDepth, p.BondingDuration)
	}
	if p.Election != ElectionSeqPhragmen && p.Election != ElectionPhragMMS {
		bad("election must be %q or %q, got %q", ElectionSeqPhragmen, ElectionPhragMMS, p.Election)
	}
	if p.BalancingIterations > MaxBalancingIterations {
		bad("balancing_iterations %d exceeds %d", p.BalancingIterations, MaxBalancingIterations)
	}
	if p.MaxNominations < 1 || p.MaxNominations > MaxNominationsLimit {
		bad("max_nominations %d is outside 1..%d", p.MaxNominations, MaxNominationsLimit)
	}
	if u, ok := p.PowerUnit.Uint64(); !ok || u == 0 {
		bad("power_unit must be between 1 and 2^64-1")
	}
	in := p.Inflation
	if in.Max > PerbillOne || in.Min > in.Max {
		bad("inflation must satisfy min_inflation ≤ max_inflation ≤ 10^9 parts")
	}
	if in.Ideal == 0 || in.Ideal > PerbillOne {
		bad("ideal_stake must be in 1..10^9 parts")
	}
	if in.Falloff < PerbillOne/100 || in.Falloff > PerbillOne {
		bad("falloff must be between 1%% and 100%% (10^7..10^9 parts)")
	}
	if p.PayoutsPerBlock < 1 || p.PayoutsPerBlock > 10_000 {
		bad("payouts_per_block %d is outside 1..10000", p.PayoutsPerBlock)
	}
	if p.Slashing.DowntimeWindow < 0 {
		bad("downtime_window must not be negative")
	}
	if p.Slashing.DowntimeWindow > 0 && (p.Slashing.DowntimeMaxMissed < 1 || int64(p.Slashing.DowntimeMaxMissed) > p.Slashing.DowntimeWindow) {
		bad("downtime_max_missed must be in 1..downtime_window")
	}
	return errors.Join(errs...)
}

// ParseParams decodes parameters strictly (unknown fields are errors, so
// a typo in a governance call cannot silently keep a default) and
// validates them.
func ParseParams(raw []byte) (Params, error) {
	var p Params
	if err := types.DecodeStrict(raw, &p); err != nil {
		return p, fmt.Errorf("staking params: %w", err)
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("staking params: %w", err)
	}
	return p, nil
}

// MillisPerYear is a Julian year (365.25 days) in milliseconds, as
// Polkadot's MILLISECONDS_PER_YEAR.
const MillisPerYear = 36_525 * 24 * 60 * 60 * 1000 / 100

// computeInflation is pallet-staking-reward-fn's compute_inflation for
// Perbill: adj(x) with x, ideal and falloff in parts per billion, the
// exponential evaluated by its Taylor series in exact integer arithmetic
// (at most 300 terms, each rounded down like upstream).
func computeInflation(stake, ideal, falloff Perbill) Perbill {
	if stake < ideal {
		return Perbill(uint64(stake) * uint64(PerbillOne) / uint64(ideal))
	}
	if falloff < PerbillOne/100 {
		return 0
	}
	acc := big.NewInt(int64(PerbillOne))
	// ln 2 as Perbill::from_rational(LN2 perquintill, 10^18), rounded down.
	const ln2Perquintill = 693_147_180_559_945_309
	ln2 := big.NewInt(ln2Perquintill / 1_000_000_000)
	ln2DivD := new(big.Int).Mul(ln2, acc)
	ln2DivD.Quo(ln2DivD, big.NewInt(int64(falloff)))
	diff := big.NewInt(int64(stake) - int64(ideal))

	last := new(big.Int).Set(acc)
	sum := new(big.Int).Set(acc)
	positive := true
	for k := int64(1); k < 300; k++ {
		// last = last·(x − ideal)·ln2/d / k / acc / acc
		last.Mul(last, diff)
		last.Mul(last, ln2DivD)
		last.Quo(last, big.NewInt(k))
		last.Quo(last, acc)
		last.Quo(last, acc)
		if last.Sign() == 0 {
			break
		}
		termPositive := k%2 == 0
		switch {
		case positive == termPositive:
			sum.Add(sum, last)
		case sum.Cmp(last) >= 0:
			sum.Sub(sum, last)
		default:
			positive = !positive
			sum.Sub(last, sum)
		}
	}
	if !positive || sum.Cmp(acc) > 0 {
		return 0
	}
	return Perbill(sum.Uint64())
}

// EraPayout computes an era's payout from Polkadot's inflation curve:
// stakers get issuance · I(x) · era/year and the rest of the maximum
// inflation (issuance · max · era/year) is the remainder. x =
// ⌊staked/issuance⌋ in Perbill; I(x) = min + ⌊(max − min)·adj(x)⌋; each
// payout is one exact rounding-down division (math/big), so no
// intermediate Perquintill period fraction loses precision.
func EraPayout(staked, issuance types.Amount, eraMillis int64, in Inflation) (stakers, remainder types.Amount) {
	if issuance.IsZero() || eraMillis <= 0 {
		return types.Amount{}, types.Amount{}
	}
	// Clamp before narrowing: staked can exceed issuance only through
	// saturation, and a quotient above 2^32 must not wrap into range.
	x := PerbillOne
	if q, ok := staked.MulDivSat(types.NewAmount(uint64(PerbillOne)), issuance).Uint64(); ok && q < uint64(PerbillOne) {
		x = Perbill(q)
	}
	adj := computeInflation(x, in.Ideal, in.Falloff)
	delta := uint64(in.Max - in.Min)
	rate := uint64(in.Min) + delta*uint64(adj)/uint64(PerbillOne)
	den := new(big.Int).Mul(big.NewInt(int64(PerbillOne)), big.NewInt(MillisPerYear))
	pay := func(rate uint64) *big.Int {
		v := new(big.Int).Mul(issuance.Big(), new(big.Int).SetUint64(rate))
		v.Mul(v, big.NewInt(eraMillis))
		return v.Quo(v, den)
	}
	s, mx := pay(rate), pay(uint64(in.Max))
	rest := new(big.Int).Sub(mx, s)
	if rest.Sign() < 0 {
		rest.SetInt64(0)
	}
	return fromBigSat(s), fromBigSat(rest)
}
