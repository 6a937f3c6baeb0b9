// Package emit is the architecture-independent half of the JIT: it turns a program into an
// instruction stream (optionally constant-blinded), splits it into subprograms, checks the
// call graph (no recursion, at most MaxCallFrames frames), walks every instruction through
// an architecture Backend, and links the result (branch size selection, label resolution)
// into an Image.
//
// # Writing a backend
//
// A backend (emit/amd64, emit/arm64) implements Backend:
//
//   - Regs returns its regalloc.Map. Stream slots may name regalloc.AX (register 11), the
//     blinding scratch; map it like any other register. Its value never lives across slots.
//   - Prologue/Epilogue emit a function's entry (patchable nop, frame, Func.Saved
//     registers, Func.StackDepth bytes below R10) and its return sequence. The driver binds
//     Func.Entry before the prologue, Func.Body after it and Func.Exit before the epilogue.
//   - Lower emits stream slot i into c.Buf.Code and returns the slots it consumed (2 for
//     lddw). Control flow never uses the instruction's offset fields: the target of a jump,
//     local call or function-address lddw is the stream index c.S.Target[i], whose label is
//     c.Label(target); a call's callee entry is c.FuncEntry(target). Map lddw leave an
//     8-byte hole registered with c.AddReloc for the loader.
//   - Branches are emitted as room for their short form: c.Buf.AddBranch(kind, arg, label)
//     reserves it at the current position (or PlaceBranch records room the backend appended
//     itself), and Link asks the backend (BranchEncoder) whether the short form reaches,
//     grows the branches that do not reach to their long size, and writes every branch's
//     final bytes. Branches that exist only inside one slot's sequence may use fresh labels
//     from c.Buf.NewLabel the same way, or, when the sequence is short and fixed (amd64's
//     division and cmpxchg loop), be resolved by the backend itself. Fixed-size
//     pc-relative forms (calls, address computations) are branch kinds whose two sizes are
//     equal.
//   - Optionally RangeBackend: LowerRange lowers a whole run of slots per call, recording
//     each slot's start in c.SlotOffsets() itself (the fast path; Lower stays the contract
//     for everything else).
//   - Optionally BudgetBackend, for Options.Budget: charge the budget at backward jumps and
//     calls and emit the exhausted stub at c.BudgetStub.
//
// Errors are *Error values naming the program slot (Stream.Orig maps stream slots back).
package emit
