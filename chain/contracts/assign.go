package contracts

import (
	"bytes"
	"crypto/sha256"
	"slices"

	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

// Assign chooses the k workers that serve contract id at height. It is the
// one place assignment policy lives (a later change replaces it with
// VRF-weighted draws from the staked set).
//
// Today: among registry.OnlineWorkers (registered, not stale, heard from),
// members of keep that are still online are kept first, in keep's order
// (so a reassignment moves as few workers as possible and the newcomers
// need the key, not the old ones); the remaining seats go by rendezvous
// hashing — online workers sorted by SHA-256(id || identity) — so each
// contract spreads over the workers independently of the others, and
// adding or losing a worker moves only the contracts it ranks first for.
// Fewer than k online workers is an error: a contract never runs with
// fewer replicas than it asked for.
func Assign(s types.KVStore, height int64, id [32]byte, k int, keep [][]byte) ([][]byte, error) {
	if k <= 0 {
		return nil, errf(CodeInvalidReplicas, "replicas must be positive, got %d", k)
	}
	online := registry.OnlineWorkers(s, height)
	if len(online) < k {
		return nil, errf(CodeNotEnoughWorkers, "%d online workers, the contract needs %d (workers are online when registered, not stale and syncing)", len(online), k)
	}
	isOnline := func(w []byte) bool {
		_, found := slices.BinarySearchFunc(online, w, func(r *registryv1.WorkerRecord, t []byte) int {
			return bytes.Compare(r.GetIdentity(), t)
		})
		return found
	}
	out := make([][]byte, 0, k)
	for _, w := range keep {
		if len(out) == k {
			break
		}
		if isOnline(w) && !contains(out, w) {
			out = append(out, bytes.Clone(w))
		}
	}
	type ranked struct {
		rank [32]byte
		id   []byte
	}
	cands := make([]ranked, 0, len(online))
	for _, r := range online {
		if contains(out, r.GetIdentity()) {
			continue
		}
		cands = append(cands, ranked{sha256.Sum256(append(append(make([]byte, 0, 64), id[:]...), r.GetIdentity()...)), r.GetIdentity()})
	}
	slices.SortFunc(cands, func(a, b ranked) int {
		if c := bytes.Compare(a.rank[:], b.rank[:]); c != 0 {
			return c
		}
		return bytes.Compare(a.id, b.id)
	})
	for _, c := range cands {
		if len(out) == k {
			break
		}
		out = append(out, bytes.Clone(c.id))
	}
	return out, nil
}
