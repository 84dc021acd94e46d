package keyderiv

import (
	"bytes"
	"crypto/hpke"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// seq returns the 32 bytes start, start+1, …, the fixed inputs of the
// vectors (master secret 00..1f, contract id a0..bf, cluster id c0..df).
func seq(start byte) (b [32]byte) {
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

// contractHPKEPublic is the X-Wing public key of contract a0..bf under
// master secret 00..1f: ML-KEM-768 encapsulation key (1184 bytes) then the
// X25519 point (32 bytes). The HKDF outputs, the DeriveKeyPair seed, the
// ed25519 keys and the X25519 point were cross-checked with an independent
// implementation (Python hmac/hashlib + pyca/cryptography); the same
// values are published in docs/vectors/envelopes.json.
const contractHPKEPublic = "" +
	"7de1138265cc7614cbead5a446519f4029c7827401b44b4c45ba6754cb69292162d3639348b72ee3f78103e623827b095448655a3bca4a6c4aea3456fb29a4bb" +
	"d4709d1b841c06c8ec0251627c2a135c500db65c5c341d1ed6ac9e80c2a55c77acc4584f6487b0598a72909c0c668836a756d0d2a72e2681dd21941f87a14407" +
	"79d8e85524e17a0683b0b71b0b985a82a5516e49003f7ef73e0361c8f3480b1ddb330a756791f72ef8e3bce39853e28a372479a14eec9a9b299a768b8d639671" +
	"99281629f351b30a6f07ca40c2767423a4318c3a8efba31d3b309217f3ad99e762f19c125af01edadc963287078ff258e9043e03bcbbb2b6666ac60d56b251f0" +
	"4ca32f772eb3804cf6d13bc0f87b38b618b1367f59541cbdb6c9ec6398e61626c436830cb88ea9e9c72f55589777b72d7693439212d34890f90893210523256c" +
	"3a501902747352d255b68dc8431faac1709b8c3393a4d7e5968015a193092763d87e153b2eba9b845eba3e79172c9d6c27160160760158e791c357c4c0edd9cf" +
	"f72c383ceab9edcb9f5d0983cfc15b980b1345030bd93a52047759c5d76f1edb9836c306053525be8069df6a75d4d68e882c5114f2a44720866fa4286bd9ca2e" +
	"e63a306c935d0ba4fa9244ca64712f07d09763bea8f419d18b68553cada378b6d37575bbe9b28c1623dadbcf969a2f3511c74e2271d5cc71af4cc0cc858a2885" +
	"1d412c91ba423b6e847a6ea9662d022899123ecfb9a3c25b1fe4cb1a5879ca15ab07ed4c94ccd10e2f03c2add3579284640ba88b83eb1ad9e91fccb747b8c640" +
	"af2c0cf9fa9214949ee7ba5d30729ee539375cebb60a3828a4e987a7c559f762c0b1938db0f06360fc5a6bb08083daa7af91060482af060112053a353104b6f8" +
	"e5c9dd0a464f582cd5c430f1d575c6dc4ebae8ac596cbe04830265a601c311050eeca950fa9869a212bc4cad42f4027fc50258cab81f686a1643287004174591" +
	"b9f7e952313186c0790f4466148e425fbcc279940114e89bc9daabbba87414c2b0a5dd89b89869381eac7f0460ce9e010e1a05cf2c3a2ea5b35bf92b6a988415" +
	"61c135d35380d354066640a5d9e409468747f7352c0b22a65e3952ec476f5f7a558243b334c478a92311e9b189a7551ade521236668b8ad71b93c205e0c36489" +
	"226f6b03512793c5e75cccbe7739841250947452ded1cc17d39b69c1a012ba90f7d4053b60a6dff6452514ab1ae70ad1b76a98094f9629b520a76921c69a96c2" +
	"c402c315d46284965a79e57408eb9cccf8d8c12a95bddea64247e7847e9312b1806340ac042e82c87b04bfa0c69036545e8d666f5be295b98c337d76bf4fe2c7" +
	"80d737a0529c23455c3289c9e4875adf6ab19b6479a1784309cacd87d20c7d2511e26b0823823d090cc0f2f5a66f70b780a0b034c615e5b14195e96a0bd1586a" +
	"83cf53d646e952141723bbfafa38aa91a2b107746043774921962f76ace1d7ca36167a92103e20aa0b4d952b0970cfa4e14bff73606f05c1bdb33abcb4cd85ea" +
	"3eab83c641003054aa1c057ab1a0a4a67504c7c0ec9e715a66ba573e8004751f370e85d33d5fc6a587f024e3611d8870b2971cab7ef2ba98b63f1ca39aa8e755" +
	"751652c542725345c53c4a362cd63bf6c91fefed0599046dd8c9d384ad463a2288d7dca33f7db32664f52fe7089ef4f22a653615139ac016cacb5fa107e76113"

func TestVectors(t *testing.T) {
	m, err := NewMaster(seq(0x00))
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := m.ClusterSecret(seq(0xc0))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := m.Contract(seq(0xa0))
	if err != nil {
		t.Fatal(err)
	}
	cseed, err := ck.HPKE.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	mk, err := m.MasterKeys()
	if err != nil {
		t.Fatal(err)
	}
	mseed, err := mk.HPKE.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	cp, mp := ck.Public(), mk.Public()
	for _, v := range []struct{ name, got, want string }{
		{"cluster secret", hex.EncodeToString(cluster[:]), "2107ce5511f69eda8371d0dc5f2f2061512a97740e65e35d47907630abbfff3f"},
		{"contract HPKE private key (X-Wing seed)", hex.EncodeToString(cseed), "ba330ae65a854b2526c6836246f5f0513be02ea8f613738c6a7234766af7b4a1"},
		{"contract HPKE public key", hex.EncodeToString(cp.HPKE), contractHPKEPublic},
		{"contract state key", hex.EncodeToString(ck.StateKey[:]), "35c13efa409e450e75a3ba56ac468a4592132a3fdc217c2b980107e405ad440d"},
		{"contract random seed", hex.EncodeToString(ck.RandomSeed[:]), "c22d41be468f8d9ab38c6cdcadb7a0780a85e5286156be6db1b6c64fc6c5feee"},
		{"contract signing key", cp.Signing.String(), "ed25519:0xcb790dd0fba486113e83bbb1c0fdbaf8e17341c80e4d51dba2055351cfc66cfc"},
		{"master HPKE private key (X-Wing seed)", hex.EncodeToString(mseed), "2b5ebdbdea707f0cc36baf32ec438c00361a2bfae83b10c540e4eca3c79153c1"},
		{"master HPKE public key X25519 part", hex.EncodeToString(mp.HPKE[1184:]), "6c0be59d2c2b030432c3cf90a0a41e594cd1260ca7d92fe52001efb757d80056"},
		{"master signing key", mp.Signing.String(), "ed25519:0xc6637884f59d5693768ed7c71e0138165781325ea1e615aa6785a92fbe38ee42"},
	} {
		if v.got != v.want {
			t.Errorf("%s:\n got  %s\n want %s", v.name, v.got, v.want)
		}
	}
	if len(cp.HPKE) != 1216 || len(mp.HPKE) != 1216 {
		t.Errorf("X-Wing public keys must be 1216 bytes, got %d and %d", len(cp.HPKE), len(mp.HPKE))
	}
	// The derived private key must be the RFC 9180 DeriveKeyPair of the
	// labelled HKDF output, reproducible by any HPKE library.
	hk, err := m.ContractHPKE(seq(0xa0))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(hk.PublicKey().Bytes(), cp.HPKE) {
		t.Error("ContractHPKE and Contract disagree")
	}
}

func TestLabels(t *testing.T) {
	id := seq(0xa0)
	hexID := "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	for _, v := range []struct{ got, want string }{
		{ClusterLabel(id), "veil/cluster/" + hexID},
		{ContractHPKELabel(id), "veil/contract/" + hexID + "/hpke"},
		{ContractStateLabel(id), "veil/contract/" + hexID + "/state"},
		{ContractRandomLabel(id), "veil/contract/" + hexID + "/random"},
		{ContractSigningLabel(id), "veil/contract/" + hexID + "/signing"},
	} {
		if v.got != v.want {
			t.Errorf("label %q, want %q", v.got, v.want)
		}
	}
}

// TestDomainSeparation checks that every output differs across labels,
// contracts and master secrets.
func TestDomainSeparation(t *testing.T) {
	m1, _ := NewMaster(seq(0x00))
	m2, _ := NewMaster(seq(0x01))
	seen := map[string]string{}
	add := func(name string, b []byte) {
		k := hex.EncodeToString(b)
		if prev, dup := seen[k]; dup {
			t.Errorf("%s equals %s", name, prev)
		}
		seen[k] = name
	}
	for mi, m := range []*Master{m1, m2} {
		for _, id := range [][32]byte{seq(0xa0), seq(0xa1)} {
			ck, err := m.Contract(id)
			if err != nil {
				t.Fatal(err)
			}
			p := ck.Public()
			tag := fmt.Sprintf("master%d/%x", mi, id[:2])
			add(tag+"/hpke", p.HPKE)
			add(tag+"/state", ck.StateKey[:])
			add(tag+"/random", ck.RandomSeed[:])
			add(tag+"/signing", p.Signing.Key[:])
			cs, _ := m.ClusterSecret(id)
			add(tag+"/cluster", cs[:])
		}
	}
}

func TestZeroSecretRefused(t *testing.T) {
	if _, err := NewMaster([32]byte{}); !errors.Is(err, ErrZeroSecret) {
		t.Fatalf("zero secret: %v", err)
	}
	if err := NewHistory().Add(1, [32]byte{}); !errors.Is(err, ErrZeroSecret) {
		t.Fatalf("zero secret in history: %v", err)
	}
}

func TestHistory(t *testing.T) {
	h := NewHistory()
	if _, _, err := h.Latest(); !errors.Is(err, ErrEmptyHistory) {
		t.Fatalf("empty Latest: %v", err)
	}
	if _, err := h.ContractHPKEKeys(seq(0xa0)); !errors.Is(err, ErrEmptyHistory) {
		t.Fatalf("empty ContractHPKEKeys: %v", err)
	}
	if err := h.Add(1, seq(0x00)); err != nil {
		t.Fatal(err)
	}
	if err := h.Add(5, seq(0x40)); err != nil {
		t.Fatal(err)
	}
	if err := h.Add(5, seq(0x80)); !errors.Is(err, ErrEpochOrder) {
		t.Fatalf("repeated epoch: %v", err)
	}
	if err := h.Add(3, seq(0x80)); !errors.Is(err, ErrEpochOrder) {
		t.Fatalf("older epoch: %v", err)
	}
	if err := h.Add(6, seq(0x00)); !errors.Is(err, ErrDuplicateSecret) {
		t.Fatalf("reused secret: %v", err)
	}
	if got := h.Epochs(); len(got) != 2 || got[0] != 1 || got[1] != 5 || h.Len() != 2 {
		t.Fatalf("epochs %v", got)
	}
	e, latest, err := h.Latest()
	if err != nil || e != 5 {
		t.Fatalf("latest %d %v", e, err)
	}
	if _, err := h.At(2); !errors.Is(err, ErrUnknownEpoch) {
		t.Fatalf("unknown epoch: %v", err)
	}
	if _, err := h.Contract(2, seq(0xa0)); !errors.Is(err, ErrUnknownEpoch) {
		t.Fatalf("unknown epoch contract: %v", err)
	}
	// Epoch 1 derives exactly what a Master of the same secret derives
	// (the vectors), and differs from epoch 5.
	old, err := h.Contract(1, seq(0xa0))
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(old.Public().HPKE); got != contractHPKEPublic {
		t.Fatal("epoch 1 contract key differs from the vector")
	}
	cur, err := latest.Contract(seq(0xa0))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(cur.Public().HPKE, old.Public().HPKE) || cur.StateKey == old.StateKey {
		t.Fatal("rotation did not change the contract keys")
	}
	keys, err := h.ContractHPKEKeys(seq(0xa0))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Epoch != 5 || keys[1].Epoch != 1 ||
		!bytes.Equal(keys[0].HPKE.PublicKey().Bytes(), cur.Public().HPKE) ||
		!bytes.Equal(keys[1].HPKE.PublicKey().Bytes(), old.Public().HPKE) {
		t.Fatal("ContractHPKEKeys: wrong order or keys")
	}
	// An old ciphertext stays readable after rotation.
	ct, err := hpke.Seal(old.HPKE.PublicKey(), hpke.HKDFSHA256(), hpke.AES256GCM(), []byte("info"), []byte("sealed under epoch 1"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := hpke.Open(keys[1].HPKE, hpke.HKDFSHA256(), hpke.AES256GCM(), []byte("info"), ct); err != nil || string(pt) != "sealed under epoch 1" {
		t.Fatalf("old ciphertext after rotation: %q %v", pt, err)
	}
	s, err := h.Secret(1)
	if err != nil || s != seq(0x00) {
		t.Fatalf("Secret(1): %v", err)
	}
	if _, err := h.Secret(9); !errors.Is(err, ErrUnknownEpoch) {
		t.Fatalf("Secret(9): %v", err)
	}
	h.Wipe()
	if _, err := h.Contract(1, seq(0xa0)); !errors.Is(err, ErrWiped) {
		t.Fatalf("after Wipe: %v", err)
	}
	if _, err := h.Secret(1); !errors.Is(err, ErrWiped) {
		t.Fatalf("Secret after Wipe: %v", err)
	}
}

func TestWipe(t *testing.T) {
	m, _ := NewMaster(seq(0x00))
	ck, err := m.Contract(seq(0xa0))
	if err != nil {
		t.Fatal(err)
	}
	ck.Wipe()
	if ck.StateKey != ([32]byte{}) || ck.RandomSeed != ([32]byte{}) || ck.HPKE != nil {
		t.Fatal("ContractKeys.Wipe left secrets")
	}
	if _, err := ck.Signing.Sign([]byte("x")); err == nil {
		t.Fatal("signing key usable after Wipe")
	}
	m.Wipe()
	if _, err := m.ClusterSecret(seq(0xc0)); !errors.Is(err, ErrWiped) {
		t.Fatalf("ClusterSecret after Wipe: %v", err)
	}
	if _, err := m.MasterKeys(); !errors.Is(err, ErrWiped) {
		t.Fatalf("MasterKeys after Wipe: %v", err)
	}
}

// TestNoSecretsInErrors checks that error texts never carry secret bytes.
func TestNoSecretsInErrors(t *testing.T) {
	secret := seq(0x00)
	h := NewHistory()
	_ = h.Add(1, secret)
	err := h.Add(2, secret)
	if err == nil || strings.Contains(err.Error(), hex.EncodeToString(secret[:])) {
		t.Fatalf("error %v", err)
	}
}

func BenchmarkContract(b *testing.B) {
	m, _ := NewMaster(seq(0x00))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Contract(seq(0xa0)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFormatRedacts checks that printing key holders with any verb never
// shows secret bytes.
func TestFormatRedacts(t *testing.T) {
	secret := seq(0x00)
	m, _ := NewMaster(secret)
	ck, _ := m.Contract(seq(0xa0))
	mk, _ := m.MasterKeys()
	h := NewHistory()
	_ = h.Add(1, secret)
	secrets := []string{hex.EncodeToString(secret[:]), hex.EncodeToString(ck.StateKey[:]), hex.EncodeToString(ck.RandomSeed[:])}
	for _, v := range []any{m, ck, *ck, mk, *mk, h, ContractKeys{}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				if strings.Contains(out, s) || strings.Contains(out, s[:16]) {
					t.Fatalf("%s of %T prints a secret: %s", verb, v, out)
				}
			}
			if strings.Contains(out, "PANIC") {
				t.Fatalf("%s of %T: %s", verb, v, out)
			}
		}
	}
}
