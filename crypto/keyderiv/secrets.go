package keyderiv

import (
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/veil-network/veil/crypto/keys"
)

// ContractSecretsSize is the size of ContractSecrets.MarshalBinary's
// output: the four 32-byte label outputs in field order.
const ContractSecretsSize = 4 * SecretSize

// ErrMalformedSecrets reports a ContractSecrets encoding of the wrong size
// or with an all-zero component.
var ErrMalformedSecrets = errors.New("malformed contract secrets")

// ContractSecrets are the four HKDF outputs a contract's keys derive from:
//
//	HPKESeed    = HKDF-Expand(PRK, ContractHPKELabel(id), 32)    → X-Wing DeriveKeyPair
//	State       = HKDF-Expand(PRK, ContractStateLabel(id), 32)   (the state key itself)
//	Random      = HKDF-Expand(PRK, ContractRandomLabel(id), 32)  (the random seed itself)
//	SigningSeed = HKDF-Expand(PRK, ContractSigningLabel(id), 32) → ed25519 seed
//
// They are what a gatekeeper hands to a worker assigned to the contract
// (crypto/envelope SealContractSecrets): the worker gets exactly the
// contract's keys and nothing that opens another contract's or the master
// secret, and 128 bytes are cheaper to seal than serialized key pairs. Keys
// rebuilds the contract's keys from them, identically to Master.Contract.
//
// ContractSecrets is secret: Format redacts it, and holders call Wipe when
// done.
type ContractSecrets struct {
	HPKESeed    [SecretSize]byte
	State       [SecretSize]byte
	Random      [SecretSize]byte
	SigningSeed [SecretSize]byte
}

// parts returns the four secrets in field order, the order of
// MarshalBinary's output.
func (s *ContractSecrets) parts() [4]*[SecretSize]byte {
	return [4]*[SecretSize]byte{&s.HPKESeed, &s.State, &s.Random, &s.SigningSeed}
}

// ContractSecrets derives the secrets of contract id.
func (m *Master) ContractSecrets(id [IDSize]byte) (*ContractSecrets, error) {
	s := new(ContractSecrets)
	for _, f := range []struct {
		dst   *[SecretSize]byte
		label string
	}{
		{&s.HPKESeed, ContractHPKELabel(id)},
		{&s.State, ContractStateLabel(id)},
		{&s.Random, ContractRandomLabel(id)},
		{&s.SigningSeed, ContractSigningLabel(id)},
	} {
		out, err := m.expand(f.label)
		if err != nil {
			s.Wipe()
			return nil, err
		}
		*f.dst = out
		clear(out[:])
	}
	return s, nil
}

// Keys builds contract id's keys from the secrets. The id is not part of
// the secrets (they are already specific to it); it is recorded in the
// result. The secrets are copied: wiping s afterwards does not affect the
// keys, and wiping the keys does not affect s.
func (s *ContractSecrets) Keys(id [IDSize]byte) (*ContractKeys, error) {
	if s == nil {
		return nil, fmt.Errorf("keyderiv: nil contract secrets")
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	hk, err := hpkeFromSeed(&s.HPKESeed)
	if err != nil {
		return nil, err
	}
	return &ContractKeys{
		ID:         id,
		HPKE:       hk,
		StateKey:   s.State,
		RandomSeed: s.Random,
		Signing:    keys.NewEd25519FromSeed(s.SigningSeed),
	}, nil
}

// check refuses secrets with an all-zero component: HKDF output is never
// all zero in practice, while a wiped or never-filled value is, and keys
// derived from it would look valid and be public.
func (s *ContractSecrets) check() error {
	for _, c := range s.parts() {
		if IsZeroSecret(c) {
			return fmt.Errorf("%w: a component is all zero (wiped or unset)", ErrMalformedSecrets)
		}
	}
	return nil
}

// MarshalBinary returns HPKESeed || State || Random || SigningSeed
// (ContractSecretsSize bytes): the plaintext of a contract-key delivery.
// The caller must clear the result.
func (s *ContractSecrets) MarshalBinary() ([]byte, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	out := make([]byte, 0, ContractSecretsSize)
	for _, c := range s.parts() {
		out = append(out, c[:]...)
	}
	return out, nil
}

// UnmarshalContractSecrets decodes MarshalBinary's output. It copies b;
// the caller clears its own buffer.
func UnmarshalContractSecrets(b []byte) (*ContractSecrets, error) {
	if len(b) != ContractSecretsSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrMalformedSecrets, len(b), ContractSecretsSize)
	}
	s := new(ContractSecrets)
	for i, c := range s.parts() {
		copy(c[:], b[i*SecretSize:])
	}
	if err := s.check(); err != nil {
		s.Wipe()
		return nil, err
	}
	return s, nil
}

// Equal reports whether two secrets are equal, in constant time.
func (s *ContractSecrets) Equal(o *ContractSecrets) bool {
	if s == nil || o == nil {
		return s == o
	}
	a, b := s.parts(), o.parts()
	v := 1
	for i := range a {
		v &= subtle.ConstantTimeCompare(a[i][:], b[i][:])
	}
	return v == 1
}

// Wipe zeroes the secrets.
func (s *ContractSecrets) Wipe() {
	if s == nil {
		return
	}
	for _, c := range s.parts() {
		clear(c[:])
	}
}

// Format prints nothing secret, whatever the verb, so a logged
// ContractSecrets cannot leak.
func (s ContractSecrets) Format(f fmt.State, _ rune) {
	fmt.Fprint(f, "keyderiv.ContractSecrets{redacted}")
}

// EpochSecret is one master-key epoch and its secret: an entry of the
// history gatekeepers hand to each other (crypto/envelope
// SealMasterKeyHistory) and seal to disk. It is secret: Format redacts it.
type EpochSecret struct {
	Epoch  uint64
	Secret [SecretSize]byte
}

// Format prints the epoch only, whatever the verb.
func (e EpochSecret) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "keyderiv.EpochSecret{epoch: %d, secret: redacted}", e.Epoch)
}

// WipeEpochSecrets zeroes every secret in es.
func WipeEpochSecrets(es []EpochSecret) {
	for i := range es {
		clear(es[i].Secret[:])
	}
}

// Export returns copies of every (epoch, secret) pair, ascending: what a
// gatekeeper hands over or persists. The caller must wipe the result
// (WipeEpochSecrets).
func (h *History) Export() ([]EpochSecret, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make([]EpochSecret, len(h.entries))
	for i, e := range h.entries {
		if e.master.isWiped() {
			WipeEpochSecrets(out)
			return nil, ErrWiped
		}
		out[i] = EpochSecret{Epoch: e.epoch, Secret: *e.secret}
	}
	return out, nil
}

// HistoryFrom builds a history from (epoch, secret) pairs in strictly
// increasing epoch order, with History.Add's checks. The secrets are
// copied; the caller wipes es.
func HistoryFrom(es []EpochSecret) (*History, error) {
	h := NewHistory()
	for _, e := range es {
		if err := h.Add(e.Epoch, e.Secret); err != nil {
			h.Wipe()
			return nil, err
		}
	}
	return h, nil
}
