package keyring

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/veil-network/veil/crypto/keys"
)

var pass = []byte("correct horse battery staple")

// testKeyring opens a keyring with cheap argon2id parameters: the format and
// the checks are what is under test, not the work factor.
func testKeyring(t *testing.T) *Keyring {
	t.Helper()
	k, err := Open(filepath.Join(t.TempDir(), "keyring"))
	if err != nil {
		t.Fatal(err)
	}
	k.kdf = kdfParams{Time: 1, MemoryKiB: 64, Threads: 1}
	return k
}

func TestAddGetRoundTrip(t *testing.T) {
	k := testKeyring(t)
	for _, tc := range []struct {
		name, uri string
		scheme    keys.Scheme
		addr      string
	}{
		{"alice", "//Alice", keys.SchemeSr25519, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"},
		{"alice-ed", "//Alice", keys.SchemeEd25519, "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu"},
		{"phrase.1", "hotel forest jar hover kite book view eight stuff angle legend defense///pw", keys.SchemeSr25519, ""},
	} {
		e, err := k.Add(tc.name, tc.uri, tc.scheme, pass)
		if err != nil {
			t.Fatalf("Add %s: %v", tc.name, err)
		}
		want, _ := keys.FromURI(tc.uri, tc.scheme)
		if e.Name != tc.name || e.Scheme != tc.scheme || e.PublicKey != want.Public() || e.Address != want.Public().Address(42) {
			t.Errorf("Add %s = %+v", tc.name, e)
		}
		if tc.addr != "" && e.Address != tc.addr {
			t.Errorf("address = %s, want %s", e.Address, tc.addr)
		}
		s, err := k.Get(tc.name, pass)
		if err != nil {
			t.Fatalf("Get %s: %v", tc.name, err)
		}
		if s.Public() != want.Public() {
			t.Errorf("Get %s public = %s, want %s", tc.name, s.Public(), want.Public())
		}
		sig, err := s.Sign([]byte("msg"))
		if err != nil || !want.Public().Verify([]byte("msg"), sig) {
			t.Errorf("signer from keyring cannot sign: %v", err)
		}
		keys.Wipe(s)

		data, err := os.ReadFile(filepath.Join(k.Dir(), tc.name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(strings.TrimPrefix(tc.uri, "//"))) || bytes.Contains(data, []byte("hotel")) {
			t.Errorf("key file contains the secret in plaintext:\n%s", data)
		}
		if !bytes.Contains(data, []byte(e.Address)) {
			t.Errorf("key file lacks the plaintext address")
		}
	}
}

func TestDefaultParameters(t *testing.T) {
	k, err := Open(filepath.Join(t.TempDir(), "keyring"))
	if err != nil {
		t.Fatal(err)
	}
	if k.kdf != (kdfParams{Time: 3, MemoryKiB: 65536, Threads: 4}) {
		t.Fatalf("default kdf = %+v", k.kdf)
	}
	if _, err := k.Add("a", "//Alice", keys.SchemeSr25519, pass); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get("a", pass); err != nil {
		t.Fatal(err)
	}
	var f file
	data, _ := os.ReadFile(filepath.Join(k.Dir(), "a.json"))
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f.KDF.Name != "argon2id" || f.KDF.kdfParams != defaultKDF() || len(f.KDF.Salt) != 16 || f.Cipher.Name != "aes-256-gcm" {
		t.Errorf("file header = %+v %+v", f.KDF, f.Cipher)
	}
}

func TestWrongPassphrase(t *testing.T) {
	k := testKeyring(t)
	if _, err := k.Add("alice", "//Alice", keys.SchemeSr25519, pass); err != nil {
		t.Fatal(err)
	}
	for _, p := range [][]byte{[]byte("wrong"), append(bytes.Clone(pass), ' '), pass[:len(pass)-1]} {
		s, err := k.Get("alice", p)
		if !errors.Is(err, ErrWrongPassphrase) || s != nil {
			t.Errorf("Get with %q: %v, %v; want ErrWrongPassphrase", p, s, err)
		}
	}
	if _, err := k.Get("alice", nil); !errors.Is(err, ErrEmptyPassphrase) {
		t.Errorf("Get with empty passphrase: %v", err)
	}
}

func TestAddErrors(t *testing.T) {
	k := testKeyring(t)
	if _, err := k.Add("alice", "//Alice", keys.SchemeSr25519, pass); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Add("alice", "//Bob", keys.SchemeSr25519, pass); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate Add: %v", err)
	}
	if s, _ := k.Get("alice", pass); s == nil || s.Public().Address(42) != "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" {
		t.Error("duplicate Add overwrote the key")
	}
	if _, err := k.Add("bob", "//Bob", keys.SchemeSr25519, nil); !errors.Is(err, ErrEmptyPassphrase) {
		t.Errorf("empty passphrase: %v", err)
	}
	if _, err := k.Add("bob", "not a phrase", keys.SchemeSr25519, pass); !errors.Is(err, keys.ErrInvalidPhrase) {
		t.Errorf("bad URI: %v", err)
	}
	if _, err := k.Add("bob", "//Bob/soft", keys.SchemeEd25519, pass); !errors.Is(err, keys.ErrSoftJunction) {
		t.Errorf("ed25519 soft junction: %v", err)
	}
	if _, err := k.Add("bob", "//Bob", "ecdsa", pass); !errors.Is(err, keys.ErrUnknownScheme) {
		t.Errorf("bad scheme: %v", err)
	}
	entries, err := k.List()
	if err != nil || len(entries) != 1 {
		t.Errorf("failed Adds left files: %v %v", entries, err)
	}
	dirents, _ := os.ReadDir(k.Dir())
	if len(dirents) != 1 {
		t.Errorf("directory has %d entries, want 1 (temporary files left?)", len(dirents))
	}
}

func TestConcurrentAdd(t *testing.T) {
	k := testKeyring(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = k.Add("race", "//Alice", keys.SchemeSr25519, pass)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrExists):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent Adds succeeded, want 1", ok)
	}
}

