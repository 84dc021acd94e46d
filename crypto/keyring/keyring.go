// Package keyring stores account secrets on disk, one passphrase-encrypted
// file per key, so that CLI users can refer to keys by name instead of
// pasting secret phrases into commands.
//
// Each key lives in DIR/NAME.json (mode 0600, DIR mode 0700). The file holds
// plaintext metadata (name, scheme, public key, SS58 address with prefix 42)
// so that List needs no passphrase, and the secret URI encrypted with
// AES-256-GCM under a key derived from the passphrase with argon2id and a
// per-file random salt. The metadata is the AEAD's associated data, so it
// cannot be altered (e.g. to show another address) without detection. See
// docs/keys.md for the format and the reasoning behind the parameters.
package keyring

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/crypto/ss58"
)

// AddressPrefix is the SS58 prefix of the addresses stored in key files and
// returned by List: the generic Substrate prefix, valid on every network.
// Callers that know the network prefix re-encode Entry.PublicKey.
const AddressPrefix = ss58.SubstratePrefix

const (
	fileVersion = 1
	fileSuffix  = ".json"
	kdfName     = "argon2id"
	cipherName  = "aes-256-gcm"
	saltSize    = 16
	// maxFileSize bounds what is read from a key file; real files are
	// under 1 KiB.
	maxFileSize = 64 << 10
	// maxNameLen keeps file names portable.
	maxNameLen = 64
	// checkLabel is MACed with the second half of the derived key; the MAC
	// tells a wrong passphrase apart from a tampered file.
	checkLabel = "veil/keyring/v1/passphrase-check"
	// aadLabel starts the associated data bound to the ciphertext.
	aadLabel = "veil/keyring/v1/entry"
)

// Errors returned (wrapped) by the keyring; test with errors.Is.
var (
	ErrWrongPassphrase = errors.New("wrong passphrase")
	ErrNotFound        = errors.New("no such key")
	ErrExists          = errors.New("key already exists")
	ErrInvalidName     = errors.New("invalid key name")
	ErrEmptyPassphrase = errors.New("passphrase must not be empty")
	ErrCorrupt         = errors.New("key file is corrupt or has been tampered with")
	ErrPermissions     = errors.New("insecure file permissions")
)

// kdfParams are argon2id parameters. The defaults are the second
// recommendation of RFC 9106 §4 (t=3, p=4, m=64 MiB): roughly 0.1-0.2 s
// per unlock (docs/benchmarks.md), which users barely notice and which makes
// each passphrase guess cost an attacker the same time and memory.
type kdfParams struct {
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
}

func defaultKDF() kdfParams { return kdfParams{Time: 3, MemoryKiB: 64 << 10, Threads: 4} }

// validate bounds parameters read from a file, so that a crafted file cannot
// make Get allocate gigabytes or run for minutes.
func (p kdfParams) validate() error {
	switch {
	case p.Threads < 1 || p.Threads > 16:
		return fmt.Errorf("argon2id threads %d outside 1..16", p.Threads)
	case p.Time < 1 || p.Time > 16:
		return fmt.Errorf("argon2id time %d outside 1..16", p.Time)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > 1<<20:
		return fmt.Errorf("argon2id memory %d KiB outside %d..%d", p.MemoryKiB, 8*uint32(p.Threads), 1<<20)
	}
	return nil
}

// Entry describes a stored key. All of it is public.
type Entry struct {
	Name      string
	Scheme    keys.Scheme
	PublicKey keys.PublicKey
	// Address is the SS58 address with AddressPrefix.
	Address string
}

// Keyring is a directory of key files. Its methods are safe for concurrent
// use; concurrent Add calls for one name are resolved atomically (one wins).
type Keyring struct {
	dir string
	kdf kdfParams // parameters for new files; tests lower them
}

// Open opens the keyring in dir, creating the directory (mode 0700) if
// needed. An existing directory that group or others can access is refused
// on Unix: the files are encrypted, but their names and addresses are
// private and a writable directory would let others plant keys.
func Open(dir string) (*Keyring, error) {
	if dir == "" {
		return nil, errors.New("keyring: empty directory path")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring: create %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("keyring: %s is not a directory", dir)
	}
	if insecure(fi.Mode()) {
		return nil, fmt.Errorf("keyring: %w: directory %s has mode %04o, want 0700 (run: chmod 700 %s)", ErrPermissions, dir, fi.Mode().Perm(), dir)
	}
	return &Keyring{dir: dir, kdf: defaultKDF()}, nil
}

