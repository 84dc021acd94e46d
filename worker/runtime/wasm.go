package runtime

import (
	"fmt"
	"math"
)

// This file is a minimal WebAssembly binary-format reader: exactly the
// sections and instruction immediates the instrumentation must understand,
// nothing more. A general-purpose parser would have to be trusted with
// every feature it decodes; this one rejects whatever it does not know, so
// an instruction it cannot meter can never reach the compiler. The only
// maintained Go candidate on the module proxy (tetratelabs/wabin) stopped
// in 2023, hence a small in-tree reader tested and fuzzed against wazero's
// own validator.

// Section ids (WebAssembly core spec 2.0, §5.5.2, plus the exception
// handling proposal's tag section so it can be recognised and refused).
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
	secTag       = 13
)

// sectionRank orders non-custom sections as the binary format requires
// (the data-count section sits between element and code; tag between
// memory and global). Zero means unknown.
func sectionRank(id byte) int {
	switch id {
	case secType:
		return 1
	case secImport:
		return 2
	case secFunction:
		return 3
	case secTable:
		return 4
	case secMemory:
		return 5
	case secTag:
		return 6
	case secGlobal:
		return 7
	case secExport:
		return 8
	case secStart:
		return 9
	case secElement:
		return 10
	case secDataCount:
		return 11
	case secCode:
		return 12
	case secData:
		return 13
	}
	return 0
}

// Value types.
const (
	valI32       = 0x7f
	valI64       = 0x7e
	valF32       = 0x7d
	valF64       = 0x7c
	valV128      = 0x7b
	valFuncref   = 0x70
	valExternref = 0x6f
)

// External kinds in import and export descriptors.
const (
	externFunc   = 0x00
	externTable  = 0x01
	externMemory = 0x02
	externGlobal = 0x03
	externTag    = 0x04
)

// reader is a bounds-checked cursor over a byte slice. Every method
// returns errMalformed instead of panicking on short input.
type reader struct {
	b   []byte
	pos int
}

func (r *reader) eof() bool { return r.pos >= len(r.b) }

func (r *reader) byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, fmt.Errorf("%w: unexpected end at offset %d", errMalformed, r.pos)
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *reader) bytes(n uint32) ([]byte, error) {
	if uint64(n) > uint64(len(r.b)-r.pos) {
		return nil, fmt.Errorf("%w: %d bytes wanted at offset %d, %d left", errMalformed, n, r.pos, len(r.b)-r.pos)
	}
	s := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return s, nil
}

