package keys

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	schnorrkel "github.com/ChainSafe/go-schnorrkel"
	"github.com/veil-network/veil/crypto/ss58"
	"golang.org/x/crypto/blake2b"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func mustURI(t testing.TB, uri string, scheme Scheme) Signer {
	t.Helper()
	s, err := FromURI(uri, scheme)
	if err != nil {
		t.Fatalf("FromURI(%q, %s): %v", uri, scheme, err)
	}
	return s
}

// Substrate's well-known development accounts (sp-keyring, chain specs).
func TestDevAccounts(t *testing.T) {
	tests := []struct {
		uri    string
		scheme Scheme
		addr   string
		pub    string // optional
	}{
		{"//Alice", SchemeSr25519, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"},
		{"//Bob", SchemeSr25519, "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", "0x8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48"},
		{"//Charlie", SchemeSr25519, "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y", ""},
		{"//Dave", SchemeSr25519, "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy", ""},
		{"//Eve", SchemeSr25519, "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw", ""},
		{"//Ferdie", SchemeSr25519, "5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL", ""},
		{"//Alice//stash", SchemeSr25519, "5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY", "0xbe5ddb1579b72e84524fc29e78609e3caf42e85aa118ebfe0b0ad404b5bdd25f"},
		{"//Bob//stash", SchemeSr25519, "5HpG9w8EBLe5XCrbczpwq5TSXvedjrBGCwqxK1iQ7qUsSWFc", ""},
		{"//Charlie//stash", SchemeSr25519, "5Ck5SLSHYac6WFt5UZRSsdJjwmpSZq85fd5TRNAdZQVzEAPT", ""},
		{DevPhrase + "//Alice", SchemeSr25519, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", ""},
		// sp-core: DEV_ADDRESS is the root key of DEV_PHRASE.
		{DevPhrase, SchemeSr25519, "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV", ""},
		// sp-core derive_soft_known_pair_should_work.
		{DevPhrase + "/Alice", SchemeSr25519, "", "0xd6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e"},
		{"/Alice", SchemeSr25519, "", "0xd6c71059dbbe9ad2b0ed3f289738b800836eb425544ce694825285b958ca755e"},
		// ed25519 dev keys (GRANDPA authorities of Substrate dev chains).
		{"//Alice", SchemeEd25519, "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu", "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"},
		{"//Bob", SchemeEd25519, "5GoNkf6WdbxCFnPdAnYYQyCjAKPJgLNxXwPjwTh6DGg6gN3E", ""},
		{"//Charlie", SchemeEd25519, "5DbKjhNLpqX3zqZdNBc9BGb4fHU1cRBaDhJUskrvkwfraDi6", ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.scheme)+tt.uri, func(t *testing.T) {
			s := mustURI(t, tt.uri, tt.scheme)
			if tt.addr != "" {
				if got := s.Public().Address(ss58.SubstratePrefix); got != tt.addr {
					t.Errorf("address = %s, want %s", got, tt.addr)
				}
			}
			if tt.pub != "" {
				if got := s.Public().Hex(); got != tt.pub {
					t.Errorf("public key = %s, want %s", got, tt.pub)
				}
			}
			if s.Public().Scheme != tt.scheme {
				t.Errorf("scheme = %s", s.Public().Scheme)
			}
		})
	}
}

// Vectors from the subkey README, sp-core tests and subkey output quoted in
// public documentation; they pin substrate-bip39, passwords and seeds.
func TestSubstrateVectors(t *testing.T) {
	tests := []struct {
		name, uri string
		scheme    Scheme
		seed      string // expected root seed ("Secret seed"), optional
		pub       string
		addr      string // prefix 42, optional
	}{
		{"subkey readme phrase", "hotel forest jar hover kite book view eight stuff angle legend defense", SchemeSr25519,
			"0xa05c75731970cc7868a2fb7cb577353cd5b31f62dccced92c441acd8fee0c92d",
			"0xfec70cfbf1977c6965b5af10a4534a6a35d548eb14580594d0bc543286892515", "5Hpm9fq3W3dQgwWpAwDS2ZHKAdnk86QRCu7iX4GnmDxycrte"},
		{"subkey readme seed", "0xa05c75731970cc7868a2fb7cb577353cd5b31f62dccced92c441acd8fee0c92d", SchemeSr25519, "",
			"0xfec70cfbf1977c6965b5af10a4534a6a35d548eb14580594d0bc543286892515", "5Hpm9fq3W3dQgwWpAwDS2ZHKAdnk86QRCu7iX4GnmDxycrte"},
		{"subkey readme password", "soup lyrics media market way crouch elevator put moon useful question wide///extra_secret", SchemeSr25519,
			"0xe7cfd179d6537a676cb94bac3b5c5c9cb1550e846ac4541040d077dfbac2e7fd",
			"0xf6a233c3e1de1a2ae0486100b460b3ce3d7231ddfe9dadabbd35ab968c70905d", "5He5pZpc7AJ8evPuab37vJF6KkFDqq9uDq2WXh877Qw6iaVC"},
		{"subkey readme no password", "soup lyrics media market way crouch elevator put moon useful question wide", SchemeSr25519, "",
			"", "5Fe4sqj2K4fRuzEGvToi4KATqZfiDU7TqynjXG6PZE2dxwyh"},
		{"subkey gist phrase", "favorite liar zebra assume hurt cage any damp inherit rescue delay panic", SchemeSr25519,
			"0x235c69907d33b85f27bd78e73ff5d0c67bd4894515cc30c77f4391859bc1a3f2",
			"0x6ce96ae5c300096b09dbd4567b0574f6a1281ae0e5cfe4f6b0233d1821f6206b", "5EXWNJuoProc7apm1JS8m9RTqV3vVwR9dCg6sQVpKnoHtJ68"},
		{"sp-core sr test vector", "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", SchemeSr25519, "",
			"0x44a996beb1eef7bdcab976ab6d2ca26104834164ecf28fb375600576fcc6eb0f", ""},
		{"sp-core sr seeded pair", "0x" + hex.EncodeToString([]byte("12345678901234567890123456789012")), SchemeSr25519, "",
			"0x741c08a06f41c596608f6774259bd9043304adfa5d3eea62760bd9be97634d63", ""},
		{"sp-core ed test vector (RFC 8032 test 1)", "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", SchemeEd25519, "",
			"0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", ""},
		{"sp-core ed seeded pair", "0x" + hex.EncodeToString([]byte("12345678901234567890123456789012")), SchemeEd25519, "",
			"0x2f8c6129d816cf51c374bc7f08c3e63ed156cf78aefb4a6550d97b87997977ee", ""},
		// The password does not apply to hex seeds, as in Substrate.
		{"seed ignores password", "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60///pw", SchemeEd25519, "",
			"0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.seed != "" {
				u, err := parseURI(tt.uri)
				if err != nil {
					t.Fatal(err)
				}
				seed, err := rootSeed(u)
				if err != nil {
					t.Fatal(err)
				}
				if got := "0x" + hex.EncodeToString(seed[:]); got != tt.seed {
					t.Errorf("seed = %s, want %s", got, tt.seed)
				}
			}
			s := mustURI(t, tt.uri, tt.scheme)
			if tt.pub != "" && s.Public().Hex() != tt.pub {
				t.Errorf("public = %s, want %s", s.Public().Hex(), tt.pub)
			}
			if tt.addr != "" && s.Public().Address(42) != tt.addr {
				t.Errorf("address = %s, want %s", s.Public().Address(42), tt.addr)
			}
		})
	}
}

