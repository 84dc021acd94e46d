package compute

import (
	"bytes"

	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
)

// Candidate is a worker the scheduler may assign contracts to, with the
// stake it has locked (for stake-weighted draws).
type Candidate struct {
	Identity []byte
	Stake    types.Amount
}

// Eligible lists, sorted by identity, the workers that may run contracts
// at height: Computing (not Unresponsive, not cooling down), with a
// registry record that is not stale at height and a registry sync record
// (the worker's light client is following the chain). It walks the
// Computing index only, never every bound worker.
func Eligible(s types.KVStore, height int64) []Candidate {
	var all []Candidate
	s.Iterate(prefixComputing, func(k, v []byte) bool {
		if len(k) != len(prefixComputing)+32 {
			return true
		}
		stake, err := types.AmountFromBytes(v)
		if err != nil {
			panic(&types.StoreFailure{Err: err})
		}
		all = append(all, Candidate{Identity: bytes.Clone(k[len(prefixComputing):]), Stake: stake})
		return true
	})
	// Registry reads happen after the iteration, not inside it.
	out := all[:0]
	for _, c := range all {
		if onlineAt(s, height, c.Identity) {
			out = append(out, c)
		}
	}
	return out
}

// IsEligible reports whether identity is in Eligible(s, height).
func IsEligible(s types.KVStore, height int64, identity []byte) bool {
	return len(identity) == 32 && s.Has(computingKey(identity)) && onlineAt(s, height, identity)
}

func onlineAt(s types.KVStore, height int64, identity []byte) bool {
	rec := registry.Worker(s, identity)
	return rec != nil && !registry.IsStale(rec, height) && s.Has(registry.SyncedKey(identity))
}
