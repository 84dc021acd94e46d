// Package store holds Veil's state: one IAVL tree (the app hash is its root)
// and write caches layered over it so that a failed transaction leaves no
// trace.
package store

import (
	"bytes"
	"slices"

	"github.com/veil-network/veil/chain/types"
)

// Cache buffers writes over a parent store until Write. Transactions run in
// a Cache so their writes are dropped on failure; blocks run in one so the
// tree sees each key written once, in sorted order.
type Cache struct {
	parent types.KVStore
	// entries holds pending writes; a nil value marks a deletion.
	entries map[string][]byte
}

// NewCache returns an empty cache over parent.
func NewCache(parent types.KVStore) *Cache {
	return &Cache{parent: parent, entries: make(map[string][]byte)}
}

var _ types.KVStore = (*Cache)(nil)

// Get returns the pending value, else the parent's.
func (c *Cache) Get(key []byte) []byte {
	if v, ok := c.entries[string(key)]; ok {
		return v
	}
	return c.parent.Get(key)
}

// Has reports whether key has a value.
func (c *Cache) Has(key []byte) bool { return c.Get(key) != nil }

// Set buffers a write. Values are copied: callers may reuse buffers.
func (c *Cache) Set(key, value []byte) {
	if value == nil {
		value = []byte{}
	}
	c.entries[string(key)] = bytes.Clone(value)
}

// Delete buffers a deletion.
func (c *Cache) Delete(key []byte) { c.entries[string(key)] = nil }

// Iterate merges pending writes with the parent's keys in ascending order.
func (c *Cache) Iterate(prefix []byte, fn func(key, value []byte) bool) {
	pending := c.sortedKeys(prefix)
	i := 0
	stopped := false
	emitPendingBefore := func(limit []byte) bool {
		for i < len(pending) && (limit == nil || pending[i] < string(limit)) {
			k := pending[i]
			i++
			if v := c.entries[k]; v != nil {
				if !fn([]byte(k), v) {
					return false
				}
			}
		}
		return true
	}
	c.parent.Iterate(prefix, func(key, value []byte) bool {
		if !emitPendingBefore(key) {
			stopped = true
			return false
		}
		if i < len(pending) && pending[i] == string(key) {
			// Overridden or deleted here; emitted (or skipped) from the cache.
			k := pending[i]
			i++
			if v := c.entries[k]; v != nil && !fn(key, v) {
				stopped = true
				return false
			}
			return true
		}
		if !fn(key, value) {
			stopped = true
			return false
		}
		return true
	})
	if !stopped {
		emitPendingBefore(nil)
	}
}

func (c *Cache) sortedKeys(prefix []byte) []string {
	keys := make([]string, 0, len(c.entries))
	for k := range c.entries {
		if len(k) >= len(prefix) && k[:len(prefix)] == string(prefix) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Write flushes pending writes to the parent in ascending key order and
// empties the cache.
func (c *Cache) Write() {
	for _, k := range c.sortedKeys(nil) {
		if v := c.entries[k]; v == nil {
			c.parent.Delete([]byte(k))
		} else {
			c.parent.Set([]byte(k), v)
		}
	}
	clear(c.entries)
}

// Discard drops pending writes.
func (c *Cache) Discard() { clear(c.entries) }

// Len is the number of pending writes.
func (c *Cache) Len() int { return len(c.entries) }
