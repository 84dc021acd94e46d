package runtime

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// Opcodes used by the fixtures.
const (
	opUnreachable = 0x00
	opLoop        = 0x03
	opIf          = 0x04
	opEnd         = 0x0b
	opBr          = 0x0c
	opBrIf        = 0x0d
	opDrop        = 0x1a
	opI32Load     = 0x28
	opI32Store    = 0x36
	opMemSize     = 0x3f
	opMemGrow     = 0x40
	opI32Add      = 0x6a
	opI32Sub      = 0x6b
	opI32DivS     = 0x6d
	opGlobalGet   = 0x23
	opGlobalSet   = 0x24
	opLocalTee    = 0x22
	blockEmpty    = 0x40
)

func load(t *testing.T, rt *Runtime, bin []byte) *Module {
	t.Helper()
	m, err := rt.Load(context.Background(), bin)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return m
}

func call(t *testing.T, m *Module, env Env, method string, args []byte, gas uint64) (Result, error) {
	t.Helper()
	return m.Call(context.Background(), env, method, args, gas)
}

func veilImport(b *modBuilder, name string) uint32 {
	for _, f := range veilFuncs() {
		if f.name == name {
			return b.importFunc("veil", name, f.params, f.results)
		}
	}
	panic(name)
}

// Minimal straight-line code costs exactly its instruction count.
func TestGasIsExact(t *testing.T) {
	rt := newTestRuntime(t, Config{})
	m := load(t, rt, abiModule(nil, func(*modBuilder) []byte { return i32c(0) }))
	res, err := call(t, m, Env{}, "x", nil, 1000)
	if err != nil || res.GasUsed != 1 {
		t.Fatalf("gas %d, err %v; want 1", res.GasUsed, err)
	}

	// A counted loop: entry segment (i32.const, local.set, loop) = 3,
	// each iteration (local.get, i32.const, i32.sub, local.tee, br_if)
	// = 5, the tail (i32.const) = 1: 5N+4.
	const n = 10
	loop := abiModule(nil, func(*modBuilder) []byte {
		return cat(i32c(n), lset(2),
			[]byte{opLoop, blockEmpty}, lget(2), i32c(1), []byte{opI32Sub, opLocalTee, 2, opBrIf, 0, opEnd},
			i32c(0))
	})
	m = load(t, rt, loop)
	res, err = call(t, m, Env{}, "x", nil, 1000)
	if err != nil || res.GasUsed != 5*n+4 {
		t.Fatalf("loop gas %d, err %v; want %d", res.GasUsed, err, 5*n+4)
	}
	// With exactly enough gas it succeeds; one less runs out.
	if _, err := call(t, m, Env{}, "x", nil, 5*n+4); err != nil {
		t.Fatalf("exact budget: %v", err)
	}
	if res, err := call(t, m, Env{}, "x", nil, 5*n+3); !errors.Is(err, ErrOutOfGas) || res.GasUsed != 5*n+3 {
		t.Fatalf("budget-1: %v, gas %d", err, res.GasUsed)
	}
}

func infiniteLoop() []byte {
	return abiModule(nil, func(*modBuilder) []byte {
		return cat([]byte{opLoop, blockEmpty, opBr, 0, opEnd}, i32c(0))
	})
}

func TestInfiniteLoopRunsOutOfGasDeterministically(t *testing.T) {
	for _, interp := range []bool{false, true} {
		rt := newTestRuntime(t, Config{Interpreter: interp})
		m := load(t, rt, infiniteLoop())
		for i := 0; i < 3; i++ {
			res, err := call(t, m, Env{}, "spin", nil, 1_000_000)
			if !errors.Is(err, ErrOutOfGas) {
				t.Fatalf("interpreter=%v: err %v", interp, err)
			}
			if res.GasUsed != 1_000_000 {
				t.Fatalf("gas used %d", res.GasUsed)
			}
		}
	}
}

