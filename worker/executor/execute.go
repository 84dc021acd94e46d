package executor

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/contracts"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/envelope"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	"github.com/veil-network/veil/worker/answer"
	"github.com/veil-network/veil/worker/runtime"
)

// Receipt statuses (package answer: shared with the Go SDK).
const (
	StatusOK       = answer.StatusOK
	StatusReverted = answer.StatusReverted
	StatusFailed   = answer.StatusFailed
	StatusRejected = answer.StatusRejected
)

// Receipt is the outcome of one message of a contract's log, as the
// receipt query returns it and the executor stores it (answer.Receipt).
type Receipt = answer.Receipt

// ReceiptEvent is an event of a receipt (answer.ReceiptEvent).
type ReceiptEvent = answer.ReceiptEvent

// Outcome is what executing one message did.
type Outcome struct {
	// Status is a receipt status, or "skipped" (already executed) or
	// "malformed" (undecodable payload, sequence consumed).
	Status string
	Egress []Egress
}

// Outcome statuses besides the receipt statuses.
const (
	OutcomeSkipped   = "skipped"
	OutcomeMalformed = "malformed"
)

// rawJSON returns b as raw JSON: itself if valid JSON, else a base64
// string; null when empty.
func rawJSON(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	// Compact fails exactly on invalid JSON: no separate json.Valid pass.
	var buf bytes.Buffer
	if json.Compact(&buf, b) == nil {
		return buf.Bytes()
	}
	s, _ := json.Marshal(base64.StdEncoding.EncodeToString(b))
	return s
}

// hkdfPRK is HKDF-SHA256's extract step of secret (no salt). Keys derived
// from one secret under many infos (one per message, query or caller)
// share it, so each derivation costs only the expand step.
func hkdfPRK(secret []byte) ([]byte, error) {
	prk, err := hkdf.Extract(sha256.New, secret, nil)
	if err != nil {
		return nil, fmt.Errorf("hkdf extract: %w", err)
	}
	return prk, nil
}

// hkdfExpand derives the 32-byte key of info label || extra from a PRK of
// hkdfPRK: the same key as HKDF-SHA256(secret, no salt, info).
func hkdfExpand(prk []byte, label string, extra []byte) ([]byte, error) {
	k, err := hkdf.Expand(sha256.New, prk, label+string(extra), 32)
	if err != nil {
		return nil, fmt.Errorf("derive %s: %w", label, err)
	}
	return k, nil
}

// callSeed is the random seed of the call at sequence seq:
// HKDF-SHA256(contract random seed, info "veil/contract/call-random/v1"
// || id || seq u64 BE).
func (c *contract) callSeed(seq uint64) ([32]byte, error) {
	k, err := hkdfExpand(c.randomPRK, labelCallRandom, append(bytes.Clone(c.id[:]), u64(seq)...))
	if err != nil {
		return [32]byte{}, err
	}
	defer clear(k)
	return [32]byte(k), nil
}

// call is a decoded log entry.
type call struct {
	origin runtime.Origin
	caller [32]byte
	reader [32]byte
	method string
	args   []byte
	// rejected: the command envelope was refused; no call runs.
	rejected error
	// nonce to record on success (commands only).
	verified *envelope.VerifiedCall
}

