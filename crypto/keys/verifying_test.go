package keys

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"testing"
)

// keyInputs are 32-byte keys covering every way parsing can go: real
// keys, the identity, encodings that are not canonical Ristretto points
// (high bit set, field element ≥ p) and arbitrary bytes.
func keyInputs() [][PublicKeySize]byte {
	in := [][PublicKeySize]byte{
		NewSr25519FromSeed([32]byte{1}).Public().Key,
		NewEd25519FromSeed([32]byte{2}).Public().Key,
		{},
		{1},
		[PublicKeySize]byte(bytes.Repeat([]byte{0xff}, PublicKeySize)),
		[PublicKeySize]byte(bytes.Repeat([]byte{0x7f}, PublicKeySize)),
	}
	hi := in[0]
	hi[31] |= 0x80
	in = append(in, hi)
	for i := range 16 {
		in = append(in, sha256.Sum256([]byte{byte(i)}))
	}
	return in
}

// TestVerifyingKeyMatchesPublicKey: a VerifyingKey accepts exactly the
// keys NewPublicKey accepts, with the same errors, and verifies exactly
// as PublicKey.Verify does — genuine, tampered, truncated and unmarked
// signatures, other messages, other signers.
func TestVerifyingKeyMatchesPublicKey(t *testing.T) {
	msg := []byte("veil/test\x00a message")
	for _, scheme := range []Scheme{SchemeSr25519, SchemeEd25519} {
		var signer Signer = NewSr25519FromSeed([32]byte{1})
		if scheme == SchemeEd25519 {
			signer = NewEd25519FromSeed([32]byte{2})
		}
		sig, err := signer.Sign(msg)
		if err != nil {
			t.Fatal(err)
		}
		flip := func(b []byte, i int, mask byte) []byte {
			c := bytes.Clone(b)
			c[i] ^= mask
			return c
		}
		other, _ := NewSr25519FromSeed([32]byte{9}).Sign(msg)
		sigs := map[string][]byte{
			"genuine": sig, "s bit flipped": flip(sig, 40, 0x04), "R bit flipped": flip(sig, 3, 0x01),
			"marker cleared": flip(sig, 63, sig[63]&0x80), "truncated": sig[:63], "extended": append(bytes.Clone(sig), 0),
			"empty": nil, "all zero": make([]byte, 64), "another signer": other,
		}
		verified := false
		for _, raw := range keyInputs() {
			want, werr := NewPublicKey(scheme, raw[:])
			got, gerr := ParseVerifyingKey(scheme, raw[:])
			if fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Fatalf("%s %x: ParseVerifyingKey %v, NewPublicKey %v", scheme, raw, gerr, werr)
			}
			if gerr != nil {
				continue
			}
			if got.Public() != want {
				t.Fatalf("%s %x: key %v, want %v", scheme, raw, got.Public(), want)
			}
			for name, s := range sigs {
				for _, m := range [][]byte{msg, flip(msg, len(msg)-1, 1)} {
					w := want.Verify(m, s)
					if g := got.Verify(m, s); g != w {
						t.Fatalf("%s key %x, %s signature: VerifyingKey %v, PublicKey %v", scheme, raw, name, g, w)
					}
					verified = verified || w
				}
			}
		}
		if !verified {
			t.Fatalf("%s: no genuine signature verified", scheme)
		}
	}
	if _, err := ParseVerifyingKey("rsa", make([]byte, 32)); err == nil {
		t.Fatal("unknown scheme accepted")
	}
}