func TestMemoryBomb(t *testing.T) {
	rt := newTestRuntime(t, Config{MemoryPages: 64})
	m := load(t, rt, abiModule(nil, func(*modBuilder) []byte {
		return cat([]byte{opLoop, blockEmpty}, i32c(4), []byte{opMemGrow, 0, opDrop, opBr, 0, opEnd}, i32c(0))
	}))
	res, err := call(t, m, Env{}, "bomb", nil, 0)
	if !errors.Is(err, ErrMemoryLimit) {
		t.Fatalf("err %v", err)
	}
	// 1 initial page + 15 successful grows of 4 = 61 pages; the 16th
	// fails. Each grow charges 100 + 4*16384.
	if res.GasUsed == 0 || res.GasUsed == rt.cfg.GasLimitPerCall {
		t.Fatalf("gas used %d", res.GasUsed)
	}
	// The instance that grew was discarded; the next call is identical.
	res2, err2 := call(t, m, Env{}, "bomb", nil, 0)
	if !errors.Is(err2, ErrMemoryLimit) || res2.GasUsed != res.GasUsed {
		t.Fatalf("second run: %v, gas %d vs %d", err2, res2.GasUsed, res.GasUsed)
	}

	// Declared sizes above the cap are refused at load.
	for _, b := range []*modBuilder{{memMin: 65}, {memMin: 1, memMax: 65, hasMax: true}} {
		b.export("_initialize", externFunc, b.fn(nil, nil, nil, nil))
		if _, err := rt.Load(context.Background(), b.build()); !errors.Is(err, ErrInvalidModule) {
			t.Fatalf("oversized memory accepted: %v", err)
		}
	}
}

func TestHugeOutput(t *testing.T) {
	rt := newTestRuntime(t, Config{})
	var out uint32
	m := load(t, rt, abiModule(func(b *modBuilder) { out = veilImport(b, "output") },
		func(*modBuilder) []byte { return cat(i32c(0), i32c(1<<20), callf(out), i32c(0)) }))
	if _, err := call(t, m, Env{}, "big", nil, 0); !errors.Is(err, ErrOutputTooLarge) {
		t.Fatalf("err %v", err)
	}
}

func TestTraps(t *testing.T) {
	rt := newTestRuntime(t, Config{})
	for name, body := range map[string][]byte{
		"unreachable":      {opUnreachable},
		"divide by zero":   cat(i32c(1), i32c(0), []byte{opI32DivS}),
		"out of bounds":    cat(i32c(1<<20), []byte{opI32Load, 2, 0}),
		"unreachable#else": cat(i32c(1), []byte{opIf, blockEmpty, opUnreachable, opEnd}, i32c(0)),
	} {
		m := load(t, rt, abiModule(nil, func(*modBuilder) []byte { return body }))
		_, err := call(t, m, Env{}, "x", nil, 0)
		var te *TrapError
		if !errors.As(err, &te) || !errors.Is(err, ErrTrap) {
			t.Fatalf("%s: err %v", name, err)
		}
		if want := strings.TrimSuffix(name, "#else"); !strings.Contains(te.Msg, want) {
			t.Errorf("%s: message %q", name, te.Msg)
		}
	}
}

func TestDeepRecursion(t *testing.T) {
	rt := newTestRuntime(t, Config{MaxCallDepth: 100})
	m := load(t, rt, abiModule(nil, func(b *modBuilder) []byte {
		// f is the function right after veil_call: recurse forever.
		self := uint32(len(b.imports) + len(b.funcs))
		b.fn(nil, nil, nil, callf(self))
		return cat(callf(self), i32c(0))
	}))
	res, err := call(t, m, Env{}, "x", nil, 0)
	if !errors.Is(err, ErrCallDepth) {
		t.Fatalf("err %v", err)
	}
	if res.GasUsed == 0 {
		t.Fatal("no gas charged")
	}
}

func TestRevert(t *testing.T) {
	rt := newTestRuntime(t, Config{})
	var rev, set uint32
	bin := abiModule(func(b *modBuilder) {
		rev = veilImport(b, "revert")
		set = veilImport(b, "storage_set")
		b.data = append(b.data, struct {
			off uint32
			b   []byte
		}{16, []byte("nope")})
	}, func(*modBuilder) []byte {
		// Write, then revert: the write must not be committed.
		return cat(i32c(16), i32c(4), i32c(16), i32c(4), callf(set),
			i32c(16), i32c(4), callf(rev), i32c(1))
	})
	m := load(t, rt, bin)
	st := NewMemStorage()
	_, err := call(t, m, Env{Storage: st}, "x", nil, 0)
	var re *RevertError
	if !errors.As(err, &re) || re.Msg != "nope" {
		t.Fatalf("err %v", err)
	}
	if st.Len() != 0 {
		t.Fatal("reverted write committed")
	}
}