// decode turns a ContractMessage into a call. Undecodable payloads return
// an error (deterministic: every replica sees the same bytes). open opens
// a command's envelope (nil: envelope.OpenCommand with the contract's
// key; Execute passes one that takes the result from a preparation).
func (c *contract) decode(payload []byte, open func(env []byte) (*envelope.VerifiedCall, error)) (*call, error) {
	var cm contractsv1.ContractMessage
	if err := proto.Unmarshal(payload, &cm); err != nil {
		return nil, fmt.Errorf("%w: contract message: %v", ErrInvalid, err)
	}
	switch k := cm.GetKind().(type) {
	case *contractsv1.ContractMessage_Init:
		if len(k.Init.GetDeployer()) != 32 {
			return nil, fmt.Errorf("%w: init with a %d-byte deployer", ErrInvalid, len(k.Init.GetDeployer()))
		}
		d := [32]byte(k.Init.GetDeployer())
		return &call{origin: runtime.OriginChain, caller: d, reader: d, method: "init", args: k.Init.GetArgs()}, nil
	case *contractsv1.ContractMessage_ChainCall:
		cc := k.ChainCall
		if len(cc.GetCaller()) != 32 || cc.GetMethod() == "" {
			return nil, fmt.Errorf("%w: chain call with a %d-byte caller and method %q", ErrInvalid, len(cc.GetCaller()), truncate(cc.GetMethod(), 64))
		}
		a := [32]byte(cc.GetCaller())
		return &call{origin: runtime.OriginChain, caller: a, reader: a, method: cc.GetMethod(), args: cc.GetArgs()}, nil
	case *contractsv1.ContractMessage_Command:
		cmd := k.Command
		if len(cmd.GetSender()) != 32 {
			return nil, fmt.Errorf("%w: command with a %d-byte sender", ErrInvalid, len(cmd.GetSender()))
		}
		cl := &call{origin: runtime.OriginCommand, reader: [32]byte(cmd.GetSender())}
		if open == nil {
			open = func(env []byte) (*envelope.VerifiedCall, error) { return envelope.OpenCommand(c.hpkeKey, c.id, env) }
		}
		vc, err := open(cmd.GetEnvelope())
		if err == nil {
			err = c.tracker.Check(vc.Caller, vc.Nonce)
		}
		if err != nil {
			cl.rejected = err
			return cl, nil
		}
		cl.caller, cl.reader, cl.method, cl.args, cl.verified = vc.Caller.Key, vc.Caller.Key, vc.Method, vc.Args, vc
		return cl, nil
	}
	return nil, fmt.Errorf("%w: empty contract message", ErrInvalid)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Execute runs message m of contract id's log. Messages must come in
// sequence: one below the next sequence is skipped (a replay after a
// restart), one above it is ErrSequence. Any error means nothing was
// recorded and the message must be delivered again (host failure,
// ErrSequence, ErrNotReady); deterministic contract failures are receipts,
// not errors. An executed message is visible at once (queries, receipts,
// Next) and durable at the next Flush, which must come before its egress
// is published (batch.go).
func (e *Executor) Execute(ctx context.Context, id [32]byte, m *mqv1.Message) (Outcome, error) {
	e.execMu.Lock()
	defer e.execMu.Unlock()
	c := e.contract(id)
	if c == nil {
		return Outcome{}, fmt.Errorf("%w: no key for contract %x", ErrNotReady, id[:8])
	}
	c.mu.RLock()
	ready, next, mod, store := c.readyLocked(), c.next, c.mod, c.store
	c.mu.RUnlock()
	if !ready {
		return Outcome{}, fmt.Errorf("%w: contract %x", ErrNotReady, id[:8])
	}
	seq := m.GetSequence()
	if seq < next {
		return Outcome{Status: OutcomeSkipped, Egress: e.replayEgress(c, seq)}, nil
	}
	if seq > next {
		return Outcome{}, fmt.Errorf("%w: contract %x got %d, expects %d", ErrSequence, id[:8], seq, next)
	}
	if e.prep != nil {
		e.prep.reached(c, seq)
	}
	height := uint64(max(m.GetHeight(), 0))
	cl, derr := c.decode(m.GetPayload(), func(env []byte) (*envelope.VerifiedCall, error) { return e.openCommand(c, seq, env) })
	rc := Receipt{Sequence: seq, Height: height, Result: json.RawMessage("null"), Events: []ReceiptEvent{}}
	var (
		writes   []runtime.Write
		transfer []*contractsv1.Transfer
		reader   [32]byte
	)
	switch {
	case derr != nil:
		// A malformed log entry consumes its sequence with a receipt no
		// one can read: every replica does the same.
		rc.Status, rc.Error = StatusFailed, derr.Error()
	case cl.rejected != nil:
		rc.Status, rc.Error, reader = StatusRejected, cl.rejected.Error(), cl.reader
	default:
		reader = cl.reader
		seed, err := c.callSeed(seq)
		if err != nil {
			return Outcome{}, err
		}
		ds := &deferredStorage{st: store}
		env := runtime.Env{Caller: cl.caller, ContractID: id, Origin: cl.origin, Height: height,
			Time: time.Unix(0, m.GetTimeUnixNano()), RandomSeed: seed, Storage: ds}
		res, err := mod.Call(ctx, env, cl.method, cl.args, 0)
		clear(seed[:])
		if err != nil && nonDeterministic(err) {
			return Outcome{}, fmt.Errorf("contract %x sequence %d: %w", id[:8], seq, err)
		}
		rc.GasUsed = res.GasUsed
		var rerr *runtime.RevertError
		switch {
		case err == nil:
			rc.Status, rc.Result = StatusOK, rawJSON(res.Output)
			writes = ds.writes
			for _, ev := range res.Events {
				rc.Events = append(rc.Events, ReceiptEvent{Topic: ev.Topic, Data: rawJSON(ev.Data)})
			}
			var bad int
			transfer, bad = transfers(res.Events)
			if bad > 0 {
				rc.Error = fmt.Sprintf("skipped %d malformed %s event(s)", bad, TransferTopic)
			}
		case errors.As(err, &rerr):
			rc.Status, rc.Error = StatusReverted, rerr.Msg
		default:
			rc.Status, rc.Error = StatusFailed, err.Error()
		}
	}
	if err := e.commit(c, seq, height, m.GetTimeUnixNano(), reader, &rc, writes, cl); err != nil {
		return Outcome{}, err
	}
	if cl != nil && cl.verified != nil && rc.Status != StatusRejected {
		// Checked before the call; recorded now that it is committed.
		if err := c.tracker.Accept(cl.verified); err != nil {
			e.log.Error("nonce tracker disagrees with its check", "contract", hex.EncodeToString(id[:]), "err", err)
		}
	}
	if e.pending.full() {
		// No Flush came for a long batch: write it now. On failure the
		// batch, this message included, is rolled back (reload).
		if err := e.commitPending(); err != nil {
			return Outcome{}, err
		}
	}
	c.executed = true
	out := Outcome{Status: rc.Status}
	if derr != nil {
		out.Status = OutcomeMalformed
	}
	if len(transfer) > 0 {
		eg, err := c.egress(seq, transfer)
		if err != nil {
			// Only a wiped signing key gets here; the receipt stands.
			e.log.Error("could not sign contract egress", "contract", hex.EncodeToString(id[:]), "sequence", seq, "err", err)
		} else {
			out.Egress = append(out.Egress, eg)
		}
	}
	if seq%StateReportEvery == 0 {
		// The message is committed: an error now would make the caller
		// drop its egress and never deliver it again. A report that
		// fails here is retried by the batch's Flush (reportedAt stays).
		if eg, err := e.stateReport(c); err != nil {
			e.log.Error("contract state report", "contract", hex.EncodeToString(id[:]), "sequence", seq, "err", err)
		} else {
			out.Egress = append(out.Egress, eg)
		}
	}
	if e.metrics != nil {
		e.metrics.Command(out.Status)
	}
	return out, nil
}

// replayEgress rebuilds the contract egress of an executed message from
// its receipt. A message is delivered again only after the worker lost
// its sync checkpoint's tail (a crash between the executor's commit and
// the checkpoint that seals the outbox), so re-sending is how that egress
// is not lost; the chain accepts each contract sequence once, so a
// duplicate is harmless.
func (e *Executor) replayEgress(c *contract, seq uint64) []Egress {
	_, rj, err := c.receipt(&e.pending, seq)
	if err != nil {
		return nil
	}
	var rc Receipt
	if json.Unmarshal(rj, &rc) != nil || rc.Status != StatusOK {
		return nil
	}
	evs := make([]runtime.Event, 0, len(rc.Events))
	for _, ev := range rc.Events {
		evs = append(evs, runtime.Event{Topic: ev.Topic, Data: ev.Data})
	}
	ts, _ := transfers(evs)
	if len(ts) == 0 {
		return nil
	}
	eg, err := c.egress(seq, ts)
	if err != nil {
		return nil
	}
	return []Egress{eg}
}

// nonDeterministic reports errors that are the host's, not the
// contract's: they must not be recorded.
func nonDeterministic(err error) bool {
	return errors.Is(err, runtime.ErrStorage) || errors.Is(err, runtime.ErrClosed) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// commit records an executed message: its state writes, receipt, nonce
// and the contract's new position join the pending batch (batch.go) as
// one unit, under the contract's write lock, so a query sees all of the
// message or none of it. Everything that can fail comes before the state
// is touched.
func (e *Executor) commit(c *contract, seq, height uint64, timeNs int64, reader [32]byte, rc *Receipt, writes []runtime.Write, cl *call) error {
	rj, err := json.Marshal(rc)
	if err != nil {
		return fmt.Errorf("encode receipt: %w", err)
	}
	rk := key(prefixReceipt, c.id[:], u64(seq))
	rv := c.receipts.seal(append(bytes.Clone(reader[:]), rj...), rk)
	pk, pv := c.positionRecord(seq+1, height, timeNs)
	var nk, nv []byte
	if cl != nil && cl.verified != nil && rc.Status != StatusRejected {
		if nk, nv, err = c.nonceRecord(cl.verified.Caller.Key, cl.verified.Nonce); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var staged []runtime.Write
	if len(writes) > 0 {
		c.kv.startStage()
		err := c.store.Apply(writes)
		staged = c.kv.unstage()
		if err != nil {
			// Apply changes its in-memory index only after a successful
			// KV write, and staging cannot fail; reopen anyway rather
			// than trust that the index matches the overlay.
			if st, rerr := runtime.OpenEncrypted(c.kv, c.keys.StateKey[:]); rerr == nil {
				c.store = st
			} else {
				e.log.Error("could not reopen contract state after a failed apply", "contract", hex.EncodeToString(c.id[:]), "err", rerr)
			}
			return fmt.Errorf("contract %x sequence %d: commit: %w", c.id[:8], seq, errors.Join(runtime.ErrStorage, err))
		}
	}
	e.pending.add(c, c.kv.merge(staged), [2][]byte{rk, rv}, [2][]byte{pk, pv}, [2][]byte{nk, nv})
	c.next, c.lastHeight, c.lastTime = seq+1, height, timeNs
	return nil
}

// transfers extracts the veil.transfer events; bad counts malformed ones.
func transfers(evs []runtime.Event) (out []*contractsv1.Transfer, bad int) {
	for _, ev := range evs {
		if ev.Topic != TransferTopic {
			continue
		}
		var t struct {
			To     string `json:"to"`
			Amount string `json:"amount"`
		}
		d := json.NewDecoder(bytes.NewReader(ev.Data))
		d.DisallowUnknownFields()
		if d.Decode(&t) != nil || d.More() {
			bad++
			continue
		}
		to, err := hex.DecodeString(t.To)
		if err != nil || len(to) != 32 || t.To != strings.ToLower(t.To) || !validAmount(t.Amount) {
			bad++
			continue
		}
		out = append(out, &contractsv1.Transfer{To: to, Amount: t.Amount})
	}
	return out, bad
}

// validAmount: a canonical positive decimal up to 2^64-1 (the chain's
// amount syntax, types.ParseAmount).
func validAmount(s string) bool {
	a, err := types.ParseAmount(s)
	_, fits := a.Uint64()
	return err == nil && fits && !a.IsZero()
}

// egress builds the signed ContractEgress of the command at seq.
func (c *contract) egress(seq uint64, ts []*contractsv1.Transfer) (Egress, error) {
	body, err := proto.MarshalOptions{Deterministic: true}.Marshal(&contractsv1.ContractEgress{ContractId: bytes.Clone(c.id[:]), Sequence: seq, Transfers: ts})
	if err != nil {
		return Egress{}, fmt.Errorf("encode contract egress: %w", err)
	}
	// The chain's own definition of the signed message, which verifies it.
	sig, err := c.keys.Signing.Sign(contracts.EgressSigningBytes(body))
	if err != nil {
		return Egress{}, fmt.Errorf("sign contract egress: %w", err)
	}
	p, err := proto.MarshalOptions{Deterministic: true}.Marshal(&contractsv1.SignedContractEgress{Body: body, Signature: sig})
	if err != nil {
		return Egress{}, fmt.Errorf("encode contract egress: %w", err)
	}
	return Egress{Topic: TopicEgress, Payload: p}, nil
}

// stateReport computes the state root after the last executed message and
// builds its report. Callers hold execMu.
func (e *Executor) stateReport(c *contract) (Egress, error) {
	root, err := e.currentRoot(c)
	if err != nil {
		return Egress{}, err
	}
	c.mu.RLock()
	next := c.next
	c.mu.RUnlock()
	c.reportedAt = next
	p, err := proto.MarshalOptions{Deterministic: true}.Marshal(&contractsv1.StateReport{ContractId: bytes.Clone(c.id[:]), Sequence: next - 1, StateRoot: root[:]})
	if err != nil {
		return Egress{}, fmt.Errorf("encode state report: %w", err)
	}
	return Egress{Topic: TopicState, Payload: p}, nil
}

// Flush ends a dispatch batch: it stops the batch's preparation, writes
// every message executed since the last Flush in one synchronous database
// batch (batch.go), and then every contract that executed at least one
// of them reports its state root (unless it just did, at a multiple of
// StateReportEvery). The caller must make Flush precede whatever
// publishes the batch's egress (the syncer's checkpoint does). If the
// write fails, the batch's contracts are rolled back to their last
// durable position, no report is made and the error wraps
// runtime.ErrStorage.
func (e *Executor) Flush() ([]Egress, error) {
	e.execMu.Lock()
	defer e.execMu.Unlock()
	e.stopPreparation()
	if err := e.commitPending(); err != nil {
		return nil, err
	}
	e.mu.RLock()
	var cs []*contract
	for _, c := range e.contracts {
		if c.executed {
			cs = append(cs, c)
		}
	}
	e.mu.RUnlock()
	slices.SortFunc(cs, func(a, b *contract) int { return bytes.Compare(a.id[:], b.id[:]) })
	var out []Egress
	var errs []error
	for _, c := range cs {
		c.executed = false
		c.mu.RLock()
		next := c.next
		c.mu.RUnlock()
		if c.reportedAt == next {
			continue
		}
		eg, err := e.stateReport(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, eg)
	}
	return out, errors.Join(errs...)
}

// receipt reads the receipt at seq, pending (p) or in the database: its
// reader and JSON.
func (c *contract) receipt(p *pendingBatch, seq uint64) (reader [32]byte, rj []byte, err error) {
	k := key(prefixReceipt, c.id[:], u64(seq))
	v, ok := p.get(k)
	if !ok {
		v, err = c.kv.db.Get(k)
	}
	if err != nil {
		return reader, nil, fmt.Errorf("%w: %w", runtime.ErrStorage, err)
	}
	if v == nil {
		return reader, nil, errNotFound
	}
	pt, err := c.receipts.open(v, k)
	if err != nil {
		return reader, nil, err
	}
	if len(pt) < 32 {
		return reader, nil, fmt.Errorf("%w: short receipt", runtime.ErrStorage)
	}
	return [32]byte(pt[:32]), pt[32:], nil
}
