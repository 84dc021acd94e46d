package envelope

import (
	"bytes"
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/veil-network/veil/crypto/keyderiv"
	"github.com/veil-network/veil/crypto/keys"
)

func TestCommandRoundTrip(t *testing.T) {
	priv := contractKey(t, testContractID())
	for _, scheme := range bothSchemes() {
		t.Run(string(scheme), func(t *testing.T) {
			signer := testSigner(t, scheme)
			call := testCall()
			env, err := SealCommand(priv.PublicKey(), call, signer)
			if err != nil {
				t.Fatal(err)
			}
			h, err := ParseHeader(env)
			if err != nil {
				t.Fatal(err)
			}
			if h.Kind != KindCommand || h.Suite != DefaultSuite() || h.KeyID != KeyID(priv.PublicKey()) || h.EncSize != 1120 {
				t.Fatalf("header %+v", h)
			}
			if want := headerSize + 1120 + callFixedSize + len(call.Method) + len(call.Args) + 64 + 16; len(env) != want {
				t.Fatalf("envelope %d bytes, want %d", len(env), want)
			}
			vc, err := OpenCommand(priv, testContractID(), env)
			if err != nil {
				t.Fatal(err)
			}
			if vc.Caller != signer.Public() || vc.ContractID != call.ContractID || vc.Nonce != call.Nonce ||
				vc.Method != call.Method || !bytes.Equal(vc.Args, call.Args) {
				t.Fatalf("opened %+v", vc)
			}
			enc, _ := EncodeCall(signer.Public(), call)
			if !bytes.Equal(vc.Encoded, enc) || !signer.Public().Verify(CallSigningMessage(enc), vc.Signature) {
				t.Fatal("encoded call or signature differ")
			}
			// Sealing is randomized: the same call gives another envelope.
			env2, _ := SealCommand(priv.PublicKey(), call, signer)
			if bytes.Equal(env, env2) {
				t.Fatal("two seals gave the same envelope")
			}
		})
	}
}

func TestCommandEmptyArgs(t *testing.T) {
	priv := contractKey(t, testContractID())
	call := Call{ContractID: testContractID(), Method: "ping"}
	env, err := SealCommand(priv.PublicKey(), call, testSigner(t, keys.SchemeEd25519))
	if err != nil {
		t.Fatal(err)
	}
	vc, err := OpenCommand(priv, testContractID(), env)
	if err != nil || len(vc.Args) != 0 || vc.Nonce != 0 {
		t.Fatalf("%+v %v", vc, err)
	}
}

func TestCommandEncodingLayout(t *testing.T) {
	signer := testSigner(t, keys.SchemeEd25519)
	call := Call{ContractID: testContractID(), Nonce: 0x0102030405060708, Method: "m", Args: []byte{0xaa, 0xbb}}
	enc, err := EncodeCall(signer.Public(), call)
	if err != nil {
		t.Fatal(err)
	}
	pub := signer.Public()
	cid := testContractID()
	want := []byte{2}
	want = append(want, pub.Key[:]...)
	want = append(want, cid[:]...)
	want = append(want, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 'm', 0, 0, 0, 2, 0xaa, 0xbb)
	if !bytes.Equal(enc, want) {
		t.Fatalf("encoding\n got  %x\n want %x", enc, want)
	}
	if msg := CallSigningMessage(enc); !bytes.HasPrefix(msg, []byte("veil/contract-call/v1\x00")) || !bytes.Equal(msg[len(CallDomain):], enc) {
		t.Fatal("signing message")
	}
}

