package envelope

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/veil-network/veil/crypto/keys"
)

func mustSign(t testing.TB, s keys.Signer, msg []byte) []byte {
	t.Helper()
	sig, err := s.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// TestOpenRefusesInvalidCallerKey: a command or query whose sr25519
// caller key is not a valid point is refused as a bad signature while
// decoding — before the contract id, the expiry or anything after the
// key is looked at — with keys.NewPublicKey's reason.
func TestOpenRefusesInvalidCallerKey(t *testing.T) {
	contract, worker := contractKey(t, testContractID()), workerKey(t, testWorkerIKM())
	signer := testSigner(t, keys.SchemeSr25519)
	bad := [][accountSize]byte{{}, [accountSize]byte(bytes.Repeat([]byte{0xff}, accountSize))}
	for _, key := range bad {
		_, kerr := keys.NewPublicKey(keys.SchemeSr25519, key[:])
		if kerr == nil {
			t.Fatalf("%x is a valid sr25519 key", key)
		}
		want := fmt.Sprintf("%v: caller key: %v", ErrBadSignature, kerr)
		check := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, ErrBadSignature) || !errors.Is(err, keys.ErrInvalidPublic) || err.Error() != want {
				t.Fatalf("%s with caller key %x: %v, want %q", what, key, err, want)
			}
		}

		// A command for another contract: the key is refused first.
		call := testCall()
		call.ContractID = otherContractID()
		pt := signedCallPlaintext(t, signer, call)
		copy(pt[1:1+accountSize], key[:])
		_, err := DecodeSignedCall(pt)
		check("DecodeSignedCall", err)
		env := mustSeal(t, contract.PublicKey(), KindCommand, commandInfo(testContractID()), pt)
		_, err = DecryptCommand(contract, testContractID(), env)
		check("DecryptCommand", err)
		_, err = OpenCommand(contract, testContractID(), env)
		check("OpenCommand", err)

		// An expired query: the key is refused first.
		q := testQuery()
		q.Expiry = testNow().Add(-MaxQueryLifetime)
		enc, err := EncodeQuery(signer.Public(), q, [QueryNonceSize]byte{1})
		if err != nil {
			t.Fatal(err)
		}
		fp := Fingerprint(worker.PublicKey().Bytes())
		qpt := append(bytes.Clone(enc), mustSign(t, signer, QuerySigningMessage(fp, enc))...)
		copy(qpt[1:1+accountSize], key[:])
		_, err = DecodeSignedQuery(qpt)
		check("DecodeSignedQuery", err)
		_, _, err = OpenQuery(worker, mustSeal(t, worker.PublicKey(), KindQuery, []byte(QueryInfo), qpt), testNow())
		check("OpenQuery", err)
	}
}

// TestCallerKey: the key DecryptCommand parsed is Caller's, and a batch
// of decrypted calls verified with keys.BatchVerifier.AddKey gives
// OpenCommand's verdicts (a genuine call, one whose signature was
// tampered with inside the encryption). A VerifiedCall built or changed
// by hand gets its current Caller parsed, or the zero key if Caller is
// not a valid key.
func TestCallerKey(t *testing.T) {
	contract := contractKey(t, testContractID())
	var bv keys.BatchVerifier
	var want []bool
	for _, scheme := range bothSchemes() {
		signer := testSigner(t, scheme)
		for _, tamper := range []bool{false, true} {
			pt := signedCallPlaintext(t, signer, testCall())
			if tamper {
				pt[len(pt)-20] ^= 0x01
			}
			env := mustSeal(t, contract.PublicKey(), KindCommand, commandInfo(testContractID()), pt)
			vc, err := DecryptCommand(contract, testContractID(), env)
			if err != nil {
				t.Fatal(err)
			}
			if k := vc.CallerKey(); k.Public() != signer.Public() || k.Public() != vc.Caller {
				t.Fatalf("%s: CallerKey %v, Caller %v, signer %v", scheme, k.Public(), vc.Caller, signer.Public())
			}
			_ = bv.AddKey(vc.CallerKey(), CallSigningMessage(vc.Encoded), vc.Signature)
			_, oerr := OpenCommand(contract, testContractID(), env)
			if (oerr == nil) == tamper || (tamper && !errors.Is(oerr, ErrBadSignature)) {
				t.Fatalf("%s, tampered %v: OpenCommand %v", scheme, tamper, oerr)
			}
			want = append(want, oerr == nil)
		}
	}
	if _, valid := bv.Verify(); fmt.Sprint(valid) != fmt.Sprint(want) {
		t.Fatalf("batch with parsed keys %v, OpenCommand %v", valid, want)
	}

	alice, bob := testSigner(t, keys.SchemeSr25519), testSigner(t, keys.SchemeEd25519)
	vc := &VerifiedCall{Caller: alice.Public()}
	if k := vc.CallerKey(); k.Public() != alice.Public() {
		t.Fatalf("hand-built call: CallerKey %v, want %v", k.Public(), alice.Public())
	}
	vc.Caller = bob.Public()
	if k := vc.CallerKey(); k.Public() != bob.Public() {
		t.Fatalf("changed caller: CallerKey %v, want %v", k.Public(), bob.Public())
	}
	vc.Caller = keys.PublicKey{Scheme: keys.SchemeSr25519} // the identity: not a valid key
	if k := vc.CallerKey(); k != (keys.VerifyingKey{}) {
		t.Fatalf("invalid caller: CallerKey %v, want the zero key", k.Public())
	}
}
