package executor

import (
	"bytes"
	"context"
	goruntime "runtime"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keys"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
)

// Preparing a dispatch call's commands.
//
// Opening a command — X-Wing decapsulation, AES-GCM, decoding, the
// caller's signature — is most of its cost and depends only on the
// contract's key, its id and the envelope's bytes, not on the contract's
// state or on other commands. Only the nonce check and the call itself
// must follow the log's order. So Prepare, given a dispatch call's
// messages before the syncer verifies and executes them one by one,
// opens their command envelopes on up to GOMAXPROCS goroutines, in
// chunks whose signatures are checked together with keys.BatchVerifier,
// and Execute takes each result when the message's turn comes.
//
// The messages Prepare sees are not verified yet (their proofs are
// checked later, one by one), so a prepared result is used only for the
// very envelope bytes it was computed from: Execute compares them with
// the verified message's envelope and otherwise opens it itself. A
// prepared result is exactly what envelope.OpenCommand returns for those
// bytes: OpenCommand is envelope.DecryptCommand then the caller's
// signature, so a decryption failure (a tampered envelope) is its verdict
// and error as they are, and a signature the batch refuses is opened
// again with envelope.OpenCommand, whose verdict and error text go into
// the receipt as in the sequential path. The one difference is batch
// verification's 2^-128 chance of accepting a bad signature inside a
// batch (keys.BatchVerifier), far below any other failure rate the
// system has.
//
// Bounds: at most GOMAXPROCS goroutines per dispatch call, stopped and
// waited for by Flush (and by the next Prepare or Close); they work at
// most prepareAhead messages ahead of execution, so a relayer sending a
// call whose proofs fail wastes little work, and memory stays small. A
// chunk Execute reaches before any goroutine did is opened by Execute
// itself, so execution never waits for a goroutine that has not started.

const (
	// prepareAhead bounds how many messages ahead of the executing one a
	// chunk may start.
	prepareAhead = 256
	// firstChunk and maxChunk size the chunks: the first small, so that
	// execution starts early, then doubling up to maxChunk, where batch
	// verification has most of its gain (docs/benchmarks.md).
	firstChunk = 8
	maxChunk   = 32
)

// preparation is one dispatch call's preparation.
type preparation struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	topics map[*contract]*prepTopic
	chunks []*prepChunk
	next   atomic.Int64 // next chunk a goroutine takes

	mu       sync.Mutex
	consumed int           // highest message index Execute reached (-1: none)
	progress chan struct{} // closed when consumed advances, if a goroutine waits
}

// prepTopic is one contract's consecutive messages in the call.
type prepTopic struct {
	c     *contract
	topic string
	first uint64 // sequence of slots[0]
	base  int    // index of slots[0] among the call's prepared messages
	slots []prepSlot
}

// prepSlot is one message. The fields after raw are written by whoever
// runs the slot's chunk, before the chunk's done channel closes.
type prepSlot struct {
	raw   []byte // the mq.Message bytes as the relayer sent them (unverified)
	chunk *prepChunk

	ready bool // env was opened: vc, err are OpenCommand's result for env
	env   []byte
	vc    *envelope.VerifiedCall
	err   error
}

// prepChunk is a run of slots opened by one goroutine, signatures
// verified as one batch.
type prepChunk struct {
	t        *prepTopic
	from, to int // slot range
	claimed  atomic.Bool
	done     chan struct{}
}