// Dir returns the keyring directory.
func (k *Keyring) Dir() string { return k.dir }

// insecure reports group/other permission bits. Windows has no such bits
// (ACLs govern access there), so nothing is insecure by this test.
func insecure(m fs.FileMode) bool {
	return runtime.GOOS != "windows" && m.Perm()&0o077 != 0
}

// ValidateName checks a key name: 1 to 64 characters from [A-Za-z0-9._-],
// not starting with '.' or '-'. Names become file names, so this rules out
// path separators, traversal ("..") and hidden or flag-like files.
func ValidateName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("%w %q: want 1 to %d characters", ErrInvalidName, name, maxNameLen)
	}
	if name[0] == '.' || name[0] == '-' {
		return fmt.Errorf("%w %q: must not start with '.' or '-'", ErrInvalidName, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w %q: only letters, digits, '.', '_' and '-' are allowed", ErrInvalidName, name)
		}
	}
	return nil
}

func (k *Keyring) path(name string) string { return filepath.Join(k.dir, name+fileSuffix) }

// file is the JSON layout of a key file.
type file struct {
	Version    int        `json:"version"`
	Name       string     `json:"name"`
	Scheme     string     `json:"scheme"`
	PublicKey  string     `json:"public_key"`
	Address    string     `json:"address"`
	KDF        fileKDF    `json:"kdf"`
	Cipher     fileCipher `json:"cipher"`
	Check      []byte     `json:"check"`
	Ciphertext []byte     `json:"ciphertext"`
}

type fileKDF struct {
	Name string `json:"name"`
	kdfParams
	Salt []byte `json:"salt"`
}

type fileCipher struct {
	Name  string `json:"name"`
	Nonce []byte `json:"nonce"`
}

// Add encrypts uri under passphrase and stores it as name. It fails with
// ErrExists if name is taken, and validates uri by deriving its key, whose
// public key and address are stored (and returned) as metadata.
func (k *Keyring) Add(name, uri string, scheme keys.Scheme, passphrase []byte) (Entry, error) {
	if err := ValidateName(name); err != nil {
		return Entry{}, fmt.Errorf("keyring: add: %w", err)
	}
	if len(passphrase) == 0 {
		return Entry{}, fmt.Errorf("keyring: add %q: %w", name, ErrEmptyPassphrase)
	}
	signer, err := keys.FromURI(uri, scheme)
	if err != nil {
		return Entry{}, fmt.Errorf("keyring: add %q: %w", name, err)
	}
	pub := signer.Public()
	keys.Wipe(signer)
	if _, err := os.Lstat(k.path(name)); err == nil {
		return Entry{}, fmt.Errorf("keyring: add %q: %w", name, ErrExists)
	}

	e := Entry{Name: name, Scheme: scheme, PublicKey: pub, Address: pub.Address(AddressPrefix)}
	f := file{
		Version:   fileVersion,
		Name:      name,
		Scheme:    string(scheme),
		PublicKey: pub.Hex(),
		Address:   e.Address,
		KDF:       fileKDF{Name: kdfName, kdfParams: k.kdf, Salt: make([]byte, saltSize)},
		Cipher:    fileCipher{Name: cipherName, Nonce: make([]byte, 12)},
	}
	if _, err := rand.Read(f.KDF.Salt); err != nil {
		return Entry{}, fmt.Errorf("keyring: add %q: salt: %w", name, err)
	}
	if _, err := rand.Read(f.Cipher.Nonce); err != nil {
		return Entry{}, fmt.Errorf("keyring: add %q: nonce: %w", name, err)
	}
	aead, check, err := deriveKeys(passphrase, f.KDF)
	if err != nil {
		return Entry{}, fmt.Errorf("keyring: add %q: %w", name, err)
	}
	f.Check = check
	plain := []byte(uri)
	f.Ciphertext = aead.Seal(nil, f.Cipher.Nonce, plain, f.aad())
	clear(plain)

	data, err := json.MarshalIndent(&f, "", "  ")
	if err != nil {
		return Entry{}, fmt.Errorf("keyring: add %q: encode: %w", name, err)
	}
	if err := k.writeNew(name, append(data, '\n')); err != nil {
		return Entry{}, fmt.Errorf("keyring: add %q: %w", name, err)
	}
	return e, nil
}

