//go:build amd64 && !purego

#include "textflag.h"

// func scanSlots(insns *Instruction, n int, jumps, other *int32) (nj, no int, dsts uint16, unpaired bool)
//
// scanSlotsGo, slot for slot: an Instruction is 12 bytes (the word of opcode, registers,
// padding and offset, then the immediate) and a scanForm 16 (zero, zeroImm, noWrite, lddw,
// jump, second). R12 collects the registers written in bits 0..15, noWrite's in 16..31,
// and a broken lddw pair anywhere above. The loop, two slots a turn, has no branch but
// its own. R14 is scratch in ABI0 (the wrapper restores g).

// SLOT judges the slot whose word is at word(SI) and immediate at imm(SI), slot BX, and
// moves BX on.
#define SLOT(word, imm) \
	MOVQ word(SI), AX; \
	MOVBLZX AL, DX; \
	SHLL $4, DX; \
	MOVQ (R8)(DX*1), R13; \
	ANDQ AX, R13; \
	MOVL imm(SI), CX; \
	ANDL 8(R8)(DX*1), CX; \
	ORQ CX, R13; \
	LEAQ 0x050500(AX), CX; \
	ANDL $0xf0f000, CX; \
	ORQ CX, R13; \
	SHRL $8, AX; \
	ANDL $15, AX; \
	ORB 12(R8)(DX*1), AL; \
	MOVBLZX 15(R8)(DX*1), CX; \
	XORL R14, CX; \
	ORL CX, AX; \
	BTSQ AX, R12; \
	MOVBLZX 13(R8)(DX*1), R14; \
	MOVBLZX 14(R8)(DX*1), CX; \
	MOVL BX, (DI)(R10*4); \
	ADDQ CX, R10; \
	MOVL BX, (R9)(R11*4); \
	NEGQ R13; \
	ADCQ $0, R11; \
	INCQ BX

// In SLOT: R13 gathers the fields the opcode's plain form wants zero (the word's, the
// immediate's, and registers above r10: regsPlus5 carries into wordRegHi); AX becomes
// dst's bit number, moved above 15 when the opcode writes no register (noWrite) and above
// 31 when the lddw pairing breaks here (lddw and second are 32, so their exclusive or with
// the previous slot's lddw is the move); the slot goes to jumps when the opcode is a jump
// and to other when R13 is not zero (NEG sets the carry).
TEXT ·scanSlots(SB), NOSPLIT, $0-51
	MOVQ insns+0(FP), SI
	MOVQ jumps+16(FP), DI
	MOVQ other+24(FP), R9
	LEAQ ·scanForms(SB), R8
	XORL BX, BX                 // i
	XORL R10, R10               // nj
	XORL R11, R11               // no
	XORL R12, R12
	XORL R14, R14               // the previous slot's lddw (32 for an lddw)
	LEAQ 1(BX), AX
	CMPQ AX, n+8(FP)
	JGE tail
pairs:
	SLOT(0, 8)
	SLOT(12, 20)
	ADDQ $24, SI
	LEAQ 1(BX), AX
	CMPQ AX, n+8(FP)
	JLT pairs
tail:
	CMPQ BX, n+8(FP)
	JGE done
	SLOT(0, 8)
done:
	SHLQ $27, R14               // an lddw in the last slot: bit 32
	ORQ R14, R12
	MOVQ R10, nj+32(FP)
	MOVQ R11, no+40(FP)
	MOVW R12, dsts+48(FP)
	SHRQ $32, R12
	SETNE unpaired+50(FP)
	RET
