package randomness

import (
	"bytes"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519/extra/ecvrf"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/types"
	randomnessv1 "github.com/veil-network/veil/gen/veil/randomness/v1"
)

// Magic prefixes every proof transaction. Its first byte, 0x00, is a
// protobuf tag with field number 0, which no protobuf decoder accepts: a
// proof transaction can never be mistaken for a signed transaction
// envelope, and a signed transaction (whose first byte is a valid tag)
// never starts with Magic.
const Magic = "\x00veil-vrf/v1\x00"

// ProofSize is the size of an ECVRF-EDWARDS25519-SHA512-ELL2 proof
// (gamma ‖ c ‖ s).
const ProofSize = ecvrf.ProofSize

// OutputSize is the size of a VRF output (beta): the block's randomness.
const OutputSize = ecvrf.OutputSize

// MaxProofTxBytes bounds a proof transaction: Magic plus the largest
// canonical VRFProof (a 10-byte height field, tag and the 9-byte varint of
// a positive int64, and an 82-byte proof field) is 105 bytes. Anything
// longer is refused before it is parsed.
const MaxProofTxBytes = len(Magic) + 10 + 2 + ProofSize

// IsProofTx reports whether raw is a proof transaction (by its prefix; it
// may still be malformed, see DecodeProofTx).
func IsProofTx(raw []byte) bool { return bytes.HasPrefix(raw, []byte(Magic)) }

// EncodeProofTx builds the proof transaction of height: Magic followed by
// the deterministic encoding of VRFProof.
func EncodeProofTx(height int64, proof []byte) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&randomnessv1.VRFProof{Height: height, Proof: proof})
	if err != nil {
		// A message of an int64 and a bytes field always encodes.
		panic(err)
	}
	return append([]byte(Magic), b...)
}

// DecodeProofTx parses a proof transaction strictly: the Magic prefix, at
// most MaxProofTxBytes, a positive height, an 80-byte proof, and the one
// canonical encoding (no unknown, repeated or default-valued fields), so
// that a proof has exactly one transaction (and transaction hash).
func DecodeProofTx(raw []byte) (*randomnessv1.VRFProof, error) {
	if !IsProofTx(raw) {
		return nil, errf(CodeMissingProof, "the transaction does not start with the randomness proof prefix")
	}
	if len(raw) > MaxProofTxBytes {
		return nil, errf(CodeMalformedProof, "proof transaction has %d bytes, limit %d", len(raw), MaxProofTxBytes)
	}
	body := raw[len(Magic):]
	p := &randomnessv1.VRFProof{}
	if err := proto.Unmarshal(body, p); err != nil {
		return nil, errf(CodeMalformedProof, "proof transaction does not decode: %v", err)
	}
	if p.GetHeight() <= 0 {
		return nil, errf(CodeMalformedProof, "proof height %d is not positive", p.GetHeight())
	}
	if n := len(p.GetProof()); n != ProofSize {
		return nil, errf(CodeMalformedProof, "proof has %d bytes, want %d", n, ProofSize)
	}
	if canon := EncodeProofTx(p.GetHeight(), p.GetProof()); !bytes.Equal(canon, raw) {
		return nil, errf(CodeMalformedProof, "proof transaction is not canonically encoded")
	}
	return p, nil
}

// SubmitError is the error CheckTx and the node's API return for a proof
// transaction submitted as an ordinary transaction: only a block's
// proposer adds one, as the block's first transaction.
func SubmitError() error {
	return types.Errf(types.CodeTxDecode, "a block randomness proof is not a signed transaction and cannot be submitted: the block proposer adds one as its block's first transaction")
}

// MisplacedError is the error of a proof transaction at index > 0 of a
// block: ProcessProposal rejects such a block, and FinalizeBlock (of a
// block decided without it) records this as the transaction's result.
func MisplacedError(index int) error {
	return errf(CodeMisplacedProof, "transaction %d is a randomness proof; only a block's first transaction may be one", index)
}