// u32 decodes an unsigned LEB128 value of at most 32 bits (at most 5
// bytes, unused high bits of the last byte zero), as the spec requires.
func (r *reader) u32() (uint32, error) {
	var v uint32
	for i := 0; i < 5; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		if i == 4 && c&0xf0 != 0 {
			return 0, fmt.Errorf("%w: u32 LEB128 overflow at offset %d", errMalformed, r.pos-1)
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: u32 LEB128 too long at offset %d", errMalformed, r.pos)
}

// sleb decodes a signed LEB128 value of at most bits bits. The
// instrumentation rarely needs the value of a constant, only where it
// ends, but decoding fully keeps the reader as strict as the spec about
// overlong and overflowing forms.
func (r *reader) sleb(bits int) (int64, error) {
	var v int64
	var shift int
	maxBytes := (bits + 6) / 7
	for i := 0; i < maxBytes; i++ {
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		payload := c & 0x7f
		if i == maxBytes-1 {
			if c&0x80 != 0 {
				return 0, fmt.Errorf("%w: signed LEB128 too long at offset %d", errMalformed, r.pos-1)
			}
			// The bits of the final byte beyond the value's width must
			// all equal its sign bit.
			used := bits - 7*i
			if used < 7 {
				sign := (payload >> (used - 1)) & 1
				upper := payload >> used
				if (sign == 0 && upper != 0) || (sign == 1 && upper != 0x7f>>used) {
					return 0, fmt.Errorf("%w: signed LEB128 overflow at offset %d", errMalformed, r.pos-1)
				}
			}
		}
		v |= int64(payload) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && payload&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: signed LEB128 too long at offset %d", errMalformed, r.pos)
}

// vecLen reads a vector length and refuses one above the bytes left
// (every entry takes at least one byte) before anything is allocated for
// it, so a tiny malicious header cannot request a huge allocation.
func (r *reader) vecLen() (uint32, error) {
	n, err := r.u32()
	if err != nil {
		return 0, err
	}
	if int(n) > len(r.b)-r.pos {
		return 0, fmt.Errorf("%w: vector of %d entries in %d bytes", errMalformed, n, len(r.b)-r.pos)
	}
	return n, nil
}

func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(n)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// appendU32 appends v as unsigned LEB128.
func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// appendS64 appends v as signed LEB128.
func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}

// section is one section of the input binary, kept as raw bytes so the
// sections the instrumentation does not touch are copied through verbatim.
type section struct {
	id   byte
	body []byte
}

// funcType is a function signature from the type section.
type funcType struct {
	params, results []byte
}

// importEntry is one import, with the type index for function imports.
type importEntry struct {
	module, name string
	kind         byte
	typeIdx      uint32
}

// exportEntry is one export.
type exportEntry struct {
	name  string
	kind  byte
	index uint32
}

// globalEntry is one defined global; raw is its complete encoding
// (type, mutability, init expression) for verbatim re-emission.
type globalEntry struct {
	valType byte
	mutable bool
	raw     []byte
}

// limits is a table or memory size range.
type limits struct {
	min    uint32
	max    uint32
	hasMax bool
}

// module is the parsed subset of a binary module.
type module struct {
	sections []section
	types    []funcType
	imports  []importEntry
	funcs    []uint32 // type index of each defined function
	memories []limits
	tables   []limits
	globals  []globalEntry
	exports  []exportEntry
	hasStart bool
	code     []byte // raw body of the code section (nil if absent)

	data       []dataSegment // active segments at constant offsets
	dataStatic bool          // every segment is in data (see parseData)

	numImportedFuncs uint32
}

// parseModule splits a binary into sections and decodes the ones the
// instrumentation needs. It checks structure only; semantic validation is
// wazero's job after instrumentation.
func parseModule(bin []byte) (*module, error) {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" {
		return nil, fmt.Errorf("%w: missing \\0asm magic", errMalformed)
	}
	if bin[4] != 1 || bin[5] != 0 || bin[6] != 0 || bin[7] != 0 {
		return nil, fmt.Errorf("%w: unsupported binary version", errMalformed)
	}
	m := &module{}
	r := &reader{b: bin, pos: 8}
	lastRank := 0
	for !r.eof() {
		id, err := r.byte()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		body, err := r.bytes(size)
		if err != nil {
			return nil, err
		}
		if id != secCustom {
			rank := sectionRank(id)
			if rank == 0 {
				return nil, fmt.Errorf("%w: unknown section id %d", errMalformed, id)
			}
			if rank <= lastRank {
				return nil, fmt.Errorf("%w: section %d out of order or repeated", errMalformed, id)
			}
			lastRank = rank
		}
		m.sections = append(m.sections, section{id: id, body: body})
		sr := &reader{b: body}
		switch id {
		case secCustom:
			if _, err := sr.name(); err != nil {
				return nil, err
			}
			continue // custom content is opaque
		case secType:
			err = m.parseTypes(sr)
		case secImport:
			err = m.parseImports(sr)
		case secFunction:
			err = m.parseFunctions(sr)
		case secMemory:
			err = m.parseMemories(sr)
		case secGlobal:
			err = m.parseGlobals(sr)
		case secExport:
			err = m.parseExports(sr)
		case secStart:
			m.hasStart = true
			_, err = sr.u32()
		case secCode:
			m.code = body
			sr.pos = len(body) // parsed function by function during instrumentation
		case secTable:
			err = m.parseTables(sr)
		case secElement:
			err = parseElements(sr)
		case secData:
			err = m.parseData(sr)
		case secDataCount:
			_, err = sr.u32()
		case secTag:
			err = fmt.Errorf("%w: exception tags", ErrUnsupported)
		}
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
		if !sr.eof() {
			return nil, fmt.Errorf("%w: section %d has %d trailing bytes", errMalformed, id, len(body)-sr.pos)
		}
	}
	return m, nil
}

func (m *module) parseTypes(r *reader) error {
	n, err := r.vecLen()
	if err != nil {
		return err
	}
	m.types = make([]funcType, 0, n)
	for i := uint32(0); i < n; i++ {
		form, err := r.byte()
		if err != nil {
			return err
		}
		if form != 0x60 {
			return fmt.Errorf("%w: type %d has form 0x%x (only plain function types are supported)", ErrUnsupported, i, form)
		}
		var ft funcType
		for j := 0; j < 2; j++ {
			k, err := r.u32()
			if err != nil {
				return err
			}
			vt, err := r.bytes(k)
			if err != nil {
				return err
			}
			for _, t := range vt {
				if !isValType(t) {
					return fmt.Errorf("%w: type %d uses value type 0x%x", ErrUnsupported, i, t)
				}
			}
			if j == 0 {
				ft.params = vt
			} else {
				ft.results = vt
			}
		}
		m.types = append(m.types, ft)
	}
	return nil
}

