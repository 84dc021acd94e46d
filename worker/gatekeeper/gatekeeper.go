// Package gatekeeper is the worker's key manager: the gatekeeper role of
// decision 9 of the architecture brief (Phala's keyfairy). Every worker
// runs one, because governance may designate any registered worker a
// gatekeeper later; a worker that is not one only tracks the gatekeeper
// set.
//
// A gatekeeper
//
//   - generates the master secret of an epoch when the chain asks it to
//     (MasterKeyRequest naming it), publishes the epoch's public keys and
//     hands the secret to the other gatekeepers;
//   - hands its whole master-key history to every gatekeeper added later;
//   - merges histories handed to it (MasterKeyDelivery);
//   - answers contract-key requests: publishes a contract's public keys and
//     seals the contract's secrets to each assigned worker.
//
// The package is pure logic plus sealed persistence: the worker feeds it
// the messages of the "gatekeeper" topic and the MasterKeyDelivery
// messages of its own topic, in chain order, and submits the Egress it
// returns. Secrets cross the chain only inside crypto/envelope deliveries
// sealed to registered HPKE keys, and rest on disk only sealed to the
// platform (HOME/worker-gatekeeper.sealed). A newly generated secret is
// sealed to disk before its public keys are returned for publication, so
// a crash can never leave the chain with a published master key nobody
// holds.
//
// Replays: the worker may see a message again after a restart (its sync
// checkpoint and this file are written separately). State changes are
// idempotent; the egress of a message whose actor is this worker (the
// publication of an epoch it generated, a handover to an added
// gatekeeper, a contract-key publication) is produced again, because the
// first copy may have been lost with the crash, and the chain accepts each
// of them once (per epoch; per recipient and latest epoch; per contract,
// worker and epoch).
package gatekeeper

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hpke"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keyderiv"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	"github.com/veil-network/veil/internal/sealfile"
)

// Topics of the messages the gatekeeper consumes and produces.
const (
	// TopicGatekeeper is the ingress topic every gatekeeper follows.
	TopicGatekeeper = "gatekeeper"
	// TopicMasterKey carries MasterKeyPublication egress.
	TopicMasterKey = "registry/master_key"
	// TopicMasterKeyHandover carries MasterKeyHandover egress.
	TopicMasterKeyHandover = "registry/master_key_handover"
	// TopicContractKeys carries ContractKeyPublication egress.
	TopicContractKeys = "contracts/keys"
)

// Sealed file.
const (
	// SealingLabel derives the sealing key of the gatekeeper file; a key of
	// its own, so that no other sealed file of the worker opens as it.
	SealingLabel = "veil/worker/sealed-gatekeeper/v1"
	// File is the sealed gatekeeper state in the worker's home.
	File      = "worker-gatekeeper.sealed"
	fileMagic = "VEILWGK1"
	// stateVersion is the version byte of the sealed plaintext.
	stateVersion = 1
	// MaxGatekeepers bounds the gatekeeper set (and so the file and the
	// handovers one addition triggers).
	MaxGatekeepers = 256
	maxFile        = 1 << 20
	identitySize   = 32
	hpkePublicSize = 1216
)

// Egress is a message for the worker to sign and submit: Payload is the
// deterministic protobuf encoding of the topic's message.
type Egress struct {
	Topic   string
	Payload []byte
}

// Config configures Open.
type Config struct {
	// Platform provides the sealing key. Without one
	// (attest.ErrSealingUnavailable, TDX) the state lives in memory only,
	// like the worker's identity on such platforms.
	Platform attest.Platform
	// Home is the worker's home directory (the sealed file goes there).
	Home string
	// Identity is the worker's identity (ed25519 public key).
	Identity [32]byte
	// HPKE is the worker's registered HPKE key: handovers to this worker
	// are sealed to it.
	HPKE hpke.PrivateKey
	// Log receives events; it never receives secrets. Nil: slog.Default().
	Log *slog.Logger
}

// member is a gatekeeper: its registered HPKE key.
type member struct {
	raw []byte
	pub hpke.PublicKey
}

