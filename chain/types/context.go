package types

import (
	"time"
)

// Event is a typed record of something that happened, returned to clients
// with the transaction or block result.
type Event struct {
	Type  string
	Attrs []Attr
}

// Attr is one key/value attribute of an event.
type Attr struct{ Key, Value string }

// Context is what chain code sees of the block being executed. It holds no
// wall clock: Time is the block time agreed by consensus.
type Context struct {
	Store   KVStore
	ChainID string
	// GenesisHash identifies the chain (see app.GenesisHash); attestation
	// report data binds it.
	GenesisHash [32]byte
	Height      int64
	Time        time.Time
	SS58Prefix  uint16
	// CheckOnly is set in CheckTx, where state changes are discarded and
	// modules may skip expensive work that only matters in a block.
	CheckOnly bool
	// Block is set during FinalizeBlock (nil in CheckTx and InitChain).
	Block  *BlockInfo
	events []Event
	// valUpdates is shared by every copy of the block's context.
	valUpdates *[]ValidatorUpdate
}

// SetValidatorUpdates records the validator-set changes this block (or
// genesis) returns to consensus. Only one module (staking) may own the
// validator set; a later call replaces an earlier one.
func (c *Context) SetValidatorUpdates(u []ValidatorUpdate) {
	if c.valUpdates != nil {
		*c.valUpdates = u
	}
}

// WithValidatorUpdates returns a copy of the context that collects
// validator updates into dst (used by the application for block and
// genesis contexts).
func (c *Context) WithValidatorUpdates(dst *[]ValidatorUpdate) *Context {
	cp := *c
	cp.valUpdates = dst
	return &cp
}

// Emit appends an event to the current transaction or block.
func (c *Context) Emit(typ string, attrs ...Attr) {
	if c.CheckOnly {
		return
	}
	c.events = append(c.events, Event{Type: typ, Attrs: attrs})
}

// Emitting reports whether events are recorded. CheckTx discards them, so
// handlers skip the cost of formatting attributes (SS58 encoding is not
// free) when this is false.
func (c *Context) Emitting() bool { return !c.CheckOnly }

// Events returns the events emitted so far.
func (c *Context) Events() []Event { return c.events }

// WithStore returns a copy of the context writing to s with no events, for
// executing a sub-step whose effects may be discarded.
func (c *Context) WithStore(s KVStore) *Context {
	cp := *c
	cp.Store = s
	cp.events = nil
	return &cp
}

// AppendEvents adds events emitted by a sub-context that was committed.
func (c *Context) AppendEvents(ev []Event) { c.events = append(c.events, ev...) }

// Address renders an account with the chain's SS58 prefix, for events.
func (c *Context) Address(a AccountID) string { return a.Address(c.SS58Prefix) }
