package store

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	corestore "cosmossdk.io/core/store"
	"github.com/cosmos/iavl"
	idb "github.com/cosmos/iavl/db"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/veil-network/veil/chain/types"
)

// Pruning decides which committed versions stay queryable (with proofs).
type Pruning struct {
	// KeepRecent versions are always kept; 0 keeps every version (archive).
	KeepRecent int64 `json:"keep_recent"`
	// Interval runs pruning every Interval commits, amortising its cost.
	Interval int64 `json:"interval"`
}

// DefaultPruning keeps about a day of 1-second blocks, enough for light
// clients and relayers that fall behind, without unbounded growth.
var DefaultPruning = Pruning{KeepRecent: 100_000, Interval: 100}

// Options configure the on-disk tree.
type Options struct {
	Pruning Pruning
	// CacheSize is the IAVL node cache size in nodes.
	CacheSize int
}

// Tree is the committed state: an IAVL tree with fast index on goleveldb.
// The mutable working tree belongs to the consensus connection (one
// goroutine at a time); Committed, Version, Hash and GetProven serve
// concurrent readers (mempool, queries, API) from an immutable snapshot of
// the latest committed version.
type Tree struct {
	db   *idb.GoLevelDB
	tree *iavl.MutableTree
	opts Options

	mu sync.RWMutex // guards latest, version, hash
	// saving is held for writing while a version is saved (and pruned) and
	// for reading by every snapshot read: IAVL serves reads of the latest
	// version from its fast index, which SaveVersion rewrites.
	saving  sync.RWMutex
	latest  *iavl.ImmutableTree
	version int64
	hash    []byte
}

// Open loads (or creates) the tree in dir/state.db at its latest version.
func Open(dir string, opts Options, log *slog.Logger) (*Tree, error) {
	db, err := idb.NewGoLevelDB("state", dir)
	if err != nil {
		return nil, fmt.Errorf("open state db in %s: %w", filepath.Join(dir, "state.db"), err)
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 200_000
	}
	t := iavl.NewMutableTree(db, opts.CacheSize, false, iavlLogger{log})
	v, err := t.Load()
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("load state tree: %w", err)
	}
	s := &Tree{db: db, tree: t, opts: opts}
	if err := s.refreshSnapshot(v); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Tree) refreshSnapshot(version int64) error {
	var snap *iavl.ImmutableTree
	var hash []byte
	if version > 0 {
		var err error
		if snap, err = s.tree.GetImmutable(version); err != nil {
			return fmt.Errorf("snapshot version %d: %w", version, err)
		}
		hash = snap.Hash()
	}
	s.mu.Lock()
	s.latest, s.version, s.hash = snap, version, hash
	s.mu.Unlock()
	return nil
}

// Close releases the database.
func (s *Tree) Close() error { return s.db.Close() }

// Version is the latest committed version (= block height).
func (s *Tree) Version() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.version
}

// Hash is the root hash of the latest committed version (nil before the
// first commit).
func (s *Tree) Hash() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.hash
}

// WorkingHash is the root hash including uncommitted writes: the app hash
// returned from FinalizeBlock before Commit persists it.
func (s *Tree) WorkingHash() []byte { return s.tree.WorkingHash() }

// Commit persists the working tree as the next version and prunes.
func (s *Tree) Commit() ([]byte, int64, error) {
	s.saving.Lock()
	defer s.saving.Unlock()
	hash, v, err := s.tree.SaveVersion()
	if err != nil {
		return nil, 0, fmt.Errorf("save state version: %w", err)
	}
	if err := s.refreshSnapshot(v); err != nil {
		return nil, 0, err
	}
	p := s.opts.Pruning
	if p.KeepRecent > 0 && p.Interval > 0 && v%p.Interval == 0 && v > p.KeepRecent {
		if err := s.tree.DeleteVersionsTo(v - p.KeepRecent); err != nil {
			return nil, 0, fmt.Errorf("prune versions up to %d: %w", v-p.KeepRecent, err)
		}
	}
	return hash, v, nil
}

// Rollback drops uncommitted writes.
func (s *Tree) Rollback() { s.tree.Rollback() }

// Working returns the KVStore over the mutable working tree.
func (s *Tree) Working() types.KVStore { return workingStore{s.tree} }

// Committed returns a read-only KVStore over the latest committed version,
// safe to use concurrently with block execution. Writes panic.
func (s *Tree) Committed() types.KVStore {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return snapshotStore{t: s.latest, saving: &s.saving}
}

// ErrVersionUnavailable is returned for pruned or future versions.
var ErrVersionUnavailable = errors.New("state version not available")

// Proven is a value with its ICS23 proof against a version's root.
type Proven struct {
	Key, Value []byte
	Exists     bool
	Version    int64
	Root       []byte
	Proof      *ics23.CommitmentProof
}

// at returns the immutable tree of a committed version (0 = latest). The
// caller holds s.saving for reading.
func (s *Tree) at(version int64) (*iavl.ImmutableTree, error) {
	s.mu.RLock()
	latest := s.latest
	s.mu.RUnlock()
	if latest == nil {
		return nil, fmt.Errorf("%w: nothing committed yet", ErrVersionUnavailable)
	}
	if version == 0 || version == latest.Version() {
		return latest, nil
	}
	t, err := s.tree.GetImmutable(version)
	if err != nil {
		return nil, fmt.Errorf("%w: %d (latest %d): %v", ErrVersionUnavailable, version, latest.Version(), err)
	}
	return t, nil
}

