package worker

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/internal/sealfile"
)

// Keys are the worker's secrets, generated inside the TEE: the ed25519
// identity (its id on chain) and the HPKE key users seal to.
type Keys struct {
	Identity ed25519.PrivateKey
	HPKE     hpke.PrivateKey
	// HPKEPublic is the serialized HPKE public key (X-Wing, 1216 bytes).
	HPKEPublic []byte
}

// Public returns the identity public key.
func (k *Keys) Public() ed25519.PublicKey { return k.Identity.Public().(ed25519.PublicKey) }

// generateKeys makes fresh keys from the OS CSPRNG (inside the TEE, the
// guest kernel's, seeded by the CPU's RDSEED).
func generateKeys() (*Keys, error) {
	_, id, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate identity key: %w", err)
	}
	hk, err := hpke.MLKEM768X25519().GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("generate HPKE key: %w", err)
	}
	return &Keys{Identity: id, HPKE: hk, HPKEPublic: hk.PublicKey().Bytes()}, nil
}

// sealedState is what the sealed file holds: the key material and the
// chain the worker is bound to.
type sealedState struct {
	IdentitySeed []byte `json:"identity_seed"`
	HPKEPrivate  []byte `json:"hpke_private_key"`
	ChainID      string `json:"chain_id,omitempty"`
	GenesisHash  []byte `json:"genesis_hash,omitempty"`
}

// Sealed file layout: magic || 12-byte nonce || AES-256-GCM(JSON state),
// with magic || label as additional data, so a file sealed for another
// purpose (or another format version) does not open.
const (
	sealedMagic = "VEILWKS1"
	// SealingLabel is the label the worker derives its sealing key with.
	SealingLabel = "veil/worker/sealed-keys/v1"
	// KeysFile is the sealed key file in the worker's home.
	KeysFile = "worker-keys.sealed"
	// SimulatedSeedFile holds the simulated platform's 32-byte secret seed.
	SimulatedSeedFile = "simulated-tee.key"
	maxSealedFile     = 64 * 1024
)

// ErrNotSealed reports a sealed file that does not open with this
// platform's key: another machine, another code measurement, corruption or
// tampering. The worker refuses to start rather than silently replace its
// identity.
var ErrNotSealed = sealfile.ErrNotSealed

func seal(key []byte, state *sealedState) ([]byte, error) {
	pt, err := json.Marshal(state)
	if err != nil {
		return nil, fmt.Errorf("encode sealed state: %w", err)
	}
	defer clear(pt)
	return sealfile.Seal(key, sealedMagic, SealingLabel, pt)
}

// unseal opens a sealed file's bytes. It never panics on arbitrary input.
func unseal(key, data []byte) (*sealedState, error) {
	pt, err := sealfile.Open(key, sealedMagic, SealingLabel, data)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	var st sealedState
	if err := json.Unmarshal(pt, &st); err != nil {
		return nil, fmt.Errorf("%w: sealed state: %w", ErrNotSealed, err)
	}
	return &st, nil
}

// keysFromState rebuilds the keys from a sealed state.
func keysFromState(st *sealedState) (*Keys, error) {
	if len(st.IdentitySeed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w: identity seed has %d bytes", ErrNotSealed, len(st.IdentitySeed))
	}
	hk, err := hpke.MLKEM768X25519().NewPrivateKey(st.HPKEPrivate)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE private key: %w", ErrNotSealed, err)
	}
	return &Keys{Identity: ed25519.NewKeyFromSeed(st.IdentitySeed), HPKE: hk, HPKEPublic: hk.PublicKey().Bytes()}, nil
}

