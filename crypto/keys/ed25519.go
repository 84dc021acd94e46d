package keys

import (
	"crypto/ed25519"
	"fmt"
	"sync"

	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"golang.org/x/crypto/blake2b"
)

// Ed25519Signer signs with an ed25519 key (RFC 8032, deterministic
// signatures). Create it with FromURI or NewEd25519FromSeed. Its String and
// Format methods print only the public key.
type Ed25519Signer struct {
	pub PublicKey
	sec *ed25519Secret // pointer: see Sr25519Signer.sec
}

type ed25519Secret struct {
	mu   sync.RWMutex // guards priv against Wipe racing with Sign
	priv ed25519.PrivateKey
}

// NewEd25519FromSeed returns the signer for a 32-byte RFC 8032 seed (the
// "secret seed" subkey prints for ed25519 keys).
func NewEd25519FromSeed(seed [SeedSize]byte) *Ed25519Signer {
	priv := ed25519.NewKeyFromSeed(seed[:])
	var pub PublicKey
	pub.Scheme = SchemeEd25519
	copy(pub.Key[:], priv[SeedSize:])
	return &Ed25519Signer{pub: pub, sec: &ed25519Secret{priv: priv}}
}

// Public returns the signer's public key.
func (s *Ed25519Signer) Public() PublicKey { return s.pub }

// Sign returns the 64-byte RFC 8032 signature of msg.
func (s *Ed25519Signer) Sign(msg []byte) ([]byte, error) {
	s.sec.mu.RLock()
	defer s.sec.mu.RUnlock()
	if s.sec.priv == nil {
		return nil, ErrWiped
	}
	return ed25519.Sign(s.sec.priv, msg), nil
}

// Wipe zeroes the private key; later Sign calls fail with ErrWiped.
func (s *Ed25519Signer) Wipe() {
	s.sec.mu.Lock()
	defer s.sec.mu.Unlock()
	wipeBytes(s.sec.priv)
	s.sec.priv = nil
}

// String describes the signer by its public key only.
func (s *Ed25519Signer) String() string { return "ed25519 signer " + s.pub.Hex() }

// GoString is used by %#v; it too prints only the public key.
func (s *Ed25519Signer) GoString() string { return "keys.Ed25519Signer{" + s.pub.Hex() + "}" }

// Format makes every fmt verb print the public description.
func (s *Ed25519Signer) Format(f fmt.State, verb rune) { formatSigner(f, verb, s) }

// zip215 returns the verification options shared by single and batch
// verification. ZIP-215 fixes the validity of every (key, signature) encoding
// — non-canonical and small-order points included — so that all verifiers,
// single or batched, accept exactly the same set; this is also the rule
// Substrate applies through ed25519-zebra. It is a function, not a package
// variable, to keep the package free of mutable state.
func zip215() *voied.Options {
	return &voied.Options{Verify: voied.VerifyOptionsZIP_215}
}

func verifyEd25519(key [PublicKeySize]byte, msg, sig []byte) bool {
	return voied.VerifyWithOptions(key[:], msg, sig, zip215())
}

// ed25519HDKDPrefix is the SCALE encoding of the string "Ed25519HDKD"
// (compact length 11 = 0x2c, then the bytes), the tag Substrate hashes in
// front of the seed and chain code for hard derivation.
const ed25519HDKDPrefix = "\x2cEd25519HDKD"

// deriveEd25519 applies Substrate's ed25519 derivation: each hard junction
// replaces the seed with blake2b-256(SCALE("Ed25519HDKD") || seed || chain
// code). Soft derivation does not exist for ed25519 (no public derivation),
// so a soft junction is an error rather than being silently hardened.
func deriveEd25519(seed [SeedSize]byte, path []junction) ([SeedSize]byte, error) {
	for i, j := range path {
		if !j.hard {
			return [SeedSize]byte{}, fmt.Errorf("%w: junction %d is soft (/); use //", ErrSoftJunction, i+1)
		}
		h, _ := blake2b.New256(nil) // cannot fail without a key
		h.Write([]byte(ed25519HDKDPrefix))
		h.Write(seed[:])
		h.Write(j.chainCode[:])
		h.Sum(seed[:0])
	}
	return seed, nil
}