func TestCommandWrongRecipient(t *testing.T) {
	privA := contractKey(t, testContractID())
	privB := contractKey(t, otherContractID())
	signer := testSigner(t, keys.SchemeEd25519)

	// Sealed to contract B's key, opened with A's: the key id says so.
	envB, err := SealCommand(privB.PublicKey(), testCall(), signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCommand(privA, testContractID(), envB); !errors.Is(err, ErrWrongRecipient) {
		t.Fatalf("sealed to another key: %v", err)
	}
	// A call for contract B sealed to A's key: the HPKE info (which
	// carries B's id) differs from A's, so decryption fails.
	callB := testCall()
	callB.ContractID = otherContractID()
	env, err := SealCommand(privA.PublicKey(), callB, signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCommand(privA, testContractID(), env); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("call for B sealed to A: %v", err)
	}
	// The right key opened with the wrong contract id: same.
	envA, _ := SealCommand(privA.PublicKey(), testCall(), signer)
	if _, err := OpenCommand(privA, otherContractID(), envA); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("opened as another contract: %v", err)
	}
	// A sealer that binds A's info but signs a call for B: the call's
	// own contract id is checked after decryption.
	env = mustSeal(t, privA.PublicKey(), KindCommand, commandInfo(testContractID()), signedCallPlaintext(t, signer, callB))
	if _, err := OpenCommand(privA, testContractID(), env); !errors.Is(err, ErrWrongContract) {
		t.Fatalf("call names another contract: %v", err)
	}
}

// TestCommandTamperEveryByte flips every byte of an envelope (two masks)
// and checks each is rejected with the error of the region it hit.
func TestCommandTamperEveryByte(t *testing.T) {
	priv := contractKey(t, testContractID())
	env, err := SealCommand(priv.PublicKey(), testCall(), testSigner(t, keys.SchemeEd25519))
	if err != nil {
		t.Fatal(err)
	}
	for _, mask := range []byte{0x01, 0xff} {
		for i := range env {
			_, err := OpenCommand(priv, testContractID(), flip(env, i, mask))
			var want error
			switch {
			case i == 0:
				want = ErrUnsupportedVersion
			case i == 1:
				want = ErrWrongKind
			case i < 8:
				want = ErrUnknownSuite
			case i < 16:
				want = ErrWrongRecipient
			case i < 18:
				want = ErrMalformed
			default: // enc, ciphertext, tag
				want = ErrDecrypt
			}
			if !errors.Is(err, want) {
				t.Fatalf("mask %#x byte %d: got %v, want %v", mask, i, err, want)
			}
		}
	}
}

func TestCommandTruncated(t *testing.T) {
	priv := contractKey(t, testContractID())
	env, err := SealCommand(priv.PublicKey(), testCall(), testSigner(t, keys.SchemeEd25519))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(env); n++ {
		_, err := OpenCommand(priv, testContractID(), env[:n])
		want := ErrTruncated
		if n >= headerSize+1120+16 {
			want = ErrDecrypt // a shorter but well-formed ciphertext fails authentication
		}
		if !errors.Is(err, want) {
			t.Fatalf("truncated to %d: got %v, want %v", n, err, want)
		}
	}
	// Appended bytes are tampering too.
	if _, err := OpenCommand(priv, testContractID(), append(bytes.Clone(env), 0)); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("extended: %v", err)
	}
}

func TestUnknownSuite(t *testing.T) {
	priv := contractKey(t, testContractID())
	env, err := SealCommand(priv.PublicKey(), testCall(), testSigner(t, keys.SchemeEd25519))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		off int
		id  uint16
	}{
		{2, 0x0020}, // DHKEM(X25519)
		{2, 0x0041}, // ML-KEM-768
		{4, 0x0003}, // HKDF-SHA512
		{6, 0x0003}, // ChaCha20Poly1305
		{6, 0xffff}, // export-only
	} {
		bad := bytes.Clone(env)
		binary.BigEndian.PutUint16(bad[tc.off:], tc.id)
		_, err := OpenCommand(priv, testContractID(), bad)
		if !errors.Is(err, ErrUnknownSuite) {
			t.Fatalf("id %#04x at %d: %v", tc.id, tc.off, err)
		}
		if !strings.Contains(err.Error(), "0x") {
			t.Errorf("error does not name the ids: %v", err)
		}
		if _, err := ParseHeader(bad); !errors.Is(err, ErrUnknownSuite) {
			t.Fatalf("ParseHeader: %v", err)
		}
	}
	// Sealing to a key of another KEM is refused up front.
	xk, err := ecdh.X25519().GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	dh, err := hpke.NewDHKEMPublicKey(xk.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SealCommand(dh, testCall(), testSigner(t, keys.SchemeEd25519)); !errors.Is(err, ErrUnknownSuite) {
		t.Fatalf("seal to DHKEM key: %v", err)
	}
	// Opening with a key of another KEM: not this recipient.
	dhPriv, _ := hpke.DHKEM(ecdh.X25519()).GenerateKey()
	if _, err := OpenCommand(dhPriv, testContractID(), env); !errors.Is(err, ErrWrongRecipient) {
		t.Fatalf("open with DHKEM key: %v", err)
	}
}