// Gatekeeper is the key manager. Its methods are safe for concurrent use,
// but Handle* must be called in chain order.
type Gatekeeper struct {
	mu       sync.Mutex
	log      *slog.Logger
	identity [identitySize]byte
	hpke     *envelope.CachedKey
	ownPub   []byte
	path     string // "" when memory only
	key      []byte // sealing key; nil when memory only
	history  *keyderiv.History
	members  map[[identitySize]byte]member
	// unconfirmed are the epochs this worker generated whose publication
	// it has not yet seen proof of. The chain re-asks an unpublished epoch
	// of another gatekeeper when the generator cannot answer (removed, or
	// its attestation lapsed); a MasterKeyRequest for such an epoch naming
	// another generator means this worker's secret for it can never be
	// published, and it is dropped so it is never handed over. A request
	// for a later epoch (rotation is refused while the latest epoch is
	// unpublished) or a contract-key request at or above the epoch proves
	// the publication.
	unconfirmed map[uint64]bool
	closed      bool
}

// Errors returned (wrapped) by this package.
var (
	// ErrClosed: the Gatekeeper was closed.
	ErrClosed = errors.New("gatekeeper closed")
	// ErrInvalidMessage: a message is malformed (wrong field sizes, an
	// unusable key, no kind). It is not applied.
	ErrInvalidMessage = errors.New("invalid gatekeeper message")
	// ErrConflict: a delivery holds a different secret for an epoch this
	// gatekeeper already holds. Nothing of it is applied.
	ErrConflict = errors.New("conflicting master secret")
	// ErrOtherIdentity: the sealed file belongs to another worker identity.
	ErrOtherIdentity = errors.New("sealed gatekeeper file belongs to another worker identity")
)

// Open loads the sealed state, if any, from cfg.Home.
func Open(ctx context.Context, cfg Config) (*Gatekeeper, error) {
	if cfg.Platform == nil {
		return nil, errors.New("gatekeeper: no platform")
	}
	if cfg.HPKE == nil {
		return nil, errors.New("gatekeeper: no HPKE key")
	}
	ck, err := envelope.NewCachedKey(cfg.HPKE)
	if err != nil {
		return nil, fmt.Errorf("gatekeeper: %w", err)
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	g := &Gatekeeper{
		log:      log.With("component", "gatekeeper"),
		identity: cfg.Identity,
		hpke:     ck,
		ownPub:   ck.PublicKey().Bytes(),
		history:  keyderiv.NewHistory(),
		members:  make(map[[identitySize]byte]member),

		unconfirmed: make(map[uint64]bool),
	}
	key, err := cfg.Platform.SealingKey(ctx, SealingLabel)
	switch {
	case errors.Is(err, attest.ErrSealingUnavailable):
		g.log.Warn("the platform has no sealing key: the master-key history lives only in memory and is handed over again after a restart")
	case err != nil:
		return nil, fmt.Errorf("gatekeeper: derive sealing key: %w", err)
	default:
		g.key, g.path = key, filepath.Join(cfg.Home, File)
		if err := g.load(); err != nil {
			clear(g.key)
			return nil, err
		}
	}
	g.log.Info("gatekeeper state ready", "epochs", g.history.Epochs(), "gatekeepers", len(g.members),
		"is_gatekeeper", g.isMember(g.identity), "sealed", g.key != nil)
	return g, nil
}

// Close wipes the secrets held in memory. Later calls fail with ErrClosed.
func (g *Gatekeeper) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	g.closed = true
	g.history.Wipe()
	clear(g.key)
	g.key = nil
}

// Epochs returns the master-key epochs held, ascending.
func (g *Gatekeeper) Epochs() []uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.history.Epochs()
}

// IsGatekeeper reports whether this worker is in the gatekeeper set.
func (g *Gatekeeper) IsGatekeeper() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.isMember(g.identity)
}

func (g *Gatekeeper) isMember(id [identitySize]byte) bool {
	_, ok := g.members[id]
	return ok
}

// HandleGatekeeper processes one message of the "gatekeeper" topic. On
// error nothing was applied; the caller logs it and goes on with the next
// message (a message the chain ordered cannot be retried differently).
func (g *Gatekeeper) HandleGatekeeper(m *contractsv1.GatekeeperMessage) ([]Egress, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, ErrClosed
	}
	switch k := m.GetKind().(type) {
	case *contractsv1.GatekeeperMessage_GatekeeperAdded:
		return g.added(k.GatekeeperAdded)
	case *contractsv1.GatekeeperMessage_GatekeeperRemoved:
		return nil, g.removed(k.GatekeeperRemoved)
	case *contractsv1.GatekeeperMessage_MasterKeyRequest:
		return g.masterKeyRequest(k.MasterKeyRequest)
	case *contractsv1.GatekeeperMessage_ContractKeyRequest:
		return g.contractKeyRequest(k.ContractKeyRequest)
	}
	return nil, fmt.Errorf("%w: no or unknown kind", ErrInvalidMessage)
}