// writeNew writes data to NAME.json only if it does not exist yet. The data
// goes to a private temporary file first and is hard-linked into place, so
// the key file appears complete or not at all and an existing key is never
// overwritten, even by a concurrent Add.
func (k *Keyring) writeNew(name string, data []byte) error {
	tmp, err := os.CreateTemp(k.dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("chmod temporary file: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write temporary file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync temporary file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close temporary file: %w", err)
	}
	if err := os.Link(tmp.Name(), k.path(name)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return ErrExists
		}
		return fmt.Errorf("link key file: %w", err)
	}
	syncDir(k.dir)
	return nil
}

// syncDir makes the new directory entry durable where the platform allows;
// failure only weakens crash durability, so it is ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// Get decrypts the key name with passphrase and returns its signer. A wrong
// passphrase gives ErrWrongPassphrase; a file whose contents were altered
// gives ErrCorrupt. Call keys.Wipe on the signer when done with it.
func (k *Keyring) Get(name string, passphrase []byte) (keys.Signer, error) {
	f, e, err := k.load(name)
	if err != nil {
		return nil, fmt.Errorf("keyring: get %q: %w", name, err)
	}
	aead, check, err := deriveKeys(passphrase, f.KDF)
	if err != nil {
		return nil, fmt.Errorf("keyring: get %q: %w", name, err)
	}
	if !hmac.Equal(check, f.Check) {
		return nil, fmt.Errorf("keyring: get %q: %w", name, ErrWrongPassphrase)
	}
	plain, err := aead.Open(nil, f.Cipher.Nonce, f.Ciphertext, f.aad())
	if err != nil {
		return nil, fmt.Errorf("keyring: get %q: %w: authentication failed", name, ErrCorrupt)
	}
	signer, err := keys.FromURI(string(plain), e.Scheme)
	clear(plain)
	if err != nil {
		return nil, fmt.Errorf("keyring: get %q: %w: stored secret does not parse: %v", name, ErrCorrupt, err)
	}
	if signer.Public() != e.PublicKey {
		keys.Wipe(signer)
		return nil, fmt.Errorf("keyring: get %q: %w: secret does not match the stored public key", name, ErrCorrupt)
	}
	return signer, nil
}

// Entry returns the public metadata of key name without decrypting it.
func (k *Keyring) Entry(name string) (Entry, error) {
	_, e, err := k.load(name)
	if err != nil {
		return Entry{}, fmt.Errorf("keyring: %q: %w", name, err)
	}
	return e, nil
}

