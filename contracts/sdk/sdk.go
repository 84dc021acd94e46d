// Package sdk is the Go SDK for Veil confidential contracts. It hides the
// host ABI (docs/contracts.md): a contract registers typed handlers in
// its init function, and the SDK decodes JSON arguments, runs the
// handler, and encodes the result (or reverts with the handler's error).
//
//	package main
//
//	import "github.com/veil-network/veil/contracts/sdk"
//
//	type IncrementArgs struct{ By uint64 `json:"by"` }
//
//	func init() {
//		sdk.Handle("increment", func(ctx *sdk.Context, a IncrementArgs) (uint64, error) {
//			n := ctx.GetUint64("count") + a.By
//			ctx.SetUint64("count", n)
//			return n, nil
//		})
//	}
//
//	func main() {}
//
// Build with GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared. The
// same package runs natively under `go test` against MemHost, an
// in-memory host with the same semantics (transactional writes, read-only
// queries, deterministic randomness), so contracts are unit-tested
// without a chain or a wasm runtime.
//
// Contracts keep state only in storage: every call starts from the same
// freshly initialised instance, so package variables set during a call
// are gone by the next one.
package sdk

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"iter"
	"math/rand/v2"
	"strconv"
	"time"
)

// Account is a 32-byte account id (a public key). It encodes as 64 hex
// digits in JSON.
type Account [32]byte

// String returns the account as lowercase hex.
func (a Account) String() string { return hex.EncodeToString(a[:]) }

// IsZero reports whether a is all zeros.
func (a Account) IsZero() bool { return a == Account{} }

