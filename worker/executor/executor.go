// Package executor runs a worker's confidential contracts (Phala's
// pRuntime contract executor): for every contract the worker is assigned
// to it holds the contract's keys (delivered by a gatekeeper), its code
// (loaded once into a shared wasm runtime), its encrypted state, its
// command-nonce tracker and its receipts; it executes the contract's
// ordered log (mq topic "contract/<hex id>") strictly in sequence, and
// answers end-to-end encrypted queries.
//
// Determinism: a contract's state, receipts and egress are a function of
// its log only. The clock is the block time carried by each message (not
// the light client's, so replaying an old log long after its headers left
// the light client's window sees the same clock), and randomness derives
// from the contract's random seed and the message's sequence. So any
// worker holding the key rebuilds the same state by replaying the log —
// losing a worker loses no state.
//
// Atomicity: a message's state writes, receipt, nonce and the contract's
// next sequence are recorded together (a query sees all or none), and a
// whole dispatch batch is written to the database in one synchronous
// batch at Flush, so a crash never leaves half a command: a restarted
// executor resumes after the last durable batch, skipping the messages
// the relayer delivers again and re-executing the rest (batch.go explains
// why that is safe). Failures of the host (disk, closed runtime) are not
// the contract's fault and not deterministic: nothing is recorded and the
// message is retried.
//
// Throughput: Prepare hands the executor a dispatch call's messages
// before they are verified and executed, so that the expensive part of a
// command — HPKE decapsulation and the caller's signature — runs on all
// cores ahead of the strictly sequential execution, with signatures
// checked as a batch (prepare.go). What Execute then takes from it is
// exactly what opening the envelope in line would give.
//
// Confidentiality: everything written to disk is ciphertext except
// contract code (public). See docs/contracts.md, "Execution on the
// worker", "Receipts" and "Queries".
package executor

import (
	"bytes"
	"context"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/veil-network/veil/chain/contracts"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keyderiv"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/worker/runtime"
)

// Egress topics the executor sends to: chain/contracts' own (the chain
// routes egress by topic, so they must match exactly).
const (
	TopicEgress = contracts.TopicEgress
	TopicState  = contracts.TopicState
)

// TransferTopic is the event topic the SDK's TransferOut emits.
const TransferTopic = "veil.transfer"

// StateReportEvery: a state report is sent at every sequence that is a
// multiple of this, besides one after each dispatch batch.
const StateReportEvery = 64

// DefaultReplayCacheSize is the default query replay-cache capacity
// (≈ 7.6 MB): 166 queries/s sustained over the 10-minute query lifetime.
const DefaultReplayCacheSize = 100_000

// Errors callers can match.
var (
	// ErrBadEnvelope: a query envelope that cannot be opened (wrong
	// recipient, tampered, expired, replayed, malformed). Nothing sealed
	// can be answered to it.
	ErrBadEnvelope = errors.New("executor: query envelope refused")
	// ErrOverloaded: the replay cache is full of unexpired nonces.
	ErrOverloaded = errors.New("executor: overloaded")
	// ErrUnavailable: a host failure (storage, closed runtime) while
	// answering; the client may retry.
	ErrUnavailable = errors.New("executor: temporarily unavailable")
	// ErrUnknownCode: ProvideCode got code nobody waits for.
	ErrUnknownCode = errors.New("executor: code is not awaited")
	// ErrInvalid: malformed input from the chain or the relayer.
	ErrInvalid = errors.New("executor: invalid input")
	// ErrNotReady: the contract cannot execute (no key, no code, or not
	// assigned).
	ErrNotReady = errors.New("executor: contract not ready")
	// ErrSequence: a message beyond the contract's next sequence.
	ErrSequence = errors.New("executor: message out of sequence")
)

// KeyOpener opens a contract-key delivery sealed to this worker. The
// worker passes gatekeeper.OpenContractKey bound to its HPKE key and
// identity.
type KeyOpener func(d *contractsv1.ContractKeyDelivery) (*keyderiv.ContractKeys, *keyderiv.ContractSecrets, error)

