package envelope

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/veil-network/veil/crypto/keyderiv"
	"github.com/veil-network/veil/crypto/keys"
)

// Fuzz targets for every decoder. Run e.g.
//
//	go test ./crypto/envelope -run '^$' -fuzz FuzzDecodeSignedCall -fuzztime 30s
//
// Each checks that the decoder never panics and that whatever it accepts
// is canonical: re-encoding the decoded value gives back the input, so
// every accepted message has exactly one encoding.

func FuzzParseHeader(f *testing.F) {
	priv := contractKey(f, testContractID())
	env, err := SealCommand(priv.PublicKey(), testCall(), testSigner(f, keys.SchemeEd25519))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(env[:headerSize])
	f.Add([]byte{})
	f.Add([]byte{1, 2, 0x64, 0x7a, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0x60})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			return
		}
		re := []byte{h.Version, byte(h.Kind)}
		re = binary.BigEndian.AppendUint16(re, h.Suite.KEM)
		re = binary.BigEndian.AppendUint16(re, h.Suite.KDF)
		re = binary.BigEndian.AppendUint16(re, h.Suite.AEAD)
		re = append(re, h.KeyID[:]...)
		re = binary.BigEndian.AppendUint16(re, h.EncSize)
		if !bytes.Equal(re, b[:headerSize]) {
			t.Fatalf("header %x re-encodes to %x", b[:headerSize], re)
		}
	})
}

func FuzzDecodeSignedCall(f *testing.F) {
	for _, s := range bothSchemes() {
		f.Add(signedCallPlaintext(f, testSigner(f, s), testCall()))
	}
	f.Add(signedCallPlaintext(f, testSigner(f, keys.SchemeEd25519), Call{Method: "x"}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, pt []byte) {
		vc, err := DecodeSignedCall(pt)
		if err != nil {
			return
		}
		enc, err := EncodeCall(vc.Caller, Call{ContractID: vc.ContractID, Nonce: vc.Nonce, Method: vc.Method, Args: vc.Args})
		if err != nil {
			t.Fatalf("decoded call does not encode: %v", err)
		}
		if !bytes.Equal(append(enc, vc.Signature...), pt) || !bytes.Equal(enc, vc.Encoded) {
			t.Fatalf("not canonical:\n in  %x\n out %x", pt, enc)
		}
	})
}

func FuzzDecodeSignedQuery(f *testing.F) {
	worker := workerKey(f, testWorkerIKM())
	for _, s := range bothSchemes() {
		f.Add(signedQueryPlaintext(f, worker, testSigner(f, s), testQuery()))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, pt []byte) {
		q, err := DecodeSignedQuery(pt)
		if err != nil {
			return
		}
		enc, err := EncodeQuery(q.Caller, QueryRequest{ContractID: q.ContractID, Method: q.Method, Args: q.Args, Expiry: q.Expiry}, q.Nonce)
		if err != nil {
			t.Fatalf("decoded query does not encode: %v", err)
		}
		if !bytes.Equal(append(enc, q.Signature...), pt) || !bytes.Equal(enc, q.Encoded) {
			t.Fatalf("not canonical:\n in  %x\n out %x", pt, enc)
		}
	})
}

// FuzzParseEnvelope covers everything an opener checks before touching a
// key: header, kind, enc and tag presence, and the size limit.
func FuzzParseEnvelope(f *testing.F) {
	priv := contractKey(f, testContractID())
	env, err := SealCommand(priv.PublicKey(), testCall(), testSigner(f, keys.SchemeEd25519))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(env, uint8(KindCommand))
	f.Add(env[:headerSize+1120+16], uint8(KindQuery))
	f.Fuzz(func(t *testing.T, env []byte, kind uint8) {
		e, err := parseEnvelope(env, Kind(kind), maxCommandPlaintext)
		if err != nil {
			return
		}
		if len(e.aad)+len(e.enc)+len(e.ct) != len(env) || len(e.enc) != int(e.header.EncSize) ||
			len(e.ct) < gcmTagSize || len(e.ct)-gcmTagSize > maxCommandPlaintext || e.header.Kind != Kind(kind) {
			t.Fatalf("inconsistent split of %d bytes: %d+%d+%d", len(env), len(e.aad), len(e.enc), len(e.ct))
		}
	})
}