func TestDefaultPhraseWithPassword(t *testing.T) {
	// sp-core default_phrase_should_be_used.
	a := mustURI(t, "//Alice///password", SchemeSr25519).Public()
	b := mustURI(t, DevPhrase+"//Alice///password", SchemeSr25519).Public()
	if a != b {
		t.Errorf("//Alice///password = %s, DevPhrase//Alice///password = %s", a, b)
	}
	if alice := mustURI(t, "//Alice", SchemeSr25519).Public(); a == alice {
		t.Error("password did not change the key")
	}
	// An empty password is no password (substrate-bip39 salt "mnemonic").
	if got := mustURI(t, "//Alice///", SchemeSr25519).Public(); got.Address(42) != "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" {
		t.Errorf("//Alice/// = %s", got.Address(42))
	}
}

// Soft derivation of a secret key must agree with soft derivation of its
// public key, and numeric junctions must be SCALE u64s: the expected values
// are subkey's output for "12mzv68…/0" and "…/1" (public derivation).
func TestSoftDerivationVectors(t *testing.T) {
	raw, prefix, err := ss58.Decode("12mzv68gS8Zu2iEdt4Ktkt48JZSKyFSkAVjvtgYhoa42NLNa")
	if err != nil || prefix != 0 {
		t.Fatalf("decode: %v, prefix %d", err, prefix)
	}
	var key [32]byte
	copy(key[:], raw)
	for path, want := range map[string]string{
		"0": "40f22875159420aca51178d1baf2912c18dcb83737dd7bd39dc6743da326dd1c",
		"1": "c62ec5cd7d83e1f41462d455bb47b6bad9ed5a14741a920ead8366c63746391b",
	} {
		pk, err := schnorrkel.NewPublicKey(key)
		if err != nil {
			t.Fatal(err)
		}
		ek, err := schnorrkel.DeriveKeySimple(pk, nil, newJunction(path, false).chainCode)
		if err != nil {
			t.Fatal(err)
		}
		child, _ := ek.Public()
		if got := child.Encode(); hex.EncodeToString(got[:]) != want {
			t.Errorf("/%s = %x, want %s", path, got, want)
		}
	}

	// Secret-side soft derivation matches public-side (sp-core
	// derive_soft_public_should_work).
	root := mustURI(t, "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", SchemeSr25519).Public()
	for _, path := range []string{"1", "DOT", "0123456789012345678901234567890123456789"} {
		pk, _ := schnorrkel.NewPublicKey(root.Key)
		ek, err := schnorrkel.DeriveKeySimple(pk, nil, newJunction(path, false).chainCode)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := ek.Public()
		got := mustURI(t, "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60/"+path, SchemeSr25519).Public()
		if got.Key != want.Encode() {
			t.Errorf("/%s: secret derivation %s != public derivation %x", path, got, want.Encode())
		}
	}
}

