// Package keys implements Veil account keys: the sr25519 and ed25519
// signature schemes, Substrate-compatible secret URIs (BIP39 phrases through
// substrate-bip39, hex seeds, //hard and /soft derivation, ///password) and
// batch signature verification.
//
// Accounts follow Substrate so that a phrase or dev URI such as //Alice gives
// the same account in Veil as in any Substrate wallet (see docs/keys.md and
// decision 4 of the architecture brief). Signing messages are signed as
// given: callers prefix their own domain-separation tags.
package keys

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	voisr "github.com/oasisprotocol/curve25519-voi/primitives/sr25519"

	"github.com/veil-network/veil/crypto/ss58"
)

// Scheme names a signature scheme. Its string form is what users type
// (--scheme) and what the keyring stores.
type Scheme string

// The supported signature schemes.
const (
	// SchemeSr25519 is Schnorr over Ristretto255 with merlin transcripts
	// (schnorrkel), Substrate's default account scheme.
	SchemeSr25519 Scheme = "sr25519"
	// SchemeEd25519 is RFC 8032 Ed25519, verified with ZIP-215 rules.
	SchemeEd25519 Scheme = "ed25519"
)

// Sizes shared by both schemes.
const (
	PublicKeySize = 32
	SignatureSize = 64
	SeedSize      = 32
)

// Errors returned (wrapped) by this package; test with errors.Is.
var (
	ErrUnknownScheme   = errors.New("unknown signature scheme")
	ErrInvalidURI      = errors.New("invalid secret URI")
	ErrInvalidPhrase   = errors.New("invalid BIP39 phrase")
	ErrInvalidSeed     = errors.New("invalid hex seed")
	ErrSoftJunction    = errors.New("ed25519 keys support only hard (//) derivation")
	ErrInvalidPublic   = errors.New("invalid public key")
	ErrWiped           = errors.New("signer has been wiped")
	ErrSignatureLength = errors.New("signature must be 64 bytes")
)

// ParseScheme parses a scheme name as users write it ("sr25519", "ed25519";
// case and surrounding space are ignored).
func ParseScheme(s string) (Scheme, error) {
	switch Scheme(strings.ToLower(strings.TrimSpace(s))) {
	case SchemeSr25519:
		return SchemeSr25519, nil
	case SchemeEd25519:
		return SchemeEd25519, nil
	}
	return "", fmt.Errorf("%w %q (want %s or %s)", ErrUnknownScheme, s, SchemeSr25519, SchemeEd25519)
}

// Valid reports whether s is one of the supported schemes.
func (s Scheme) Valid() bool { return s == SchemeSr25519 || s == SchemeEd25519 }

// String returns the scheme name.
func (s Scheme) String() string { return string(s) }

// PublicKey is an account public key together with its scheme. The scheme is
// part of the value because the same 32 bytes verify differently under
// sr25519 and ed25519 and an address alone does not say which applies.
type PublicKey struct {
	Scheme Scheme
	Key    [PublicKeySize]byte
}

// NewPublicKey builds a PublicKey from raw bytes, checking the scheme, the
// length and, for sr25519, that the bytes are a canonical Ristretto point.
// (Any 32 bytes are accepted for ed25519: ZIP-215 verification gives every
// encoding a meaning.)
func NewPublicKey(scheme Scheme, key []byte) (PublicKey, error) {
	pk, err := ParseVerifyingKey(scheme, key)
	return pk.pub, err
}

// VerifyingKey is a public key decoded once for verification: NewPublicKey's
// checks, keeping the decompressed sr25519 point that PublicKey.Verify
// would decode again on every call (a field square root, ≈ 9 µs). Code
// that validates a key and then verifies with it (an envelope's caller)
// parses it once this way.
type VerifyingKey struct {
	pub PublicKey
	sr  *voisr.PublicKey // nil for ed25519
}

