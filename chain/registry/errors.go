package registry

import (
	"errors"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/types"
)

// Result codes of the registry, allocated from types.CodeModuleSpecificStart.
// Clients (the relayer, tests, the CLI) match on these numbers, so they are
// append-only. docs/registry.md lists them with their causes.
const (
	// CodeBindingMismatch: the evidence binds other report data than
	// SHA-512(domain || chain id || genesis hash || identity || HPKE key).
	CodeBindingMismatch types.Code = types.CodeModuleSpecificStart + iota
	// CodeWrongChain: the worker bound itself to another chain id or
	// genesis hash.
	CodeWrongChain
	// CodeMeasurementNotAllowed: the attested code is not on the allowlist.
	CodeMeasurementNotAllowed
	// CodeCollateralExpired: collateral or a certificate is past its
	// validity at the block time.
	CodeCollateralExpired
	// CodeCollateralNotYetValid: collateral issued after the block time.
	CodeCollateralNotYetValid
	// CodeBadIssuerChain: a certificate chain, CRL or collateral signature
	// does not lead to the vendor root.
	CodeBadIssuerChain
	// CodeRevoked: a certificate is revoked, or the TCB status is Revoked.
	CodeRevoked
	// CodeDebugTEE: the TEE runs in debug mode (its memory is readable).
	CodeDebugTEE
	// CodeSimulatedNotAllowed: simulated evidence on a chain whose genesis
	// sets allow_simulated_tee to false.
	CodeSimulatedNotAllowed
	// CodeMalformedEvidence: the evidence bytes are garbage, of an
	// unsupported version, or of another kind than declared.
	CodeMalformedEvidence
	// CodeCollateralTooLarge: the collateral exceeds max_collateral_bytes.
	CodeCollateralTooLarge
	// CodeHijack: the identity is registered to another operator.
	CodeHijack
	// CodeMalformedCollateral: the collateral does not parse or is for
	// another platform (FMSPC, TEE).
	CodeMalformedCollateral
	// CodeInvalidEvidence: a signature of the evidence (quote, QE report)
	// is wrong or the quoting enclave / TDX module is not the vendor's.
	CodeInvalidEvidence
	// CodeTCBNotAllowed: the TCB status is not accepted by the TCB policy,
	// or no TCB level of the collateral matches the platform.
	CodeTCBNotAllowed
	// CodeInvalidWorkerInfo: malformed identity, HPKE key or suite, kind
	// mismatch, version too long.
	CodeInvalidWorkerInfo
	// CodeBadOperatorSignature: the identity key did not consent to this
	// operator.
	CodeBadOperatorSignature
	// CodeWorkerNotRegistered: egress signed by an identity the registry
	// has no record of.
	CodeWorkerNotRegistered
	// CodeWorkerStale: egress signed by a worker whose attestation has
	// expired; its relayer must re-attest first.
	CodeWorkerStale
	// CodeGatekeeperExists: the worker is already a gatekeeper.
	CodeGatekeeperExists
	// CodeNotGatekeeper: the identity (removal, handover sender or
	// recipient) is not a gatekeeper.
	CodeNotGatekeeper
	// CodeLastGatekeeper: removing the only gatekeeper once a master key
	// exists would lose the key history.
	CodeLastGatekeeper
	// CodeMasterKeyPending: rotation while the latest epoch awaits its
	// generator's publication.
	CodeMasterKeyPending
	// CodeNoGatekeeper: no gatekeeper with a valid attestation can
	// generate a master key.
	CodeNoGatekeeper
	// CodeMasterKeyNotPending: a publication for an epoch that was not
	// requested or is already published.
	CodeMasterKeyNotPending
	// CodeNotGenerator: a publication from another worker than the
	// epoch's requested generator.
	CodeNotGenerator
	// CodeInvalidMasterKey: a published HPKE key is not a valid X-Wing key
	// or the signing key is not 32 bytes.
	CodeInvalidMasterKey
	// CodeUnknownMasterEpoch: a handover names an epoch that is not
	// published.
	CodeUnknownMasterEpoch
	// CodeHandoverDuplicate: the history up to this epoch was already
	// forwarded to this recipient.
	CodeHandoverDuplicate
	// CodeNoMessageQueue: the registry was wired without a message queue
	// (a node bug); gatekeeper operations fail closed.
	CodeNoMessageQueue
)

