package ss58

import "errors"

// alphabet is the Bitcoin base58 alphabet, which SS58 uses unchanged.
const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// errBadBase58Char is returned by base58Decode for a character outside the
// alphabet (0, O, I and l are excluded on purpose, as are all non-ASCII runes).
var errBadBase58Char = errors.New("invalid base58 character")

// base58Encode encodes b with the Bitcoin alphabet. Each leading zero byte
// becomes a leading '1'. The quadratic schoolbook conversion is deliberate:
// SS58 payloads are at most a few dozen bytes, so a big-integer library would
// only add allocations and code paths.
func base58Encode(b []byte) string {
	zeros := 0
	for zeros < len(b) && b[zeros] == 0 {
		zeros++
	}
	// log(256)/log(58) ≈ 1.366, so len*138/100+1 digits always suffice.
	digits := make([]byte, (len(b)-zeros)*138/100+1)
	n := 0 // number of significant digits in use (little-endian in digits)
	for _, v := range b[zeros:] {
		carry := int(v)
		for i := 0; i < n; i++ {
			carry += int(digits[i]) << 8
			digits[i] = byte(carry % 58)
			carry /= 58
		}
		for carry > 0 {
			digits[n] = byte(carry % 58)
			carry /= 58
			n++
		}
	}
	out := make([]byte, zeros+n)
	for i := 0; i < zeros; i++ {
		out[i] = alphabet[0]
	}
	for i := 0; i < n; i++ {
		out[zeros+i] = alphabet[digits[n-1-i]]
	}
	return string(out)
}

// base58Decode is the inverse of base58Encode. The caller bounds len(s):
// the conversion is quadratic in the input length.
func base58Decode(s string) ([]byte, error) {
	zeros := 0
	for zeros < len(s) && s[zeros] == alphabet[0] {
		zeros++
	}
	// log(58)/log(256) ≈ 0.733, so len*733/1000+1 bytes always suffice.
	buf := make([]byte, (len(s)-zeros)*733/1000+1)
	n := 0 // number of significant bytes in use (little-endian in buf)
	for i := zeros; i < len(s); i++ {
		d := digitValue(s[i])
		if d < 0 {
			return nil, errBadBase58Char
		}
		carry := d
		for j := 0; j < n; j++ {
			carry += int(buf[j]) * 58
			buf[j] = byte(carry)
			carry >>= 8
		}
		for carry > 0 {
			buf[n] = byte(carry)
			carry >>= 8
			n++
		}
	}
	out := make([]byte, zeros+n)
	for i := 0; i < n; i++ {
		out[zeros+i] = buf[n-1-i]
	}
	return out, nil
}

// digitValue maps a base58 character to its value, or -1 if it is not in the
// alphabet. A switch keeps the table out of package-level state.
func digitValue(c byte) int {
	switch {
	case c >= '1' && c <= '9':
		return int(c - '1')
	case c >= 'A' && c <= 'H':
		return int(c-'A') + 9
	case c >= 'J' && c <= 'N':
		return int(c-'J') + 17
	case c >= 'P' && c <= 'Z':
		return int(c-'P') + 22
	case c >= 'a' && c <= 'k':
		return int(c-'a') + 33
	case c >= 'm' && c <= 'z':
		return int(c-'m') + 44
	default:
		return -1
	}
}
