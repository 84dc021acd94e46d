package contracts

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/types"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
)

// Reasons recorded in a contract's assignment history.
const (
	ReasonInstantiated = "instantiated"
	ReasonReassigned   = "reassigned"
	// ReasonReplaced: an assigned worker stopped being eligible
	// (unresponsive, stopped computing, attestation expired) and the chain
	// drew a replacement on its own.
	ReasonReplaced = "replaced"
)

// Scheduling limits (not parameters: they bound per-block work).
const (
	// MaxReplacementsPerBlock bounds the queued contracts EndBlock
	// reschedules in one block; the rest wait for the next blocks.
	MaxReplacementsPerBlock = 32
	// UnderstaffedRetryBlocks is how long a contract that could not be
	// brought back to its replica count waits before the next draw, so
	// an understaffed contract does not walk the worker set every block.
	UnderstaffedRetryBlocks = 10
)

var (
	// contracts/assigned/<worker 32><id 32> → empty: the reverse index
	// from a worker to the contracts it serves, so losing a worker costs
	// its own contracts, never a scan of all contracts.
	prefixAssigned = []byte("contracts/assigned/")
	// contracts/replace/<u64be due height><id 32> → empty, and
	// contracts/replace_at/<id 32> → u64be due height: the replacement
	// queue, visited in due order.
	prefixReplace   = []byte("contracts/replace/")
	prefixReplaceAt = []byte("contracts/replace_at/")
)

func assignedKey(worker, id []byte) []byte { return key(prefixAssigned, worker, id) }

func replaceKey(due int64, id []byte) []byte {
	var hb [8]byte
	binary.BigEndian.PutUint64(hb[:], uint64(due))
	return key(prefixReplace, hb[:], id)
}

// AssignedContracts lists the contracts worker is assigned to, in id
// order.
func AssignedContracts(s types.KVStore, worker []byte) [][32]byte {
	var out [][32]byte
	p := key(prefixAssigned, worker)
	s.Iterate(p, func(k, _ []byte) bool {
		if len(k) == len(p)+32 {
			out = append(out, [32]byte(k[len(p):]))
		}
		return true
	})
	return out
}

// WorkerLost queues every contract the worker serves for a replacement
// draw in this block's EndBlock. The compute module calls it when a
// worker turns unresponsive or stops computing, the registry when a
// worker's attestation expires. Queuing (instead of redrawing at once)
// keeps the caller's loop cheap and gives every contract one draw per
// block however many of its workers were lost in it.
func (m *Module) WorkerLost(ctx *types.Context, worker []byte) error {
	for _, id := range AssignedContracts(ctx.Store, worker) {
		m.queueReplacement(ctx.Store, id[:], ctx.Height)
	}
	return nil
}

func (m *Module) queueReplacement(s types.KVStore, id []byte, due int64) {
	atKey := key(prefixReplaceAt, id)
	if v := s.Get(atKey); len(v) == 8 {
		prev := int64(binary.BigEndian.Uint64(v))
		if prev <= due {
			return
		}
		s.Delete(replaceKey(prev, id))
	}
	var hb [8]byte
	binary.BigEndian.PutUint64(hb[:], uint64(due))
	s.Set(atKey, hb[:])
	s.Set(replaceKey(due, id), []byte{})
}

func dequeueReplacement(s types.KVStore, due int64, id []byte) {
	s.Delete(replaceKey(due, id))
	s.Delete(key(prefixReplaceAt, id))
}

