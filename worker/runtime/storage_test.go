package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// model is the reference semantics of Storage: a map with ordered scans.
type model map[string]string

func (m model) next(prefix, after string) (string, bool) {
	var ks []string
	for k := range m {
		if strings.HasPrefix(k, prefix) && (after == "" || k > after) {
			ks = append(ks, k)
		}
	}
	if len(ks) == 0 {
		return "", false
	}
	return slices.Min(ks), true
}

func randKey(r *rand.Rand) string {
	const alphabet = "ab/"
	n := 1 + r.IntN(4)
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func checkAgainst(t *testing.T, r *rand.Rand, want model, get func([]byte) ([]byte, bool, error), next func(p, a []byte) ([]byte, bool, error)) {
	t.Helper()
	for i := 0; i < 50; i++ {
		k := randKey(r)
		v, ok, err := get([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		if wv, wok := want[k]; ok != wok || string(v) != wv {
			t.Fatalf("get %q = %q,%v want %q,%v", k, v, ok, wv, wok)
		}
		prefix, after := randKey(r)[:r.IntN(2)], ""
		if r.IntN(2) == 0 {
			after = randKey(r)
		}
		nk, ok, err := next([]byte(prefix), []byte(after))
		if err != nil {
			t.Fatal(err)
		}
		if wk, wok := want.next(prefix, after); ok != wok || string(nk) != wk {
			t.Fatalf("next(%q, %q) = %q,%v want %q,%v", prefix, after, nk, ok, wk, wok)
		}
	}
}

func TestOverlayMatchesModel(t *testing.T) {
	for seed := uint64(0); seed < 30; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		base := NewMemStorage()
		want := model{}
		var init []Write
		for i := 0; i < 20; i++ {
			k := randKey(r)
			init = append(init, Write{Key: []byte(k), Value: []byte("base-" + k)})
			want[k] = "base-" + k
		}
		if err := base.Apply(init); err != nil {
			t.Fatal(err)
		}
		o := newOverlay(base)
		for i := 0; i < 100; i++ {
			k := randKey(r)
			if r.IntN(3) == 0 {
				o.del([]byte(k))
				delete(want, k)
			} else {
				v := fmt.Sprint("v", i)
				o.set([]byte(k), []byte(v))
				want[k] = v
			}
			checkAgainst(t, r, want, o.get, o.next)
		}
		// Committing the sorted write set yields the model.
		if err := base.Apply(o.sorted()); err != nil {
			t.Fatal(err)
		}
		checkAgainst(t, r, want, base.Get, base.Next)
		if base.Len() != len(want) {
			t.Fatalf("committed %d keys, want %d", base.Len(), len(want))
		}
	}
}

func stateKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestEncryptedStorage(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	kv := NewMemKV()
	s, err := OpenEncrypted(kv, stateKey(1))
	if err != nil {
		t.Fatal(err)
	}
	want := model{}
	for round := 0; round < 20; round++ {
		var ws []Write
		for i := 0; i < 10; i++ {
			k := randKey(r)
			if r.IntN(4) == 0 {
				ws = append(ws, Write{Key: []byte(k), Delete: true})
				delete(want, k)
			} else {
				v := fmt.Sprint("secret value ", round, i)
				ws = append(ws, Write{Key: []byte(k), Value: []byte(v)})
				want[k] = v
			}
		}
		if err := s.Apply(ws); err != nil {
			t.Fatal(err)
		}
		checkAgainst(t, r, want, s.Get, s.Next)
	}

	// Reopening rebuilds the index from ciphertext alone.
	s2, err := OpenEncrypted(kv, stateKey(1))
	if err != nil {
		t.Fatal(err)
	}
	checkAgainst(t, r, want, s2.Get, s2.Next)

	// Nothing in the KV reveals keys or values.
	err = kv.Iterate(func(k, v []byte) error {
		for pk, pv := range want {
			if len(pk) > 2 && (bytes.Contains(k, []byte(pk)) || bytes.Contains(v, []byte(pk))) {
				return fmt.Errorf("plaintext key %q visible", pk)
			}
			if bytes.Contains(v, []byte(pv)) {
				return fmt.Errorf("plaintext value %q visible", pv)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Another state key cannot open it.
	if _, err := OpenEncrypted(kv, stateKey(2)); !errors.Is(err, ErrStorage) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestEncryptedStorageDetectsTampering(t *testing.T) {
	kv := NewMemKV()
	s, err := OpenEncrypted(kv, stateKey(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply([]Write{{Key: []byte("a"), Value: []byte("1")}, {Key: []byte("b"), Value: []byte("2")}}); err != nil {
		t.Fatal(err)
	}
	ea, eb := s.entryKey([]byte("a")), s.entryKey([]byte("b"))
	ra, _, _ := kv.Get(ea)
	rb, _, _ := kv.Get(eb)

	// A flipped bit fails authentication, at open and at read.
	bad := bytes.Clone(ra)
	bad[len(bad)-1] ^= 1
	_ = kv.Write([]Write{{Key: ea, Value: bad}})
	if _, err := OpenEncrypted(kv, stateKey(1)); !errors.Is(err, ErrStorage) {
		t.Fatalf("open with a flipped bit: %v", err)
	}
	if _, _, err := s.Get([]byte("a")); !errors.Is(err, ErrStorage) {
		t.Fatalf("get with a flipped bit: %v", err)
	}
	// An authentic ciphertext moved to another slot is refused.
	_ = kv.Write([]Write{{Key: ea, Value: rb}})
	if _, _, err := s.Get([]byte("a")); !errors.Is(err, ErrStorage) {
		t.Fatalf("swapped entry: %v", err)
	}
	_ = kv.Write([]Write{{Key: ea, Value: ra}})
	if v, ok, err := s.Get([]byte("a")); err != nil || !ok || string(v) != "1" {
		t.Fatalf("restored entry: %q %v %v", v, ok, err)
	}
}

func TestEncryptedStorageIsDeterministic(t *testing.T) {
	apply := func(kv *MemKV) [32]byte {
		s, err := OpenEncrypted(kv, stateKey(3))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			if err := s.Apply([]Write{{Key: []byte(fmt.Sprint("k", i%3)), Value: []byte(fmt.Sprint("v", i))}}); err != nil {
				t.Fatal(err)
			}
		}
		d, err := s.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if apply(NewMemKV()) != apply(NewMemKV()) {
		t.Fatal("same writes, different ciphertext")
	}

	// Rolled back by the host and rewritten with a different value at the
	// same sequence number: the nonce differs (synthetic IV), so GCM
	// never reuses a nonce for different plaintext.
	kv := NewMemKV()
	s, _ := OpenEncrypted(kv, stateKey(3))
	_ = s.Apply([]Write{{Key: []byte("k"), Value: []byte("first")}})
	old := NewMemKV()
	_ = kv.Iterate(func(k, v []byte) error { return old.Write([]Write{{Key: k, Value: v}}) })
	_ = s.Apply([]Write{{Key: []byte("k"), Value: []byte("second")}})
	r1, _, _ := kv.Get(s.entryKey([]byte("k")))
	rolled, _ := OpenEncrypted(old, stateKey(3))
	_ = rolled.Apply([]Write{{Key: []byte("k"), Value: []byte("third!")}})
	r2, _, _ := old.Get(s.entryKey([]byte("k")))
	if !bytes.Equal(r1[1:9], r2[1:9]) {
		t.Fatal("test setup: sequence numbers differ")
	}
	if bytes.Equal(r1[9:21], r2[9:21]) {
		t.Fatal("nonce reused for a different plaintext")
	}
}
