//go:build linux

#include "textflag.h"
#include "funcdata.h"
#include "go_asm.h"

// func enter(c *Context, img *execmem.Image) uint64
//
// An ordinary frame with a frame pointer (never SPWRITE): its return
// address and saved BP are what every unwinder sees as gate's caller while
// a helper runs. The runner sequence is read once and written with plain
// stores: only this thread writes it while the run lasts (a nested run
// takes another stack), and retirement orders itself against these stores
// with membarrier (see execmem.Runner). The exit value is computed before
// the call and parked in the frame, so the exit store does not wait on a
// second read of the word just written, which would chain every run's
// entry to the previous run's exit. The exit store is a plain MOV, which is
// a release on amd64.
TEXT ·enter(SB), NOSPLIT, $16-24
	NO_LOCAL_POINTERS
	MOVQ c+0(FP), DI
	MOVQ img+8(FP), SI
	MOVQ Context_runner(DI), R8
	MOVQ 0(R8), R10             // runner sequence (execmem.RunnerSeqOffset)
	LEAQ 1(R10), R11
	MOVQ R11, 0(R8)             // inside
	MOVQ 0(SI), AX              // img entry (execmem.ImageEntryOffset)
	TESTQ AX, AX
	JZ retired
	ADDQ $2, R10
	MOVQ R8, 0(SP)              // the runner and its exit value survive the
	MOVQ R10, 8(SP)             // call in the frame (copied if the stack moves)
	MOVQ ·entryThunk(SB), R9
	CALL R9
	MOVQ 0(SP), R8
	MOVQ 8(SP), R10
	MOVQ R10, 0(R8)             // runner outside
	MOVQ AX, ret+16(FP)
	RET
retired:
	ADDQ $2, R10
	MOVQ R10, 0(R8)
	MOVQ $1, Context_status(DI)
	MOVQ $0, ret+16(FP)
	RET

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
