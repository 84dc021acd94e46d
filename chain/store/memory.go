package store

import (
	"bytes"
	"maps"
	"slices"

	"github.com/veil-network/veil/chain/types"
)

// Memory is an in-memory KVStore with sorted iteration, for testing chain
// code without a node or a database.
type Memory struct {
	m map[string][]byte
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{m: map[string][]byte{}} }

var _ types.KVStore = (*Memory)(nil)

// Get implements types.KVStore.
func (s *Memory) Get(k []byte) []byte { return s.m[string(k)] }

// Has implements types.KVStore.
func (s *Memory) Has(k []byte) bool { _, ok := s.m[string(k)]; return ok }

// Set implements types.KVStore (the value is copied).
func (s *Memory) Set(k, v []byte) { s.m[string(k)] = bytes.Clone(v) }

// Delete implements types.KVStore.
func (s *Memory) Delete(k []byte) { delete(s.m, string(k)) }

// Len is the number of keys.
func (s *Memory) Len() int { return len(s.m) }

// Iterate implements types.KVStore in ascending key order.
func (s *Memory) Iterate(prefix []byte, fn func(k, v []byte) bool) {
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		if bytes.HasPrefix([]byte(k), prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !fn([]byte(k), s.m[k]) {
			return
		}
	}
}

// Clone returns a deep copy: keys and values are copied, so neither store
// sees later writes to the other, nor in-place changes to a value slice
// returned by the other's Get or Iterate. Tests take a Clone before running
// a message to check afterwards that a failing message left state untouched.
func (s *Memory) Clone() *Memory {
	c := &Memory{m: make(map[string][]byte, len(s.m))}
	for k, v := range s.m {
		c.m[k] = bytes.Clone(v)
	}
	return c
}

// Equal reports whether s and o hold the same keys with byte-equal values.
// A key set to an empty value is present (Has) and so differs from an absent
// key; a nil and an empty value compare equal, as bytes.Equal has it.
func (s *Memory) Equal(o *Memory) bool {
	return maps.EqualFunc(s.m, o.m, bytes.Equal)
}