// Metrics receives the executor's outcomes (the worker's Prometheus
// counters). Nil is fine.
type Metrics interface {
	Command(status string)
	Query(outcome string, d time.Duration)
}

// Config configures an Executor.
type Config struct {
	// Home is the worker's home: the database is HOME/contracts/state.db
	// and compiled code is cached under HOME/contracts/wasm-cache.
	Home string
	// SealingKey (32 bytes, from the platform under LabelSealedKeys)
	// seals the contract secrets on disk. Nil: the platform cannot seal
	// (TDX); everything is then kept in memory only.
	SealingKey []byte
	// HPKE is the worker's HPKE private key: it opens queries.
	HPKE hpke.PrivateKey
	// OpenKey opens contract-key deliveries.
	OpenKey KeyOpener
	// ReplayCacheSize bounds the query replay cache (default
	// DefaultReplayCacheSize).
	ReplayCacheSize int
	// SessionTableSize bounds the open query sessions (default
	// DefaultSessionTableSize); see session.go.
	SessionTableSize int
	// Runtime overrides the contract runtime's configuration (every
	// outcome-affecting field must be the network's; CacheDir defaults to
	// HOME/contracts/wasm-cache).
	Runtime runtime.Config
	Metrics Metrics
	Log     *slog.Logger
}

// Egress is a message for the worker's outbox.
type Egress struct {
	Topic   string
	Payload []byte
}

// Executor executes the contracts a worker is assigned to. Execute,
// Prepare, Flush and the key and code handlers are serialized; Query runs
// concurrently with them.
type Executor struct {
	cfg       Config
	log       *slog.Logger
	db        dbm.DB // nil until the first contract (persistent mode)
	dbDir     string
	ephemeral bool
	rt        *runtime.Runtime
	keySealer *sealer
	worker    *envelope.CachedKey
	replay    *envelope.ReplayCache
	sessions  *sessionTable
	metrics   Metrics

	// execMu serializes everything that changes contracts.
	execMu sync.Mutex
	// pending is what executed messages wrote that is not durable yet
	// (batch.go); prep the current dispatch call's preparation, nil if
	// none (prepare.go). Both under execMu (pending's records also
	// under their own lock, for queries).
	pending pendingBatch
	prep    *preparation
	// prepared counts commands whose opening Execute took from a
	// preparation (for tests and the benchmarks).
	prepared atomic.Uint64
	// mu guards the contracts map.
	mu        sync.RWMutex
	contracts map[[32]byte]*contract
}

// contract is one assigned contract. Fields set at key installation are
// immutable; those under "execMu" are touched only by the serialized
// mutators; those under mu are shared with queries.
type contract struct {
	id       [32]byte
	epoch    uint64
	codeHash [32]byte
	keys     *keyderiv.ContractKeys
	hpkeKey  *envelope.CachedKey
	receipts *sealer
	nonces   *sealer
	position *sealer
	// nonceIdx is the HKDF PRK of the key hiding callers in nonce record
	// keys; randomPRK that of the contract's random seed (the seeds of
	// calls and queries). Both are extracted once, at key installation.
	nonceIdx  []byte
	randomPRK []byte
	kv        *stateKV

	// execMu
	tracker    *envelope.NonceTracker
	executed   bool   // executed ≥ 1 message since the last Flush
	reportedAt uint64 // sequence+1 of the last state report (0: none)

	mu         sync.RWMutex
	assigned   bool
	mod        *runtime.Module
	store      *runtime.EncryptedStorage
	next       uint64
	lastHeight uint64
	lastTime   int64
	root       [32]byte
	rootNext   uint64 // next sequence root was computed at
	rootKnown  bool   // root was computed at all (it is computed on demand)
	// chainNext is the contract log's length as last proven to the worker
	// (chainNextKnown: at least once since the executor opened). A replica
	// behind it — a newcomer replaying the log, or a worker catching up
	// after downtime — must not answer reads from its stale state: it
	// refuses them as not_ready, so clients use another replica.
	chainNext      uint64
	chainNextKnown bool
}

