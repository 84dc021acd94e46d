package keys

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/blake2b"
)

// DevPhrase is Substrate's public development phrase. A secret URI without
// a phrase (e.g. "//Alice") uses it, which yields the well-known dev accounts
// Alice, Bob, ... that have no secrets and must never hold real value.
const DevPhrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk"

// maxURILen bounds the accepted secret URI. Substrate sets no limit; real
// URIs are a few hundred bytes at most, and a bound keeps hostile input from
// costing arbitrary hashing work.
const maxURILen = 4096

// junction is one derivation step: a 32-byte chain code, hard or soft.
type junction struct {
	hard      bool
	chainCode [32]byte
}

// secretURI is a parsed Substrate secret URI (SURI).
type secretURI struct {
	phrase    string // BIP39 phrase or 0x-prefixed hex seed; DevPhrase if absent
	junctions []junction
	password  string
}

// parseURI parses phrase(/soft|//hard)*(///password)? exactly like
// Substrate's AddressUri: the phrase is a run of ASCII letters, digits and
// spaces; each junction is one or two slashes followed by at least one
// non-slash byte; "///" starts the password, which runs to the end of the
// string and may contain slashes but not a newline.
func parseURI(s string) (secretURI, error) {
	if s == "" {
		// Substrate reads "" as the bare dev phrase. An empty secret is far
		// more likely an unset variable than a wish to use the dev root
		// key, so it is refused; write the dev phrase explicitly if meant.
		return secretURI{}, fmt.Errorf("%w: empty", ErrInvalidURI)
	}
	if len(s) > maxURILen {
		return secretURI{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidURI, maxURILen)
	}
	var u secretURI
	i := 0
	for i < len(s) && isPhraseByte(s[i]) {
		i++
	}
	u.phrase = s[:i]
	if u.phrase == "" {
		u.phrase = DevPhrase
	}
	rest := s[i:]
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "///"):
			pw := rest[3:]
			if strings.IndexByte(pw, '\n') >= 0 {
				return secretURI{}, fmt.Errorf("%w: newline in password", ErrInvalidURI)
			}
			u.password = pw
			rest = ""
		case strings.HasPrefix(rest, "//"):
			code, r := cutJunction(rest[2:])
			if code == "" {
				return secretURI{}, fmt.Errorf("%w: empty hard junction at byte %d", ErrInvalidURI, len(s)-len(rest))
			}
			u.junctions = append(u.junctions, newJunction(code, true))
			rest = r
		case rest[0] == '/':
			code, r := cutJunction(rest[1:])
			if code == "" {
				return secretURI{}, fmt.Errorf("%w: empty soft junction at byte %d", ErrInvalidURI, len(s)-len(rest))
			}
			u.junctions = append(u.junctions, newJunction(code, false))
			rest = r
		default:
			// Position only: the phrase is secret and must not be echoed.
			return secretURI{}, fmt.Errorf("%w: unexpected character at byte %d (a phrase may contain only letters, digits and spaces)", ErrInvalidURI, len(s)-len(rest))
		}
	}
	return u, nil
}