func TestWrongKind(t *testing.T) {
	priv := contractKey(t, testContractID())
	signer := testSigner(t, keys.SchemeEd25519)
	cmd, _ := SealCommand(priv.PublicKey(), testCall(), signer)
	q, _, err := SealQuery(priv.PublicKey(), testQuery(), signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCommand(priv, testContractID(), q); !errors.Is(err, ErrWrongKind) {
		t.Fatalf("query as command: %v", err)
	}
	if _, _, err := OpenQuery(priv, cmd, testNow()); !errors.Is(err, ErrWrongKind) {
		t.Fatalf("command as query: %v", err)
	}
	// Relabelling the kind byte fails decryption (the header is the AEAD's
	// associated data, and each kind has its own HPKE info).
	relabelled := bytes.Clone(cmd)
	relabelled[1] = byte(KindQuery)
	if _, _, err := OpenQuery(priv, relabelled, testNow()); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("relabelled command: %v", err)
	}
	resp := bytes.Clone(cmd)
	resp[1] = byte(KindResponse)
	if _, err := ParseHeader(resp); !errors.Is(err, ErrWrongKind) {
		t.Fatalf("response kind in an HPKE header: %v", err)
	}
}

func TestCommandBadSignature(t *testing.T) {
	priv := contractKey(t, testContractID())
	for _, scheme := range bothSchemes() {
		signer := testSigner(t, scheme)
		pt := signedCallPlaintext(t, signer, testCall())
		// Flip a signature bit, an argument byte, and the nonce.
		for _, i := range []int{len(pt) - 1, len(pt) - 64 - 1, 1 + 32 + 32 + 7} {
			bad := flip(pt, i, 0x01)
			env := mustSeal(t, priv.PublicKey(), KindCommand, commandInfo(testContractID()), bad)
			if _, err := OpenCommand(priv, testContractID(), env); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("%s: flipped plaintext byte %d: %v", scheme, i, err)
			}
		}
		// Signed by someone else than the caller named.
		other := keys.NewEd25519FromSeed(seq(0x99))
		enc, _ := EncodeCall(signer.Public(), testCall())
		sig, _ := other.Sign(CallSigningMessage(enc))
		env := mustSeal(t, priv.PublicKey(), KindCommand, commandInfo(testContractID()), append(enc, sig...))
		if _, err := OpenCommand(priv, testContractID(), env); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%s: foreign signature: %v", scheme, err)
		}
		// A signature without the domain prefix does not verify.
		sig, _ = signer.Sign(enc)
		env = mustSeal(t, priv.PublicKey(), KindCommand, commandInfo(testContractID()), append(bytes.Clone(enc), sig...))
		if _, err := OpenCommand(priv, testContractID(), env); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("%s: undomained signature: %v", scheme, err)
		}
	}
	// The same account bytes under the other scheme do not verify.
	signer := testSigner(t, keys.SchemeEd25519)
	pt := signedCallPlaintext(t, signer, testCall())
	pt[0] = schemeByteSr25519
	env := mustSeal(t, priv.PublicKey(), KindCommand, commandInfo(testContractID()), pt)
	if _, err := OpenCommand(priv, testContractID(), env); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("scheme swapped: %v", err)
	}
}

