package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// ErrInvalidInput: the call's method name or arguments are out of bounds
// (empty method, or larger than MaxInputBytes). Deterministic, but the
// caller's fault, not the contract's.
var ErrInvalidInput = errors.New("runtime: invalid call input")

// Module is a loaded contract: instrumented, compiled, initialised once,
// and snapshotted. It is safe for concurrent use; each call runs in its
// own instance.
//
// Isolation. Every call starts from the same state: the snapshot of
// linear memory and mutable globals taken right after the module's
// initialisation (Go runtime start-up and package init). Instances are
// pooled and reset to that snapshot after each call, never carried over:
// nothing a call leaves in memory (a global variable, a freed buffer
// holding the previous caller's plaintext) is visible to the next, and
// gas is identical whichever instance runs the call. The alternative,
// a fresh instance running the Go runtime's initialisation per call,
// costs ~5 ms for even a trivial contract, against ~70 µs for a whole
// pooled call including its reset (see cow_linux.go and
// docs/benchmarks.md). An instance whose memory
// grew during a call is discarded instead (wazero memory cannot shrink,
// and a larger memory would change what later allocations do).
type Module struct {
	rt       *Runtime
	hash     [32]byte
	compiled wazero.CompiledModule

	globalNames []string      // export names of every mutable global
	initData    []dataSegment // written by the host before _initialize
	snapMem     []byte
	snapGlobals []uint64
	snapMono    uint64
	initGasUsed uint64

	cow    *cowImage // nil: reset by copying
	idle   chan *instance
	closed atomic.Bool
}

// Hash is the SHA-256 of the module's original binary (its code id).
func (m *Module) Hash() [32]byte { return m.hash }

// InitGasUsed is the gas the module's initialisation consumed at Load.
func (m *Module) InitGasUsed() uint64 { return m.initGasUsed }

// SnapshotBytes is the size of the module's post-initialisation memory.
func (m *Module) SnapshotBytes() int { return len(m.snapMem) }

// Result is the outcome of a call. On error, only GasUsed and Logs are
// set: Output and Events of a failed call are discarded like its writes.
type Result struct {
	Output  []byte
	Events  []Event
	GasUsed uint64
	// Logs is what the contract wrote to stdout/stderr (bounded). It may
	// contain confidential data: treat it like the contract's state.
	Logs []byte
}

// instance is one wazero instantiation of a Module.
type instance struct {
	mod              api.Module
	fn               api.Function
	gas, depth, trap api.MutableGlobal
	globals          []api.MutableGlobal
	cowMem           *cowMemory
	stack            [2]uint64
}

// abiExports are the exports a contract must have, with signatures.
func checkABI(m *module) error {
	want := []struct {
		name            string
		params, results string
	}{
		{"_initialize", "", ""},
		{"veil_abi_version", "", "\x7f"},
		{"veil_call", "\x7f\x7f", "\x7f"},
	}
	for _, w := range want {
		found := false
		for _, e := range m.exports {
			if e.name != w.name || e.kind != externFunc {
				continue
			}
			ft, ok := m.funcTypeOf(e.index)
			if !ok {
				return fmt.Errorf("%w: export %s refers to a missing function", ErrInvalidModule, w.name)
			}
			if string(ft.params) != w.params || string(ft.results) != w.results {
				return fmt.Errorf("%w: export %s has the wrong signature", ErrInvalidModule, w.name)
			}
			found = true
		}
		if !found {
			return fmt.Errorf("%w: missing export %s (build with -buildmode=c-shared and import the contract SDK)", ErrInvalidModule, w.name)
		}
	}
	veil, wasi := map[string]hostFunc{}, map[string]hostFunc{}
	for _, f := range veilFuncs() {
		veil[f.name] = f
	}
	for _, f := range wasiFuncs() {
		wasi[f.name] = f
	}
	for _, imp := range m.imports {
		var f hostFunc
		var ok bool
		switch imp.module {
		case "veil":
			f, ok = veil[imp.name]
		case wasiModule:
			f, ok = wasi[imp.name]
		}
		if !ok {
			return fmt.Errorf("%w: unknown import %s.%s", ErrInvalidModule, imp.module, imp.name)
		}
		ft := m.types[imp.typeIdx]
		if string(ft.params) != string(f.params) || string(ft.results) != string(f.results) {
			return fmt.Errorf("%w: import %s.%s has the wrong signature", ErrInvalidModule, imp.module, imp.name)
		}
	}
	return nil
}