func TestNames(t *testing.T) {
	for _, n := range []string{"alice", "Alice_2", "my.key-1", strings.Repeat("a", 64)} {
		if err := ValidateName(n); err != nil {
			t.Errorf("ValidateName(%q) = %v", n, err)
		}
	}
	k := testKeyring(t)
	for _, n := range []string{"", "../evil", "a/b", `a\b`, ".hidden", "..", "-rf", "sp ace", "ünï", "a\x00b", strings.Repeat("a", 65)} {
		if err := ValidateName(n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v", n, err)
		}
		if _, err := k.Add(n, "//Alice", keys.SchemeSr25519, pass); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Add(%q) = %v", n, err)
		}
		if _, err := k.Get(n, pass); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Get(%q) = %v", n, err)
		}
		if err := k.Delete(n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Delete(%q) = %v", n, err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(k.Dir()), "evil.json")); err == nil {
		t.Error("path traversal wrote outside the keyring")
	}
}

func TestListAndDelete(t *testing.T) {
	k := testKeyring(t)
	entries, err := k.List()
	if err != nil || entries == nil || len(entries) != 0 {
		t.Fatalf("empty List = %#v, %v", entries, err)
	}
	for _, n := range []string{"zed", "a-b", "a", "bob"} {
		if _, err := k.Add(n, "//"+n, keys.SchemeSr25519, pass); err != nil {
			t.Fatal(err)
		}
	}
	// Files List must skip.
	_ = os.WriteFile(filepath.Join(k.Dir(), ".a.tmp-123"), []byte("x"), 0o600)
	_ = os.WriteFile(filepath.Join(k.Dir(), "notes.txt"), []byte("x"), 0o600)
	_ = os.Mkdir(filepath.Join(k.Dir(), "sub.json"), 0o700)

	entries, err = k.List()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
		want, _ := keys.FromURI("//"+e.Name, keys.SchemeSr25519)
		if e.PublicKey != want.Public() || e.Address != want.Public().Address(42) || e.Scheme != keys.SchemeSr25519 {
			t.Errorf("entry %+v does not match //%s", e, e.Name)
		}
	}
	if strings.Join(names, ",") != "a,a-b,bob,zed" {
		t.Errorf("List names = %v", names)
	}
	e, err := k.Entry("bob")
	if err != nil || e.Name != "bob" {
		t.Errorf("Entry(bob) = %+v, %v", e, err)
	}

	if err := k.Delete("bob"); err != nil {
		t.Fatal(err)
	}
	if err := k.Delete("bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
	if _, err := k.Get("bob", pass); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if _, err := k.Entry("bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Entry after Delete: %v", err)
	}
	if entries, _ := k.List(); len(entries) != 3 {
		t.Errorf("List after Delete has %d entries", len(entries))
	}
}

