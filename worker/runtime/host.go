package runtime

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// Origin says who initiated a call. Contracts use it to gate methods
// (e.g. a deposit is credited only on the chain's word).
type Origin uint32

const (
	// OriginCommand: a user's signed command, ordered by the chain.
	OriginCommand Origin = 0
	// OriginQuery: an off-chain read-only query to one worker. Writes
	// fail with ErrReadOnly.
	OriginQuery Origin = 1
	// OriginChain: the chain itself (instantiation, transfers into the
	// contract); Caller is the account on whose behalf it acts.
	OriginChain Origin = 2
)

func (o Origin) String() string {
	switch o {
	case OriginCommand:
		return "command"
	case OriginQuery:
		return "query"
	case OriginChain:
		return "chain"
	}
	return fmt.Sprintf("origin(%d)", uint32(o))
}

// Env is everything a call may learn about the world, supplied by the
// caller; the contract sees nothing else.
type Env struct {
	// Caller is the 32-byte account the call acts for.
	Caller [32]byte
	// ContractID identifies the contract instance.
	ContractID [32]byte
	// Origin is who initiated the call.
	Origin Origin
	// Height and Time are the block's; Time is the only clock.
	Height uint64
	Time   time.Time
	// RandomSeed seeds the call's random stream. It must differ for
	// every call that must not see the same randomness (derive it from
	// the contract's random key, the block randomness and the call's
	// index in the block).
	RandomSeed [32]byte
	// Storage is the contract's committed state. Nil means empty state
	// (writes are then discarded).
	Storage Storage
}

// Event is an event emitted by a contract.
type Event struct {
	Topic string
	Data  []byte
}

// envRecordSize is the size of the record veil.env writes.
const envRecordSize = 88

// hostAbort is the panic value host functions use to stop the guest; the
// real reason is in callState.abort. wazero recovers the panic and
// returns from the guest call.
type hostAbort struct{}

// exitError records a guest's proc_exit.
type exitError struct{ code uint32 }

func (e *exitError) Error() string { return fmt.Sprintf("exit code %d", e.code) }

type callStateKey struct{}

// callState is one call's view of the host. Host functions find it in
// the context wazero hands them, so one set of host modules serves every
// module and call in the runtime concurrently.
type callState struct {
	cfg  *Config
	inst *instance
	env  *Env

	method    string
	args      []byte
	store     *overlay
	readOnly  bool
	initPhase bool // running _initialize at Load: no storage, no env

	random     *randomStream
	output     []byte
	events     []Event
	eventBytes int
	logs       []byte
	reverted   bool
	revertMsg  string
	abort      error

	// mono is the virtual monotonic clock (ns). It starts where the
	// snapshot left it and advances only when the guest sleeps
	// (poll_oneoff), so Go timers behave and stay deterministic.
	mono, monoStart uint64
	timeNs          int64
}

func stateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	if st == nil {
		// Unreachable through this package: guest code only runs inside
		// Module.Call or Load, which always set the state.
		panic(hostAbort{})
	}
	return st
}

// fail aborts the guest call with err (the first reason wins).
func (st *callState) fail(err error) {
	if st.abort == nil {
		st.abort = err
	}
	panic(hostAbort{})
}

func (st *callState) trapf(format string, args ...any) {
	st.fail(&TrapError{Msg: fmt.Sprintf(format, args...)})
}

// charge takes cost from the instance's gas counter, the same counter the
// instrumented code decrements.
func (st *callState) charge(cost uint64) {
	g := int64(st.inst.gas.Get())
	if g < 0 || uint64(g) < cost {
		st.inst.gas.Set(uint64(1) << 63) // negative: exhausted
		st.fail(ErrOutOfGas)
	}
	st.inst.gas.Set(uint64(g - int64(cost)))
}

// view returns guest memory [ptr, ptr+n) or traps. The slice aliases
// guest memory: copy anything that must outlive the call.
func (st *callState) view(mod api.Module, fn string, ptr, n uint32) []byte {
	if n == 0 {
		return nil
	}
	mem := mod.Memory()
	if mem == nil {
		st.trapf("%s: module has no memory", fn)
	}
	b, ok := mem.Read(ptr, n)
	if !ok {
		st.trapf("%s: range [%d, %d+%d) outside linear memory of %d bytes", fn, ptr, ptr, n, mem.Size())
	}
	return b
}

func (st *callState) copyIn(mod api.Module, fn string, ptr, n uint32) []byte {
	return bytes.Clone(st.view(mod, fn, ptr, n))
}

func (st *callState) key(mod api.Module, fn string, ptr, n uint32, allowEmpty bool) []byte {
	if (n == 0 && !allowEmpty) || int64(n) > int64(st.cfg.MaxKeyBytes) {
		st.trapf("%s: key length %d outside [1, %d]", fn, n, st.cfg.MaxKeyBytes)
	}
	return st.copyIn(mod, fn, ptr, n)
}