func TestStorageCommitAndReadOnly(t *testing.T) {
	rt := newTestRuntime(t, Config{})
	var set, get, out uint32
	bin := abiModule(func(b *modBuilder) {
		set = veilImport(b, "storage_set")
		get = veilImport(b, "storage_get")
		out = veilImport(b, "output")
		b.data = append(b.data, struct {
			off uint32
			b   []byte
		}{16, []byte("key")})
	}, func(*modBuilder) []byte {
		// If args_len > 0, set "key" = "key"; then read "key" into 64
		// and output what was read (length from storage_get).
		return cat(lget(1), []byte{opIf, blockEmpty}, i32c(16), i32c(3), i32c(16), i32c(3), callf(set), []byte{opEnd},
			i32c(16), i32c(3), i32c(64), i32c(16), callf(get), lset(2),
			lget(2), i32c(0), []byte{0x48, opIf, blockEmpty}, i32c(0), lset(2), []byte{opEnd}, // i32.lt_s: absent -> 0
			i32c(64), lget(2), callf(out), i32c(0))
	})
	m := load(t, rt, bin)
	st := NewMemStorage()
	res, err := call(t, m, Env{Storage: st, Origin: OriginQuery}, "x", []byte{1}, 0)
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("query write: %v (%q)", err, res.Output)
	}
	if res, err = call(t, m, Env{Storage: st}, "x", []byte{1}, 0); err != nil || string(res.Output) != "key" {
		t.Fatalf("command: %q, %v", res.Output, err)
	}
	if v, ok, _ := st.Get([]byte("key")); !ok || string(v) != "key" {
		t.Fatal("write not committed")
	}
	if res, err = call(t, m, Env{Storage: st, Origin: OriginQuery}, "x", nil, 0); err != nil || string(res.Output) != "key" {
		t.Fatalf("query read: %q, %v", res.Output, err)
	}
}