// FuzzOpenCommand feeds arbitrary envelopes to a contract. Anything it
// accepts must be a call for that contract whose signature verifies.
//
// Note: under -fuzz, Go's coverage instrumentation makes the stdlib's
// ML-KEM decapsulation extremely slow (a few executions per second), so
// this target and FuzzOpenQuery mostly serve as seed-corpus regression
// tests; the code they reach is fuzzed at full speed by FuzzParseHeader,
// FuzzParseEnvelope, FuzzDecodeSignedCall and FuzzDecodeSignedQuery.
func FuzzOpenCommand(f *testing.F) {
	priv := contractKey(f, testContractID())
	for _, s := range bothSchemes() {
		env, err := SealCommand(priv.PublicKey(), testCall(), testSigner(f, s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(env)
	}
	f.Add([]byte{1, 1})
	f.Fuzz(func(t *testing.T, env []byte) {
		vc, err := OpenCommand(priv, testContractID(), env)
		if err != nil {
			return
		}
		if vc.ContractID != testContractID() || !vc.Caller.Verify(CallSigningMessage(vc.Encoded), vc.Signature) {
			t.Fatal("accepted an invalid command")
		}
	})
}

// FuzzOpenQuery feeds arbitrary envelopes to a worker.
func FuzzOpenQuery(f *testing.F) {
	worker := workerKey(f, testWorkerIKM())
	for _, s := range bothSchemes() {
		env, _, err := SealQuery(worker.PublicKey(), testQuery(), testSigner(f, s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(env)
	}
	f.Add([]byte{1, 2})
	fp := Fingerprint(worker.PublicKey().Bytes())
	f.Fuzz(func(t *testing.T, env []byte) {
		q, rs, err := OpenQuery(worker, env, testNow())
		if err != nil {
			return
		}
		if rs == nil || !q.Caller.Verify(QuerySigningMessage(fp, q.Encoded), q.Signature) || checkExpiry(q.Expiry, testNow()) != nil {
			t.Fatal("accepted an invalid query")
		}
	})
}

// FuzzOpenResponse feeds arbitrary responses to a client's query context.
func FuzzOpenResponse(f *testing.F) {
	worker := workerKey(f, testWorkerIKM())
	env, qc, err := SealQuery(worker.PublicKey(), testQuery(), testSigner(f, keys.SchemeEd25519))
	if err != nil {
		f.Fatal(err)
	}
	_, rs, err := OpenQuery(worker, env, testNow())
	if err != nil {
		f.Fatal(err)
	}
	for _, pt := range []string{"", "42", "a longer response body"} {
		r, err := rs.Seal([]byte(pt))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, resp []byte) {
		pt, err := qc.OpenResponse(resp)
		if err == nil && len(pt) != len(resp)-responseHeaderSize-gcmTagSize {
			t.Fatal("accepted response of inconsistent length")
		}
	})
}

// FuzzDecodeMasterKeyHistory covers the handover plaintext decoder at full
// speed: whatever it accepts re-encodes to the input.
func FuzzDecodeMasterKeyHistory(f *testing.F) {
	good, err := encodeMasterKeyHistory(testHistory(), 5)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good, uint64(5))
	f.Add(good[:44], uint64(1))
	f.Add([]byte{0, 0, 0, 0}, uint64(0))
	f.Fuzz(func(t *testing.T, pt []byte, latest uint64) {
		es, err := decodeMasterKeyHistory(pt, latest)
		if err != nil {
			return
		}
		re, err := encodeMasterKeyHistory(es, latest)
		if err != nil {
			t.Fatalf("decoded history does not encode: %v", err)
		}
		if !bytes.Equal(re, pt) {
			t.Fatalf("not canonical:\n in  %x\n out %x", pt, re)
		}
	})
}

// FuzzOpenMasterKeyHistory feeds arbitrary handovers to a gatekeeper.
// Anything accepted must be a valid history ending at the latest epoch.
// (Slow under -fuzz for the reason given at FuzzOpenCommand.)
func FuzzOpenMasterKeyHistory(f *testing.F) {
	gk := workerKey(f, testWorkerIKM())
	for _, n := range []int{1, 3} {
		h := testHistory()[:n]
		env, err := SealMasterKeyHistory(gk.PublicKey(), testRecipient(), h[n-1].Epoch, h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(env, h[n-1].Epoch)
	}
	f.Add([]byte{1, 4}, uint64(0))
	f.Fuzz(func(t *testing.T, env []byte, latest uint64) {
		es, err := OpenMasterKeyHistory(gk, testRecipient(), latest, env)
		if err != nil {
			return
		}
		if checkHistory(es, latest, ErrMalformed) != nil {
			t.Fatal("accepted an invalid history")
		}
	})
}

// FuzzOpenContractSecrets feeds arbitrary contract-key deliveries to a
// worker. Anything accepted must yield usable contract keys.
func FuzzOpenContractSecrets(f *testing.F) {
	w := workerKey(f, testWorkerIKM())
	m, err := keyderiv.NewMaster(testMasterSecret())
	if err != nil {
		f.Fatal(err)
	}
	s, err := m.ContractSecrets(testContractID())
	if err != nil {
		f.Fatal(err)
	}
	env, err := SealContractSecrets(w.PublicKey(), testRecipient(), testContractID(), 3, s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(env, uint64(3))
	f.Add(env[:headerSize+xwingEncSize+gcmTagSize], uint64(3))
	f.Add([]byte{1, 5}, uint64(0))
	f.Fuzz(func(t *testing.T, env []byte, epoch uint64) {
		got, err := OpenContractSecrets(w, testRecipient(), testContractID(), epoch, env)
		if err != nil {
			return
		}
		defer got.Wipe()
		if _, err := got.Keys(testContractID()); err != nil {
			t.Fatalf("accepted secrets that yield no keys: %v", err)
		}
	})
}
