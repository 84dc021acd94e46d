package executor

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"testing"
)

// TestCachedDerivations: the PRKs a contract extracts once at key
// installation derive exactly the keys of one-shot HKDF-SHA256 over the
// contract's secrets (the on-disk nonce slots and the call and query
// randomness depend on it).
func TestCachedDerivations(t *testing.T) {
	id := [32]byte{1, 2, 3}
	ks := contractKeys(t, id)
	e := &Executor{}
	c, err := e.newContract(id, 0, [32]byte{}, ks)
	if err != nil {
		t.Fatal(err)
	}
	oneShot := func(secret []byte, info string) []byte {
		k, err := hkdf.Key(sha256.New, secret, nil, info, 32)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	seed, err := c.callSeed(42)
	if err != nil {
		t.Fatal(err)
	}
	if want := oneShot(ks.RandomSeed[:], labelCallRandom+string(id[:])+string(u64(42))); !bytes.Equal(seed[:], want) {
		t.Fatalf("call seed %x, want %x", seed, want)
	}
	caller := [32]byte{9}
	k, _, err := c.nonceRecord(caller, 5)
	if err != nil {
		t.Fatal(err)
	}
	idx := oneShot(oneShot(ks.StateKey[:], labelNonceIndex), "veil/contract/nonce-slot/v1"+string(caller[:]))
	if want := key(prefixNonce, id[:], idx); !bytes.Equal(k, want) {
		t.Fatalf("nonce record key %x, want %x", k, want)
	}
}
