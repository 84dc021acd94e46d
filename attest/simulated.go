package attest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Simulated evidence layout (all of it signed except the signature):
//
//	magic "VEILSIM1" (8) || platform public key (32) ||
//	measurement length (1) || measurement (1..64) || report data (64) ||
//	ed25519 signature (64)
//
// The signature covers simulatedSigDomain || 0x00 || everything before it,
// so it can never be confused with a signature made for another purpose by
// the same key.
const (
	simulatedMagic        = "VEILSIM1"
	simulatedSigDomain    = "veil/attest/simulated-evidence/v1"
	simulatedSigningInfo  = "veil/attest/simulated/signing-key/v1"
	simulatedSealingSalt  = "veil/attest/simulated/sealing/v1"
	maxSimulatedMeasureLn = 64
)

// SimulatedPlatform stands in for a TEE on development networks. It offers
// no protection at all: the host can read the worker's memory and the seed
// file, so anyone with the seed can forge evidence for any measurement. The
// chain accepts its evidence only when the genesis sets allow_simulated_tee.
type SimulatedPlatform struct {
	seed        []byte
	measurement []byte
	priv        ed25519.PrivateKey
}

// NewSimulatedPlatform creates a simulated platform from a 32-byte secret
// seed (the worker keeps it in a 0600 key file) and the measurement it
// claims for the running code (1 to 64 bytes, typically a SHA-256 of the
// worker binary). The signing key and sealing keys derive from the seed by
// HKDF with distinct labels, so one file yields a stable platform identity.
func NewSimulatedPlatform(seed []byte, measurement []byte) (*SimulatedPlatform, error) {
	if len(seed) != 32 {
		return nil, fmt.Errorf("simulated platform: seed must be 32 bytes, got %d", len(seed))
	}
	if len(measurement) == 0 || len(measurement) > maxSimulatedMeasureLn {
		return nil, fmt.Errorf("simulated platform: measurement must be 1 to %d bytes, got %d", maxSimulatedMeasureLn, len(measurement))
	}
	signingSeed, err := hkdf.Key(sha256.New, seed, nil, simulatedSigningInfo, ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("simulated platform: derive signing key: %w", err)
	}
	defer clear(signingSeed) // NewKeyFromSeed copies it into the key
	return &SimulatedPlatform{
		seed:        bytes.Clone(seed),
		measurement: bytes.Clone(measurement),
		priv:        ed25519.NewKeyFromSeed(signingSeed),
	}, nil
}

// Format prints the platform's public key and measurement only, whatever
// the verb: the seed and the signing key it holds are secret.
func (p SimulatedPlatform) Format(f fmt.State, _ rune) {
	var pub []byte
	if p.priv != nil {
		pub = p.priv[ed25519.SeedSize:]
	}
	fmt.Fprintf(f, "attest.SimulatedPlatform{key: %x, measurement: %x, seed: redacted}", pub, p.measurement)
}

// Kind returns KindSimulated.
func (p *SimulatedPlatform) Kind() Kind { return KindSimulated }

// PublicKey returns the platform's signing key, which identifies it.
func (p *SimulatedPlatform) PublicKey() ed25519.PublicKey {
	return bytes.Clone(p.priv.Public().(ed25519.PublicKey))
}

// Evidence signs the statement {measurement, reportData}.
func (p *SimulatedPlatform) Evidence(ctx context.Context, reportData [64]byte) (Evidence, error) {
	if err := ctx.Err(); err != nil {
		return Evidence{}, fmt.Errorf("simulated evidence: %w", err)
	}
	body := make([]byte, 0, len(simulatedMagic)+32+1+len(p.measurement)+64+64)
	body = append(body, simulatedMagic...)
	body = append(body, p.priv.Public().(ed25519.PublicKey)...)
	body = append(body, byte(len(p.measurement)))
	body = append(body, p.measurement...)
	body = append(body, reportData[:]...)
	sig := ed25519.Sign(p.priv, simulatedSigningMessage(body))
	return Evidence{Kind: KindSimulated, Quote: append(body, sig...)}, nil
}

// SealingKey derives a 32-byte key from the seed, bound to the measurement
// (like SGX's MRENCLAVE sealing policy: other code cannot derive it) and
// separated by label.
func (p *SimulatedPlatform) SealingKey(ctx context.Context, label string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("simulated sealing key: %w", err)
	}
	info := binary.BigEndian.AppendUint32(nil, uint32(len(p.measurement)))
	info = append(info, p.measurement...)
	info = append(info, label...)
	key, err := hkdf.Key(sha256.New, p.seed, []byte(simulatedSealingSalt), string(info), 32)
	if err != nil {
		return nil, fmt.Errorf("simulated sealing key: %w", err)
	}
	return key, nil
}

func simulatedSigningMessage(body []byte) []byte {
	msg := make([]byte, 0, len(simulatedSigDomain)+1+len(body))
	msg = append(msg, simulatedSigDomain...)
	msg = append(msg, 0)
	return append(msg, body...)
}

// parseSimulated splits simulated evidence into its fields, strictly.
func parseSimulated(raw []byte) (pub ed25519.PublicKey, measurement []byte, reportData [64]byte, body, sig []byte, err error) {
	const fixed = len(simulatedMagic) + 32 + 1 + 64 + 64
	if len(raw) < fixed+1 || string(raw[:len(simulatedMagic)]) != simulatedMagic {
		return nil, nil, reportData, nil, nil, fmt.Errorf("%w: not simulated evidence (%d bytes)", ErrEvidenceFormat, len(raw))
	}
	off := len(simulatedMagic)
	pub = ed25519.PublicKey(raw[off : off+32])
	off += 32
	n := int(raw[off])
	off++
	if n == 0 || n > maxSimulatedMeasureLn || len(raw) != fixed+n {
		return nil, nil, reportData, nil, nil, fmt.Errorf("%w: simulated evidence declares a %d-byte measurement but is %d bytes long", ErrEvidenceFormat, n, len(raw))
	}
	measurement = raw[off : off+n]
	off += n
	copy(reportData[:], raw[off:off+64])
	off += 64
	return pub, measurement, reportData, raw[:off], raw[off:], nil
}

// verifySimulated checks a simulated statement's signature. It proves only
// that the holder of the platform key said so.
func verifySimulated(raw, collateral []byte) (*Result, error) {
	if len(bytes.TrimSpace(collateral)) != 0 {
		return nil, fmt.Errorf("%w: simulated evidence takes no collateral", ErrCollateralFormat)
	}
	pub, measurement, reportData, body, sig, err := parseSimulated(raw)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(pub, simulatedSigningMessage(body), sig) {
		return nil, fmt.Errorf("%w: simulated statement signature", ErrQuoteSignature)
	}
	return &Result{
		Kind:        KindSimulated,
		TCBStatus:   TCBNotApplicable,
		AdvisoryIDs: []string{},
		ReportData:  reportData,
		Simulated: &SimulatedMeasurement{
			Measurement: bytes.Clone(measurement),
			PlatformKey: bytes.Clone(pub),
		},
	}, nil
}
