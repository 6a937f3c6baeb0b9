#include "textflag.h"

// System instructions are emitted as WORDs: the Go assembler does not know
// all of them. Encodings: mrs x0, ctr_el0 = d53b0020; dc cvau, x0 =
// d50b7b20; ic ivau, x0 = d50b7520; dsb ish = d5033b9f; isb = d5033fdf.

// func ctrEL0() uint64
TEXT ·ctrEL0(SB), NOSPLIT, $0-8
	WORD $0xd53b0020
	MOVD R0, ret+0(FP)
	RET

// func dcCVAU(addr uintptr)
TEXT ·dcCVAU(SB), NOSPLIT, $0-8
	MOVD addr+0(FP), R0
	WORD $0xd50b7b20
	RET

// func icIVAU(addr uintptr)
TEXT ·icIVAU(SB), NOSPLIT, $0-8
	MOVD addr+0(FP), R0
	WORD $0xd50b7520
	RET

// func dsbISH()
TEXT ·dsbISH(SB), NOSPLIT, $0-0
	WORD $0xd5033b9f
	RET

// func isb()
TEXT ·isb(SB), NOSPLIT, $0-0
	WORD $0xd5033fdf
	RET
