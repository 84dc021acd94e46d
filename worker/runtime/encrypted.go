package runtime

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
)

// KV is the untrusted byte store under an EncryptedStorage: whatever the
// worker persists outside the TEE (a database, sealed checkpoint files, a
// map in tests). Everything it holds is ciphertext or a keyed hash.
type KV interface {
	Get(key []byte) (value []byte, ok bool, err error)
	// Iterate calls fn for every entry, in any order.
	Iterate(fn func(key, value []byte) error) error
	// Write applies a batch atomically.
	Write(batch []Write) error
}

// MemKV is an in-memory KV, safe for concurrent use.
type MemKV struct {
	mu sync.RWMutex
	m  map[string][]byte
}

// NewMemKV returns an empty MemKV.
func NewMemKV() *MemKV { return &MemKV{m: map[string][]byte{}} }

// Get implements KV.
func (kv *MemKV) Get(key []byte) ([]byte, bool, error) {
	kv.mu.RLock()
	defer kv.mu.RUnlock()
	v, ok := kv.m[string(key)]
	return bytes.Clone(v), ok, nil
}

// Iterate implements KV, in key order (handy for digests).
func (kv *MemKV) Iterate(fn func(key, value []byte) error) error {
	kv.mu.RLock()
	keys := make([]string, 0, len(kv.m))
	for k := range kv.m {
		keys = append(keys, k)
	}
	vals := make([][]byte, len(keys))
	slices.Sort(keys)
	for i, k := range keys {
		vals[i] = kv.m[k]
	}
	kv.mu.RUnlock()
	for i, k := range keys {
		if err := fn([]byte(k), vals[i]); err != nil {
			return err
		}
	}
	return nil
}

// Write implements KV.
func (kv *MemKV) Write(batch []Write) error {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	for _, w := range batch {
		if w.Delete {
			delete(kv.m, string(w.Key))
		} else {
			kv.m[string(w.Key)] = bytes.Clone(w.Value)
		}
	}
	return nil
}

// EncryptedStorage is a Storage whose entries are encrypted at rest with
// the contract's state key (architecture decision 9: the 32-byte key
// derived with info "veil/contract/<id>/state").
//
// Layout in the KV, all deterministic so every worker that applies the
// same writes in the same order holds byte-identical ciphertext (and so
// any digest over it, e.g. a state root, is reproducible):
//
//	entry key:   'e' || HMAC-SHA256(kIndex, key)              (33 bytes)
//	entry value: 0x01 || seq (8, BE) || nonce (12) || AES-256-GCM(kAEAD,
//	             nonce, u32be(len(key)) || key || value, aad = entry key || seq)
//	meta:        'm' -> seq (8, BE), the last sequence number used
//
// seq counts every Set the store has applied, so each encryption has a
// distinct (entry key, seq) pair. The nonce is a synthetic IV:
// HMAC-SHA256(kNonce, seq || entry key || plaintext) truncated to 96
// bits. Deriving it from the plaintext as well as from key and version
// keeps the scheme safe if the untrusted host rolls the KV back and the
// same (key, seq) is later written with a different value: a different
// plaintext gets a different nonce, so GCM never sees a reused nonce
// with different data. The cost is the synthetic-IV one: identical
// (seq, key, value) encrypt identically, which reveals nothing new.
//
// What it does not hide: the number of entries, which hashed slot each
// write touches, and value sizes (no padding). Keys are hidden.
//
// The plaintext key index (for ordered iteration) lives only in memory,
// rebuilt by decrypting every entry at open; values are decrypted on
// each Get.
type EncryptedStorage struct {
	kv             KV
	aead           cipher.AEAD
	kIndex, kNonce []byte
	mu             sync.RWMutex
	keys           []string // sorted plaintext keys
	seq            uint64
}

const (
	encFormatV1 = 0x01
	encHeader   = 1 + 8 + 12
)

// metaKey holds the store's sequence number.
const metaKey = "m"

// OpenEncrypted opens (or initialises, if kv is empty) an encrypted store
// over kv with the contract's 32-byte state key. It authenticates every
// entry; any tampered or foreign entry fails the open.
func OpenEncrypted(kv KV, stateKey []byte) (*EncryptedStorage, error) {
	if len(stateKey) != 32 {
		return nil, fmt.Errorf("runtime: state key must be 32 bytes, got %d", len(stateKey))
	}
	derive := func(info string) ([]byte, error) {
		return hkdf.Key(sha256.New, stateKey, nil, info, 32)
	}
	kAEAD, err := derive("veil/state/v1/aead")
	if err != nil {
		return nil, fmt.Errorf("runtime: derive state keys: %w", err)
	}
	s := &EncryptedStorage{kv: kv}
	if s.kIndex, err = derive("veil/state/v1/index"); err != nil {
		return nil, fmt.Errorf("runtime: derive state keys: %w", err)
	}
	if s.kNonce, err = derive("veil/state/v1/nonce"); err != nil {
		return nil, fmt.Errorf("runtime: derive state keys: %w", err)
	}
	block, err := aes.NewCipher(kAEAD)
	if err != nil {
		return nil, fmt.Errorf("runtime: state cipher: %w", err)
	}
	if s.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("runtime: state cipher: %w", err)
	}
	err = kv.Iterate(func(k, v []byte) error {
		switch {
		case string(k) == metaKey:
			if len(v) != 8 {
				return fmt.Errorf("%w: bad sequence record", ErrStorage)
			}
			s.seq = binary.BigEndian.Uint64(v)
		case len(k) == 33 && k[0] == 'e':
			key, _, err := s.open(k, v)
			if err != nil {
				return err
			}
			s.keys = append(s.keys, string(key))
		default:
			return fmt.Errorf("%w: unexpected entry of %d bytes in encrypted store", ErrStorage, len(k))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("runtime: open encrypted state: %w", err)
	}
	slices.Sort(s.keys)
	return s, nil
}

func (s *EncryptedStorage) entryKey(key []byte) []byte {
	mac := hmac.New(sha256.New, s.kIndex)
	mac.Write(key)
	return mac.Sum([]byte{'e'})
}

// open authenticates and decrypts one entry.
func (s *EncryptedStorage) open(ek, rec []byte) (key, value []byte, err error) {
	if len(rec) < encHeader+s.aead.Overhead() || rec[0] != encFormatV1 {
		return nil, nil, fmt.Errorf("%w: malformed encrypted entry", ErrStorage)
	}
	seq := rec[1:9]
	aad := append(bytes.Clone(ek), seq...)
	pt, err := s.aead.Open(nil, rec[9:21], rec[21:], aad)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: entry fails authentication: %w", ErrStorage, err)
	}
	if len(pt) < 4 {
		return nil, nil, fmt.Errorf("%w: short plaintext", ErrStorage)
	}
	kl := binary.BigEndian.Uint32(pt)
	if uint64(kl) > uint64(len(pt)-4) {
		return nil, nil, fmt.Errorf("%w: bad key length", ErrStorage)
	}
	key, value = pt[4:4+kl], pt[4+kl:]
	if !hmac.Equal(s.entryKey(key), ek) {
		// An authentic ciphertext moved to another slot.
		return nil, nil, fmt.Errorf("%w: entry under the wrong key", ErrStorage)
	}
	return key, value, nil
}