// CodeName names a registry code ("" for codes that are not the registry's),
// for tools that print codes; types.Code.String only knows the core codes.
func CodeName(c types.Code) string {
	switch c {
	case CodeBindingMismatch:
		return "worker_binding_mismatch"
	case CodeWrongChain:
		return "worker_wrong_chain"
	case CodeMeasurementNotAllowed:
		return "measurement_not_allowed"
	case CodeCollateralExpired:
		return "collateral_expired"
	case CodeCollateralNotYetValid:
		return "collateral_not_yet_valid"
	case CodeBadIssuerChain:
		return "bad_issuer_chain"
	case CodeRevoked:
		return "attestation_revoked"
	case CodeDebugTEE:
		return "debug_tee_not_allowed"
	case CodeSimulatedNotAllowed:
		return "simulated_tee_not_allowed"
	case CodeMalformedEvidence:
		return "malformed_evidence"
	case CodeCollateralTooLarge:
		return "collateral_too_large"
	case CodeHijack:
		return "worker_owned_by_other_operator"
	case CodeMalformedCollateral:
		return "malformed_collateral"
	case CodeInvalidEvidence:
		return "invalid_evidence"
	case CodeTCBNotAllowed:
		return "tcb_status_not_allowed"
	case CodeInvalidWorkerInfo:
		return "invalid_worker_info"
	case CodeBadOperatorSignature:
		return "bad_operator_signature"
	case CodeWorkerNotRegistered:
		return "worker_not_registered"
	case CodeWorkerStale:
		return "worker_stale"
	case CodeGatekeeperExists:
		return "gatekeeper_exists"
	case CodeNotGatekeeper:
		return "not_gatekeeper"
	case CodeLastGatekeeper:
		return "last_gatekeeper"
	case CodeMasterKeyPending:
		return "master_key_pending"
	case CodeNoGatekeeper:
		return "no_gatekeeper"
	case CodeMasterKeyNotPending:
		return "master_key_not_pending"
	case CodeNotGenerator:
		return "not_master_key_generator"
	case CodeInvalidMasterKey:
		return "invalid_master_key"
	case CodeUnknownMasterEpoch:
		return "unknown_master_epoch"
	case CodeHandoverDuplicate:
		return "master_key_handover_duplicate"
	case CodeNoMessageQueue:
		return "no_message_queue"
	}
	return ""
}

// attestCode maps a verification failure onto a registry code. Every error
// attest.Verifier.Verify returns wraps exactly one sentinel; the order of
// the cases only matters for errors that (wrongly) wrap several, and is
// fixed so the answer is deterministic.
func attestCode(err error) types.Code {
	switch {
	case errors.Is(err, attest.ErrSimulatedNotAllowed):
		return CodeSimulatedNotAllowed
	case errors.Is(err, attest.ErrDebugNotAllowed):
		return CodeDebugTEE
	case errors.Is(err, attest.ErrReportDataMismatch):
		return CodeBindingMismatch
	case errors.Is(err, attest.ErrEvidenceFormat), errors.Is(err, attest.ErrUnsupported), errors.Is(err, attest.ErrKindMismatch):
		return CodeMalformedEvidence
	case errors.Is(err, attest.ErrCollateralFormat), errors.Is(err, attest.ErrTCBInfoMismatch):
		return CodeMalformedCollateral
	case errors.Is(err, attest.ErrCertExpired), errors.Is(err, attest.ErrCollateralExpired):
		return CodeCollateralExpired
	case errors.Is(err, attest.ErrCollateralNotYetValid):
		return CodeCollateralNotYetValid
	case errors.Is(err, attest.ErrRevoked):
		return CodeRevoked
	case errors.Is(err, attest.ErrCertChain), errors.Is(err, attest.ErrCRL), errors.Is(err, attest.ErrCollateralSignature):
		return CodeBadIssuerChain
	case errors.Is(err, attest.ErrTCBLevelNotFound):
		return CodeTCBNotAllowed
	case errors.Is(err, attest.ErrQuoteSignature), errors.Is(err, attest.ErrQEReportSignature),
		errors.Is(err, attest.ErrQEReportData), errors.Is(err, attest.ErrQEIdentityMismatch),
		errors.Is(err, attest.ErrTDXModuleMismatch):
		return CodeInvalidEvidence
	default:
		// An error wrapping no sentinel is a verifier bug; refusing the
		// registration is the safe outcome, and every node refuses alike.
		return CodeInvalidEvidence
	}
}
