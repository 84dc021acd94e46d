package compute

import (
	"fmt"

	"github.com/veil-network/veil/chain/types"
)

// Params are the compute economics, stored as JSON under "compute/params"
// (set at genesis; SetParams for tests and governance). docs/compute.md
// explains each with its development and real-network values.
type Params struct {
	// MinStakeK is the stake per √P unit: a worker with score P needs at
	// least MinStakeK·isqrt(P) to start computing.
	MinStakeK types.Amount `json:"min_stake_k"`
	// TokenUnit is one whole token in the smallest unit (10^decimals); the
	// initial value V is the stake in thousandths of a token.
	TokenUnit types.Amount `json:"token_unit"`
	// CooldownBlocks is how long a stopped worker's stake stays locked.
	CooldownBlocks uint64 `json:"cooldown_blocks"`
	// ChallengesPerHour is how many heartbeat challenges each active
	// worker receives per hour on average (0 disables heartbeats).
	ChallengesPerHour uint64 `json:"challenges_per_hour"`
	// ExpectedBlockMs is the target block interval; blocks per hour =
	// 3,600,000 / ExpectedBlockMs.
	ExpectedBlockMs uint64 `json:"expected_block_ms"`
	// ResponseWindowBlocks: an answer must land at most this many blocks
	// after its challenge.
	ResponseWindowBlocks uint64 `json:"response_window_blocks"`
	// SlashPPM is the fraction of stake slashed to the treasury when a
	// Computing worker misses a heartbeat.
	SlashPPM uint32 `json:"slash_ppm"`
	// RewardPerBlock is minted every block in which the total share is
	// positive.
	RewardPerBlock types.Amount `json:"reward_per_block"`
	// TreasuryCutPPM is the treasury's part of RewardPerBlock.
	TreasuryCutPPM uint32 `json:"treasury_cut_ppm"`
	// ValueGrowthPPM: V ← V + V·growth/10^6 on every answered heartbeat.
	ValueGrowthPPM uint32 `json:"value_growth_ppm"`
	// ValueDecayPPM: V ← V − V·decay/10^6 on every missed heartbeat.
	ValueDecayPPM uint32 `json:"value_decay_ppm"`
	// ValueCap bounds V (in value units, ValueUnitsPerToken per token).
	ValueCap uint64 `json:"value_cap"`
	// ConfidenceWeightsPPM weighs P by the worker's TCB confidence level
	// 1..5 (index 0 is level 1; level 5 is a simulated TEE).
	ConfidenceWeightsPPM []uint32 `json:"confidence_weights_ppm"`
	// MaxScore clamps reported benchmark scores.
	MaxScore uint64 `json:"max_score"`
	// WithdrawGraceBlocks: a pool whose oldest queued withdrawal is this
	// old has its workers stopped so their stake can pay it.
	WithdrawGraceBlocks uint64 `json:"withdraw_grace_blocks"`
	// MaxPoolWorkers bounds the workers of one pool.
	MaxPoolWorkers uint32 `json:"max_pool_workers"`
}

// ValueUnitsPerToken is V's fixed-point scale: V counts thousandths of a
// token, so per-heartbeat growth of a few ppm is not lost to rounding.
const ValueUnitsPerToken = 1000

// PPM is one in parts per million.
const PPM = 1_000_000

// Hard bounds of the parameters. They keep every product inside its
// integer type: V² < 2^96, (2·P·conf)² < 2^84, block reward·RewardScale
// < 2^110 (docs/compute.md, "Arithmetic").
const (
	limitBlocks         = 1 << 40
	limitChallenges     = 36_000
	limitWindow         = 1 << 20
	limitValueCap       = 1 << 48
	limitScore          = 1_000_000_000
	limitPoolWorkers    = 256
	confidenceLevels    = 5
	limitRewardPerBlock = "1000000000000000000000" // 10^21
)

var maxRewardPerBlock = types.MustParseAmount(limitRewardPerBlock)

