#include "textflag.h"

// func Call(addr uintptr, arg uint64) uint64
TEXT ·Call(SB), NOSPLIT, $16-24
	MOVQ addr+0(FP), AX
	MOVQ arg+8(FP), DI
	CALL AX
	MOVQ AX, ret+16(FP)
	RET

// func CallFP(addr uintptr, arg uint64) unsafe.Pointer
TEXT ·CallFP(SB), NOSPLIT, $16-24
	MOVQ addr+0(FP), AX
	MOVQ arg+8(FP), DI
	CALL AX
	MOVQ AX, ret+16(FP)
	RET
