package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/internal/sealfile"
)

// The sync checkpoint: the light client's trusted state and recent
// headers, the inbox positions, the unacknowledged egress and counters,
// sealed like the keys (with a key derived under its own label) to
// HOME/worker-sync.sealed, and rewritten after every call that changed
// them, before the call answers.
//
// Sealing gives confidentiality and integrity, not freshness: the host can
// put back an older sealed checkpoint. The worker then re-verifies headers
// and re-processes messages it had processed; the chain refuses the egress
// sequences it already accepted, and the worker skips past them once the
// relayer proves the chain's egress sequence (queue.Outbox.Ack). A
// monotonic counter in the TEE would close this; the platforms Veil
// targets do not offer one to guests.
const (
	// SyncSealingLabel derives the checkpoint's sealing key.
	SyncSealingLabel = "veil/worker/sealed-sync/v1"
	// SyncFile is the sealed checkpoint in the worker's home.
	SyncFile    = "worker-sync.sealed"
	syncMagic   = "VEILWSC1"
	maxSyncFile = 64 << 20
)

// syncCheckpoint is the sealed sync state.
type syncCheckpoint struct {
	Identity []byte `json:"identity"`
	// Root is the protobuf workerv1.TrustRoot.
	Root []byte `json:"trust_root"`
	// LightClient is lightclient.Client.Checkpoint (absent before the
	// first verified block).
	LightClient []byte               `json:"light_client,omitempty"`
	Positions   map[string]uint64    `json:"positions"`
	EgressBase  uint64               `json:"egress_base"`
	Egress      [][]byte             `json:"egress,omitempty"`
	EgressAcked uint64               `json:"egress_acked"`
	ChainNext   map[string]chainNext `json:"chain_next,omitempty"`
	// Conflict is the protobuf workerv1.ConflictEvidence, once seen.
	Conflict          []byte `json:"conflict,omitempty"`
	ChainHeight       int64  `json:"chain_height"`
	HeadersVerified   uint64 `json:"headers_verified"`
	MessagesProcessed uint64 `json:"messages_processed"`
	LastReport        int64  `json:"last_report"`
}

// syncStore persists the checkpoint; without a sealing key (TDX) it keeps
// nothing, as the identity itself does not survive a restart there.
type syncStore struct {
	path string
	key  []byte
}

func openSyncStore(ctx context.Context, p attest.Platform, home string) (*syncStore, error) {
	key, err := p.SealingKey(ctx, SyncSealingLabel)
	if errors.Is(err, attest.ErrSealingUnavailable) {
		return &syncStore{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("derive sync sealing key: %w", err)
	}
	return &syncStore{path: filepath.Join(home, SyncFile), key: key}, nil
}

func (s *syncStore) ephemeral() bool { return s.key == nil }

// load returns the checkpoint, or nil when there is none.
func (s *syncStore) load() (*syncCheckpoint, error) {
	if s.ephemeral() {
		return nil, nil
	}
	data, err := sealfile.ReadLimited(s.path, maxSyncFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pt, err := sealfile.Open(s.key, syncMagic, SyncSealingLabel, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (delete it to re-sync from the trust root)", s.path, err)
	}
	var cp syncCheckpoint
	if err := json.Unmarshal(pt, &cp); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", s.path, ErrNotSealed, err)
	}
	return &cp, nil
}

func (s *syncStore) save(cp *syncCheckpoint) error {
	if s.ephemeral() {
		return nil
	}
	pt, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encode sync checkpoint: %w", err)
	}
	data, err := sealfile.Seal(s.key, syncMagic, SyncSealingLabel, pt)
	if err != nil {
		return err
	}
	return sealfile.WriteAtomic(s.path, data, 0o600)
}
