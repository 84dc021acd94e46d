package executor

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/worker/runtime"
)

// Storage layout of the executor's database (HOME/contracts/state.db, or
// an in-memory database when the platform has no sealing key). Every value
// is ciphertext except contract code, which is public (it is on chain):
//
//	"code/" || code_hash                 the wasm module, plaintext
//	"k/" || id                           contract record: epoch, code hash,
//	                                     assigned flag and the contract's
//	                                     ContractSecrets, sealed with the
//	                                     platform sealing key
//	"p/" || id                           position: next sequence, height and
//	                                     time of the last executed message,
//	                                     sealed under the state key
//	"r/" || id || seq (u64 BE)           receipt: reader || receipt JSON,
//	                                     sealed under the state key
//	"n/" || id || HKDF(k, caller)        a caller's last command nonce,
//	                                     sealed under the state key
//	"s/" || id || <EncryptedStorage>     the contract state (runtime's
//	                                     EncryptedStorage layout)
//
// The keys sealed "under the state key" use AES-256-GCM keys derived from
// the contract's state key with HKDF-SHA256 and their own labels, and
// authenticate the database key as additional data, so a record moved to
// another slot (another contract, another sequence) fails to open.
const (
	prefixCode     = "code/"
	prefixKeys     = "k/"
	prefixPosition = "p/"
	prefixReceipt  = "r/"
	prefixNonce    = "n/"
	prefixState    = "s/"
)

// HKDF labels of the executor's sealing keys.
const (
	// LabelSealedKeys derives (from the platform) the key that seals the
	// contract secrets on disk.
	LabelSealedKeys  = "veil/worker/sealed-contract-keys/v1"
	labelReceipts    = "veil/contract/receipts/v1"
	labelNonces      = "veil/contract/nonces/v1"
	labelNonceIndex  = "veil/contract/nonce-index/v1"
	labelPosition    = "veil/contract/position/v1"
	labelCallRandom  = "veil/contract/call-random/v1"
	labelQueryRandom = "veil/contract/query-random/v1"
)

// errNotFound is a missing database entry.
var errNotFound = errors.New("not found")

