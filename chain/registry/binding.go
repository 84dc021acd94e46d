package registry

import (
	"crypto/hpke"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/types"
)

// ReportDataDomain separates worker-registration report data from anything
// else a TEE might be asked to bind (ARCHITECTURE.md, decision 7).
const ReportDataDomain = "veil/worker-registration/v1"

// OperatorDomain separates the identity key's consent to an operator from
// every other signature that key makes.
const OperatorDomain = "veil/worker-operator/v1"

// The HPKE suite every worker key must use (ARCHITECTURE.md, decision 8):
// X-Wing (ML-KEM-768 + X25519), HKDF-SHA256, AES-256-GCM. Records keep the
// ids so a later suite can coexist; a new suite needs a chain upgrade that
// accepts it here.
const (
	HPKEKEMID  = 0x647a // MLKEM768X25519
	HPKEKDFID  = 0x0001 // HKDF-SHA256
	HPKEAEADID = 0x0002 // AES-256-GCM
)

// HPKEPublicKeySize is the size of an X-Wing public key (ML-KEM-768
// encapsulation key 1184 + X25519 32).
const HPKEPublicKeySize = 1216

// IdentitySize is the size of the ed25519 identity public key.
const IdentitySize = 32

// MaxVersionBytes bounds the worker's declared software version.
const MaxVersionBytes = 64

// MaxLabelBytes bounds an allowlist entry's human label.
const MaxLabelBytes = 128

// SimulatedConfidence is the confidence level of simulated workers: worse
// than any hardware level, because they guarantee nothing.
const SimulatedConfidence = 5

// ReportData is the 64 bytes a worker's evidence must bind:
//
//	SHA-512("veil/worker-registration/v1" || chain_id || genesis_hash ||
//	        identity || hpke_public_key)
//
// The fields are concatenated without length prefixes as the architecture
// fixes it. The encoding is still unambiguous because every field but the
// chain id has a fixed length (genesis hash 32, identity 32, HPKE key
// HPKEPublicKeySize, all checked before this is compared), so the total
// length determines the chain id's length.
func ReportData(chainID string, genesisHash [32]byte, identity, hpkePublicKey []byte) [64]byte {
	h := sha512.New()
	h.Write([]byte(ReportDataDomain))
	h.Write([]byte(chainID))
	h.Write(genesisHash[:])
	h.Write(identity)
	h.Write(hpkePublicKey)
	return [64]byte(h.Sum(nil))
}

// OperatorMessage is what the worker's identity key signs to consent to an
// operator. Without it, anyone could copy a worker's evidence from the
// mempool or a block and register the worker under their own account
// first, because evidence is public and the report data does not name the
// operator.
func OperatorMessage(chainID string, genesisHash [32]byte, identity []byte, operator types.AccountID) []byte {
	msg := make([]byte, 0, len(OperatorDomain)+1+4+len(chainID)+32+len(identity)+32)
	msg = append(msg, OperatorDomain...)
	msg = append(msg, 0)
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(chainID)))
	msg = append(msg, chainID...)
	msg = append(msg, genesisHash[:]...)
	msg = append(msg, identity...)
	msg = append(msg, operator[:]...)
	return msg
}

// DevWorkerMeasurement is the measurement the simulated worker of 'veil dev'
// claims. A simulated platform claims whatever it is told, so a fixed,
// documented value is as good as a hash of the binary and lets the dev
// genesis allow it without knowing which binary will run.
func DevWorkerMeasurement() []byte {
	s := sha256.Sum256([]byte("veil/dev-worker-measurement/v1"))
	return s[:]
}

// SimulatedMeasurementID is the allowlist key of a simulated measurement,
// computed exactly as the verifier computes it for simulated evidence.
func SimulatedMeasurementID(measurement []byte) string {
	r := attest.Result{Kind: attest.KindSimulated, Simulated: &attest.SimulatedMeasurement{Measurement: measurement}}
	return r.MeasurementID()
}

// ValidHPKEPublicKey reports whether b deserializes as a public key of the
// supported KEM (the check worker registrations get, and other modules'
// key publications). Deserialization is a pure function of the bytes
// (length and ML-KEM's modulus check), so every node agrees.
func ValidHPKEPublicKey(b []byte) bool {
	if len(b) != HPKEPublicKeySize {
		return false
	}
	_, err := hpke.MLKEM768X25519().NewPublicKey(b)
	return err == nil
}
