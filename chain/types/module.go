package types

import (
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Module is a unit of chain logic (bank, sudo, staking, registry, ...). The
// application knows modules only through this interface, so adding one
// never touches the core.
type Module interface {
	// Name is the module's genesis section and state key prefix.
	Name() string
	// DefaultGenesis is the module's genesis section for a fresh dev chain.
	DefaultGenesis() json.RawMessage
	// ValidateGenesis checks a genesis section without touching state.
	ValidateGenesis(raw json.RawMessage, prefix uint16) error
	// InitGenesis writes the module's initial state.
	InitGenesis(ctx *Context, raw json.RawMessage) error
	// RegisterMessages adds the module's transaction messages to r.
	RegisterMessages(r *Router)
}

// BeginBlocker is implemented by modules with per-block work before txs.
type BeginBlocker interface {
	BeginBlock(ctx *Context) error
}

// EndBlocker is implemented by modules with per-block work after txs.
type EndBlocker interface {
	EndBlock(ctx *Context) error
}

// Querier is implemented by modules with read-only queries. Results are
// JSON (amounts as decimal strings) so every client can read them; errors
// should be *Error with CodeNotFound or CodeInvalidRequest for bad input.
type Querier interface {
	Query(ctx *Context, path string, args []byte) (any, error)
}

// Handler executes one message type.
type handler struct {
	weight uint64
	// recheck: re-run in full when the mempool rechecks (RecheckFully).
	recheck bool
	newMsg  func() proto.Message
	handle  func(ctx *Context, sender AccountID, msg proto.Message) error
}

// Router maps protobuf type URLs to message handlers. Built once at start-up
// and read-only afterwards.
type Router struct {
	handlers map[string]handler
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{handlers: map[string]handler{}} }

// TypeURL is the Any type URL of a message: "/" + its full protobuf name.
func TypeURL(m proto.Message) string { return "/" + string(proto.MessageName(m)) }

// Handle registers the handler for message type M. weight is the message's
// fee weight in units of the chain's per-message fee: it prices the work the
// message costs every node.
func Handle[M proto.Message](r *Router, weight uint64, fn func(ctx *Context, sender AccountID, msg M) error) {
	var zero M
	url := TypeURL(zero.ProtoReflect().Type().New().Interface())
	if _, dup := r.handlers[url]; dup {
		panic(fmt.Sprintf("message %s registered twice", url))
	}
	r.handlers[url] = handler{
		weight: weight,
		newMsg: func() proto.Message { return zero.ProtoReflect().Type().New().Interface() },
		handle: func(ctx *Context, sender AccountID, msg proto.Message) error { return fn(ctx, sender, msg.(M)) },
	}
}

// RecheckFully marks the registered message type M as one whose validity
// other transactions change in ways the ante cannot see (a worker's egress
// sequence, which two relayers may both submit). After each block the
// mempool re-runs transactions carrying it in full instead of only their
// ante: one that lost such a race leaves the mempool rather than reaching
// a block, failing there and costing its sender the fee; and the mempool's
// view keeps the message's effects, so the next one in line is admitted.
// The price is one full execution per pending such transaction per block.
func RecheckFully[M proto.Message](r *Router) {
	var zero M
	url := TypeURL(zero.ProtoReflect().Type().New().Interface())
	h, ok := r.handlers[url]
	if !ok {
		panic(fmt.Sprintf("message %s is not registered", url))
	}
	h.recheck = true
	r.handlers[url] = h
}

// Weights returns every registered message type URL with its fee weight.
func (r *Router) Weights() map[string]uint64 {
	out := make(map[string]uint64, len(r.handlers))
	for url, h := range r.handlers {
		out[url] = h.weight
	}
	return out
}

// Msg is a decoded transaction message bound to its handler.
type Msg struct {
	TypeURL string
	Msg     proto.Message
	h       handler
}

// Weight is the message's fee weight.
func (m Msg) Weight() uint64 { return m.h.weight }

// RecheckFully reports whether the message type was marked RecheckFully.
func (m Msg) RecheckFully() bool { return m.h.recheck }

// Decode resolves and unmarshals a message, with a clear error for unknown
// or malformed messages.
func (r *Router) Decode(a *anypb.Any) (Msg, error) {
	h, ok := r.handlers[a.GetTypeUrl()]
	if !ok {
		return Msg{}, Errf(CodeUnknownMessage, "unknown message type %q", truncate(a.GetTypeUrl()))
	}
	m := h.newMsg()
	if err := proto.Unmarshal(a.GetValue(), m); err != nil {
		return Msg{}, Errf(CodeTxDecode, "malformed %s: %v", a.GetTypeUrl(), err)
	}
	return Msg{TypeURL: a.GetTypeUrl(), Msg: m, h: h}, nil
}

// Execute runs a decoded message.
func (m Msg) Execute(ctx *Context, sender AccountID) error { return m.h.handle(ctx, sender, m.Msg) }

// PackMsg wraps a message in an Any for a transaction body.
func PackMsg(m proto.Message) (*anypb.Any, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", proto.MessageName(m), err)
	}
	return &anypb.Any{TypeUrl: TypeURL(m), Value: b}, nil
}