func TestCommandMalformedPlaintext(t *testing.T) {
	priv := contractKey(t, testContractID())
	signer := testSigner(t, keys.SchemeEd25519)
	good := signedCallPlaintext(t, signer, testCall())
	methodLenOff := 1 + 32 + 32 + 8
	cases := map[string]struct {
		pt   []byte
		want error
	}{
		"empty":           {nil, ErrMalformed},
		"trailing byte":   {append(bytes.Clone(good), 0), ErrMalformed},
		"missing sig":     {good[:len(good)-1], ErrMalformed},
		"unknown scheme":  {func() []byte { b := bytes.Clone(good); b[0] = 9; return b }(), keys.ErrUnknownScheme},
		"scheme zero":     {func() []byte { b := bytes.Clone(good); b[0] = 0; return b }(), ErrMalformed},
		"method too long": {func() []byte { b := bytes.Clone(good); binary.BigEndian.PutUint16(b[methodLenOff:], 129); return b }(), ErrTooLarge},
		"method empty":    {func() []byte { b := bytes.Clone(good); binary.BigEndian.PutUint16(b[methodLenOff:], 0); return b }(), ErrInvalidMethod},
		"method bad byte": {func() []byte { b := bytes.Clone(good); b[methodLenOff+2] = ' '; return b }(), ErrInvalidMethod},
		"args too long": {func() []byte {
			b := bytes.Clone(good)
			binary.BigEndian.PutUint32(b[methodLenOff+2+len("transfer"):], MaxCommandArgsSize+1)
			return b
		}(), ErrTooLarge},
		"args length past end": {func() []byte {
			b := bytes.Clone(good)
			binary.BigEndian.PutUint32(b[methodLenOff+2+len("transfer"):], 1000)
			return b
		}(), ErrMalformed},
		"sr25519 non-point caller": {func() []byte {
			b := bytes.Clone(good)
			b[0] = schemeByteSr25519
			copy(b[1:33], bytes.Repeat([]byte{0xff}, 32))
			return b
		}(), ErrBadSignature},
	}
	for name, tc := range cases {
		env := mustSeal(t, priv.PublicKey(), KindCommand, commandInfo(testContractID()), tc.pt)
		if _, err := OpenCommand(priv, testContractID(), env); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
}

func TestCommandOversized(t *testing.T) {
	priv := contractKey(t, testContractID())
	signer := testSigner(t, keys.SchemeEd25519)
	call := testCall()
	call.Args = make([]byte, MaxCommandArgsSize+1)
	if _, err := SealCommand(priv.PublicKey(), call, signer); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("args: %v", err)
	}
	call.Args = make([]byte, MaxCommandArgsSize)
	env, err := SealCommand(priv.PublicKey(), call, signer)
	if err != nil {
		t.Fatalf("maximal args: %v", err)
	}
	if _, err := OpenCommand(priv, testContractID(), env); err != nil {
		t.Fatalf("maximal args: %v", err)
	}
	call = testCall()
	call.Method = strings.Repeat("m", MaxMethodSize+1)
	if _, err := SealCommand(priv.PublicKey(), call, signer); !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrInvalidMethod) {
		t.Fatalf("method: %v", err)
	}
	for _, m := range []string{"", "has space", "tab\t", "naïve", "nul\x00"} {
		call.Method = m
		if _, err := SealCommand(priv.PublicKey(), call, signer); !errors.Is(err, ErrInvalidMethod) {
			t.Fatalf("method %q: %v", m, err)
		}
	}
	// An envelope whose ciphertext is longer than any valid command is
	// refused from its length alone, before decapsulation.
	huge := mustSeal(t, priv.PublicKey(), KindCommand, commandInfo(testContractID()), make([]byte, maxCommandPlaintext+1))
	if _, err := OpenCommand(priv, testContractID(), huge); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("huge envelope: %v", err)
	}
}

