package envelope

import (
	"crypto/hpke"
	"encoding/binary"
	"testing"
	"time"

	"github.com/veil-network/veil/crypto/keys"
)

// Benchmarks recorded in docs/benchmarks.md ("## Envelopes"):
//
//	go test ./crypto/envelope -run '^$' -bench . -benchtime 2s

// BenchmarkCommand measures sealing (client: sign + HPKE seal) and opening
// (executor: HPKE open + decode + verify) of a command with 256-byte args.
func BenchmarkCommand(b *testing.B) {
	priv, err := NewCachedKey(contractKey(b, testContractID()))
	if err != nil {
		b.Fatal(err)
	}
	pub := priv.PublicKey()
	call := Call{ContractID: testContractID(), Nonce: 1, Method: "transfer", Args: make([]byte, 256)}
	for _, scheme := range bothSchemes() {
		signer := testSigner(b, scheme)
		b.Run("seal/"+string(scheme), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := SealCommand(pub, call, signer); err != nil {
					b.Fatal(err)
				}
			}
		})
		env, err := SealCommand(pub, call, signer)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("open/"+string(scheme), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := OpenCommand(priv, call.ContractID, env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkQuery measures a query round trip with 256-byte args and a
// 1 KiB response, split by side: the client seals the request and opens
// the response; the worker opens the request, records its nonce in a
// ReplayCache and seals the response (the per-query cost on a worker's
// core).
func BenchmarkQuery(b *testing.B) {
	priv, err := NewCachedKey(workerKey(b, testWorkerIKM()))
	if err != nil {
		b.Fatal(err)
	}
	pub := priv.PublicKey()
	now := testNow()
	req := QueryRequest{ContractID: testContractID(), Method: "balance_of", Args: make([]byte, 256), Expiry: now.Add(time.Minute)}
	resp := make([]byte, 1024)
	for _, scheme := range bothSchemes() {
		signer := testSigner(b, scheme)
		b.Run("client-seal/"+string(scheme), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := SealQuery(pub, req, signer); err != nil {
					b.Fatal(err)
				}
			}
		})
		env, qc, err := SealQuery(pub, req, signer)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("worker/"+string(scheme), func(b *testing.B) {
			b.ReportAllocs()
			// Steady state: 1,000 queries per simulated second, each
			// living 60 s, so the cache holds ~60,000 nonces and evicts
			// as many as it adds.
			rc, err := NewReplayCache(100_000)
			if err != nil {
				b.Fatal(err)
			}
			var i uint64
			for b.Loop() {
				q, rs, err := OpenQuery(priv, env, now)
				if err != nil {
					b.Fatal(err)
				}
				i++
				binary.BigEndian.PutUint64(q.Nonce[:], i) // distinct nonces, as real traffic has
				t := now.Add(time.Duration(i/1000) * time.Second)
				q.Expiry = t.Add(time.Minute)
				if err := rc.Add(q, t); err != nil {
					b.Fatal(err)
				}
				if _, err := rs.Seal(resp); err != nil {
					b.Fatal(err)
				}
			}
		})
		_, rs, err := OpenQuery(priv, env, now)
		if err != nil {
			b.Fatal(err)
		}
		sealedResp, err := rs.Seal(resp)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("client-open-response/"+string(scheme), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := qc.OpenResponse(sealedResp); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("round-trip/"+string(scheme), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				env, qc, err := SealQuery(pub, req, signer)
				if err != nil {
					b.Fatal(err)
				}
				_, rs, err := OpenQuery(priv, env, now)
				if err != nil {
					b.Fatal(err)
				}
				r, err := rs.Seal(resp)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := qc.OpenResponse(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPrimitives measures the building blocks, to show where the
// envelope time goes: X-Wing encapsulation (HPKE sender setup) and
// decapsulation (recipient setup), and the account signatures.
func BenchmarkPrimitives(b *testing.B) {
	priv := workerKey(b, testWorkerIKM())
	pub := priv.PublicKey()
	kdf, aead := hpke.HKDFSHA256(), hpke.AES256GCM()
	b.Run("xwing-hpke-sender", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := hpke.NewSender(pub, kdf, aead, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	enc, _, err := hpke.NewSender(pub, kdf, aead, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("xwing-hpke-recipient", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := hpke.NewRecipient(enc, priv, kdf, aead, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("recipient-fingerprint", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = Fingerprint(priv.PublicKey().Bytes())
		}
	})
	msg := make([]byte, 400)
	for _, scheme := range bothSchemes() {
		signer := testSigner(b, scheme)
		b.Run("sign/"+string(scheme), func(b *testing.B) {
			for b.Loop() {
				if _, err := signer.Sign(msg); err != nil {
					b.Fatal(err)
				}
			}
		})
		sig, _ := signer.Sign(msg)
		pk := signer.Public()
		b.Run("verify/"+string(scheme), func(b *testing.B) {
			for b.Loop() {
				if !pk.Verify(msg, sig) {
					b.Fatal("bad signature")
				}
			}
		})
	}
}

// BenchmarkCallerKey measures what opening spends on the caller's key:
// parsing it while decoding, then verifying the signature with it. The
// keys-api variant is what opening did before keys.VerifyingKey
// (keys.NewPublicKey validates an sr25519 point and drops it,
// PublicKey.Verify decompresses it again); parsed-once is what it does now.
func BenchmarkCallerKey(b *testing.B) {
	msg := CallSigningMessage(make([]byte, 400))
	for _, scheme := range bothSchemes() {
		signer := testSigner(b, scheme)
		sig, err := signer.Sign(msg)
		if err != nil {
			b.Fatal(err)
		}
		raw := signer.Public().Key
		b.Run("keys-api/"+string(scheme), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pk, err := keys.NewPublicKey(scheme, raw[:])
				if err != nil || !pk.Verify(msg, sig) {
					b.Fatal("bad signature", err)
				}
			}
		})
		b.Run("parsed-once/"+string(scheme), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ck, err := keys.ParseVerifyingKey(scheme, raw[:])
				if err != nil || !ck.Verify(msg, sig) {
					b.Fatal("bad signature", err)
				}
			}
		})
	}
}
