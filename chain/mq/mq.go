// Package mq is the message queue between the chain and its workers, as
// Phala's pallet-mq. Ingress: per-topic queues with gapless sequence
// numbers, stored under provable keys so a worker can verify every message
// against an app hash its light client verified, and process each topic
// strictly in order. Egress: messages signed by a worker's identity key,
// accepted exactly at the sender's next sequence and dispatched to the
// module that owns the destination topic.
package mq

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	"github.com/veil-network/veil/internal/fifoset"
)

// Name is the module name and state prefix.
const Name = "mq"

// EgressDomain prefixes the bytes a worker signs for egress, so an egress
// signature is never valid as any other kind of Veil signature.
const EgressDomain = "veil/mq/egress/v1\x00"

// Error codes (300–399).
const (
	CodeInvalidTopic    types.Code = 300
	CodePayloadTooLarge types.Code = 301
	CodeReservedTopic   types.Code = 302
	CodeEgressSignature types.Code = 303
	CodeEgressDuplicate types.Code = 304
	CodeEgressGap       types.Code = 305
	CodeUnknownSender   types.Code = 306
	CodeNoEgressHandler types.Code = 307
	CodeMalformedEgress types.Code = 308
)

// Topics reserved for chain modules: accounts cannot push to them.
const (
	TopicSystem     = "system"
	TopicGatekeeper = "gatekeeper"
)

// topicContracts is the parent of every contract's topic (ContractTopic).
const topicContracts = "contract"

// reservedPrefixes are topics (and their sub-topics) only chain modules
// send on: a contract's log must hold nothing but what the contracts
// module put there (its init at sequence 0, commands, chain calls).
var reservedPrefixes = []string{TopicSystem, TopicGatekeeper, topicContracts}

func isReserved(topic string) bool {
	for _, p := range reservedPrefixes {
		if topic == p || strings.HasPrefix(topic, p+"/") {
			return true
		}
	}
	return false
}

// WorkerTopic is the ingress topic of one worker.
func WorkerTopic(identity [32]byte) string { return fmt.Sprintf("worker/%x", identity) }

// ContractTopic is the ingress topic of one contract.
func ContractTopic(id [32]byte) string { return topicContracts + "/" + hex.EncodeToString(id[:]) }

var (
	prefixMsg    = []byte("mq/in/")
	prefixNext   = []byte("mq/next/")
	prefixEgress = []byte("mq/egress/")
	keyParams    = []byte("mq/params")
)

// MessageKey is the provable state key of ingress message seq on topic.
// The topic is length-prefixed so no topic's keys prefix another's.
func MessageKey(topic string, seq uint64) []byte {
	k := append(topicKey(prefixMsg, topic), '/')
	return binary.BigEndian.AppendUint64(k, seq)
}

// NextSequenceKey is the provable key of topic's next ingress sequence.
func NextSequenceKey(topic string) []byte { return topicKey(prefixNext, topic) }

// EgressSequenceKey is the provable key of a sender's next egress sequence.
func EgressSequenceKey(sender [32]byte) []byte {
	return append(append([]byte{}, prefixEgress...), sender[:]...)
}

func topicKey(prefix []byte, topic string) []byte {
	k := append([]byte{}, prefix...)
	k = append(k, byte(len(topic)))
	return append(k, topic...)
}

// ValidateTopic accepts 1..128 bytes of [a-z0-9/_.-], no empty segments.
func ValidateTopic(t string) error {
	if len(t) == 0 || len(t) > 128 {
		return types.Errf(CodeInvalidTopic, "topic must have 1..128 bytes")
	}
	for _, c := range []byte(t) {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '/' || c == '_' || c == '.' || c == '-'
		if !ok {
			return types.Errf(CodeInvalidTopic, "topic %q has a character outside [a-z0-9/_.-]", t)
		}
	}
	if strings.HasPrefix(t, "/") || strings.HasSuffix(t, "/") || strings.Contains(t, "//") {
		return types.Errf(CodeInvalidTopic, "topic %q has an empty segment", t)
	}
	return nil
}

// Params bound queue usage.
type Params struct {
	MaxPayloadBytes int `json:"max_payload_bytes"`
}

// DefaultParams allow 64 KiB payloads.
func DefaultParams() Params { return Params{MaxPayloadBytes: 64 << 10} }

// Validate checks parameter sanity.
func (p Params) Validate() error {
	if p.MaxPayloadBytes <= 0 {
		return fmt.Errorf("max_payload_bytes must be positive")
	}
	return nil
}

// EgressSenders authorizes egress signers: the registry answers whether an
// identity is a registered, non-stale worker. Fail closed: without one,
// no egress is accepted.
type EgressSenders interface {
	AuthorizeEgress(ctx *types.Context, identity [32]byte) error
}

