package runtime

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Benchmarks recorded in docs/benchmarks.md ("Contract runtime"):
//
//	go test ./worker/runtime -run '^$' -bench . -benchtime 2000x

func benchHello(b *testing.B, cfg Config, copyReset bool) (*Module, Env) {
	b.Helper()
	bin := buildGo(b, filepath.Join("..", "..", "contracts", "examples", "hello-world"), b.TempDir())
	rt := newTestRuntime(b, cfg)
	m, err := rt.Load(context.Background(), bin)
	if err != nil {
		b.Fatal(err)
	}
	if copyReset && m.cow != nil { // before any instance exists
		m.cow.close()
		m.cow = nil
	}
	st, err := OpenEncrypted(NewMemKV(), make([]byte, 32))
	if err != nil {
		b.Fatal(err)
	}
	env := Env{Storage: st, Time: time.Unix(1_700_000_000, 0), Height: 1}
	if _, err := m.Call(context.Background(), env, "increment", []byte(`{"by":41}`), 0); err != nil {
		b.Fatal(err)
	}
	env.Origin = OriginQuery
	return m, env
}

// BenchmarkHelloGetCount is the query path: take a pooled instance (in
// the snapshot state), call get_count against encrypted storage, reset.
func BenchmarkHelloGetCount(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, m *Module, env Env) {
		b.ReportAllocs()
		b.ResetTimer()
		var gas uint64
		for i := 0; i < b.N; i++ {
			res, err := m.Call(ctx, env, "get_count", nil, 0)
			if err != nil || string(res.Output) != `{"count":41}` {
				b.Fatalf("%q %v", res.Output, err)
			}
			gas = res.GasUsed
		}
		b.ReportMetric(float64(gas), "gas/op")
	}
	b.Run("pooled-cow", func(b *testing.B) {
		m, env := benchHello(b, Config{}, false)
		if m.cow == nil {
			b.Skip("copy-on-write snapshots unavailable on this platform")
		}
		run(b, m, env)
	})
	b.Run("pooled-copy", func(b *testing.B) {
		m, env := benchHello(b, Config{}, true)
		run(b, m, env)
	})
	b.Run("fresh-instance", func(b *testing.B) {
		m, env := benchHello(b, Config{MaxIdleInstances: -1}, false)
		run(b, m, env)
	})
	// The alternative the runtime avoids: instantiate and run the Go
	// runtime's initialisation for every call.
	b.Run("instantiate+init", func(b *testing.B) {
		m, env := benchHello(b, Config{}, false)
		bin := buildGo(b, filepath.Join("..", "..", "contracts", "examples", "hello-world"), b.TempDir())
		pm, err := parseModule(bin)
		if err != nil {
			b.Fatal(err)
		}
		m.initData = pm.data
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			in, st, err := m.initInstance(ctx)
			if err != nil {
				b.Fatal(err)
			}
			in.gas.Set(m.rt.cfg.InitGas)
			if _, err := in.mod.ExportedFunction("_initialize").Call(context.WithValue(ctx, callStateKey{}, st)); err != nil {
				b.Fatal(err)
			}
			st.initPhase, st.env = false, &env
			st.store = newOverlay(env.Storage)
			st.method, st.readOnly = "get_count", true
			in.gas.Set(m.rt.cfg.GasLimitPerCall)
			in.stack[0], in.stack[1] = 9, 0
			if err := in.fn.CallWithStack(context.WithValue(ctx, callStateKey{}, st), in.stack[:]); err != nil || in.stack[0] != 0 {
				b.Fatal(err)
			}
			in.close()
		}
	})
}

// BenchmarkHelloIncrement is the command path: a write committed to the
// encrypted store.
func BenchmarkHelloIncrement(b *testing.B) {
	m, env := benchHello(b, Config{}, false)
	env.Origin = OriginCommand
	b.ReportAllocs()
	b.ResetTimer()
	var gas uint64
	for i := 0; i < b.N; i++ {
		res, err := m.Call(context.Background(), env, "increment", nil, 0)
		if err != nil {
			b.Fatal(err)
		}
		gas = res.GasUsed
	}
	b.ReportMetric(float64(gas), "gas/op")
}

