// Package sealfile stores small secret files encrypted under a TEE sealing
// key (attest.Platform.SealingKey): the layout the worker uses for its key
// file and sync checkpoint, shared here so that new sealed files (the
// gatekeeper's master-key history) need not copy it.
//
// Layout: magic || 12-byte random nonce || AES-256-GCM(plaintext), with
// magic || label as additional data, so that a file sealed for another
// purpose or format version (another magic or label) does not open even
// under the same key. Sealing gives confidentiality and integrity, not
// freshness: the host can put back an older file.
package sealfile

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNotSealed reports data that does not open with this key, magic and
// label: another machine or code measurement, another kind of file,
// corruption or tampering.
var ErrNotSealed = errors.New("sealed file does not open on this platform")

// Seal encrypts pt as magic || nonce || AES-256-GCM(pt) with additional
// data magic || label. key is a 32-byte sealing key.
func Seal(key []byte, magic, label string, pt []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("sealing nonce: %w", err)
	}
	out := make([]byte, 0, len(magic)+len(nonce)+len(pt)+aead.Overhead())
	out = append(append(out, magic...), nonce...)
	return aead.Seal(out, nonce, pt, []byte(magic+label)), nil
}

// Open decrypts what Seal produced. It never panics on arbitrary input;
// every failure to open wraps ErrNotSealed. The caller clears the result
// if it is secret.
func Open(key []byte, magic, label string, data []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(data) < len(magic)+aead.NonceSize()+aead.Overhead() || string(data[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: not a Veil sealed file of this kind", ErrNotSealed)
	}
	nonce := data[len(magic) : len(magic)+aead.NonceSize()]
	pt, err := aead.Open(nil, nonce, data[len(magic)+aead.NonceSize():], []byte(magic+label))
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrNotSealed)
	}
	return pt, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("sealing key has %d bytes, want 32", len(key))
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealing cipher: %w", err)
	}
	return cipher.NewGCM(b)
}

// ReadLimited reads a file of at most limit bytes; a larger file is an
// error (a host cannot make the reader allocate without bound).
func ReadLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than %d", path, fi.Size(), limit)
	}
	buf := make([]byte, fi.Size())
	if _, err := f.ReadAt(buf, 0); err != nil && fi.Size() > 0 {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return buf, nil
}

// WriteAtomic replaces path with data: it writes a temporary file in the
// same directory with mode, syncs it, renames it over path and syncs the
// directory, so that a crash leaves either the old file or the new one,
// never a torn one.
func WriteAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Make the rename itself durable. Best effort: some file systems
	// refuse to sync a directory, and the data is already safe.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
