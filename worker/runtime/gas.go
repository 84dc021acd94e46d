package runtime

// Gas schedule, version 1. These numbers are consensus-critical: every
// worker must charge exactly the same amount for the same execution, so
// they are constants compiled into the worker, not configuration. Changing
// any of them is a protocol upgrade and must bump GasScheduleVersion.
//
// One unit of gas is roughly one simple WebAssembly instruction, which the
// wazero compiler turns into one or two machine instructions (a fraction
// of a nanosecond). Work whose cost grows with a runtime operand (bulk
// memory operations, memory growth) or that leaves the sandbox (host
// calls) is charged in proportion, so gas stays a bound on wall time.
const (
	// GasScheduleVersion identifies this schedule.
	GasScheduleVersion = 1

	// gasInstr is the cost of an ordinary instruction.
	gasInstr = 1
	// gasCall is the cost of a direct call (frame setup and the
	// instrumented depth check around it).
	gasCall = 5
	// gasCallIndirect adds the table lookup and signature check.
	gasCallIndirect = 10
	// gasDivRem covers integer division and remainder.
	gasDivRem = 4
	// gasMemoryGrowBase is the fixed cost of memory.grow; each page
	// requested adds gasMemoryGrowPage (a 64 KiB page is zeroed by the
	// host and later reset between calls).
	gasMemoryGrowBase = 100
	gasMemoryGrowPage = 16384
	// gasBulkShift: memory.copy and memory.fill of n bytes cost
	// 1 + n>>gasBulkShift, i.e. one unit per 16 bytes.
	gasBulkShift = 4

	// Host calls: a base cost per call plus a cost per byte crossing the
	// sandbox boundary (copied in or out of linear memory).
	gasHostBase     = 100
	gasHostByte     = 1
	gasStorageRead  = 1000
	gasStorageWrite = 2000
	gasStorageByte  = 2 // per key+value byte written
	gasEmit         = 1000
	gasEmitByte     = 2
	gasRandomBase   = 200
	gasPollOneoff   = 500
	gasWASIDefault  = 100
	// gasRebuildBytes: a call that grows its memory leaves an instance
	// that cannot be reset and must be rebuilt from the snapshot (about
	// 0.4-0.6 ms for a Go contract on the development VM); it is charged
	// one unit per gasRebuildBytes bytes of snapshot, about 1.7M gas for
	// a 3.4 MB Go contract, near the rebuild's cost at the measured
	// 0.15-0.3 ns per unit.
	gasRebuildBytes   = 2
	gasRandomByteCost = 1
)

// instrWeight returns the static cost of one instruction (op, and sub for
// 0xfc-prefixed ones). Structural markers (else, end) are free: they
// compile to nothing or to a jump already paid for by the branch.
func instrWeight(op byte, sub uint32) uint64 {
	switch op {
	case 0x05, 0x0b: // else, end
		return 0
	case 0x10: // call
		return gasCall
	case 0x11: // call_indirect
		return gasCallIndirect
	case 0x40: // memory.grow (plus the per-page charge at run time)
		return gasMemoryGrowBase
	case 0x6d, 0x6e, 0x6f, 0x70, // i32.div_s, div_u, rem_s, rem_u
		0x7f, 0x80, 0x81, 0x82: // i64.div_s, div_u, rem_s, rem_u
		return gasDivRem
	}
	return gasInstr
}