func TestDerivationProperties(t *testing.T) {
	seed := "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	for _, scheme := range []Scheme{SchemeSr25519, SchemeEd25519} {
		h1 := mustURI(t, seed+"//1", scheme).Public()
		h1b := mustURI(t, seed+"//1", scheme).Public()
		h2 := mustURI(t, seed+"//2", scheme).Public()
		plus := mustURI(t, seed+"//+1", scheme).Public()   // Rust's u64 parser accepts '+'
		zeros := mustURI(t, seed+"//001", scheme).Public() // and leading zeros
		str := mustURI(t, seed+"//x1", scheme).Public()
		if h1 != h1b || h1 == h2 || h1 != plus || h1 != zeros || h1 == str {
			t.Errorf("%s: hard derivation not deterministic/distinct: %s %s %s %s %s %s", scheme, h1, h1b, h2, plus, zeros, str)
		}
	}
	soft1 := mustURI(t, seed+"/1", SchemeSr25519).Public()
	hard1 := mustURI(t, seed+"//1", SchemeSr25519).Public()
	if soft1 == hard1 {
		t.Error("soft and hard junctions give the same key")
	}
	if _, err := FromURI(seed+"/1", SchemeEd25519); !errors.Is(err, ErrSoftJunction) {
		t.Errorf("ed25519 soft junction: err = %v, want ErrSoftJunction", err)
	}
	if _, err := FromURI("//Alice/soft", SchemeEd25519); !errors.Is(err, ErrSoftJunction) {
		t.Errorf("ed25519 soft junction: err = %v, want ErrSoftJunction", err)
	}
}

