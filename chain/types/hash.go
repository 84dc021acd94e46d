package types

import "golang.org/x/crypto/blake2b"

func blake2b256(b []byte) [32]byte { return blake2b.Sum256(b) }
