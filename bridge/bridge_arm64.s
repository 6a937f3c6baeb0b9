//go:build linux

#include "textflag.h"
#include "funcdata.h"
#include "go_asm.h"

// RUN_NATIVE marks the runner of the Context in R23 inside, loads the
// entry of the image in img (execmem.ImageEntryOffset) and, unless it is 0
// (retired: jumps to retired with R8 = the runner's new entry count),
// calls the entry thunk with the run's arguments already in R0..R4; then
// marks the runner outside. Result in R0, R23 = *Context again (the native
// contract); R29 is the caller's to restore.
//
// Entry stores in+1 to the runner's in count with a plain store
// (retirement orders itself against it with membarrier, see
// execmem.Runner); exit copies in to out with a store-release, so nothing
// done inside the image is reordered after the exit mark. Only this thread
// writes the counts while the run lasts. The exit reads in again rather
// than keeping it across the call (native code keeps only R23): that load
// is served by the entry store and chains nothing to the next run.
#define RUN_NATIVE(img, retired) \
	MOVD (Context_runner+const_runnerIn)(R23), R8; \
	ADD  $1, R8; \
	MOVD R8, (Context_runner+const_runnerIn)(R23); \
	MOVD (img), R9; \
	CBZ  R9, retired; \
	MOVD ·entryThunk(SB), R5; \
	CALL (R5); \
	MOVD (Context_runner+const_runnerIn)(R23), R8; \
	ADD  $(Context_runner+const_runnerOut), R23, R7; \
	STLR R8, (R7)

// RUN_ON runs the image in R10 (not nil) on the machine whose Context is
// in R23, for a caller with a 16-byte frame whose arguments are (slot0,
// slot1, args *Args) (uint64, error) and no helpers, through the entry
// thunk. A run that ended early becomes a tail call of ownEnded(status,
// helper id, args) through slot0 and slot1 (RET ·f(SB) tears the frame
// down first).
#define RUN_ON(slot0, slot1) \
	MOVD args+16(FP), R6; \
	LDP  0(R6), (R0, R1); \
	LDP  16(R6), (R2, R3); \
	MOVD 32(R6), R4; \
	RUN_NATIVE(R10, retired); \
	SUB  $8, RSP, R29; \
	MOVD R0, ret+24(FP); \
	CBZ  R0, zero; \
ok: \
	MOVD ZR, ret1_itable+32(FP); \
	MOVD ZR, ret1_data+40(FP); \
	RET; \
zero: \
	MOVD Context_status(R23), R5; \
	CBZ  R5, ok; \
	MOVD ZR, Context_status(R23); \
	MOVD Context_helperID(R23), R6; \
	MOVD R5, slot0; \
	MOVD R6, slot1; \
	RET  ·ownEnded(SB); \
retired: \
	MOVD R8, (Context_runner+const_runnerOut)(R23); \
	MOVD $const_statusRetired, R5; \
	MOVD R5, slot0; \
	RET  ·ownEnded(SB)

// func enter(c *Context, img *execmem.Image) uint64
//
// An ordinary frame (LR at 0(RSP), FP record below it; never SPWRITE): its
// return address and frame record are what every unwinder sees as gate's
// caller while a helper runs, which is why enter records its frame
// pointer for the gate-entry thunk. After the call R29 is rebuilt from
// RSP (the frame may have moved with the goroutine stack while a helper
// ran), as the prologue built it.
TEXT ·enter(SB), NOSPLIT, $16-24
	NO_LOCAL_POINTERS
	MOVD c+0(FP), R23
	MOVD img+8(FP), R10
	MOVD R29, Context_goFP(R23)
	LDP  Context_args+0(R23), (R0, R1)
	LDP  Context_args+16(R23), (R2, R3)
	MOVD Context_args+32(R23), R4
	RUN_NATIVE(R10, retired)
	SUB  $8, RSP, R29
	MOVD R0, ret+16(FP)
	RET
retired:
	MOVD R8, (Context_runner+const_runnerOut)(R23)
	MOVD $1, R5
	MOVD R5, Context_status(R23)
	MOVD ZR, ret+16(FP)
	RET

// func runOwn(img *execmem.Image, h *Helpers, args *Args) (uint64, error)
//
// Run's helper-less fast path without pinning, and its tail calls to run
// and ownEnded; see bridge_amd64.s. On arm64 it calls the image through
// the entry thunk like enter, from a frame of its own (RET ·f(SB) tears
// the frame down before the tail call). g is R28 (g in Go assembly).
TEXT ·runOwn(SB), NOSPLIT, $16-48
	NO_LOCAL_POINTERS
	MOVD h+8(FP), R5
	CBNZ R5, table
own:
	MOVD img+0(FP), R10
	CBZ  R10, slow
	MOVD const_rtGM(g), R5      // m
	UBFX $const_ownSlotShift, R5, $const_ownSlotBits, R6
	MOVD $·ownTab(SB), R7
	MOVD (R7)(R6<<3), R23
	MOVD Context_ownerM(R23), R7
	CMP  R5, R7
	BNE  slow
	RUN_ON(img+0(FP), h+8(FP))
