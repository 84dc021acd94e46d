package runtime

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Storage is a contract's key-value state as the runtime sees it: plain
// keys and values, ordered by key (bytewise). The runtime never writes
// through it during a call: it reads with Get and Next, buffers every
// write, and hands the complete write set to Apply only when the call
// succeeds (and is not a query). A reverted, trapped or out-of-gas call
// therefore leaves storage untouched, and a backend only has to make
// Apply atomic to be transactional.
//
// Keys are never empty (the host ABI rejects empty keys), which lets
// Next use an empty "after" to mean "from the start".
type Storage interface {
	// Get returns the value stored under key.
	Get(key []byte) (value []byte, ok bool, err error)
	// Next returns the smallest key that starts with prefix and is
	// strictly greater than after (after empty: the first key with
	// prefix).
	Next(prefix, after []byte) (key []byte, ok bool, err error)
	// Apply performs writes in order, atomically: all or none.
	Apply(writes []Write) error
}

// Write is one buffered state change.
type Write struct {
	Key    []byte
	Value  []byte // ignored when Delete
	Delete bool
}

// MemStorage is an in-memory Storage (plaintext): for tests, for scratch
// state, and as the reference the encrypted store is checked against. It
// is safe for concurrent use.
type MemStorage struct {
	mu   sync.RWMutex
	keys []string // sorted
	vals map[string][]byte
}

// NewMemStorage returns an empty MemStorage.
func NewMemStorage() *MemStorage {
	return &MemStorage{vals: map[string][]byte{}}
}

// Get implements Storage.
func (s *MemStorage) Get(key []byte) ([]byte, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.vals[string(key)]
	return bytes.Clone(v), ok, nil
}

// Next implements Storage.
func (s *MemStorage) Next(prefix, after []byte) ([]byte, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := nextInSorted(s.keys, prefix, after)
	return []byte(k), ok, nil
}

// Apply implements Storage.
func (s *MemStorage) Apply(writes []Write) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range writes {
		k := string(w.Key)
		if w.Delete {
			if _, ok := s.vals[k]; ok {
				delete(s.vals, k)
				s.keys = removeSorted(s.keys, k)
			}
			continue
		}
		if _, ok := s.vals[k]; !ok {
			s.keys = insertSorted(s.keys, k)
		}
		s.vals[k] = bytes.Clone(w.Value)
	}
	return nil
}

// Len returns the number of keys.
func (s *MemStorage) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.keys)
}

// nextInSorted implements Next over a sorted key list.
func nextInSorted(keys []string, prefix, after []byte) (string, bool) {
	p := string(prefix)
	i := sort.SearchStrings(keys, p)
	if len(after) > 0 {
		a := string(after)
		j := sort.Search(len(keys), func(j int) bool { return keys[j] > a })
		i = max(i, j)
	}
	if i < len(keys) && strings.HasPrefix(keys[i], p) {
		return keys[i], true
	}
	return "", false
}

func insertSorted(keys []string, k string) []string {
	i, found := slices.BinarySearch(keys, k)
	if found {
		return keys
	}
	return slices.Insert(keys, i, k)
}

func removeSorted(keys []string, k string) []string {
	i, found := slices.BinarySearch(keys, k)
	if !found {
		return keys
	}
	return slices.Delete(keys, i, i+1)
}

// overlay buffers one call's writes over the committed storage, so reads
// inside the call see its own writes and nothing reaches Storage until
// the call has succeeded.
type overlay struct {
	base   Storage
	writes map[string]*Write
	keys   []string // sorted keys of non-deleted buffered values
	bytes  int      // key+value bytes buffered (bounded by the caller)
}

func newOverlay(base Storage) *overlay {
	return &overlay{base: base, writes: map[string]*Write{}}
}

func (o *overlay) get(key []byte) ([]byte, bool, error) {
	if w, ok := o.writes[string(key)]; ok {
		if w.Delete {
			return nil, false, nil
		}
		return w.Value, true, nil
	}
	if o.base == nil {
		return nil, false, nil
	}
	return o.base.Get(key)
}

func (o *overlay) set(key, value []byte) {
	k := string(key)
	if w, ok := o.writes[k]; ok {
		if w.Delete {
			o.keys = insertSorted(o.keys, k)
		}
		o.bytes += len(value) - len(w.Value)
		w.Value, w.Delete = value, false
		return
	}
	o.writes[k] = &Write{Key: key, Value: value}
	o.keys = insertSorted(o.keys, k)
	o.bytes += len(key) + len(value)
}

func (o *overlay) del(key []byte) {
	k := string(key)
	if w, ok := o.writes[k]; ok {
		if !w.Delete {
			o.keys = removeSorted(o.keys, k)
		}
		o.bytes -= len(w.Value)
		w.Value, w.Delete = nil, true
		return
	}
	o.writes[k] = &Write{Key: key, Delete: true}
	o.bytes += len(key)
}

// next merges the buffered keys with the committed ones: the answer is
// the smaller of the next buffered value and the next committed key that
// the call has not overwritten or deleted.
func (o *overlay) next(prefix, after []byte) ([]byte, bool, error) {
	ok2 := false
	var fromBase []byte
	if o.base != nil {
		cur := after
		for {
			k, ok, err := o.base.Next(prefix, cur)
			if err != nil {
				return nil, false, err
			}
			if !ok {
				break
			}
			if _, shadowed := o.writes[string(k)]; !shadowed {
				fromBase, ok2 = k, true
				break
			}
			cur = k
		}
	}
	own, ok1 := nextInSorted(o.keys, prefix, after)
	switch {
	case ok1 && ok2:
		if own < string(fromBase) {
			return []byte(own), true, nil
		}
		return fromBase, true, nil
	case ok1:
		return []byte(own), true, nil
	case ok2:
		return fromBase, true, nil
	}
	return nil, false, nil
}

// sorted returns the write set in key order, so every worker hands the
// backend the same sequence (the encrypted store's ciphertexts depend on
// the order).
func (o *overlay) sorted() []Write {
	ks := make([]string, 0, len(o.writes))
	for k := range o.writes {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	out := make([]Write, len(ks))
	for i, k := range ks {
		out[i] = *o.writes[k]
	}
	return out
}
