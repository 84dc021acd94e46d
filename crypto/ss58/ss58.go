// Package ss58 encodes and decodes SS58 addresses, the account address format
// of Substrate chains, which Veil adopts so that Substrate wallets, explorers
// and tooling recognise Veil accounts (see docs/keys.md).
//
// An address is base58(prefix || public key || checksum) where prefix is the
// network identifier (one byte for 0..63, two bytes for 64..16383) and the
// checksum is the first two bytes of blake2b-512("SS58PRE" || prefix ||
// public key). Only 32-byte account ids are supported: both Veil account
// schemes (sr25519, ed25519) have 32-byte public keys, and accepting other
// payload lengths would only widen the attack surface of address parsing.
package ss58

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"golang.org/x/crypto/blake2b"
)

const (
	// PublicKeySize is the only payload length this package accepts.
	PublicKeySize = 32
	// MaxPrefix is the largest network prefix SS58 can represent (14 bits).
	MaxPrefix = 16383
	// SubstratePrefix is the generic Substrate prefix (addresses start with
	// "5"); Veil dev chains use it.
	SubstratePrefix = 42

	checksumSize = 2
	// maxAddressLen bounds the base58 input before decoding. The longest
	// valid address (2-byte prefix, 32-byte key, 2-byte checksum = 36 bytes)
	// is 49 characters; rejecting anything much longer up front keeps the
	// quadratic base58 decoder cheap on hostile input.
	maxAddressLen = 64
)

// Decoding errors. Each is returned wrapped with detail; test with errors.Is.
var (
	ErrBadBase58      = errors.New("ss58: invalid base58")
	ErrBadLength      = errors.New("ss58: invalid address length")
	ErrInvalidPrefix  = errors.New("ss58: invalid network prefix")
	ErrReservedPrefix = errors.New("ss58: reserved network prefix")
	ErrBadChecksum    = errors.New("ss58: checksum mismatch")
	ErrPrefixMismatch = errors.New("ss58: address is for another network")
)

// ValidatePrefix reports whether prefix can be used for addresses: it must fit
// in 14 bits and must not be one of the identifiers 46 and 47 that the SS58
// registry reserves. Configuration (e.g. the genesis address prefix) should be
// checked with it, because Encode treats an invalid prefix as a programming
// error.
func ValidatePrefix(prefix uint16) error {
	switch {
	case prefix > MaxPrefix:
		return fmt.Errorf("%w: %d is larger than %d", ErrInvalidPrefix, prefix, MaxPrefix)
	case prefix == 46 || prefix == 47:
		return fmt.Errorf("%w: %d", ErrReservedPrefix, prefix)
	}
	return nil
}

// Encode returns the SS58 address of the 32-byte public key pub on the
// network identified by prefix.
//
// It panics if len(pub) != 32 or ValidatePrefix(prefix) fails: both are fixed
// by the caller's types and configuration, never by outside input, and an
// address string for an invalid prefix would not decode anyway.
func Encode(pub []byte, prefix uint16) string {
	if len(pub) != PublicKeySize {
		panic(fmt.Sprintf("ss58: public key is %d bytes, want %d", len(pub), PublicKeySize))
	}
	if err := ValidatePrefix(prefix); err != nil {
		panic(err.Error())
	}
	data := make([]byte, 0, 2+PublicKeySize+checksumSize)
	data = appendPrefix(data, prefix)
	data = append(data, pub...)
	sum := checksum(data)
	data = append(data, sum[:checksumSize]...)
	return base58Encode(data)
}

// Decode parses an SS58 address and returns the public key and the network
// prefix it was encoded for. It never panics; the returned errors wrap
// ErrBadBase58, ErrBadLength, ErrInvalidPrefix, ErrReservedPrefix or
// ErrBadChecksum.
//
// Decode is deliberately stricter than Substrate in one respect: a prefix
// below 64 written in the two-byte form is rejected, so every (key, prefix)
// pair has exactly one address string.
func Decode(addr string) (pub []byte, prefix uint16, err error) {
	if len(addr) == 0 || len(addr) > maxAddressLen {
		return nil, 0, fmt.Errorf("%w: %d characters", ErrBadLength, len(addr))
	}
	data, err := base58Decode(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %v", ErrBadBase58, err)
	}
	if len(data) < 2 {
		return nil, 0, fmt.Errorf("%w: %d bytes", ErrBadLength, len(data))
	}
	var prefixLen int
	switch b0 := data[0]; {
	case b0 < 64:
		prefixLen, prefix = 1, uint16(b0)
	case b0 < 128:
		// The two prefix bytes are 01aaaaaa bbcccccc and stand for the
		// little-endian 14-bit value aaaaaabb 00cccccc.
		lower := data[0]<<2 | data[1]>>6
		upper := data[1] & 0x3f
		prefixLen, prefix = 2, uint16(lower)|uint16(upper)<<8
		if prefix < 64 {
			return nil, 0, fmt.Errorf("%w: prefix %d in the two-byte form", ErrInvalidPrefix, prefix)
		}
	default:
		return nil, 0, fmt.Errorf("%w: first byte %#x", ErrInvalidPrefix, b0)
	}
	if want := prefixLen + PublicKeySize + checksumSize; len(data) != want {
		return nil, 0, fmt.Errorf("%w: %d bytes, want %d", ErrBadLength, len(data), want)
	}
	if prefix == 46 || prefix == 47 {
		return nil, 0, fmt.Errorf("%w: %d", ErrReservedPrefix, prefix)
	}
	body := data[:prefixLen+PublicKeySize]
	sum := checksum(body)
	if subtle.ConstantTimeCompare(sum[:checksumSize], data[len(body):]) != 1 {
		return nil, 0, ErrBadChecksum
	}
	pub = make([]byte, PublicKeySize)
	copy(pub, body[prefixLen:])
	return pub, prefix, nil
}

// DecodeWithPrefix decodes addr like Decode and additionally requires it to
// be encoded for network want. The error for an address of another network
// wraps ErrPrefixMismatch and names both prefixes, which is the common
// mistake (a Polkadot or generic Substrate address pasted into Veil) that
// users need to recognise.
func DecodeWithPrefix(addr string, want uint16) ([]byte, error) {
	pub, got, err := Decode(addr)
	if err != nil {
		return nil, err
	}
	if got != want {
		return nil, fmt.Errorf("%w: address has prefix %d, want %d", ErrPrefixMismatch, got, want)
	}
	return pub, nil
}

// appendPrefix appends the one- or two-byte SS58 encoding of a valid prefix.
func appendPrefix(dst []byte, prefix uint16) []byte {
	if prefix < 64 {
		return append(dst, byte(prefix))
	}
	first := byte(prefix&0xfc)>>2 | 0x40
	second := byte(prefix>>8) | byte(prefix&0x03)<<6
	return append(dst, first, second)
}

// checksum is blake2b-512 over the "SS58PRE" domain tag and data.
func checksum(data []byte) [blake2b.Size]byte {
	h, _ := blake2b.New512(nil) // cannot fail without a key
	h.Write([]byte("SS58PRE"))
	h.Write(data)
	var out [blake2b.Size]byte
	h.Sum(out[:0])
	return out
}