func TestSealArguments(t *testing.T) {
	priv := contractKey(t, testContractID())
	if _, err := SealCommand(nil, testCall(), testSigner(t, keys.SchemeEd25519)); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("nil key: %v", err)
	}
	if _, err := SealCommand(priv.PublicKey(), testCall(), nil); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("nil signer: %v", err)
	}
	if _, err := OpenCommand(nil, testContractID(), []byte{1}); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("nil private key: %v", err)
	}
	wiped := keys.NewEd25519FromSeed(seq(0x55))
	keys.Wipe(wiped)
	if _, err := SealCommand(priv.PublicKey(), testCall(), wiped); !errors.Is(err, keys.ErrWiped) {
		t.Fatalf("wiped signer: %v", err)
	}
}

// TestRotationKeepsCommandsReadable seals under epoch 1, rotates to epoch
// 2, and opens with the key SelectKey picks from the history.
func TestRotationKeepsCommandsReadable(t *testing.T) {
	h := keyderiv.NewHistory()
	if err := h.Add(1, testMasterSecret()); err != nil {
		t.Fatal(err)
	}
	k1, err := h.Contract(1, testContractID())
	if err != nil {
		t.Fatal(err)
	}
	signer := testSigner(t, keys.SchemeSr25519)
	old, err := SealCommand(k1.HPKE.PublicKey(), testCall(), signer)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Add(2, seq(0x33)); err != nil {
		t.Fatal(err)
	}
	_, latest, _ := h.Latest()
	k2, _ := latest.Contract(testContractID())
	call := testCall()
	call.Nonce++
	fresh, _ := SealCommand(k2.HPKE.PublicKey(), call, signer)

	epochKeys, err := h.ContractHPKEKeys(testContractID())
	if err != nil {
		t.Fatal(err)
	}
	candidates := make([]hpke.PrivateKey, len(epochKeys))
	for i, k := range epochKeys {
		candidates[i] = k.HPKE
	}
	nt := NewNonceTracker(testContractID())
	for _, env := range [][]byte{old, fresh} {
		k, err := SelectKey(env, candidates)
		if err != nil {
			t.Fatal(err)
		}
		vc, err := OpenCommand(k, testContractID(), env)
		if err != nil {
			t.Fatal(err)
		}
		if err := nt.Accept(vc); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := SelectKey(old, candidates[:1]); !errors.Is(err, ErrWrongRecipient) {
		t.Fatalf("old envelope without the old key: %v", err)
	}
	if _, err := SelectKey([]byte{1}, candidates); !errors.Is(err, ErrTruncated) {
		t.Fatalf("SelectKey on garbage: %v", err)
	}
}

func TestNonceTracker(t *testing.T) {
	alice := testSigner(t, keys.SchemeSr25519).Public()
	bob := testSigner(t, keys.SchemeEd25519).Public()
	nt := NewNonceTracker(testContractID())
	vc := func(caller keys.PublicKey, nonce uint64) *VerifiedCall {
		return &VerifiedCall{Caller: caller, ContractID: testContractID(), Nonce: nonce}
	}
	steps := []struct {
		caller keys.PublicKey
		nonce  uint64
		ok     bool
	}{
		{alice, 0, true}, // any first nonce, 0 included
		{alice, 0, false},
		{alice, 1, true},
		{alice, 5, true}, // gaps allowed
		{alice, 3, false},
		{alice, 5, false},
		{bob, 2, true}, // independent per caller
		{bob, 1, false},
		{alice, 6, true},
	}
	for i, s := range steps {
		err := nt.Accept(vc(s.caller, s.nonce))
		if (err == nil) != s.ok || (err != nil && !errors.Is(err, ErrReplay)) {
			t.Fatalf("step %d (%v, %d): %v", i, s.caller, s.nonce, err)
		}
	}
	if n, ok := nt.Last(alice); !ok || n != 6 {
		t.Fatalf("Last(alice) = %d %v", n, ok)
	}
	if err := nt.Check(alice, 6); !errors.Is(err, ErrReplay) {
		t.Fatalf("Check: %v", err)
	}
	// The account, not (scheme, key), identifies the caller.
	aliceAsEd := keys.PublicKey{Scheme: keys.SchemeEd25519, Key: alice.Key}
	if err := nt.Accept(vc(aliceAsEd, 6)); !errors.Is(err, ErrReplay) {
		t.Fatalf("same account, other scheme: %v", err)
	}
	other := vc(alice, 100)
	other.ContractID = otherContractID()
	if err := nt.Accept(other); !errors.Is(err, ErrWrongContract) {
		t.Fatalf("other contract: %v", err)
	}
	// Snapshot and restore.
	entries := nt.Entries()
	if len(entries) != 2 || nt.Len() != 2 || bytes.Compare(entries[0].Caller[:], entries[1].Caller[:]) >= 0 {
		t.Fatalf("entries %v", entries)
	}
	nt2, err := RestoreNonceTracker(testContractID(), entries)
	if err != nil {
		t.Fatal(err)
	}
	if err := nt2.Accept(vc(alice, 6)); !errors.Is(err, ErrReplay) {
		t.Fatalf("restored: %v", err)
	}
	if _, err := RestoreNonceTracker(testContractID(), []NonceEntry{entries[1], entries[0]}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unsorted snapshot: %v", err)
	}
	if _, err := RestoreNonceTracker(testContractID(), []NonceEntry{entries[0], entries[0]}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("duplicate snapshot: %v", err)
	}
}

func TestErrorsDoNotLeakPlaintext(t *testing.T) {
	priv := contractKey(t, testContractID())
	signer := testSigner(t, keys.SchemeEd25519)
	call := testCall()
	call.Args = []byte("SECRET-ARGUMENT-BYTES")
	pt := signedCallPlaintext(t, signer, call)
	pt = append(pt, 0) // trailing byte → malformed after decryption
	env := mustSeal(t, priv.PublicKey(), KindCommand, commandInfo(testContractID()), pt)
	_, err := OpenCommand(priv, testContractID(), env)
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("error %v", err)
	}
}