// contract returns the contract with id, or nil.
func (e *Executor) contract(id [32]byte) *contract {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.contracts[id]
}

func (c *contract) readyLocked() bool { return c.assigned && c.mod != nil && c.store != nil }

// caughtUpLocked reports whether the contract's state reflects its whole
// log as last proven to the worker.
func (c *contract) caughtUpLocked() bool { return c.chainNextKnown && c.next >= c.chainNext }

// NoteChainNext records that the chain's log of contract id held next
// messages at a state the worker verified (the syncer calls it with every
// proven next sequence of a contract topic).
func (e *Executor) NoteChainNext(id [32]byte, next uint64) {
	c := e.contract(id)
	if c == nil {
		return
	}
	c.mu.Lock()
	if !c.chainNextKnown || next > c.chainNext {
		c.chainNext, c.chainNextKnown = next, true
	}
	c.mu.Unlock()
}

// Open opens (or creates) the executor's database and restores every
// contract recorded in it.
func Open(ctx context.Context, cfg Config) (*Executor, error) {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	if cfg.HPKE == nil {
		return nil, errors.New("executor: the worker's HPKE key is required")
	}
	if cfg.OpenKey == nil {
		return nil, errors.New("executor: a contract-key opener is required")
	}
	if cfg.ReplayCacheSize <= 0 {
		cfg.ReplayCacheSize = DefaultReplayCacheSize
	}
	e := &Executor{cfg: cfg, log: log, metrics: cfg.Metrics, contracts: map[[32]byte]*contract{}}
	var err error
	if e.worker, err = envelope.NewCachedKey(cfg.HPKE); err != nil {
		return nil, fmt.Errorf("executor: worker key: %w", err)
	}
	if e.replay, err = envelope.NewReplayCache(cfg.ReplayCacheSize); err != nil {
		return nil, fmt.Errorf("executor: %w", err)
	}
	e.sessions = newSessionTable(cfg.SessionTableSize)
	sealKey := cfg.SealingKey
	dir := filepath.Join(cfg.Home, "contracts")
	if sealKey == nil {
		// No sealing: keys, state and receipts live in memory only, under
		// an ephemeral key (the code path stays the same).
		e.ephemeral = true
		sealKey = make([]byte, 32)
		_, _ = rand.Read(sealKey)
		defer clear(sealKey)
		e.db = dbm.NewMemDB()
	} else {
		if len(sealKey) != 32 {
			return nil, fmt.Errorf("executor: sealing key has %d bytes, want 32", len(sealKey))
		}
		e.dbDir = dir
		// The database is created with the first contract key: a worker
		// that never executes a contract keeps no database (and holds no
		// lock on one).
		if _, err := os.Stat(filepath.Join(dir, dbName+".db")); err == nil {
			if err := e.openDB(); err != nil {
				return nil, err
			}
		}
	}
	if e.keySealer, err = newSealer(sealKey, LabelSealedKeys); err != nil {
		e.closeDB()
		return nil, err
	}
	rc := cfg.Runtime
	if rc.CacheDir == "" && cfg.Home != "" {
		rc.CacheDir = filepath.Join(dir, "wasm-cache")
		if err := os.MkdirAll(rc.CacheDir, 0o700); err != nil {
			e.closeDB()
			return nil, fmt.Errorf("executor: %w", err)
		}
	}
	if e.rt, err = runtime.New(ctx, rc); err != nil {
		e.closeDB()
		return nil, fmt.Errorf("executor: runtime: %w", err)
	}
	if err := e.restore(ctx); err != nil {
		e.Close(ctx)
		return nil, err
	}
	return e, nil
}

// dbName is the database's name in HOME/contracts (a directory
// dbName.db).
const dbName = "state"

// openDB opens the persistent database. Callers hold execMu (or own e).
func (e *Executor) openDB() error {
	if e.db != nil {
		return nil
	}
	if err := os.MkdirAll(e.dbDir, 0o700); err != nil {
		return fmt.Errorf("executor: %w", err)
	}
	db, err := dbm.NewGoLevelDB(dbName, e.dbDir)
	if err != nil {
		return fmt.Errorf("executor: open database in %s: %w", e.dbDir, err)
	}
	e.db = db
	return nil
}

