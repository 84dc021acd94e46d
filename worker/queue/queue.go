// Package queue is the worker's end of the chain's message queue. The
// Inbox accepts an ingress message only with an ICS23 proof against an app
// hash the light client verified, and only at its topic's next sequence:
// whatever the relayer feeds, the worker processes exactly the messages the
// chain finalized, once each, in order. The Outbox numbers and signs the
// worker's egress for the chain's exactly-once acceptance.
package queue

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"

	ics23 "github.com/cosmos/ics23/go"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/mq"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
)

// Errors callers can match.
var (
	ErrNotNext   = errors.New("message is not the topic's next sequence")
	ErrMismatch  = errors.New("proven message does not match its claimed topic or sequence")
	ErrNotProven = errors.New("message proof does not verify against a verified app hash")
)

// StateVerifier is the light client's proof check.
type StateVerifier interface {
	VerifyState(version int64, key, value []byte, proof *ics23.CommitmentProof) error
}

// Inbox tracks, per subscribed topic, the next sequence to process.
// Safe for concurrent use.
type Inbox struct {
	mu    sync.Mutex
	lc    StateVerifier
	next  map[string]uint64
	ready []*mqv1.Message
}

// NewInbox returns an inbox verifying with lc.
func NewInbox(lc StateVerifier) *Inbox {
	return &Inbox{lc: lc, next: map[string]uint64{}}
}

// Subscribe starts following topic from sequence `from` (0 for a new
// worker; a restored worker passes its checkpointed position).
func (in *Inbox) Subscribe(topic string, from uint64) error {
	if err := mq.ValidateTopic(topic); err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if _, ok := in.next[topic]; !ok {
		in.next[topic] = from
	}
	return nil
}

// Next is the next sequence the inbox accepts on topic.
func (in *Inbox) Next(topic string) (uint64, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	n, ok := in.next[topic]
	return n, ok
}

// Positions returns every topic's next sequence (for Info and checkpoints).
func (in *Inbox) Positions() map[string]uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[string]uint64, len(in.next))
	for k, v := range in.next {
		out[k] = v
	}
	return out
}

// Deliver accepts one message stored on chain under MessageKey(topic, seq)
// in the state after block `version`, with its proof. It is refused unless
// the proof verifies against a light-client-verified app hash, the stored
// bytes decode to that very topic and sequence, and seq is the topic's
// next. Nothing changes on refusal.
func (in *Inbox) Deliver(version int64, topic string, seq uint64, raw []byte, proof *ics23.CommitmentProof) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	next, ok := in.next[topic]
	if !ok {
		return fmt.Errorf("not subscribed to topic %q", topic)
	}
	if seq != next {
		return fmt.Errorf("%w: %q got %d, expected %d", ErrNotNext, topic, seq, next)
	}
	if len(raw) == 0 {
		return fmt.Errorf("%w: empty message", ErrNotProven)
	}
	if err := in.lc.VerifyState(version, mq.MessageKey(topic, seq), raw, proof); err != nil {
		return fmt.Errorf("%w: %v", ErrNotProven, err)
	}
	var m mqv1.Message
	if err := proto.Unmarshal(raw, &m); err != nil {
		// Proven bytes that do not decode would be a chain bug; refuse.
		return fmt.Errorf("%w: undecodable: %v", ErrMismatch, err)
	}
	if m.GetTopic() != topic || m.GetSequence() != seq {
		return fmt.Errorf("%w: stored %q/%d", ErrMismatch, m.GetTopic(), m.GetSequence())
	}
	in.next[topic] = seq + 1
	in.ready = append(in.ready, &m)
	return nil
}

// Take removes and returns the accepted messages in acceptance order.
func (in *Inbox) Take() []*mqv1.Message {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := in.ready
	in.ready = nil
	return out
}

// Outbox numbers and signs this worker's egress. Safe for concurrent use.
type Outbox struct {
	mu   sync.Mutex
	key  ed25519.PrivateKey
	next uint64
	msgs []*mqv1.MsgSyncEgress
	base uint64 // sequence of msgs[0]
}

// NewOutbox signs with the worker's identity key, continuing at `next`
// (the chain's next egress sequence for this worker, or a checkpoint).
func NewOutbox(key ed25519.PrivateKey, next uint64) *Outbox {
	return &Outbox{key: key, next: next, base: next}
}

// RestoreOutbox rebuilds an outbox from a checkpoint: the signed messages
// still unacknowledged, the first of which has sequence base. The
// checkpoint comes from sealed storage, so the messages are trusted as the
// worker's own.
func RestoreOutbox(key ed25519.PrivateKey, base uint64, msgs []*mqv1.MsgSyncEgress) *Outbox {
	return &Outbox{key: key, base: base, next: base + uint64(len(msgs)), msgs: append([]*mqv1.MsgSyncEgress(nil), msgs...)}
}

// Next is the sequence the next Send assigns.
func (o *Outbox) Next() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.next
}

// Pending returns the unacknowledged messages and the sequence of the
// first (for checkpoints).
func (o *Outbox) Pending() (base uint64, msgs []*mqv1.MsgSyncEgress) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.base, append([]*mqv1.MsgSyncEgress(nil), o.msgs...)
}

// Len is the number of unacknowledged messages (Pending without the copy).
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.msgs)
}

// Send appends a signed egress message for topic and returns its sequence.
func (o *Outbox) Send(topic string, payload []byte) (uint64, error) {
	if err := mq.ValidateTopic(topic); err != nil {
		return 0, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&mqv1.EgressMessage{
		Sender: o.key.Public().(ed25519.PublicKey), Sequence: o.next, Topic: topic, Payload: payload,
	})
	if err != nil {
		return 0, fmt.Errorf("encode egress: %w", err)
	}
	o.msgs = append(o.msgs, &mqv1.MsgSyncEgress{Message: b, Signature: ed25519.Sign(o.key, mq.SignEgressBytes(b))})
	seq := o.next
	o.next++
	return seq, nil
}

// From returns the signed messages from sequence `from` on (what the
// relayer submits); older ones the chain accepted are pruned by Ack.
func (o *Outbox) From(from uint64) []*mqv1.MsgSyncEgress {
	o.mu.Lock()
	defer o.mu.Unlock()
	if from < o.base {
		from = o.base
	}
	if from-o.base >= uint64(len(o.msgs)) {
		return nil
	}
	return append([]*mqv1.MsgSyncEgress(nil), o.msgs[from-o.base:]...)
}

// Ack drops messages below `next`, the chain's next egress sequence.
func (o *Outbox) Ack(next uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if next <= o.base {
		return
	}
	drop := min(next-o.base, uint64(len(o.msgs)))
	o.msgs = o.msgs[drop:]
	o.base += drop
	if next > o.next {
		// The chain accepted egress this outbox never assigned: it was
		// restored from an older checkpoint (or its state was lost). Those
		// sequences are spent; continue after them.
		o.base, o.next = next, next
	}
}
