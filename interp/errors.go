package interp

import (
	"errors"
	"fmt"
)

// Sentinel causes carried by *Error. Compare with errors.Is.
//
// Division by zero is not among them: RFC 9669 defines its result, so it is never an error.
var (
	// ErrOutOfBounds: a load, store or atomic touched bytes outside every region the run
	// was given (context, live stack frames, map values, regions registered by helpers).
	ErrOutOfBounds = errors.New("memory access out of bounds")
	// ErrReadOnly: a store or atomic hit a region registered read-only.
	ErrReadOnly = errors.New("write to read-only memory")
	// ErrBudgetExhausted: the run executed its whole instruction budget.
	ErrBudgetExhausted = errors.New("instruction budget exhausted")
	// ErrCallDepth: a BPF-to-BPF call would open a ninth frame.
	ErrCallDepth = errors.New("call depth limit exceeded")
	// ErrUnknownHelper: the helper id (from call or callx) has no implementation.
	ErrUnknownHelper = errors.New("unknown helper")
	// ErrHelper: a helper returned an error or panicked; the helper's error is wrapped too.
	ErrHelper = errors.New("helper failed")
	// ErrUnsupported: an instruction the interpreter does not implement (legacy packet
	// access LD ABS/IND, kfunc calls, BTF-id loads).
	ErrUnsupported = errors.New("unsupported instruction")
	// ErrFrameWrite: the program writes r10, which is read-only (rejected before running).
	ErrFrameWrite = errors.New("write to read-only frame pointer r10")
	// ErrBadCallback: a helper asked to call something that is not a BPF function of the
	// running program.
	ErrBadCallback = errors.New("invalid callback")
	// ErrUnresolved: an lddw pseudo source (map, map value) could not be resolved.
	ErrUnresolved = errors.New("unresolved ld_imm64 pseudo source")
)

// Error is a failure of one instruction, named by its slot index in the program that was
// running (after a tail call: the tail-called program).
type Error struct {
	Index  int    // slot index of the failing instruction
	Err    error  // one of the Err* sentinels, possibly wrapping a helper's error
	Detail string // what exactly went wrong, for people
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("insn %d: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("insn %d: %v: %s", e.Index, e.Err, e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

func errAt(index int, err error, format string, args ...any) *Error {
	return &Error{Index: index, Err: err, Detail: fmt.Sprintf(format, args...)}
}