func key(prefix string, parts ...[]byte) []byte {
	n := len(prefix)
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	k = append(k, prefix...)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// sealer is an AES-256-GCM key with random nonces: value = nonce || ct.
type sealer struct{ aead cipher.AEAD }

func newSealer(secret []byte, label string) (*sealer, error) {
	k, err := hkdf.Key(sha256.New, secret, nil, label, 32)
	if err != nil {
		return nil, fmt.Errorf("derive %s: %w", label, err)
	}
	defer clear(k)
	b, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("cipher %s: %w", label, err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		return nil, fmt.Errorf("cipher %s: %w", label, err)
	}
	return &sealer{aead: a}, nil
}

func (s *sealer) seal(pt, ad []byte) []byte {
	out := make([]byte, 12, 12+len(pt)+s.aead.Overhead())
	_, _ = rand.Read(out) // never fails since Go 1.24
	return s.aead.Seal(out, out[:12], pt, ad)
}

func (s *sealer) open(ct, ad []byte) ([]byte, error) {
	if len(ct) < 12+s.aead.Overhead() {
		return nil, fmt.Errorf("%w: sealed record of %d bytes", runtime.ErrStorage, len(ct))
	}
	pt, err := s.aead.Open(nil, ct[:12], ct[12:], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: sealed record fails authentication", runtime.ErrStorage)
	}
	return pt, nil
}

// stateKV is one contract's slice of the database as a runtime.KV. It
// never writes to the database itself: while a message commits, the
// EncryptedStorage.Apply it triggers is staged (stage/unstage), and the
// committed writes then join the contract's pending overlay (merge),
// which reads see at once and the executor writes, with the rest of the
// dispatch batch, in one synchronous database batch (commitPending,
// batch.go).
type stateKV struct {
	db     dbm.DB
	prefix []byte

	mu      sync.RWMutex
	staging bool
	stage   []runtime.Write
	// pending holds the writes of executed messages not yet in the
	// database: key (without prefix) → value or deletion.
	pending map[string]pendingValue
}

// pendingValue is a pending write: a value, or a deletion.
type pendingValue struct {
	v   []byte
	del bool
}

// Get reads the pending overlay, then the database. The returned slice
// must not be modified (EncryptedStorage only decrypts it).
func (kv *stateKV) Get(k []byte) ([]byte, bool, error) {
	kv.mu.RLock()
	pv, ok := kv.pending[string(k)]
	kv.mu.RUnlock()
	if ok {
		return pv.v, !pv.del, nil
	}
	v, err := kv.db.Get(key(string(kv.prefix), k))
	if err != nil {
		return nil, false, err
	}
	return v, v != nil, nil
}

// Iterate visits the database's entries that the overlay does not
// override, then the overlay's values (runtime.KV allows any order).
func (kv *stateKV) Iterate(fn func(k, v []byte) error) error {
	kv.mu.RLock()
	over := make(map[string]pendingValue, len(kv.pending))
	for k, pv := range kv.pending {
		over[k] = pv
	}
	kv.mu.RUnlock()
	it, err := kv.db.Iterator(kv.prefix, types.PrefixEnd(kv.prefix))
	if err != nil {
		return err
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		k := it.Key()[len(kv.prefix):]
		if _, ok := over[string(k)]; ok {
			continue
		}
		if err := fn(k, it.Value()); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return err
	}
	for k, pv := range over {
		if pv.del {
			continue
		}
		if err := fn([]byte(k), pv.v); err != nil {
			return err
		}
	}
	return nil
}

// errUnstagedWrite: the store was written outside a message's commit,
// which the executor never does (every state change belongs to a
// message, so it must be in that message's atomic commit).
var errUnstagedWrite = errors.New("executor: contract state written outside a message commit")

// Write stages ws (EncryptedStorage.Apply's batch: fresh slices, kept
// without copying). It never fails while staging.
func (kv *stateKV) Write(ws []runtime.Write) error {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if !kv.staging {
		return errUnstagedWrite
	}
	kv.stage = append(kv.stage, ws...)
	return nil
}

// startStage makes Write collect into the stage until unstage.
func (kv *stateKV) startStage() {
	kv.mu.Lock()
	kv.staging, kv.stage = true, nil
	kv.mu.Unlock()
}

// unstage ends staging and returns what was staged.
func (kv *stateKV) unstage() []runtime.Write {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	st := kv.stage
	kv.staging, kv.stage = false, nil
	return st
}

// merge adds a committed message's staged writes to the pending overlay
// and returns their size in bytes.
func (kv *stateKV) merge(ws []runtime.Write) int {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if kv.pending == nil {
		kv.pending = map[string]pendingValue{}
	}
	n := 0
	for _, w := range ws {
		kv.pending[string(w.Key)] = pendingValue{v: w.Value, del: w.Delete}
		n += len(w.Key) + len(w.Value)
	}
	return n
}

// writePending adds the pending overlay to the database batch b.
func (kv *stateKV) writePending(b dbm.Batch) error {
	kv.mu.RLock()
	defer kv.mu.RUnlock()
	for k, pv := range kv.pending {
		var err error
		if pv.del {
			err = b.Delete(key(string(kv.prefix), []byte(k)))
		} else {
			err = b.Set(key(string(kv.prefix), []byte(k)), pv.v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// clearPending drops the overlay: it is in the database now, or it was
// rolled back.
func (kv *stateKV) clearPending() {
	kv.mu.Lock()
	kv.pending = nil
	kv.mu.Unlock()
}

// deferredStorage is the Storage a command runs against: reads go to the
// committed state, and the call's single Apply (made by Module.Call on
// success) is only recorded, so the executor applies it later under the
// contract's write lock, inside the command's atomic batch.
type deferredStorage struct {
	st     *runtime.EncryptedStorage
	writes []runtime.Write
}

func (d *deferredStorage) Get(k []byte) ([]byte, bool, error) { return d.st.Get(k) }
func (d *deferredStorage) Next(p, a []byte) ([]byte, bool, error) {
	return d.st.Next(p, a)
}
func (d *deferredStorage) Apply(ws []runtime.Write) error {
	d.writes = append(d.writes, ws...)
	return nil
}

// readOnlyStorage refuses writes: the runtime never applies a query's
// writes, and this makes sure of it.
type readOnlyStorage struct{ st *runtime.EncryptedStorage }

func (r readOnlyStorage) Get(k []byte) ([]byte, bool, error) { return r.st.Get(k) }
func (r readOnlyStorage) Next(p, a []byte) ([]byte, bool, error) {
	return r.st.Next(p, a)
}
func (r readOnlyStorage) Apply([]runtime.Write) error { return runtime.ErrReadOnly }
