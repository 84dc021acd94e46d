package runtime

import (
	"fmt"
	"strconv"
	"strings"
)

// Instrumentation rewrites a contract binary before it is compiled so that
// metering does not depend on the engine: the same bytecode charges the
// same gas whether wazero compiles it or interprets it, on any CPU.
//
// Three globals are appended to the module (after every original global,
// so no existing index moves) and exported under reserved names:
//
//	__veil_gas   i64  remaining gas; the host sets it before a call
//	__veil_depth i32  current call depth
//	__veil_trap  i32  why the instrumentation trapped (trapCode*)
//
// Gas. Every function body is cut into straight-line segments at each
// point control can enter other than by falling through: function entry,
// a loop header, the start of each arm of an if, the code after the end
// of a block or an if (where forward branches land), and the fallthrough
// of br_if (which follows a conditional exit). At the start of each
// segment the static cost of the whole segment is subtracted from
// __veil_gas. The sign of
// the counter is tested only at function entry and at loop headers:
// every unbounded execution passes one of them infinitely often (a
// loop-free path inside one function is bounded by the code size), so
// testing there suffices to stop it, and halves the overhead of testing
// in every segment. A negative counter then traps with __veil_trap = 1;
// host functions charge the same counter and also refuse to run on a
// negative balance, and a call that returns with a negative balance is
// out of gas too. Operations whose cost depends on an operand
// (memory.grow pages, memory.copy/fill length) are charged that dynamic
// amount and tested immediately.
//
// Call depth. Around every call to a defined function (and every
// call_indirect), __veil_depth is incremented and tested against the
// limit, then decremented after the call returns. Engines have their own,
// differing stack ceilings (wazero's interpreter: 2000 frames; its
// compiler: 400 MB of stack), so the deterministic limit must trigger
// first; Config caps it accordingly.
//
// Memory. A failed memory.grow (beyond the runtime's page cap or the
// module's declared maximum) traps with __veil_trap = 2 instead of
// returning -1, so the outcome is the typed ErrMemoryLimit rather than
// whatever the guest runtime does on allocation failure.
//
// Snapshots. Every mutable global (the guest's and ours) is exported so
// the host can capture and restore the complete instance state (memory
// plus mutable globals) between calls; features that would add more
// mutable state (table mutation, passive segments) are refused.

// Export names added by the instrumentation. The "__veil_" prefix is
// reserved: modules exporting anything under it are rejected.
const (
	reservedPrefix     = "__veil_"
	exportGas          = "__veil_gas"
	exportDepth        = "__veil_depth"
	exportTrap         = "__veil_trap"
	exportGlobalPrefix = "__veil_g"
)

// maxMutableGlobals caps the guest's mutable globals (see checkStructure).
const maxMutableGlobals = 1024

// Values of __veil_trap.
const (
	trapCodeNone     = 0
	trapCodeOutOfGas = 1
	trapCodeMemory   = 2
	trapCodeDepth    = 3
)

// instrumentLimits are the parameters baked into instrumented code.
type instrumentLimits struct {
	memoryPages  uint32 // cap on linear memory (pages of 64 KiB)
	maxCallDepth uint32 // cap on nested calls
	maxLocals    uint32 // cap on params+locals per function
	maxTable     uint32 // cap on table entries (allocated per instance)
}

// instrumentResult is an instrumented binary plus what the host needs to
// drive it.
type instrumentResult struct {
	binary []byte
	mod    *module // the parsed original
	// mutableGlobals lists the export names of every mutable global,
	// original ones first, for snapshot and restore.
	mutableGlobals []string
}

