// Package randomness is the chain's source of unbiasable-enough randomness:
// every block's proposer proves an ECVRF (RFC 9381) output over the
// previous block's randomness with its CometBFT consensus key, and the
// output becomes the block's randomness. Other modules (heartbeat
// challenges, worker scheduling) read it with Get/Current; see
// docs/randomness.md for the bias a proposer can still exert.
package randomness

import (
	"encoding/binary"

	"github.com/veil-network/veil/chain/types"
	randomnessv1 "github.com/veil-network/veil/gen/veil/randomness/v1"
)

// Name is the module's name and state-key prefix.
const Name = "randomness"

var (
	prefixBlock = []byte("randomness/block/")
	keyLatest   = []byte("randomness/latest")
)

// BlockKey is the provable state key of height's randomness record.
func BlockKey(height int64) []byte {
	k := make([]byte, len(prefixBlock)+8)
	copy(k, prefixBlock)
	binary.BigEndian.PutUint64(k[len(prefixBlock):], uint64(height))
	return k
}

// Get returns the randomness recorded for height, or nil when there is
// none (before the module's first block, or pruned from history).
func Get(s types.KVStore, height int64) *randomnessv1.BlockRandomness {
	r := &randomnessv1.BlockRandomness{}
	if !types.GetProto(s, BlockKey(height), r) {
		return nil
	}
	return r
}

// Latest returns the most recent block randomness (the current block's
// once the block's randomness transaction has been applied, which happens
// before any module's BeginBlock), or nil before the first.
func Latest(s types.KVStore) *randomnessv1.BlockRandomness {
	r := &randomnessv1.BlockRandomness{}
	if !types.GetProto(s, keyLatest, r) {
		return nil
	}
	return r
}

// put records height's randomness as the latest.
func put(s types.KVStore, r *randomnessv1.BlockRandomness) {
	types.SetProto(s, BlockKey(r.GetHeight()), r)
	types.SetProto(s, keyLatest, r)
}
