package types

import (
	"encoding/hex"

	"golang.org/x/crypto/blake2b"
)

func blake2b256(b []byte) [32]byte { return blake2b.Sum256(b) }

// HexID renders bytes (identities, ids, hashes) as 0x-prefixed lower-case
// hex, the form events and queries use.
func HexID(b []byte) string { return "0x" + hex.EncodeToString(b) }
