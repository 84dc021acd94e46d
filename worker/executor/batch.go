package executor

import (
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/veil-network/veil/worker/runtime"
)

// Durability: one synchronous database write per dispatch batch.
//
// Executing a message changes memory only: its state writes join the
// contract's overlay (stateKV.pending), its receipt, position and nonce
// records the executor's (pendingBatch.records), and reads — queries,
// receipts, the next message's call — see both at once. Flush (the end of
// a dispatch call), Close, or a batch grown past maxPendingMessages /
// maxPendingBytes write everything pending in ONE goleveldb batch with
// WriteSync, then drop the overlays.
//
// Why this is crash-safe. A goleveldb batch is one journal record: after
// a crash it is recovered whole or not at all, so the database always
// holds the state after some prefix of the contract logs (the last
// durable batch), with each contract's position record matching its state,
// receipts and nonces. The log itself is on chain, and execution is a
// function of the log only, so a restarted worker resumes at that
// position and re-executes the rest to byte-identical state, receipts and
// egress. Nothing leaves the worker before it is durable: the worker's
// egress (transfers, state reports) reaches the relayer only through the
// sealed sync checkpoint, which the syncer writes after Flush. A crash
// between Flush and that checkpoint leaves the checkpoint behind the
// executor: the redelivered messages are skipped and their egress rebuilt
// from their receipts (replayEgress). A failed write (below) can leave it
// ahead: the syncer moves such topics back to Next() when the dispatch
// call ends, and the relayer sends their messages again (the egress the
// rolled-back messages queued is what their re-execution produces again;
// the chain accepts each contract sequence once). Queries do answer from
// pending results (receipts, state) before they are durable; that is safe
// for the same reason: a re-execution after a crash reproduces exactly
// what they saw.
//
// Why not one synchronous write per message: each fsync costs tens of
// microseconds of CPU and a disk round trip of wall time per command
// (docs/benchmarks.md). Why not unsynced per-message writes synced at the
// end: goleveldb's journal recovery is not strict by default — it drops a
// corrupt block and carries on — so a power loss that tore a page in the
// middle of an unsynced stretch could keep later messages without earlier
// ones, a silent divergence from the other replicas. One record per batch
// cannot be torn that way.
//
// A failed write (disk full, I/O error) rolls every contract of the batch
// back to its durable state (reload) and is reported as runtime.ErrStorage;
// the syncer's positions may then be ahead of the executor's, and the
// syncer rewinds them to Next() at the end of the dispatch call.

const (
	// maxPendingMessages and maxPendingBytes bound what stays pending if
	// no Flush comes (a caller other than the syncer): beyond them Execute
	// writes the batch itself. A dispatch call carries at most 5,000
	// messages (worker.MaxMessagesPerCall), so the syncer's batches stay
	// whole unless their state writes are unusually large.
	maxPendingMessages = 8192
	maxPendingBytes    = 64 << 20
)

// pendingBatch is what executed messages wrote that is not yet in the
// database, besides the contracts' state overlays. Mutated under the
// executor's execMu; read concurrently by queries (mu).
type pendingBatch struct {
	mu sync.RWMutex
	// records: receipts, positions and nonces, by database key.
	records map[string][]byte

	// Under execMu only.
	contracts []*contract // touched, in first-touch order
	touched   map[*contract]bool
	messages  int
	bytes     int
}

// add records a committed message of c: its records (nil keys are
// skipped) and the size of its state writes.
func (p *pendingBatch) add(c *contract, stateBytes int, recs ...[2][]byte) {
	p.mu.Lock()
	if p.records == nil {
		p.records = map[string][]byte{}
	}
	for _, r := range recs {
		if r[0] == nil {
			continue
		}
		p.records[string(r[0])] = r[1]
		p.bytes += len(r[0]) + len(r[1])
	}
	p.mu.Unlock()
	if p.touched == nil {
		p.touched = map[*contract]bool{}
	}
	if !p.touched[c] {
		p.touched[c] = true
		p.contracts = append(p.contracts, c)
	}
	p.messages++
	p.bytes += stateBytes
}

// full reports whether the batch should be written without waiting for
// Flush.
func (p *pendingBatch) full() bool {
	return p.messages >= maxPendingMessages || p.bytes >= maxPendingBytes
}

// get returns a pending record (ok false: not pending).
func (p *pendingBatch) get(k []byte) ([]byte, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	v, ok := p.records[string(k)]
	return v, ok
}

// dropRecords forgets the pending records (written, or rolled back).
func (p *pendingBatch) dropRecords() {
	p.mu.Lock()
	p.records = nil
	p.mu.Unlock()
}

// commitPending writes every pending message in one synchronous database
// batch. On failure the touched contracts are rolled back to what the
// database holds. Callers hold execMu.
func (e *Executor) commitPending() error {
	p := &e.pending
	if p.messages == 0 {
		return nil
	}
	n, contracts := p.messages, p.contracts
	p.contracts, p.touched, p.messages, p.bytes = nil, nil, 0, 0
	err := e.writePending(contracts)
	if err == nil {
		// The database holds it all now: a read between the write and
		// these drops sees the same bytes either way.
		for _, c := range contracts {
			c.kv.clearPending()
		}
		p.dropRecords()
		return nil
	}
	errs := []error{err}
	for _, c := range contracts {
		if rerr := e.reload(c); rerr != nil {
			errs = append(errs, rerr)
		}
	}
	// After the contracts' positions went back: a receipt query checks
	// the position before reading.
	p.dropRecords()
	return fmt.Errorf("executor: writing %d executed messages failed; their contracts are back at their last durable position: %w",
		n, errors.Join(append([]error{runtime.ErrStorage}, errs...)...))
}

func (e *Executor) writePending(contracts []*contract) error {
	b := e.db.NewBatch()
	defer b.Close()
	for _, c := range contracts {
		if err := c.kv.writePending(b); err != nil {
			return err
		}
	}
	e.pending.mu.RLock()
	for k, v := range e.pending.records {
		if err := b.Set([]byte(k), v); err != nil {
			e.pending.mu.RUnlock()
			return err
		}
	}
	e.pending.mu.RUnlock()
	return b.WriteSync()
}

// reload rolls contract c back to what the database holds: its state,
// position and nonces, as a restart would. If that fails too the contract
// stops being ready (no state to run or serve from) until the worker
// restarts. Callers hold execMu.
func (e *Executor) reload(c *contract) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kv.clearPending()
	c.executed, c.reportedAt, c.rootKnown = false, 0, false
	st, err := runtime.OpenEncrypted(c.kv, c.keys.StateKey[:])
	if err == nil {
		c.store = st
		c.next, c.lastHeight, c.lastTime = 0, 0, 0
		err = e.loadPosition(c)
	}
	if err == nil {
		err = e.loadNonces(c)
	}
	if err != nil {
		c.store = nil
		e.log.Error("could not reload a contract after a failed write; it stays unready until the worker restarts", "contract", hex.EncodeToString(c.id[:]), "err", err)
		return fmt.Errorf("contract %x: reload: %w", c.id[:8], err)
	}
	return nil
}
