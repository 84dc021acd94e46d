package envelope

import (
	"container/heap"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
)

// ReplayCache remembers the nonces of accepted queries until they expire,
// in memory bounded by a fixed capacity. A query is accepted at most once:
// while its expiry has not passed the cache holds its nonce, and once it
// has passed OpenQuery (and the cache itself) reject it as expired. So
// evicting by expiry never forgets a nonce that could still be replayed,
// and the memory needed is (peak accepted queries/s) × MaxQueryLifetime.
//
// When the cache is full of unexpired nonces it refuses new queries
// (ErrReplayCacheFull) instead of evicting one early, which would reopen
// that query to replay: under overload the worker fails closed.
//
// Time only moves forward for the cache: it keeps the latest "now" it was
// given and evicts and rejects relative to that, so a clock stepping back
// cannot revive an expired, already-forgotten nonce.
//
// The cache is in memory: after a worker restart, queries seen before the
// restart can be replayed until they expire. That is acceptable because
// queries are read-only and every response is sealed under a fresh key
// only the original requester can derive (see ResponseSealer), so a
// replayer learns nothing; a deployment wanting more can delay serving
// after a restart by MaxQueryLifetime.
//
// Entries are keyed by SHA-256(caller || nonce) truncated to 16 bytes, so
// that one caller's nonces never collide with another's (a buggy client
// reusing nonces harms only itself) while an entry stays small (about 76
// bytes including map and heap overhead). ReplayCache is safe for
// concurrent use.
type ReplayCache struct {
	mu       sync.Mutex
	capacity int
	now      int64 // high-water mark, Unix seconds
	seen     map[replayKey]int64
	byExpiry expiryHeap
}

type replayKey [16]byte

type replayEntry struct {
	expiry int64
	key    replayKey
}

// expiryHeap is a min-heap of entries by expiry.
type expiryHeap []replayEntry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expiry < h[j].expiry }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(replayEntry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// NewReplayCache returns a cache holding at most capacity unexpired
// nonces. Size it as peak queries/s × MaxQueryLifetime in seconds (e.g.
// 1,000/s × 600 s = 600,000 entries ≈ 46 MB).
func NewReplayCache(capacity int) (*ReplayCache, error) {
	if capacity <= 0 {
		return nil, fmt.Errorf("envelope: replay cache capacity %d must be positive", capacity)
	}
	return &ReplayCache{capacity: capacity, seen: make(map[replayKey]int64)}, nil
}

func replayKeyOf(q *VerifiedQuery) replayKey {
	var b [accountSize + QueryNonceSize]byte
	copy(b[:], q.Caller.Key[:])
	copy(b[accountSize:], q.Nonce[:])
	sum := sha256.Sum256(b[:])
	return replayKey(sum[:16])
}

// Add records a verified query's nonce, or fails with ErrReplay if it was
// already recorded, ErrExpired if its expiry is not after now (or after
// the latest now seen), or ErrReplayCacheFull.
func (c *ReplayCache) Add(q *VerifiedQuery, now time.Time) error {
	key := replayKeyOf(q)
	exp := q.Expiry.Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = max(c.now, now.Unix())
	c.evictLocked()
	if exp <= c.now {
		return fmt.Errorf("%w: expiry %d, now %d", ErrExpired, exp, c.now)
	}
	if _, dup := c.seen[key]; dup {
		return fmt.Errorf("%w: query nonce %x of %v already seen", ErrReplay, q.Nonce, q.Caller)
	}
	if len(c.seen) >= c.capacity {
		return fmt.Errorf("%w: %d unexpired nonces", ErrReplayCacheFull, len(c.seen))
	}
	c.seen[key] = exp
	heap.Push(&c.byExpiry, replayEntry{expiry: exp, key: key})
	return nil
}

// evictLocked drops every entry whose expiry is not after c.now.
func (c *ReplayCache) evictLocked() {
	for len(c.byExpiry) > 0 && c.byExpiry[0].expiry <= c.now {
		e := heap.Pop(&c.byExpiry).(replayEntry)
		delete(c.seen, e.key)
	}
}

// Len returns the number of nonces held (including any that expired since
// the last Add).
func (c *ReplayCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// Capacity returns the maximum number of nonces held.
func (c *ReplayCache) Capacity() int { return c.capacity }