// EgressHandler receives egress for the topics it owns.
type EgressHandler interface {
	HandleEgress(ctx *types.Context, sender [32]byte, topic string, payload []byte) error
}

// Module implements types.Module.
type Module struct {
	senders  EgressSenders
	handlers []route
	// ParamsModule provides Params, SetParams and the genesis methods.
	types.ParamsModule[Params, paramsSpec]
	// verified remembers the egress (message, signature) pairs whose
	// signature this node verified (egressKey). An egress transaction is
	// executed several times on one node — CheckTx when it arrives, again
	// in full at every re-check while it waits in the mempool
	// (types.RecheckFully), and in its block — and each run verified every
	// signature again, ≈ 50 µs each, 90 % of the work. Only successes are
	// remembered, so what any node decides is still decided by the bytes
	// alone. The mempool and consensus connections use it concurrently.
	verified *fifoset.Set
}

type route struct {
	prefix string
	h      EgressHandler
}

// New returns the module; senders may be set later with SetEgressSenders.
func New() *Module { return &Module{verified: fifoset.New(verifiedEgressEntries)} }

// SetEgressSenders installs the signer authority (the registry).
func (m *Module) SetEgressSenders(s EgressSenders) { m.senders = s }

// HandleEgress routes egress topics equal to prefix or below it
// (prefix + "/…") to h. Called while wiring modules, before the chain runs.
func (m *Module) HandleEgress(prefix string, h EgressHandler) {
	m.handlers = append(m.handlers, route{prefix, h})
}

func (m *Module) handlerFor(topic string) EgressHandler {
	for _, r := range m.handlers {
		if topic == r.prefix || strings.HasPrefix(topic, r.prefix+"/") {
			return r.h
		}
	}
	return nil
}

// Name implements types.Module.
func (*Module) Name() string { return Name }

// paramsSpec places the parameters under keyParams, with DefaultParams as
// the defaults of an empty genesis section (types.ParamsModule).
type paramsSpec struct{}

func (paramsSpec) Name() string     { return Name }
func (paramsSpec) Key() []byte      { return keyParams }
func (paramsSpec) Defaults() Params { return DefaultParams() }

// NextSequence is topic's next ingress sequence (= messages so far).
func NextSequence(s types.KVStore, topic string) uint64 {
	return types.GetUint64(s, NextSequenceKey(topic))
}

// NextEgressSequence is the sequence the chain accepts next from sender.
func NextEgressSequence(s types.KVStore, sender [32]byte) uint64 {
	return types.GetUint64(s, EgressSequenceKey(sender))
}

// Sender enqueues chain-module messages (Module implements it); modules
// that talk to workers hold one, set while wiring modules.
type Sender interface {
	Send(ctx *types.Context, origin *mqv1.Origin, topic string, payload []byte) (uint64, error)
}

// ModuleOrigin is the origin of the messages chain module name sends.
func ModuleOrigin(name string) *mqv1.Origin {
	return &mqv1.Origin{Kind: &mqv1.Origin_Module{Module: name}}
}

// SendProto enqueues msg's deterministic protobuf encoding on topic
// through s and returns its sequence.
func SendProto(ctx *types.Context, s Sender, origin *mqv1.Origin, topic string, msg proto.Message) (uint64, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		return 0, types.Errf(types.CodeInternal, "encode %s: %v", proto.MessageName(msg), err)
	}
	seq, err := s.Send(ctx, origin, topic, b)
	if err != nil {
		return 0, fmt.Errorf("send on %s: %w", topic, err)
	}
	return seq, nil
}

// Send enqueues payload on topic. Modules call it directly; accounts go
// through MsgPushMessage. It returns the message's sequence.
func (m *Module) Send(ctx *types.Context, origin *mqv1.Origin, topic string, payload []byte) (uint64, error) {
	if err := ValidateTopic(topic); err != nil {
		return 0, err
	}
	if max := m.Params(ctx.Store).MaxPayloadBytes; len(payload) > max {
		return 0, types.Errf(CodePayloadTooLarge, "payload has %d bytes, limit %d", len(payload), max)
	}
	seq := NextSequence(ctx.Store, topic)
	var unixNano int64
	if !ctx.Time.IsZero() {
		unixNano = ctx.Time.UnixNano()
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&mqv1.Message{
		Topic: topic, Sequence: seq, Origin: origin, Payload: payload, Height: ctx.Height,
		TimeUnixNano: unixNano,
	})
	if err != nil {
		return 0, fmt.Errorf("encode message: %w", err)
	}
	ctx.Store.Set(MessageKey(topic, seq), b)
	types.SetUint64(ctx.Store, NextSequenceKey(topic), seq+1)
	if ctx.Emitting() {
		ctx.Emit("mq_message", types.Attr{Key: "topic", Value: topic}, types.Attr{Key: "sequence", Value: strconv.FormatUint(seq, 10)})
	}
	return seq, nil
}