// GetProven reads key at version (0 = latest committed) with an existence
// or non-existence proof when prove is set.
func (s *Tree) GetProven(key []byte, version int64, prove bool) (*Proven, error) {
	s.saving.RLock()
	defer s.saving.RUnlock()
	t, err := s.at(version)
	if err != nil {
		return nil, err
	}
	p, err := readAt(t, key, prove)
	if err != nil {
		return nil, err
	}
	p.Root = t.Hash()
	return p, nil
}

// VerifyProof checks an ICS23 proof for key (and value, when it exists)
// against root with the IAVL proof spec. The worker's light client uses the
// same function on app hashes it verified.
func VerifyProof(root []byte, proof *ics23.CommitmentProof, key, value []byte) error {
	if proof == nil {
		return errors.New("missing proof")
	}
	if value != nil {
		if !ics23.VerifyMembership(ics23.IavlSpec, root, proof, key, value) {
			return errors.New("membership proof does not verify against the root")
		}
		return nil
	}
	if !ics23.VerifyNonMembership(ics23.IavlSpec, root, proof, key) {
		return errors.New("non-membership proof does not verify against the root")
	}
	return nil
}

type workingStore struct{ t *iavl.MutableTree }

func fail(op string, err error) {
	panic(&types.StoreFailure{Err: fmt.Errorf("%s: %w", op, err)})
}

func (w workingStore) Get(key []byte) []byte {
	v, err := w.t.Get(key)
	if err != nil {
		fail("get", err)
	}
	return v
}
func (w workingStore) Has(key []byte) bool { return w.Get(key) != nil }
func (w workingStore) Set(key, value []byte) {
	if _, err := w.t.Set(key, value); err != nil {
		fail("set", err)
	}
}
func (w workingStore) Delete(key []byte) {
	if _, _, err := w.t.Remove(key); err != nil {
		fail("delete", err)
	}
}
func (w workingStore) Iterate(prefix []byte, fn func(key, value []byte) bool) {
	it, err := w.t.Iterator(prefix, types.PrefixEnd(prefix), true)
	iterate(it, err, fn)
}

// iterate drives an IAVL iterator, raising backend errors as store failures.
func iterate(it corestore.Iterator, err error, fn func(key, value []byte) bool) {
	if err != nil {
		fail("iterate", err)
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		if !fn(it.Key(), it.Value()) {
			return
		}
	}
	if err := it.Error(); err != nil {
		fail("iterate", err)
	}
}

type snapshotStore struct {
	t      *iavl.ImmutableTree
	saving *sync.RWMutex
}

func (s snapshotStore) Get(key []byte) []byte {
	if s.t == nil {
		return nil
	}
	s.saving.RLock()
	defer s.saving.RUnlock()
	v, err := s.t.Get(key)
	if err != nil {
		fail("get", err)
	}
	return v
}
func (s snapshotStore) Has(key []byte) bool { return s.Get(key) != nil }
func (s snapshotStore) Set(key, value []byte) {
	panic("store: write to a committed snapshot")
}
func (s snapshotStore) Delete(key []byte) { panic("store: delete in a committed snapshot") }

// snapshotChunk bounds how many entries Iterate reads under one hold of
// the read lock.
const snapshotChunk = 256

// Iterate reads the range in chunks under the read lock and calls fn on
// each chunk after releasing it, so fn may read the store again without a
// recursive read lock (which would deadlock behind a waiting Commit), and
// a caller that stops early (a paginated query) reads little more than it
// uses. Every chunk reads the same version, even if a commit falls
// between two of them.
func (s snapshotStore) Iterate(prefix []byte, fn func(key, value []byte) bool) {
	if s.t == nil {
		return
	}
	start, end := prefix, types.PrefixEnd(prefix)
	for {
		kvs := s.chunk(start, end)
		for _, kv := range kvs {
			if !fn(kv[0], kv[1]) {
				return
			}
		}
		if len(kvs) < snapshotChunk {
			return
		}
		start = append(bytes.Clone(kvs[len(kvs)-1][0]), 0) // strictly after
	}
}

// chunk reads up to snapshotChunk entries of [start, end).
func (s snapshotStore) chunk(start, end []byte) [][2][]byte {
	s.saving.RLock()
	defer s.saving.RUnlock()
	var kvs [][2][]byte
	it, err := s.t.Iterator(start, end, true)
	iterate(it, err, func(k, v []byte) bool {
		kvs = append(kvs, [2][]byte{k, v})
		return len(kvs) < snapshotChunk
	})
	return kvs
}

// iavlLogger adapts slog to IAVL's logger interface.
type iavlLogger struct{ l *slog.Logger }

func (l iavlLogger) Debug(msg string, kv ...any) {}
func (l iavlLogger) Info(msg string, kv ...any) {
	if l.l != nil {
		l.l.Debug(msg, kv...)
	}
}
func (l iavlLogger) Warn(msg string, kv ...any) {
	if l.l != nil {
		l.l.Warn(msg, kv...)
	}
}
func (l iavlLogger) Error(msg string, kv ...any) {
	if l.l != nil {
		l.l.Error(msg, kv...)
	}
}
