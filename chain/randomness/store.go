// Package randomness is the chain's source of unbiasable-enough randomness:
// every block's proposer proves an ECVRF (RFC 9381) output over the
// previous block's randomness with its CometBFT consensus key, and the
// output becomes the block's randomness. Other modules (heartbeat
// challenges, worker scheduling) read it with Get/Latest; see
// docs/randomness.md for the bias a proposer can still exert.
//
// The proof travels as the block's first transaction (Magic ‖ VRFProof,
// see proof.go); the application checks it in ProcessProposal and applies
// it in FinalizeBlock before any module's BeginBlock.
//
// State (all under provable keys):
//
//	randomness/params                          JSON Params
//	randomness/block/<u64be height>            protobuf BlockRandomness
//	randomness/latest                          protobuf BlockRandomness
//	randomness/consensus_key/<20-byte address> 32-byte ed25519 public key
package randomness

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"

	"github.com/veil-network/veil/chain/staking"
	"github.com/veil-network/veil/chain/types"
	randomnessv1 "github.com/veil-network/veil/gen/veil/randomness/v1"
)

// Name is the module's name and state-key prefix.
const Name = "randomness"

var (
	keyParams   = []byte("randomness/params")
	prefixBlock = []byte("randomness/block/")
	keyLatest   = []byte("randomness/latest")
	prefixKey   = []byte("randomness/consensus_key/")
)

// BlockKey is the provable state key of height's randomness record.
func BlockKey(height int64) []byte {
	k := make([]byte, len(prefixBlock)+8)
	copy(k, prefixBlock)
	binary.BigEndian.PutUint64(k[len(prefixBlock):], uint64(height))
	return k
}

// ConsensusKeyKey is the provable state key of the consensus public key
// registered for a 20-byte consensus address.
func ConsensusKeyKey(addr []byte) []byte {
	return append(append(make([]byte, 0, len(prefixKey)+len(addr)), prefixKey...), addr...)
}

// ConsensusKey returns the 32-byte ed25519 consensus public key whose
// CometBFT address is addr, or nil if no validator update ever named it.
func ConsensusKey(s types.KVStore, addr []byte) []byte {
	return s.Get(ConsensusKeyKey(addr))
}

// RecordKeys adds the consensus keys of validator updates (genesis
// validators and every set change) to the key registry, so the proposer of
// any later block can be resolved from its address. Removals (power 0) are
// recorded too and keys are never deleted: a validator removed by the
// update returned at height H is still in the set, and may propose, at
// H+1.
func RecordKeys(s types.KVStore, updates []types.ValidatorUpdate) {
	for _, u := range updates {
		k := ConsensusKeyKey(staking.ConsensusAddress(u.PubKey[:]))
		if !bytes.Equal(s.Get(k), u.PubKey[:]) {
			s.Set(k, u.PubKey[:])
		}
	}
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

// NoRandomnessDomain seeds Seed on a chain without the randomness module
// (unit tests of a single module): SHA-256(domain ‖ u64be(height)). It is
// predictable, which is acceptable only there.
const NoRandomnessDomain = "veil/no-randomness/v1"

// Seed is what the draws of the block at height derive from (heartbeat
// challenges, worker scheduling): the latest output, which during
// FinalizeBlock is the block's own (the proof is applied before any
// module runs). Production chains always run the module.
func Seed(s types.KVStore, height int64) []byte {
	if r := Latest(s); r != nil && len(r.GetOutput()) > 0 {
		return r.GetOutput()
	}
	h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(NoRandomnessDomain), uint64(height)))
	return h[:]
}

// put records height's randomness as the latest.
func put(s types.KVStore, r *randomnessv1.BlockRandomness) {
	types.SetProto(s, BlockKey(r.GetHeight()), r)
	types.SetProto(s, keyLatest, r)
}