func isPhraseByte(c byte) bool {
	return c == ' ' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// cutJunction splits s at its first slash.
func cutJunction(s string) (code, rest string) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// newJunction computes a junction's chain code as Substrate's
// DeriveJunction::from does: a code that parses as a u64 (Rust rules: ASCII
// digits with an optional leading '+', no overflow) is SCALE-encoded as 8
// little-endian bytes; anything else as a SCALE string (compact length, then
// the bytes). An encoding up to 32 bytes is zero-padded to 32, a longer one
// is replaced by its blake2b-256 hash.
func newJunction(code string, hard bool) junction {
	var enc []byte
	if n, ok := parseRustU64(code); ok {
		enc = binary.LittleEndian.AppendUint64(nil, n)
	} else {
		enc = appendCompact(nil, uint64(len(code)))
		enc = append(enc, code...)
	}
	j := junction{hard: hard}
	if len(enc) > len(j.chainCode) {
		j.chainCode = blake2b.Sum256(enc)
	} else {
		copy(j.chainCode[:], enc)
	}
	wipeBytes(enc)
	return j
}

// parseRustU64 mirrors Rust's u64::from_str, which differs from
// strconv.ParseUint in accepting one leading '+'.
func parseRustU64(s string) (uint64, bool) {
	s = strings.TrimPrefix(s, "+")
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// appendCompact appends the SCALE compact encoding of n.
func appendCompact(dst []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(dst, byte(n<<2))
	case n < 1<<14:
		return binary.LittleEndian.AppendUint16(dst, uint16(n<<2|1))
	case n < 1<<30:
		return binary.LittleEndian.AppendUint32(dst, uint32(n<<2|2))
	default:
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], n)
		l := 8
		for l > 4 && b[l-1] == 0 {
			l--
		}
		dst = append(dst, byte((l-4)<<2|3))
		return append(dst, b[:l]...)
	}
}

// rootSeed turns the phrase part of a URI into a 32-byte seed: a 0x-prefixed
// hex string is the seed itself; otherwise it is a BIP39 phrase converted
// with substrate-bip39 and the URI password. As in Substrate, the password
// does not apply to hex seeds (the seed is already the final secret).
func rootSeed(u secretURI) ([SeedSize]byte, error) {
	var seed [SeedSize]byte
	if h, ok := strings.CutPrefix(u.phrase, "0x"); ok {
		if len(h) != 2*SeedSize {
			return seed, fmt.Errorf("%w: want 0x followed by %d hex digits, got %d digits", ErrInvalidSeed, 2*SeedSize, len(h))
		}
		digits := []byte(h)
		defer wipeBytes(digits)
		if _, err := hex.Decode(seed[:], digits); err != nil {
			return [SeedSize]byte{}, fmt.Errorf("%w: not hex", ErrInvalidSeed)
		}
		return seed, nil
	}
	entropy, err := entropyFromPhrase(u.phrase)
	if err != nil {
		return seed, err
	}
	defer wipeBytes(entropy)
	return miniSecretFromEntropy(entropy, u.password), nil
}

// FromURI returns the signer for a Substrate secret URI:
//
//	URI      = [phrase] {"/" soft | "//" hard} ["///" password]
//	phrase   = BIP39 English phrase (12..24 words) | "0x" 64 hex digits
//
// A missing phrase means DevPhrase, so "//Alice" is Substrate's Alice. A
// phrase becomes a 32-byte mini secret with substrate-bip39 (the password is
// its salt); junctions then derive child keys as in sp-core: for sr25519
// "//x" is hard and "/x" soft (schnorrkel HDKD); ed25519 supports hard
// junctions only. Numeric junctions ("//0") are u64 indices, others strings.
//
// Errors wrap ErrInvalidURI, ErrInvalidPhrase, ErrInvalidSeed,
// ErrSoftJunction or ErrUnknownScheme and never contain the URI itself.
func FromURI(uri string, scheme Scheme) (Signer, error) {
	if !scheme.Valid() {
		return nil, fmt.Errorf("%w %q", ErrUnknownScheme, scheme)
	}
	u, err := parseURI(uri)
	if err != nil {
		return nil, err
	}
	seed, err := rootSeed(u)
	if err != nil {
		return nil, err
	}
	defer wipeBytes(seed[:])
	switch scheme {
	case SchemeSr25519:
		sk, err := deriveSr25519(expandSr25519(seed), u.junctions)
		if err != nil {
			return nil, err
		}
		return newSr25519Signer(sk), nil
	default: // SchemeEd25519
		child, err := deriveEd25519(seed, u.junctions)
		if err != nil {
			return nil, err
		}
		defer wipeBytes(child[:])
		return NewEd25519FromSeed(child), nil
	}
}