func (e *Executor) closeDB() error {
	if e.db == nil {
		return nil
	}
	err := e.db.Close()
	e.db = nil
	return err
}

// Close releases the runtime and the database and wipes the contracts' keys.
func (e *Executor) Close(ctx context.Context) error {
	e.execMu.Lock()
	defer e.execMu.Unlock()
	e.stopPreparation()
	var err error
	if e.db != nil {
		// What executed since the last Flush is kept: a restart then has
		// less of the log to execute again.
		err = e.commitPending()
	}
	err = errors.Join(err, e.rt.Close(ctx), e.closeDB())
	// The contracts' secrets go with the executor (the gatekeeper's do
	// with Gatekeeper.Close); the worker closes its API first, so no query
	// still uses them.
	e.mu.Lock()
	for _, c := range e.contracts {
		c.keys.Wipe()
		clear(c.nonceIdx)
		clear(c.randomPRK)
	}
	e.mu.Unlock()
	return err
}

// Ephemeral reports whether nothing is persisted (no sealing key).
func (e *Executor) Ephemeral() bool { return e.ephemeral }

// keyRecord is the sealed "k/" record.
type keyRecord struct {
	epoch    uint64
	codeHash [32]byte
	assigned bool
	secrets  []byte
}

const keyRecordVersion = 1

func (e *Executor) sealKeyRecord(id [32]byte, r keyRecord) []byte {
	pt := make([]byte, 0, 1+8+32+1+len(r.secrets))
	pt = append(pt, keyRecordVersion)
	pt = binary.BigEndian.AppendUint64(pt, r.epoch)
	pt = append(pt, r.codeHash[:]...)
	flag := byte(0)
	if r.assigned {
		flag = 1
	}
	pt = append(append(pt, flag), r.secrets...)
	defer clear(pt)
	return e.keySealer.seal(pt, key(prefixKeys, id[:]))
}

func (e *Executor) openKeyRecord(id [32]byte, v []byte) (keyRecord, error) {
	pt, err := e.keySealer.open(v, key(prefixKeys, id[:]))
	if err != nil {
		return keyRecord{}, err
	}
	if len(pt) != 1+8+32+1+keyderiv.ContractSecretsSize || pt[0] != keyRecordVersion || pt[41] > 1 {
		clear(pt)
		return keyRecord{}, fmt.Errorf("%w: malformed contract key record", runtime.ErrStorage)
	}
	return keyRecord{epoch: binary.BigEndian.Uint64(pt[1:9]), codeHash: [32]byte(pt[9:41]), assigned: pt[41] == 1, secrets: pt[42:]}, nil
}

// restore loads every contract recorded in the database.
func (e *Executor) restore(ctx context.Context) error {
	if e.db == nil {
		return nil
	}
	p := []byte(prefixKeys)
	it, err := e.db.Iterator(p, types.PrefixEnd(p))
	if err != nil {
		return fmt.Errorf("executor: %w", err)
	}
	type rec struct {
		id [32]byte
		v  []byte
	}
	var recs []rec
	for ; it.Valid(); it.Next() {
		k := it.Key()
		if len(k) != len(p)+32 {
			it.Close()
			return fmt.Errorf("executor: %w: unexpected key record", runtime.ErrStorage)
		}
		recs = append(recs, rec{id: [32]byte(k[len(p):]), v: bytes.Clone(it.Value())})
	}
	err = it.Error()
	it.Close()
	if err != nil {
		return fmt.Errorf("executor: %w", err)
	}
	for _, r := range recs {
		kr, err := e.openKeyRecord(r.id, r.v)
		if err != nil {
			return fmt.Errorf("executor: contract %x: %w (the database was written by another worker or platform)", r.id[:8], err)
		}
		sec, err := keyderiv.UnmarshalContractSecrets(kr.secrets)
		clear(kr.secrets)
		if err != nil {
			return fmt.Errorf("executor: contract %x: %w", r.id[:8], err)
		}
		ks, err := sec.Keys(r.id)
		sec.Wipe()
		if err != nil {
			return fmt.Errorf("executor: contract %x: %w", r.id[:8], err)
		}
		c, err := e.newContract(r.id, kr.epoch, kr.codeHash, ks)
		if err != nil {
			return err
		}
		c.assigned = kr.assigned
		if err := e.loadContract(ctx, c); err != nil {
			return err
		}
		e.contracts[r.id] = c
		e.log.Info("contract restored", "contract", hex.EncodeToString(r.id[:]), "next_sequence", c.next,
			"ready", c.readyLocked(), "assigned", c.assigned)
	}
	return nil
}

