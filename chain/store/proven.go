package store

import (
	"fmt"

	"github.com/cosmos/iavl"
)

// GetProvenBatch reads keys at one version (0 = latest committed), each
// with an existence or non-existence proof, from one snapshot of the tree:
// the relayer fetches message-queue messages in batches, and loading the
// version's root once per batch instead of once per key is what makes
// that cheap. Proofs stay one per key (see docs/lightclient.md: ICS23
// batch proofs save bytes, not verification work).
func (s *Tree) GetProvenBatch(keys [][]byte, version int64) ([]*Proven, error) {
	s.saving.RLock()
	defer s.saving.RUnlock()
	t, err := s.at(version)
	if err != nil {
		return nil, err
	}
	root := t.Hash()
	out := make([]*Proven, len(keys))
	for i, k := range keys {
		p, err := readAt(t, k, true)
		if err != nil {
			return nil, err
		}
		p.Root = root
		out[i] = p
	}
	return out, nil
}

// readAt reads key in t, with its existence or non-existence proof when
// prove is set.
func readAt(t *iavl.ImmutableTree, key []byte, prove bool) (*Proven, error) {
	val, err := t.Get(key)
	if err != nil {
		return nil, fmt.Errorf("read key at version %d: %w", t.Version(), err)
	}
	p := &Proven{Key: key, Value: val, Exists: val != nil, Version: t.Version()}
	if prove {
		if p.Proof, err = t.GetProof(key); err != nil {
			return nil, fmt.Errorf("proof at version %d: %w", t.Version(), err)
		}
	}
	return p, nil
}
