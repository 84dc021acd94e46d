package keys

import (
	"errors"
	"fmt"
	"sync"

	schnorrkel "github.com/ChainSafe/go-schnorrkel"
	"github.com/gtank/merlin"
	voisr "github.com/oasisprotocol/curve25519-voi/primitives/sr25519"
)

// substrateContext is the schnorrkel signing context Substrate uses for
// sr25519 account signatures. Using it (and not a Veil-specific one) is what
// makes Veil signatures verifiable by Substrate tooling and vice versa.
const substrateContext = "substrate"

// Sr25519Signer signs with an sr25519 key. Create it with FromURI or
// NewSr25519FromSeed. Its String and Format methods print only the public
// key, so a signer can be logged safely.
type Sr25519Signer struct {
	pub PublicKey
	// sec is behind a pointer so that printing a struct that embeds a
	// signer by value shows an address, not the secret.
	sec *sr25519Secret
}

type sr25519Secret struct {
	mu sync.RWMutex // guards sk against Wipe racing with Sign
	sk *schnorrkel.SecretKey
}

// NewSr25519FromSeed returns the signer for a 32-byte mini secret key ("secret
// seed" in subkey's output), expanded the way Substrate does (ed25519-style
// expansion, ExpansionMode::Ed25519).
func NewSr25519FromSeed(seed [SeedSize]byte) *Sr25519Signer {
	return newSr25519Signer(expandSr25519(seed))
}

// expandSr25519 turns a mini secret into a schnorrkel secret key, wiping the
// temporary mini secret copy.
func expandSr25519(seed [SeedSize]byte) *schnorrkel.SecretKey {
	msk, _ := schnorrkel.NewMiniSecretKeyFromRaw(seed) // never fails
	sk := msk.ExpandEd25519()
	_ = msk.Decode([SeedSize]byte{}) // wipe the copy held by msk
	return sk
}

func newSr25519Signer(sk *schnorrkel.SecretKey) *Sr25519Signer {
	pub, err := sk.Public()
	if err != nil {
		// Public only fails for a non-canonical scalar, which expansion and
		// derivation never produce.
		panic("keys: sr25519 secret key has no public key: " + err.Error())
	}
	return &Sr25519Signer{
		pub: PublicKey{Scheme: SchemeSr25519, Key: pub.Encode()},
		sec: &sr25519Secret{sk: sk},
	}
}

// Public returns the signer's public key.
func (s *Sr25519Signer) Public() PublicKey { return s.pub }

// Sign signs msg in the "substrate" signing context and returns the 64-byte
// signature (R || s with the schnorrkel marker bit set). Signatures are
// randomised, so signing the same message twice gives different bytes.
func (s *Sr25519Signer) Sign(msg []byte) ([]byte, error) {
	s.sec.mu.RLock()
	defer s.sec.mu.RUnlock()
	if s.sec.sk == nil {
		return nil, ErrWiped
	}
	sig, err := s.sec.sk.Sign(substrateTranscript(msg))
	if err != nil {
		return nil, fmt.Errorf("sr25519 sign: %w", err)
	}
	enc := sig.Encode()
	return enc[:], nil
}

// Wipe overwrites the secret scalar and drops the key; later Sign calls fail
// with ErrWiped. go-schnorrkel keeps a 32-byte nonce seed it never uses for
// signing and offers no way to clear it; it does not reveal the key.
func (s *Sr25519Signer) Wipe() {
	s.sec.mu.Lock()
	defer s.sec.mu.Unlock()
	if s.sec.sk != nil {
		_ = s.sec.sk.Decode([32]byte{})
		s.sec.sk = nil
	}
}

// String describes the signer by its public key only.
func (s *Sr25519Signer) String() string { return "sr25519 signer " + s.pub.Hex() }

// GoString is used by %#v; it too prints only the public key.
func (s *Sr25519Signer) GoString() string { return "keys.Sr25519Signer{" + s.pub.Hex() + "}" }

// Format makes every fmt verb (including %x, %d and %+v, which would
// otherwise walk the struct) print the public description.
func (s *Sr25519Signer) Format(f fmt.State, verb rune) { formatSigner(f, verb, s) }

