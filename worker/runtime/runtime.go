// Package runtime executes Veil confidential contracts: WebAssembly
// modules (written in Go, built with GOOS=wasip1 GOARCH=wasm
// -buildmode=c-shared) on wazero, deterministically (architecture
// decision 10).
//
// Determinism is the point of almost every choice here. A contract's state
// must be a pure function of its ordered command log, so that any worker
// holding the contract key rebuilds the same state and charges the same
// gas. Hence:
//
//   - gas is metered by rewriting the bytecode before compilation (see
//     instrument.go), never by the engine, so compiler and interpreter,
//     amd64 and arm64 charge identically;
//   - the host offers no file system, network, environment, arguments or
//     real clock: time is the block time, randomness a stream derived from
//     a caller-supplied seed, and the WASI functions the Go runtime needs
//     are deterministic stubs;
//   - every call starts from the same instance state: the module's
//     post-initialisation snapshot (memory plus mutable globals);
//   - memory and call depth are capped by the instrumentation, below any
//     engine's own limits.
//
// The package is self-contained: it is not yet wired into the chain or
// the worker. docs/contracts.md documents the ABI byte by byte.
package runtime

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// ABIVersion is the host ABI version this runtime implements; a module
// must export veil_abi_version returning it.
const ABIVersion = 1

// engineFrameCeiling is the smallest call-frame ceiling among wazero's
// engines (the interpreter's 2000 frames). The instrumented depth limit
// must stay below it, with room for the entry frame and a host call, so
// that the deterministic limit is always the one that triggers.
const engineFrameCeiling = 2000

// Config bounds what one contract call may consume. Zero fields take the
// defaults documented on each. All workers of a network must use the same
// values for the limits that affect outcomes (every field except
// CacheDir, Interpreter and MaxIdleInstances).
type Config struct {
	// MemoryPages caps linear memory, in 64 KiB pages. Default 512
	// (32 MiB). Modules declaring a larger minimum or maximum are
	// rejected at Load.
	MemoryPages uint32
	// GasLimitPerCall caps the gas of one call (a larger request is
	// clamped; zero requests it). Default 1e9 (0.15-0.3 s of CPU on the
	// development VM).
	GasLimitPerCall uint64
	// InitGas budgets the one-time initialisation of the module (the Go
	// runtime's and the contract's package init) at Load. Default 1e9.
	InitGas uint64
	// MaxCallDepth caps nested calls. Default 1024; at most 1900.
	MaxCallDepth uint32
	// MaxLocals caps params plus locals of any one function (it bounds
	// the native frame size, hence the engine stack per frame). Default
	// 4096.
	MaxLocals uint32
	// MaxTableEntries caps the initial size of each table (tables are
	// allocated per instance and cannot grow). Default 65536; a Go
	// contract's function table has a few thousand entries.
	MaxTableEntries uint32
	// MaxModuleBytes caps the binary size. Default 16 MiB.
	MaxModuleBytes int
	// MaxInputBytes caps method name plus arguments. Default 1 MiB.
	MaxInputBytes int
	// MaxOutputBytes caps the return data. Default 64 KiB.
	MaxOutputBytes int
	// MaxEvents and MaxEventBytes cap emitted events per call (count and
	// total topic+data bytes). Defaults 64 and 64 KiB.
	MaxEvents     int
	MaxEventBytes int
	// MaxTopicBytes caps one event topic. Default 64.
	MaxTopicBytes int
	// MaxKeyBytes and MaxValueBytes cap one storage key and value.
	// Defaults 1 KiB and 128 KiB.
	MaxKeyBytes   int
	MaxValueBytes int
	// MaxWriteSetBytes caps the key+value bytes one call may buffer for
	// commit. Default 8 MiB.
	MaxWriteSetBytes int
	// MaxLogBytes caps the captured stdout/stderr per call; the rest is
	// dropped. Default 16 KiB.
	MaxLogBytes int
	// MaxRevertBytes caps a revert message. Default 1 KiB.
	MaxRevertBytes int

	// CacheDir, if set, persists wazero's compiled code across restarts
	// (compiling a Go contract takes seconds).
	CacheDir string
	// Interpreter forces wazero's interpreter (the compiler is used
	// where supported: amd64 and arm64).
	Interpreter bool
	// MaxIdleInstances is how many ready instances each module keeps for
	// reuse. Default 4; negative disables pooling (every call builds a
	// fresh instance from the snapshot).
	MaxIdleInstances int
}

func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if c.MemoryPages == 0 {
		c.MemoryPages = 512
	}
	if c.GasLimitPerCall == 0 {
		c.GasLimitPerCall = 1_000_000_000
	}
	if c.InitGas == 0 {
		c.InitGas = 1_000_000_000
	}
	if c.MaxCallDepth == 0 {
		c.MaxCallDepth = 1024
	}
	if c.MaxLocals == 0 {
		c.MaxLocals = 4096
	}
	if c.MaxTableEntries == 0 {
		c.MaxTableEntries = 1 << 16
	}
	def(&c.MaxModuleBytes, 16<<20)
	def(&c.MaxInputBytes, 1<<20)
	def(&c.MaxOutputBytes, 64<<10)
	def(&c.MaxEvents, 64)
	def(&c.MaxEventBytes, 64<<10)
	def(&c.MaxTopicBytes, 64)
	def(&c.MaxKeyBytes, 1<<10)
	def(&c.MaxValueBytes, 128<<10)
	def(&c.MaxWriteSetBytes, 8<<20)
	def(&c.MaxLogBytes, 16<<10)
	def(&c.MaxRevertBytes, 1<<10)
	def(&c.MaxIdleInstances, 4)
	switch {
	case c.MemoryPages > 65536:
		return c, fmt.Errorf("runtime: MemoryPages %d exceeds the 4 GiB address space", c.MemoryPages)
	case c.MaxCallDepth > engineFrameCeiling-100:
		return c, fmt.Errorf("runtime: MaxCallDepth %d must stay below the engines' %d-frame ceiling", c.MaxCallDepth, engineFrameCeiling-100)
	case c.GasLimitPerCall > 1<<62 || c.InitGas > 1<<62:
		return c, errors.New("runtime: gas limits must not exceed 2^62")
	case c.MaxLocals > 50000:
		return c, fmt.Errorf("runtime: MaxLocals %d too large", c.MaxLocals)
	}
	return c, nil
}