// SignEgressBytes is the exact message an egress signature covers.
func SignEgressBytes(message []byte) []byte {
	return append([]byte(EgressDomain), message...)
}

// DecodeEgress parses and authenticates a signed egress message (its
// signature only: sequence and sender authority are state checks).
func DecodeEgress(message, signature []byte) (*mqv1.EgressMessage, [32]byte, error) {
	return decodeEgress(message, signature, nil)
}

// decodeEgress is DecodeEgress, skipping the signature check for a
// (message, signature) pair that verified before when seen is set. The
// checks run in the same order with or without it, so the outcome,
// error code and message included, is the same.
func decodeEgress(message, signature []byte, seen *fifoset.Set) (*mqv1.EgressMessage, [32]byte, error) {
	var sender [32]byte
	var em mqv1.EgressMessage
	if err := proto.Unmarshal(message, &em); err != nil {
		return nil, sender, types.Errf(CodeMalformedEgress, "malformed egress message: %v", err)
	}
	if len(em.GetSender()) != 32 {
		return nil, sender, types.Errf(CodeMalformedEgress, "egress sender has %d bytes, want 32", len(em.GetSender()))
	}
	copy(sender[:], em.GetSender())
	if err := ValidateTopic(em.GetTopic()); err != nil {
		return nil, sender, err
	}
	if len(signature) != ed25519.SignatureSize {
		return nil, sender, badEgressSignature(sender)
	}
	var key [32]byte
	if seen != nil {
		key = egressKey(message, signature)
		if seen.Has(key) {
			return &em, sender, nil
		}
	}
	if !ed25519.Verify(ed25519.PublicKey(sender[:]), SignEgressBytes(message), signature) {
		return nil, sender, badEgressSignature(sender)
	}
	if seen != nil {
		seen.Add(key)
	}
	return &em, sender, nil
}

func badEgressSignature(sender [32]byte) error {
	return types.Errf(CodeEgressSignature, "egress signature does not verify for worker %x", sender)
}

