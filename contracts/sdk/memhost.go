//go:build !wasip1

package sdk

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MemHost runs a contract natively, in-process, for unit tests: the
// contract package's handlers (registered by its init) are dispatched
// directly against an in-memory store. It mirrors the runtime's
// semantics where a test can tell the difference:
//
//   - writes are buffered and committed only if the call succeeds;
//   - queries (Query) are read-only: a write fails the call;
//   - randomness is a deterministic stream per call (seeded from Seed and
//     a call counter);
//   - a panic in the contract fails the call (the runtime reports a trap).
//
// It does not meter gas or enforce memory limits; run the wasm build in
// the runtime for that.
type MemHost struct {
	// Contract is the contract id reported to calls.
	Contract Account
	// Height and Time are the current block's.
	Height uint64
	Time   time.Time
	// Seed seeds the random streams.
	Seed [32]byte
	// Events and Output are those of the last successful call.
	Events []Event
	Output []byte
	// Transfers are the TransferOut payments of every successful call so
	// far, in order: what the chain would have paid from the contract's
	// account.
	Transfers []Transfer

	state map[string][]byte
	calls uint64

	// the call in progress
	env     Env
	pending map[string]*[]byte // nil value pointer: deleted
	rng     *rand.ChaCha8
	events  []Event
}

// NewMemHost returns an empty host at height 1, time 2025-01-01 UTC.
func NewMemHost() *MemHost {
	return &MemHost{
		Contract: TestAccount("contract"),
		Height:   1,
		Time:     time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		state:    map[string][]byte{},
	}
}

// TestAccount derives a stable account from a name (SHA-256 of it), for
// tests: TestAccount("alice").
func TestAccount(name string) Account { return sha256.Sum256([]byte(name)) }

// Advance moves the chain forward by blocks, each d apart.
func (h *MemHost) Advance(blocks uint64, d time.Duration) {
	h.Height += blocks
	h.Time = h.Time.Add(time.Duration(blocks) * d)
}

// Call runs a user command (OriginCommand) as caller.
func (h *MemHost) Call(caller Account, method string, args any) ([]byte, error) {
	return h.run(caller, OriginCommand, method, args)
}

// Query runs a read-only query (OriginQuery) as caller.
func (h *MemHost) Query(caller Account, method string, args any) ([]byte, error) {
	return h.run(caller, OriginQuery, method, args)
}

// ChainCall runs a call from the chain itself (OriginChain) on behalf of
// caller: instantiation ("init") and chain-side credits.
func (h *MemHost) ChainCall(caller Account, method string, args any) ([]byte, error) {
	return h.run(caller, OriginChain, method, args)
}

// Decode unmarshals a call's JSON output: out, err := Decode[T](h.Call(...)).
func Decode[T any](out []byte, err error) (T, error) {
	var v T
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(out, &v); err != nil {
		return v, fmt.Errorf("sdk: decode output %q: %w", out, err)
	}
	return v, nil
}

// Value returns the committed value of key (for assertions).
func (h *MemHost) Value(key string) ([]byte, bool) {
	v, ok := h.state[key]
	return bytes.Clone(v), ok
}