// Verification uses curve25519-voi's sr25519 (Oasis), signing and
// derivation go-schnorrkel. Both implement schnorrkel's Ristretto Schnorr
// signatures with merlin transcripts; voi's field arithmetic is about 1.7x
// faster (≈50 µs vs ≈85 µs per verification here, docs/benchmarks.md), and
// signature verification is the largest per-transaction cost of the chain.
// Tests cross-check both libraries on the same signatures.

// voiSubstrateTranscript is the transcript of msg in the "substrate"
// context, for verification with curve25519-voi.
func voiSubstrateTranscript(msg []byte) *voisr.SigningTranscript {
	return voisr.NewSigningContext([]byte(substrateContext)).NewTranscriptBytes(msg)
}

// decodeSr25519Public parses a Ristretto-encoded public key.
func decodeSr25519Public(key [PublicKeySize]byte) (*voisr.PublicKey, error) {
	if key == [PublicKeySize]byte{} {
		// The identity point: every signature "verifies" against it in the
		// batch equation, and go-schnorrkel's single verification rejects
		// it, so it is rejected up front for consistent results.
		return nil, errors.New("identity point")
	}
	return voisr.NewPublicKeyFromBytes(key[:])
}

// decodeSr25519Signature parses a marked schnorrkel signature (the
// Substrate/schnorrkel 0.1.1+ marker bit must be set).
func decodeSr25519Signature(sig []byte) (*voisr.Signature, error) {
	if len(sig) != SignatureSize {
		return nil, ErrSignatureLength
	}
	return voisr.NewSignatureFromBytes(sig)
}

// substrateTranscript is the transcript of msg in the "substrate" context,
// for signing (and the tests' verification) with go-schnorrkel.
func substrateTranscript(msg []byte) *merlin.Transcript {
	return schnorrkel.NewSigningContext([]byte(substrateContext), msg)
}

func verifySr25519(key [PublicKeySize]byte, msg, sig []byte) bool {
	pk, err := decodeSr25519Public(key)
	if err != nil {
		return false
	}
	s, err := decodeSr25519Signature(sig)
	if err != nil {
		return false
	}
	return pk.Verify(voiSubstrateTranscript(msg), s)
}

// deriveSr25519 applies Substrate's sr25519 junction derivation: a hard
// junction is schnorrkel's hard_derive_mini_secret_key with the junction as
// chain code and an empty message, expanded Ed25519-style; a soft junction is
// derived_key_simple with the junction as chain code and an empty message.
// Intermediate keys are wiped.
func deriveSr25519(sk *schnorrkel.SecretKey, path []junction) (*schnorrkel.SecretKey, error) {
	for i, j := range path {
		var next *schnorrkel.SecretKey
		if j.hard {
			msk, _, err := sk.HardDeriveMiniSecretKey(nil, j.chainCode)
			if err != nil {
				return nil, fmt.Errorf("%w: hard junction %d: %v", ErrInvalidURI, i+1, err)
			}
			next = msk.ExpandEd25519()
			_ = msk.Decode([32]byte{})
		} else {
			ek, err := schnorrkel.DeriveKeySimple(sk, nil, j.chainCode)
			if err != nil {
				return nil, fmt.Errorf("%w: soft junction %d: %v", ErrInvalidURI, i+1, err)
			}
			next, err = ek.Secret()
			if err != nil {
				return nil, fmt.Errorf("%w: soft junction %d: %v", ErrInvalidURI, i+1, err)
			}
		}
		_ = sk.Decode([32]byte{})
		sk = next
	}
	return sk, nil
}

// formatSigner writes the signer's String for any verb, so that no
// formatting path can reach the secret fields.
func formatSigner(f fmt.State, verb rune, s fmt.Stringer) {
	if verb == 'v' && f.Flag('#') {
		if g, ok := s.(fmt.GoStringer); ok {
			_, _ = f.Write([]byte(g.GoString()))
			return
		}
	}
	_, _ = f.Write([]byte(s.String()))
}