func stateFromKeys(k *Keys, b binding) (*sealedState, error) {
	hb, err := k.HPKE.Bytes()
	if err != nil {
		return nil, fmt.Errorf("serialize HPKE key: %w", err)
	}
	// Bytes returns the key's own seed slice (crypto/hpke does not copy):
	// clone it, because the state is wiped after sealing.
	st := &sealedState{IdentitySeed: bytes.Clone(k.Identity.Seed()), HPKEPrivate: bytes.Clone(hb), ChainID: b.chainID}
	if b.bound {
		st.GenesisHash = bytes.Clone(b.genesisHash[:])
	}
	return st, nil
}

func (st *sealedState) wipe() {
	clear(st.IdentitySeed)
	clear(st.HPKEPrivate)
}

// keyStore persists the keys sealed to the platform, or keeps them in
// memory only when the platform has no sealing key (TDX).
type keyStore struct {
	path string
	key  []byte // nil: ephemeral
}

// openKeyStore derives the sealing key. TDX has none
// (attest.ErrSealingUnavailable): the worker then runs with keys that live
// only as long as the process, and registers a new identity after each
// restart.
func openKeyStore(ctx context.Context, p attest.Platform, home string) (*keyStore, error) {
	key, err := p.SealingKey(ctx, SealingLabel)
	if errors.Is(err, attest.ErrSealingUnavailable) {
		return &keyStore{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("derive sealing key: %w", err)
	}
	return &keyStore{path: filepath.Join(home, KeysFile), key: key}, nil
}

func (s *keyStore) ephemeral() bool { return s.key == nil }

// load returns the sealed keys and binding, or (nil, zero, nil) when there
// is no file yet.
func (s *keyStore) load() (*Keys, binding, error) {
	if s.ephemeral() {
		return nil, binding{}, nil
	}
	data, err := sealfile.ReadLimited(s.path, maxSealedFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, binding{}, nil
	}
	if err != nil {
		return nil, binding{}, err
	}
	st, err := unseal(s.key, data)
	if err != nil {
		return nil, binding{}, fmt.Errorf("%s: %w", s.path, err)
	}
	defer st.wipe()
	k, err := keysFromState(st)
	if err != nil {
		return nil, binding{}, fmt.Errorf("%s: %w", s.path, err)
	}
	var b binding
	if st.ChainID != "" {
		if len(st.GenesisHash) != 32 {
			return nil, binding{}, fmt.Errorf("%s: %w: genesis hash has %d bytes", s.path, ErrNotSealed, len(st.GenesisHash))
		}
		b = binding{bound: true, chainID: st.ChainID, genesisHash: [32]byte(st.GenesisHash)}
	}
	return k, b, nil
}

// save seals keys and binding to the file (atomically, mode 0600).
func (s *keyStore) save(k *Keys, b binding) error {
	if s.ephemeral() {
		return nil
	}
	st, err := stateFromKeys(k, b)
	if err != nil {
		return err
	}
	defer st.wipe()
	data, err := seal(s.key, st)
	if err != nil {
		return err
	}
	return sealfile.WriteAtomic(s.path, data, 0o600)
}

// loadSimulatedSeed reads (or creates) the simulated platform's seed file.
// It refuses a file that others can read: the seed is the simulated
// platform's whole secret.
func loadSimulatedSeed(home string) ([]byte, error) {
	path := filepath.Join(home, SimulatedSeedFile)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, 32)
		if _, err := rand.Read(seed); err != nil {
			return nil, fmt.Errorf("simulated seed: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		_, err = f.Write(seed)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			// A partial seed would make every later start fail.
			os.Remove(path)
			return nil, fmt.Errorf("write %s: %w", path, err)
		}
		return seed, nil
	}
	if err != nil {
		return nil, fmt.Errorf("simulated seed: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s has mode %v: the simulated platform's seed must be private (chmod 600)", path, fi.Mode().Perm())
	}
	seed, err := sealfile.ReadLimited(path, 32)
	if err != nil {
		return nil, err
	}
	if len(seed) != 32 {
		return nil, fmt.Errorf("%s holds %d bytes, want a 32-byte seed", path, len(seed))
	}
	return seed, nil
}
