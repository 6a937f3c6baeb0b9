package emit

import "github.com/bpfjit/bpfjit/isa"

// MaxTailCalls is how many tail calls one run may make (the kernel's MAX_TAIL_CALL_CNT,
// checked as `count >= 33` since Linux 5.17); the next one falls through.
const MaxTailCalls = 33

// TailCallBackend is implemented by backends that lower bpf_tail_call (helper 12) inline.
//
// The contract, shared by every backend: the main function's prologue zeroes a run-wide
// counter before Func.TailEntry; the call site checks index < max entries (the program
// array's maps.Header), count < MaxTailCalls and a non-zero slot entry (in that order,
// falling through with every BPF register unchanged when one fails), then counts the call,
// tears down the current frame as its epilogue would and jumps to the slot's entry — the
// target's TailEntry. The target runs in the frame slot of the function that made the
// call (a BPF-to-BPF callee's caller gets the target's r0), as the kernel does.
type TailCallBackend interface {
	// TailCalls reports whether this backend instance can lower tail calls (it may need
	// configuration, such as where the counter lives).
	TailCalls() bool
}

// checkTailCalls refuses bpf_tail_call for backends that cannot lower it, and for code the
// verifier has not checked: the call site trusts r2 to be a program array's handle.
func checkTailCalls(s *Stream, opts Options, be Backend) *Error {
	if s.tailCall < 0 {
		return nil
	}
	if tb, ok := be.(TailCallBackend); !ok || !tb.TailCalls() {
		return Errorf(int(s.tailCall), ErrTailCall, "bpf_tail_call (helper %d): backend has no tail calls", HelperTailCall)
	}
	if opts.Facts == nil {
		return Errorf(int(s.tailCall), ErrTailCall, "bpf_tail_call (helper %d) needs verified code (Options.Facts): r2 must be a program array", HelperTailCall)
	}
	return nil
}

// HasTailCalls reports whether the program being compiled calls bpf_tail_call (so its
// main function must initialise the tail-call counter).
func (c *Compiler) HasTailCalls() bool { return c.plain.tailCall >= 0 }

// IsTailCall reports whether in is a call of bpf_tail_call.
func IsTailCall(in *isa.Instruction) bool { return in.IsHelperCall() && in.Imm == HelperTailCall }

// Where tail-call code reads a program array's maps.Header (the map handle r2 holds);
// the root package's tests pin them to maps.HeaderBaseOffset and maps.HeaderMaxEntriesOffset.
const (
	HeaderBaseOffset       = 0 // u64: the slot table, one native entry (or 0) per slot
	HeaderMaxEntriesOffset = 8 // u32
)
