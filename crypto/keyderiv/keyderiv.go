// Package keyderiv implements Veil's key hierarchy (decision 9 of the
// architecture brief): every confidential key in the network is derived
// from one 32-byte master secret with HKDF-SHA256 and a labelled info
// string, so that any gatekeeper holding the master secret can hand a
// contract's keys to a newly assigned worker without ever having stored
// them, and so that the derivation can be re-checked by anyone holding the
// secret (the test vectors in docs/vectors/envelopes.json pin it).
//
// The hierarchy is flat: every label is expanded directly from the master
// secret's pseudorandom key.
//
//	PRK                          = HKDF-Extract(salt = "veil/key-hierarchy/v1", IKM = master secret)
//	master HPKE key pair         = X-Wing DeriveKeyPair(HKDF-Expand(PRK, "veil/master/hpke", 32))
//	master signing key           = ed25519 seed HKDF-Expand(PRK, "veil/master/signing", 32)
//	cluster secret               = HKDF-Expand(PRK, "veil/cluster/<hex id>", 32)
//	contract HPKE key pair       = X-Wing DeriveKeyPair(HKDF-Expand(PRK, "veil/contract/<hex id>/hpke", 32))
//	contract state key           = HKDF-Expand(PRK, "veil/contract/<hex id>/state", 32)
//	contract random seed         = HKDF-Expand(PRK, "veil/contract/<hex id>/random", 32)
//	contract signing key         = ed25519 seed HKDF-Expand(PRK, "veil/contract/<hex id>/signing", 32)
//
// Contract keys do not depend on the cluster a contract runs in, so moving
// a contract between clusters never changes its keys or makes its sealed
// state unreadable. Ids are written as 64 lower-case hex digits without a
// 0x prefix, so every label is plain ASCII and unambiguous.
//
// Rotation of the master secret is an epoch change: History keeps every
// (epoch, secret) pair so that ciphertexts sealed to an older epoch's keys
// stay readable. See docs/envelopes.md.
package keyderiv

import (
	"cmp"
	"crypto/hkdf"
	"crypto/hpke"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/veil-network/veil/crypto/keys"
)

// Sizes of the hierarchy's inputs and outputs.
const (
	// SecretSize is the size of a master secret and of every derived
	// symmetric secret.
	SecretSize = 32
	// IDSize is the size of contract and cluster ids.
	IDSize = 32
)

// Salt is the HKDF-Extract salt. A fixed, versioned salt separates this
// hierarchy from any other use a master secret might (wrongly) be put to,
// and lets a future hierarchy (v2) reuse the same secret safely.
const Salt = "veil/key-hierarchy/v1"

// Label prefixes and suffixes. The full label is built by the functions
// below; they are exported so that other implementations (and the docs)
// can refer to the exact strings.
const (
	LabelMasterHPKE      = "veil/master/hpke"
	LabelMasterSigning   = "veil/master/signing"
	labelClusterPrefix   = "veil/cluster/"
	labelContractPrefix  = "veil/contract/"
	labelContractHPKE    = "/hpke"
	labelContractState   = "/state"
	labelContractRandom  = "/random"
	labelContractSigning = "/signing"
)

// Errors returned (wrapped) by this package; test with errors.Is.
var (
	ErrZeroSecret      = errors.New("master secret is all zero")
	ErrEpochOrder      = errors.New("epoch must be greater than the latest epoch")
	ErrDuplicateSecret = errors.New("master secret already used by an earlier epoch")
	ErrUnknownEpoch    = errors.New("unknown master-key epoch")
	ErrEmptyHistory    = errors.New("master-key history is empty")
	ErrWiped           = errors.New("key material has been wiped")
)

// ClusterLabel returns the HKDF info string of a cluster secret.
func ClusterLabel(id [IDSize]byte) string {
	return labelClusterPrefix + hex.EncodeToString(id[:])
}

// ContractHPKELabel returns the HKDF info string of a contract's HPKE key.
func ContractHPKELabel(id [IDSize]byte) string { return contractLabel(id, labelContractHPKE) }

// ContractStateLabel returns the HKDF info string of a contract's state key.
func ContractStateLabel(id [IDSize]byte) string { return contractLabel(id, labelContractState) }

// ContractRandomLabel returns the HKDF info string of a contract's random seed.
func ContractRandomLabel(id [IDSize]byte) string { return contractLabel(id, labelContractRandom) }

// ContractSigningLabel returns the HKDF info string of a contract's signing key.
func ContractSigningLabel(id [IDSize]byte) string { return contractLabel(id, labelContractSigning) }

func contractLabel(id [IDSize]byte, suffix string) string {
	return labelContractPrefix + hex.EncodeToString(id[:]) + suffix
}