// egressKey names a (message, signature) pair: the signature has a fixed
// length (checked before), so signature ‖ message is unambiguous, and the
// message holds the sender's key. Another pair with the same key would be
// a SHA-256 collision.
func egressKey(message, signature []byte) [32]byte {
	h := sha256.New()
	h.Write(signature)
	h.Write(message)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// verifiedEgressEntries bounds the verified-egress memory: 65,536 keys
// (about 5 MiB) hold two thousand relayer transactions of 32 messages,
// far more egress than waits in a mempool between two blocks. Pairs that
// fall out are verified again, which is only slower.
const verifiedEgressEntries = 1 << 16

// RegisterMessages implements types.Module.
func (m *Module) RegisterMessages(r *types.Router) {
	types.Handle(r, 2, func(ctx *types.Context, sender types.AccountID, msg *mqv1.MsgPushMessage) error {
		if t := msg.GetTopic(); isReserved(t) {
			return types.Errf(CodeReservedTopic, "topic %q is reserved for chain modules", t)
		}
		_, err := m.Send(ctx, &mqv1.Origin{Kind: &mqv1.Origin_Account{Account: sender[:]}}, msg.GetTopic(), msg.GetPayload())
		return err
	})
	types.Handle(r, 2, func(ctx *types.Context, _ types.AccountID, msg *mqv1.MsgSyncEgress) error {
		em, sender, err := decodeEgress(msg.GetMessage(), msg.GetSignature(), m.verified)
		if err != nil {
			return err
		}
		if m.senders == nil {
			return types.Errf(CodeUnknownSender, "no worker registry: egress is not accepted")
		}
		if err := m.senders.AuthorizeEgress(ctx, sender); err != nil {
			return err
		}
		next := NextEgressSequence(ctx.Store, sender)
		switch seq := em.GetSequence(); {
		case seq < next:
			return types.Errf(CodeEgressDuplicate, "egress %d from worker %x was already accepted (next is %d)", seq, sender, next)
		case seq > next:
			return types.Errf(CodeEgressGap, "egress %d from worker %x skips ahead of %d", seq, sender, next)
		}
		h := m.handlerFor(em.GetTopic())
		if h == nil {
			return types.Errf(CodeNoEgressHandler, "no module handles egress topic %q", em.GetTopic())
		}
		// The sequence is consumed whatever the handler decides: a message
		// the destination refuses is processed (refused), and must not
		// block every later message of this worker. The handler's own
		// writes are all or nothing.
		types.SetUint64(ctx.Store, EgressSequenceKey(sender), next+1)
		sub := store.NewCache(ctx.Store)
		hctx := ctx.WithStore(sub)
		status := "accepted"
		if err := h.HandleEgress(hctx, sender, em.GetTopic(), em.GetPayload()); err != nil {
			status = "refused: " + err.Error()
		} else {
			sub.Write()
			ctx.AppendEvents(hctx.Events())
		}
		if ctx.Emitting() {
			ctx.Emit("mq_egress", types.Attr{Key: "worker", Value: fmt.Sprintf("%x", sender)},
				types.Attr{Key: "sequence", Value: fmt.Sprint(next)}, types.Attr{Key: "topic", Value: em.GetTopic()},
				types.Attr{Key: "status", Value: status})
		}
		return nil
	})
	// Two relayers may submit the same egress: the mempool re-runs egress
	// transactions after each block so the loser is evicted instead of
	// failing in a block at its sender's expense (types.RecheckFully).
	types.RecheckFully[*mqv1.MsgSyncEgress](r)
}

// MessagesQueryBytes bounds one "messages" query answer: the stored
// messages it returns add up to at most this many bytes. The count limit
// alone allowed 1,000 messages of up to max_payload_bytes each (64 MiB
// with the default parameters, more base64-encoded in JSON); 2 MiB keeps
// an answer, base64 and JSON included, under the 4 MiB gRPC clients
// accept by default. A message larger than the budget is still returned
// when it is the first of a page, so every page makes progress.
const MessagesQueryBytes = 2 << 20

// Query implements types.Querier: "topic" {"topic"} → next sequence;
// "messages" {"topic","from","limit"} → messages; "egress" {"sender"}.
func (m *Module) Query(ctx *types.Context, path string, args []byte) (any, error) {
	var a struct {
		Topic  string `json:"topic"`
		From   uint64 `json:"from"`
		Limit  int    `json:"limit"`
		Sender string `json:"sender"`
	}
	if len(args) > 0 {
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, types.Errf(types.CodeInvalidRequest, "arguments: %v", err)
		}
	}
	switch path {
	case "topic":
		if err := ValidateTopic(a.Topic); err != nil {
			return nil, err
		}
		return map[string]any{"topic": a.Topic, "next_sequence": NextSequence(ctx.Store, a.Topic)}, nil
	case "messages":
		if err := ValidateTopic(a.Topic); err != nil {
			return nil, err
		}
		if a.Limit <= 0 || a.Limit > 1000 {
			a.Limit = 100
		}
		return queryMessages(ctx, a.Topic, a.From, a.Limit, MessagesQueryBytes), nil
	case "egress":
		b, err := hex.DecodeString(a.Sender)
		if err != nil || len(b) != 32 {
			return nil, types.Errf(types.CodeInvalidRequest, "sender must be 64 hex digits")
		}
		return map[string]any{"sender": a.Sender, "next_sequence": NextEgressSequence(ctx.Store, [32]byte(b))}, nil
	}
	return nil, types.Errf(types.CodeInvalidRequest, "unknown mq query %q (topic, messages, egress)", path)
}

// queryMessages reads topic's messages from sequence from: at most limit
// of them, and no more than budget stored bytes unless the first alone
// exceeds it. "next" is the sequence to ask from for the next page and
// "more" whether the page stopped before the topic's end
// ("next_sequence", the number of messages so far).
func queryMessages(ctx *types.Context, topic string, from uint64, limit, budget int) map[string]any {
	end := NextSequence(ctx.Store, topic)
	out := []map[string]any{}
	seq, used := from, 0
	for ; seq < end && len(out) < limit; seq++ {
		raw := ctx.Store.Get(MessageKey(topic, seq))
		if len(out) > 0 && used+len(raw) > budget {
			break
		}
		used += len(raw)
		var msg mqv1.Message
		types.DecodeProto(raw, &msg)
		out = append(out, map[string]any{"sequence": seq, "height": msg.GetHeight(), "payload": msg.GetPayload(), "origin": originString(ctx, msg.GetOrigin())})
	}
	return map[string]any{"topic": topic, "next_sequence": end, "messages": out, "next": seq, "more": seq < end}
}

func originString(ctx *types.Context, o *mqv1.Origin) string {
	switch k := o.GetKind().(type) {
	case *mqv1.Origin_Account:
		if id, err := types.AccountFromBytes(k.Account); err == nil {
			return "account:" + ctx.Address(id)
		}
	case *mqv1.Origin_Module:
		return "module:" + k.Module
	case *mqv1.Origin_Worker:
		return fmt.Sprintf("worker:%x", k.Worker)
	}
	return "unknown"
}
