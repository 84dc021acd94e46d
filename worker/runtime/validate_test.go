package runtime

import (
	"context"
	"errors"
	"testing"
)

// TestValidate: Validate refuses every module Load refuses for a static
// reason, accepts what Load accepts, and leaves only the checks that need
// execution (the ABI version's value, initialisation) to Load.
func TestValidate(t *testing.T) {
	ok := func(b *modBuilder) {
		b.export("_initialize", externFunc, b.fn(nil, nil, nil, nil))
		b.export("veil_abi_version", externFunc, b.fn(nil, tI32(), nil, i32c(1)))
		b.export("veil_call", externFunc, b.fn([]byte{valI32, valI32}, tI32(), nil, i32c(0)))
	}
	mk := func(f func(b *modBuilder)) []byte {
		b := &modBuilder{memMin: 1}
		f(b)
		return b.build()
	}
	refused := map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("not wasm at all"),
		"truncated": func() []byte { x := mk(ok); return x[:len(x)-3] }(),
		"no memory": func() []byte { b := &modBuilder{noMemory: true}; ok(b); return b.build() }(),
		"memory above the limit": func() []byte {
			b := &modBuilder{memMin: 513}
			ok(b)
			return b.build()
		}(),
		"start section": mk(func(b *modBuilder) {
			ok(b)
			b.extra = append(b.extra, section{id: secStart, body: appendU32(nil, 0)})
		}),
		"unknown import":         mk(func(b *modBuilder) { b.importFunc("env", "abort", nil, nil); ok(b) }),
		"wrong import signature": mk(func(b *modBuilder) { b.importFunc("veil", "output", tI32(), nil); ok(b) }),
		"missing veil_call": mk(func(b *modBuilder) {
			b.export("_initialize", externFunc, b.fn(nil, nil, nil, nil))
			b.export("veil_abi_version", externFunc, b.fn(nil, tI32(), nil, i32c(1)))
		}),
		"veil_call with the wrong signature": mk(func(b *modBuilder) {
			b.export("_initialize", externFunc, b.fn(nil, nil, nil, nil))
			b.export("veil_abi_version", externFunc, b.fn(nil, tI32(), nil, i32c(1)))
			b.export("veil_call", externFunc, b.fn([]byte{valI32}, tI32(), nil, i32c(0)))
		}),
		"reserved export":   mk(func(b *modBuilder) { ok(b); b.export("__veil_gas", externFunc, 0) }),
		"global beyond":     mk(func(b *modBuilder) { ok(b); b.fn(nil, nil, nil, []byte{opGlobalGet, 0, opDrop}) }),
		"local beyond":      mk(func(b *modBuilder) { ok(b); b.fn(nil, nil, nil, cat(lget(0), []byte{opDrop})) }),
		"simd":              mk(func(b *modBuilder) { ok(b); b.fn(nil, nil, nil, []byte{0xfd, 0x0c}) }),
		"table.set":         mk(func(b *modBuilder) { ok(b); b.fn(nil, nil, nil, []byte{0xd0, 0x70, 0x26, 0}) }),
		"larger than 16MiB": append(mk(ok), make([]byte, 16<<20)...),
	}
	for name, bin := range refused {
		if err := Validate(bin); !errors.Is(err, ErrInvalidModule) {
			t.Errorf("%s: Validate = %v, want ErrInvalidModule", name, err)
		}
	}
	if err := Validate(mk(ok)); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	// A module Validate accepts loads, unless it fails at run time.
	rt := newTestRuntime(t, Config{InitGas: 10_000})
	if _, err := rt.Load(context.Background(), mk(ok)); err != nil {
		t.Fatalf("baseline load: %v", err)
	}
	abi2 := mk(func(b *modBuilder) {
		b.export("_initialize", externFunc, b.fn(nil, nil, nil, nil))
		b.export("veil_abi_version", externFunc, b.fn(nil, tI32(), nil, i32c(2)))
		b.export("veil_call", externFunc, b.fn([]byte{valI32, valI32}, tI32(), nil, i32c(0)))
	})
	if err := Validate(abi2); err != nil {
		t.Fatalf("abi version 2 is only detectable by running it: %v", err)
	}
	if _, err := rt.Load(context.Background(), abi2); !errors.Is(err, ErrInvalidModule) {
		t.Fatalf("abi version 2 loaded: %v", err)
	}
	if err := ValidateConfig(mk(func(b *modBuilder) { b.memMin = 4; ok(b) }), Config{MemoryPages: 2}); !errors.Is(err, ErrInvalidModule) {
		t.Fatalf("ValidateConfig ignores the limits: %v", err)
	}
}
