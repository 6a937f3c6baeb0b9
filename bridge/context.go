//go:build linux && (amd64 || arm64)

package bridge

import (
	"unsafe"

	"github.com/bpfjit/bpfjit/execmem"
)

// Context is the per-run state shared by Go and native code. One Context
// belongs to each pooled native stack; the context register (r12 / x23)
// points at it for the whole run. Native code writes only its integer
// fields (it cannot execute GC write barriers). The layout is pinned by
// TestContextLayout; the Ctx* constants are the offsets JIT code uses.
type Context struct {
	goSP      uintptr   // goroutine SP at the entry thunk ([goSP] returns into enter) or in runOwn
	goFP      uintptr   // goroutine frame pointer (rbp / x29) of enter or runOwn's caller
	goLR      uintptr   // arm64: return address into enter or runOwn
	nativeSP  uintptr   // native SP parked while a helper runs
	stackTop  uintptr   // top of this context's native stack
	gateEntry uintptr   // CtxGateEntry: native gate-entry thunk
	gateFn    uintptr   // Go-assembly gate the thunk jumps to
	resumeFn  uintptr   // native resume thunk the gate jumps back to
	helperTab uintptr   // &Helpers.fvs[0]
	helperN   uint64    // len(Helpers.fvs)
	helperID  uint64    // id of the helper being called (for errors)
	args      [5]uint64 // arguments of pool and helper runs (enter loads them), and of exit/re-enter calls
	ownerM    uintptr   // own machines: address of the M whose machine this is (see ownTab)
	_         uintptr   // unused; keeps the exported offsets stable
	status    uint64    // why a run ended early: statusRetired, statusUnknownHelper
	exitCode  uint64    // exit/re-enter baseline: 1 = helper call pending
	ret       uint64    // exit/re-enter baseline: helper result / run result
	code      uintptr   // exit/re-enter baseline: entry address
	scratch   [CtxScratchWords]uint64
	// runner is the retirement slot; the entry stubs write its counts. It
	// is embedded so that they reach them without loading a pointer.
	runner execmem.Runner
}

// Offsets in Context used by JIT-generated code.
const (
	// CtxGateEntry holds the address of the gate-entry thunk: helper calls
	// are `call [r12+CtxGateEntry]` / `ldr x16, [x23, #CtxGateEntry]; blr x16`.
	CtxGateEntry = 40
	// CtxScratch is the first of CtxScratchWords u64 words owned by JIT code
	// during a run (undefined on entry).
	CtxScratch      = 176
	CtxScratchWords = 8
	// CtxArgs is where the bridge keeps the five arguments of runs it
	// enters from the pool or with helpers. Runs without helpers do not
	// store them (the arguments arrive in registers), so JIT code must not
	// read them from here.
	CtxArgs = 88
)

// Early ends of a run, recorded in Context.status (the run returns 0).
const (
	statusRetired       = 1 // enter found the image retired
	statusUnknownHelper = 2 // the gate-entry thunk found no helper for the id
)

// Args are the five u64 arguments of a run (BPF R1..R5).
type Args [5]uint64

// Helper is a Go function callable from native code: five u64 arguments,
// one u64 result.
type Helper func(r1, r2, r3, r4, r5 uint64) uint64

// MaxHelpers bounds the size of a helper table.
const MaxHelpers = 1 << 16

// Helpers is an immutable table of helpers indexed by helper id (normally
// the BPF helper number). Missing ids are allowed; calling one makes Run
// return *UnknownHelperError. A table may be shared by any number of
// concurrent runs.
type Helpers struct {
	fns []Helper
	fvs []uintptr // funcval pointers, read by the gate-entry thunk
}

// NewHelpers builds a table where fns[i] is helper i; nil entries are
// missing ids.
func NewHelpers(fns []Helper) (*Helpers, error) {
	if len(fns) > MaxHelpers {
		return nil, &TableError{Len: len(fns)}
	}
	h := &Helpers{fns: append([]Helper(nil), fns...), fvs: make([]uintptr, len(fns))}
	for i := range h.fns {
		if h.fns[i] == nil {
			continue // 0: the gate-entry thunk ends the run
		}
		// A func value points at a funcval whose first word is the code
		// address; h.fns keeps the closures alive and the GC does not move
		// heap objects.
		h.fvs[i] = *(*uintptr)(unsafe.Pointer(&h.fns[i]))
	}
	return h, nil
}

// Len returns the number of ids in the table (0 for a nil table).
func (h *Helpers) Len() int {
	if h == nil {
		return 0
	}
	return len(h.fvs)
}
