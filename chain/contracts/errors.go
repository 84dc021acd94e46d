package contracts

import (
	"fmt"

	"github.com/veil-network/veil/chain/types"
)

// Result codes of the contracts module (400–499). Clients match on these
// numbers, so they are append-only; docs/contracts-chain.md lists them.
const (
	// CodeInvalidCode: the upload is neither wasm nor gzip, does not
	// decompress, or fails validation (worker/runtime.Validate).
	CodeInvalidCode types.Code = 400 + iota
	// CodeCodeTooLarge: the upload exceeds max_upload_bytes or decompresses
	// beyond max_code_bytes.
	CodeCodeTooLarge
	// CodeCodeExists: this code (by SHA-256 of the raw module) is stored.
	CodeCodeExists
	// CodeCodeNotFound: no stored code has this hash.
	CodeCodeNotFound
	// CodeContractExists: a contract with this id (deployer, code, salt)
	// exists.
	CodeContractExists
	// CodeContractNotFound: no contract has this id.
	CodeContractNotFound
	// CodeInvalidReplicas: replicas above max_replicas.
	CodeInvalidReplicas
	// CodeNoMasterKey: no master-key epoch is published yet.
	CodeNoMasterKey
	// CodeNotEnoughWorkers: fewer online workers than the replicas asked.
	CodeNotEnoughWorkers
	// CodeKeysNotPublished: no gatekeeper has published the contract's
	// keys yet, so nobody can seal a command to it.
	CodeKeysNotPublished
	// CodeEnvelopeTooLarge: the envelope exceeds max_envelope_bytes.
	CodeEnvelopeTooLarge
	// CodeInvalidEnvelope: the envelope header does not parse (version,
	// truncation, encapsulated-key length).
	CodeInvalidEnvelope
	// CodeWrongEnvelopeKind: the envelope is not a command (a query).
	CodeWrongEnvelopeKind
	// CodeUnknownEnvelopeSuite: the envelope names an HPKE suite the chain
	// does not accept.
	CodeUnknownEnvelopeSuite
	// CodeWrongContractKey: the envelope is sealed to another key than the
	// contract's published HPKE key.
	CodeWrongContractKey
	// CodeAssignmentUnchanged: a reassignment would keep the same workers.
	CodeAssignmentUnchanged
	// CodeNotGatekeeper: contract keys published by a non-gatekeeper.
	CodeNotGatekeeper
	// CodeWrongKeyEpoch: contract keys for another epoch than the
	// contract's key_epoch.
	CodeWrongKeyEpoch
	// CodeInvalidContractKey: a published HPKE key that is not X-Wing, a
	// signing key that is not 32 bytes, or an empty sealed delivery.
	CodeInvalidContractKey
	// CodeNotAssigned: a state report or contract egress from a worker not
	// assigned to the contract.
	CodeNotAssigned
	// CodeEgressDuplicate: contract egress at or below the last accepted
	// sequence (the normal fate of the second replica's copy).
	CodeEgressDuplicate
	// CodeEgressSignature: the contract egress is not signed by the
	// contract's signing key.
	CodeEgressSignature
	// CodeSequenceUnknown: a report or egress for a sequence the contract's
	// log does not have yet.
	CodeSequenceUnknown
	// CodeContractTopicUsed: the contract's mq topic already holds messages
	// (accounts pushed to it), so sequence 0 could not be its init.
	CodeContractTopicUsed
	// CodeNoMessageQueue: the module was wired without a message queue.
	CodeNoMessageQueue
)

// CodeName names a contracts code ("" for other codes).
func CodeName(c types.Code) string {
	switch c {
	case CodeInvalidCode:
		return "invalid_code"
	case CodeCodeTooLarge:
		return "code_too_large"
	case CodeCodeExists:
		return "code_exists"
	case CodeCodeNotFound:
		return "code_not_found"
	case CodeContractExists:
		return "contract_exists"
	case CodeContractNotFound:
		return "contract_not_found"
	case CodeInvalidReplicas:
		return "invalid_replicas"
	case CodeNoMasterKey:
		return "no_master_key"
	case CodeNotEnoughWorkers:
		return "not_enough_workers"
	case CodeKeysNotPublished:
		return "contract_keys_not_published"
	case CodeEnvelopeTooLarge:
		return "envelope_too_large"
	case CodeInvalidEnvelope:
		return "invalid_envelope"
	case CodeWrongEnvelopeKind:
		return "wrong_envelope_kind"
	case CodeUnknownEnvelopeSuite:
		return "unknown_envelope_suite"
	case CodeWrongContractKey:
		return "wrong_contract_key"
	case CodeAssignmentUnchanged:
		return "assignment_unchanged"
	case CodeNotGatekeeper:
		return "not_gatekeeper"
	case CodeWrongKeyEpoch:
		return "wrong_key_epoch"
	case CodeInvalidContractKey:
		return "invalid_contract_key"
	case CodeNotAssigned:
		return "worker_not_assigned"
	case CodeEgressDuplicate:
		return "contract_egress_duplicate"
	case CodeEgressSignature:
		return "contract_egress_signature"
	case CodeSequenceUnknown:
		return "contract_sequence_unknown"
	case CodeContractTopicUsed:
		return "contract_topic_used"
	case CodeNoMessageQueue:
		return "no_message_queue"
	}
	return ""
}

// errf builds a contracts error whose message starts with the code's name.
func errf(code types.Code, format string, args ...any) *types.Error {
	return types.Errf(code, "%s: %s", CodeName(code), fmt.Sprintf(format, args...))
}
