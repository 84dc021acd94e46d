package runtime

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// modBuilder assembles small WebAssembly modules by hand, so the tests
// need no wat compiler.
type modBuilder struct {
	types   [][2][]byte
	imports []struct {
		mod, name string
		typ       uint32
	}
	funcs []struct {
		typ          uint32
		locals, body []byte
	}
	exports []struct {
		name string
		kind byte
		idx  uint32
	}
	globals  [][]byte
	memMin   uint32
	memMax   uint32
	hasMax   bool
	noMemory bool
	data     []struct {
		off uint32
		b   []byte
	}
	extra []section // appended raw sections (e.g. a start section)
}

func (b *modBuilder) typeIdx(params, results []byte) uint32 {
	for i, t := range b.types {
		if bytes.Equal(t[0], params) && bytes.Equal(t[1], results) {
			return uint32(i)
		}
	}
	b.types = append(b.types, [2][]byte{params, results})
	return uint32(len(b.types) - 1)
}

// importFunc adds a function import and returns its function index. All
// imports must be added before any function.
func (b *modBuilder) importFunc(mod, name string, params, results []byte) uint32 {
	if len(b.funcs) > 0 {
		panic("imports first")
	}
	b.imports = append(b.imports, struct {
		mod, name string
		typ       uint32
	}{mod, name, b.typeIdx(params, results)})
	return uint32(len(b.imports) - 1)
}

// fn adds a function (body without the final end) and returns its index.
func (b *modBuilder) fn(params, results, locals, body []byte) uint32 {
	b.funcs = append(b.funcs, struct {
		typ          uint32
		locals, body []byte
	}{b.typeIdx(params, results), locals, body})
	return uint32(len(b.imports) + len(b.funcs) - 1)
}

func (b *modBuilder) export(name string, kind byte, idx uint32) {
	b.exports = append(b.exports, struct {
		name string
		kind byte
		idx  uint32
	}{name, kind, idx})
}

func vec(items ...[]byte) []byte {
	out := appendU32(nil, uint32(len(items)))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}

func (b *modBuilder) build() []byte {
	out := []byte("\x00asm\x01\x00\x00\x00")
	sec := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	var items [][]byte
	for _, t := range b.types {
		e := []byte{0x60}
		e = append(appendU32(e, uint32(len(t[0]))), t[0]...)
		e = append(appendU32(e, uint32(len(t[1]))), t[1]...)
		items = append(items, e)
	}
	sec(secType, vec(items...))
	if len(b.imports) > 0 {
		items = nil
		for _, im := range b.imports {
			e := appendName(appendName(nil, im.mod), im.name)
			items = append(items, appendU32(append(e, externFunc), im.typ))
		}
		sec(secImport, vec(items...))
	}
	items = nil
	for _, f := range b.funcs {
		items = append(items, appendU32(nil, f.typ))
	}
	sec(secFunction, vec(items...))
	if !b.noMemory {
		if b.hasMax {
			sec(secMemory, vec(appendU32(appendU32([]byte{1}, b.memMin), b.memMax)))
		} else {
			sec(secMemory, vec(appendU32([]byte{0}, b.memMin)))
		}
	}
	if len(b.globals) > 0 {
		sec(secGlobal, vec(b.globals...))
	}
	items = nil
	for _, e := range b.exports {
		items = append(items, appendU32(append(appendName(nil, e.name), e.kind), e.idx))
	}
	sec(secExport, vec(items...))
	for _, s := range b.extra {
		sec(s.id, s.body)
	}
	items = nil
	for _, f := range b.funcs {
		var body []byte
		if len(f.locals) == 0 {
			body = []byte{0}
		} else {
			body = appendU32(nil, uint32(len(f.locals)))
			for _, l := range f.locals {
				body = append(body, 1, l)
			}
		}
		body = append(append(body, f.body...), 0x0b)
		items = append(items, append(appendU32(nil, uint32(len(body))), body...))
	}
	sec(secCode, vec(items...))
	if len(b.data) > 0 {
		items = nil
		for _, d := range b.data {
			e := appendS64([]byte{0, 0x41}, int64(d.off))
			e = append(e, 0x0b)
			e = append(appendU32(e, uint32(len(d.b))), d.b...)
			items = append(items, e)
		}
		sec(secData, vec(items...))
	}
	return out
}

// Instruction helpers.
func i32c(v int32) []byte   { return appendS64([]byte{0x41}, int64(v)) }
func i64c(v int64) []byte   { return appendS64([]byte{0x42}, v) }
func callf(i uint32) []byte { return appendU32([]byte{0x10}, i) }
func lget(i uint32) []byte  { return appendU32([]byte{0x20}, i) }
func lset(i uint32) []byte  { return appendU32([]byte{0x21}, i) }
func cat(parts ...[]byte) []byte {
	return bytes.Join(parts, nil)
}

// Value-type lists for signatures.
func tI32() []byte { return []byte{valI32} }

// abiModule builds a module implementing the Veil ABI whose veil_call
// runs call (given the builder, so it can add imports first via setup).
// setup runs before the ABI functions are added and may add imports.
func abiModule(setup func(b *modBuilder), call func(b *modBuilder) []byte) []byte {
	b := &modBuilder{memMin: 1}
	if setup != nil {
		setup(b)
	}
	b.export("_initialize", externFunc, b.fn(nil, nil, nil, nil))
	b.export("veil_abi_version", externFunc, b.fn(nil, tI32(), nil, i32c(1)))
	body := call(b)
	b.export("veil_call", externFunc, b.fn([]byte{valI32, valI32}, tI32(), []byte{valI32, valI32, valI64}, body))
	b.export("memory", externMemory, 0)
	return b.build()
}

// buildGo builds a Go contract (a package directory) to wasm in dir, or
// skips the test if the toolchain cannot target wasip1.
func buildGo(t testing.TB, pkgDir, dir string) []byte {
	t.Helper()
	out := filepath.Join(dir, filepath.Base(pkgDir)+".wasm")
	cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", out, ".")
	cmd.Dir = pkgDir
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		s := string(msg)
		if strings.Contains(s, "unsupported GOOS/GOARCH") || strings.Contains(s, "wasip1") && strings.Contains(s, "not supported") {
			t.Skipf("toolchain cannot build wasip1/wasm c-shared modules: %s", s)
		}
		t.Fatalf("go build %s: %v\n%s", pkgDir, err, s)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testCacheDir is a compilation cache shared by test runs: compiling a Go
// contract takes seconds on the shared CI cores.
func testCacheDir(t testing.TB) string {
	d := filepath.Join(os.TempDir(), "veil-runtime-test-wazero-cache")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func newTestRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	if cfg.CacheDir == "" {
		cfg.CacheDir = testCacheDir(t)
	}
	rt, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close(context.Background()) })
	return rt
}