func (s *EncryptedStorage) seal(ek, key, value []byte, seq uint64) []byte {
	pt := make([]byte, 4, 4+len(key)+len(value))
	binary.BigEndian.PutUint32(pt, uint32(len(key)))
	pt = append(append(pt, key...), value...)
	var seqb [8]byte
	binary.BigEndian.PutUint64(seqb[:], seq)
	mac := hmac.New(sha256.New, s.kNonce)
	mac.Write(seqb[:])
	mac.Write(ek)
	mac.Write(pt)
	nonce := mac.Sum(nil)[:12]
	rec := make([]byte, 0, encHeader+len(pt)+s.aead.Overhead())
	rec = append(rec, encFormatV1)
	rec = append(rec, seqb[:]...)
	rec = append(rec, nonce...)
	aad := append(bytes.Clone(ek), seqb[:]...)
	return s.aead.Seal(rec, nonce, pt, aad)
}

// Get implements Storage.
func (s *EncryptedStorage) Get(key []byte) ([]byte, bool, error) {
	ek := s.entryKey(key)
	rec, ok, err := s.kv.Get(ek)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	if !ok {
		return nil, false, nil
	}
	k, v, err := s.open(ek, rec)
	if err != nil {
		return nil, false, err
	}
	if !bytes.Equal(k, key) {
		return nil, false, fmt.Errorf("%w: entry key mismatch", ErrStorage)
	}
	return v, true, nil
}

// Next implements Storage.
func (s *EncryptedStorage) Next(prefix, after []byte) ([]byte, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := nextInSorted(s.keys, prefix, after)
	return []byte(k), ok, nil
}

// Apply implements Storage: one atomic KV batch holding every entry and
// the new sequence number.
func (s *EncryptedStorage) Apply(writes []Write) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.seq
	batch := make([]Write, 0, len(writes)+1)
	for _, w := range writes {
		if len(w.Key) == 0 {
			return errors.New("runtime: empty storage key")
		}
		ek := s.entryKey(w.Key)
		if w.Delete {
			batch = append(batch, Write{Key: ek, Delete: true})
			continue
		}
		seq++
		batch = append(batch, Write{Key: ek, Value: s.seal(ek, w.Key, w.Value, seq)})
	}
	var seqb [8]byte
	binary.BigEndian.PutUint64(seqb[:], seq)
	batch = append(batch, Write{Key: []byte(metaKey), Value: seqb[:]})
	if err := s.kv.Write(batch); err != nil {
		return fmt.Errorf("%w: %w", ErrStorage, err)
	}
	s.seq = seq
	for _, w := range writes {
		if w.Delete {
			s.keys = removeSorted(s.keys, string(w.Key))
		} else {
			s.keys = insertSorted(s.keys, string(w.Key))
		}
	}
	return nil
}

// Digest is SHA-256 over the KV's entries in key order (each as
// u32be(len) || bytes for key then value): a reproducible fingerprint of
// the encrypted state, equal on every worker that applied the same
// writes in the same order.
func (s *EncryptedStorage) Digest() ([32]byte, error) {
	type kvp struct{ k, v []byte }
	var all []kvp
	err := s.kv.Iterate(func(k, v []byte) error {
		all = append(all, kvp{bytes.Clone(k), bytes.Clone(v)})
		return nil
	})
	if err != nil {
		return [32]byte{}, fmt.Errorf("%w: %w", ErrStorage, err)
	}
	sort.Slice(all, func(i, j int) bool { return bytes.Compare(all[i].k, all[j].k) < 0 })
	h := sha256.New()
	var l [4]byte
	for _, e := range all {
		binary.BigEndian.PutUint32(l[:], uint32(len(e.k)))
		h.Write(l[:])
		h.Write(e.k)
		binary.BigEndian.PutUint32(l[:], uint32(len(e.v)))
		h.Write(l[:])
		h.Write(e.v)
	}
	var d [32]byte
	h.Sum(d[:0])
	return d, nil
}
