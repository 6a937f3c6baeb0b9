//go:build linux

#include "textflag.h"
#include "funcdata.h"
#include "go_asm.h"

// RUNNER_IN marks the runner of the Context in R12 inside: stores in+1 to
// its in count (R10 = the new count). RUNNER_OUT marks it
// outside again: copies in to out. Both are plain stores: only this thread
// writes the counts while the run lasts (a nested run takes another
// stack), retirement orders itself against the entry store with
// membarrier (see execmem.Runner), and a plain MOV is a release on amd64.
// RUNNER_OUT reads in again rather than keeping it across the call (native
// code keeps only R12): that load is served by the entry store and chains
// nothing to the next run.
#define RUNNER_IN \
	MOVQ (Context_runner+const_runnerIn)(R12), R10; \
	INCQ R10; \
	MOVQ R10, (Context_runner+const_runnerIn)(R12)

#define RUNNER_OUT \
	MOVQ (Context_runner+const_runnerIn)(R12), R10; \
	MOVQ R10, (Context_runner+const_runnerOut)(R12)

// RUN_ON runs the image in R11 (not nil) on the machine whose Context is
// in R12, for a caller whose frame is (slot0, slot1, args *Args) (uint64,
// error), with no frame of its own and no helpers: it switches to the
// native stack itself (the caller is SPWRITE; nothing unwinds through it,
// as no Go code runs until it returns) and parks its caller's BP in goFP.
// A run that ended early (retired image, helper id called: the gate-entry
// thunk returns from the image's outermost frame) becomes a tail call of
// ownEnded(status, helper id, args) through slot0 and slot1.
#define RUN_ON(slot0, slot1) \
	MOVQ args+16(FP), AX; \
	MOVQ 0(AX), DI; \
	MOVQ 8(AX), SI; \
	MOVQ 16(AX), DX; \
	MOVQ 24(AX), CX; \
	MOVQ 32(AX), R8; \
	RUNNER_IN; \
	MOVQ 0(R11), AX; \
	TESTQ AX, AX; \
	JZ retired; \
	MOVQ BP, Context_goFP(R12); \
	MOVQ SP, Context_goSP(R12); \
	MOVQ Context_stackTop(R12), SP; \
	CALL AX; \
	MOVQ Context_goSP(R12), SP; \
	MOVQ Context_goFP(R12), BP; \
	RUNNER_OUT; \
	MOVQ AX, ret+24(FP); \
	TESTQ AX, AX; \
	JZ zero; \
ok: \
	MOVQ $0, ret1_itable+32(FP); \
	MOVQ $0, ret1_data+40(FP); \
	RET; \
zero: \
	MOVQ Context_status(R12), CX; \
	TESTQ CX, CX; \
	JZ ok; \
	MOVQ $0, Context_status(R12); \
	MOVQ Context_helperID(R12), DX; \
	MOVQ CX, slot0; \
	MOVQ DX, slot1; \
	JMP ·ownEnded(SB); \
retired: \
	MOVQ R10, (Context_runner+const_runnerOut)(R12); \
	MOVQ $const_statusRetired, slot0; \
	JMP ·ownEnded(SB)

// func enter(c *Context, img *execmem.Image) uint64
//
// An ordinary frame with a frame pointer (never SPWRITE): its return
// address and saved BP are what every unwinder sees as gate's caller while
// a helper runs, which is why enter records BP for the gate-entry thunk.
// The entry thunk switches to the native stack and calls the image with
// the run's arguments in DI, SI, DX, CX, R8, and comes back with R12 =
// *Context (the native contract) and SP = this frame; BP is then rebuilt
// from SP (the frame may have moved with the goroutine stack while a
// helper ran).
TEXT ·enter(SB), NOSPLIT, $0-24
	NO_LOCAL_POINTERS
	MOVQ c+0(FP), R12
	MOVQ img+8(FP), R11
	MOVQ BP, Context_goFP(R12)
	MOVQ Context_args+0(R12), DI
	MOVQ Context_args+8(R12), SI
	MOVQ Context_args+16(R12), DX
	MOVQ Context_args+24(R12), CX
	MOVQ Context_args+32(R12), R8
	RUNNER_IN
	MOVQ 0(R11), AX             // img entry (execmem.ImageEntryOffset)
	TESTQ AX, AX
	JZ retired
	MOVQ ·entryThunk(SB), R9
	CALL R9
	MOVQ SP, BP
	RUNNER_OUT
	MOVQ AX, ret+16(FP)
	RET
retired:
	MOVQ R10, (Context_runner+const_runnerOut)(R12)
	MOVQ $1, Context_status(R12)
	MOVQ $0, ret+16(FP)
	RET

// func runOwn(img *execmem.Image, h *Helpers, args *Args) (uint64, error)
//
// Run's helper-less fast path without pinning: finds the Context of the
// current M's own machine (the ownTab slot m hashes to, if its ownerM is
// m) and runs img on it. Between reading g.m and returning, this goroutine
// cannot change M: an assembly function is never asynchronously preempted
// (the runtime treats it as an unsafe point), this one is NOSPLIT and
// calls no Go code, and native code is not Go code at all. So the own
// machine is used by one run at a time. Slots are filled only once
// validateRuntimeLayout has accepted rtGM.
//
// Whatever it does not run itself (helpers, a nil image, an M without an
// own machine) it hands to run by a tail call: the frames match, so run
// returns straight to runOwn's caller. A run that ended early (retired
// image, helper id called) tail-calls ownEnded(status, helper id, args)
// the same way.
//
// Without helpers no Go code runs while runOwn is on the stack, so it
// needs no frame and switches stacks itself, with no entry thunk: it
// writes SP (the assembler marks it SPWRITE), and a profiling signal that
// lands between the switch and the call (or the return and the switch
// back) just ends its traceback at runOwn, as the runtime does for every
// SPWRITE function. The image returns here, also when it called a helper
// id (the gate-entry thunk returns from the image's outermost frame). The
// caller's BP is parked in goFP.
TEXT ·runOwn(SB), NOSPLIT|NOFRAME, $0-48
	MOVQ h+8(FP), AX
	TESTQ AX, AX
	JNZ table
