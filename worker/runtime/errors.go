package runtime

import (
	"errors"
	"fmt"
)

// Errors returned by Load and Call. Callers classify outcomes with
// errors.Is; TrapError and RevertError carry the contract's message.
//
// Every error a contract can cause is deterministic: the same module,
// environment, storage and gas produce the same error (and the same
// GasUsed) on every worker. ErrStorage and ErrClosed are the exceptions:
// they report a failure of this host, not of the contract, and the caller
// must not record such a call's outcome as the contract's result.
var (
	// ErrInvalidModule: the binary is malformed, uses a feature the
	// metering cannot account for, or does not implement the Veil ABI.
	ErrInvalidModule = errors.New("runtime: invalid contract module")
	// ErrUnsupported is the ErrInvalidModule case of a well-formed
	// module that uses an unsupported feature (SIMD, threads, tail
	// calls, table mutation, imported globals, a start function...).
	ErrUnsupported = fmt.Errorf("%w: unsupported feature", ErrInvalidModule)
	// ErrOutOfGas: the call exhausted its gas; GasUsed equals the limit.
	ErrOutOfGas = errors.New("runtime: out of gas")
	// ErrMemoryLimit: the contract tried to grow its linear memory past
	// the configured cap (or its declared maximum).
	ErrMemoryLimit = errors.New("runtime: memory limit exceeded")
	// ErrCallDepth: the contract nested calls deeper than the limit.
	ErrCallDepth = errors.New("runtime: call depth limit exceeded")
	// ErrOutputTooLarge: return data or emitted events exceed the caps.
	ErrOutputTooLarge = errors.New("runtime: output too large")
	// ErrReadOnly: a query (read-only call) tried to write state.
	ErrReadOnly = errors.New("runtime: state write in a read-only call")
	// ErrTrap: the contract trapped (WebAssembly trap, Go panic or
	// runtime fatal error, proc_exit, or a host-ABI violation such as
	// an out-of-bounds pointer). See TrapError.
	ErrTrap = errors.New("runtime: contract trapped")
	// ErrRevert: the contract rejected the call. See RevertError.
	ErrRevert = errors.New("runtime: contract reverted")
	// ErrStorage: the storage backend failed (a host fault).
	ErrStorage = errors.New("runtime: storage failure")
	// ErrClosed: the runtime was closed.
	ErrClosed = errors.New("runtime: closed")

	// errMalformed marks structurally broken binaries.
	errMalformed = fmt.Errorf("%w: malformed binary", ErrInvalidModule)
)

// TrapError is a contract trap with a human-readable reason. It matches
// ErrTrap under errors.Is.
type TrapError struct {
	// Msg is the first line of the trap reason (for Go contracts, the
	// panic or fatal-error line from the contract's stderr when present).
	Msg string
}

func (e *TrapError) Error() string        { return "runtime: contract trapped: " + e.Msg }
func (e *TrapError) Is(target error) bool { return target == ErrTrap }

// RevertError is a deliberate rejection by the contract. It matches
// ErrRevert under errors.Is.
type RevertError struct {
	// Msg is the contract's revert message (bounded by MaxRevertBytes).
	Msg string
}

func (e *RevertError) Error() string        { return "runtime: contract reverted: " + e.Msg }
func (e *RevertError) Is(target error) bool { return target == ErrRevert }