func TestJunctionEncoding(t *testing.T) {
	pad := func(b ...byte) [32]byte {
		var cc [32]byte
		copy(cc[:], b)
		return cc
	}
	long := "0123456789012345678901234567890123456789" // 40 digits: overflows u64, so a string
	longEnc := append([]byte{40 << 2}, long...)
	long32 := strings.Repeat("a", 31) // compact(31) + 31 bytes = 32: padded, not hashed
	long33 := strings.Repeat("a", 32) // 33 bytes: hashed
	tests := []struct {
		code string
		want [32]byte
	}{
		{"0", pad()},
		{"1", pad(1)},
		{"+1", pad(1)},
		{"256", pad(0, 1)},
		{"18446744073709551615", pad(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
		{"18446744073709551616", hashOrPad(append([]byte{20 << 2}, "18446744073709551616"...))},
		{"-1", pad(2<<2, '-', '1')},
		{"+", pad(1<<2, '+')},
		{"DOT", pad(3<<2, 'D', 'O', 'T')},
		{"Alice", pad(5<<2, 'A', 'l', 'i', 'c', 'e')},
		{long, hashOrPad(longEnc)},
		{long32, pad(append([]byte{31 << 2}, long32...)...)},
		{long33, hashOrPad(append([]byte{32 << 2}, long33...))},
	}
	for _, tt := range tests {
		if got := newJunction(tt.code, true).chainCode; got != tt.want {
			t.Errorf("junction %q = %x, want %x", tt.code, got, tt.want)
		}
	}
	if hashOrPad(append([]byte{32 << 2}, long33...)) == pad(append([]byte{32 << 2}, long33...)...) {
		t.Error("hashOrPad did not hash a 33-byte encoding")
	}
}

func TestCompact(t *testing.T) {
	tests := []struct {
		n    uint64
		want string
	}{
		{0, "00"}, {1, "04"}, {63, "fc"}, {64, "0101"}, {16383, "fdff"}, {16384, "02000100"},
		{1<<30 - 1, "feffffff"}, {1 << 30, "0300000040"}, {1<<64 - 1, "13ffffffffffffffff"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(appendCompact(nil, tt.n)); got != tt.want {
			t.Errorf("compact(%d) = %s, want %s", tt.n, got, tt.want)
		}
	}
}

// hashOrPad is the spec of junction chain codes, written independently of
// newJunction for the test.
func hashOrPad(enc []byte) [32]byte {
	var cc [32]byte
	if len(enc) > 32 {
		return blake2b256(enc)
	}
	copy(cc[:], enc)
	return cc
}

func TestParseURI(t *testing.T) {
	// Grammar cases from Substrate's AddressUri tests; phrase "" means the
	// dev phrase was substituted.
	tests := []struct {
		in       string
		ok       bool
		phrase   string
		paths    []string // "h:x" hard, "s:x" soft
		password string
	}{
		{"///", true, DevPhrase, nil, ""},
		{"////////", true, DevPhrase, nil, "/////"},
		{"sdasd///asda", true, "sdasd", nil, "asda"},
		{"sdasd//asda", true, "sdasd", []string{"h:asda"}, ""},
		{"sdasd//a", true, "sdasd", []string{"h:a"}, ""},
		{"sdasd//", false, "", nil, ""},
		{"sdasd/xx//asda", true, "sdasd", []string{"s:xx", "h:asda"}, ""},
		{"sdasd/xx//a/b//c///pass", true, "sdasd", []string{"s:xx", "h:a", "s:b", "h:c"}, "pass"},
		{"sdasd/xx//", false, "", nil, ""},
		{"sdasd/", false, "", nil, ""},
		{"sdasd", true, "sdasd", nil, ""},
		{"sd.asd", false, "", nil, ""},
		{"sd.asd/asd.a", false, "", nil, ""},
		{"sdasd/asd.a", true, "sdasd", []string{"s:asd.a"}, ""},
		{"sdasd//asd.a", true, "sdasd", []string{"h:asd.a"}, ""},
		{"///\n", false, "", nil, ""},
		{"///a\n", false, "", nil, ""},
		{"hello world/s//h///pass", true, "hello world", []string{"s:s", "h:h"}, "pass"},
		{"hello world///pass/with//slashes", true, "hello world", nil, "pass/with//slashes"},
		{"//Alice", true, DevPhrase, []string{"h:Alice"}, ""},
		{"", false, "", nil, ""},
		{"caf\u00e9", false, "", nil, ""},
		{"tab\tseparated", false, "", nil, ""},
	}
	for _, tt := range tests {
		u, err := parseURI(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("parseURI(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidURI) {
				t.Errorf("parseURI(%q) err = %v, want ErrInvalidURI", tt.in, err)
			}
			continue
		}
		if u.phrase != tt.phrase || u.password != tt.password || len(u.junctions) != len(tt.paths) {
			t.Errorf("parseURI(%q) = phrase %q, password %q, %d junctions", tt.in, u.phrase, u.password, len(u.junctions))
			continue
		}
		for i, p := range tt.paths {
			kind, code, _ := strings.Cut(p, ":")
			want := newJunction(code, kind == "h")
			if u.junctions[i] != want {
				t.Errorf("parseURI(%q) junction %d = %+v, want %s", tt.in, i, u.junctions[i], p)
			}
		}
	}
}

func TestFromURIErrors(t *testing.T) {
	tests := []struct {
		uri    string
		scheme Scheme
		want   error
	}{
		{"//Alice", Scheme("ecdsa"), ErrUnknownScheme},
		{"", SchemeSr25519, ErrInvalidURI},
		{strings.Repeat("a", maxURILen+1), SchemeSr25519, ErrInvalidURI},
		{"0x1234", SchemeSr25519, ErrInvalidSeed},
		{"0x" + strings.Repeat("zz", 32), SchemeSr25519, ErrInvalidSeed},
		{"0x" + strings.Repeat("00", 33), SchemeEd25519, ErrInvalidSeed},
		{"hello world", SchemeSr25519, ErrInvalidPhrase},
		{"bottom drive obey lake curtain smoke basket hold race lonely fit", SchemeSr25519, ErrInvalidPhrase},
		{"bottom drive obey lake curtain smoke basket hold race lonely walk fit", SchemeSr25519, ErrInvalidPhrase},
		{"Bottom drive obey lake curtain smoke basket hold race lonely fit walk", SchemeSr25519, ErrInvalidPhrase},
		{"bottom drive obey lake curtain smoke basket hold race lonely fit walk!", SchemeSr25519, ErrInvalidURI},
	}
	for _, tt := range tests {
		s, err := FromURI(tt.uri, tt.scheme)
		if !errors.Is(err, tt.want) || s != nil {
			t.Errorf("FromURI(%.40q, %s) = %v, %v; want %v", tt.uri, tt.scheme, s, err, tt.want)
		}
	}
}

// Error text ends up in logs and terminals: it must never echo the secret.
func TestErrorsDoNotLeakSecrets(t *testing.T) {
	for _, uri := range []string{
		"bottom drive obey lake curtain smoke basket hold race lonely fit wallk",
		"bottom drive obey lake curtain smoke basket hold race lonely walk fit///hunter2secret",
		"0xdeadbeefcafe///hunter2secret",
		"secretword$//x",
	} {
		_, err := FromURI(uri, SchemeSr25519)
		if err == nil {
			t.Fatalf("FromURI(%q) succeeded", uri)
		}
		msg := err.Error()
		for _, w := range []string{"lonely", "wallk", "walk", "hunter2secret", "deadbeef", "secretword"} {
			if strings.Contains(msg, w) {
				t.Errorf("error %q leaks %q", msg, w)
			}
		}
	}
}

func TestParseScheme(t *testing.T) {
	for in, want := range map[string]Scheme{"sr25519": SchemeSr25519, " ED25519 ": SchemeEd25519, "Sr25519": SchemeSr25519} {
		if got, err := ParseScheme(in); err != nil || got != want {
			t.Errorf("ParseScheme(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "ecdsa", "sr"} {
		if _, err := ParseScheme(in); !errors.Is(err, ErrUnknownScheme) {
			t.Errorf("ParseScheme(%q) err = %v", in, err)
		}
	}
}

func TestPublicKey(t *testing.T) {
	alice := mustURI(t, "//Alice", SchemeSr25519).Public()
	if alice.String() != "sr25519:0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d" {
		t.Errorf("String = %s", alice)
	}
	p, err := NewPublicKey(SchemeSr25519, alice.Bytes())
	if err != nil || p != alice {
		t.Errorf("NewPublicKey round trip: %v, %v", p, err)
	}
	if _, err := NewPublicKey(SchemeSr25519, make([]byte, 31)); !errors.Is(err, ErrInvalidPublic) {
		t.Errorf("short key: %v", err)
	}
	if _, err := NewPublicKey(SchemeSr25519, bytes.Repeat([]byte{0xff}, 32)); !errors.Is(err, ErrInvalidPublic) {
		t.Errorf("non-canonical ristretto: %v", err)
	}
	if _, err := NewPublicKey("rsa", alice.Bytes()); !errors.Is(err, ErrUnknownScheme) {
		t.Errorf("unknown scheme: %v", err)
	}
	got, err := ParseAddress("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", SchemeSr25519, 42)
	if err != nil || got != alice {
		t.Errorf("ParseAddress = %v, %v", got, err)
	}
	if _, err := ParseAddress("15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5", SchemeSr25519, 42); !errors.Is(err, ss58.ErrPrefixMismatch) {
		t.Errorf("ParseAddress wrong network: %v", err)
	}
	if !(PublicKey{}).IsZero() || alice.IsZero() {
		t.Error("IsZero")
	}
}

// A signature produced by subkey (Rust schnorrkel, "substrate" context),
// from the subkey README: `echo -n hello | subkey sign --suri 0xa05c…`.
func TestSr25519KnownSignature(t *testing.T) {
	pub, err := NewPublicKey(SchemeSr25519, mustHex(t, "fec70cfbf1977c6965b5af10a4534a6a35d548eb14580594d0bc543286892515"))
	if err != nil {
		t.Fatal(err)
	}
	sig := mustHex(t, "9201af3788ad4f986b800853c79da47155f2e08fde2070d866be4c27ab060466fea0623dc2b51f4392f4c61f25381a62848dd66c5d8217fae3858e469ebd668c")
	if !pub.Verify([]byte("hello"), sig) {
		t.Fatal("subkey signature does not verify")
	}
	if pub.Verify([]byte("hello\n"), sig) {
		t.Error("signature verifies for a different message")
	}
	bad := bytes.Clone(sig)
	bad[10] ^= 1
	if pub.Verify([]byte("hello"), bad) {
		t.Error("tampered signature verifies")
	}
}

// Signatures without the schnorrkel marker bit (schnorrkel < 0.8) are
// rejected, as by sp-core's verify (vectors from sp-core's tests).
func TestSr25519RejectsUnmarkedSignatures(t *testing.T) {
	zero := mustURI(t, "0x"+strings.Repeat("00", 32), SchemeSr25519).Public()
	sig := mustHex(t, "28a854d54903e056f89581c691c1f7d2ff39f8f896c9e9c22475e60902cc2b3547199e0e91fa32902028f2ca2355e8cdd16cfe19ba5e8b658c94aa80f3b81a00")
	if zero.Verify([]byte("SUBSTRATE"), sig) {
		t.Error("unmarked signature accepted")
	}
	pub, _ := NewPublicKey(SchemeSr25519, mustHex(t, "b4bfa1f7a5166695eb75299fd1c4c03ea212871c342f2c5dfea0902b2c246918"))
	sig = mustHex(t, "5a9755f069939f45d96aaf125cf5ce7ba1db998686f87f2fb3cbdea922078741a73891ba265f70c31436e18a9acd14d189d73c12317ab6c313285cd938453202")
	if pub.Verify([]byte("Verifying that I am the owner of 5G9hQLdsKQswNPgB499DeA5PkFBbgkLPJWkkS6FAM6xGQ8xD. Hash: 221455a3\n"), sig) {
		t.Error("unmarked signature accepted")
	}
}

// RFC 8032 test 1, via sp-core's ed25519 test_vector_should_work.
func TestEd25519KnownSignature(t *testing.T) {
	s := mustURI(t, "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", SchemeEd25519)
	sig, err := s.Sign(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
	if hex.EncodeToString(sig) != want {
		t.Errorf("signature = %x, want %s", sig, want)
	}
	if !s.Public().Verify(nil, sig) {
		t.Error("does not verify")
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	msg := []byte("veil/test/v1\x00transfer 10 to bob")
	for _, scheme := range []Scheme{SchemeSr25519, SchemeEd25519} {
		t.Run(string(scheme), func(t *testing.T) {
			s := mustURI(t, "//Alice", scheme)
			other := mustURI(t, "//Bob", scheme).Public()
			sig, err := s.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			if len(sig) != SignatureSize {
				t.Fatalf("signature is %d bytes", len(sig))
			}
			if !s.Public().Verify(msg, sig) {
				t.Fatal("valid signature rejected")
			}
			tampered := bytes.Clone(msg)
			tampered[len(tampered)-1] ^= 1
			if s.Public().Verify(tampered, sig) {
				t.Error("tampered message accepted")
			}
			for _, i := range []int{0, 31, 32, 62} {
				bad := bytes.Clone(sig)
				bad[i] ^= 4
				if s.Public().Verify(msg, bad) {
					t.Errorf("signature with byte %d flipped accepted", i)
				}
			}
			if other.Verify(msg, sig) {
				t.Error("signature accepted for another key")
			}
			wrongScheme := s.Public()
			if scheme == SchemeSr25519 {
				wrongScheme.Scheme = SchemeEd25519
			} else {
				wrongScheme.Scheme = SchemeSr25519
			}
			if wrongScheme.Verify(msg, sig) {
				t.Error("signature accepted under the other scheme")
			}
			if s.Public().Verify(msg, sig[:63]) || s.Public().Verify(msg, append(bytes.Clone(sig), 0)) {
				t.Error("wrong-length signature accepted")
			}
			if (PublicKey{Scheme: "x", Key: s.Public().Key}).Verify(msg, sig) {
				t.Error("unknown scheme verified")
			}
		})
	}
}

// Cross-check against go-schnorrkel used directly in Substrate's
// "substrate" context, in both directions.
func TestSr25519CrossCheckSchnorrkel(t *testing.T) {
	var seed [32]byte
	copy(seed[:], mustHex(t, "a05c75731970cc7868a2fb7cb577353cd5b31f62dccced92c441acd8fee0c92d"))
	ours := NewSr25519FromSeed(seed)
	msk, _ := schnorrkel.NewMiniSecretKeyFromRaw(seed)
	sk := msk.ExpandEd25519()
	pk := msk.Public()
	if pk.Encode() != ours.Public().Key {
		t.Fatal("public keys differ")
	}
	msg := []byte("cross-check")

	sig, err := ours.Sign(msg)
	if err != nil {
		t.Fatal(err)
	}
	var raw [64]byte
	copy(raw[:], sig)
	var s schnorrkel.Signature
	if err := s.Decode(raw); err != nil {
		t.Fatal(err)
	}
	if ok, err := pk.Verify(&s, schnorrkel.NewSigningContext([]byte("substrate"), msg)); err != nil || !ok {
		t.Errorf("go-schnorrkel rejects our signature: %v", err)
	}
	if ok, _ := pk.Verify(&s, schnorrkel.NewSigningContext([]byte("veil"), msg)); ok {
		t.Error("signature verifies in another signing context")
	}

	theirs, err := sk.Sign(schnorrkel.NewSigningContext([]byte("substrate"), msg))
	if err != nil {
		t.Fatal(err)
	}
	enc := theirs.Encode()
	if !ours.Public().Verify(msg, enc[:]) {
		t.Error("we reject go-schnorrkel's signature")
	}
	other, _ := sk.Sign(schnorrkel.NewSigningContext([]byte("other"), msg))
	enc = other.Encode()
	if ours.Public().Verify(msg, enc[:]) {
		t.Error("signature from another context accepted")
	}
}

func TestEd25519CrossCheckStdlib(t *testing.T) {
	s := mustURI(t, "//Alice", SchemeEd25519)
	msg := []byte("cross-check")
	sig, _ := s.Sign(msg)
	pub := s.Public()
	if !ed25519.Verify(pub.Key[:], msg, sig) {
		t.Error("crypto/ed25519 rejects our signature")
	}
}

// ZIP-215 accepts a signature by a small-order key that RFC 8032's
// cofactorless check (crypto/ed25519) rejects; single and batch
// verification must agree on it.
func TestEd25519ZIP215(t *testing.T) {
	// A point of order 8 and the identity as R, S = 0: [8]([S]B - R - [k]A)
	// is the identity for every message, so ZIP-215 accepts.
	pub, err := NewPublicKey(SchemeEd25519, mustHex(t, "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"))
	if err != nil {
		t.Fatal(err)
	}
	sig := append(mustHex(t, "0100000000000000000000000000000000000000000000000000000000000000"), make([]byte, 32)...)
	var msg []byte
	for i := 0; ; i++ {
		msg = []byte(fmt.Sprintf("zip215 %d", i))
		if !ed25519.Verify(pub.Key[:], msg, sig) {
			break // a message whose challenge is not a multiple of 8
		}
	}
	if !pub.Verify(msg, sig) {
		t.Fatal("ZIP-215 signature rejected by single verification")
	}
	var bv BatchVerifier
	good := mustURI(t, "//Alice", SchemeEd25519)
	goodSig, _ := good.Sign(msg)
	_ = bv.Add(pub, msg, sig)
	_ = bv.Add(good.Public(), msg, goodSig)
	if all, valid := bv.Verify(); !all || !valid[0] || !valid[1] {
		t.Errorf("batch = %v %v, want all valid like single verification", all, valid)
	}
}

func TestPhrases(t *testing.T) {
	list := wordlist()
	if len(list) != 2048 {
		t.Fatalf("wordlist has %d words", len(list))
	}
	for i, w := range list {
		if len(w) > maxWordLen || (i > 0 && list[i-1] >= w) {
			t.Fatalf("wordlist not sorted/bounded at %d (%q)", i, w)
		}
		if idx, ok := wordIndex(w); !ok || idx != i {
			t.Fatalf("wordIndex(%q) = %d, %v", w, idx, ok)
		}
	}
	for _, w := range []string{"", "abando", "abandonn", "zooo", "Abandon", "averyverylongword", "abandon\x00", "zoo\x00"} {
		if _, ok := wordIndex(w); ok {
			t.Errorf("wordIndex(%q) found", w)
		}
	}

	// BIP39 reference vectors (trezor/python-mnemonic vectors.json).
	vectors := []struct{ entropy, phrase string }{
		{"00000000000000000000000000000000", "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"},
		{"7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f", "legal winner thank year wave sausage worth useful legal winner thank yellow"},
		{"80808080808080808080808080808080", "letter advice cage absurd amount doctor acoustic avoid letter advice cage above"},
		{"ffffffffffffffffffffffffffffffff", "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong"},
		{"000000000000000000000000000000000000000000000000", "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon agent"},
		{"0000000000000000000000000000000000000000000000000000000000000000", "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art"},
		{"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote"},
		{"9e885d952ad362caeb4efe34a8e91bd2", "ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic"},
	}
	for _, v := range vectors {
		ent := mustHex(t, v.entropy)
		got, err := phraseFromEntropy(ent)
		if err != nil || got != v.phrase {
			t.Errorf("phraseFromEntropy(%s) = %q, %v", v.entropy, got, err)
		}
		back, err := entropyFromPhrase("  " + strings.ReplaceAll(v.phrase, " ", " \t ") + "\n")
		if err != nil || !bytes.Equal(back, ent) {
			t.Errorf("entropyFromPhrase(%q) = %x, %v", v.phrase, back, err)
		}
	}

	for _, n := range []int{12, 15, 18, 21, 24} {
		p, err := GeneratePhrase(n)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(strings.Fields(p)); got != n {
			t.Errorf("GeneratePhrase(%d) has %d words", n, got)
		}
		if err := ValidatePhrase(p); err != nil {
			t.Errorf("generated phrase invalid: %v", err)
		}
		if _, err := FromURI(p+"//0", SchemeSr25519); err != nil {
			t.Errorf("generated phrase unusable: %v", err)
		}
	}
	for _, n := range []int{0, 11, 13, 27} {
		if _, err := GeneratePhrase(n); err == nil {
			t.Errorf("GeneratePhrase(%d) succeeded", n)
		}
	}
	if err := ValidatePhrase("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon"); !errors.Is(err, ErrInvalidPhrase) {
		t.Errorf("bad checksum: %v", err)
	}
	if err := ValidatePhrase("abandon\x00 abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"); !errors.Is(err, ErrInvalidPhrase) {
		t.Errorf("NUL-padded word accepted: %v", err)
	}
}

func TestSignerDoesNotPrintSecrets(t *testing.T) {
	seedHex := "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	var seed [32]byte
	copy(seed[:], mustHex(t, seedHex))
	sr := NewSr25519FromSeed(seed)
	ed := NewEd25519FromSeed(seed)
	srScalar := sr.sec.sk.Encode()
	secrets := []string{seedHex, hex.EncodeToString(srScalar[:]), hex.EncodeToString(ed.sec.priv)}
	// Decimal renderings of the first secret bytes, as %d of a struct
	// would show them.
	secrets = append(secrets, fmt.Sprint(seed[:4]), fmt.Sprint(srScalar[:4]))

	type embedsPtr struct{ S Signer }
	type embedsValue struct {
		A Sr25519Signer
		B Ed25519Signer
	}
	values := []any{sr, ed, embedsPtr{sr}, embedsPtr{ed}, embedsValue{*sr, *ed}, []Signer{sr, ed}}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
			out := fmt.Sprintf(verb, v)
			for _, sec := range secrets {
				if strings.Contains(strings.ToLower(out), strings.ToLower(sec)) {
					t.Errorf("fmt %s of %T prints secret material: %s", verb, v, out)
				}
			}
		}
	}
	if !strings.Contains(fmt.Sprint(sr), sr.Public().Hex()) {
		t.Errorf("String() = %s, want the public key", sr)
	}
}

func TestWipe(t *testing.T) {
	for _, scheme := range []Scheme{SchemeSr25519, SchemeEd25519} {
		s := mustURI(t, "//Alice", scheme)
		pub := s.Public()
		var priv []byte
		if e, ok := s.(*Ed25519Signer); ok {
			priv = e.sec.priv
		}
		Wipe(s)
		if _, err := s.Sign([]byte("x")); !errors.Is(err, ErrWiped) {
			t.Errorf("%s: Sign after Wipe: %v", scheme, err)
		}
		if s.Public() != pub {
			t.Errorf("%s: Wipe changed the public key", scheme)
		}
		if priv != nil && !bytes.Equal(priv, make([]byte, len(priv))) {
			t.Errorf("ed25519 private key not zeroed")
		}
		Wipe(s) // idempotent
	}
	Wipe(nil) // a nil interface is a no-op
}

func TestBatchVerifier(t *testing.T) {
	type item struct {
		pub PublicKey
		msg []byte
		sig []byte
	}
	var items []item
	for i := 0; i < 10; i++ {
		for _, scheme := range []Scheme{SchemeSr25519, SchemeEd25519} {
			s := mustURI(t, fmt.Sprintf("//batch//%d", i), scheme)
			msg := []byte(fmt.Sprintf("message %d", i))
			sig, err := s.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, item{s.Public(), msg, sig})
		}
	}
	run := func(corrupt map[int]bool) (bool, []bool) {
		var bv BatchVerifier
		for i, it := range items {
			sig := it.sig
			if corrupt[i] {
				sig = bytes.Clone(sig)
				sig[5] ^= 0x10
			}
			_ = bv.Add(it.pub, it.msg, sig)
		}
		if bv.Len() != len(items) {
			t.Fatalf("Len = %d", bv.Len())
		}
		return bv.Verify()
	}
	if all, valid := run(nil); !all || len(valid) != len(items) {
		t.Fatalf("all valid batch: %v %v", all, valid)
	}
	for _, bad := range []map[int]bool{{0: true}, {1: true}, {3: true, 4: true, 19: true}} {
		all, valid := run(bad)
		if all {
			t.Errorf("corrupt %v: allValid", bad)
		}
		for i := range items {
			if valid[i] == bad[i] {
				t.Errorf("corrupt %v: valid[%d] = %v", bad, i, valid[i])
			}
		}
	}

	// Malformed entries are recorded as invalid, keeping indexes aligned.
	var bv BatchVerifier
	good := items[0]
	if err := bv.Add(good.pub, good.msg, good.sig); err != nil {
		t.Fatal(err)
	}
	unmarked := bytes.Clone(items[0].sig)
	unmarked[63] &= 0x7f
	errs := []error{
		bv.Add(good.pub, good.msg, good.sig[:10]),
		bv.Add(PublicKey{Scheme: "rsa", Key: good.pub.Key}, good.msg, good.sig),
		bv.Add(PublicKey{Scheme: SchemeSr25519}, good.msg, good.sig),
		bv.Add(good.pub, good.msg, unmarked),
	}
	for i, err := range errs {
		if err == nil {
			t.Errorf("malformed entry %d: Add returned nil", i)
		}
	}
	_ = bv.Add(items[1].pub, items[1].msg, items[1].sig)
	all, valid := bv.Verify()
	want := []bool{true, false, false, false, false, true}
	if all || fmt.Sprint(valid) != fmt.Sprint(want) {
		t.Errorf("Verify = %v %v, want false %v", all, valid, want)
	}

	if all, valid := new(BatchVerifier).Verify(); !all || len(valid) != 0 {
		t.Errorf("empty batch = %v %v", all, valid)
	}
	// A single entry of each scheme takes the non-batch path.
	var one BatchVerifier
	_ = one.Add(items[0].pub, items[0].msg, items[0].sig)
	_ = one.Add(items[1].pub, items[1].msg, items[1].sig)
	if all, _ := one.Verify(); !all {
		t.Error("single entries rejected")
	}
}

// Batch results must equal single verification for arbitrary corruptions.
func TestBatchMatchesSingle(t *testing.T) {
	signers := []Signer{mustURI(t, "//A", SchemeEd25519), mustURI(t, "//B", SchemeEd25519), mustURI(t, "//C", SchemeSr25519), mustURI(t, "//D", SchemeSr25519)}
	for round := 0; round < 20; round++ {
		var bv BatchVerifier
		var want []bool
		for i := 0; i < 12; i++ {
			s := signers[(i+round)%len(signers)]
			msg := []byte(fmt.Sprintf("r%d m%d", round, i))
			sig, _ := s.Sign(msg)
			if (i*7+round)%5 == 0 {
				sig[(i*13+round)%64] ^= byte(1 << ((i + round) % 8))
			}
			if (i+round)%11 == 0 {
				msg = append(msg, '!')
			}
			_ = bv.Add(s.Public(), msg, sig)
			want = append(want, s.Public().Verify(msg, sig))
		}
		_, valid := bv.Verify()
		if fmt.Sprint(valid) != fmt.Sprint(want) {
			t.Fatalf("round %d: batch %v, single %v", round, valid, want)
		}
	}
}

func FuzzFromURI(f *testing.F) {
	for _, s := range []string{
		"//Alice", "/Alice", "//Alice///password", "///", "////////", "",
		DevPhrase + "//a/b//c///p",
		"hotel forest jar hover kite book view eight stuff angle legend defense//0/1",
		"0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60//x",
		"0x1234", "sd.asd", "a/", "a//", "//+1", "//18446744073709551616", "///\n",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, uri string, sr bool) {
		scheme := SchemeEd25519
		if sr {
			scheme = SchemeSr25519
		}
		s, err := FromURI(uri, scheme)
		if err != nil {
			if s != nil {
				t.Fatal("signer returned with an error")
			}
			return
		}
		if s.Public().Scheme != scheme {
			t.Fatalf("scheme %s, want %s", s.Public().Scheme, scheme)
		}
		sig, err := s.Sign([]byte(uri))
		if err != nil || !s.Public().Verify([]byte(uri), sig) {
			t.Fatalf("derived key cannot sign: %v", err)
		}
	})
}

func blake2b256(b []byte) [32]byte { return blake2b.Sum256(b) }
