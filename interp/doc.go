// Package interp is bpfjit's reference interpreter: RFC 9669 eBPF, ISA v4 included, executed
// exactly, safely and fast enough to run real workloads. It is the oracle every JIT is
// compared with: same program, same inputs, same r0, memory and helper calls.
//
// # Use
//
//	p, err := interp.New(prog, &interp.Options{Maps: loader}) // validates and decodes once
//	res, err := p.Run(&interp.Env{Context: ctx, Helpers: helpers})
//
// A Program is immutable and may run on many goroutines at once; each Run takes pooled
// state (registers, eight 512-byte frames) and allocates nothing.
//
// # Helpers, maps, tail calls
//
// Helpers are Go functions found through the Helpers interface (HelperTable is a map); they
// get r1-r5 and the run's Memory, through which they read and write what the program's
// pointers point to, register new regions (a map value they return a pointer to) and call
// BPF functions back (Memory.CallFunction, for bpf_loop and the like). callx calls the
// helper whose id is in its register. Loads of maps and map values (lddw pseudo sources) are
// resolved once, in New, through the loader's MapResolver. bpf_tail_call (helper 12) goes to
// Env.TailCalls when it is set.
//
// # Safety without a verifier
//
// Programs need not be verified. Every load, store and atomic is checked against the regions
// the run was given — the context, the live stack frames, map values from lddw, and regions
// helpers register — and fails with an *Error naming the slot. Writes to r10 are rejected by
// New. An instruction budget (Env.Budget) turns endless loops into ErrBudgetExhausted, call
// depth is limited to MaxFrames, tail calls to MaxTailCalls. No input makes the interpreter
// panic; helper panics come back as ErrHelper errors.
//
// # Choices where the ISA leaves room
//
//   - Registers hold real addresses of the Go memory behind each region, as under the JIT, so
//     programs that compute on pointers give the same results. The interpreter never
//     dereferences them: accesses go through the region's Go slice.
//   - The stack is zeroed at the start of every run: reading before writing gives 0.
//   - Each call frame's r10 is exactly StackSize below its caller's (the kernel sizes frames
//     by each function's stack depth instead); a callee's frame is unreachable once it
//     returns.
//   - r2 holds the context's length at entry (the conformance protocol's convention).
//   - After a helper call r1-r5 keep their values (the calling convention makes them
//     unreadable to verified programs); after `call local` they hold what the callee left, and a callee starts with the caller's r0 (undefined in the ISA).
//   - A failed bpf_tail_call (no target, or the 34th in a run) changes no register, as in the
//     kernel; a successful one keeps all registers and the stack and never returns.
//   - A misaligned atomic (the kernel verifier rejects it) is performed as a plain
//     read-modify-write; aligned ones use sync/atomic.
//   - LD ABS/IND, kfunc calls and BTF-id loads are not implemented (ErrUnsupported).
package interp