func (st *callState) storage(fn string) *overlay {
	if st.initPhase {
		st.trapf("%s: storage is not available during module initialisation", fn)
	}
	return st.store
}

func (st *callState) storageErr(fn string, err error) {
	st.fail(fmt.Errorf("%w: %s: %w", ErrStorage, fn, err))
}

func (st *callState) nextRandom(p []byte) {
	st.random.fill(p)
}

// appendLog captures guest stdout/stderr up to the cap.
func (st *callState) appendLog(b []byte) {
	room := st.cfg.MaxLogBytes - len(st.logs)
	if room <= 0 {
		return
	}
	if len(b) > room {
		b = b[:room]
	}
	st.logs = append(st.logs, b...)
}

// i32 results: host functions return lengths or -1.
func i32(v int) uint64 { return uint64(uint32(int32(v))) }

// hostFunc is one host function with its exact signature; Load rejects
// imports whose signature differs.
type hostFunc struct {
	name            string
	params, results []api.ValueType
	fn              func(st *callState, mod api.Module, stack []uint64)
}

const (
	i32t = api.ValueTypeI32
	i64t = api.ValueTypeI64
)

// veilFuncs is the "veil" host module, ABI version 1. Pointers and
// lengths are u32; every one is bounds-checked before use. See
// docs/contracts.md for the byte-level contract.
func veilFuncs() []hostFunc {
	p := func(ts ...api.ValueType) []api.ValueType { return ts }
	return []hostFunc{
		{"input", p(i32t), nil, hostInput},
		{"output", p(i32t, i32t), nil, hostOutput},
		{"revert", p(i32t, i32t), nil, hostRevert},
		{"env", p(i32t), nil, hostEnv},
		{"storage_get", p(i32t, i32t, i32t, i32t), p(i32t), hostStorageGet},
		{"storage_set", p(i32t, i32t, i32t, i32t), nil, hostStorageSet},
		{"storage_delete", p(i32t, i32t), nil, hostStorageDelete},
		{"storage_next", p(i32t, i32t, i32t, i32t, i32t, i32t), p(i32t), hostStorageNext},
		{"random", p(i32t, i32t), nil, hostRandom},
		{"emit", p(i32t, i32t, i32t, i32t), nil, hostEmit},
	}
}

// input(ptr): writes the method name then the arguments (the lengths
// veil_call received) at ptr.
func hostInput(st *callState, mod api.Module, s []uint64) {
	ptr := uint32(s[0])
	n := uint64(len(st.method)) + uint64(len(st.args))
	st.charge(gasHostBase + n*gasHostByte)
	if n > uint64(^uint32(0)) {
		st.trapf("input: too large")
	}
	dst := st.view(mod, "input", ptr, uint32(n))
	copy(dst[copy(dst, st.method):], st.args)
}

// output(ptr, len): sets the return data (replacing earlier output).
func hostOutput(st *callState, mod api.Module, s []uint64) {
	ptr, n := uint32(s[0]), uint32(s[1])
	if int64(n) > int64(st.cfg.MaxOutputBytes) {
		st.fail(fmt.Errorf("%w: output of %d bytes exceeds %d", ErrOutputTooLarge, n, st.cfg.MaxOutputBytes))
	}
	st.charge(gasHostBase + uint64(n)*gasHostByte)
	st.output = st.copyIn(mod, "output", ptr, n)
}

// revert(ptr, len): marks the call reverted with a message (truncated to
// MaxRevertBytes). It returns; the guest then returns nonzero from
// veil_call. A reverted call stays reverted whatever it does next.
func hostRevert(st *callState, mod api.Module, s []uint64) {
	ptr, n := uint32(s[0]), uint32(s[1])
	if int64(n) > int64(st.cfg.MaxRevertBytes) {
		n = uint32(st.cfg.MaxRevertBytes)
	}
	st.charge(gasHostBase + uint64(n)*gasHostByte)
	msg := st.view(mod, "revert", ptr, n)
	st.reverted = true
	st.revertMsg = strings.ToValidUTF8(string(msg), "\uFFFD")
}

// env(ptr): writes the 88-byte environment record.
func hostEnv(st *callState, mod api.Module, s []uint64) {
	st.charge(gasHostBase + envRecordSize*gasHostByte)
	if st.initPhase {
		st.trapf("env: not available during module initialisation")
	}
	dst := st.view(mod, "env", uint32(s[0]), envRecordSize)
	e := st.env
	copy(dst[0:32], e.Caller[:])
	copy(dst[32:64], e.ContractID[:])
	binary.LittleEndian.PutUint64(dst[64:72], e.Height)
	binary.LittleEndian.PutUint64(dst[72:80], uint64(st.timeNs))
	binary.LittleEndian.PutUint32(dst[80:84], uint32(e.Origin))
	binary.LittleEndian.PutUint32(dst[84:88], 0)
}

