//go:build linux

#include "textflag.h"

// func call(code, stack uintptr, args *[5]uint64, ctx uintptr) uint64
TEXT ·call(SB), NOSPLIT, $0-40
	MOVQ code+0(FP), AX
	MOVQ stack+8(FP), R11
	MOVQ args+16(FP), R10
	MOVQ ctx+24(FP), R12
	MOVQ SP, R9
	MOVQ R11, SP
	SUBQ $16, SP
	MOVQ R9, 0(SP)        // the goroutine SP, restored after the call
	MOVQ 0(R10), DI
	MOVQ 8(R10), SI
	MOVQ 16(R10), DX
	MOVQ 24(R10), CX
	MOVQ 32(R10), R8
	CALL AX
	MOVQ 0(SP), SP
	MOVQ AX, ret+32(FP)
	RET