// instrument parses, checks and rewrites bin. It never panics on any
// input; errors wrap ErrInvalidModule.
func instrument(bin []byte, lim instrumentLimits) (*instrumentResult, error) {
	m, err := parseModule(bin)
	if err != nil {
		return nil, err
	}
	if err := m.checkStructure(lim); err != nil {
		return nil, err
	}
	numGlobals := uint32(len(m.globals))
	in := &instrumenter{
		m:      m,
		lim:    lim,
		gGas:   numGlobals,
		gDepth: numGlobals + 1,
		gTrap:  numGlobals + 2,
	}
	code, err := in.rewriteCode()
	if err != nil {
		return nil, err
	}

	// Globals: originals verbatim, then gas (i64), depth and trap (i32),
	// all mutable, initialised to zero.
	gsec := appendU32(nil, numGlobals+3)
	for _, g := range m.globals {
		gsec = append(gsec, g.raw...)
	}
	gsec = append(gsec, valI64, 1, 0x42, 0x00, 0x0b)
	gsec = append(gsec, valI32, 1, 0x41, 0x00, 0x0b)
	gsec = append(gsec, valI32, 1, 0x41, 0x00, 0x0b)

	// Exports: originals verbatim, then every mutable global.
	res := &instrumentResult{mod: m}
	type newExport struct {
		name string
		idx  uint32
	}
	var added []newExport
	for i, g := range m.globals {
		if g.mutable {
			added = append(added, newExport{exportGlobalPrefix + strconv.Itoa(i), uint32(i)})
		}
	}
	added = append(added,
		newExport{exportGas, in.gGas},
		newExport{exportDepth, in.gDepth},
		newExport{exportTrap, in.gTrap})
	esec := appendU32(nil, uint32(len(m.exports)+len(added)))
	for _, e := range m.exports {
		esec = appendName(esec, e.name)
		esec = append(esec, e.kind)
		esec = appendU32(esec, e.index)
	}
	for _, e := range added {
		esec = appendName(esec, e.name)
		esec = append(esec, externGlobal)
		esec = appendU32(esec, e.idx)
		res.mutableGlobals = append(res.mutableGlobals, e.name)
	}

	out := make([]byte, 0, len(bin)+len(bin)/2)
	out = append(out, bin[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	doneGlobal, doneExport := false, false
	flushBefore := func(rank int) {
		if !doneGlobal && rank > sectionRank(secGlobal) {
			emit(secGlobal, gsec)
			doneGlobal = true
		}
		if !doneExport && rank > sectionRank(secExport) {
			emit(secExport, esec)
			doneExport = true
		}
	}
	for _, s := range m.sections {
		if s.id == secCustom {
			// Dropped: nothing needs them, and wazero decodes the name
			// section with allocations sized by untrusted counts.
			continue
		}
		flushBefore(sectionRank(s.id))
		if (s.id == secData || s.id == secDataCount) && m.dataStatic {
			continue // applied by the host at initialisation
		}
		switch s.id {
		case secGlobal:
			emit(secGlobal, gsec)
			doneGlobal = true
		case secExport:
			emit(secExport, esec)
			doneExport = true
		case secCode:
			emit(secCode, code)
		default:
			emit(s.id, s.body)
		}
	}
	flushBefore(100)
	res.binary = out
	return res, nil
}

// checkStructure enforces the module-level rules that do not need the
// function bodies.
func (m *module) checkStructure(lim instrumentLimits) error {
	if m.hasStart {
		// A start function would run during instantiation, before the
		// host has set a gas budget.
		return fmt.Errorf("%w: start section", ErrUnsupported)
	}
	if len(m.memories) != 1 {
		return fmt.Errorf("%w: module must define exactly one memory, has %d", ErrInvalidModule, len(m.memories))
	}
	mem := m.memories[0]
	if mem.min > lim.memoryPages {
		return fmt.Errorf("%w: initial memory of %d pages exceeds the limit of %d", ErrInvalidModule, mem.min, lim.memoryPages)
	}
	if mem.hasMax && mem.max > lim.memoryPages {
		return fmt.Errorf("%w: declared maximum memory of %d pages exceeds the limit of %d", ErrInvalidModule, mem.max, lim.memoryPages)
	}
	if mem.hasMax && mem.max < mem.min {
		return fmt.Errorf("%w: memory maximum below minimum", ErrInvalidModule)
	}
	mutable := 0
	for _, g := range m.globals {
		if g.mutable {
			mutable++
		}
	}
	if mutable > maxMutableGlobals {
		// Every mutable global is restored after every call, a cost no
		// gas pays for; Go contracts have about ten.
		return fmt.Errorf("%w: %d mutable globals, limit %d", ErrInvalidModule, mutable, maxMutableGlobals)
	}
	for i, t := range m.tables {
		if t.min > lim.maxTable {
			return fmt.Errorf("%w: table %d has %d entries, limit %d", ErrInvalidModule, i, t.min, lim.maxTable)
		}
	}
	for _, t := range m.funcs {
		if uint64(t) >= uint64(len(m.types)) {
			return fmt.Errorf("%w: function type index %d out of range", ErrInvalidModule, t)
		}
	}
	for _, imp := range m.imports {
		if uint64(imp.typeIdx) >= uint64(len(m.types)) {
			return fmt.Errorf("%w: import %s.%s type index out of range", ErrInvalidModule, imp.module, imp.name)
		}
	}
	for _, e := range m.exports {
		if strings.HasPrefix(e.name, reservedPrefix) {
			return fmt.Errorf("%w: export name %q uses the reserved prefix %q", ErrInvalidModule, e.name, reservedPrefix)
		}
		if e.kind == externGlobal && uint64(e.index) >= uint64(len(m.globals)) {
			return fmt.Errorf("%w: export %q refers to global %d of %d", ErrInvalidModule, e.name, e.index, len(m.globals))
		}
	}
	if len(m.funcs) > 0 && m.code == nil {
		return fmt.Errorf("%w: functions declared without a code section", ErrInvalidModule)
	}
	return nil
}

// instrumenter rewrites function bodies.
type instrumenter struct {
	m                   *module
	lim                 instrumentLimits
	gGas, gDepth, gTrap uint32

	// reused per function
	ins     []instr
	charges []charge
	ctl     []byte // opcodes of the open blocks (pass 2)
}

// instr is one decoded instruction of a function body.
type instr struct {
	start, end int    // byte range in the body
	op         byte   // opcode
	sub        uint32 // sub-opcode after a 0xfc prefix
	idx        uint32 // function index of a call
}

// charge is the gas charge placed before instruction at.
type charge struct {
	at    int
	cost  uint64
	check bool
}

func (in *instrumenter) rewriteCode() ([]byte, error) {
	m := in.m
	if m.code == nil {
		return nil, nil
	}
	r := &reader{b: m.code}
	n, err := r.u32()
	if err != nil {
		return nil, err
	}
	if n != uint32(len(m.funcs)) {
		return nil, fmt.Errorf("%w: code section has %d bodies for %d functions", ErrInvalidModule, n, len(m.funcs))
	}
	out := make([]byte, 0, len(m.code)+len(m.code)/2)
	out = appendU32(out, n)
	var body []byte
	for i := uint32(0); i < n; i++ {
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		b, err := r.bytes(size)
		if err != nil {
			return nil, err
		}
		ft := m.types[m.funcs[i]]
		body, err = in.rewriteBody(body[:0], b, ft)
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", m.numImportedFuncs+i, err)
		}
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	if !r.eof() {
		return nil, fmt.Errorf("%w: trailing bytes in code section", errMalformed)
	}
	return out, nil
}

// rewriteBody instruments one function body (locals + expression),
// appending the result to dst.
func (in *instrumenter) rewriteBody(dst, b []byte, ft funcType) ([]byte, error) {
	r := &reader{b: b}
	groups, err := r.vecLen()
	if err != nil {
		return nil, err
	}
	groupsStart := r.pos
	numLocals := uint64(len(ft.params))
	for g := uint32(0); g < groups; g++ {
		c, err := r.u32()
		if err != nil {
			return nil, err
		}
		t, err := r.byte()
		if err != nil {
			return nil, err
		}
		if !isValType(t) {
			return nil, fmt.Errorf("%w: local of type 0x%x", ErrUnsupported, t)
		}
		numLocals += uint64(c)
		if numLocals > uint64(in.lim.maxLocals) {
			return nil, fmt.Errorf("%w: more than %d locals", ErrInvalidModule, in.lim.maxLocals)
		}
	}
	localsEnd := r.pos

	// Pass 1: decode and validate every instruction.
	in.ins = in.ins[:0]
	needScratch := false
	depth := 0
	for {
		if r.eof() {
			return nil, fmt.Errorf("%w: function body ends without end", errMalformed)
		}
		it, err := in.decode(r, numLocals)
		if err != nil {
			return nil, err
		}
		in.ins = append(in.ins, it)
		switch it.op {
		case 0x02, 0x03, 0x04:
			depth++
		case 0x05:
			if depth == 0 {
				return nil, fmt.Errorf("%w: else outside if", errMalformed)
			}
		case 0x40:
			needScratch = true
		case 0xfc:
			if it.sub == 10 || it.sub == 11 {
				needScratch = true
			}
		}
		if it.op == 0x0b {
			if depth == 0 {
				break
			}
			depth--
		}
	}
	if !r.eof() {
		return nil, fmt.Errorf("%w: %d bytes after the function's final end", errMalformed, len(b)-r.pos)
	}

	// Pass 2: segment boundaries and their static costs. A segment
	// starts wherever control can arrive other than by falling through
	// from the previous instruction: a loop header (back edges), the
	// two arms of an if, the code after the end of a block or if
	// (forward branches land there), and the fallthrough of br_if. The
	// body of a block and the code after a loop's end are reached only
	// by falling through, so they extend the current segment; on every
	// path that completes it, the charge is the same as if they were
	// separate, with fewer counter updates.
	in.charges = in.charges[:0]
	in.charges = append(in.charges, charge{at: 0, check: true})
	in.ctl = in.ctl[:0]
	last := len(in.ins) - 1
	for i, it := range in.ins {
		cur := &in.charges[len(in.charges)-1]
		cur.cost += instrWeight(it.op, it.sub)
		if i == last {
			break
		}
		switch it.op {
		case 0x02: // block
			in.ctl = append(in.ctl, it.op)
		case 0x03: // loop: its header is a back-edge target, test there
			in.ctl = append(in.ctl, it.op)
			in.charges = append(in.charges, charge{at: i + 1, check: true})
		case 0x04: // if
			in.ctl = append(in.ctl, it.op)
			in.charges = append(in.charges, charge{at: i + 1})
		case 0x05, 0x0d: // else, br_if
			in.charges = append(in.charges, charge{at: i + 1})
		case 0x0b: // end
			opener := in.ctl[len(in.ctl)-1]
			in.ctl = in.ctl[:len(in.ctl)-1]
			if opener != 0x03 {
				in.charges = append(in.charges, charge{at: i + 1})
			}
		}
	}

	// Pass 3: emit.
	scratch := uint32(numLocals)
	if needScratch {
		// One more local group: a single i32 scratch local whose index
		// follows every original local.
		dst = appendU32(dst, groups+1)
		dst = append(dst, b[groupsStart:localsEnd]...)
		dst = append(dst, 1, valI32)
	} else {
		dst = append(dst, b[:localsEnd]...)
	}
	ci := 0
	for i, it := range in.ins {
		if ci < len(in.charges) && in.charges[ci].at == i {
			dst = in.emitCharge(dst, in.charges[ci].cost, in.charges[ci].check)
			ci++
		}
		raw := b[it.start:it.end]
		switch {
		case it.op == 0x10 && it.idx < in.m.numImportedFuncs:
			// Host calls never re-enter the guest: no depth to track.
			dst = append(dst, raw...)
		case it.op == 0x10 || it.op == 0x11:
			dst = in.emitDepthEnter(dst)
			dst = append(dst, raw...)
			dst = in.emitDepthLeave(dst)
		case it.op == 0x40: // memory.grow
			// Charge pages*gasMemoryGrowPage before growing:
			//   local.tee $s; global.get $gas; local.get $s;
			//   i64.extend_i32_u; i64.const P; i64.mul; i64.sub;
			//   global.set $gas; <check>
			dst = append(dst, 0x22)
			dst = appendU32(dst, scratch)
			dst = append(dst, 0x23)
			dst = appendU32(dst, in.gGas)
			dst = append(dst, 0x20)
			dst = appendU32(dst, scratch)
			dst = append(dst, 0xad, 0x42)
			dst = appendS64(dst, gasMemoryGrowPage)
			dst = append(dst, 0x7e, 0x7d, 0x24)
			dst = appendU32(dst, in.gGas)
			dst = in.emitCheck(dst)
			dst = append(dst, raw...)
			// Trap on failure instead of returning -1:
			//   local.tee $s; i32.const -1; i32.eq;
			//   if; i32.const 2; global.set $trap; unreachable; end;
			//   local.get $s
			dst = append(dst, 0x22)
			dst = appendU32(dst, scratch)
			dst = append(dst, 0x41, 0x7f, 0x46)
			dst = in.emitTrapIf(dst, trapCodeMemory)
			dst = append(dst, 0x20)
			dst = appendU32(dst, scratch)
		case it.op == 0xfc && (it.sub == 10 || it.sub == 11): // memory.copy, memory.fill
			// Charge n>>gasBulkShift (n = byte count, top of stack):
			//   local.tee $s; global.get $gas; local.get $s;
			//   i64.extend_i32_u; i64.const shift; i64.shr_u; i64.sub;
			//   global.set $gas; <check>
			dst = append(dst, 0x22)
			dst = appendU32(dst, scratch)
			dst = append(dst, 0x23)
			dst = appendU32(dst, in.gGas)
			dst = append(dst, 0x20)
			dst = appendU32(dst, scratch)
			dst = append(dst, 0xad, 0x42, gasBulkShift, 0x88, 0x7d, 0x24)
			dst = appendU32(dst, in.gGas)
			dst = in.emitCheck(dst)
			dst = append(dst, raw...)
		default:
			dst = append(dst, raw...)
		}
	}
	return dst, nil
}

// emitCharge subtracts cost from the gas counter and, if check, traps
// when the counter went negative.
func (in *instrumenter) emitCharge(dst []byte, cost uint64, check bool) []byte {
	if cost > 0 {
		dst = append(dst, 0x23)
		dst = appendU32(dst, in.gGas)
		dst = append(dst, 0x42)
		dst = appendS64(dst, int64(cost))
		dst = append(dst, 0x7d, 0x24)
		dst = appendU32(dst, in.gGas)
	}
	if check {
		dst = in.emitCheck(dst)
	}
	return dst
}

// emitCheck: if (gas < 0) { trap = 1; unreachable }
func (in *instrumenter) emitCheck(dst []byte) []byte {
	dst = append(dst, 0x23)
	dst = appendU32(dst, in.gGas)
	dst = append(dst, 0x42, 0x00, 0x53)
	return in.emitTrapIf(dst, trapCodeOutOfGas)
}

// emitTrapIf consumes the i32 condition on the stack:
// if (cond) { trap = code; unreachable }
func (in *instrumenter) emitTrapIf(dst []byte, code byte) []byte {
	dst = append(dst, 0x04, 0x40, 0x41, code, 0x24)
	dst = appendU32(dst, in.gTrap)
	return append(dst, 0x00, 0x0b)
}

// emitDepthEnter: depth++; if (depth > max) { trap = 3; unreachable }
func (in *instrumenter) emitDepthEnter(dst []byte) []byte {
	dst = append(dst, 0x23)
	dst = appendU32(dst, in.gDepth)
	dst = append(dst, 0x41, 0x01, 0x6a, 0x24)
	dst = appendU32(dst, in.gDepth)
	dst = append(dst, 0x23)
	dst = appendU32(dst, in.gDepth)
	dst = append(dst, 0x41)
	dst = appendS64(dst, int64(in.lim.maxCallDepth))
	dst = append(dst, 0x4b)
	return in.emitTrapIf(dst, trapCodeDepth)
}

// emitDepthLeave: depth--
func (in *instrumenter) emitDepthLeave(dst []byte) []byte {
	dst = append(dst, 0x23)
	dst = appendU32(dst, in.gDepth)
	dst = append(dst, 0x41, 0x01, 0x6b, 0x24)
	return appendU32(dst, in.gDepth)
}

// decode reads one instruction, validating the few things the metering
// relies on: the opcode is known and allowed, and global/local indices
// are within the original module's ranges (so no original instruction
// can name the globals or the scratch local added here).
func (in *instrumenter) decode(r *reader, numLocals uint64) (instr, error) {
	it := instr{start: r.pos}
	op, err := r.byte()
	if err != nil {
		return it, err
	}
	it.op = op
	switch {
	case op == 0x00 || op == 0x01 || op == 0x05 || op == 0x0b || op == 0x0f ||
		op == 0x1a || op == 0x1b || op == 0xd1:
		// unreachable, nop, else, end, return, drop, select, ref.is_null
	case op >= 0x02 && op <= 0x04: // block, loop, if
		err = readBlockType(r)
	case op == 0x0c || op == 0x0d: // br, br_if
		_, err = r.u32()
	case op == 0x0e: // br_table
		var n uint32
		if n, err = r.vecLen(); err == nil {
			for i := uint32(0); i <= n && err == nil; i++ {
				_, err = r.u32()
			}
		}
	case op == 0x10: // call
		it.idx, err = r.u32()
	case op == 0x11: // call_indirect
		if _, err = r.u32(); err == nil {
			_, err = r.u32()
		}
	case op == 0x1c: // select t*
		var n uint32
		if n, err = r.u32(); err == nil {
			var ts []byte
			if ts, err = r.bytes(n); err == nil {
				for _, t := range ts {
					if !isValType(t) {
						return it, fmt.Errorf("%w: select of type 0x%x", ErrUnsupported, t)
					}
				}
			}
		}
	case op >= 0x20 && op <= 0x22: // local.get/set/tee
		var idx uint32
		if idx, err = r.u32(); err == nil && uint64(idx) >= numLocals {
			return it, fmt.Errorf("%w: local %d of %d", ErrInvalidModule, idx, numLocals)
		}
	case op == 0x23 || op == 0x24: // global.get/set
		var idx uint32
		if idx, err = r.u32(); err == nil && uint64(idx) >= uint64(len(in.m.globals)) {
			return it, fmt.Errorf("%w: global %d of %d", ErrInvalidModule, idx, len(in.m.globals))
		}
	case op == 0x25: // table.get (reads only)
		_, err = r.u32()
	case op >= 0x28 && op <= 0x3e: // loads and stores: memarg
		var align uint32
		if align, err = r.u32(); err == nil {
			if align >= 64 {
				return it, fmt.Errorf("%w: multi-memory access", ErrUnsupported)
			}
			_, err = r.u32()
		}
	case op == 0x3f || op == 0x40: // memory.size, memory.grow
		var mi uint32
		if mi, err = r.u32(); err == nil && mi != 0 {
			return it, fmt.Errorf("%w: memory index %d", ErrUnsupported, mi)
		}
	case op == 0x41:
		_, err = r.sleb(32)
	case op == 0x42:
		_, err = r.sleb(64)
	case op == 0x43:
		_, err = r.bytes(4)
	case op == 0x44:
		_, err = r.bytes(8)
	case op >= 0x45 && op <= 0xc4: // numeric, incl. sign extension
	case op == 0xd0: // ref.null t
		var t byte
		if t, err = r.byte(); err == nil && t != valFuncref && t != valExternref {
			return it, fmt.Errorf("%w: ref.null 0x%x", ErrUnsupported, t)
		}
	case op == 0xd2: // ref.func
		_, err = r.u32()
	case op == 0xfc:
		if it.sub, err = r.u32(); err != nil {
			break
		}
		switch it.sub {
		case 0, 1, 2, 3, 4, 5, 6, 7: // saturating truncation
		case 10: // memory.copy
			var a, b byte
			if a, err = r.byte(); err == nil {
				if b, err = r.byte(); err == nil && (a != 0 || b != 0) {
					return it, fmt.Errorf("%w: memory.copy between memories", ErrUnsupported)
				}
			}
		case 11: // memory.fill
			var a byte
			if a, err = r.byte(); err == nil && a != 0 {
				return it, fmt.Errorf("%w: memory.fill on memory %d", ErrUnsupported, a)
			}
		case 16: // table.size
			_, err = r.u32()
		default:
			// memory.init/data.drop (passive segments are state the
			// snapshot would miss), table.init/copy/grow/fill,
			// elem.drop (table mutation, likewise).
			return it, fmt.Errorf("%w: instruction 0xfc %d", ErrUnsupported, it.sub)
		}
	default:
		// 0x06-0x0a, 0x18, 0x19, 0x1f exceptions; 0x12/0x13 tail calls;
		// 0x26 table.set; 0xfb GC; 0xfd SIMD; 0xfe threads; and
		// anything unassigned.
		return it, fmt.Errorf("%w: opcode 0x%02x", ErrUnsupported, op)
	}
	if err != nil {
		return it, err
	}
	it.end = r.pos
	return it, nil
}

// readBlockType skips a block type: 0x40 (empty), a value type, or a
// signed 33-bit type index.
func readBlockType(r *reader) error {
	if r.eof() {
		return fmt.Errorf("%w: truncated block type", errMalformed)
	}
	c := r.b[r.pos]
	if c == 0x40 {
		r.pos++
		return nil
	}
	if c&0xc0 == 0x40 { // single-byte negative: a value type
		if !isValType(c) {
			return fmt.Errorf("%w: block type 0x%x", ErrUnsupported, c)
		}
		r.pos++
		return nil
	}
	v, err := r.sleb(33)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("%w: negative block type index", errMalformed)
	}
	return nil
}