table:
	MOVD (Helpers_fvs+8)(R5), R6 // len(h.fvs): an empty table is no table
	CBZ  R6, own
slow:
	RET  ·run(SB)

// func gate()
//
// Reached by a branch from the gate-entry thunk with RSP = goroutine SP,
// R29 = enter's frame pointer, R30 = return address into enter (exactly as
// if enter had called gate), R23 = *Context, R0..R4 = helper arguments and
// R26 = helper funcval. The frame is built the way the Go prologue builds
// it: LR and FP stored before SP moves (so [RSP] is a valid LR at every
// instruction), LR at 0(RSP), FP at -8(RSP), R29 = RSP-8, and the top word
// left alone (it holds enter's frame record). SUB/ADD $const, RSP are
// tracked in the pcsp table: gate is not SPWRITE. Before calling, gate does
// the stack-guard check of a Go prologue (g.stackguard0 at offset 16), so a
// helper call is a preemption point even for a leaf helper.
TEXT ·gate(SB), NOSPLIT|NOFRAME, $0-0
	NO_LOCAL_POINTERS
	MOVD R30, -80(RSP)
	MOVD R29, -88(RSP)
	SUB  $80, RSP               // 0 LR; 8..48 spill R0-R4; 48 ctx; 56 closure; 72 enter's frame record
	SUB  $8, RSP, R29
	MOVD R23, 48(RSP)
	MOVD 16(g), R16
	MOVD RSP, R17
	CMP  R16, R17
	BHI  call
	MOVD R0, 8(RSP)
	MOVD R1, 16(RSP)
	MOVD R2, 24(RSP)
	MOVD R3, 32(RSP)
	MOVD R4, 40(RSP)
	MOVD R26, 56(RSP)
	CALL ·preemptPoint(SB)
	MOVD 8(RSP), R0
	MOVD 16(RSP), R1
	MOVD 24(RSP), R2
	MOVD 32(RSP), R3
	MOVD 40(RSP), R4
	MOVD 56(RSP), R26
call:
	MOVD 0(R26), R16
	CALL (R16)                  // result in R0
	MOVD 48(RSP), R23
	MOVD -8(RSP), R29           // adjusted by copystack if the stack moved
	MOVD 0(RSP), R30
	ADD  $80, RSP
	MOVD Context_resumeFn(R23), R16
	JMP  (R16)

// func gateAddr() uintptr
TEXT ·gateAddr(SB), NOSPLIT, $0-8
	MOVD $·gate(SB), R0
	MOVD R0, ret+0(FP)
	RET

// Exit/re-enter baseline (benchmarks only). Both stubs write SP, so they
// are SPWRITE; they are never on the stack while Go code runs.

// func enterER(c *Context)
TEXT ·enterER(SB), NOSPLIT|NOFRAME, $0-8
	MOVD c+0(FP), R23
	MOVD RSP, R16
	MOVD R16, Context_goSP(R23)
	MOVD R29, Context_goFP(R23)
	MOVD R30, Context_goLR(R23)
	MOVD Context_stackTop(R23), R16
	MOVD R16, RSP
	MOVD Context_args+0(R23), R0
	MOVD Context_args+8(R23), R1
	MOVD Context_args+16(R23), R2
	MOVD Context_args+24(R23), R3
	MOVD Context_args+32(R23), R4
	MOVD Context_code(R23), R16
	CALL (R16)
	MOVD R0, Context_ret(R23)
	MOVD ZR, Context_exitCode(R23)
	MOVD Context_goSP(R23), R16 // SP of whichever stub entered last
	MOVD R16, RSP
	MOVD Context_goFP(R23), R29
	MOVD Context_goLR(R23), R30
	RET

// func resumeER(c *Context)
TEXT ·resumeER(SB), NOSPLIT|NOFRAME, $0-8
	MOVD c+0(FP), R23
	MOVD RSP, R16
	MOVD R16, Context_goSP(R23)
	MOVD R29, Context_goFP(R23)
	MOVD R30, Context_goLR(R23)
	MOVD Context_nativeSP(R23), R16
	MOVD R16, RSP
	MOVD (RSP), R16
	ADD  $16, RSP
	JMP  (R16)

// func curG() unsafe.Pointer
TEXT ·curG(SB), NOSPLIT, $0-8
	MOVD g, R0
	MOVD R0, ret+0(FP)
	RET

// func runOn(c *Context, img *execmem.Image, args *Args) (uint64, error)
//
// Machine.Run without helpers: runs img (not nil) on c's machine, held by
// the calling goroutine; see runOwn.
TEXT ·runOn(SB), NOSPLIT, $16-48
	NO_LOCAL_POINTERS
	MOVD c+0(FP), R23
	MOVD img+8(FP), R10
	RUN_ON(c+0(FP), img+8(FP))