own:
	MOVQ img+0(FP), R11
	TESTQ R11, R11
	JZ slow
	// g is R14: runOwn's only caller is Run, compiled Go code, which keeps
	// g there at every call (ABIInternal), ABI0 callee or not. Following it
	// rather than the TLS slot keeps a load off the chain that ends in the
	// stack switch.
	MOVQ const_rtGM(R14), AX    // m
	MOVQ AX, R10
	SHRQ $const_ownSlotShift, R10
	ANDQ $(const_ownSlots-1), R10
	LEAQ ·ownTab(SB), R12
	MOVQ (R12)(R10*8), R12
	CMPQ Context_ownerM(R12), AX
	JNE slow
	RUN_ON(img+0(FP), h+8(FP))
table:
	CMPQ (Helpers_fvs+8)(AX), $0 // len(h.fvs): an empty table is no table
	JEQ own
slow:
	JMP ·run(SB)

// func gate()
//
// Reached by a JMP from the gate-entry thunk with SP/BP = the goroutine
// SP/BP saved by the entry thunk ([SP] = return address into enter), R12 =
// *Context, AX, BX, CX, DI, SI = helper arguments and DX = helper funcval.
// SP changes only through ADJSP (recorded in the pcsp table, so gate is not
// SPWRITE). The frame mirrors a compiled one: saved BP at the top (copystack
// adjusts it, frame-pointer unwinders follow it), register-argument spill
// area at the bottom. Before calling, gate performs the stack-guard check of
// a Go prologue so every helper call is a preemption point even when the
// helper is a leaf without a prologue (g.stackguard0 is at offset 16 in
// runtime.g, as every compiled prologue assumes).
TEXT ·gate(SB), NOSPLIT|NOFRAME, $0-0
	NO_LOCAL_POINTERS
	ADJSP $64                   // 0..40 spill area, 40 ctx, 48 closure, 56 saved BP
	MOVQ BP, 56(SP)
	LEAQ 56(SP), BP
	MOVQ R12, 40(SP)
	MOVQ (TLS), R14             // g: native code used R14 as BPF R8
	XORPS X15, X15              // ABIInternal zero register
	CMPQ SP, 16(R14)
	JHI call
	MOVQ AX, 0(SP)
	MOVQ BX, 8(SP)
	MOVQ CX, 16(SP)
	MOVQ DI, 24(SP)
	MOVQ SI, 32(SP)
	MOVQ DX, 48(SP)
	CALL ·preemptPoint(SB)
	MOVQ 0(SP), AX
	MOVQ 8(SP), BX
	MOVQ 16(SP), CX
	MOVQ 24(SP), DI
	MOVQ 32(SP), SI
	MOVQ 48(SP), DX
	MOVQ (TLS), R14
	XORPS X15, X15
call:
	MOVQ 0(DX), R11
	CALL R11                    // result in AX
	MOVQ 40(SP), R12
	MOVQ 56(SP), BP             // adjusted by copystack if the stack moved
	ADJSP $-64
	MOVQ Context_resumeFn(R12), R11
	JMP R11

// func gateAddr() uintptr
TEXT ·gateAddr(SB), NOSPLIT, $0-8
	MOVQ $·gate(SB), AX
	MOVQ AX, ret+0(FP)
	RET

// Exit/re-enter baseline (benchmarks only). Both stubs write SP, so they
// are SPWRITE; they are never on the stack while Go code runs.

// func enterER(c *Context)
TEXT ·enterER(SB), NOSPLIT|NOFRAME, $0-8
	MOVQ c+0(FP), R12
	MOVQ SP, Context_goSP(R12)
	MOVQ BP, Context_goFP(R12)
	MOVQ Context_stackTop(R12), SP
	MOVQ Context_args+8(R12), SI
	MOVQ Context_args+16(R12), DX
	MOVQ Context_args+24(R12), CX
	MOVQ Context_args+32(R12), R8
	MOVQ Context_args+0(R12), DI
	MOVQ Context_code(R12), AX
	CALL AX
	MOVQ AX, Context_ret(R12)
	MOVQ $0, Context_exitCode(R12)
	MOVQ Context_goSP(R12), SP  // SP of whichever stub entered last
	MOVQ Context_goFP(R12), BP
	RET

// func resumeER(c *Context)
TEXT ·resumeER(SB), NOSPLIT|NOFRAME, $0-8
	MOVQ c+0(FP), R12
	MOVQ SP, Context_goSP(R12)
	MOVQ BP, Context_goFP(R12)
	MOVQ Context_nativeSP(R12), SP
	RET

// func curG() unsafe.Pointer
TEXT ·curG(SB), NOSPLIT, $0-8
	MOVQ (TLS), AX
	MOVQ AX, ret+0(FP)
	RET

// func runOn(c *Context, img *execmem.Image, args *Args) (uint64, error)
//
// Machine.Run without helpers: runs img (not nil) on c's machine, held by
// the calling goroutine, as runOwn runs it on the thread's own machine.
TEXT ·runOn(SB), NOSPLIT|NOFRAME, $0-48
	MOVQ c+0(FP), R12
	MOVQ img+8(FP), R11
	RUN_ON(c+0(FP), img+8(FP))