func isValType(t byte) bool {
	switch t {
	case valI32, valI64, valF32, valF64, valFuncref, valExternref:
		return true
	}
	return false // v128 is refused: SIMD is not metered
}

func readLimits(r *reader) (limits, error) {
	flags, err := r.byte()
	if err != nil {
		return limits{}, err
	}
	if flags > 1 {
		return limits{}, fmt.Errorf("%w: limits flags 0x%x (shared or 64-bit memories are not supported)", ErrUnsupported, flags)
	}
	var l limits
	if l.min, err = r.u32(); err != nil {
		return limits{}, err
	}
	if flags == 1 {
		if l.max, err = r.u32(); err != nil {
			return limits{}, err
		}
		l.hasMax = true
	}
	return l, nil
}

func (m *module) parseImports(r *reader) error {
	n, err := r.vecLen()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		var e importEntry
		if e.module, err = r.name(); err != nil {
			return err
		}
		if e.name, err = r.name(); err != nil {
			return err
		}
		if e.kind, err = r.byte(); err != nil {
			return err
		}
		switch e.kind {
		case externFunc:
			if e.typeIdx, err = r.u32(); err != nil {
				return err
			}
			m.numImportedFuncs++
		default:
			// Imported tables, memories and globals would let state
			// live outside the instance (and an imported global could
			// be referenced by constant expressions); contracts get
			// their whole state from storage.
			return fmt.Errorf("%w: import %s.%s is not a function", ErrUnsupported, e.module, e.name)
		}
		m.imports = append(m.imports, e)
	}
	return nil
}

func (m *module) parseFunctions(r *reader) error {
	n, err := r.vecLen()
	if err != nil {
		return err
	}
	m.funcs = make([]uint32, n)
	for i := range m.funcs {
		if m.funcs[i], err = r.u32(); err != nil {
			return err
		}
	}
	return nil
}

func (m *module) parseMemories(r *reader) error {
	n, err := r.vecLen()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		l, err := readLimits(r)
		if err != nil {
			return err
		}
		m.memories = append(m.memories, l)
	}
	return nil
}

// The table, element and data sections are copied through unchanged,
// but they are still decoded here, with every vector length checked
// against the bytes left: wazero's decoder sizes allocations by those
// lengths before checking them, so a few bytes claiming 2^32 entries
// would otherwise exhaust the host's memory at Load.

func (m *module) parseTables(r *reader) error {
	n, err := r.vecLen()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		t, err := r.byte()
		if err != nil {
			return err
		}
		if t != valFuncref && t != valExternref {
			return fmt.Errorf("%w: table of type 0x%x", ErrUnsupported, t)
		}
		l, err := readLimits(r)
		if err != nil {
			return err
		}
		m.tables = append(m.tables, l)
	}
	return nil
}

