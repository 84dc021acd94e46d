package executor

import (
	"bytes"
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

// stateKV is one contract's slice of the database as a runtime.KV. While
// a command commits, its writes are buffered into the command's batch
// (begin/end) instead of written: EncryptedStorage.Apply then lands in the
// same atomic database write as the receipt, the nonce and the position.
type stateKV struct {
	db     dbm.DB
	prefix []byte

	mu    sync.Mutex
	batch dbm.Batch // non-nil while buffering
}

func (kv *stateKV) Get(k []byte) ([]byte, bool, error) {
	v, err := kv.db.Get(key(string(kv.prefix), k))
	if err != nil {
		return nil, false, err
	}
	return v, v != nil, nil
}

func (kv *stateKV) Iterate(fn func(k, v []byte) error) error {
	it, err := kv.db.Iterator(kv.prefix, types.PrefixEnd(kv.prefix))
	if err != nil {
		return err
	}
	defer it.Close()
	for ; it.Valid(); it.Next() {
		if err := fn(it.Key()[len(kv.prefix):], it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}

func (kv *stateKV) Write(ws []runtime.Write) error {
	kv.mu.Lock()
	b := kv.batch
	kv.mu.Unlock()
	direct := b == nil
	if direct {
		b = kv.db.NewBatch()
		defer b.Close()
	}
	for _, w := range ws {
		k := key(string(kv.prefix), w.Key)
		var err error
		if w.Delete {
			err = b.Delete(k)
		} else {
			err = b.Set(k, bytes.Clone(w.Value))
		}
		if err != nil {
			return err
		}
	}
	if direct {
		return b.WriteSync()
	}
	return nil
}

// buffer makes Write add to b until unbuffer.
func (kv *stateKV) buffer(b dbm.Batch) {
	kv.mu.Lock()
	kv.batch = b
	kv.mu.Unlock()
}

func (kv *stateKV) unbuffer() { kv.buffer(nil) }

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