func TestHostBoundsChecked(t *testing.T) {
	rt := newTestRuntime(t, Config{})
	// Arguments with a pointer 8 bytes before the end of the 4 GiB
	// address space (far outside the one-page memory).
	cases := map[string][]byte{
		"storage_get": cat(i32c(-8), i32c(4), i32c(0), i32c(0)),
		"output":      cat(i32c(-8), i32c(16)),
		"env":         i32c(-8),
		"random":      cat(i32c(-8), i32c(16)),
		"emit":        cat(i32c(0), i32c(4), i32c(-8), i32c(16)),
		"input":       i32c(65530),
	}
	for name, args := range cases {
		var f uint32
		bin := abiModule(func(b *modBuilder) { f = veilImport(b, name) }, func(*modBuilder) []byte {
			body := cat(args, callf(f))
			if name == "storage_get" {
				body = append(body, opDrop)
			}
			return cat(body, i32c(0))
		})
		m := load(t, rt, bin)
		_, err := call(t, m, Env{Storage: NewMemStorage()}, "method", []byte("args"), 0)
		if !errors.Is(err, ErrTrap) || !strings.Contains(err.Error(), "outside linear memory") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Every call starts from the snapshot: a counter kept in a global and in
// memory never advances, and a grown memory never carries over.
func TestCallsAreIsolated(t *testing.T) {
	rt := newTestRuntime(t, Config{})
	var out uint32
	bin := abiModule(func(b *modBuilder) {
		out = veilImport(b, "output")
		b.globals = append(b.globals, []byte{valI32, 1, 0x41, 0, 0x0b}) // global 0: mut i32 = 0
	}, func(*modBuilder) []byte {
		return cat(
			[]byte{opGlobalGet, 0}, i32c(1), []byte{opI32Add, opGlobalSet, 0}, // g++
			i32c(8), i32c(8), []byte{opI32Load, 2, 0}, i32c(1), []byte{opI32Add, opI32Store, 2, 0}, // mem[8]++
			i32c(12), []byte{opGlobalGet, 0, opI32Store, 2, 0}, // mem[12] = g
			i32c(1), []byte{opMemGrow, 0, opDrop}, // grow one page
			i32c(16), []byte{opMemSize, 0, opI32Store, 2, 0}, // mem[16] = pages
			i32c(8), i32c(12), callf(out), i32c(0))
	})
	m := load(t, rt, bin)
	for i := 0; i < 5; i++ {
		res, err := call(t, m, Env{}, "x", nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if string(res.Output) != "\x01\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00" {
			t.Fatalf("call %d saw state from a previous call: % x", i, res.Output)
		}
	}
}

// checkPooledIsSnapshot takes the module's idle instance and compares its
// memory and globals with the snapshot, byte for byte.
func checkPooledIsSnapshot(t *testing.T, m *Module) {
	t.Helper()
	in := <-m.idle
	defer func() { m.idle <- in }()
	mem := in.mod.Memory()
	view, _ := mem.Read(0, mem.Size())
	if len(view) != len(m.snapMem) {
		t.Fatalf("pooled memory %d bytes, snapshot %d", len(view), len(m.snapMem))
	}
	for p := 0; p < len(view); p += 4096 {
		if string(view[p:p+4096]) != string(m.snapMem[p:p+4096]) {
			t.Fatalf("page at %#x differs from the snapshot after reset", p)
		}
	}
	for i, g := range in.globals {
		if g.Get() != m.snapGlobals[i] {
			t.Fatalf("global %s = %d after reset, snapshot %d", m.globalNames[i], g.Get(), m.snapGlobals[i])
		}
	}
}

func TestResetRestoresSnapshotExactly(t *testing.T) {
	rt := newTestRuntime(t, Config{MaxIdleInstances: 1})
	// Write a byte into every other 4 KiB page of an 8-page memory (the
	// stride leaves clean pages between dirty ones), then trap or not.
	m := load(t, rt, abiModule(func(b *modBuilder) { b.memMin = 8 }, func(*modBuilder) []byte {
		return cat(i32c(0), lset(2), []byte{opLoop, blockEmpty},
			lget(2), lget(2), []byte{opI32Store, 2, 0},
			lget(2), i32c(8192), []byte{opI32Add}, []byte{opLocalTee, 2}, i32c(8*65536), []byte{0x49, opBrIf, 0, opEnd}, // i32.lt_u
			lget(1), []byte{opIf, blockEmpty, opUnreachable, opEnd}, i32c(0))
	}))
	for _, args := range [][]byte{nil, {1}, nil} {
		if _, err := call(t, m, Env{}, "x", args, 0); (err != nil) != (args != nil) {
			t.Fatal(err)
		}
		checkPooledIsSnapshot(t, m)
	}
}

func TestConcurrentCalls(t *testing.T) {
	rt := newTestRuntime(t, Config{MaxIdleInstances: 2})
	m := load(t, rt, abiModule(nil, func(*modBuilder) []byte {
		return cat(i32c(1000), lset(2), []byte{opLoop, blockEmpty}, lget(2), i32c(1),
			[]byte{opI32Sub, opLocalTee, 2, opBrIf, 0, opEnd}, i32c(0))
	}))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				res, err := m.Call(context.Background(), Env{}, "x", nil, 0)
				if err != nil || res.GasUsed != 5*1000+4 {
					errs <- errors.Join(err, errors.New("wrong gas"))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestLoadRejects(t *testing.T) {
	rt := newTestRuntime(t, Config{InitGas: 10_000})
	ctx := context.Background()
	ok := func(b *modBuilder) {
		b.export("_initialize", externFunc, b.fn(nil, nil, nil, nil))
		b.export("veil_abi_version", externFunc, b.fn(nil, tI32(), nil, i32c(1)))
		b.export("veil_call", externFunc, b.fn([]byte{valI32, valI32}, tI32(), nil, i32c(0)))
	}
	cases := map[string]func() []byte{
		"garbage":   func() []byte { return []byte("not wasm at all") },
		"truncated": func() []byte { b := &modBuilder{memMin: 1}; ok(b); x := b.build(); return x[:len(x)-3] },
		"no memory": func() []byte { b := &modBuilder{noMemory: true}; ok(b); return b.build() },
		"start section": func() []byte {
			b := &modBuilder{memMin: 1}
			ok(b)
			b.extra = append(b.extra, section{id: secStart, body: appendU32(nil, 0)})
			return b.build()
		},
		"unknown import": func() []byte {
			b := &modBuilder{memMin: 1}
			b.importFunc("env", "abort", nil, nil)
			ok(b)
			return b.build()
		},
		"wrong import signature": func() []byte {
			b := &modBuilder{memMin: 1}
			b.importFunc("veil", "output", tI32(), nil)
			ok(b)
			return b.build()
		},
		"missing veil_call": func() []byte {
			b := &modBuilder{memMin: 1}
			b.export("_initialize", externFunc, b.fn(nil, nil, nil, nil))
			b.export("veil_abi_version", externFunc, b.fn(nil, tI32(), nil, i32c(1)))
			return b.build()
		},
		"abi version 2": func() []byte {
			b := &modBuilder{memMin: 1}
			b.export("_initialize", externFunc, b.fn(nil, nil, nil, nil))
			b.export("veil_abi_version", externFunc, b.fn(nil, tI32(), nil, i32c(2)))
			b.export("veil_call", externFunc, b.fn([]byte{valI32, valI32}, tI32(), nil, i32c(0)))
			return b.build()
		},
		"reserved export": func() []byte {
			b := &modBuilder{memMin: 1}
			ok(b)
			b.export("__veil_gas", externFunc, 0)
			return b.build()
		},
		"global index beyond the module's": func() []byte {
			// global.get 0 with no globals: after instrumentation index
			// 0 would be the gas counter.
			b := &modBuilder{memMin: 1}
			ok(b)
			b.fn(nil, nil, nil, []byte{opGlobalGet, 0, opDrop})
			return b.build()
		},
		"local index beyond the function's": func() []byte {
			b := &modBuilder{memMin: 1}
			ok(b)
			b.fn(nil, nil, nil, cat(lget(0), []byte{opDrop}))
			return b.build()
		},
		"simd": func() []byte {
			b := &modBuilder{memMin: 1}
			ok(b)
			b.fn(nil, nil, nil, []byte{0xfd, 0x0c})
			return b.build()
		},
		"table.set": func() []byte {
			b := &modBuilder{memMin: 1}
			ok(b)
			b.fn(nil, nil, nil, []byte{0xd0, 0x70, 0x26, 0})
			return b.build()
		},
		"init loops forever": func() []byte {
			b := &modBuilder{memMin: 1}
			b.export("_initialize", externFunc, b.fn(nil, nil, nil, []byte{opLoop, blockEmpty, opBr, 0, opEnd}))
			b.export("veil_abi_version", externFunc, b.fn(nil, tI32(), nil, i32c(1)))
			b.export("veil_call", externFunc, b.fn([]byte{valI32, valI32}, tI32(), nil, i32c(0)))
			return b.build()
		},
		"init uses storage": func() []byte {
			b := &modBuilder{memMin: 1}
			get := veilImport(b, "storage_get")
			b.export("_initialize", externFunc, b.fn(nil, nil, nil, cat(i32c(0), i32c(1), i32c(0), i32c(0), callf(get), []byte{opDrop})))
			b.export("veil_abi_version", externFunc, b.fn(nil, tI32(), nil, i32c(1)))
			b.export("veil_call", externFunc, b.fn([]byte{valI32, valI32}, tI32(), nil, i32c(0)))
			return b.build()
		},
	}
	for name, mk := range cases {
		if _, err := rt.Load(ctx, mk()); !errors.Is(err, ErrInvalidModule) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The baseline itself loads.
	b := &modBuilder{memMin: 1}
	ok(b)
	if _, err := rt.Load(ctx, b.build()); err != nil {
		t.Fatalf("baseline: %v", err)
	}
}

func TestCallInputAndConfig(t *testing.T) {
	rt := newTestRuntime(t, Config{MaxInputBytes: 16})
	m := load(t, rt, abiModule(nil, func(*modBuilder) []byte { return i32c(0) }))
	if _, err := call(t, m, Env{}, "", nil, 0); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("empty method: %v", err)
	}
	if _, err := call(t, m, Env{}, "x", make([]byte, 16), 0); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("oversized input: %v", err)
	}
	for _, c := range []Config{{MaxCallDepth: 5000}, {MemoryPages: 70000}, {GasLimitPerCall: 1 << 63}} {
		if _, err := New(context.Background(), c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
	// Unload drops a module; loading the same code again works.
	if !rt.Unload(context.Background(), m.Hash()) || rt.Unload(context.Background(), m.Hash()) {
		t.Fatal("unload")
	}
	if _, err := call(t, m, Env{}, "x", nil, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("call after unload: %v", err)
	}
	m = load(t, rt, abiModule(nil, func(*modBuilder) []byte { return i32c(0) }))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Call(ctx, Env{}, "x", nil, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
	_ = rt.Close(context.Background())
	if _, err := call(t, m, Env{}, "x", nil, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	if _, err := rt.Load(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("load after close: %v", err)
	}
}

// The environment record and the clocks are exactly what the caller
// passed: nothing of the host leaks.
func TestEnvRecord(t *testing.T) {
	rt := newTestRuntime(t, Config{})
	var env, out uint32
	m := load(t, rt, abiModule(func(b *modBuilder) {
		env = veilImport(b, "env")
		out = veilImport(b, "output")
	}, func(*modBuilder) []byte {
		return cat(i32c(0), callf(env), i32c(0), i32c(envRecordSize), callf(out), i32c(0))
	}))
	e := Env{Caller: [32]byte{1, 2}, ContractID: [32]byte{3}, Origin: OriginChain, Height: 42, Time: time.Unix(1700000000, 5)}
	res, err := call(t, m, e, "x", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	o := res.Output
	if o[0] != 1 || o[1] != 2 || o[32] != 3 || o[64] != 42 || o[80] != 2 {
		t.Fatalf("record % x", o)
	}
	if ns := int64(leU64(o[72:80])); ns != 1700000000_000000005 {
		t.Fatalf("time %d", ns)
	}
}

func leU64(b []byte) uint64 {
	var v uint64
	for i := 7; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}
