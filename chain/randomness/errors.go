package randomness

import (
	"fmt"

	"github.com/veil-network/veil/chain/types"
)

// Result codes of the randomness module (600–699). A validator rejects a
// proposal with one of these in its log, and a block whose first
// transaction fails verification records it as that transaction's
// result; clients match on the numbers, so they are append-only.
// docs/randomness.md lists them.
const (
	// CodeMissingProof: the block's first transaction is not a randomness
	// proof (or the block has no transactions).
	CodeMissingProof types.Code = 600 + iota
	// CodeMalformedProof: the proof transaction does not decode: wrong
	// size, non-canonical encoding, a proof that is not 80 bytes.
	CodeMalformedProof
	// CodeUnknownProposer: the registry holds no consensus key for the
	// proposer's address.
	CodeUnknownProposer
	// CodeWrongHeight: the proof names another height than the block's.
	CodeWrongHeight
	// CodeInvalidProof: the ECVRF proof does not verify under the
	// proposer's key for this block's input.
	CodeInvalidProof
	// CodeMisplacedProof: a proof transaction at another index than 0.
	CodeMisplacedProof
	// CodeInvalidKey: a consensus private key that is not a 64-byte
	// ed25519 key (seed ‖ public key) whose halves match.
	CodeInvalidKey
)

// CodeName names a randomness code ("" for codes that are not the
// module's), for logs and tools; types.Code.String knows only core codes.
func CodeName(c types.Code) string {
	switch c {
	case CodeMissingProof:
		return "randomness_missing_proof"
	case CodeMalformedProof:
		return "randomness_malformed_proof"
	case CodeUnknownProposer:
		return "randomness_unknown_proposer"
	case CodeWrongHeight:
		return "randomness_wrong_height"
	case CodeInvalidProof:
		return "randomness_invalid_proof"
	case CodeMisplacedProof:
		return "randomness_misplaced_proof"
	case CodeInvalidKey:
		return "randomness_invalid_key"
	}
	return ""
}

// errf builds a randomness error whose message starts with the code's
// name, so logs read well although types.Code.String knows only core
// codes.
func errf(code types.Code, format string, args ...any) *types.Error {
	return types.Errf(code, "%s: %s", CodeName(code), fmt.Sprintf(format, args...))
}
