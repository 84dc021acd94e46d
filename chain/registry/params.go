package registry

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/types"
)

// Params are the registry's parameters, stored as JSON under
// "registry/params". Genesis sets them; sudo changes the TCB policy.
type Params struct {
	// AllowSimulatedTEE accepts simulated evidence. Development chains
	// only: a simulated worker protects nothing.
	AllowSimulatedTEE bool `json:"allow_simulated_tee"`
	// AttestationValidityBlocks is how long a registration stays valid
	// (86400 = 24 h of 1 s blocks); the relayer re-attests before then.
	AttestationValidityBlocks uint64 `json:"attestation_validity_blocks"`
	// MaxCollateralBytes bounds the collateral of one registration. Intel
	// collateral with CRLs is 9–19 KiB; the bound keeps a registration's
	// parse cost predictable below the transaction size limit.
	MaxCollateralBytes uint64 `json:"max_collateral_bytes"`
	// TCBPolicy lists the accepted TCB statuses and the confidence level
	// each gets, sorted by status. Statuses not listed are rejected.
	TCBPolicy []TCBRule `json:"tcb_policy"`
}

// TCBRule accepts one TCB status at a confidence level.
type TCBRule struct {
	Status     attest.TCBStatus `json:"status"`
	Confidence uint32           `json:"confidence"`
}

// Limits of the parameters.
const (
	DefaultValidityBlocks   = 86_400
	MaxValidityBlocks       = 10_000_000
	DefaultMaxCollateral    = 32 * 1024
	MaxCollateralLimit      = 60 * 1024
	maxPolicyConfidence     = 4
	minimumPolicyConfidence = 1
)

// DefaultTCBPolicy is Phala's mapping of Intel TCB statuses to confidence
// levels, extended for the statuses Phala does not see:
//
//	UpToDate                               1
//	SWHardeningNeeded                      2
//	ConfigurationNeeded                    3
//	ConfigurationAndSWHardeningNeeded      3
//	NotEvaluated (SEV-SNP, no AMD rating)  3
//
// OutOfDate, OutOfDateConfigurationNeeded and the TD relaunch statuses are
// rejected until governance accepts them; Revoked can never be accepted.
func DefaultTCBPolicy() []TCBRule {
	return sortRules([]TCBRule{
		{attest.TCBUpToDate, 1},
		{attest.TCBSWHardeningNeeded, 2},
		{attest.TCBConfigurationNeeded, 3},
		{attest.TCBConfigurationAndSWHardeningNeeded, 3},
		{attest.TCBNotEvaluated, 3},
	})
}

func sortRules(r []TCBRule) []TCBRule {
	slices.SortFunc(r, func(a, b TCBRule) int { return strings.Compare(string(a.Status), string(b.Status)) })
	return r
}

// ProductionParams are the parameters of a production chain: no simulated
// TEEs.
func ProductionParams() Params {
	return Params{
		AllowSimulatedTEE:         false,
		AttestationValidityBlocks: DefaultValidityBlocks,
		MaxCollateralBytes:        DefaultMaxCollateral,
		TCBPolicy:                 DefaultTCBPolicy(),
	}
}

// DevParams are ProductionParams with simulated TEEs allowed.
func DevParams() Params {
	p := ProductionParams()
	p.AllowSimulatedTEE = true
	return p
}

// isPolicyStatus reports the statuses a TCB policy may accept.
// NotApplicable belongs to simulated evidence, which allow_simulated_tee
// governs; Revoked is never acceptable.
func isPolicyStatus(s attest.TCBStatus) bool {
	switch s {
	case attest.TCBUpToDate, attest.TCBSWHardeningNeeded, attest.TCBConfigurationNeeded,
		attest.TCBConfigurationAndSWHardeningNeeded, attest.TCBOutOfDate,
		attest.TCBOutOfDateConfigurationNeeded, attest.TCBTDRelaunchAdvised,
		attest.TCBTDRelaunchAdvisedConfigurationNeeded, attest.TCBNotEvaluated:
		return true
	}
	return false
}

// ValidateTCBPolicy checks a policy: known statuses, each once, confidence
// 1..4, never Revoked.
func ValidateTCBPolicy(rules []TCBRule) error {
	seen := map[attest.TCBStatus]bool{}
	for _, r := range rules {
		if r.Status == attest.TCBRevoked {
			return fmt.Errorf("tcb policy: %s can never be accepted", r.Status)
		}
		if !isPolicyStatus(r.Status) {
			return fmt.Errorf("tcb policy: unknown status %q", truncate(string(r.Status)))
		}
		if seen[r.Status] {
			return fmt.Errorf("tcb policy: status %s listed twice", r.Status)
		}
		seen[r.Status] = true
		if r.Confidence < minimumPolicyConfidence || r.Confidence > maxPolicyConfidence {
			return fmt.Errorf("tcb policy: confidence of %s must be %d..%d, got %d", r.Status, minimumPolicyConfidence, maxPolicyConfidence, r.Confidence)
		}
	}
	return nil
}