// Runtime compiles and caches contract modules and hosts their calls. It
// is safe for concurrent use.
type Runtime struct {
	cfg    Config
	wr     wazero.Runtime
	cache  wazero.CompilationCache
	closed atomic.Bool

	mu      sync.Mutex
	modules map[[32]byte]*loadEntry
}

// loadEntry lets concurrent Loads of the same code share one compilation.
type loadEntry struct {
	done chan struct{}
	mod  *Module
	err  error
}

// New creates a runtime with its own wazero engine and host modules.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("runtime: compilation cache: %w", err)
		}
	} else {
		cache = wazero.NewCompilationCache()
	}
	var wc wazero.RuntimeConfig
	if cfg.Interpreter {
		wc = wazero.NewRuntimeConfigInterpreter()
	} else {
		wc = wazero.NewRuntimeConfig() // compiler where supported
	}
	wc = wc.WithCompilationCache(cache).
		WithMemoryLimitPages(cfg.MemoryPages).
		// SIMD is refused by the instrumentation; the rest of core 2.0
		// is what Go emits (sign extension, saturating conversion,
		// bulk memory) plus harmless reference-type reads.
		WithCoreFeatures(api.CoreFeaturesV2 &^ api.CoreFeatureSIMD).
		WithCustomSections(false).
		WithDebugInfoEnabled(false)
	rt := &Runtime{
		cfg:     cfg,
		wr:      wazero.NewRuntimeWithConfig(ctx, wc),
		cache:   cache,
		modules: map[[32]byte]*loadEntry{},
	}
	if err := rt.instantiateHostModules(ctx); err != nil {
		_ = rt.wr.Close(ctx)
		return nil, err
	}
	return rt, nil
}

// Config returns the effective configuration (defaults filled in).
func (rt *Runtime) Config() Config { return rt.cfg }

// Load validates, instruments, compiles and initialises a contract
// module, or returns the cached one for the same code (keyed by the
// SHA-256 of wasm). Validation: the binary parses, uses only metered
// features, imports only the veil and WASI functions this runtime
// provides (with their exact signatures), exports _initialize,
// veil_abi_version (returning ABIVersion) and veil_call, and completes
// its initialisation within InitGas.
func (rt *Runtime) Load(ctx context.Context, wasm []byte) (*Module, error) {
	if rt.closed.Load() {
		return nil, ErrClosed
	}
	if len(wasm) > rt.cfg.MaxModuleBytes {
		return nil, fmt.Errorf("%w: %d bytes exceeds the %d-byte limit", ErrInvalidModule, len(wasm), rt.cfg.MaxModuleBytes)
	}
	hash := sha256.Sum256(wasm)
	rt.mu.Lock()
	if rt.modules == nil { // closed meanwhile
		rt.mu.Unlock()
		return nil, ErrClosed
	}
	e, ok := rt.modules[hash]
	if !ok {
		e = &loadEntry{done: make(chan struct{})}
		rt.modules[hash] = e
	}
	rt.mu.Unlock()
	if ok {
		select {
		case <-e.done:
			return e.mod, e.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	e.mod, e.err = rt.load(ctx, hash, wasm)
	if e.err != nil {
		// Do not cache failures: a cancelled context or a transient
		// failure must not poison the code hash.
		rt.mu.Lock()
		delete(rt.modules, hash)
		rt.mu.Unlock()
	}
	close(e.done)
	return e.mod, e.err
}

// Unload drops the module with the given code hash from the cache and
// releases its instances and compiled code; a later Load recompiles (from
// the file cache, if configured). Calls already holding the module finish
// normally; new calls on it fail with ErrClosed. It reports whether the
// module was loaded.
func (rt *Runtime) Unload(ctx context.Context, hash [32]byte) bool {
	rt.mu.Lock()
	e, ok := rt.modules[hash]
	if ok {
		select {
		case <-e.done:
			delete(rt.modules, hash)
		default:
			ok = false // still loading: leave it
		}
	}
	rt.mu.Unlock()
	if !ok || e.mod == nil {
		return false
	}
	e.mod.shutdown()
	_ = e.mod.compiled.Close(ctx)
	return true
}

// Close releases every module and the engine. Calls still running fail.
func (rt *Runtime) Close(ctx context.Context) error {
	if rt.closed.Swap(true) {
		return nil
	}
	rt.mu.Lock()
	entries := rt.modules
	rt.modules = nil
	rt.mu.Unlock()
	for _, e := range entries {
		select {
		case <-e.done:
			if e.mod != nil {
				e.mod.shutdown()
			}
		default:
		}
	}
	err := rt.wr.Close(ctx)
	if cerr := rt.cache.Close(ctx); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("runtime: close: %w", err)
	}
	return nil
}
