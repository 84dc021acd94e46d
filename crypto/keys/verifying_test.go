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

// TestBatchAddKeyMatchesAdd: BatchVerifier.AddKey with a parsed key gives
// the same error and the same verdict as Add with the PublicKey, entry by
// entry, on the single-entry path and the batch path of both schemes:
// genuine, tampered, truncated and unmarked signatures, every parseable
// key of keyInputs, and the zero key.
func TestBatchAddKeyMatchesAdd(t *testing.T) {
	type entry struct {
		pub PublicKey
		vk  VerifyingKey
		msg []byte
		sig []byte
	}
	var entries []entry
	genuine := 0
	for _, scheme := range []Scheme{SchemeSr25519, SchemeEd25519} {
		var signers []Signer
		for i := range 3 {
			if scheme == SchemeSr25519 {
				signers = append(signers, NewSr25519FromSeed([32]byte{byte(i + 1)}))
			} else {
				signers = append(signers, NewEd25519FromSeed([32]byte{byte(i + 1)}))
			}
		}
		keysOf := map[[PublicKeySize]byte]bool{}
		var raws [][PublicKeySize]byte
		for _, s := range signers {
			raws = append(raws, s.Public().Key)
			keysOf[s.Public().Key] = true
		}
		raws = append(raws, keyInputs()...)
		for i, raw := range raws {
			vk, err := ParseVerifyingKey(scheme, raw[:])
			if err != nil {
				continue
			}
			msg := fmt.Appendf(nil, "veil/test\x00batch %d", i)
			signer := signers[i%len(signers)]
			sig, err := signer.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			tampered := bytes.Clone(sig)
			tampered[40] ^= 0x04
			unmarked := bytes.Clone(sig)
			unmarked[63] &^= 0x80
			for _, s := range [][]byte{sig, tampered, unmarked, sig[:63], make([]byte, 64)} {
				entries = append(entries, entry{vk.Public(), vk, msg, s})
			}
			// The signer's own message under another signer's key.
			entries = append(entries, entry{vk.Public(), vk, append(bytes.Clone(msg), '!'), sig})
			if keysOf[raw] && raw == signer.Public().Key {
				genuine++
			}
		}
	}
	entries = append(entries, entry{PublicKey{}, VerifyingKey{}, []byte("m"), make([]byte, 64)})
	if genuine == 0 {
		t.Fatal("no genuine signature among the entries")
	}
	check := func(name string, es []entry) {
		t.Helper()
		var byPub, byKey BatchVerifier
		for i, e := range es {
			perr := byPub.Add(e.pub, e.msg, e.sig)
			kerr := byKey.AddKey(e.vk, e.msg, e.sig)
			if fmt.Sprint(perr) != fmt.Sprint(kerr) {
				t.Fatalf("%s entry %d (%v): Add error %v, AddKey error %v", name, i, e.pub, perr, kerr)
			}
		}
		pall, pvalid := byPub.Verify()
		kall, kvalid := byKey.Verify()
		if pall != kall || fmt.Sprint(pvalid) != fmt.Sprint(kvalid) {
			t.Fatalf("%s: Add verdicts %v %v, AddKey verdicts %v %v", name, pall, pvalid, kall, kvalid)
		}
		for i, e := range es {
			if want := e.pub.Verify(e.msg, e.sig); kvalid[i] != want {
				t.Fatalf("%s entry %d (%v): batch verdict %v, single verification %v", name, i, e.pub, kvalid[i], want)
			}
		}
	}
	check("all entries", entries)
	accepted := 0
	for i, e := range entries {
		check(fmt.Sprintf("entry %d alone", i), []entry{e})
		if e.pub.Verify(e.msg, e.sig) {
			accepted++
		}
	}
	if accepted < genuine {
		t.Fatalf("%d signatures verified, want at least the %d genuine ones", accepted, genuine)
	}
}