// HPKEKEM is the KEM of every derived HPKE key: X-Wing (ML-KEM-768 +
// X25519, HPKE KEM id 0x647A), per decision 8.
func HPKEKEM() hpke.KEM { return hpke.MLKEM768X25519() }

// Master derives keys from one master secret. It keeps only the HKDF
// pseudorandom key, never the secret itself. A Master is safe for
// concurrent use; Wipe makes later derivations fail with ErrWiped.
type Master struct {
	mu  sync.RWMutex
	prk []byte
}

// NewMaster returns the deriver of a master secret. The all-zero secret is
// refused: it is what an unset variable or a failed read produces, and
// deriving "valid-looking" keys from it would hide that bug.
func NewMaster(secret [SecretSize]byte) (*Master, error) {
	if isZero(secret[:]) {
		return nil, ErrZeroSecret
	}
	prk, err := hkdf.Extract(sha256.New, secret[:], []byte(Salt))
	if err != nil {
		return nil, fmt.Errorf("keyderiv: extract: %w", err)
	}
	return &Master{prk: prk}, nil
}

// Format prints no key material, whatever the verb, so that a logged
// Master cannot leak the pseudorandom key.
func (m *Master) Format(f fmt.State, _ rune) { fmt.Fprint(f, "keyderiv.Master{redacted}") }

// Wipe zeroes the pseudorandom key. Derived keys already handed out are
// not affected (wipe those separately).
func (m *Master) Wipe() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.prk)
	m.prk = nil
}

// expand returns HKDF-Expand(PRK, label, 32).
func (m *Master) expand(label string) ([SecretSize]byte, error) {
	var out [SecretSize]byte
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.prk == nil {
		return out, ErrWiped
	}
	b, err := hkdf.Expand(sha256.New, m.prk, label, SecretSize)
	if err != nil {
		return out, fmt.Errorf("keyderiv: expand: %w", err)
	}
	copy(out[:], b)
	clear(b)
	return out, nil
}

// deriveHPKE derives an X-Wing key pair from the label's output using the
// KEM's RFC 9180 DeriveKeyPair, the function every HPKE implementation
// (including the browser's @hpke packages) offers, so other
// implementations can reproduce the key from the 32-byte IKM.
func (m *Master) deriveHPKE(label string) (hpke.PrivateKey, error) {
	ikm, err := m.expand(label)
	if err != nil {
		return nil, err
	}
	defer clear(ikm[:])
	return hpkeFromSeed(&ikm)
}

// hpkeFromSeed runs X-Wing DeriveKeyPair on a 32-byte label output. It is
// the one place a derived HPKE key is made, shared by Master and
// ContractSecrets so that both produce the same key from the same seed.
func hpkeFromSeed(ikm *[SecretSize]byte) (hpke.PrivateKey, error) {
	k, err := HPKEKEM().DeriveKeyPair(ikm[:])
	if err != nil {
		return nil, fmt.Errorf("keyderiv: derive HPKE key pair: %w", err)
	}
	return k, nil
}

func (m *Master) deriveSigner(label string) (*keys.Ed25519Signer, error) {
	seed, err := m.expand(label)
	if err != nil {
		return nil, err
	}
	defer clear(seed[:])
	return keys.NewEd25519FromSeed(seed), nil
}

// MasterKeys are the key pairs of the master secret itself: the HPKE key
// gatekeepers publish (so that anyone can seal to "the network") and the
// signing key that proves a message came from a holder of the master
// secret.
type MasterKeys struct {
	HPKE    hpke.PrivateKey
	Signing *keys.Ed25519Signer
}

// MasterPublic is what the first gatekeeper publishes on chain.
type MasterPublic struct {
	HPKE    []byte         // X-Wing public key, 1216 bytes
	Signing keys.PublicKey // ed25519
}

// Public returns the public halves.
func (k *MasterKeys) Public() MasterPublic {
	return MasterPublic{HPKE: k.HPKE.PublicKey().Bytes(), Signing: k.Signing.Public()}
}

// Format prints only public keys, whatever the verb.
func (k MasterKeys) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "keyderiv.MasterKeys{signing: %s, secrets: redacted}", signingPublic(k.Signing))
}

// Wipe zeroes what can be zeroed: the signing key. (crypto/hpke private
// keys offer no way to clear them; drop the reference.)
func (k *MasterKeys) Wipe() {
	keys.Wipe(k.Signing)
	k.HPKE = nil
}

