#include "textflag.h"

// func Call(addr uintptr, arg uint64) uint64
TEXT ·Call(SB), NOSPLIT, $16-24
	MOVD addr+0(FP), R1
	MOVD arg+8(FP), R0
	CALL (R1)
	MOVD R0, ret+16(FP)
	RET

// func CallFP(addr uintptr, arg uint64) unsafe.Pointer
TEXT ·CallFP(SB), NOSPLIT, $16-24
	MOVD addr+0(FP), R1
	MOVD arg+8(FP), R0
	CALL (R1)
	MOVD R0, ret+16(FP)
	RET