func parseElements(r *reader) error {
	n, err := r.vecLen()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		flags, err := r.u32()
		if err != nil {
			return err
		}
		if flags > 7 {
			return fmt.Errorf("%w: element segment flags %d", errMalformed, flags)
		}
		if flags&2 != 0 && flags&1 == 0 { // explicit table index
			if _, err := r.u32(); err != nil {
				return err
			}
		}
		if flags&1 == 0 { // active: offset expression
			if err := skipConstExpr(r); err != nil {
				return err
			}
		}
		if flags&3 != 0 { // element kind or reference type byte
			if _, err := r.byte(); err != nil {
				return err
			}
		}
		k, err := r.vecLen()
		if err != nil {
			return err
		}
		for j := uint32(0); j < k; j++ {
			if flags&4 != 0 {
				err = skipConstExpr(r)
			} else {
				_, err = r.u32()
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// dataSegment is an active data segment at a constant offset.
type dataSegment struct {
	offset uint32
	init   []byte
}

// parseData decodes the data section. When every segment is active at an
// i32.const offset (what Go and most toolchains emit) it records them in
// m.data and sets m.dataStatic: the instrumented module then omits them
// and the host writes them itself, once, into the instance it
// initialises. Pooled instances start from the snapshot, which already
// contains the data, and wazero's per-instantiation application of
// segments was ~90% of the cost of building an instance.
func (m *module) parseData(r *reader) error {
	n, err := r.vecLen()
	if err != nil {
		return err
	}
	static := true
	for i := uint32(0); i < n; i++ {
		flags, err := r.u32()
		if err != nil {
			return err
		}
		exprStart := r.pos
		switch flags {
		case 0:
			err = skipConstExpr(r)
		case 1:
		case 2:
			var mi uint32
			if mi, err = r.u32(); err == nil {
				if mi != 0 {
					return fmt.Errorf("%w: data segment for memory %d", ErrUnsupported, mi)
				}
				exprStart = r.pos
				err = skipConstExpr(r)
			}
		default:
			return fmt.Errorf("%w: data segment flags %d", errMalformed, flags)
		}
		if err != nil {
			return err
		}
		expr := r.b[exprStart:r.pos]
		k, err := r.u32()
		if err != nil {
			return err
		}
		init, err := r.bytes(k)
		if err != nil {
			return err
		}
		if flags == 1 {
			continue // passive: unusable (memory.init is refused)
		}
		er := &reader{b: expr}
		if op, _ := er.byte(); op != 0x41 {
			static = false
			continue
		}
		off, err := er.sleb(32)
		if err != nil {
			return err
		}
		if end, _ := er.byte(); end != 0x0b || !er.eof() {
			static = false
			continue
		}
		m.data = append(m.data, dataSegment{offset: uint32(off), init: init})
	}
	m.dataStatic = static
	return nil
}

func (m *module) parseGlobals(r *reader) error {
	n, err := r.vecLen()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		start := r.pos
		vt, err := r.byte()
		if err != nil {
			return err
		}
		if !isValType(vt) {
			return fmt.Errorf("%w: global %d has value type 0x%x", ErrUnsupported, i, vt)
		}
		mut, err := r.byte()
		if err != nil {
			return err
		}
		if mut > 1 {
			return fmt.Errorf("%w: global %d mutability 0x%x", errMalformed, i, mut)
		}
		if err := skipConstExpr(r); err != nil {
			return fmt.Errorf("global %d: %w", i, err)
		}
		m.globals = append(m.globals, globalEntry{valType: vt, mutable: mut == 1, raw: r.b[start:r.pos]})
	}
	return nil
}

// skipConstExpr advances past a constant expression, up to and including
// its end opcode. Constant expressions cannot contain blocks, so the
// first end at depth zero terminates them.
func skipConstExpr(r *reader) error {
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0b: // end
			return nil
		case 0x41: // i32.const
			_, err = r.sleb(32)
		case 0x42: // i64.const
			_, err = r.sleb(64)
		case 0x43:
			_, err = r.bytes(4)
		case 0x44:
			_, err = r.bytes(8)
		case 0x23, 0xd2: // global.get, ref.func
			_, err = r.u32()
		case 0xd0: // ref.null
			_, err = r.byte()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended-const add/sub/mul
		default:
			return fmt.Errorf("%w: opcode 0x%x in constant expression", ErrUnsupported, op)
		}
		if err != nil {
			return err
		}
	}
}

func (m *module) parseExports(r *reader) error {
	n, err := r.vecLen()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		var e exportEntry
		if e.name, err = r.name(); err != nil {
			return err
		}
		if e.kind, err = r.byte(); err != nil {
			return err
		}
		if e.kind > externGlobal {
			return fmt.Errorf("%w: export %q has kind %d", ErrUnsupported, e.name, e.kind)
		}
		if e.index, err = r.u32(); err != nil {
			return err
		}
		m.exports = append(m.exports, e)
	}
	return nil
}

// funcTypeOf returns the signature of function index idx (imports first).
func (m *module) funcTypeOf(idx uint32) (funcType, bool) {
	var t uint32
	switch {
	case idx < m.numImportedFuncs:
		t = m.imports[idx].typeIdx
	case uint64(idx)-uint64(m.numImportedFuncs) < uint64(len(m.funcs)):
		t = m.funcs[idx-m.numImportedFuncs]
	default:
		return funcType{}, false
	}
	if uint64(t) >= uint64(len(m.types)) {
		return funcType{}, false
	}
	return m.types[t], true
}

// clampU32 converts a length to uint32 for LEB128 emission; callers have
// already bounded lengths far below 4 GiB (module size cap).
func clampU32(n int) uint32 {
	if n < 0 || n > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(n)
}