// MasterKeys derives the master key pairs.
func (m *Master) MasterKeys() (*MasterKeys, error) {
	hk, err := m.deriveHPKE(LabelMasterHPKE)
	if err != nil {
		return nil, err
	}
	sk, err := m.deriveSigner(LabelMasterSigning)
	if err != nil {
		return nil, err
	}
	return &MasterKeys{HPKE: hk, Signing: sk}, nil
}

// ClusterSecret derives the 32-byte secret of a cluster. It is the root of
// cluster-scoped keys (not itself a key: derive sub-keys from it with their
// own labels).
func (m *Master) ClusterSecret(id [IDSize]byte) ([SecretSize]byte, error) {
	return m.expand(ClusterLabel(id))
}

// ContractKeys are all keys of one contract.
type ContractKeys struct {
	ID [IDSize]byte
	// HPKE is the key commands to the contract are sealed to.
	HPKE hpke.PrivateKey
	// StateKey is the AES-256 key sealing the contract's state checkpoints.
	StateKey [SecretSize]byte
	// RandomSeed seeds the contract's deterministic randomness (mixed
	// with the block randomness by the executor, decision 10).
	RandomSeed [SecretSize]byte
	// Signing signs the contract's outputs.
	Signing *keys.Ed25519Signer
}

// ContractPublic is what the chain publishes about a contract's keys.
type ContractPublic struct {
	HPKE    []byte         // X-Wing public key, 1216 bytes
	Signing keys.PublicKey // ed25519
}

// Format prints only the id and the public signing key, whatever the
// verb: a logged ContractKeys must not leak the state key or seeds.
func (k ContractKeys) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "keyderiv.ContractKeys{id: %x, signing: %s, secrets: redacted}", k.ID, signingPublic(k.Signing))
}

// signingPublic describes a possibly nil signer by its public key.
func signingPublic(s *keys.Ed25519Signer) string {
	if s == nil {
		return "none"
	}
	return s.Public().String()
}

// Public returns the public halves of the contract's keys.
func (k *ContractKeys) Public() ContractPublic {
	return ContractPublic{HPKE: k.HPKE.PublicKey().Bytes(), Signing: k.Signing.Public()}
}

// Wipe zeroes the symmetric secrets and the signing key and drops the HPKE
// key (crypto/hpke keys cannot be cleared in place).
func (k *ContractKeys) Wipe() {
	clear(k.StateKey[:])
	clear(k.RandomSeed[:])
	keys.Wipe(k.Signing)
	k.HPKE = nil
}

// Contract derives every key of contract id. The X-Wing derivation costs
// an ML-KEM key generation (tens of µs): callers that open many commands
// should keep the result.
//
// It goes through ContractSecrets, the form a gatekeeper delivers to an
// assigned worker, so that a worker's keys built from a delivery and a
// gatekeeper's keys derived here cannot diverge.
func (m *Master) Contract(id [IDSize]byte) (*ContractKeys, error) {
	s, err := m.ContractSecrets(id)
	if err != nil {
		return nil, err
	}
	defer s.Wipe()
	return s.Keys(id)
}

// ContractHPKE derives only the contract's HPKE key (what a worker needs to
// open commands).
func (m *Master) ContractHPKE(id [IDSize]byte) (hpke.PrivateKey, error) {
	return m.deriveHPKE(ContractHPKELabel(id))
}

// History is the master-key rotation history: (epoch, secret) pairs in
// strictly increasing epoch order. Keys are derived for a given epoch, so a
// ciphertext sealed to epoch e's contract key stays readable after the
// secret rotates to epoch e+1. A History is safe for concurrent use.
type History struct {
	mu      sync.RWMutex
	entries []historyEntry // ascending epoch
}

type historyEntry struct {
	epoch  uint64
	secret *[SecretSize]byte // pointer: entries are copied, secrets never
	master *Master
}

// Format prints the epochs only, whatever the verb.
func (h *History) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "keyderiv.History{epochs: %v, secrets: redacted}", h.Epochs())
}

// NewHistory returns an empty history.
func NewHistory() *History { return &History{} }

// Add appends the secret of a new epoch. Epochs must strictly increase
// (rotation only moves forward; re-adding an epoch would make "the key of
// epoch e" ambiguous), and a secret may not repeat an earlier epoch's (a
// rotation to the same secret rotates nothing and indicates a bug). The
// secret is copied; the caller should clear its own copy.
func (h *History) Add(epoch uint64, secret [SecretSize]byte) error {
	m, err := NewMaster(secret)
	if err != nil {
		return fmt.Errorf("epoch %d: %w", epoch, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := len(h.entries); n > 0 && epoch <= h.entries[n-1].epoch {
		m.Wipe()
		return fmt.Errorf("%w: %d after %d", ErrEpochOrder, epoch, h.entries[n-1].epoch)
	}
	for _, e := range h.entries {
		if subtle.ConstantTimeCompare(e.secret[:], secret[:]) == 1 {
			m.Wipe()
			return fmt.Errorf("%w: epoch %d repeats epoch %d", ErrDuplicateSecret, epoch, e.epoch)
		}
	}
	own := new([SecretSize]byte)
	*own = secret
	h.entries = append(h.entries, historyEntry{epoch: epoch, secret: own, master: m})
	return nil
}

// Len returns the number of epochs held.
func (h *History) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.entries)
}