// instantiateHostModules registers the "veil" and WASI host modules once
// per runtime; their functions find the current call in the context.
func (rt *Runtime) instantiateHostModules(ctx context.Context) error {
	for _, hm := range []struct {
		name  string
		funcs []hostFunc
	}{{"veil", veilFuncs()}, {wasiModule, wasiFuncs()}} {
		b := rt.wr.NewHostModuleBuilder(hm.name)
		for _, f := range hm.funcs {
			fn := f.fn
			b.NewFunctionBuilder().
				WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
					fn(stateOf(ctx), mod, stack)
				}), f.params, f.results).
				Export(f.name)
		}
		if _, err := b.Instantiate(ctx); err != nil {
			return fmt.Errorf("runtime: host module %s: %w", hm.name, err)
		}
	}
	return nil
}

func (rt *Runtime) load(ctx context.Context, hash [32]byte, wasm []byte) (*Module, error) {
	cfg := &rt.cfg
	res, err := prepare(wasm, cfg)
	if err != nil {
		return nil, err
	}
	compiled, err := rt.wr.CompileModule(ctx, res.binary)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("runtime: compile: %w", err)
		}
		return nil, fmt.Errorf("%w: %w", ErrInvalidModule, err)
	}
	m := &Module{rt: rt, hash: hash, compiled: compiled, globalNames: res.mutableGlobals}
	ok := false
	defer func() {
		if !ok {
			_ = compiled.Close(ctx)
		}
	}()

	// Initialise once, in a plain instance, with a fixed environment:
	// no storage, no caller, block time zero, a public random seed.
	if res.mod.dataStatic {
		m.initData = res.mod.data
	}
	inst, st, err := m.initInstance(ctx)
	if err != nil {
		return nil, err
	}
	defer inst.close()
	cctx := context.WithValue(ctx, callStateKey{}, st)
	run := func(name string) (uint64, error) {
		inst.gas.Set(cfg.InitGas - m.initGasUsed)
		out, callErr := inst.mod.ExportedFunction(name).Call(cctx)
		remaining := int64(inst.gas.Get())
		m.initGasUsed = cfg.InitGas - uint64(max(remaining, 0))
		if err := classify(st, callErr, uint32(inst.trap.Get()), remaining, 0); err != nil {
			return 0, fmt.Errorf("%w: %s failed: %w", ErrInvalidModule, name, err)
		}
		if len(out) == 0 {
			return 0, nil
		}
		return out[0], nil
	}
	if _, err := run("_initialize"); err != nil {
		return nil, err
	}
	v, err := run("veil_abi_version")
	if err != nil {
		return nil, err
	}
	if uint32(v) != ABIVersion {
		return nil, fmt.Errorf("%w: ABI version %d, runtime implements %d", ErrInvalidModule, uint32(v), ABIVersion)
	}

	// Snapshot: memory and every mutable global; our counters zeroed.
	mem := inst.mod.Memory()
	view, _ := mem.Read(0, mem.Size())
	m.snapMem = append([]byte(nil), view...)
	m.snapGlobals = make([]uint64, len(inst.globals))
	for i, g := range inst.globals {
		switch m.globalNames[i] {
		case exportGas, exportDepth, exportTrap:
		default:
			m.snapGlobals[i] = g.Get()
		}
	}
	m.snapMono = st.mono
	m.initData = nil // aliases the caller's binary; the snapshot has it
	maxBytes := uint64(cfg.MemoryPages) * 65536
	if mx, ok := mem.Definition().Max(); ok && uint64(mx)*65536 < maxBytes {
		maxBytes = uint64(mx) * 65536
	}
	if img, err := newCowImage(m.snapMem, maxBytes); err == nil {
		m.cow = img
	}
	m.idle = make(chan *instance, max(cfg.MaxIdleInstances, 0))
	ok = true
	return m, nil
}