func identityOf(b []byte, what string) ([identitySize]byte, error) {
	if len(b) != identitySize {
		return [identitySize]byte{}, fmt.Errorf("%w: %s has %d bytes, want %d", ErrInvalidMessage, what, len(b), identitySize)
	}
	return [identitySize]byte(b), nil
}

func parseHPKEPublic(b []byte) (hpke.PublicKey, error) {
	if len(b) != hpkePublicSize {
		return nil, fmt.Errorf("%w: HPKE public key has %d bytes, want %d", ErrInvalidMessage, len(b), hpkePublicSize)
	}
	pub, err := keyderiv.HPKEKEM().NewPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: HPKE public key: %v", ErrInvalidMessage, err)
	}
	return pub, nil
}

func hexID(id [identitySize]byte) string { return hex.EncodeToString(id[:]) }

// added records a gatekeeper and, if this worker holds a history and is a
// gatekeeper itself, hands the history to the newcomer.
func (g *Gatekeeper) added(a *contractsv1.GatekeeperAdded) ([]Egress, error) {
	id, err := identityOf(a.GetIdentity(), "gatekeeper identity")
	if err != nil {
		return nil, err
	}
	pub, err := parseHPKEPublic(a.GetHpkePublicKey())
	if err != nil {
		return nil, err
	}
	old, known := g.members[id]
	if !known || !bytes.Equal(old.raw, a.GetHpkePublicKey()) {
		if !known && len(g.members) >= MaxGatekeepers {
			return nil, fmt.Errorf("%w: more than %d gatekeepers", ErrInvalidMessage, MaxGatekeepers)
		}
		members := maps.Clone(g.members)
		members[id] = member{raw: bytes.Clone(a.GetHpkePublicKey()), pub: pub}
		if err := g.commit(nil, members, nil); err != nil {
			return nil, err
		}
		g.log.Info("gatekeeper added", "identity", hexID(id), "self", id == g.identity, "gatekeepers", len(members))
		if id == g.identity && !bytes.Equal(a.GetHpkePublicKey(), g.ownPub) {
			g.log.Error("the chain lists this worker as gatekeeper with another HPKE key than its own: handovers to it will not open",
				"identity", hexID(id))
		}
	}
	if id == g.identity || !g.isMember(g.identity) || g.history.Len() == 0 {
		return nil, nil
	}
	e, err := g.handover(id, g.members[id])
	if err != nil {
		return nil, err
	}
	return []Egress{e}, nil
}

// removed drops a gatekeeper. A worker removed itself stops serving keys
// but keeps its history sealed: a replayed removal followed by a replayed
// addition must not lose the history, and a re-designated worker is
// useful at once.
func (g *Gatekeeper) removed(r *contractsv1.GatekeeperRemoved) error {
	id, err := identityOf(r.GetIdentity(), "gatekeeper identity")
	if err != nil {
		return err
	}
	if !g.isMember(id) {
		return nil
	}
	members := maps.Clone(g.members)
	delete(members, id)
	if err := g.commit(nil, members, nil); err != nil {
		return err
	}
	g.log.Info("gatekeeper removed", "identity", hexID(id), "self", id == g.identity, "gatekeepers", len(members))
	return nil
}