// MarshalText implements encoding.TextMarshaler.
func (a Account) MarshalText() ([]byte, error) {
	return []byte(a.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler (64 hex digits,
// optionally 0x-prefixed).
func (a *Account) UnmarshalText(b []byte) error {
	b = bytes.TrimPrefix(b, []byte("0x"))
	if len(b) != 64 {
		return errors.New("sdk: account must be 64 hex digits")
	}
	_, err := hex.Decode(a[:], b)
	if err != nil {
		return errors.New("sdk: account is not hex")
	}
	return nil
}

// Origin says who initiated a call (mirrors the runtime's Origin).
type Origin uint32

const (
	// OriginCommand is a user's signed command, ordered by the chain.
	OriginCommand Origin = 0
	// OriginQuery is an off-chain read-only query: writes fail.
	OriginQuery Origin = 1
	// OriginChain is the chain itself (instantiation, deposits); the
	// caller is the account it acts for, and the arguments were
	// produced by chain logic, not by the user.
	OriginChain Origin = 2
)

// Env is the call's environment as the host reports it.
type Env struct {
	Caller   Account
	Contract Account
	Height   uint64
	Time     time.Time
	Origin   Origin
}

// Event is an emitted event.
type Event struct {
	Topic string
	Data  []byte
}

// Host is what the SDK needs from its environment. In a wasm build it is
// the runtime's host ABI; natively, MemHost (or your own).
type Host interface {
	Env() Env
	StorageGet(key []byte) ([]byte, bool)
	StorageSet(key, value []byte)
	StorageDelete(key []byte)
	// StorageNext returns the smallest key with prefix strictly after
	// after (after empty: the first).
	StorageNext(prefix, after []byte) ([]byte, bool)
	Random(p []byte)
	Emit(topic string, data []byte)
}

// Limits the runtime enforces by default (docs/contracts.md); MemHost
// enforces the same so unit tests catch violations.
const (
	MaxKeyBytes   = 1 << 10
	MaxValueBytes = 128 << 10
	MaxTopicBytes = 64
)

// Context is one call's handle on the host.
type Context struct {
	host    Host
	env     Env
	haveEnv bool
	rng     *rand.Rand
}

func (c *Context) loadEnv() *Env {
	if !c.haveEnv {
		c.env, c.haveEnv = c.host.Env(), true
	}
	return &c.env
}

// Caller is the account the call acts for.
func (c *Context) Caller() Account { return c.loadEnv().Caller }

// ContractID is this contract instance's id.
func (c *Context) ContractID() Account { return c.loadEnv().Contract }

// Origin is who initiated the call.
func (c *Context) Origin() Origin { return c.loadEnv().Origin }

// IsQuery reports a read-only query.
func (c *Context) IsQuery() bool { return c.Origin() == OriginQuery }

// FromChain reports a call made by the chain itself.
func (c *Context) FromChain() bool { return c.Origin() == OriginChain }

// BlockHeight is the height of the block the call belongs to.
func (c *Context) BlockHeight() uint64 { return c.loadEnv().Height }

// BlockTime is the block's time: the only clock a contract has.
func (c *Context) BlockTime() time.Time { return c.loadEnv().Time }

// Random returns the call's deterministic random generator, seeded from
// the host's random stream (secret to the TEE, identical on every worker
// replaying the call).
func (c *Context) Random() *rand.Rand {
	if c.rng == nil {
		var seed [32]byte
		c.host.Random(seed[:])
		c.rng = rand.New(rand.NewChaCha8(seed))
	}
	return c.rng
}

// RandomBytes returns n bytes from the host's random stream.
func (c *Context) RandomBytes(n int) []byte {
	b := make([]byte, n)
	c.host.Random(b)
	return b
}

func checkKey(key string) {
	if len(key) == 0 || len(key) > MaxKeyBytes {
		panic("sdk: storage key must be 1.." + strconv.Itoa(MaxKeyBytes) + " bytes")
	}
}

// Get returns the value under key.
func (c *Context) Get(key string) ([]byte, bool) {
	checkKey(key)
	return c.host.StorageGet([]byte(key))
}

// Has reports whether key is set.
func (c *Context) Has(key string) bool {
	_, ok := c.Get(key)
	return ok
}

// Set stores value under key. Writes become visible to later reads in
// the same call and are committed only if the call succeeds.
func (c *Context) Set(key string, value []byte) {
	checkKey(key)
	if len(value) > MaxValueBytes {
		panic("sdk: value larger than " + strconv.Itoa(MaxValueBytes) + " bytes")
	}
	c.host.StorageSet([]byte(key), value)
}

// Delete removes key.
func (c *Context) Delete(key string) {
	checkKey(key)
	c.host.StorageDelete([]byte(key))
}

// GetString returns the string under key.
func (c *Context) GetString(key string) (string, bool) {
	v, ok := c.Get(key)
	return string(v), ok
}

// SetString stores a string.
func (c *Context) SetString(key, value string) { c.Set(key, []byte(value)) }

// GetUint64 returns the number under key (8 bytes big-endian), 0 if
// unset.
func (c *Context) GetUint64(key string) uint64 {
	v, ok := c.Get(key)
	if !ok || len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// SetUint64 stores a number as 8 bytes big-endian.
func (c *Context) SetUint64(key string, v uint64) {
	c.Set(key, binary.BigEndian.AppendUint64(nil, v))
}

// Keys iterates over the keys starting with prefix, in byte order. It
// reads the live state, so keys written during the iteration may appear.
func (c *Context) Keys(prefix string) iter.Seq[string] {
	return func(yield func(string) bool) {
		var after []byte
		for {
			k, ok := c.host.StorageNext([]byte(prefix), after)
			if !ok || !yield(string(k)) {
				return
			}
			after = k
		}
	}
}

// GetJSON decodes the JSON value under key.
func GetJSON[T any](c *Context, key string) (T, bool, error) {
	var v T
	b, ok := c.Get(key)
	if !ok {
		return v, false, nil
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, true, errors.New("sdk: decode " + strconv.Quote(key) + ": " + err.Error())
	}
	return v, true, nil
}

// SetJSON stores v as JSON under key.
func SetJSON(c *Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return errors.New("sdk: encode " + strconv.Quote(key) + ": " + err.Error())
	}
	c.Set(key, b)
	return nil
}

// Emit emits an event with v encoded as JSON. Events of a failed call
// are discarded.
func (c *Context) Emit(topic string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return errors.New("sdk: encode event: " + err.Error())
	}
	c.EmitRaw(topic, b)
	return nil
}

// EmitRaw emits an event with raw data.
func (c *Context) EmitRaw(topic string, data []byte) {
	if len(topic) > MaxTopicBytes {
		panic("sdk: event topic longer than " + strconv.Itoa(MaxTopicBytes) + " bytes")
	}
	c.host.Emit(topic, data)
}

// TransferTopic is the event topic of TransferOut. The worker turns each
// such event of a successful command into a Transfer of the contract's
// signed egress, and the chain pays it from the contract's account.
const TransferTopic = "veil.transfer"

// Transfer is the data of a TransferTopic event: the recipient as 64 hex
// digits and the amount in planck as a decimal string (strings, so that
// every JSON reader keeps full precision).
type Transfer struct {
	To     Account `json:"to"`
	Amount string  `json:"amount"`
}

// ErrTransferInQuery is returned by TransferOut in a query: a query's
// effects are discarded, so a payment from one would be silently lost.
var ErrTransferInQuery = errors.New("sdk: TransferOut is not allowed in a query")

// TransferOut pays amount (planck) from the contract's on-chain account
// to the account to, once the call succeeds: it emits a TransferTopic
// event, which the worker reports to the chain in the contract's signed
// egress. Like every event it is discarded if the call fails, so a
// handler may debit its own ledger, call TransferOut, and still revert
// safely. The chain pays each command's transfers once, however many
// replicas report them; if the contract's account cannot cover a
// transfer the chain refuses it (the contract should keep its ledger
// covered by what was deposited).
func (c *Context) TransferOut(to Account, amount uint64) error {
	if c.IsQuery() {
		return ErrTransferInQuery
	}
	if to.IsZero() {
		return errors.New("sdk: TransferOut to the zero account")
	}
	if amount == 0 {
		return errors.New("sdk: TransferOut of zero")
	}
	return c.Emit(TransferTopic, Transfer{To: to, Amount: strconv.FormatUint(amount, 10)})
}

// NoArgs is the argument type of methods that take none; it accepts an
// empty argument string or {}.
type NoArgs struct{}

// ErrNotAuthorized is a ready-made revert reason for access checks.
var ErrNotAuthorized = errors.New("not authorized")

// InitMethod is the method the chain calls once, at instantiation.
const InitMethod = "init"

// initKey marks an initialised instance. Keys starting with 0x00 are
// reserved for the SDK.
const initKey = "\x00sdk/initialized"

type handler func(*Context, []byte) ([]byte, error)

// registry holds the contract's handlers. It is the SDK's one
// package-level variable, and deliberately so: the wasm entry point is a
// free function the host calls, so it must find the handlers without an
// argument. It is written only by Handle and Init during package
// initialisation, and sealed at the first dispatch (later registration
// panics), so it is immutable while calls run.
var registry = struct {
	handlers map[string]handler
	sealed   bool
}{handlers: map[string]handler{}}

func register(method string, h handler) {
	switch {
	case registry.sealed:
		panic("sdk: register handlers in init(), not during a call")
	case method == "":
		panic("sdk: empty method name")
	}
	if _, dup := registry.handlers[method]; dup {
		panic("sdk: method " + strconv.Quote(method) + " registered twice")
	}
	registry.handlers[method] = h
}

// Handle registers fn as method. Arguments are decoded from JSON into A
// (empty arguments give A's zero value; unknown fields are rejected) and
// the result R is encoded as JSON. A non-nil error reverts the call with
// the error's text as the message. Call it from init().
func Handle[A, R any](method string, fn func(*Context, A) (R, error)) {
	if method == InitMethod {
		panic("sdk: use sdk.Init for the init method")
	}
	warmJSON[A]()
	var r R
	_, _ = json.Marshal(r)
	register(method, func(ctx *Context, raw []byte) ([]byte, error) {
		var a A
		if err := decodeArgs(raw, &a); err != nil {
			return nil, err
		}
		r, err := fn(ctx, a)
		if err != nil {
			return nil, err
		}
		out, err := json.Marshal(r)
		if err != nil {
			return nil, errors.New("sdk: encode result: " + err.Error())
		}
		return out, nil
	})
}

// Init registers the contract's constructor: the method "init", which
// only the chain may call (OriginChain, once, at instantiation; the
// caller is the deployer). Without Init, "init" still succeeds.
func Init[A any](fn func(*Context, A) error) {
	register(InitMethod, func(ctx *Context, raw []byte) ([]byte, error) {
		var a A
		if err := decodeArgs(raw, &a); err != nil {
			return nil, err
		}
		return nil, fn(ctx, a)
	})
}

// warmJSON decodes an empty object into an A once, during package
// initialisation. encoding/json builds and caches per-type codecs on
// first use; the runtime snapshots the module after initialisation and
// starts every call from that snapshot, so codecs built during a call
// are rebuilt by every call, while codecs built here are free.
func warmJSON[A any]() {
	var a A
	_ = json.Unmarshal([]byte("{}"), &a)
}

func decodeArgs(raw []byte, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return errors.New("invalid arguments: " + err.Error())
	}
	if d.More() {
		return errors.New("invalid arguments: trailing data")
	}
	return nil
}

// Dispatch runs method against h. The wasm entry point calls it; so do
// test hosts. It returns the JSON output or the revert reason.
func Dispatch(h Host, method string, args []byte) ([]byte, error) {
	registry.sealed = true
	ctx := &Context{host: h}
	if method == InitMethod {
		if !ctx.FromChain() {
			return nil, errors.New("init may only be called by the chain")
		}
		if ctx.Has(initKey) {
			return nil, errors.New("already initialised")
		}
		ctx.Set(initKey, []byte{1})
	}
	hd, ok := registry.handlers[method]
	if !ok {
		if method == InitMethod {
			return nil, nil
		}
		return nil, errors.New("unknown method " + strconv.Quote(method))
	}
	return hd(ctx, args)
}