// rawRuntime runs an uninstrumented module: wazero's own WASI and no-op
// "veil" imports, for the metering baseline.
func rawModule(b *testing.B, bin []byte, method, args string) (api.Module, api.Function) {
	b.Helper()
	ctx := context.Background()
	wr := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(mustCache(b)))
	b.Cleanup(func() { _ = wr.Close(ctx) })
	wasi_snapshot_preview1.MustInstantiate(ctx, wr)
	hb := wr.NewHostModuleBuilder("veil")
	for _, f := range veilFuncs() {
		name, res := f.name, f.results
		hb.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(_ context.Context, mod api.Module, s []uint64) {
			if name == "input" {
				mod.Memory().Write(uint32(s[0]), []byte(method+args))
			}
			for i := range res {
				s[i] = i32(-1)
			}
		}), f.params, f.results).Export(f.name)
	}
	if _, err := hb.Instantiate(ctx); err != nil {
		b.Fatal(err)
	}
	mod, err := wr.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithStartFunctions("_initialize").WithName("").WithSysNanotime().WithSysWalltime())
	if err != nil {
		b.Fatal(err)
	}
	return mod, mod.ExportedFunction("veil_call")
}

func mustCache(b *testing.B) wazero.CompilationCache {
	c, err := wazero.NewCompilationCacheWithDir(testCacheDir(b))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkMetering compares the same work with and without the gas
// instrumentation: a Go workload (SHA-256, sorting, maps) and the worst
// case, a tight loop of three instructions.
func BenchmarkMetering(b *testing.B) {
	ctx := context.Background()
	b.Run("go-workload", func(b *testing.B) {
		bin := buildGo(b, filepath.Join("testdata", "bench"), b.TempDir())
		const args = `{"n":200}`
		b.Run("metered", func(b *testing.B) {
			rt := newTestRuntime(b, Config{})
			m, err := rt.Load(ctx, bin)
			if err != nil {
				b.Fatal(err)
			}
			var gas uint64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := m.Call(ctx, Env{}, "work", []byte(args), 0)
				if err != nil {
					b.Fatal(err)
				}
				gas = res.GasUsed
			}
			b.ReportMetric(float64(gas), "gas/op")
		})
		b.Run("unmetered", func(b *testing.B) {
			_, fn := rawModule(b, bin, "work", args)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// Not reset between calls: the workload allocates only
				// short-lived garbage, so the state stays comparable.
				if _, err := fn.Call(ctx, 4, uint64(len(args))); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("tight-loop", func(b *testing.B) {
		const n = 10_000_000
		bin := abiModule(nil, func(*modBuilder) []byte {
			return cat(i32c(n), lset(2), []byte{opLoop, blockEmpty}, lget(2), i32c(1),
				[]byte{opI32Sub, opLocalTee, 2, opBrIf, 0, opEnd}, i32c(0))
		})
		b.Run("metered", func(b *testing.B) {
			rt := newTestRuntime(b, Config{})
			m, err := rt.Load(ctx, bin)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Call(ctx, Env{}, "x", nil, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("unmetered", func(b *testing.B) {
			wr := wazero.NewRuntime(ctx)
			defer wr.Close(ctx)
			mod, err := wr.InstantiateWithConfig(ctx, bin, wazero.NewModuleConfig().WithStartFunctions().WithName(""))
			if err != nil {
				b.Fatal(err)
			}
			fn := mod.ExportedFunction("veil_call")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := fn.Call(ctx, 1, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// BenchmarkLoad is the one-time cost per code hash: instrument, compile
// (wazero's file cache warm or cold), initialise, snapshot.
func BenchmarkLoad(b *testing.B) {
	bin := buildGo(b, filepath.Join("..", "..", "contracts", "examples", "hello-world"), b.TempDir())
	for _, cold := range []bool{false, true} {
		name := "warm-cache"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				cfg := Config{}
				if cold {
					cfg.CacheDir = b.TempDir()
				}
				rt := newTestRuntime(b, cfg)
				if _, err := rt.Load(context.Background(), bin); err != nil {
					b.Fatal(err)
				}
				_ = rt.Close(context.Background())
			}
		})
	}
}

// BenchmarkInstrument is the bytecode rewrite alone.
func BenchmarkInstrument(b *testing.B) {
	bin := buildGo(b, filepath.Join("..", "..", "contracts", "examples", "hello-world"), b.TempDir())
	b.SetBytes(int64(len(bin)))
	for i := 0; i < b.N; i++ {
		if _, err := instrument(bin, instrumentLimits{memoryPages: 512, maxCallDepth: 1024, maxLocals: 4096, maxTable: 1 << 16}); err != nil {
			b.Fatal(err)
		}
	}
}
