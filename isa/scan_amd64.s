//go:build amd64 && !purego

#include "textflag.h"

// func scanSlots(insns *Instruction, n int, jumps, other *int32) (nj, no int, dsts uint16, unpaired bool)
//
// scanSlotsGo, slot for slot: an Instruction is 12 bytes (the word of opcode, registers,
// padding and offset, then the immediate) and a scanForm 16 (zero, zeroImm, noWrite, lddw,
// jump, second). R12 collects the registers written in bits 0..15, noWrite's in 16..31,
// and a broken lddw pair anywhere above. The loop has no branch but its own. R14 is scratch in ABI0 (the
// wrapper restores g).
TEXT ·scanSlots(SB), NOSPLIT, $0-51
	MOVQ insns+0(FP), SI
	MOVQ jumps+16(FP), DI
	MOVQ other+24(FP), R9
	LEAQ ·scanForms(SB), R8
	XORL BX, BX                 // i
	XORL R10, R10               // nj
	XORL R11, R11               // no
	XORL R12, R12               // the written registers' bits (noWrite's above 15), unpaired at bit 32
	XORL R14, R14               // prev: the slot before is an lddw
	CMPQ BX, n+8(FP)
	JGE done
loop:
	MOVQ (SI), AX               // the slot's word
	MOVBLZX AL, DX
	SHLL $4, DX                 // its opcode's scanForm
	MOVQ (R8)(DX*1), R13
	ANDQ AX, R13                // fields its plain form wants zero
	MOVL 8(SI), CX
	ANDL 8(R8)(DX*1), CX        // the immediate, where it must be zero
	ORQ CX, R13
	LEAQ 0x050500(AX), CX       // regsPlus5: carries into a register above r10
	ANDL $0xf0f000, CX          // wordRegHi
	ORQ CX, R13
	SHRL $8, AX
	ANDL $15, AX
	ORB 12(R8)(DX*1), AL        // dst, moved above 15 when the opcode writes none
	MOVBLZX 15(R8)(DX*1), CX    // second (32)
	XORL R14, CX                // 32: a second half without an lddw, or an lddw without one
	ORL CX, AX                  // which moves the bit above 31
	BTSQ AX, R12
	MOVBLZX 13(R8)(DX*1), R14   // lddw (32)
	MOVBLZX 14(R8)(DX*1), CX    // jump
	MOVL BX, (DI)(R10*4)
	ADDQ CX, R10
	MOVL BX, (R9)(R11*4)
	NEGQ R13                    // carry: the slot needs a closer look
	ADCQ $0, R11
	ADDQ $12, SI
	INCQ BX
	CMPQ BX, n+8(FP)
	JLT loop
done:
	SHLQ $27, R14               // an lddw in the last slot: bit 32
	ORQ R14, R12
	MOVQ R10, nj+32(FP)
	MOVQ R11, no+40(FP)
	MOVW R12, dsts+48(FP)
	SHRQ $32, R12
	SETNE unpaired+50(FP)
	RET
