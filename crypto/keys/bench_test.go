package keys

import (
	"fmt"
	"testing"

	schnorrkel "github.com/ChainSafe/go-schnorrkel"
	"github.com/gtank/merlin"
)

// benchSet returns n signatures of distinct 64-byte messages by n distinct
// keys of the given scheme.
func benchSet(b *testing.B, scheme Scheme, n int) (pubs []PublicKey, msgs, sigs [][]byte) {
	b.Helper()
	for i := range n {
		var seed [SeedSize]byte
		seed[0], seed[1] = byte(i), byte(i>>8)
		var s Signer
		if scheme == SchemeSr25519 {
			s = NewSr25519FromSeed(seed)
		} else {
			s = NewEd25519FromSeed(seed)
		}
		msg := make([]byte, 64)
		copy(msg, fmt.Sprintf("veil/bench/tx/%d", i))
		sig, err := s.Sign(msg)
		if err != nil {
			b.Fatal(err)
		}
		pubs = append(pubs, s.Public())
		msgs = append(msgs, msg)
		sigs = append(sigs, sig)
	}
	return pubs, msgs, sigs
}

// BenchmarkVerify compares n single verifications with one batch of n, per
// scheme. Reported ns/op is for the whole set of n signatures.
func BenchmarkVerify(b *testing.B) {
	for _, scheme := range []Scheme{SchemeSr25519, SchemeEd25519} {
		for _, n := range []int{2, 8, 64} {
			pubs, msgs, sigs := benchSet(b, scheme, n)
			b.Run(fmt.Sprintf("%s/single/n=%d", scheme, n), func(b *testing.B) {
				for b.Loop() {
					for i := range pubs {
						if !pubs[i].Verify(msgs[i], sigs[i]) {
							b.Fatal("invalid")
						}
					}
				}
			})
			b.Run(fmt.Sprintf("%s/batch/n=%d", scheme, n), func(b *testing.B) {
				for b.Loop() {
					var bv BatchVerifier
					for i := range pubs {
						if err := bv.Add(pubs[i], msgs[i], sigs[i]); err != nil {
							b.Fatal(err)
						}
					}
					if ok, _ := bv.Verify(); !ok {
						b.Fatal("invalid")
					}
				}
			})
			// The same batch from keys parsed beforehand (AddKey), as the
			// executor adds commands whose caller keys were parsed while
			// decoding the call: the difference is the key decoding.
			vks := make([]VerifyingKey, len(pubs))
			for i, p := range pubs {
				var err error
				if vks[i], err = ParseVerifyingKey(p.Scheme, p.Key[:]); err != nil {
					b.Fatal(err)
				}
			}
			b.Run(fmt.Sprintf("%s/batch-parsed/n=%d", scheme, n), func(b *testing.B) {
				for b.Loop() {
					var bv BatchVerifier
					for i := range vks {
						if err := bv.AddKey(vks[i], msgs[i], sigs[i]); err != nil {
							b.Fatal(err)
						}
					}
					if ok, _ := bv.Verify(); !ok {
						b.Fatal("invalid")
					}
				}
			})
		}
	}
}

// BenchmarkSchnorrkelVerifyBatch measures go-schnorrkel's own batch
// verification of 64 signatures, the evidence for not using it: compare
// with BenchmarkVerify/sr25519/*/n=64 (curve25519-voi).
func BenchmarkSchnorrkelVerifyBatch(b *testing.B) {
	pubs, msgs, sigs := benchSet(b, SchemeSr25519, 64)
	for b.Loop() {
		ts := make([]*merlin.Transcript, len(pubs))
		ss := make([]*schnorrkel.Signature, len(pubs))
		ps := make([]*schnorrkel.PublicKey, len(pubs))
		for i := range pubs {
			var err error
			ts[i] = substrateTranscript(msgs[i])
			ss[i] = new(schnorrkel.Signature)
			if err = ss[i].Decode([64]byte(sigs[i])); err != nil {
				b.Fatal(err)
			}
			if ps[i], err = schnorrkel.NewPublicKey(pubs[i].Key); err != nil {
				b.Fatal(err)
			}
		}
		if ok, err := schnorrkel.VerifyBatch(ts, ss, ps); err != nil || !ok {
			b.Fatal("go-schnorrkel batch rejected valid signatures", err)
		}
	}
}

// BenchmarkSr25519SingleLibraries compares one verification with
// go-schnorrkel and with curve25519-voi (which BatchVerifier and
// PublicKey.Verify use).
func BenchmarkSr25519SingleLibraries(b *testing.B) {
	pubs, msgs, sigs := benchSet(b, SchemeSr25519, 1)
	b.Run("go-schnorrkel", func(b *testing.B) {
		for b.Loop() {
			pk, _ := schnorrkel.NewPublicKey(pubs[0].Key)
			var s schnorrkel.Signature
			if err := s.Decode([64]byte(sigs[0])); err != nil {
				b.Fatal(err)
			}
			if ok, err := pk.Verify(&s, substrateTranscript(msgs[0])); !ok || err != nil {
				b.Fatal("rejected")
			}
		}
	})
	b.Run("curve25519-voi", func(b *testing.B) {
		for b.Loop() {
			if !verifySr25519(pubs[0].Key, msgs[0], sigs[0]) {
				b.Fatal("rejected")
			}
		}
	})
}