// Prepare starts opening the command envelopes among a dispatch call's
// messages (the request exactly as the relayer sent it, before any
// proof is checked), for the contracts this executor runs. It returns at
// once; the work runs in the background until Flush. Calling it is
// optional — without it Execute opens each envelope itself — and its
// results never change what Execute does, only how fast.
func (e *Executor) Prepare(ctx context.Context, req *workerv1.DispatchMessagesRequest) {
	e.execMu.Lock()
	defer e.execMu.Unlock()
	e.stopPreparation()
	byTopic := map[string]*contract{}
	e.mu.RLock()
	for id, c := range e.contracts {
		byTopic[mq.ContractTopic(id)] = c
	}
	e.mu.RUnlock()
	p := &preparation{topics: map[*contract]*prepTopic{}, consumed: -1}
	n := 0
	for _, tm := range req.GetTopics() {
		c := byTopic[tm.GetTopic()]
		msgs := tm.GetMessages()
		if c == nil || p.topics[c] != nil || len(msgs) == 0 {
			continue
		}
		c.mu.RLock()
		ready, next := c.readyLocked(), c.next
		c.mu.RUnlock()
		if !ready {
			continue
		}
		// Messages below the next sequence are skipped by Execute, and
		// the syncer stops at the first gap: prepare the consecutive run
		// from the next sequence on.
		first := msgs[0].GetSequence()
		if first < next {
			if next-first >= uint64(len(msgs)) {
				continue
			}
			msgs = msgs[next-first:]
			first = next
		}
		k := 0
		for k < len(msgs) && msgs[k].GetSequence() == first+uint64(k) {
			k++
		}
		t := &prepTopic{c: c, topic: tm.GetTopic(), first: first, base: n, slots: make([]prepSlot, k)}
		for i := range k {
			t.slots[i].raw = msgs[i].GetMessage()
		}
		for from, size := 0, firstChunk; from < k; from, size = from+size, min(2*size, maxChunk) {
			ch := &prepChunk{t: t, from: from, to: min(from+size, k), done: make(chan struct{})}
			for i := ch.from; i < ch.to; i++ {
				t.slots[i].chunk = ch
			}
			p.chunks = append(p.chunks, ch)
		}
		p.topics[c] = t
		n += k
	}
	if len(p.chunks) == 0 {
		return
	}
	p.ctx, p.cancel = context.WithCancel(ctx)
	for range min(goruntime.GOMAXPROCS(0), len(p.chunks)) {
		p.wg.Add(1)
		go p.work()
	}
	e.prep = p
}

// stopPreparation cancels the current preparation and waits for its
// goroutines. Callers hold execMu.
func (e *Executor) stopPreparation() {
	if e.prep == nil {
		return
	}
	e.prep.cancel()
	e.prep.wg.Wait()
	e.prep = nil
}

// openCommand opens the envelope of command seq of contract c, from the
// preparation when it holds that very envelope. Callers hold execMu.
func (e *Executor) openCommand(c *contract, seq uint64, env []byte) (*envelope.VerifiedCall, error) {
	if p := e.prep; p != nil {
		if vc, err, ok := p.take(c, seq, env); ok {
			e.prepared.Add(1)
			return vc, err
		}
	}
	return envelope.OpenCommand(c.hpkeKey, c.id, env)
}

// take returns the prepared opening of c's command seq if its envelope
// is env. A chunk no goroutine has started is run here and now.
func (p *preparation) take(c *contract, seq uint64, env []byte) (*envelope.VerifiedCall, error, bool) {
	t := p.topics[c]
	if t == nil || seq < t.first || seq-t.first >= uint64(len(t.slots)) {
		return nil, nil, false
	}
	// Execute told the preparation it reached this message (reached)
	// before decoding it.
	s := &t.slots[seq-t.first]
	if s.chunk.claimed.CompareAndSwap(false, true) {
		p.run(s.chunk)
	} else {
		// Claimed by a goroutine, which is running it: done closes when
		// it has finished, or stopped early because Prepare's context was
		// cancelled (the slots it did not reach stay unready).
		<-s.chunk.done
	}
	if !s.ready || !bytes.Equal(s.env, env) {
		return nil, nil, false
	}
	return s.vc, s.err, true
}

