package keyderiv

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestContractSecretsKeysEqualContract: keys rebuilt from the secrets
// (what an assigned worker does with a delivery) equal the keys the master
// derives directly, for several ids.
func TestContractSecretsKeysEqualContract(t *testing.T) {
	m, err := NewMaster(seq(0x00))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range [][IDSize]byte{seq(0xa0), seq(0xa1), {}} {
		want, err := m.Contract(id)
		if err != nil {
			t.Fatal(err)
		}
		s, err := m.ContractSecrets(id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Keys(id)
		if err != nil {
			t.Fatal(err)
		}
		assertSameKeys(t, got, want)
		// The secrets are the label outputs of the specification.
		prk, _ := hkdf.Extract(sha256.New, func() []byte { s := seq(0x00); return s[:] }(), []byte(Salt))
		for _, c := range []struct {
			label string
			got   [SecretSize]byte
		}{{ContractHPKELabel(id), s.HPKESeed}, {ContractStateLabel(id), s.State}, {ContractRandomLabel(id), s.Random}, {ContractSigningLabel(id), s.SigningSeed}} {
			w, _ := hkdf.Expand(sha256.New, prk, c.label, 32)
			if !bytes.Equal(c.got[:], w) {
				t.Errorf("%s: got %x want %x", c.label, c.got, w)
			}
		}
	}
}

func assertSameKeys(t *testing.T, got, want *ContractKeys) {
	t.Helper()
	if got.ID != want.ID || got.StateKey != want.StateKey || got.RandomSeed != want.RandomSeed {
		t.Fatal("symmetric keys differ")
	}
	if !bytes.Equal(got.HPKE.PublicKey().Bytes(), want.HPKE.PublicKey().Bytes()) {
		t.Fatal("HPKE keys differ")
	}
	gs, _ := got.HPKE.Bytes()
	ws, _ := want.HPKE.Bytes()
	if !bytes.Equal(gs, ws) {
		t.Fatal("HPKE private keys differ")
	}
	if got.Signing.Public() != want.Signing.Public() {
		t.Fatal("signing keys differ")
	}
	s1, _ := got.Signing.Sign([]byte("m"))
	s2, _ := want.Signing.Sign([]byte("m"))
	if !bytes.Equal(s1, s2) {
		t.Fatal("signatures differ")
	}
}

// TestContractVectorUnchanged pins Master.Contract (now routed through
// ContractSecrets) to the published contract HPKE key.
func TestContractVectorUnchanged(t *testing.T) {
	m, _ := NewMaster(seq(0x00))
	ck, err := m.Contract(seq(0xa0))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(ck.HPKE.PublicKey().Bytes()); got != contractHPKEPublic {
		t.Fatalf("contract HPKE public key changed: %.64s…", got)
	}
}

func TestContractSecretsMarshal(t *testing.T) {
	m, _ := NewMaster(seq(0x00))
	s, err := m.ContractSecrets(seq(0xa0))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != ContractSecretsSize || !bytes.Equal(b[:32], s.HPKESeed[:]) || !bytes.Equal(b[32:64], s.State[:]) ||
		!bytes.Equal(b[64:96], s.Random[:]) || !bytes.Equal(b[96:], s.SigningSeed[:]) {
		t.Fatalf("layout: %d bytes", len(b))
	}
	u, err := UnmarshalContractSecrets(b)
	if err != nil {
		t.Fatal(err)
	}
	if !u.Equal(s) || !s.Equal(u) {
		t.Fatal("round trip differs")
	}
	// The decoder copies: clearing the input leaves the result intact.
	clear(b)
	if !u.Equal(s) {
		t.Fatal("decoder aliases its input")
	}
	other, _ := m.ContractSecrets(seq(0xa1))
	if u.Equal(other) {
		t.Fatal("secrets of different contracts compare equal")
	}
	for _, n := range []int{0, 127, 129} {
		if _, err := UnmarshalContractSecrets(make([]byte, n)); !errors.Is(err, ErrMalformedSecrets) {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
	enc, _ := s.MarshalBinary()
	clear(enc[64:96])
	if _, err := UnmarshalContractSecrets(enc); !errors.Is(err, ErrMalformedSecrets) {
		t.Errorf("zero component: %v", err)
	}
}

func TestContractSecretsWipe(t *testing.T) {
	m, _ := NewMaster(seq(0x00))
	s, _ := m.ContractSecrets(seq(0xa0))
	k, err := s.Keys(seq(0xa0))
	if err != nil {
		t.Fatal(err)
	}
	s.Wipe()
	if *s != (ContractSecrets{}) {
		t.Fatal("not wiped")
	}
	// Keys made before the wipe are independent copies.
	if k.StateKey == ([32]byte{}) {
		t.Fatal("wipe reached the derived keys")
	}
	if _, err := s.Keys(seq(0xa0)); !errors.Is(err, ErrMalformedSecrets) {
		t.Fatalf("keys from wiped secrets: %v", err)
	}
	if _, err := s.MarshalBinary(); !errors.Is(err, ErrMalformedSecrets) {
		t.Fatalf("marshal of wiped secrets: %v", err)
	}
	var nilS *ContractSecrets
	nilS.Wipe()
	if _, err := nilS.Keys(seq(0xa0)); err == nil {
		t.Fatal("nil secrets gave keys")
	}
	m.Wipe()
	if _, err := m.ContractSecrets(seq(0xa0)); !errors.Is(err, ErrWiped) {
		t.Fatalf("wiped master: %v", err)
	}
}

func TestHistoryExport(t *testing.T) {
	h := NewHistory()
	for e := uint64(1); e <= 3; e++ {
		if err := h.Add(e*10, seq(byte(e))); err != nil {
			t.Fatal(err)
		}
	}
	es, err := h.Export()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 3 || es[0].Epoch != 10 || es[2].Epoch != 30 || es[1].Secret != seq(2) {
		t.Fatalf("export: %v", es)
	}
	h2, err := HistoryFrom(es)
	if err != nil {
		t.Fatal(err)
	}
	WipeEpochSecrets(es)
	if es[0].Secret != ([32]byte{}) {
		t.Fatal("not wiped")
	}
	s, err := h2.Secret(20)
	if err != nil || s != seq(2) {
		t.Fatalf("rebuilt history: %v", err)
	}
	if _, err := HistoryFrom([]EpochSecret{{2, seq(1)}, {1, seq(2)}}); !errors.Is(err, ErrEpochOrder) {
		t.Fatalf("out of order: %v", err)
	}
	if _, err := HistoryFrom([]EpochSecret{{1, seq(1)}, {2, seq(1)}}); !errors.Is(err, ErrDuplicateSecret) {
		t.Fatalf("duplicate: %v", err)
	}
	h.Wipe()
	if _, err := h.Export(); !errors.Is(err, ErrWiped) {
		t.Fatalf("export of wiped history: %v", err)
	}
}

func TestSecretsFormatRedacts(t *testing.T) {
	m, _ := NewMaster(seq(0x00))
	s, _ := m.ContractSecrets(seq(0xa0))
	es := EpochSecret{Epoch: 7, Secret: seq(0x00)}
	secrets := []string{hex.EncodeToString(s.HPKESeed[:]), hex.EncodeToString(s.State[:]), hex.EncodeToString(s.Random[:]),
		hex.EncodeToString(s.SigningSeed[:]), hex.EncodeToString(es.Secret[:])}
	for _, v := range []any{s, *s, es, &es, []EpochSecret{es}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
			out := fmt.Sprintf(verb, v)
			for _, sec := range secrets {
				if strings.Contains(out, sec[:16]) {
					t.Fatalf("%s of %T prints a secret: %s", verb, v, out)
				}
			}
		}
	}
}
