// Package fifoset is a bounded, goroutine-safe set of 32-byte keys that
// forgets its oldest key when full. The node uses it to remember which
// signatures it has verified already (transactions, egress messages):
// validity is a pure function of the signed bytes, so a remembered "valid"
// skips only repeated work and never changes an outcome, and a forgotten
// key is merely verified again.
package fifoset

import "sync"

// Set is the bounded set. The zero value is not usable; use New.
type Set struct {
	mu    sync.Mutex
	set   map[[32]byte]struct{}
	ring  [][32]byte
	head  int
	limit int
}

// New returns a set holding at most limit keys (at least 1).
func New(limit int) *Set {
	limit = max(limit, 1)
	return &Set{set: make(map[[32]byte]struct{}, limit), ring: make([][32]byte, 0, limit), limit: limit}
}

// Has reports whether k is in the set.
func (s *Set) Has(k [32]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.set[k]
	return ok
}

// Add puts k in the set, forgetting the oldest key once full.
func (s *Set) Add(k [32]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.set[k]; ok {
		return
	}
	if len(s.ring) < s.limit {
		s.ring = append(s.ring, k)
	} else {
		delete(s.set, s.ring[s.head])
		s.ring[s.head] = k
		s.head = (s.head + 1) % s.limit
	}
	s.set[k] = struct{}{}
}

// Len is the number of keys held.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.set)
}