// Keys returns every committed key in order (for assertions).
func (h *MemHost) Keys() []string {
	ks := make([]string, 0, len(h.state))
	for k := range h.state {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// errReadOnly aborts a query that writes.
var errReadOnly = errors.New("state write in a read-only call")

type memAbort struct{ err error }

func (h *MemHost) run(caller Account, origin Origin, method string, args any) (out []byte, err error) {
	var raw []byte
	switch a := args.(type) {
	case nil:
	case []byte:
		raw = a
	case json.RawMessage:
		raw = a
	case string:
		raw = []byte(a)
	default:
		if raw, err = json.Marshal(a); err != nil {
			return nil, fmt.Errorf("sdk: encode arguments: %w", err)
		}
	}
	h.calls++
	var seed [32]byte
	s := sha256.New()
	s.Write(h.Seed[:])
	s.Write(binary.BigEndian.AppendUint64(nil, h.calls))
	s.Sum(seed[:0])
	h.env = Env{Caller: caller, Contract: h.Contract, Height: h.Height, Time: h.Time, Origin: origin}
	h.pending = map[string]*[]byte{}
	h.rng = rand.NewChaCha8(seed)
	h.events = nil
	defer func() {
		if r := recover(); r != nil {
			if a, ok := r.(memAbort); ok {
				err = a.err
			} else {
				err = fmt.Errorf("contract panicked (the runtime reports a trap): %v\n%s", r, debug.Stack())
			}
			out = nil
		}
		if err == nil && origin != OriginQuery {
			for k, v := range h.pending {
				if v == nil {
					delete(h.state, k)
				} else {
					h.state[k] = *v
				}
			}
		}
		if err == nil {
			h.Events, h.Output = h.events, out
			h.Transfers = append(h.Transfers, transfersOf(h.events)...)
		}
		h.pending, h.rng, h.events = nil, nil, nil
	}()
	return Dispatch(h, method, raw)
}

// transfersOf extracts the TransferOut payments of a call's events.
func transfersOf(events []Event) []Transfer {
	var out []Transfer
	for _, e := range events {
		if e.Topic != TransferTopic {
			continue
		}
		var t Transfer
		if err := json.Unmarshal(e.Data, &t); err == nil {
			out = append(out, t)
		}
	}
	return out
}

// TransferredTo sums the TransferOut payments to a so far (for
// assertions).
func (h *MemHost) TransferredTo(a Account) uint64 {
	var sum uint64
	for _, t := range h.Transfers {
		if t.To == a {
			n, _ := strconv.ParseUint(t.Amount, 10, 64)
			sum += n
		}
	}
	return sum
}

// Env implements Host.
func (h *MemHost) Env() Env { return h.env }

// StorageGet implements Host.
func (h *MemHost) StorageGet(key []byte) ([]byte, bool) {
	if v, ok := h.pending[string(key)]; ok {
		if v == nil {
			return nil, false
		}
		return bytes.Clone(*v), true
	}
	v, ok := h.state[string(key)]
	return bytes.Clone(v), ok
}

func (h *MemHost) write(key []byte) {
	if h.env.Origin == OriginQuery {
		panic(memAbort{errReadOnly})
	}
	if len(key) == 0 || len(key) > MaxKeyBytes {
		panic(memAbort{fmt.Errorf("storage key of %d bytes outside [1, %d]", len(key), MaxKeyBytes)})
	}
}

// StorageSet implements Host.
func (h *MemHost) StorageSet(key, value []byte) {
	h.write(key)
	if len(value) > MaxValueBytes {
		panic(memAbort{fmt.Errorf("value of %d bytes exceeds %d", len(value), MaxValueBytes)})
	}
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{}
	}
	h.pending[string(key)] = &v
}

// StorageDelete implements Host.
func (h *MemHost) StorageDelete(key []byte) {
	h.write(key)
	h.pending[string(key)] = nil
}

// StorageNext implements Host over the committed state merged with the
// call's pending writes.
func (h *MemHost) StorageNext(prefix, after []byte) ([]byte, bool) {
	var best string
	found := false
	consider := func(k string) {
		if !strings.HasPrefix(k, string(prefix)) || (len(after) > 0 && k <= string(after)) {
			return
		}
		if !found || k < best {
			best, found = k, true
		}
	}
	for k := range h.state {
		if _, shadowed := h.pending[k]; !shadowed {
			consider(k)
		}
	}
	for k, v := range h.pending {
		if v != nil {
			consider(k)
		}
	}
	return []byte(best), found
}

// Random implements Host.
func (h *MemHost) Random(p []byte) {
	for i := 0; i < len(p); i += 8 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], h.rng.Uint64())
		copy(p[i:], b[:])
	}
}

// Emit implements Host.
func (h *MemHost) Emit(topic string, data []byte) {
	h.events = append(h.events, Event{Topic: topic, Data: bytes.Clone(data)})
}