func TestCachedKey(t *testing.T) {
	if _, err := NewCachedKey(nil); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("nil: %v", err)
	}
	priv := contractKey(t, testContractID())
	ck, err := NewCachedKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := NewCachedKey(ck); again != ck {
		t.Fatal("re-wrapping a CachedKey should return it")
	}
	if ck.Fingerprint() != Fingerprint(priv.PublicKey().Bytes()) {
		t.Fatal("fingerprint")
	}
	signer := testSigner(t, keys.SchemeEd25519)
	env, err := SealCommand(ck.PublicKey(), testCall(), signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCommand(ck, testContractID(), env); err != nil {
		t.Fatalf("open with cached key: %v", err)
	}
	if k, err := SelectKey(env, []hpke.PrivateKey{nil, contractKey(t, otherContractID()), ck}); err != nil || k != hpke.PrivateKey(ck) {
		t.Fatalf("SelectKey: %v", err)
	}
	other, _ := NewCachedKey(contractKey(t, otherContractID()))
	if _, err := OpenCommand(other, testContractID(), env); !errors.Is(err, ErrWrongRecipient) {
		t.Fatalf("other cached key: %v", err)
	}
	worker, _ := NewCachedKey(workerKey(t, testWorkerIKM()))
	qenv, qc, err := SealQuery(worker.PublicKey(), testQuery(), signer)
	if err != nil {
		t.Fatal(err)
	}
	_, rs, err := OpenQuery(worker, qenv, testNow())
	if err != nil {
		t.Fatalf("query with cached key: %v", err)
	}
	r, _ := rs.Seal([]byte("ok"))
	if got, err := qc.OpenResponse(r); err != nil || string(got) != "ok" {
		t.Fatalf("response: %q %v", got, err)
	}
}