// ParseVerifyingKey is NewPublicKey, with the same checks and errors,
// returning a key ready for repeated verification.
func ParseVerifyingKey(scheme Scheme, key []byte) (VerifyingKey, error) {
	if !scheme.Valid() {
		return VerifyingKey{}, fmt.Errorf("%w %q", ErrUnknownScheme, scheme)
	}
	if len(key) != PublicKeySize {
		return VerifyingKey{}, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidPublic, len(key), PublicKeySize)
	}
	v := VerifyingKey{pub: PublicKey{Scheme: scheme}}
	copy(v.pub.Key[:], key)
	if scheme == SchemeSr25519 {
		pt, err := decodeSr25519Public(v.pub.Key)
		if err != nil {
			return VerifyingKey{}, fmt.Errorf("%w: not a valid sr25519 point: %v", ErrInvalidPublic, err)
		}
		v.sr = pt
	}
	return v, nil
}

// Public is the key as a PublicKey.
func (v VerifyingKey) Public() PublicKey { return v.pub }

// Verify is PublicKey.Verify without decoding the key again.
func (v VerifyingKey) Verify(msg, sig []byte) bool {
	if v.sr == nil {
		return v.pub.Verify(msg, sig)
	}
	s, err := decodeSr25519Signature(sig)
	if err != nil {
		return false
	}
	return v.sr.Verify(voiSubstrateTranscript(msg), s)
}

// ParseAddress decodes an SS58 address of network prefix into a PublicKey of
// the given scheme. The address does not carry the scheme, so the caller
// must know it (accounts are sr25519 unless stated otherwise).
func ParseAddress(addr string, scheme Scheme, prefix uint16) (PublicKey, error) {
	raw, err := ss58.DecodeWithPrefix(addr, prefix)
	if err != nil {
		return PublicKey{}, fmt.Errorf("parse address: %w", err)
	}
	return NewPublicKey(scheme, raw)
}

// Address returns the SS58 address of the key on network prefix. The prefix
// must satisfy ss58.ValidatePrefix (it comes from genesis or a flag that has
// been validated).
func (p PublicKey) Address(prefix uint16) string { return ss58.Encode(p.Key[:], prefix) }

// Bytes returns a copy of the raw key bytes.
func (p PublicKey) Bytes() []byte { return append([]byte(nil), p.Key[:]...) }

// Hex returns the key as 0x-prefixed lower-case hex, the form Substrate
// tools print.
func (p PublicKey) Hex() string { return "0x" + hex.EncodeToString(p.Key[:]) }

// String returns "scheme:0xhex", unambiguous in logs.
func (p PublicKey) String() string { return string(p.Scheme) + ":" + p.Hex() }

// Equal reports whether both scheme and key bytes are equal.
func (p PublicKey) Equal(o PublicKey) bool { return p == o }

// IsZero reports whether p is the zero value (no key).
func (p PublicKey) IsZero() bool { return p == PublicKey{} }

// Verify reports whether sig is a valid signature of msg by p.
//
// sr25519 signatures are checked in Substrate's "substrate" signing context
// and must carry the schnorrkel marker bit (as every signature made since
// schnorrkel 0.8 does). ed25519 signatures are checked with ZIP-215 rules,
// which is what Substrate (ed25519-zebra) does and what BatchVerifier does,
// so single and batch verification always agree.
func (p PublicKey) Verify(msg, sig []byte) bool {
	if len(sig) != SignatureSize {
		return false
	}
	switch p.Scheme {
	case SchemeSr25519:
		return verifySr25519(p.Key, msg, sig)
	case SchemeEd25519:
		return verifyEd25519(p.Key, msg, sig)
	default:
		return false
	}
}

// Signer signs messages with an account key. Sign is safe for concurrent use.
// The message is signed as given; callers add their domain-separation prefix.
type Signer interface {
	Public() PublicKey
	Sign(msg []byte) ([]byte, error)
}

// Wipe zeroes the secret key material of s if its type supports it (both
// signers of this package do) and is a no-op otherwise. Use it when a key is
// no longer needed, e.g. after a CLI command has signed its transaction.
func Wipe(s Signer) {
	if w, ok := s.(interface{ Wipe() }); ok {
		w.Wipe()
	}
}

// wipeBytes zeroes b; it is a named helper so that call sites read as intent.
func wipeBytes(b []byte) { clear(b) }