// reached records that execution reached message seq of contract c
// (Execute calls it for every message, commands or not, so that a run of
// other messages does not hold the preparation back).
func (p *preparation) reached(c *contract, seq uint64) {
	if t := p.topics[c]; t != nil && seq >= t.first && seq-t.first < uint64(len(t.slots)) {
		p.advance(t.base + int(seq-t.first))
	}
}

// advance records that execution reached message index g, letting the
// goroutines start chunks up to g + prepareAhead.
func (p *preparation) advance(g int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if g <= p.consumed {
		return
	}
	p.consumed = g
	if p.progress != nil {
		close(p.progress)
		p.progress = nil
	}
}

// work runs chunks in order until none is left or the preparation is
// cancelled.
func (p *preparation) work() {
	defer p.wg.Done()
	for {
		i := int(p.next.Add(1) - 1)
		if i >= len(p.chunks) {
			return
		}
		ch := p.chunks[i]
		if !p.waitAhead(ch.t.base + ch.from) {
			return
		}
		if ch.claimed.CompareAndSwap(false, true) {
			p.run(ch)
		}
	}
}

// waitAhead waits until command index g is within prepareAhead of
// execution; false if the preparation was cancelled meanwhile.
func (p *preparation) waitAhead(g int) bool {
	for {
		p.mu.Lock()
		if g <= p.consumed+prepareAhead {
			p.mu.Unlock()
			return true
		}
		if p.progress == nil {
			p.progress = make(chan struct{})
		}
		wait := p.progress
		p.mu.Unlock()
		select {
		case <-wait:
		case <-p.ctx.Done():
			return false
		}
	}
}

// run opens a chunk's command envelopes and verifies their signatures as
// one batch. Slots left unready (not a command, cancelled) are opened by
// Execute itself.
func (p *preparation) run(ch *prepChunk) {
	defer close(ch.done)
	c := ch.t.c
	type unverified struct {
		s  *prepSlot
		vc *envelope.VerifiedCall
	}
	var (
		bv    keys.BatchVerifier
		batch []unverified
	)
	for i := ch.from; i < ch.to; i++ {
		if p.ctx.Err() != nil {
			return
		}
		s := &ch.t.slots[i]
		env, ok := commandEnvelope(s.raw, ch.t.topic, ch.t.first+uint64(i))
		if !ok {
			continue
		}
		s.env = env
		vc, err := envelope.DecryptCommand(c.hpkeKey, c.id, env)
		if err != nil {
			// OpenCommand fails at this very step with this very error
			// (it is DecryptCommand, then the signature): its verdict
			// without decapsulating a second time.
			s.err, s.ready = err, true
			continue
		}
		// The caller key decoding the call parsed, not decoded again
		// (AddKey). A malformed key or signature is recorded as invalid,
		// and Verify reports it so: the error adds nothing.
		_ = bv.AddKey(vc.CallerKey(), envelope.CallSigningMessage(vc.Encoded), vc.Signature)
		batch = append(batch, unverified{s, vc})
	}
	if p.ctx.Err() != nil {
		return
	}
	_, valid := bv.Verify()
	for j, u := range batch {
		if valid[j] {
			u.s.vc = u.vc
		} else {
			// The sequential path's verdict and error text.
			u.s.vc, u.s.err = envelope.OpenCommand(c.hpkeKey, c.id, u.s.env)
		}
		u.s.ready = true
	}
}

// commandEnvelope decodes an unverified mq message and returns its
// command envelope, if it is topic's message seq carrying a command.
func commandEnvelope(raw []byte, topic string, seq uint64) ([]byte, bool) {
	var m mqv1.Message
	if proto.Unmarshal(raw, &m) != nil || m.GetTopic() != topic || m.GetSequence() != seq {
		return nil, false
	}
	var cm contractsv1.ContractMessage
	if proto.Unmarshal(m.GetPayload(), &cm) != nil {
		return nil, false
	}
	cmd := cm.GetCommand()
	if cmd == nil || len(cmd.GetSender()) != 32 {
		return nil, false
	}
	return cmd.GetEnvelope(), true
}