// newContract sets up a contract's keys and derived sealers.
func (e *Executor) newContract(id [32]byte, epoch uint64, codeHash [32]byte, ks *keyderiv.ContractKeys) (*contract, error) {
	c := &contract{id: id, epoch: epoch, codeHash: codeHash, keys: ks, assigned: true,
		kv: &stateKV{db: e.db, prefix: key(prefixState, id[:])}, tracker: envelope.NewNonceTracker(id)}
	var err error
	if c.hpkeKey, err = envelope.NewCachedKey(ks.HPKE); err != nil {
		return nil, fmt.Errorf("executor: contract %x: %w", id[:8], err)
	}
	for _, s := range []struct {
		dst   **sealer
		label string
	}{{&c.receipts, labelReceipts}, {&c.nonces, labelNonces}, {&c.position, labelPosition}} {
		if *s.dst, err = newSealer(ks.StateKey[:], s.label); err != nil {
			return nil, err
		}
	}
	idxPRK, err := hkdfPRK(ks.StateKey[:])
	if err != nil {
		return nil, err
	}
	idxKey, err := hkdfExpand(idxPRK, labelNonceIndex, nil)
	clear(idxPRK)
	if err != nil {
		return nil, err
	}
	c.nonceIdx, err = hkdfPRK(idxKey)
	clear(idxKey)
	if err != nil {
		return nil, err
	}
	if c.randomPRK, err = hkdfPRK(ks.RandomSeed[:]); err != nil {
		return nil, err
	}
	return c, nil
}

// loadContract opens the contract's state, position, nonces and (if
// stored) code.
func (e *Executor) loadContract(ctx context.Context, c *contract) error {
	var err error
	if c.store, err = runtime.OpenEncrypted(c.kv, c.keys.StateKey[:]); err != nil {
		return fmt.Errorf("executor: contract %x state: %w", c.id[:8], err)
	}
	if err := e.loadPosition(c); err != nil {
		return err
	}
	if err := e.loadNonces(c); err != nil {
		return err
	}
	// The state root is computed on demand (currentRoot): a digest reads
	// the whole state, which OpenEncrypted has just read.
	if c.mod = e.loadedModule(c.codeHash); c.mod != nil {
		return nil
	}
	code, err := e.db.Get(key(prefixCode, c.codeHash[:]))
	if err != nil {
		return fmt.Errorf("executor: %w", err)
	}
	if code != nil {
		mod, err := e.rt.Load(ctx, code)
		if err != nil {
			return fmt.Errorf("executor: contract %x code %x: %w", c.id[:8], c.codeHash[:8], err)
		}
		c.mod = mod
	}
	return nil
}

// loadedModule returns the module of another contract with the same code,
// if one is loaded, so that contracts sharing code read and hash it once.
func (e *Executor) loadedModule(codeHash [32]byte) *runtime.Module {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, o := range e.contracts {
		if o.codeHash != codeHash {
			continue
		}
		o.mu.RLock()
		mod := o.mod
		o.mu.RUnlock()
		if mod != nil {
			return mod
		}
	}
	return nil
}