// initInstance creates the instance initialisation runs in: ordinary
// memory, the data segments written by the host (see parseData), and the
// init-phase call state (no storage, no environment, block time zero,
// the public init random stream). The caller runs _initialize.
func (m *Module) initInstance(ctx context.Context) (*instance, *callState, error) {
	inst, err := m.instantiate(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	mem := inst.mod.Memory()
	for i, d := range m.initData {
		if !mem.Write(d.offset, d.init) {
			inst.close()
			return nil, nil, fmt.Errorf("%w: data segment %d out of bounds", ErrInvalidModule, i)
		}
	}
	rs, err := newRandomStream(initSeed())
	if err != nil {
		inst.close()
		return nil, nil, err
	}
	st := &callState{cfg: &m.rt.cfg, inst: inst, env: &Env{}, initPhase: true, random: rs, mono: monoBase, monoStart: monoBase}
	return inst, st, nil
}

// instantiate creates an instance; with img it maps the snapshot image
// copy-on-write.
func (m *Module) instantiate(ctx context.Context, img *cowImage) (*instance, error) {
	var cm *cowMemory
	ictx := ctx
	if img != nil {
		ictx = experimental.WithMemoryAllocator(ctx, img.allocator(&cm))
	}
	mod, err := m.rt.wr.InstantiateModule(ictx, m.compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return nil, fmt.Errorf("runtime: instantiate: %w", err)
	}
	in := &instance{mod: mod, fn: mod.ExportedFunction("veil_call"), cowMem: cm}
	for _, name := range m.globalNames {
		g, ok := mod.ExportedGlobal(name).(api.MutableGlobal)
		if !ok {
			in.close()
			return nil, fmt.Errorf("runtime: instrumented global %s missing", name)
		}
		in.globals = append(in.globals, g)
		switch name {
		case exportGas:
			in.gas = g
		case exportDepth:
			in.depth = g
		case exportTrap:
			in.trap = g
		}
	}
	if in.fn == nil || in.gas == nil || in.depth == nil || in.trap == nil {
		in.close()
		return nil, errors.New("runtime: instrumented exports missing")
	}
	return in, nil
}

// newInstance builds a pooled instance in the snapshot state without
// re-running initialisation.
func (m *Module) newInstance(ctx context.Context) (*instance, error) {
	in, err := m.instantiate(ctx, m.cow)
	if err != nil {
		return nil, err
	}
	mem := in.mod.Memory()
	want := uint32(len(m.snapMem) / 65536)
	if cur := mem.Size() / 65536; cur < want {
		if _, ok := mem.Grow(want - cur); !ok {
			in.close()
			return nil, errors.New("runtime: cannot grow instance memory to the snapshot size")
		}
	}
	if err := m.reset(in); err != nil {
		in.close()
		return nil, err
	}
	return in, nil
}

var errGrown = errors.New("runtime: instance memory grew")

// reset restores the snapshot into an instance.
func (m *Module) reset(in *instance) error {
	mem := in.mod.Memory()
	if mem.Size() != uint32(len(m.snapMem)) {
		return errGrown
	}
	if in.cowMem != nil {
		if err := in.cowMem.reset(len(m.snapMem)); err != nil {
			return err
		}
	} else {
		view, _ := mem.Read(0, mem.Size())
		copy(view, m.snapMem)
	}
	for i, g := range in.globals {
		g.Set(m.snapGlobals[i])
	}
	return nil
}

func (in *instance) close() {
	_ = in.mod.Close(context.Background())
}

func (m *Module) acquire(ctx context.Context) (*instance, error) {
	select {
	case in := <-m.idle:
		return in, nil
	default:
	}
	return m.newInstance(ctx)
}

// putBack resets an instance and pools it, or discards it.
func (m *Module) putBack(in *instance) {
	if m.rt.closed.Load() || m.closed.Load() || in.mod.IsClosed() || m.reset(in) != nil {
		in.close()
		return
	}
	select {
	case m.idle <- in:
		if m.closed.Load() { // shut down meanwhile: do not strand it
			m.drain()
		}
	default:
		in.close()
	}
}

func (m *Module) drain() {
	for {
		select {
		case in := <-m.idle:
			in.close()
		default:
			return
		}
	}
}

// shutdown releases pooled instances and the snapshot image.
func (m *Module) shutdown() {
	if m.closed.Swap(true) {
		return
	}
	m.drain()
	if m.cow != nil {
		m.cow.close()
	}
}

// Call runs method with args in a fresh copy of the contract's initial
// state, against env, with a budget of gas (clamped to GasLimitPerCall;
// zero means GasLimitPerCall). On success (and unless env.Origin is
// OriginQuery) the call's writes are applied to env.Storage in one
// Apply, in key order. On any error nothing is written; Result.GasUsed
// is still meaningful for every contract-caused error (ErrOutOfGas:
// all of it).
func (m *Module) Call(ctx context.Context, env Env, method string, args []byte, gas uint64) (Result, error) {
	cfg := &m.rt.cfg
	if m.rt.closed.Load() || m.closed.Load() {
		return Result{}, ErrClosed
	}
	if len(method) == 0 || len(method)+len(args) > cfg.MaxInputBytes {
		return Result{}, fmt.Errorf("%w: method of %d and arguments of %d bytes (limit %d in total, method non-empty)",
			ErrInvalidInput, len(method), len(args), cfg.MaxInputBytes)
	}
	if gas == 0 || gas > cfg.GasLimitPerCall {
		gas = cfg.GasLimitPerCall
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	rs, err := newRandomStream(env.RandomSeed)
	if err != nil {
		return Result{}, err
	}
	in, err := m.acquire(ctx)
	if err != nil {
		return Result{}, err
	}
	timeNs := env.Time.UnixNano()
	if env.Time.IsZero() || timeNs < 0 {
		timeNs = 0
	}
	st := &callState{
		cfg: cfg, inst: in, env: &env,
		method: method, args: args,
		store:    newOverlay(env.Storage),
		readOnly: env.Origin == OriginQuery,
		random:   rs,
		mono:     m.snapMono, monoStart: m.snapMono,
		timeNs: timeNs,
	}
	in.gas.Set(gas)
	in.stack[0], in.stack[1] = uint64(len(method)), uint64(len(args))
	callErr := in.fn.CallWithStack(context.WithValue(ctx, callStateKey{}, st), in.stack[:])
	status := uint32(in.stack[0])
	remaining := int64(in.gas.Get())
	err = classify(st, callErr, uint32(in.trap.Get()), remaining, status)
	grew := in.mod.Memory().Size() != uint32(len(m.snapMem))
	m.putBack(in)

	res := Result{Logs: st.logs, GasUsed: gas - uint64(min(max(remaining, 0), int64(gas)))}
	if grew {
		// The instance cannot be reset (memory never shrinks) and must
		// be rebuilt, which costs the host far more than the pages the
		// guest paid for. Growth is deterministic, so the surcharge is.
		fee := m.rebuildFee()
		if err == nil && res.GasUsed+fee > gas {
			err = ErrOutOfGas
		}
		res.GasUsed = min(gas, res.GasUsed+fee)
	}
	if errors.Is(err, ErrOutOfGas) {
		res.GasUsed = gas
	}
	if err != nil {
		return res, err
	}
	if !st.readOnly && env.Storage != nil && len(st.store.writes) > 0 {
		if err := env.Storage.Apply(st.store.sorted()); err != nil {
			return res, fmt.Errorf("%w: commit: %w", ErrStorage, err)
		}
	}
	res.Output, res.Events = st.output, st.events
	return res, nil
}

// rebuildFee is the gas surcharge of a call that grew its memory: one
// unit per gasRebuildBytes bytes of the snapshot an instance rebuild
// copies and maps.
func (m *Module) rebuildFee() uint64 {
	return uint64(len(m.snapMem)) / gasRebuildBytes
}

// classify turns the raw outcome of a guest call into the typed result.
// Precedence: a host-side abort (its reason is exact), then the
// instrumentation's trap code, then an exhausted counter, then a trap,
// then a revert.
func classify(st *callState, callErr error, trapCode uint32, remaining int64, status uint32) error {
	switch {
	case st.abort != nil:
		var ex *exitError
		if errors.As(st.abort, &ex) {
			return &TrapError{Msg: withGuestReason(fmt.Sprintf("exit code %d", ex.code), st.logs)}
		}
		return st.abort
	case callErr != nil:
		switch trapCode {
		case trapCodeOutOfGas:
			return ErrOutOfGas
		case trapCodeMemory:
			return ErrMemoryLimit
		case trapCodeDepth:
			return ErrCallDepth
		}
		if remaining < 0 {
			return ErrOutOfGas
		}
		return &TrapError{Msg: withGuestReason(trapMessage(callErr), st.logs)}
	case remaining < 0:
		return ErrOutOfGas
	case st.reverted || status != 0:
		return &RevertError{Msg: st.revertMsg}
	}
	return nil
}

// trapMessage keeps the first line of wazero's error ("wasm error:
// integer divide by zero"), not the engine-specific stack trace.
func trapMessage(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return strings.TrimPrefix(msg, "wasm error: ")
}

// withGuestReason prefixes a trap description with the Go runtime's
// panic or fatal-error line from the captured stderr, if there is one: a
// Go contract that panics prints the reason and then traps with a bare
// "unreachable" (or exits), which alone says nothing.
func withGuestReason(msg string, logs []byte) string {
	for _, line := range strings.Split(string(logs), "\n") {
		if strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
			return line + " (" + msg + ")"
		}
	}
	return msg
}