// DefaultParams are the development values (1 s blocks, 12-decimal
// token): short cool-down and grace so a dev network shows every
// transition within minutes.
func DefaultParams() Params {
	tok := types.NewAmount(1_000_000_000_000)
	return Params{
		MinStakeK:            tok,
		TokenUnit:            tok,
		CooldownBlocks:       60,
		ChallengesPerHour:    60,
		ExpectedBlockMs:      1000,
		ResponseWindowBlocks: 10,
		SlashPPM:             10_000,
		RewardPerBlock:       tok,
		TreasuryCutPPM:       200_000,
		ValueGrowthPPM:       1_000,
		ValueDecayPPM:        20_000,
		ValueCap:             30_000 * ValueUnitsPerToken,
		ConfidenceWeightsPPM: []uint32{1_000_000, 1_000_000, 1_000_000, 800_000, 700_000},
		MaxScore:             10_000_000,
		WithdrawGraceBlocks:  600,
		MaxPoolWorkers:       32,
	}
}

// Validate checks parameter sanity.
func (p Params) Validate() error {
	switch {
	case p.TokenUnit.IsZero():
		return fmt.Errorf("token_unit must be positive")
	case p.CooldownBlocks > limitBlocks:
		return fmt.Errorf("cooldown_blocks must be at most %d, got %d", uint64(limitBlocks), p.CooldownBlocks)
	case p.ChallengesPerHour > limitChallenges:
		return fmt.Errorf("challenges_per_hour must be at most %d, got %d", limitChallenges, p.ChallengesPerHour)
	case p.ExpectedBlockMs < 1 || p.ExpectedBlockMs > 3_600_000:
		return fmt.Errorf("expected_block_ms must be 1..3600000, got %d", p.ExpectedBlockMs)
	case p.ResponseWindowBlocks < 1 || p.ResponseWindowBlocks > limitWindow:
		return fmt.Errorf("response_window_blocks must be 1..%d, got %d", limitWindow, p.ResponseWindowBlocks)
	case p.SlashPPM > PPM:
		return fmt.Errorf("slash_ppm must be at most %d, got %d", PPM, p.SlashPPM)
	case p.RewardPerBlock.Cmp(maxRewardPerBlock) > 0:
		return fmt.Errorf("reward_per_block must be at most %s, got %s", limitRewardPerBlock, p.RewardPerBlock)
	case p.TreasuryCutPPM > PPM:
		return fmt.Errorf("treasury_cut_ppm must be at most %d, got %d", PPM, p.TreasuryCutPPM)
	case p.ValueGrowthPPM > PPM:
		return fmt.Errorf("value_growth_ppm must be at most %d, got %d", PPM, p.ValueGrowthPPM)
	case p.ValueDecayPPM > PPM:
		return fmt.Errorf("value_decay_ppm must be at most %d, got %d", PPM, p.ValueDecayPPM)
	case p.ValueCap < 1 || p.ValueCap > limitValueCap:
		return fmt.Errorf("value_cap must be 1..%d, got %d", uint64(limitValueCap), p.ValueCap)
	case len(p.ConfidenceWeightsPPM) != confidenceLevels:
		return fmt.Errorf("confidence_weights_ppm must have %d entries (levels 1..5), got %d", confidenceLevels, len(p.ConfidenceWeightsPPM))
	case p.MaxScore < 1 || p.MaxScore > limitScore:
		return fmt.Errorf("max_score must be 1..%d, got %d", limitScore, p.MaxScore)
	case p.WithdrawGraceBlocks > limitBlocks:
		return fmt.Errorf("withdraw_grace_blocks must be at most %d, got %d", uint64(limitBlocks), p.WithdrawGraceBlocks)
	case p.MaxPoolWorkers < 1 || p.MaxPoolWorkers > limitPoolWorkers:
		return fmt.Errorf("max_pool_workers must be 1..%d, got %d", limitPoolWorkers, p.MaxPoolWorkers)
	}
	for i, w := range p.ConfidenceWeightsPPM {
		if w > PPM {
			return fmt.Errorf("confidence_weights_ppm[%d] (level %d) must be at most %d, got %d", i, i+1, PPM, w)
		}
	}
	return nil
}

// confidenceWeight is the weight of a TCB confidence level (0 outside
// 1..5: an unknown level earns nothing from P).
func (p Params) confidenceWeight(level uint32) uint64 {
	if level < 1 || int(level) > len(p.ConfidenceWeightsPPM) {
		return 0
	}
	return uint64(p.ConfidenceWeightsPPM[level-1])
}