func (e *Executor) loadPosition(c *contract) error {
	k := key(prefixPosition, c.id[:])
	v, err := e.db.Get(k)
	if err != nil {
		return fmt.Errorf("executor: %w", err)
	}
	if v == nil {
		return nil
	}
	pt, err := c.position.open(v, k)
	if err != nil {
		return fmt.Errorf("executor: contract %x position: %w", c.id[:8], err)
	}
	if len(pt) != 24 {
		return fmt.Errorf("executor: contract %x: %w: position of %d bytes", c.id[:8], runtime.ErrStorage, len(pt))
	}
	c.next, c.lastHeight, c.lastTime = binary.BigEndian.Uint64(pt), binary.BigEndian.Uint64(pt[8:]), int64(binary.BigEndian.Uint64(pt[16:]))
	return nil
}

func (c *contract) positionRecord(next, height uint64, t int64) (k, v []byte) {
	k = key(prefixPosition, c.id[:])
	pt := binary.BigEndian.AppendUint64(nil, next)
	pt = binary.BigEndian.AppendUint64(pt, height)
	pt = binary.BigEndian.AppendUint64(pt, uint64(t))
	return k, c.position.seal(pt, k)
}

func (e *Executor) loadNonces(c *contract) error {
	p := key(prefixNonce, c.id[:])
	it, err := e.db.Iterator(p, types.PrefixEnd(p))
	if err != nil {
		return fmt.Errorf("executor: %w", err)
	}
	defer it.Close()
	var entries []envelope.NonceEntry
	for ; it.Valid(); it.Next() {
		pt, err := c.nonces.open(it.Value(), it.Key())
		if err != nil || len(pt) != 40 {
			return fmt.Errorf("executor: contract %x nonce record: %w", c.id[:8], errors.Join(err, runtime.ErrStorage))
		}
		entries = append(entries, envelope.NonceEntry{Caller: [32]byte(pt[:32]), Nonce: binary.BigEndian.Uint64(pt[32:])})
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("executor: %w", err)
	}
	slices.SortFunc(entries, func(a, b envelope.NonceEntry) int { return bytes.Compare(a.Caller[:], b.Caller[:]) })
	t, err := envelope.RestoreNonceTracker(c.id, entries)
	if err != nil {
		return fmt.Errorf("executor: contract %x: %w", c.id[:8], err)
	}
	c.tracker = t
	return nil
}

func (c *contract) nonceRecord(caller [32]byte, nonce uint64) (k, v []byte, err error) {
	idx, err := hkdfExpand(c.nonceIdx, "veil/contract/nonce-slot/v1", caller[:])
	if err != nil {
		return nil, nil, err
	}
	k = key(prefixNonce, c.id[:], idx)
	pt := binary.BigEndian.AppendUint64(append([]byte(nil), caller[:]...), nonce)
	return k, c.nonces.seal(pt, k), nil
}

