package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

func fuzzLimits() instrumentLimits {
	return instrumentLimits{memoryPages: 64, maxCallDepth: 100, maxLocals: 1000, maxTable: 1000}
}

// seedModules are small valid modules exercising every construct the
// instrumentation rewrites.
func seedModules() [][]byte {
	var out [][]byte
	out = append(out, infiniteLoop())
	out = append(out, abiModule(nil, func(*modBuilder) []byte {
		return cat(i32c(3), lset(2), []byte{opLoop, blockEmpty}, lget(2), i32c(1),
			[]byte{opI32Sub, opLocalTee, 2, opBrIf, 0, opEnd},
			i32c(1), []byte{opIf, 0x7f}, i32c(2), []byte{0x05}, i32c(3), []byte{opEnd, opDrop},
			[]byte{0x02, blockEmpty}, i32c(0), []byte{0x0e, 1, 0, 0, opEnd}, // br_table
			i32c(0), i32c(0), i32c(8), []byte{0xfc, 11, 0}, // memory.fill
			i32c(0), i32c(8), i32c(8), []byte{0xfc, 10, 0, 0}, // memory.copy
			i32c(1), []byte{opMemGrow, 0, opDrop},
			i64c(5), []byte{0x50, opDrop}, // i64.eqz
			i32c(0))
	}))
	out = append(out, abiModule(func(b *modBuilder) {
		veilImport(b, "output")
		b.globals = append(b.globals, []byte{valI64, 1, 0x42, 7, 0x0b}, []byte{valI32, 0, 0x41, 1, 0x0b})
	}, func(b *modBuilder) []byte {
		self := uint32(len(b.imports) + len(b.funcs))
		b.fn(tI32(), tI32(), nil, cat(lget(0), []byte{opIf, 0x7f}, lget(0), i32c(1), []byte{opI32Sub}, callf(self), []byte{0x05}, i32c(0), []byte{opEnd}))
		return cat(i32c(5), callf(self), []byte{opDrop, opGlobalGet, 0, opDrop}, i32c(0))
	}))
	return out
}

// Instrumentation never panics, and whatever wazero accepts before
// instrumentation it still accepts after.
func FuzzInstrument(f *testing.F) {
	for _, m := range seedModules() {
		f.Add(m)
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x01\x05\x01\x60\x00\x01\x7f"))
	ctx := context.Background()
	wr := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer wr.Close(ctx)
	f.Fuzz(func(t *testing.T, bin []byte) {
		res, err := instrument(bin, fuzzLimits())
		if err != nil {
			if !errors.Is(err, ErrInvalidModule) {
				t.Fatalf("error outside ErrInvalidModule: %v", err)
			}
			return
		}
		orig, origErr := wr.CompileModule(ctx, bin)
		if origErr != nil {
			return
		}
		_ = orig.Close(ctx)
		inst, err := wr.CompileModule(ctx, res.binary)
		if err != nil {
			t.Fatalf("valid module became invalid after instrumentation: %v", err)
		}
		_ = inst.Close(ctx)
	})
}

// hostProbe builds a module whose veil_call reads its arguments as
// little-endian i32/i64 values and calls one host function with them.
func hostProbe(module string, f hostFunc) []byte {
	return abiModule(func(b *modBuilder) {
		b.importFunc("veil", "input", tI32(), nil)
		if !(module == "veil" && f.name == "input") {
			b.importFunc(module, f.name, f.params, f.results)
		}
	}, func(b *modBuilder) []byte {
		target := uint32(len(b.imports) - 1)
		body := cat(i32c(0), callf(0)) // input(0): method byte at 0, args from 1
		off := uint32(1)
		for _, p := range f.params {
			if p == valI64 {
				body = cat(body, i32c(0), appendU32(appendU32([]byte{0x29}, 0), off)) // i64.load
				off += 8
			} else {
				body = cat(body, i32c(0), appendU32(appendU32([]byte{opI32Load}, 0), off))
				off += 4
			}
		}
		body = cat(body, callf(target))
		for range f.results {
			body = append(body, opDrop)
		}
		return cat(body, i32c(0))
	})
}

// No pointer, length or value a contract passes can panic the host or
// produce anything but a typed outcome.
func FuzzHostABI(f *testing.F) {
	type probe struct {
		module string
		fn     hostFunc
	}
	var probes []probe
	for _, fn := range veilFuncs() {
		probes = append(probes, probe{"veil", fn})
	}
	for _, fn := range wasiFuncs() {
		switch fn.name {
		case "proc_exit":
			continue // always traps, by design
		}
		probes = append(probes, probe{wasiModule, fn})
	}
	rt := newTestRuntime(f, Config{MemoryPages: 4, MaxInputBytes: 128, MaxOutputBytes: 64, MaxEvents: 2, MaxEventBytes: 64, MaxKeyBytes: 16, MaxValueBytes: 64, MaxLogBytes: 64})
	ctx := context.Background()
	mods := make([]*Module, len(probes))
	for i, p := range probes {
		m, err := rt.Load(ctx, hostProbe(p.module, p.fn))
		if err != nil {
			f.Fatalf("%s.%s: %v", p.module, p.fn.name, err)
		}
		mods[i] = m
	}
	le := func(vs ...uint32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.LittleEndian.AppendUint32(b, v)
		}
		return b
	}
	for i := range probes {
		f.Add(uint8(i), le(0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
		f.Add(uint8(i), le(100, 8, 200, 8, 300, 8, 400, 8, 500, 8, 0, 0, 0))
		f.Add(uint8(i), le(0xfffffff0, 0x20, 0, 0xffffffff, 1, 2, 3, 4, 5, 6, 7, 8, 9))
		f.Add(uint8(i), le(65530, 16, 65535, 1, 0, 1<<20, 1, 1, 1, 1))
	}
	f.Fuzz(func(t *testing.T, which uint8, args []byte) {
		m := mods[int(which)%len(mods)]
		store := NewMemStorage()
		_ = store.Apply([]Write{{Key: []byte("k"), Value: []byte("value")}, {Key: []byte("k2"), Value: []byte("v2")}})
		for _, origin := range []Origin{OriginCommand, OriginQuery} {
			res, err := m.Call(ctx, Env{Storage: store, Origin: origin}, "x", args, 2_000_000)
			if err == nil {
				continue
			}
			switch {
			case errors.Is(err, ErrInvalidInput):
				return
			case errors.Is(err, ErrTrap):
				if strings.Contains(err.Error(), "recovered by wazero") || strings.Contains(err.Error(), "runtime error") {
					t.Fatalf("host bug surfaced as a trap: %v", err)
				}
			case errors.Is(err, ErrOutOfGas), errors.Is(err, ErrOutputTooLarge), errors.Is(err, ErrReadOnly),
				errors.Is(err, ErrMemoryLimit), errors.Is(err, ErrRevert):
			default:
				t.Fatalf("untyped outcome: %v (gas %d)", err, res.GasUsed)
			}
		}
	})
}