// List returns the metadata of all keys, sorted by name. It needs no
// passphrase. A file that fails its consistency checks makes List fail
// naming that file, rather than silently hiding a key.
func (k *Keyring) List() ([]Entry, error) {
	dirents, err := os.ReadDir(k.dir)
	if err != nil {
		return nil, fmt.Errorf("keyring: list %s: %w", k.dir, err)
	}
	entries := []Entry{}
	for _, d := range dirents {
		name, ok := strings.CutSuffix(d.Name(), fileSuffix)
		if !ok || d.IsDir() || ValidateName(name) != nil {
			continue // temporary files, editor backups, foreign files
		}
		_, e, err := k.load(name)
		if err != nil {
			return nil, fmt.Errorf("keyring: list: %s: %w", d.Name(), err)
		}
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	return entries, nil
}

// Delete removes key name. The secret is unrecoverable afterwards unless
// the user kept its phrase.
func (k *Keyring) Delete(name string) error {
	if err := ValidateName(name); err != nil {
		return fmt.Errorf("keyring: delete: %w", err)
	}
	if err := os.Remove(k.path(name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("keyring: delete %q: %w", name, ErrNotFound)
		}
		return fmt.Errorf("keyring: delete %q: %w", name, err)
	}
	syncDir(k.dir)
	return nil
}

// load reads and checks NAME.json: permissions, format, and consistency of
// the plaintext metadata (the address must encode the public key, the name
// must match the file name). It does not decrypt.
func (k *Keyring) load(name string) (*file, Entry, error) {
	if err := ValidateName(name); err != nil {
		return nil, Entry{}, err
	}
	p := k.path(name)
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, Entry{}, ErrNotFound
		}
		return nil, Entry{}, err
	}
	if !fi.Mode().IsRegular() {
		return nil, Entry{}, fmt.Errorf("%w: %s is not a regular file", ErrCorrupt, p)
	}
	if insecure(fi.Mode()) {
		return nil, Entry{}, fmt.Errorf("%w: %s has mode %04o, want 0600 (run: chmod 600 %s)", ErrPermissions, p, fi.Mode().Perm(), p)
	}
	fh, err := os.Open(p)
	if err != nil {
		return nil, Entry{}, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxFileSize+1))
	if err != nil {
		return nil, Entry{}, err
	}
	if len(data) > maxFileSize {
		return nil, Entry{}, fmt.Errorf("%w: larger than %d bytes", ErrCorrupt, maxFileSize)
	}
	f, e, err := parseFile(data)
	if err != nil {
		return nil, Entry{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if f.Name != name {
		return nil, Entry{}, fmt.Errorf("%w: file %s holds key %q", ErrCorrupt, p, f.Name)
	}
	return f, e, nil
}

// parseFile decodes and validates a key file.
func parseFile(data []byte) (*file, Entry, error) {
	var f file
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, Entry{}, fmt.Errorf("decode: %v", err)
	}
	if f.Version != fileVersion {
		return nil, Entry{}, fmt.Errorf("unsupported version %d (this build reads %d)", f.Version, fileVersion)
	}
	if ValidateName(f.Name) != nil {
		return nil, Entry{}, fmt.Errorf("invalid name %q", f.Name)
	}
	scheme, err := keys.ParseScheme(f.Scheme)
	if err != nil || string(scheme) != f.Scheme {
		return nil, Entry{}, fmt.Errorf("invalid scheme %q", f.Scheme)
	}
	raw, err := hex.DecodeString(strings.TrimPrefix(f.PublicKey, "0x"))
	if err != nil {
		return nil, Entry{}, fmt.Errorf("public key: %v", err)
	}
	pub, err := keys.NewPublicKey(scheme, raw)
	if err != nil {
		return nil, Entry{}, err
	}
	if f.PublicKey != pub.Hex() || f.Address != pub.Address(AddressPrefix) {
		return nil, Entry{}, errors.New("address does not match the public key")
	}
	if f.KDF.Name != kdfName || len(f.KDF.Salt) != saltSize {
		return nil, Entry{}, fmt.Errorf("unsupported kdf %q", f.KDF.Name)
	}
	if err := f.KDF.validate(); err != nil {
		return nil, Entry{}, err
	}
	if f.Cipher.Name != cipherName || len(f.Cipher.Nonce) != 12 {
		return nil, Entry{}, fmt.Errorf("unsupported cipher %q", f.Cipher.Name)
	}
	if len(f.Check) != sha256.Size || len(f.Ciphertext) < 16 {
		return nil, Entry{}, errors.New("truncated check or ciphertext")
	}
	return &f, Entry{Name: f.Name, Scheme: scheme, PublicKey: pub, Address: f.Address}, nil
}

// aad is the associated data: every metadata field, length-prefixed, so that
// none can be changed or shifted into another without failing
// authentication.
func (f *file) aad() []byte {
	var b []byte
	field := func(s []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	field([]byte(aadLabel))
	field(binary.BigEndian.AppendUint32(nil, uint32(f.Version)))
	field([]byte(f.Name))
	field([]byte(f.Scheme))
	field([]byte(f.PublicKey))
	field([]byte(f.Address))
	field([]byte(f.KDF.Name))
	field(binary.BigEndian.AppendUint32(nil, f.KDF.Time))
	field(binary.BigEndian.AppendUint32(nil, f.KDF.MemoryKiB))
	field([]byte{f.KDF.Threads})
	field(f.KDF.Salt)
	field([]byte(f.Cipher.Name))
	return b
}

// deriveKeys stretches the passphrase with argon2id into 64 bytes: the first
// half keys AES-256-GCM, the second half MACs checkLabel into the
// passphrase check. The derived bytes are wiped before returning (the AES
// key schedule inside the cipher.AEAD cannot be).
func deriveKeys(passphrase []byte, k fileKDF) (cipher.AEAD, []byte, error) {
	if len(passphrase) == 0 {
		return nil, nil, ErrEmptyPassphrase
	}
	okm := argon2.IDKey(passphrase, k.Salt, k.Time, k.MemoryKiB, k.Threads, 64)
	defer clear(okm)
	block, err := aes.NewCipher(okm[:32])
	if err != nil {
		return nil, nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, fmt.Errorf("gcm: %w", err)
	}
	mac := hmac.New(sha256.New, okm[32:])
	mac.Write([]byte(checkLabel))
	return aead, mac.Sum(nil), nil
}
