package runtime

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"

	"golang.org/x/crypto/chacha20"
)

// randomStream is the only source of randomness a contract sees (both
// veil.random and WASI random_get): a ChaCha20 keystream under a key
// derived from the caller's 32-byte seed. The caller derives the seed
// from the contract's secret random key and the block (and, for several
// calls in one block, the call's position), so the bytes are
// unpredictable outside the TEE yet identical on every worker replaying
// the same call.
type randomStream struct {
	c *chacha20.Cipher
}

// randomInfo domain-separates the runtime's stream from any other use of
// the seed.
const randomInfo = "veil/runtime/random/v1"

func newRandomStream(seed [32]byte) (*randomStream, error) {
	key, err := hkdf.Key(sha256.New, seed[:], nil, randomInfo, chacha20.KeySize)
	if err != nil {
		return nil, fmt.Errorf("runtime: derive random key: %w", err)
	}
	c, err := chacha20.NewUnauthenticatedCipher(key, make([]byte, chacha20.NonceSize))
	if err != nil {
		return nil, fmt.Errorf("runtime: random stream: %w", err)
	}
	return &randomStream{c: c}, nil
}

// fill overwrites p with the next len(p) bytes of the stream.
func (r *randomStream) fill(p []byte) {
	clear(p)
	r.c.XORKeyStream(p, p)
}

// initSeed seeds the stream used while the Go runtime initialises at
// load time. It is public: initialisation must not depend on secrets,
// only be identical everywhere (the Go runtime seeds its internal
// generator from it, which fixes map iteration order for every call).
func initSeed() [32]byte { return sha256.Sum256([]byte("veil/runtime/init/v1")) }
