package envelope

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/veil-network/veil/crypto/keyderiv"
	"github.com/veil-network/veil/crypto/keys"
)

// Fixed delivery inputs (also those of the vectors).
func testRecipient() [32]byte  { return seq(0x80) } // gatekeeper / worker identity 80..9f
func otherRecipient() [32]byte { return seq(0x81) }
func testHistory() []keyderiv.EpochSecret {
	return []keyderiv.EpochSecret{{Epoch: 1, Secret: seq(0x00)}, {Epoch: 2, Secret: seq(0x10)}, {Epoch: 5, Secret: seq(0x20)}}
}

func testContractSecrets(t testing.TB) *keyderiv.ContractSecrets {
	t.Helper()
	m, err := keyderiv.NewMaster(testMasterSecret())
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.ContractSecrets(testContractID())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMasterKeyHistoryRoundTrip(t *testing.T) {
	gk := workerKey(t, testWorkerIKM())
	for _, entries := range [][]keyderiv.EpochSecret{testHistory()[:1], testHistory()} {
		latest := entries[len(entries)-1].Epoch
		env, err := SealMasterKeyHistory(gk.PublicKey(), testRecipient(), latest, entries)
		if err != nil {
			t.Fatal(err)
		}
		if want := headerSize + xwingEncSize + 4 + 40*len(entries) + gcmTagSize; len(env) != want {
			t.Fatalf("envelope of %d bytes, want %d", len(env), want)
		}
		h, err := ParseHeader(env)
		if err != nil || h.Kind != KindMasterKeyHandover || h.KeyID != KeyID(gk.PublicKey()) {
			t.Fatalf("header %+v: %v", h, err)
		}
		got, err := OpenMasterKeyHistory(gk, testRecipient(), latest, env)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(entries) {
			t.Fatalf("%d entries, want %d", len(got), len(entries))
		}
		for i := range got {
			if got[i] != entries[i] {
				t.Fatalf("entry %d differs", i)
			}
		}
		// A cached key opens it too.
		ck, _ := NewCachedKey(gk)
		if _, err := OpenMasterKeyHistory(ck, testRecipient(), latest, env); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMasterKeyHistoryBinding(t *testing.T) {
	gk := workerKey(t, testWorkerIKM())
	env, err := SealMasterKeyHistory(gk.PublicKey(), testRecipient(), 5, testHistory())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		recipient [32]byte
		latest    uint64
		env       []byte
		want      error
	}{
		{"other recipient identity", otherRecipient(), 5, env, ErrDecrypt},
		{"other latest epoch", testRecipient(), 4, env, ErrDecrypt},
		{"tag flipped", testRecipient(), 5, flip(env, len(env)-1, 1), ErrDecrypt},
		{"kind relabelled", testRecipient(), 5, flip(env, 1, byte(KindMasterKeyHandover^KindContractKey)), ErrWrongKind},
		{"unknown KDF", testRecipient(), 5, flip(env, 5, 0x02), ErrUnknownSuite},
		{"version", testRecipient(), 5, flip(env, 0, 0x02), ErrUnsupportedVersion},
		{"truncated", testRecipient(), 5, env[:headerSize+xwingEncSize], ErrTruncated},
		{"empty", testRecipient(), 5, nil, ErrTruncated},
	} {
		_, err := OpenMasterKeyHistory(gk, c.recipient, c.latest, c.env)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), "master-key handover") {
			t.Errorf("%s: error lacks context: %v", c.name, err)
		}
	}
	other := workerKey(t, otherWorkerIKM())
	if _, err := OpenMasterKeyHistory(other, testRecipient(), 5, env); !errors.Is(err, ErrWrongRecipient) {
		t.Errorf("other key: %v", err)
	}
	if _, err := OpenMasterKeyHistory(nil, testRecipient(), 5, env); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("nil key: %v", err)
	}
	// A contract-key delivery or a command is not a handover.
	cenv, err := SealContractSecrets(gk.PublicKey(), testRecipient(), testContractID(), 5, testContractSecrets(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenMasterKeyHistory(gk, testRecipient(), 5, cenv); !errors.Is(err, ErrWrongKind) {
		t.Errorf("contract-key envelope: %v", err)
	}
	cmd, err := SealCommand(gk.PublicKey(), testCall(), testSigner(t, keys.SchemeEd25519))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenMasterKeyHistory(gk, testRecipient(), 5, cmd); !errors.Is(err, ErrWrongKind) {
		t.Errorf("command envelope: %v", err)
	}
	if _, err := OpenCommand(gk, testContractID(), env); !errors.Is(err, ErrWrongKind) {
		t.Errorf("handover opened as command: %v", err)
	}
}

// TestDeliveryTamperEveryByte flips every byte of both delivery kinds and
// checks that each is rejected (never accepted, never a panic) with the
// error of the region it hit.
func TestDeliveryTamperEveryByte(t *testing.T) {
	gk := workerKey(t, testWorkerIKM())
	hist, err := SealMasterKeyHistory(gk.PublicKey(), testRecipient(), 5, testHistory())
	if err != nil {
		t.Fatal(err)
	}
	ck, err := SealContractSecrets(gk.PublicKey(), testRecipient(), testContractID(), 3, testContractSecrets(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  []byte
		open func([]byte) error
	}{
		{"handover", hist, func(b []byte) error { _, err := OpenMasterKeyHistory(gk, testRecipient(), 5, b); return err }},
		{"contract key", ck, func(b []byte) error {
			_, err := OpenContractSecrets(gk, testRecipient(), testContractID(), 3, b)
			return err
		}},
	} {
		for i := range c.env {
			err := c.open(flip(c.env, i, 0x40))
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
			default:
				want = ErrDecrypt
			}
			if !errors.Is(err, want) {
				t.Fatalf("%s byte %d: got %v, want %v", c.name, i, err, want)
			}
		}
		for n := range c.env {
			if err := c.open(c.env[:n]); err == nil {
				t.Fatalf("%s truncated to %d accepted", c.name, n)
			}
		}
		if err := c.open(append(bytes.Clone(c.env), 0)); err == nil {
			t.Fatalf("%s with a trailing byte accepted", c.name)
		}
	}
}

func TestSealMasterKeyHistoryRejects(t *testing.T) {
	gk := workerKey(t, testWorkerIKM())
	h := testHistory()
	tooMany := make([]keyderiv.EpochSecret, MaxHandoverEpochs+1)
	for i := range tooMany {
		tooMany[i] = keyderiv.EpochSecret{Epoch: uint64(i), Secret: seq(1)}
	}
	for _, c := range []struct {
		name    string
		latest  uint64
		entries []keyderiv.EpochSecret
		want    error
	}{
		{"empty", 0, nil, ErrInvalidHistory},
		{"latest differs", 4, h, ErrInvalidHistory},
		{"out of order", 1, []keyderiv.EpochSecret{h[1], h[0]}, ErrInvalidHistory},
		{"repeated epoch", 1, []keyderiv.EpochSecret{h[0], h[0]}, ErrInvalidHistory},
		{"zero secret", 7, []keyderiv.EpochSecret{{Epoch: 7}}, keyderiv.ErrZeroSecret},
		{"too many", uint64(MaxHandoverEpochs), tooMany, ErrTooLarge},
	} {
		if _, err := SealMasterKeyHistory(gk.PublicKey(), testRecipient(), c.latest, c.entries); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := SealMasterKeyHistory(nil, testRecipient(), 5, h); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("nil key: %v", err)
	}
}

// TestOpenMasterKeyHistoryMalformed seals plaintexts the sealer would not
// produce and checks the opener refuses them.
func TestOpenMasterKeyHistoryMalformed(t *testing.T) {
	gk := workerKey(t, testWorkerIKM())
	good, err := encodeMasterKeyHistory(testHistory(), 5)
	if err != nil {
		t.Fatal(err)
	}
	countZero := binary.BigEndian.AppendUint32(nil, 0)
	countHuge := binary.BigEndian.AppendUint32(nil, MaxHandoverEpochs+1)
	countShort := bytes.Clone(good)
	binary.BigEndian.PutUint32(countShort, 2)
	decreasing := bytes.Clone(good)
	binary.BigEndian.PutUint64(decreasing[4+40:], 0) // epoch 2 → 0 after 1
	zero := bytes.Clone(good)
	clear(zero[4+8 : 4+40])
	for _, c := range []struct {
		name string
		pt   []byte
	}{
		{"empty", nil},
		{"count 0", countZero},
		{"count above limit", countHuge},
		{"count below entries", countShort},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"missing byte", good[:len(good)-1]},
		{"decreasing epochs", decreasing},
		{"zero secret", zero},
	} {
		env := mustSeal(t, gk.PublicKey(), KindMasterKeyHandover, masterKeyHandoverInfo(testRecipient(), 5), c.pt)
		if _, err := OpenMasterKeyHistory(gk, testRecipient(), 5, env); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// A well-formed history whose newest epoch is not the one in the info.
	pt4, _ := encodeMasterKeyHistory(testHistory()[:2], 2)
	env := mustSeal(t, gk.PublicKey(), KindMasterKeyHandover, masterKeyHandoverInfo(testRecipient(), 5), pt4)
	if _, err := OpenMasterKeyHistory(gk, testRecipient(), 5, env); !errors.Is(err, ErrMalformed) {
		t.Errorf("newest epoch differs from latest: %v", err)
	}
}

func TestContractSecretsDelivery(t *testing.T) {
	w := workerKey(t, testWorkerIKM())
	s := testContractSecrets(t)
	before := *s
	env, err := SealContractSecrets(w.PublicKey(), testRecipient(), testContractID(), 3, s)
	if err != nil {
		t.Fatal(err)
	}
	if *s != before {
		t.Fatal("sealing modified the secrets")
	}
	if want := headerSize + xwingEncSize + keyderiv.ContractSecretsSize + gcmTagSize; len(env) != want {
		t.Fatalf("envelope of %d bytes, want %d", len(env), want)
	}
	got, err := OpenContractSecrets(w, testRecipient(), testContractID(), 3, env)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(s) {
		t.Fatal("secrets differ")
	}
	// The keys the worker builds are the contract's keys.
	m, _ := keyderiv.NewMaster(testMasterSecret())
	want, _ := m.Contract(testContractID())
	k, err := got.Keys(testContractID())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.HPKE.PublicKey().Bytes(), want.HPKE.PublicKey().Bytes()) || k.StateKey != want.StateKey ||
		k.RandomSeed != want.RandomSeed || k.Signing.Public() != want.Signing.Public() {
		t.Fatal("keys from the delivery differ from Master.Contract")
	}

	for _, c := range []struct {
		name                string
		recipient, contract [32]byte
		epoch               uint64
		want                error
	}{
		{"other recipient", otherRecipient(), testContractID(), 3, ErrDecrypt},
		{"other contract", testRecipient(), otherContractID(), 3, ErrDecrypt},
		{"other epoch", testRecipient(), testContractID(), 4, ErrDecrypt},
	} {
		_, err := OpenContractSecrets(w, c.recipient, c.contract, c.epoch, env)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), "another recipient identity, contract or epoch") {
			t.Errorf("%s: unclear error %v", c.name, err)
		}
	}
	other := workerKey(t, otherWorkerIKM())
	if _, err := OpenContractSecrets(other, testRecipient(), testContractID(), 3, env); !errors.Is(err, ErrWrongRecipient) {
		t.Errorf("other key: %v", err)
	}
	// Malformed plaintexts.
	info := contractKeyInfo(testRecipient(), testContractID(), 3)
	pt, _ := s.MarshalBinary()
	short := mustSeal(t, w.PublicKey(), KindContractKey, info, pt[:127])
	if _, err := OpenContractSecrets(w, testRecipient(), testContractID(), 3, short); !errors.Is(err, ErrMalformed) {
		t.Errorf("127-byte plaintext: %v", err)
	}
	long := mustSeal(t, w.PublicKey(), KindContractKey, info, append(pt, 0))
	if _, err := OpenContractSecrets(w, testRecipient(), testContractID(), 3, long); !errors.Is(err, ErrTooLarge) {
		t.Errorf("129-byte plaintext: %v", err)
	}
	zero := bytes.Clone(pt)
	clear(zero[96:])
	zenv := mustSeal(t, w.PublicKey(), KindContractKey, info, zero)
	if _, err := OpenContractSecrets(w, testRecipient(), testContractID(), 3, zenv); !errors.Is(err, ErrMalformed) {
		t.Errorf("zero signing seed: %v", err)
	}
	// Sealing refuses unusable input.
	if _, err := SealContractSecrets(w.PublicKey(), testRecipient(), testContractID(), 3, nil); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("nil secrets: %v", err)
	}
	if _, err := SealContractSecrets(w.PublicKey(), testRecipient(), testContractID(), 3, &keyderiv.ContractSecrets{}); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("zero secrets: %v", err)
	}
	if _, err := SealContractSecrets(nil, testRecipient(), testContractID(), 3, s); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("nil key: %v", err)
	}
}