// mutate rewrites the JSON of a key file through f.
func mutate(t *testing.T, k *Keyring, name string, f func(m map[string]any)) {
	t.Helper()
	p := filepath.Join(k.Dir(), name+".json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	data, _ = json.Marshal(m)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedFiles(t *testing.T) {
	bob, _ := keys.FromURI("//Bob", keys.SchemeSr25519)
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		want   error
	}{
		{"ciphertext", func(m map[string]any) {
			ct := []byte(m["ciphertext"].(string))
			if ct[3] == 'A' {
				ct[3] = 'B'
			} else {
				ct[3] = 'A'
			}
			m["ciphertext"] = string(ct)
		}, ErrCorrupt},
		{"public key and address swapped for another account", func(m map[string]any) {
			m["public_key"] = bob.Public().Hex()
			m["address"] = bob.Public().Address(42)
		}, ErrCorrupt},
		{"address only", func(m map[string]any) { m["address"] = bob.Public().Address(42) }, ErrCorrupt},
		{"scheme", func(m map[string]any) { m["scheme"] = "ed25519" }, ErrCorrupt},
		{"name", func(m map[string]any) { m["name"] = "mallory" }, ErrCorrupt},
		{"version", func(m map[string]any) { m["version"] = 2 }, ErrCorrupt},
		{"unknown field", func(m map[string]any) { m["extra"] = true }, ErrCorrupt},
		{"kdf memory bomb", func(m map[string]any) { m["kdf"].(map[string]any)["memory_kib"] = 1 << 30 }, ErrCorrupt},
		{"kdf time changed", func(m map[string]any) { m["kdf"].(map[string]any)["time"] = 2 }, ErrWrongPassphrase},
		{"salt changed", func(m map[string]any) { m["kdf"].(map[string]any)["salt"] = "AAAAAAAAAAAAAAAAAAAAAA==" }, ErrWrongPassphrase},
		{"nonce changed", func(m map[string]any) { m["cipher"].(map[string]any)["nonce"] = "AAAAAAAAAAAAAAAA" }, ErrCorrupt},
		{"check removed", func(m map[string]any) { delete(m, "check") }, ErrCorrupt},
		{"not json", nil, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := testKeyring(t)
			if _, err := k.Add("alice", "//Alice", keys.SchemeSr25519, pass); err != nil {
				t.Fatal(err)
			}
			if tt.mutate == nil {
				if err := os.WriteFile(filepath.Join(k.Dir(), "alice.json"), []byte("{garbage"), 0o600); err != nil {
					t.Fatal(err)
				}
			} else {
				mutate(t, k, "alice", tt.mutate)
			}
			s, err := k.Get("alice", pass)
			if !errors.Is(err, tt.want) || s != nil {
				t.Fatalf("Get = %v, %v; want %v", s, err, tt.want)
			}
		})
	}

	// A file copied under another name is refused.
	k := testKeyring(t)
	if _, err := k.Add("alice", "//Alice", keys.SchemeSr25519, pass); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(k.Dir(), "alice.json"))
	_ = os.WriteFile(filepath.Join(k.Dir(), "bob.json"), data, 0o600)
	if _, err := k.Get("bob", pass); !errors.Is(err, ErrCorrupt) {
		t.Errorf("renamed file: %v", err)
	}
	if _, err := k.List(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("List with a renamed file: %v", err)
	}
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits")
	}
	k := testKeyring(t)
	if _, err := k.Add("alice", "//Alice", keys.SchemeSr25519, pass); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(k.Dir(), "alice.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	di, err := os.Stat(k.Dir())
	if err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("keyring dir mode = %v, %v; want 0700", di.Mode(), err)
	}

	p := filepath.Join(k.Dir(), "alice.json")
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Get("alice", pass); !errors.Is(err, ErrPermissions) {
		t.Errorf("Get of a 0644 file: %v", err)
	}
	_ = os.Chmod(p, 0o600)

	if err := os.Chmod(k.Dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(k.Dir()); !errors.Is(err, ErrPermissions) {
		t.Errorf("Open of a 0755 directory: %v", err)
	}

	// A symlink in place of a key file is refused.
	k2 := testKeyring(t)
	if err := os.Symlink(p, filepath.Join(k2.Dir(), "link.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := k2.Get("link", pass); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get of a symlink: %v", err)
	}

	f := filepath.Join(t.TempDir(), "file")
	_ = os.WriteFile(f, nil, 0o600)
	if _, err := Open(f); err == nil {
		t.Error("Open of a regular file succeeded")
	}
	if _, err := Open(""); err == nil {
		t.Error("Open of an empty path succeeded")
	}
}

// BenchmarkUnlock measures the argon2id cost of unlocking a key with the
// default parameters (what a user waits for on every signing command).
func BenchmarkUnlock(b *testing.B) {
	kdf := fileKDF{Name: kdfName, kdfParams: defaultKDF(), Salt: make([]byte, saltSize)}
	for b.Loop() {
		if _, _, err := deriveKeys(pass, kdf); err != nil {
			b.Fatal(err)
		}
	}
}
