// Package bridge runs native code (JIT output) from Go without cgo, and lets
// that code call Go helper functions without leaving native execution.
//
// # Running code
//
// The JIT hands finished machine code to package execmem, which returns an
// *execmem.Image; bridge.Run enters that image at its first byte
// (img.Addr(), offset 0) with up to five u64 arguments and returns one u64:
//
//	img, err := arena.Load(code)          // or LoadPatchable
//	r0, err := bridge.Run(img, helpers, &bridge.Args{r1, r2, r3, r4, r5})
//
// Run may be called from any goroutine, concurrently and re-entrantly (a
// helper may call Run again). Each active Run takes a native stack from a
// pool; a run without helpers uses the stack its OS thread (M) owns
// instead: no Go code runs inside it, so the goroutine cannot leave the
// thread before it returns. The image is entered directly (a single
// indirect call to its entry), with no dispatch table in between. Run
// returns ErrRetired instead of running an image that has been retired,
// and *HelperPanicError for a helper that panicked. A goroutine that runs
// native code back to back can hold a stack with AcquireMachine and call
// Machine.Run, which skips the pool.
//
// Helpers are numbered: NewHelpers([]Helper{...}) builds an immutable
// table, index = helper id (normally the BPF helper number, nil = missing).
// One table may serve any number of programs and concurrent runs.
//
// # Native calling contract, amd64
//
// On entry to the image (reached by CALL, so [rsp] is the return address):
//
//	rdi, rsi, rdx, rcx, r8   Args[0..4]  (BPF R1..R5, same as the kernel JIT map)
//	r12                      *Context    (the context register)
//	rsp                      native stack; rsp+8 is 16-byte aligned
//
// The code returns its result in rax with RET, rsp as on entry. It may
// clobber every register except r12 and rsp: r12 must hold the context at
// every helper call and at the final RET (JIT code never writes r12). The
// direction flag must be clear at helper calls and at return.
//
// Calling helper k (k = the index in the Helpers table, normally the BPF
// helper id):
//
//	mov  r11d, k                          41 bb <k as imm32>
//	call qword ptr [r12 + CtxGateEntry]   41 ff 54 24 28   (CtxGateEntry = 0x28)
//
// Arguments go in rdi, rsi, rdx, rcx, r8 (BPF R1..R5, already there in the
// kernel register map); the result comes back in rax. A helper call
// preserves rbx, rbp, r12, r13, r14, r15 and rsp (BPF R6..R10 and the
// context: the SysV callee-saved set) and clobbers rax, rcx, rdx, rsi, rdi,
// r8, r9, r10, r11, the flags and all vector registers. The gate address in
// the Context never changes for the life of the process, so a JIT may also
// embed it (GateEntry()) and call it with `mov r10, imm64; call r10` (not
// r11: it carries the id), but the memory-indirect call above is the
// contract. An id with no helper (r11 is compared unsigned, all 64 bits,
// against the table length) ends the run at once without entering Go: Run
// returns *UnknownHelperError and nothing after the call runs (on amd64
// the bridge ends it by returning through the image's own return address,
// the top word of the native stack, which the code must therefore leave
// intact, as any code that returns does). The stack
// needs no particular alignment at a helper call.
//
// # Native calling contract, arm64
//
// On entry to the image (reached by BLR, x30 = return address):
//
//	x0..x4   Args[0..4]  (BPF R1..R5)
//	x23      *Context    (the context register)
//	sp       native stack, 16-byte aligned
//
// The code returns its result in x0 with RET, sp as on entry. It may clobber
// every register except x23, sp, x18 and x28: x18 (platform register) and
// x28 (Go's g; the Go signal handler reads it at any instruction) must never
// be written, not even transiently. x29 need not be a valid frame pointer
// inside native code (Go never unwinds the native stack), but JIT code
// should keep a frame-record chain for debuggers.
//
// Calling helper k:
//
//	mov  w9, #k                    52800009 | k<<5  (movz; movk for k >= 1<<16)
//	ldr  x16, [x23, #CtxGateEntry] f94016f0
//	blr  x16                       d63f0200
//
// x9 is compared unsigned (all 64 bits) against the table length. Arguments
// in x0..x4, result in x0 (the kernel map's R0 is x7: move it after the
// call). A helper call preserves x19..x25, x29 and sp (BPF R6..R10 in the
// kernel map x19..x22, x25, the context x23 and x24) and clobbers x0..x17,
// x26, x27, x30, the flags and all SIMD registers. x18 and x28 are never
// touched by the bridge either (TestThunksDecode checks every thunk
// instruction).
//
// # Native stack
//
// Each Run gets NativeStackSize usable bytes with an unmapped guard page
// below (overflow is a fatal fault, not an error: the verifier must bound
// stack use). A helper call uses at most HelperCallStackBytes of it. That is
// room for 8 nested BPF frames of 512 bytes plus their spills and saved
// registers, and for trampoline frames, with a wide margin.
//
// Context words at CtxScratch (CtxScratchWords u64s) belong to the JIT for
// the duration of a run (e.g. a tail-call counter); their contents on entry
// are undefined, so code that needs them initialised stores them first.
// The run's arguments arrive only in registers: the five words at CtxArgs
// are the bridge's, and a run without helpers does not write them (saving
// those stores is part of what keeps such a run within a few nanoseconds),
// so JIT code that needs an argument later keeps it itself. These offsets
// are pinned by TestContextLayout.
//
// # Code memory and retirement
//
// Images come from package execmem: Load (sealed) or LoadPatchable (dual
// mapped, for code patched while it runs: tail-call pokes, trampolines).
// Every Run marks its native stack's execmem.Runner as inside before it
// reads the image's entry and as outside when the call returns, so an
// image retired with Arena.Retire is freed only after every run that could
// be executing it has returned. Code reached from inside a run (tail-call
// targets, trampolines, subprograms in other images) is covered by the same
// rule as long as it is unpublished before it is retired.
//
// # What native code must not do
//
// Native code never stores Go pointers anywhere (it executes no write
// barriers), never keeps addresses of goroutine-stack memory (goroutine
// stacks move while helpers run), and must not fault: a fault in native code
// kills the process. Native code is not preemptible; every helper call is a
// preemption point, so very long loops without helper calls delay the GC.
//
// # How the bridge works
//
// A Go-assembly stub with an ordinary frame (enter) records the goroutine
// frame pointer and calls a native entry thunk, which records the
// goroutine SP (and LR), switches to the native stack and calls the image;
// back in the stub, the frame pointer is rebuilt from SP. Run itself is
// inlined into its caller and calls runOwn, an assembly function that
// runs helper-less code on its thread's own stack: it finds that stack
// through g.m (a runtime offset validated at run time before first use),
// switches to it itself on amd64 (it is never on the stack while Go code
// runs, so nothing unwinds through it) and tail-calls the Go code that
// handles everything else. A helper call goes through a native gate-entry thunk
// that saves the preserved registers on the native stack, restores the
// goroutine SP/FP/LR and jumps to a Go-assembly gate; to every Go unwinder
// the gate looks as if the entry stub had called it. The gate builds a
// compiler-style frame, performs the stack-guard check a Go prologue would
// (so a helper call is a preemption point), calls the helper closure
// directly and jumps to a native resume thunk, which records the (possibly
// moved) goroutine stack and switches back. See ARCHITECTURE-NOTES §4a.
package bridge