func TestDeliveryKinds(t *testing.T) {
	if KindMasterKeyHandover.String() != "master-key-handover" || KindContractKey.String() != "contract-key" || KindSessionQuery.String() != "session-query" || KindSessionResponse.String() != "session-response" || Kind(8).String() != "kind(8)" {
		t.Fatal("kind names")
	}
	hdr := func(k Kind) []byte {
		b := []byte{FormatVersion, byte(k)}
		b = binary.BigEndian.AppendUint16(b, KEMXWing)
		b = binary.BigEndian.AppendUint16(b, KDFHKDFSHA256)
		b = binary.BigEndian.AppendUint16(b, AEADAES256GCM)
		b = append(b, make([]byte, KeyIDSize)...)
		return binary.BigEndian.AppendUint16(b, xwingEncSize)
	}
	for _, k := range []Kind{KindCommand, KindQuery, KindMasterKeyHandover, KindContractKey} {
		if _, err := ParseHeader(hdr(k)); err != nil {
			t.Errorf("%v: %v", k, err)
		}
	}
	for _, k := range []Kind{0, KindResponse, KindSessionQuery, KindSessionResponse, 8, 255} {
		if _, err := ParseHeader(hdr(k)); !errors.Is(err, ErrWrongKind) {
			t.Errorf("%v: %v", k, err)
		}
	}
}

// TestDeliveryErrorsCarryNoSecrets: error texts never contain the
// secrets, even for plaintexts that decrypted and were then refused.
func TestDeliveryErrorsCarryNoSecrets(t *testing.T) {
	gk := workerKey(t, testWorkerIKM())
	bad := []keyderiv.EpochSecret{{Epoch: 1, Secret: seq(0x33)}, {Epoch: 1, Secret: seq(0x44)}}
	pt := binary.BigEndian.AppendUint32(nil, 2)
	for _, e := range bad {
		pt = binary.BigEndian.AppendUint64(pt, e.Epoch)
		pt = append(pt, e.Secret[:]...)
	}
	env := mustSeal(t, gk.PublicKey(), KindMasterKeyHandover, masterKeyHandoverInfo(testRecipient(), 1), pt)
	_, err := OpenMasterKeyHistory(gk, testRecipient(), 1, env)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, e := range bad {
		if strings.Contains(err.Error(), hx(e.Secret[:8])) {
			t.Fatalf("error prints a secret: %v", err)
		}
	}
}
