package staking

import (
	"fmt"

	"github.com/veil-network/veil/chain/types"
)

// Result codes of the staking module: 200–299 of the module-specific range
// (the registry owns 100–199). Clients match on the numbers, so they are
// append-only; docs/staking.md lists them with their causes.
const (
	// CodeAlreadyBonded: bond from a stash that already has a ledger (use
	// bond_extra).
	CodeAlreadyBonded types.Code = types.CodeModuleSpecificStart + 100 + iota
	// CodeNotBonded: the sender has no ledger.
	CodeNotBonded
	// CodeBelowMinimum: the bond (or what an unbond would leave active) is
	// below the minimum of the sender's role.
	CodeBelowMinimum
	// CodeInsufficientBond: unbonding more than the active bond.
	CodeInsufficientBond
	// CodeNotValidator: a nomination target has not declared the intention
	// to validate.
	CodeNotValidator
	// CodeTooManyTargets: more nominations than max_nominations (≤ 16).
	CodeTooManyTargets
	// CodeInvalidTargets: no targets, a repeated target or a malformed
	// account id.
	CodeInvalidTargets
	// CodeDuplicateConsensusKey: the consensus key is bound to another
	// stash.
	CodeDuplicateConsensusKey
	// CodeInvalidConsensusKey: the consensus key is not a 32-byte ed25519
	// point of prime order.
	CodeInvalidConsensusKey
	// CodeInvalidCommission: commission above 100% (10^9 parts).
	CodeInvalidCommission
	// CodeTooManyChunks: the ledger already has max unlocking chunks.
	CodeTooManyChunks
	// CodeNothingToWithdraw: no unlocking chunk has reached its era.
	CodeNothingToWithdraw
	// CodeInvalidPayee: unspecified payee kind, or an account payee
	// without a valid account.
	CodeInvalidPayee
	// CodeInvalidParams: MsgSetStakingParams with malformed or
	// inconsistent parameters.
	CodeInvalidParams
	// CodeTooManyValidators: max_validators candidates already declared.
	CodeTooManyValidators
	// CodeTooManyNominators: max_nominators nominators already nominate.
	CodeTooManyNominators
)

// CodeName names a staking code ("" for codes that are not staking's),
// for tools that print codes; types.Code.String only knows the core codes.
func CodeName(c types.Code) string {
	switch c {
	case CodeAlreadyBonded:
		return "already_bonded"
	case CodeNotBonded:
		return "not_bonded"
	case CodeBelowMinimum:
		return "bond_below_minimum"
	case CodeInsufficientBond:
		return "insufficient_bond"
	case CodeNotValidator:
		return "not_a_validator"
	case CodeTooManyTargets:
		return "too_many_targets"
	case CodeInvalidTargets:
		return "invalid_targets"
	case CodeDuplicateConsensusKey:
		return "duplicate_consensus_key"
	case CodeInvalidConsensusKey:
		return "invalid_consensus_key"
	case CodeInvalidCommission:
		return "invalid_commission"
	case CodeTooManyChunks:
		return "too_many_unlocking_chunks"
	case CodeNothingToWithdraw:
		return "nothing_to_withdraw"
	case CodeInvalidPayee:
		return "invalid_payee"
	case CodeInvalidParams:
		return "invalid_staking_params"
	case CodeTooManyValidators:
		return "too_many_validators"
	case CodeTooManyNominators:
		return "too_many_nominators"
	}
	return ""
}

// errf builds a staking error whose message starts with the code's name,
// so logs read well although types.Code.String knows only core codes.
func errf(code types.Code, format string, args ...any) *types.Error {
	return types.Errf(code, "%s: %s", CodeName(code), fmt.Sprintf(format, args...))
}