// storage_get(kptr, klen, vptr, vcap) -> len | -1: copies up to vcap
// bytes of the value to vptr and returns its full length.
func hostStorageGet(st *callState, mod api.Module, s []uint64) {
	const fn = "storage_get"
	o := st.storage(fn)
	k := st.key(mod, fn, uint32(s[0]), uint32(s[1]), false)
	st.charge(gasStorageRead + uint64(len(k))*gasHostByte)
	v, ok, err := o.get(k)
	if err != nil {
		st.storageErr(fn, err)
	}
	if !ok {
		s[0] = i32(-1)
		return
	}
	st.charge(uint64(len(v)) * gasHostByte)
	n := min(uint32(len(v)), uint32(s[3]))
	copy(st.view(mod, fn, uint32(s[2]), n), v)
	s[0] = i32(len(v))
}

// storage_set(kptr, klen, vptr, vlen).
func hostStorageSet(st *callState, mod api.Module, s []uint64) {
	const fn = "storage_set"
	o := st.storage(fn)
	if st.readOnly {
		st.fail(ErrReadOnly)
	}
	vlen := uint32(s[3])
	if int64(vlen) > int64(st.cfg.MaxValueBytes) {
		st.trapf("%s: value of %d bytes exceeds %d", fn, vlen, st.cfg.MaxValueBytes)
	}
	k := st.key(mod, fn, uint32(s[0]), uint32(s[1]), false)
	st.charge(gasStorageWrite + uint64(len(k)+int(vlen))*gasStorageByte)
	v := st.copyIn(mod, fn, uint32(s[2]), vlen)
	if v == nil {
		v = []byte{}
	}
	o.set(k, v)
	if o.bytes > st.cfg.MaxWriteSetBytes {
		st.fail(fmt.Errorf("%w: write set exceeds %d bytes", ErrOutputTooLarge, st.cfg.MaxWriteSetBytes))
	}
}

// storage_delete(kptr, klen).
func hostStorageDelete(st *callState, mod api.Module, s []uint64) {
	const fn = "storage_delete"
	o := st.storage(fn)
	if st.readOnly {
		st.fail(ErrReadOnly)
	}
	k := st.key(mod, fn, uint32(s[0]), uint32(s[1]), false)
	st.charge(gasStorageWrite + uint64(len(k))*gasStorageByte)
	o.del(k)
	if o.bytes > st.cfg.MaxWriteSetBytes {
		st.fail(fmt.Errorf("%w: write set exceeds %d bytes", ErrOutputTooLarge, st.cfg.MaxWriteSetBytes))
	}
}

// storage_next(pptr, plen, aptr, alen, kptr, kcap) -> len | -1: the next
// key after `after` with the prefix; copies up to kcap bytes of it.
func hostStorageNext(st *callState, mod api.Module, s []uint64) {
	const fn = "storage_next"
	o := st.storage(fn)
	prefix := st.key(mod, fn, uint32(s[0]), uint32(s[1]), true)
	after := st.key(mod, fn, uint32(s[2]), uint32(s[3]), true)
	st.charge(gasStorageRead + uint64(len(prefix)+len(after))*gasHostByte)
	k, ok, err := o.next(prefix, after)
	if err != nil {
		st.storageErr(fn, err)
	}
	if !ok {
		s[0] = i32(-1)
		return
	}
	st.charge(uint64(len(k)) * gasHostByte)
	n := min(uint32(len(k)), uint32(s[5]))
	copy(st.view(mod, fn, uint32(s[4]), n), k)
	s[0] = i32(len(k))
}

// random(ptr, len): fills with the call's deterministic random stream.
func hostRandom(st *callState, mod api.Module, s []uint64) {
	n := uint32(s[1])
	st.charge(gasRandomBase + uint64(n)*gasRandomByteCost)
	st.nextRandom(st.view(mod, "random", uint32(s[0]), n))
}

// emit(tptr, tlen, dptr, dlen): appends an event.
func hostEmit(st *callState, mod api.Module, s []uint64) {
	const fn = "emit"
	tlen, dlen := uint32(s[1]), uint32(s[3])
	if int64(tlen) > int64(st.cfg.MaxTopicBytes) {
		st.trapf("%s: topic of %d bytes exceeds %d", fn, tlen, st.cfg.MaxTopicBytes)
	}
	if len(st.events) >= st.cfg.MaxEvents {
		st.fail(fmt.Errorf("%w: more than %d events", ErrOutputTooLarge, st.cfg.MaxEvents))
	}
	if total := int64(st.eventBytes) + int64(tlen) + int64(dlen); total > int64(st.cfg.MaxEventBytes) {
		st.fail(fmt.Errorf("%w: events exceed %d bytes", ErrOutputTooLarge, st.cfg.MaxEventBytes))
	}
	st.charge(gasEmit + uint64(tlen+dlen)*gasEmitByte)
	topic := st.view(mod, fn, uint32(s[0]), tlen)
	data := st.copyIn(mod, fn, uint32(s[2]), dlen)
	st.events = append(st.events, Event{Topic: strings.ToValidUTF8(string(topic), "\uFFFD"), Data: data})
	st.eventBytes += int(tlen + dlen)
}