// HandleContractKey installs a contract's keys from a gatekeeper's
// delivery. A repeated delivery (same contract and epoch) is a no-op,
// except that it re-assigns a contract that was unassigned. It reports
// whether the contract is ready (key and code present) afterwards.
func (e *Executor) HandleContractKey(ctx context.Context, d *contractsv1.ContractKeyDelivery) (ready bool, err error) {
	if len(d.GetContractId()) != 32 || len(d.GetCodeHash()) != 32 {
		return false, fmt.Errorf("%w: contract key delivery with a %d-byte id and a %d-byte code hash", ErrInvalid, len(d.GetContractId()), len(d.GetCodeHash()))
	}
	id := [32]byte(d.GetContractId())
	e.execMu.Lock()
	defer e.execMu.Unlock()
	c := e.contract(id)
	if c != nil {
		c.mu.RLock()
		assigned, r := c.assigned, c.readyLocked()
		c.mu.RUnlock()
		if d.GetEpoch() != c.epoch || [32]byte(d.GetCodeHash()) != c.codeHash {
			e.log.Warn("contract key delivery differs from the installed one; kept the installed key", "contract", hex.EncodeToString(id[:]),
				"epoch", d.GetEpoch(), "installed_epoch", c.epoch)
		}
		if assigned {
			return r, nil
		}
		if err := e.setAssigned(c, true); err != nil {
			return false, err
		}
		c.mu.RLock()
		defer c.mu.RUnlock()
		return c.readyLocked(), nil
	}
	if err := e.openDB(); err != nil {
		return false, errors.Join(runtime.ErrStorage, err)
	}
	ks, sec, err := e.cfg.OpenKey(d)
	if err != nil {
		return false, fmt.Errorf("open contract key of %x: %w", id[:8], err)
	}
	defer sec.Wipe()
	if ks.ID != id {
		ks.Wipe()
		return false, fmt.Errorf("%w: delivery for %x opened keys of %x", ErrInvalid, id[:8], ks.ID[:8])
	}
	secBytes, err := sec.MarshalBinary()
	if err != nil {
		ks.Wipe()
		return false, fmt.Errorf("contract %x secrets: %w", id[:8], err)
	}
	defer clear(secBytes)
	installed := false
	defer func() {
		if !installed {
			ks.Wipe()
		}
	}()
	c, err = e.newContract(id, d.GetEpoch(), [32]byte(d.GetCodeHash()), ks)
	if err != nil {
		return false, err
	}
	// Persist the key first: state written later must never be left
	// without the key that reads it.
	if err := e.db.SetSync(key(prefixKeys, id[:]), e.sealKeyRecord(id, keyRecord{epoch: c.epoch, codeHash: c.codeHash, assigned: true, secrets: secBytes})); err != nil {
		return false, fmt.Errorf("executor: store contract key: %w", errors.Join(runtime.ErrStorage, err))
	}
	if err := e.loadContract(ctx, c); err != nil {
		return false, err
	}
	e.mu.Lock()
	e.contracts[id] = c
	e.mu.Unlock()
	installed = true
	e.log.Info("contract key installed", "contract", hex.EncodeToString(id[:]), "epoch", c.epoch,
		"code_hash", hex.EncodeToString(c.codeHash[:]), "ready", c.readyLocked())
	return c.readyLocked(), nil
}

// setAssigned persists and applies the assigned flag.
func (e *Executor) setAssigned(c *contract, assigned bool) error {
	raw, err := e.db.Get(key(prefixKeys, c.id[:]))
	if err != nil || raw == nil {
		return fmt.Errorf("executor: contract %x key record: %w", c.id[:8], errors.Join(err, runtime.ErrStorage))
	}
	kr, err := e.openKeyRecord(c.id, raw)
	if err != nil {
		return err
	}
	defer clear(kr.secrets)
	kr.assigned = assigned
	if err := e.db.SetSync(key(prefixKeys, c.id[:]), e.sealKeyRecord(c.id, kr)); err != nil {
		return fmt.Errorf("executor: store contract key: %w", errors.Join(runtime.ErrStorage, err))
	}
	c.mu.Lock()
	c.assigned = assigned
	c.mu.Unlock()
	return nil
}

// HandleUnassigned stops executing and serving a contract. Its key and
// data stay, so a later re-assignment resumes where it stopped.
func (e *Executor) HandleUnassigned(id [32]byte) error {
	e.execMu.Lock()
	defer e.execMu.Unlock()
	c := e.contract(id)
	if c == nil {
		return nil
	}
	if err := e.setAssigned(c, false); err != nil {
		return err
	}
	e.log.Info("contract unassigned", "contract", hex.EncodeToString(id[:]))
	return nil
}

// MissingCode lists the code hashes of assigned contracts whose code the
// worker does not have, sorted.
func (e *Executor) MissingCode() [][]byte {
	e.mu.RLock()
	defer e.mu.RUnlock()
	seen := map[[32]byte]bool{}
	var out [][]byte
	for _, c := range e.contracts {
		c.mu.RLock()
		missing := c.assigned && c.mod == nil
		c.mu.RUnlock()
		if missing && !seen[c.codeHash] {
			seen[c.codeHash] = true
			out = append(out, bytes.Clone(c.codeHash[:]))
		}
	}
	slices.SortFunc(out, bytes.Compare)
	return out
}

