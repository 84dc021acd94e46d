package ss58

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// Vectors from Substrate (sp-core, subkey README) and polkadot-js
// util-crypto's encode/decode specs, which are checked against subkey.
var vectors = []struct {
	name    string
	pub     string
	prefix  uint16
	address string
}{
	{"alice sr25519", "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d", 42, "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"},
	{"alice polkadot", "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d", 0, "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5"},
	{"alice kusama", "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d", 2, "HNZata7iMYWmk5RvZRTiAsSDhV8366zq2YGb3tLH5Upf74F"},
	{"subkey readme", "fec70cfbf1977c6965b5af10a4534a6a35d548eb14580594d0bc543286892515", 42, "5Hpm9fq3W3dQgwWpAwDS2ZHKAdnk86QRCu7iX4GnmDxycrte"},
	{"subkey readme polkadot", "fec70cfbf1977c6965b5af10a4534a6a35d548eb14580594d0bc543286892515", 0, "16m4J167Mptt8UXL8aGSAi7U2FnPpPxZHPrCgMG9KJzVoFqM"},
	{"subkey readme kusama", "fec70cfbf1977c6965b5af10a4534a6a35d548eb14580594d0bc543286892515", 2, "JLNozAv8QeLSbLFwe2UvWeKKE4yvmDbfGxTuiYkF2BUMx4M"},
	{"substrate default", "3050f8456519829fe03302da802d22d3233a5f4037b9a3e2bcc403ccfcb2d735", 42, "5DA4D4GL5iakrn22h5uKoevgvo18Pqj5BcdEUv8etEDPdijA"},
	{"aventus 65", "08e8969768fc14399930d4b8d693f68a2ff6c6a597325d6946095e5e9d9d1b0e", 65, "cLtA6nCDyvwKcEHH4QkZDSHMhS9s78BvUJUsKUbUAn1Jc2SCF"},
	{"crust 66", "04a047d52fe542484c69bc528990cfeaf3a663dded0638ee1b51cf78bacd1072", 66, "cTGShekJ1L1UKFZR9xmv9UTJod7vqjFAPo4sDhXih2c3y1yLS"},
	{"sora 69", "ae640d53cfa815f4a6a50ae70235cd7d9d134d0f1c3a4ccd118e321dfb6ab51f", 69, "cnVRwXfAnz3RSVQyBUC8f8McrK3YBX2QYd4WoctpeSC6VTJYm"},
	{"252", "5c64f1151f0ce4358c27238fb20c88e7c899825436f565410724c8c2c5add869", 252, "xw5g1Eec8LT99pZLZMaTWwrwvNtfM6vrSuZeVbtEszCDUwByg"},
	{"255 a", "66cd6cf085627d6c85af1aaf2bd10cf843033e929b4e3b1c2ba8e4aa46fe111b", 255, "yGF4JP7q5AK46d1FPCEm9sYQ4KooSjHMpyVAjLnsCSWVafPnf"},
	{"255 b", "242fd5a078ac6b7c3c2531e9bcf1314343782aeb58e7bc6880794589e701db55", 255, "yGDYxQatQwuxqT39Zs4LtcTnpzE12vXb7ZJ6xpdiHv6gTu1hF"},
	{"4242", "44d5a3ac156335ea99d33a83c57c7146c40c8e2260a8a4adf4e7a86256454651", 4242, "mHm8k9Emsvyfp3piCauSH684iA6NakctF8dySQcX94GDdrJrE"},
	{"14269", "88f01441682a17b52d6ae12d1a5670cf675fd254897efabaa5069eb3a701ab73", 14269, "r6Gr4gaMP8TsjhFbqvZhv3YvnasugLiRJpzpRHifsqqG18UXa"},
}

func TestVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			pub := mustHex(t, v.pub)
			if got := Encode(pub, v.prefix); got != v.address {
				t.Errorf("Encode = %s, want %s", got, v.address)
			}
			gotPub, gotPrefix, err := Decode(v.address)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !bytes.Equal(gotPub, pub) || gotPrefix != v.prefix {
				t.Errorf("Decode = %x/%d, want %s/%d", gotPub, gotPrefix, v.pub, v.prefix)
			}
			if _, err := DecodeWithPrefix(v.address, v.prefix); err != nil {
				t.Errorf("DecodeWithPrefix(own prefix): %v", err)
			}
		})
	}
}