// masterKeyRequest generates the requested epoch's secret if this worker
// is the generator, seals it to disk, and returns the publication and the
// handovers.
func (g *Gatekeeper) masterKeyRequest(r *contractsv1.MasterKeyRequest) ([]Egress, error) {
	gen, err := identityOf(r.GetGenerator(), "generator")
	if err != nil {
		return nil, err
	}
	epoch := r.GetEpoch()
	// The request proves the publication of every earlier epoch; that is
	// sealed together with what else the request changes (one write).
	unconfirmed := g.unconfirmed
	if epoch > 0 {
		unconfirmed = g.confirmedUpTo(epoch - 1)
	}
	if gen != g.identity {
		if unconfirmed[epoch] {
			return nil, g.dropSuperseded(epoch, gen, unconfirmed)
		}
		return nil, g.commitUnconfirmed(unconfirmed)
	}
	if !g.isMember(g.identity) {
		// The chain only names gatekeepers; trust it over a local view
		// that can only lag, rather than stall the network's key.
		g.log.Warn("asked to generate a master key while not in the local gatekeeper set", "epoch", epoch)
	}
	if _, err := g.history.At(epoch); err == nil {
		if err := g.commitUnconfirmed(unconfirmed); err != nil {
			return nil, err
		}
		g.log.Info("master key requested again for an epoch already held: re-publishing", "epoch", epoch)
	} else {
		if err := g.generate(epoch, unconfirmed); err != nil {
			return nil, err
		}
		g.log.Info("master key generated and sealed", "epoch", epoch, "epochs", g.history.Epochs())
	}
	pubEgress, err := g.publication(epoch)
	if err != nil {
		return nil, err
	}
	out := []Egress{pubEgress}
	for _, id := range g.otherMembers() {
		e, err := g.handover(id, g.members[id])
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// generate adds a fresh secret for epoch, unconfirmed on top of the given
// unconfirmed epochs, and persists it before it becomes visible in memory.
func (g *Gatekeeper) generate(epoch uint64, unconfirmed map[uint64]bool) error {
	entries, err := g.history.Export()
	if err != nil {
		return fmt.Errorf("gatekeeper: %w", err)
	}
	defer keyderiv.WipeEpochSecrets(entries)
	var secret [keyderiv.SecretSize]byte
	defer clear(secret[:])
	if _, err := rand.Read(secret[:]); err != nil {
		return fmt.Errorf("gatekeeper: master secret: %w", err)
	}
	entries = append(entries, keyderiv.EpochSecret{Epoch: epoch, Secret: secret})
	slices.SortFunc(entries, func(a, b keyderiv.EpochSecret) int { return cmp.Compare(a.Epoch, b.Epoch) })
	unconfirmed = maps.Clone(unconfirmed)
	unconfirmed[epoch] = true
	return g.commit(entries, nil, unconfirmed)
}

// confirm marks the epochs this worker generated up to and including
// upTo as published.
func (g *Gatekeeper) confirm(upTo uint64) error {
	return g.commitUnconfirmed(g.confirmedUpTo(upTo))
}

// confirmedUpTo returns the unconfirmed epochs without those up to and
// including upTo: g.unconfirmed itself when that removes none.
func (g *Gatekeeper) confirmedUpTo(upTo uint64) map[uint64]bool {
	unconfirmed := maps.Clone(g.unconfirmed)
	maps.DeleteFunc(unconfirmed, func(e uint64, _ bool) bool { return e <= upTo })
	if len(unconfirmed) == len(g.unconfirmed) {
		return g.unconfirmed
	}
	return unconfirmed
}

// commitUnconfirmed seals unconfirmed (a result of confirmedUpTo) if it
// differs from the current set.
func (g *Gatekeeper) commitUnconfirmed(unconfirmed map[uint64]bool) error {
	if len(unconfirmed) == len(g.unconfirmed) {
		return nil
	}
	return g.commit(nil, nil, unconfirmed)
}

// dropSuperseded forgets the secret this worker generated for epoch after
// the chain asked another generator for it: that secret was never
// published and never will be (the chain accepts the epoch's publication
// only from the generator it asked last), so handing it over would give
// other gatekeepers a secret that contradicts the published key.
func (g *Gatekeeper) dropSuperseded(epoch uint64, gen [identitySize]byte, unconfirmed map[uint64]bool) error {
	entries, err := g.history.Export()
	if err != nil {
		return fmt.Errorf("gatekeeper: %w", err)
	}
	defer keyderiv.WipeEpochSecrets(entries)
	kept := make([]keyderiv.EpochSecret, 0, len(entries))
	for _, e := range entries {
		if e.Epoch != epoch {
			kept = append(kept, e)
		}
	}
	defer keyderiv.WipeEpochSecrets(kept)
	unconfirmed = maps.Clone(unconfirmed)
	delete(unconfirmed, epoch)
	if err := g.commit(kept, nil, unconfirmed); err != nil {
		return err
	}
	g.log.Warn("master-key epoch re-requested from another gatekeeper: dropped the unpublished secret this worker generated",
		"epoch", epoch, "generator", hexID(gen))
	return nil
}

// commit persists a new state — entries, members, unconfirmed (each nil:
// unchanged) — and only then installs it in memory, so memory never holds
// what the sealed file does not.
func (g *Gatekeeper) commit(entries []keyderiv.EpochSecret, members map[[identitySize]byte]member, unconfirmed map[uint64]bool) error {
	var hist *keyderiv.History
	if entries != nil {
		h, err := keyderiv.HistoryFrom(entries)
		if err != nil {
			return fmt.Errorf("gatekeeper: %w", err)
		}
		hist = h
	} else {
		cur, err := g.history.Export()
		if err != nil {
			return fmt.Errorf("gatekeeper: %w", err)
		}
		defer keyderiv.WipeEpochSecrets(cur)
		entries = cur
	}
	if members == nil {
		members = g.members
	}
	if unconfirmed == nil {
		unconfirmed = g.unconfirmed
	}
	if err := g.save(entries, members, unconfirmed); err != nil {
		if hist != nil {
			hist.Wipe()
		}
		return err
	}
	if hist != nil {
		old := g.history
		g.history = hist
		old.Wipe()
	}
	g.members, g.unconfirmed = members, unconfirmed
	return nil
}

// otherMembers returns the gatekeepers other than this worker, sorted, so
// that egress comes in a deterministic order.
func (g *Gatekeeper) otherMembers() [][identitySize]byte {
	ids := make([][identitySize]byte, 0, len(g.members))
	for id := range g.members {
		if id != g.identity {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b [identitySize]byte) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// publication returns the MasterKeyPublication of an epoch held.
func (g *Gatekeeper) publication(epoch uint64) (Egress, error) {
	m, err := g.history.At(epoch)
	if err != nil {
		return Egress{}, fmt.Errorf("gatekeeper: %w", err)
	}
	mk, err := m.MasterKeys()
	if err != nil {
		return Egress{}, fmt.Errorf("gatekeeper: master keys of epoch %d: %w", epoch, err)
	}
	pub := mk.Public()
	mk.Wipe()
	return egress(TopicMasterKey, &contractsv1.MasterKeyPublication{
		Epoch: epoch, HpkePublicKey: pub.HPKE, SigningPublicKey: pub.Signing.Bytes(),
	})
}

// handover seals the whole history to gatekeeper id.
func (g *Gatekeeper) handover(id [identitySize]byte, to member) (Egress, error) {
	entries, err := g.history.Export()
	if err != nil {
		return Egress{}, fmt.Errorf("gatekeeper: %w", err)
	}
	defer keyderiv.WipeEpochSecrets(entries)
	latest := entries[len(entries)-1].Epoch
	sealed, err := envelope.SealMasterKeyHistory(to.pub, id, latest, entries)
	if err != nil {
		return Egress{}, fmt.Errorf("gatekeeper: handover to %s: %w", hexID(id), err)
	}
	g.log.Info("master-key history handed over", "to", hexID(id), "latest_epoch", latest, "epochs", len(entries))
	return egress(TopicMasterKeyHandover, &contractsv1.MasterKeyHandover{Recipient: id[:], LatestEpoch: latest, Sealed: sealed})
}

// contractKeyRequest answers with the contract's public keys and one
// sealed delivery per assigned worker, if this worker is a gatekeeper
// holding the epoch.
func (g *Gatekeeper) contractKeyRequest(r *contractsv1.ContractKeyRequest) ([]Egress, error) {
	cid, err := identityOf(r.GetContractId(), "contract id")
	if err != nil {
		return nil, err
	}
	epoch := r.GetEpoch()
	// Contracts get keys of published epochs only.
	if err := g.confirm(epoch); err != nil {
		return nil, err
	}
	if !g.isMember(g.identity) {
		return nil, nil
	}
	m, err := g.history.At(epoch)
	if err != nil {
		g.log.Debug("contract key requested for an epoch not held", "contract", hexID(cid), "epoch", epoch)
		return nil, nil
	}
	secrets, err := m.ContractSecrets(cid)
	if err != nil {
		return nil, fmt.Errorf("gatekeeper: contract %s: %w", hexID(cid), err)
	}
	defer secrets.Wipe()
	keys, err := secrets.Keys(cid)
	if err != nil {
		return nil, fmt.Errorf("gatekeeper: contract %s: %w", hexID(cid), err)
	}
	pub := keys.Public()
	keys.Wipe()
	p := &contractsv1.ContractKeyPublication{
		ContractId: cid[:], Epoch: epoch, HpkePublicKey: pub.HPKE, SigningPublicKey: pub.Signing.Bytes(),
	}
	seen := make(map[[identitySize]byte]bool, len(r.GetWorkers()))
	for i, w := range r.GetWorkers() {
		wid, err := identityOf(w.GetIdentity(), "worker identity")
		if err == nil && seen[wid] {
			continue
		}
		var wpub hpke.PublicKey
		if err == nil {
			wpub, err = parseHPKEPublic(w.GetHpkePublicKey())
		}
		if err != nil {
			// One unusable entry must not keep the others from their keys.
			g.log.Warn("contract key request: skipping an assigned worker", "contract", hexID(cid), "index", i, "err", err)
			continue
		}
		seen[wid] = true
		sealed, err := envelope.SealContractSecrets(wpub, wid, cid, epoch, secrets)
		if err != nil {
			return nil, fmt.Errorf("gatekeeper: contract %s for %s: %w", hexID(cid), hexID(wid), err)
		}
		p.Deliveries = append(p.Deliveries, &contractsv1.ContractKeyHandover{Recipient: wid[:], Sealed: sealed})
	}
	g.log.Info("contract keys published", "contract", hexID(cid), "epoch", epoch, "deliveries", len(p.Deliveries))
	e, err := egress(TopicContractKeys, p)
	if err != nil {
		return nil, err
	}
	return []Egress{e}, nil
}

// HandleMasterKey processes a MasterKeyDelivery from this worker's own
// topic: opens it and merges the epochs into the history. A worker that
// is not a gatekeeper ignores it. A secret differing from one already
// held for the same epoch fails the whole delivery with ErrConflict.
func (g *Gatekeeper) HandleMasterKey(d *contractsv1.MasterKeyDelivery) ([]Egress, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, ErrClosed
	}
	if d == nil {
		return nil, fmt.Errorf("%w: nil delivery", ErrInvalidMessage)
	}
	if !g.isMember(g.identity) {
		g.log.Debug("master-key delivery ignored: not a gatekeeper", "latest_epoch", d.GetLatestEpoch())
		return nil, nil
	}
	from := hex.EncodeToString(d.GetFrom())
	got, err := envelope.OpenMasterKeyHistory(g.hpke, g.identity, d.GetLatestEpoch(), d.GetSealed())
	if err != nil {
		g.log.Error("master-key delivery does not open", "from", from, "latest_epoch", d.GetLatestEpoch(), "err", err)
		return nil, fmt.Errorf("gatekeeper: %w", err)
	}
	defer keyderiv.WipeEpochSecrets(got)
	held, err := g.history.Export()
	if err != nil {
		return nil, fmt.Errorf("gatekeeper: %w", err)
	}
	defer keyderiv.WipeEpochSecrets(held)
	merged := slices.Clone(held)
	defer keyderiv.WipeEpochSecrets(merged)
	var added []uint64
	for _, e := range got {
		i, found := slices.BinarySearchFunc(held, e.Epoch, func(h keyderiv.EpochSecret, t uint64) int { return cmp.Compare(h.Epoch, t) })
		if found {
			if subtle.ConstantTimeCompare(held[i].Secret[:], e.Secret[:]) != 1 {
				g.log.Error("master-key delivery conflicts with a held epoch: not applied", "from", from, "epoch", e.Epoch)
				return nil, fmt.Errorf("gatekeeper: %w: epoch %d from %s", ErrConflict, e.Epoch, from)
			}
			continue
		}
		merged = append(merged, e)
		added = append(added, e.Epoch)
	}
	if len(added) == 0 {
		g.log.Debug("master-key delivery holds no new epoch", "from", from, "latest_epoch", d.GetLatestEpoch())
		return nil, nil
	}
	slices.SortFunc(merged, func(a, b keyderiv.EpochSecret) int { return cmp.Compare(a.Epoch, b.Epoch) })
	if err := g.commit(merged, nil, nil); err != nil {
		g.log.Error("master-key delivery not applied", "from", from, "err", err)
		return nil, err
	}
	g.log.Info("master-key history received", "from", from, "new_epochs", added, "epochs", g.history.Epochs())
	return nil, nil
}

// OpenContractKey opens a ContractKeyDelivery addressed to this worker
// (identity self, registered HPKE key priv) and derives the contract's
// keys. The caller wipes both results when done (the secrets are
// returned so the executor can seal them for its own restarts).
func OpenContractKey(priv hpke.PrivateKey, self [32]byte, d *contractsv1.ContractKeyDelivery) (*keyderiv.ContractKeys, *keyderiv.ContractSecrets, error) {
	if d == nil {
		return nil, nil, fmt.Errorf("%w: nil contract-key delivery", ErrInvalidMessage)
	}
	cid, err := identityOf(d.GetContractId(), "contract id")
	if err != nil {
		return nil, nil, err
	}
	s, err := envelope.OpenContractSecrets(priv, self, cid, d.GetEpoch(), d.GetSealed())
	if err != nil {
		return nil, nil, fmt.Errorf("contract %s epoch %d: %w", hexID(cid), d.GetEpoch(), err)
	}
	k, err := s.Keys(cid)
	if err != nil {
		s.Wipe()
		return nil, nil, fmt.Errorf("contract %s epoch %d: %w", hexID(cid), d.GetEpoch(), err)
	}
	return k, s, nil
}

func egress(topic string, m proto.Message) (Egress, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return Egress{}, fmt.Errorf("gatekeeper: encode %s: %w", topic, err)
	}
	return Egress{Topic: topic, Payload: b}, nil
}

// Sealed state. Plaintext layout (all integers big-endian):
//
//	version(1) = 1
//	identity(32)                      the worker the file belongs to
//	epochs(u32)  × (epoch(u64) secret(32))          strictly increasing
//	members(u32) × (identity(32) key_len(u16) key)  sorted by identity
//	unconfirmed(u32) × epoch(u64)                   strictly increasing
//
// Whether this worker is a gatekeeper is whether its identity is among
// the members. A binary layout rather than JSON so that every copy of the
// secrets is a buffer this package clears.

func encodeState(identity [identitySize]byte, entries []keyderiv.EpochSecret, members map[[identitySize]byte]member, unconfirmed map[uint64]bool) []byte {
	ids := slices.Collect(maps.Keys(members))
	slices.SortFunc(ids, func(a, b [identitySize]byte) int { return bytes.Compare(a[:], b[:]) })
	n := 1 + identitySize + 4 + len(entries)*(8+keyderiv.SecretSize) + 4
	for _, id := range ids {
		n += identitySize + 2 + len(members[id].raw)
	}
	b := make([]byte, 0, n)
	b = append(b, stateVersion)
	b = append(b, identity[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(entries)))
	for _, e := range entries {
		b = binary.BigEndian.AppendUint64(b, e.Epoch)
		b = append(b, e.Secret[:]...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		b = append(b, id[:]...)
		b = binary.BigEndian.AppendUint16(b, uint16(len(members[id].raw)))
		b = append(b, members[id].raw...)
	}
	epochs := slices.Sorted(maps.Keys(unconfirmed))
	b = binary.BigEndian.AppendUint32(b, uint32(len(epochs)))
	for _, e := range epochs {
		b = binary.BigEndian.AppendUint64(b, e)
	}
	return b
}

// reader reads the state layout; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = fmt.Errorf("%w: state truncated", sealfile.ErrNotSealed)
		r.b = nil
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u16() uint16 {
	if b := r.take(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// sealedState is the decoded sealed file.
type sealedState struct {
	identity    [identitySize]byte
	entries     []keyderiv.EpochSecret
	members     map[[identitySize]byte]member
	unconfirmed map[uint64]bool
}

// decodeState decodes encodeState's output. The caller wipes the entries.
func decodeState(pt []byte) (*sealedState, error) {
	var id [identitySize]byte
	r := reader{b: pt}
	if v := r.take(1); r.err == nil && v[0] != stateVersion {
		return nil, fmt.Errorf("%w: state version %d", sealfile.ErrNotSealed, v[0])
	}
	copy(id[:], r.take(identitySize))
	ne := r.u32()
	if r.err == nil && uint64(ne)*(8+keyderiv.SecretSize) > uint64(len(r.b)) {
		return nil, fmt.Errorf("%w: %d epochs do not fit", sealfile.ErrNotSealed, ne)
	}
	var entries []keyderiv.EpochSecret
	if r.err == nil {
		entries = make([]keyderiv.EpochSecret, ne)
	}
	for i := range entries {
		entries[i].Epoch = r.u64()
		copy(entries[i].Secret[:], r.take(keyderiv.SecretSize))
	}
	nm := r.u32()
	if r.err == nil && nm > MaxGatekeepers {
		r.err = fmt.Errorf("%w: %d gatekeepers", sealfile.ErrNotSealed, nm)
	}
	members := make(map[[identitySize]byte]member)
	var prev []byte
	for i := uint32(0); r.err == nil && i < nm; i++ {
		idb := r.take(identitySize)
		raw := bytes.Clone(r.take(int(r.u16())))
		if r.err != nil {
			break
		}
		if prev != nil && bytes.Compare(prev, idb) >= 0 {
			r.err = fmt.Errorf("%w: gatekeepers out of order", sealfile.ErrNotSealed)
			break
		}
		prev = idb
		mid := [identitySize]byte(idb)
		pub, err := parseHPKEPublic(raw)
		if err != nil {
			r.err = fmt.Errorf("%w: gatekeeper %s: %w", sealfile.ErrNotSealed, hexID(mid), err)
			break
		}
		members[mid] = member{raw: raw, pub: pub}
	}
	nu := r.u32()
	if r.err == nil && uint64(nu)*8 > uint64(len(r.b)) {
		r.err = fmt.Errorf("%w: %d unconfirmed epochs do not fit", sealfile.ErrNotSealed, nu)
	}
	unconfirmed := make(map[uint64]bool)
	for i, last := uint32(0), uint64(0); r.err == nil && i < nu; i++ {
		e := r.u64()
		if i > 0 && e <= last {
			r.err = fmt.Errorf("%w: unconfirmed epochs out of order", sealfile.ErrNotSealed)
		}
		unconfirmed[e], last = true, e
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", sealfile.ErrNotSealed, len(r.b))
	}
	if r.err != nil {
		keyderiv.WipeEpochSecrets(entries)
		return nil, r.err
	}
	return &sealedState{identity: id, entries: entries, members: members, unconfirmed: unconfirmed}, nil
}

// save seals the state to the file (nothing when memory only).
func (g *Gatekeeper) save(entries []keyderiv.EpochSecret, members map[[identitySize]byte]member, unconfirmed map[uint64]bool) error {
	if g.key == nil {
		return nil
	}
	pt := encodeState(g.identity, entries, members, unconfirmed)
	defer clear(pt)
	data, err := sealfile.Seal(g.key, fileMagic, SealingLabel, pt)
	if err != nil {
		return fmt.Errorf("gatekeeper: seal state: %w", err)
	}
	if err := sealfile.WriteAtomic(g.path, data, 0o600); err != nil {
		return fmt.Errorf("gatekeeper: %w", err)
	}
	return nil
}

// load reads the sealed file, if there is one.
func (g *Gatekeeper) load() error {
	data, err := sealfile.ReadLimited(g.path, maxFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("gatekeeper: %w", err)
	}
	pt, err := sealfile.Open(g.key, fileMagic, SealingLabel, data)
	if err != nil {
		return fmt.Errorf("gatekeeper: %s: %w", g.path, err)
	}
	defer clear(pt)
	st, err := decodeState(pt)
	if err != nil {
		return fmt.Errorf("gatekeeper: %s: %w", g.path, err)
	}
	defer keyderiv.WipeEpochSecrets(st.entries)
	if id := st.identity; id != g.identity {
		// Refuse rather than overwrite: the file may hold the only copy
		// of master secrets, and the worker's key file was replaced.
		return fmt.Errorf("gatekeeper: %s: %w %s (this worker is %s); move it away to start without it",
			g.path, ErrOtherIdentity, hexID(id), hexID(g.identity))
	}
	h, err := keyderiv.HistoryFrom(st.entries)
	if err != nil {
		return fmt.Errorf("gatekeeper: %s: %w: %w", g.path, sealfile.ErrNotSealed, err)
	}
	g.history, g.members, g.unconfirmed = h, st.members, st.unconfirmed
	return nil
}
