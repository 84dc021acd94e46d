package envelope

import (
	"crypto/hpke"
	"testing"

	"github.com/veil-network/veil/crypto/keyderiv"
	"github.com/veil-network/veil/crypto/keys"
)

// seq returns the 32 bytes start, start+1, …: the fixed inputs of tests
// and vectors.
func seq(start byte) (b [32]byte) {
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// Fixed test identities (also those of docs/vectors/envelopes.json).
// Functions rather than variables: the package keeps no mutable state,
// tests included.
func testMasterSecret() [32]byte { return seq(0x00) } // master secret 00..1f
func testContractID() [32]byte   { return seq(0xa0) } // contract a0..bf
func otherContractID() [32]byte  { return seq(0xa1) }
func testWorkerIKM() [32]byte    { return seq(0xe0) } // worker X-Wing DeriveKeyPair input
func otherWorkerIKM() [32]byte   { return seq(0xe1) }
func ed25519Seed() [32]byte      { return seq(0x40) }
func sr25519Seed() [32]byte      { return seq(0x60) }

func testSigner(t testing.TB, scheme keys.Scheme) keys.Signer {
	t.Helper()
	switch scheme {
	case keys.SchemeEd25519:
		return keys.NewEd25519FromSeed(ed25519Seed())
	case keys.SchemeSr25519:
		return keys.NewSr25519FromSeed(sr25519Seed())
	}
	t.Fatalf("scheme %q", scheme)
	return nil
}

func bothSchemes() []keys.Scheme { return []keys.Scheme{keys.SchemeEd25519, keys.SchemeSr25519} }

func contractKey(t testing.TB, id [32]byte) hpke.PrivateKey {
	t.Helper()
	m, err := keyderiv.NewMaster(testMasterSecret())
	if err != nil {
		t.Fatal(err)
	}
	k, err := m.ContractHPKE(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func workerKey(t testing.TB, ikm [32]byte) hpke.PrivateKey {
	t.Helper()
	k, err := hpke.MLKEM768X25519().DeriveKeyPair(ikm[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testCall() Call {
	return Call{ContractID: testContractID(), Nonce: 7, Method: "transfer", Args: []byte(`{"to":"5Grw","amount":"1000"}`)}
}

// signedCallPlaintext builds a command plaintext by hand, signed by signer,
// for tests that seal plaintexts SealCommand would not produce.
func signedCallPlaintext(t testing.TB, signer keys.Signer, call Call) []byte {
	t.Helper()
	enc, err := EncodeCall(signer.Public(), call)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signer.Sign(CallSigningMessage(enc))
	if err != nil {
		t.Fatal(err)
	}
	return append(enc, sig...)
}

func mustSeal(t testing.TB, pub hpke.PublicKey, kind Kind, info, pt []byte) []byte {
	t.Helper()
	s, err := seal(pub, Fingerprint(pub.Bytes()), kind, info, pt)
	if err != nil {
		t.Fatal(err)
	}
	return s.env
}

func flip(b []byte, i int, mask byte) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= mask
	return c
}
