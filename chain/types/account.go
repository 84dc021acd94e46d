package types

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/veil-network/veil/crypto/ss58"
)

// AccountID is a 32-byte account id: the public key of an sr25519 or ed25519
// account, as Substrate's AccountId32, so addresses match Substrate's.
type AccountID [32]byte

// AccountFromBytes validates the length of a raw account id.
func AccountFromBytes(b []byte) (AccountID, error) {
	var a AccountID
	if len(b) != len(a) {
		return a, Errf(CodeInvalidAddress, "account id has %d bytes, want 32", len(b))
	}
	copy(a[:], b)
	return a, nil
}

// ParseAddress accepts an SS58 address with the chain's prefix, or a
// 0x-prefixed 64-digit hex account id.
func ParseAddress(s string, prefix uint16) (AccountID, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		b, err := hex.DecodeString(s[2:])
		if err != nil {
			return AccountID{}, Errf(CodeInvalidAddress, "invalid hex account id: %v", err)
		}
		return AccountFromBytes(b)
	}
	pub, err := ss58.DecodeWithPrefix(s, prefix)
	if err != nil {
		return AccountID{}, Errf(CodeInvalidAddress, "invalid address %q: %v", truncate(s), err)
	}
	return AccountFromBytes(pub)
}

// Address renders the account in SS58 with the given network prefix.
func (a AccountID) Address(prefix uint16) string { return ss58.Encode(a[:], prefix) }

// Hex renders the account id as 0x-prefixed hex.
func (a AccountID) Hex() string { return "0x" + hex.EncodeToString(a[:]) }

// IsZero reports the all-zero id, which no key pair can own.
func (a AccountID) IsZero() bool { return a == AccountID{} }

// ModuleAccount derives the account id of a module-owned account (e.g. the
// treasury) from its name. No one holds a private key for it.
func ModuleAccount(name string) AccountID {
	return AccountID(blake2b256([]byte("veil/module-account/" + name)))
}

// Format implements fmt.Formatter so %s/%v print the hex id.
func (a AccountID) Format(f fmt.State, verb rune) { fmt.Fprint(f, a.Hex()) }