// Epochs returns the epochs held, ascending.
func (h *History) Epochs() []uint64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]uint64, len(h.entries))
	for i, e := range h.entries {
		out[i] = e.epoch
	}
	return out
}

// Latest returns the newest epoch and its deriver: what new ciphertexts
// are sealed under.
func (h *History) Latest() (uint64, *Master, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if len(h.entries) == 0 {
		return 0, nil, ErrEmptyHistory
	}
	e := h.entries[len(h.entries)-1]
	return e.epoch, e.master, nil
}

// At returns the deriver of an epoch.
func (h *History) At(epoch uint64) (*Master, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	e, err := h.findLocked(epoch)
	if err != nil {
		return nil, err
	}
	return e.master, nil
}

// findLocked returns the entry of epoch (entries are sorted by epoch), or
// ErrUnknownEpoch. h.mu is held.
func (h *History) findLocked(epoch uint64) (*historyEntry, error) {
	i, ok := slices.BinarySearchFunc(h.entries, epoch, func(e historyEntry, t uint64) int { return cmp.Compare(e.epoch, t) })
	if !ok {
		return nil, fmt.Errorf("%w %d", ErrUnknownEpoch, epoch)
	}
	return &h.entries[i], nil
}

// Secret returns a copy of an epoch's master secret, for handing it to a
// new gatekeeper (sealed to that gatekeeper's registered HPKE key). The
// caller must clear the copy.
func (h *History) Secret(epoch uint64) ([SecretSize]byte, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	e, err := h.findLocked(epoch)
	if err != nil {
		return [SecretSize]byte{}, err
	}
	if e.master.isWiped() {
		return [SecretSize]byte{}, ErrWiped
	}
	return *e.secret, nil
}

// Contract derives contract id's keys at an epoch.
func (h *History) Contract(epoch uint64, id [IDSize]byte) (*ContractKeys, error) {
	m, err := h.At(epoch)
	if err != nil {
		return nil, err
	}
	return m.Contract(id)
}

// EpochKey is one epoch's HPKE private key of a contract.
type EpochKey struct {
	Epoch uint64
	HPKE  hpke.PrivateKey
}

// ContractHPKEKeys derives contract id's HPKE key for every epoch, newest
// first: the candidate keys for opening a command, which names the key it
// was sealed to by fingerprint (crypto/envelope.KeyID), so the opener can
// pick the right epoch without trial decryption.
func (h *History) ContractHPKEKeys(id [IDSize]byte) ([]EpochKey, error) {
	// Collect the derivers under the lock (not the secrets: no copies of
	// those), then derive without holding it.
	type epochMaster struct {
		epoch  uint64
		master *Master
	}
	h.mu.RLock()
	masters := make([]epochMaster, len(h.entries))
	for i, e := range h.entries {
		masters[len(masters)-1-i] = epochMaster{e.epoch, e.master}
	}
	h.mu.RUnlock()
	if len(masters) == 0 {
		return nil, ErrEmptyHistory
	}
	out := make([]EpochKey, 0, len(masters))
	for _, e := range masters {
		k, err := e.master.ContractHPKE(id)
		if err != nil {
			return nil, fmt.Errorf("epoch %d: %w", e.epoch, err)
		}
		out = append(out, EpochKey{Epoch: e.epoch, HPKE: k})
	}
	return out, nil
}

// Wipe zeroes every secret held; later derivations fail with ErrWiped.
func (h *History) Wipe() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.entries {
		clear(h.entries[i].secret[:])
		h.entries[i].master.Wipe()
	}
}

func (m *Master) isWiped() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.prk == nil
}

// IsZeroSecret reports whether s is all zero, in time independent of its
// contents: what a wiped or never-filled secret is, and what no real
// secret or HKDF output is. Callers refuse such secrets (ErrZeroSecret).
func IsZeroSecret(s *[SecretSize]byte) bool { return isZero(s[:]) }

// isZero reports whether b is all zero, in time independent of its
// contents (b is a secret).
func isZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return subtle.ConstantTimeByteEq(acc, 0) == 1
}