func TestRoundTripAllPrefixes(t *testing.T) {
	pub := mustHex(t, "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
	for p := 0; p <= MaxPrefix; p++ {
		prefix := uint16(p)
		if ValidatePrefix(prefix) != nil {
			continue
		}
		addr := Encode(pub, prefix)
		got, gotPrefix, err := Decode(addr)
		if err != nil || gotPrefix != prefix || !bytes.Equal(got, pub) {
			t.Fatalf("prefix %d: Decode(%s) = %x, %d, %v", prefix, addr, got, gotPrefix, err)
		}
	}
}

func TestPrefixMismatch(t *testing.T) {
	_, err := DecodeWithPrefix("15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5", 42)
	if !errors.Is(err, ErrPrefixMismatch) {
		t.Fatalf("err = %v, want ErrPrefixMismatch", err)
	}
	if !strings.Contains(err.Error(), "prefix 0, want 42") {
		t.Errorf("error %q does not name both prefixes", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	alice := "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
	pub := mustHex(t, "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
	reserved := append([]byte{46}, pub...)
	sum := checksum(reserved)
	reserved = append(reserved, sum[:2]...)
	// Prefix 42 written in the two-byte form (see appendPrefix).
	nonCanonical := append([]byte{0x40 | 42>>2, (42 & 3) << 6}, pub...)
	sum = checksum(nonCanonical)
	nonCanonical = append(nonCanonical, sum[:2]...)
	short := append([]byte{42}, pub[:31]...)
	sum = checksum(short)
	short = append(short, sum[:2]...)

	tests := []struct {
		name string
		addr string
		want error
	}{
		{"empty", "", ErrBadLength},
		{"too long", strings.Repeat("5", 100), ErrBadLength},
		{"bad char 0", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKut0Y", ErrBadBase58},
		{"bad char I", "F3opIRbN5ZbjJNU511Kj2TLuzFcDq9BGduA9TgiECafpg29", ErrBadBase58},
		{"non-ascii", "5Grwva\u00e9F5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", ErrBadBase58},
		{"checksum polkadot-js 1", "5GoKvZWG5ZPYL1WUovuHW3zJBWBP5eT8CbqjdRY4Q6iMa9cj", ErrBadChecksum},
		{"checksum polkadot-js 2", "5GoKvZWG5ZPYL1WUovuHW3zJBWBP5eT8CbqjdRY4Q6iMaDwU", ErrBadChecksum},
		{"checksum last char", alice[:len(alice)-1] + "Z", ErrBadChecksum},
		{"length polkadot-js", "y9EMHt34JJo4rWLSaxoLGdYXvjgSXEd4zHUnQgfNzwES8b", ErrBadLength},
		{"short key", base58Encode(short), ErrBadLength},
		{"one byte", "F7NZ", ErrBadLength},
		{"single char", "1", ErrBadLength},
		{"first byte >= 128", base58Encode(append([]byte{0x80}, make([]byte, 35)...)), ErrInvalidPrefix},
		{"reserved 46", base58Encode(reserved), ErrReservedPrefix},
		{"non-canonical two-byte 42", base58Encode(nonCanonical), ErrInvalidPrefix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pub, _, err := Decode(tt.addr)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode(%q) err = %v, want %v", tt.addr, err, tt.want)
			}
			if pub != nil {
				t.Errorf("Decode returned a key with an error")
			}
		})
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, p := range []uint16{0, 2, 42, 63, 64, 255, 16383} {
		if err := ValidatePrefix(p); err != nil {
			t.Errorf("ValidatePrefix(%d) = %v", p, err)
		}
	}
	for _, p := range []uint16{46, 47, 16384, 65535} {
		if err := ValidatePrefix(p); err == nil {
			t.Errorf("ValidatePrefix(%d) = nil, want error", p)
		}
	}
}

func TestEncodePanicsOnProgrammerError(t *testing.T) {
	for name, f := range map[string]func(){
		"short key":  func() { Encode(make([]byte, 31), 42) },
		"big prefix": func() { Encode(make([]byte, 32), 16384) },
		"reserved":   func() { Encode(make([]byte, 32), 46) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

func TestBase58(t *testing.T) {
	// Bitcoin base58 vectors (from the Bitcoin Core test suite).
	tests := []struct{ hex, b58 string }{
		{"", ""},
		{"61", "2g"},
		{"626262", "a3gV"},
		{"636363", "aPEr"},
		{"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
		{"00eb15231dfceb60925886b67d065299925915aeb172c06647", "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
		{"516b6fcd0f", "ABnLTmg"},
		{"bf4f89001e670274dd", "3SEo3LWLoPntC"},
		{"572e4794", "3EFU7m"},
		{"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
		{"10c8511e", "Rt5zm"},
		{"00000000000000000000", "1111111111"},
		{"000111d38e5fc9071ffcd20b4a763cc9ae4f252bb4e48fd66a835e252ada93ff480d6dd43dc62a641155a5", "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"},
	}
	for _, tt := range tests {
		b := mustHex(t, tt.hex)
		if got := base58Encode(b); got != tt.b58 {
			t.Errorf("encode %s = %q, want %q", tt.hex, got, tt.b58)
		}
		got, err := base58Decode(tt.b58)
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("decode %q = %x, %v, want %s", tt.b58, got, err, tt.hex)
		}
	}
	for i := 0; i < len(alphabet); i++ {
		if digitValue(alphabet[i]) != i {
			t.Errorf("digitValue(%q) = %d, want %d", alphabet[i], digitValue(alphabet[i]), i)
		}
	}
	for c := 0; c < 256; c++ {
		if strings.IndexByte(alphabet, byte(c)) < 0 && digitValue(byte(c)) != -1 {
			t.Errorf("digitValue(%#x) accepted a non-alphabet byte", c)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.address)
	}
	f.Add("")
	f.Add("1")
	f.Add("F7NZ")
	f.Add("y9EMHt34JJo4rWLSaxoLGdYXvjgSXEd4zHUnQgfNzwES8b")
	f.Fuzz(func(t *testing.T, addr string) {
		pub, prefix, err := Decode(addr)
		if err != nil {
			if pub != nil {
				t.Fatal("key returned with error")
			}
			return
		}
		if len(pub) != PublicKeySize {
			t.Fatalf("decoded key has %d bytes", len(pub))
		}
		// A successful decode must be canonical: re-encoding gives the input
		// back, so each (key, prefix) has a single address string.
		if again := Encode(pub, prefix); again != addr {
			t.Fatalf("Encode(Decode(%q)) = %q", addr, again)
		}
	})
}

func FuzzBase58RoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 256 {
			return
		}
		got, err := base58Decode(base58Encode(b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip of %x = %x, %v", b, got, err)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	pub := mustHex(b, "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d")
	for b.Loop() {
		Encode(pub, 42)
	}
}

func BenchmarkDecode(b *testing.B) {
	for b.Loop() {
		if _, _, err := Decode("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"); err != nil {
			b.Fatal(err)
		}
	}
}