// Validate checks parameter sanity.
func (p Params) Validate() error {
	if p.AttestationValidityBlocks == 0 || p.AttestationValidityBlocks > MaxValidityBlocks {
		return fmt.Errorf("attestation_validity_blocks must be 1..%d, got %d", MaxValidityBlocks, p.AttestationValidityBlocks)
	}
	if p.MaxCollateralBytes > MaxCollateralLimit {
		return fmt.Errorf("max_collateral_bytes must be at most %d (the transaction size limit bounds it anyway), got %d", MaxCollateralLimit, p.MaxCollateralBytes)
	}
	return ValidateTCBPolicy(p.TCBPolicy)
}

// confidence returns the policy's confidence for status (false: rejected).
func (p Params) confidence(status attest.TCBStatus) (uint32, bool) {
	for _, r := range p.TCBPolicy {
		if r.Status == status {
			return r.Confidence, true
		}
	}
	return 0, false
}

// GenesisMeasurement is an allowlist entry in genesis.
type GenesisMeasurement struct {
	ID    string `json:"id"`
	Label string `json:"label,omitempty"`
}

// Genesis is the module's genesis section.
type Genesis struct {
	Params       Params               `json:"params"`
	Measurements []GenesisMeasurement `json:"measurements"`
}

// DevGenesis allows simulated workers and the dev worker's measurement, so
// the workers of 'veil dev' register.
func DevGenesis() Genesis {
	return Genesis{
		Params:       DevParams(),
		Measurements: []GenesisMeasurement{{ID: SimulatedMeasurementID(DevWorkerMeasurement()), Label: "veil dev worker (simulated)"}},
	}
}

// ProductionGenesis allows no simulated TEE and no measurement: governance
// adds the measurements of released worker builds.
func ProductionGenesis() Genesis {
	return Genesis{Params: ProductionParams(), Measurements: []GenesisMeasurement{}}
}

// parseGenesis decodes a genesis section strictly (a misspelt field is an
// error, not a silent default). Fields left out take the production
// defaults, so a hand-written genesis that forgets allow_simulated_tee
// does not accept simulated workers.
func parseGenesis(raw json.RawMessage) (Genesis, error) {
	g := Genesis{Params: ProductionParams()}
	if err := types.DecodeStrict(raw, &g); err != nil {
		return g, fmt.Errorf("registry genesis: %w", err)
	}
	if err := g.Params.Validate(); err != nil {
		return g, fmt.Errorf("registry genesis params: %w", err)
	}
	g.Params.TCBPolicy = sortRules(slices.Clone(g.Params.TCBPolicy))
	seen := map[string]bool{}
	for i, m := range g.Measurements {
		if err := ValidateMeasurementID(m.ID); err != nil {
			return g, fmt.Errorf("registry genesis measurement %d: %w", i, err)
		}
		if len(m.Label) > MaxLabelBytes {
			return g, fmt.Errorf("registry genesis measurement %d: label longer than %d bytes", i, MaxLabelBytes)
		}
		if seen[m.ID] {
			return g, fmt.Errorf("registry genesis: measurement %s listed twice", m.ID)
		}
		seen[m.ID] = true
	}
	return g, nil
}

// ValidateMeasurementID checks the form "<kind>:<64 lower-case hex>" that
// attest.Result.MeasurementID produces, so an allowlist entry can match.
func ValidateMeasurementID(id string) error {
	kind, digest, ok := strings.Cut(id, ":")
	if !ok {
		return fmt.Errorf("measurement id %q lacks the \"<kind>:\" prefix", truncate(id))
	}
	switch attest.Kind(kind) {
	case attest.KindSGX, attest.KindTDX, attest.KindSEVSNP, attest.KindSimulated:
	default:
		return fmt.Errorf("measurement id %q: unknown kind %q (want sgx, tdx, sev-snp or simulated)", truncate(id), truncate(kind))
	}
	if len(digest) != 64 {
		return fmt.Errorf("measurement id %q: digest must be 64 hex digits", truncate(id))
	}
	for i := 0; i < len(digest); i++ {
		c := digest[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return fmt.Errorf("measurement id %q: digest must be lower-case hex", truncate(id))
		}
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