// EndBlock reschedules queued contracts whose turn has come.
func (m *Module) EndBlock(ctx *types.Context) error {
	type entry struct {
		due int64
		id  []byte
	}
	var due []entry
	ctx.Store.Iterate(prefixReplace, func(k, _ []byte) bool {
		if len(due) >= MaxReplacementsPerBlock || len(k) != len(prefixReplace)+8+32 {
			return false
		}
		h := int64(binary.BigEndian.Uint64(k[len(prefixReplace):]))
		if h > ctx.Height {
			return false
		}
		due = append(due, entry{h, bytes.Clone(k[len(prefixReplace)+8:])})
		return true
	})
	var d *draw // read once, for the first contract that needs it
	for _, e := range due {
		dequeueReplacement(ctx.Store, e.due, e.id)
		rec := Contract(ctx.Store, [32]byte(e.id))
		if rec == nil {
			continue
		}
		if d == nil {
			d = newDraw(ctx.Store, ctx.Height)
		}
		next, err := d.assign([32]byte(e.id), int(rec.GetReplicas()), rec.GetWorkers())
		var terr *types.Error
		switch {
		case err == nil:
		case errors.As(err, &terr) && terr.Code == CodeNotEnoughWorkers:
			// Serve with what there is, and look again later.
			m.queueReplacement(ctx.Store, e.id, ctx.Height+UnderstaffedRetryBlocks)
			if ctx.Emitting() {
				ctx.Emit("contract_understaffed", types.Attr{Key: "contract", Value: types.HexID(e.id)},
					types.Attr{Key: "workers", Value: strconv.Itoa(len(next))},
					types.Attr{Key: "replicas", Value: strconv.FormatUint(uint64(rec.GetReplicas()), 10)},
					types.Attr{Key: "retry_at", Value: strconv.FormatInt(ctx.Height+UnderstaffedRetryBlocks, 10)})
			}
		default:
			return err
		}
		if sameWorkers(next, rec.GetWorkers()) {
			continue
		}
		if err := m.setWorkers(ctx, rec, next, ReasonReplaced); err != nil {
			return err
		}
	}
	return nil
}

func sameWorkers(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// setWorkers makes next the contract's assignment: it records the change
// in the history and the worker index, tells removed workers to drop the
// contract, and asks the gatekeepers to deliver the key to the added ones
// (who then rebuild the state from the contract's log).
func (m *Module) setWorkers(ctx *types.Context, rec *contractsv1.ContractRecord, next [][]byte, reason string) error {
	id := [32]byte(rec.GetId())
	old := rec.GetWorkers()
	var removed, added [][]byte
	for _, w := range old {
		if !contains(next, w) {
			removed = append(removed, w)
		}
	}
	for _, w := range next {
		if !contains(old, w) {
			added = append(added, w)
		}
	}
	rec.Workers = next
	rec.History = append(rec.History, &contractsv1.AssignmentChange{Height: ctx.Height, Workers: next, Reason: reason})
	if n := len(rec.History); n > MaxHistory {
		rec.History = rec.History[n-MaxHistory:]
	}
	putContract(ctx.Store, rec)
	for _, w := range removed {
		ctx.Store.Delete(assignedKey(w, id[:]))
		// A worker assigned again later needs the key again (it may have
		// dropped it on ContractUnassigned).
		ctx.Store.Delete(deliveredKey(id, w, rec.GetKeyEpoch()))
		if _, err := m.send(ctx, mq.WorkerTopic([32]byte(w)), &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_ContractUnassigned{
			ContractUnassigned: &contractsv1.ContractUnassigned{ContractId: id[:]}}}); err != nil {
			return err
		}
	}
	for _, w := range added {
		ctx.Store.Set(assignedKey(w, id[:]), []byte{})
	}
	if len(added) > 0 {
		if err := m.requestKeys(ctx, rec, added); err != nil {
			return err
		}
	}
	if ctx.Emitting() && len(old) > 0 {
		ctx.Emit("contract_reassigned", types.Attr{Key: "contract", Value: types.HexID(id[:])},
			types.Attr{Key: "workers", Value: joinHex(next)},
			types.Attr{Key: "added", Value: joinHex(added)},
			types.Attr{Key: "removed", Value: joinHex(removed)},
			types.Attr{Key: "reason", Value: reason})
	}
	return nil
}