// ProvideCode accepts code whose SHA-256 an assigned contract awaits,
// compiles it, stores it and makes its contracts ready. It returns the
// hash; ErrUnknownCode when nobody awaits it.
func (e *Executor) ProvideCode(ctx context.Context, code []byte) ([32]byte, error) {
	h := sha256.Sum256(code)
	waiting := func() []*contract {
		e.mu.RLock()
		defer e.mu.RUnlock()
		var cs []*contract
		for _, c := range e.contracts {
			c.mu.RLock()
			if c.codeHash == h && c.mod == nil {
				cs = append(cs, c)
			}
			c.mu.RUnlock()
		}
		return cs
	}
	if len(waiting()) == 0 {
		return h, fmt.Errorf("%w: %x", ErrUnknownCode, h)
	}
	// Compile outside execMu (it takes seconds for a Go contract) so
	// execution of other contracts goes on.
	mod, err := e.rt.Load(ctx, code)
	if err != nil {
		return h, fmt.Errorf("executor: load code %x: %w", h[:8], err)
	}
	e.execMu.Lock()
	defer e.execMu.Unlock()
	if err := e.db.SetSync(key(prefixCode, h[:]), code); err != nil {
		return h, fmt.Errorf("executor: store code: %w", errors.Join(runtime.ErrStorage, err))
	}
	for _, c := range waiting() {
		c.mu.Lock()
		c.mod = mod
		c.mu.Unlock()
		e.log.Info("contract code installed", "contract", hex.EncodeToString(c.id[:]), "code_hash", hex.EncodeToString(h[:]))
	}
	return h, nil
}

// Ready lists the contracts that execute, with their next sequence.
func (e *Executor) Ready() map[[32]byte]uint64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := map[[32]byte]uint64{}
	for id, c := range e.contracts {
		c.mu.RLock()
		if c.readyLocked() {
			out[id] = c.next
		}
		c.mu.RUnlock()
	}
	return out
}

// Next is a contract's next sequence to execute (ok false: unknown).
func (e *Executor) Next(id [32]byte) (uint64, bool) {
	c := e.contract(id)
	if c == nil {
		return 0, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.next, true
}

// Status describes every contract the worker holds a key for. State
// roots are computed on demand (a digest reads the contract's whole
// encrypted state), at most once per executed batch.
func (e *Executor) Status() []*workerv1.ContractStatus {
	e.execMu.Lock()
	defer e.execMu.Unlock()
	e.mu.RLock()
	defer e.mu.RUnlock()
	out := make([]*workerv1.ContractStatus, 0, len(e.contracts))
	for _, c := range e.contracts {
		if _, err := e.currentRoot(c); err != nil {
			e.log.Error("contract state root", "contract", hex.EncodeToString(c.id[:]), "err", err)
		}
		c.mu.RLock()
		out = append(out, &workerv1.ContractStatus{ContractId: bytes.Clone(c.id[:]), CodeHash: bytes.Clone(c.codeHash[:]),
			Ready: c.readyLocked(), NextSequence: c.next, StateRoot: bytes.Clone(c.root[:]), KeyEpoch: c.epoch})
		c.mu.RUnlock()
	}
	slices.SortFunc(out, func(a, b *workerv1.ContractStatus) int { return bytes.Compare(a.ContractId, b.ContractId) })
	return out
}

// currentRoot returns the state root after the last executed message,
// computing it if stale. Callers hold execMu.
func (e *Executor) currentRoot(c *contract) ([32]byte, error) {
	c.mu.RLock()
	next, known, rootNext, root, store := c.next, c.rootKnown, c.rootNext, c.root, c.store
	c.mu.RUnlock()
	if (known && next == rootNext) || store == nil {
		return root, nil
	}
	root, err := store.Digest()
	if err != nil {
		return root, fmt.Errorf("contract %x state root: %w", c.id[:8], err)
	}
	c.mu.Lock()
	c.root, c.rootNext, c.rootKnown = root, next, true
	c.mu.Unlock()
	return root, nil
}
