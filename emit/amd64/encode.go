// Package amd64 lowers BPF to x86-64 machine code.
//
// encode.go is the instruction encoder: a handful of small byte-emitting functions
// (prefixes, REX, ModRM/SIB with displacement) driven by opcode tables, and one method per
// instruction form the lowering needs. Every method appends to a Code buffer and never
// fails: operands are typed, so an unencodable combination cannot be expressed.
package amd64

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Reg is a general-purpose register, numbered as in the ModRM/REX encoding.
type Reg uint8

const (
	RAX Reg = iota
	RCX
	RDX
	RBX
	RSP
	RBP
	RSI
	RDI
	R8
	R9
	R10
	R11
	R12
	R13
	R14
	R15
)

var regNames = [16]string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}

func (r Reg) String() string { return regNames[r&15] }

// low3 is the register's number in a ModRM or opcode field; hi is its REX extension bit.
func (r Reg) low3() byte { return byte(r) & 7 }
func (r Reg) hi() byte   { return byte(r) >> 3 & 1 }

// Width is an operand size in bits.
type Width uint8

const (
	W8  Width = 8
	W16 Width = 16
	W32 Width = 32
	W64 Width = 64
)

// Cond is an x86 condition code, the low nibble of Jcc/SETcc/CMOVcc.
type Cond uint8

const (
	CondO  Cond = 0x0
	CondNO Cond = 0x1
	CondB  Cond = 0x2 // unsigned <
	CondAE Cond = 0x3 // unsigned >=
	CondE  Cond = 0x4
	CondNE Cond = 0x5
	CondBE Cond = 0x6 // unsigned <=
	CondA  Cond = 0x7 // unsigned >
	CondS  Cond = 0x8
	CondNS Cond = 0x9
	CondP  Cond = 0xa
	CondNP Cond = 0xb
	CondL  Cond = 0xc // signed <
	CondGE Cond = 0xd // signed >=
	CondLE Cond = 0xe // signed <=
	CondG  Cond = 0xf // signed >
)

// ALUOp is a classic two-operand arithmetic operation; its value is the /digit of the
// 0x81/0x83 immediate forms and bits 3–5 of the register forms (op<<3 | 1 is "r/m op= r").
type ALUOp uint8

const (
	ADD ALUOp = 0
	OR  ALUOp = 1
	ADC ALUOp = 2
	SBB ALUOp = 3
	AND ALUOp = 4
	SUB ALUOp = 5
	XOR ALUOp = 6
	CMP ALUOp = 7
)

// ShiftOp is the /digit of the shift/rotate group (0xC1, 0xD1, 0xD3).
type ShiftOp uint8

const (
	ROL ShiftOp = 0
	ROR ShiftOp = 1
	SHL ShiftOp = 4
	SHR ShiftOp = 5
	SAR ShiftOp = 7
)

// Group-3 (0xF7) /digits.
const (
	g3Test = 0
	g3Not  = 2
	g3Neg  = 3
	g3Mul  = 4
	g3Div  = 6
	g3Idiv = 7
)

// Code is a growing buffer of machine code.
type Code []byte

// Len returns the number of bytes emitted so far.
func (c *Code) Len() int { return len(*c) }

func (c *Code) b(bs ...byte) { *c = append(*c, bs...) }

func (c *Code) imm8(v int8)   { *c = append(*c, byte(v)) }
func (c *Code) imm16(v int16) { *c = binary.LittleEndian.AppendUint16(*c, uint16(v)) }
func (c *Code) imm32(v int32) { *c = binary.LittleEndian.AppendUint32(*c, uint32(v)) }
func (c *Code) imm64(v uint64) {
	*c = binary.LittleEndian.AppendUint64(*c, v)
}

// Mem is a memory operand [Base + Disp].
type Mem struct {
	Base Reg
	Disp int32
}

// operand is the r/m side of a ModRM instruction: a register or a memory operand.
type operand struct {
	isMem bool
	reg   Reg
	mem   Mem
}

func regOp(r Reg) operand { return operand{reg: r} }
func memOp(m Mem) operand { return operand{isMem: true, mem: m} }

// flags select the prefixes of one instruction.
type flags uint8

const (
	fW       flags = 1 << iota // REX.W: 64-bit operand
	f66                        // operand-size prefix: 16-bit operand
	fLock                      // LOCK prefix
	fByteReg                   // ModRM.reg is an 8-bit register: 4–7 mean spl..dil only with REX
	fByteRM                    // ModRM.rm is an 8-bit register
)

// widthFlags returns the prefixes that select an operand width.
func widthFlags(w Width) flags {
	switch w {
	case W64:
		return fW
	case W16:
		return f66
	case W8:
		return fByteReg | fByteRM
	}
	return 0
}

func fits8(v int64) bool { return v >= -128 && v <= 127 }

// modrm emits prefixes, REX, the opcode (one byte, or 0x0F xx when op > 0xff), ModRM, SIB
// and displacement. reg is the ModRM.reg field: a register or an opcode /digit.
func (c *Code) modrm(f flags, op uint16, reg Reg, rm operand) {
	c.commit(putModRM(c.window(), f, op, reg, rm))
}

// putModRM writes modrm's instruction into buf (an instruction is at most 15 bytes) and
// returns its length.
func putModRM(buf *[16]byte, f flags, op uint16, reg Reg, rm operand) int {
	// Indexes below are masked: no bounds checks.
	n := 0
	if f&fLock != 0 {
		buf[n&15] = 0xf0
		n++
	}
	if f&f66 != 0 {
		buf[n&15] = 0x66
		n++
	}
	var rex byte
	if f&fW != 0 {
		rex |= 0x08
	}
	rex |= reg.hi() << 2
	base := rm.reg
	if rm.isMem {
		base = rm.mem.Base
	}
	rex |= base.hi()
	// A byte register operand numbered 4–7 is ah..bh without REX and spl..dil with it.
	needREX := rex != 0 ||
		f&fByteReg != 0 && reg >= 4 && reg < 8 ||
		f&fByteRM != 0 && !rm.isMem && rm.reg >= 4 && rm.reg < 8
	if needREX {
		buf[n&15] = 0x40 | rex
		n++
	}
	if op > 0xff {
		buf[n&15] = byte(op >> 8)
		n++
	}
	buf[n&15] = byte(op)
	n++
	if !rm.isMem {
		buf[n&15] = 0xc0 | reg.low3()<<3 | rm.reg.low3()
		return n + 1
	}
	m := rm.mem
	var mod byte
	switch {
	// rbp/r13 as a base has no disp-less form (that encoding means RIP-relative/disp32).
	case m.Disp == 0 && m.Base.low3() != 5:
		mod = 0x00
	case fits8(int64(m.Disp)):
		mod = 0x40
	default:
		mod = 0x80
	}
	buf[n&15] = mod | reg.low3()<<3 | m.Base.low3()
	n++
	// rsp/r12 as a base needs a SIB byte (rm=100 means "SIB follows").
	if m.Base.low3() == 4 {
		buf[n&15] = 0x24
		n++
	}
	switch mod {
	case 0x40:
		buf[n&15] = byte(m.Disp)
		n++
	case 0x80:
		binary.LittleEndian.PutUint32(buf[n&7:], uint32(m.Disp))
		n += 4
	}
	return n
}

// window returns the spare capacity at the end of c as room for one instruction (at most
// 16 bytes); commit then keeps the n bytes written there.
func (c *Code) window() *[16]byte {
	if cap(*c)-len(*c) < 16 {
		*c = slices.Grow(*c, 16)
	}
	l := len(*c)
	return (*[16]byte)((*c)[l : l+16])
}

func (c *Code) commit(n int) { *c = (*c)[:len(*c)+n] }

// regPair is the register part of a ModRM encoding, precomputed: the REX bits R (bit 2,
// for ModRM.reg) and B (bit 0, for ModRM.rm or the base), and W (pairW) once the
// operation's width is or-ed in, in the low byte; the ModRM reg
// and rm fields (bits 3–5 and 0–2) in the second byte, and two facts about rm as a base,
// pairSIB and pairDisp, in the third. Tables of pairs replace the bit fiddling per
// instruction by one load.
type regPair uint32

const (
	pairSIB  = 0x10000 // rsp/r12 as a base needs a SIB byte (rm 100 means "SIB follows")
	pairDisp = 0x20000 // rbp/r13 as a base has no disp-less form (that means RIP-relative)
)

// pairs[reg<<4|rm] is the pair of two host registers (reg may be a /digit).
var pairs = func() (t [256]regPair) {
	for reg := range Reg(16) {
		for rm := range Reg(16) {
			e := regPair(reg.hi()<<2|rm.hi()) | regPair(reg.low3()<<3|rm.low3())<<8
			switch rm.low3() {
			case 4:
				e |= pairSIB
			case 5:
				e |= pairDisp
			}
			t[reg<<4|rm] = e
		}
	}
	return t
}()

func pairOf(reg, rm Reg) regPair { return pairs[reg<<4|rm&15] } // reg<<4 drops reg's high bits

// pairW is REX.W, or-ed into a pair for a 64-bit operation.
const pairW regPair = 0x08

// rexW returns pairW for a 64-bit (w) operation, else 0.
func rexW(w bool) regPair {
	if w {
		return pairW
	}
	return 0
}

// putPair writes a one-byte opcode with register operands e and no prefix other than
// REX; it is kept small enough to inline, as are the other put functions of pairs but
// putPairMem and putPairSIB.
func putPair(p *[16]byte, op byte, e regPair) int {
	return putREX(p, byte(e), uint64(op)|uint64(0xc0|byte(e>>8))<<8, 2)
}

// putPairMem writes a one-byte opcode with ModRM.reg and the base register of [base+disp]
// given by e, and no prefix other than REX.
func putPairMem(p *[16]byte, op byte, e regPair, disp int32) int {
	if e&pairSIB != 0 {
		return putPairSIB(p, op, e, uint32(disp))
	}
	return putPairDisp(p, op, e, uint32(disp))
}

// putPairDisp is putPairMem for a base that needs no SIB byte (every BPF register's). The
// instruction (REX, opcode, ModRM, disp32: at most 7 bytes) is assembled in one word and
// stored at once; bytes of p past its length are scratch. It is kept small enough to
// inline.
func putPairDisp(p *[16]byte, op byte, e regPair, disp uint32) int {
	f := dispForms[dispKind(e, disp)]
	v := uint64(op) | uint64(e|f)&0xff00 | uint64(disp)<<16
	return putREX(p, byte(e), v, int(f>>16))
}

// putPairDisp2 is putPairDisp for a two-byte opcode (movzx, movsx: 0x0f in op's low byte).
func putPairDisp2(p *[16]byte, op uint16, e regPair, disp uint32) int {
	// Written to stay within the inlining budget: the fast loop calls it, and a call
	// there makes Go keep the loop's state on the stack.
	f := dispForms[dispKind(e, disp)] + 0x1_0000 // the second opcode byte
	return putREX(p, byte(e), uint64(op)|uint64(e|f)&0xff00<<8|uint64(disp)<<24, int(f>>16))
}

// putPairSIB is putPairMem for an rsp or r12 base: the SIB byte 0x24 (no index) follows
// ModRM.
func putPairSIB(p *[16]byte, op byte, e regPair, disp uint32) int {
	f := dispForms[dispKind(e, disp)]
	v := uint64(op) | uint64(e|f)&0xff00 | 0x24<<16 | uint64(disp)<<24
	return putREX(p, byte(e), v, int(f>>16)+1)
}

// putREX stores the instruction v of n bytes (at most 7) after a REX prefix with the bits
// rex, or without one when they are clear, and returns the total length.
func putREX(p *[16]byte, rex byte, v uint64, n int) int {
	if rex != 0 {
		v = v<<8 | uint64(0x40|rex)
		n++
	}
	binary.LittleEndian.PutUint64(p[:8], v)
	return n
}

// dispKind returns 0 for no displacement, 1 for disp8 and 2 for disp32. dispForms gives
// for each ModRM.mod where a pair has ModRM, and in the third byte the length of opcode,
// ModRM and displacement.
var dispForms = [4]regPair{0x2_0000, 0x3_4000, 0x6_8000, 0x6_8000}

func dispKind(e regPair, disp uint32) uint32 {
	// Branch-free, to stay small enough to inline: a displacement is needed when it is
	// non-zero or the base demands one, and it takes 4 bytes when it is no int8.
	return min(disp|uint32(e&pairDisp), 1) + min((disp+128)>>8, 1)
}

// putRM is putPairMem for host registers: a one-byte opcode with a memory operand and no
// prefix other than REX (8-bit register operands excluded). The put functions are the
// encoders proper, shared by the Code methods and the lowering's fast path.
func putRM(p *[16]byte, w bool, op byte, reg Reg, m Mem) int {
	return putPairMem(p, op, pairOf(reg, m.Base)|rexW(w), m.Disp)
}

// putRR is putPair for host registers: the most common form, a one-byte opcode with
// register operands and no prefix other than REX (8-bit operands excluded).
func putRR(p *[16]byte, w bool, op byte, reg, rm Reg) int {
	return putPair(p, op, pairOf(reg, rm)|rexW(w))
}

// putMov writes mov dst, src for 32- or 64-bit registers (Mov's encoding).
func putMov(p *[16]byte, w bool, dst, src Reg) int {
	return putPair(p, 0x89, pairOf(src, dst)|rexW(w))
}

// putImm writes the 1- or 4-byte immediate of an 0x83/0x81-style instruction whose first
// n bytes are in p and returns the total length.
func putImm(p *[16]byte, n int, imm int32, short bool) int {
	if short {
		p[n&15] = byte(imm)
		return n + 1
	}
	binary.LittleEndian.PutUint32(p[n&15:], uint32(imm))
	return n + 4
}

// putPairImm writes a register instruction with an immediate that has a sign-extended
// imm8 opcode (short) and an imm32 one (long): 0x83/0x81 for the ALU group, 0x6b/0x69 for
// imul. Like putPairDisp it stores one word.
func putPairImm(p *[16]byte, short, long byte, e regPair, imm int32) int {
	op, n := short, 3
	if uint32(imm)+128 > 255 { // not an imm8
		op, n = long, 6
	}
	return putREX(p, byte(e), uint64(op)|uint64(0xc0|byte(e>>8))<<8|uint64(uint32(imm))<<16, n)
}

// putPairImm32 writes op with register operands e and an imm32.
func putPairImm32(p *[16]byte, op byte, e regPair, imm int32) int {
	v := uint64(op) | uint64(0xc0|byte(e>>8))<<8 | uint64(uint32(imm))<<16
	return putREX(p, byte(e), v, 6)
}

// putPairShift writes a shift by k (1..63) of the register in e (its /digit the shift).
func putPairShift(p *[16]byte, e regPair, k uint8) int {
	op, n := uint64(0xc1), 3
	if k == 1 {
		op, n = 0xd1, 2
	}
	return putREX(p, byte(e), op|uint64(0xc0|byte(e>>8))<<8|uint64(k)<<16, n)
}

// putImul writes imul reg, rm for the registers in e.
func putImul(p *[16]byte, e regPair) int {
	return putREX(p, byte(e), 0xaf0f|uint64(0xc0|byte(e>>8))<<16, 3)
}

// putALUImm writes dst op= imm for a 32- or 64-bit register (ALUImm's encoding).
func putALUImm(p *[16]byte, op ALUOp, w bool, dst Reg, imm int32) int {
	return putPairImm(p, 0x83, 0x81, pairOf(Reg(op), dst)|rexW(w), imm)
}

// putShiftImm writes dst = dst op n for a 32- or 64-bit register, n in 1..63
// (ShiftImm's encoding).
func putShiftImm(p *[16]byte, op ShiftOp, w bool, dst Reg, n uint8) int {
	return putPairShift(p, pairOf(Reg(op), dst)|rexW(w), n)
}

// putMovConst writes MovConst's encoding.
func putMovConst(p *[16]byte, dst Reg, v uint64) int {
	switch {
	case v <= 0xffffffff:
		return putMovImm32(p, dst, uint32(v))
	case int64(v) < 0 && int64(v) >= -1<<31:
		return putPairImm32(p, 0xc7, pairOf(0, dst)|pairW, int32(v))
	}
	p[0], p[1] = 0x48|dst.hi(), 0xb8+dst.low3()
	binary.LittleEndian.PutUint64(p[2:], v)
	return 10
}

// putMovImm32 writes mov dst32, imm (MovImm32's encoding).
func putMovImm32(p *[16]byte, dst Reg, imm uint32) int {
	n := 0
	if dst.hi() != 0 {
		p[0] = 0x41
		n = 1
	}
	p[n&15] = 0xb8 + dst.low3()
	binary.LittleEndian.PutUint32(p[(n+1)&7:], imm)
	return n + 5
}

// opreg emits an instruction whose register is in the low bits of the opcode (push, pop,
// bswap, mov r, imm).
func (c *Code) opreg(f flags, op uint16, r Reg) {
	rex := r.hi()
	if f&fW != 0 {
		rex |= 0x08
	}
	if rex != 0 {
		c.b(0x40 | rex)
	}
	if op > 0xff {
		c.b(byte(op >> 8))
	}
	c.b(byte(op) + r.low3())
}

// ---- arithmetic ----

// ALU emits dst op= src (op may be CMP, which only sets flags).
func (c *Code) ALU(op ALUOp, w Width, dst, src Reg) {
	if w >= W32 {
		c.commit(putRR(c.window(), w == W64, byte(op)<<3|1, src, dst))
		return
	}
	c.modrm(widthFlags(w), uint16(op)<<3|1, src, regOp(dst))
}

// ALUImm emits dst op= imm, using the sign-extended imm8 form when it fits.
// For W64 the immediate is sign-extended to 64 bits.
func (c *Code) ALUImm(op ALUOp, w Width, dst Reg, imm int32) {
	if w >= W32 {
		c.commit(putALUImm(c.window(), op, w == W64, dst, imm))
		return
	}
	if fits8(int64(imm)) {
		c.modrm(widthFlags(w), 0x83, Reg(op), regOp(dst))
		c.imm8(int8(imm))
		return
	}
	c.modrm(widthFlags(w), 0x81, Reg(op), regOp(dst))
	c.imm32(imm)
}

// aluLoad emits dst op= [m] (op may be CMP, which only sets flags).
func (c *Code) aluLoad(op ALUOp, w Width, dst Reg, m Mem) {
	c.modrm(widthFlags(w), uint16(op)<<3|3, dst, memOp(m))
}

// ALUMemImm emits op [m], imm (for example the budget decrement sub qword [r12+d], 1).
func (c *Code) ALUMemImm(op ALUOp, w Width, m Mem, imm int32) {
	if fits8(int64(imm)) {
		c.modrm(widthFlags(w), 0x83, Reg(op), memOp(m))
		c.imm8(int8(imm))
		return
	}
	c.modrm(widthFlags(w), 0x81, Reg(op), memOp(m))
	c.imm32(imm)
}

// Test emits test a, b.
func (c *Code) Test(w Width, a, b Reg) {
	if w >= W32 {
		c.commit(putRR(c.window(), w == W64, 0x85, b, a))
		return
	}
	c.modrm(widthFlags(w), 0x85, b, regOp(a))
}

// TestImm emits test r, imm32 (sign-extended for W64).
func (c *Code) TestImm(w Width, r Reg, imm int32) {
	if w >= W32 {
		c.commit(putPairImm32(c.window(), 0xf7, pairOf(g3Test, r)|rexW(w == W64), imm))
		return
	}
	c.modrm(widthFlags(w), 0xf7, g3Test, regOp(r))
	c.imm32(imm)
}

// Imul emits dst *= src (low half; the same for signed and unsigned).
func (c *Code) Imul(w Width, dst, src Reg) {
	if w >= W32 {
		c.commit(putImul(c.window(), pairOf(dst, src)|rexW(w == W64)))
		return
	}
	c.modrm(widthFlags(w), 0x0faf, dst, regOp(src))
}

// ImulImm emits dst = src * imm.
func (c *Code) ImulImm(w Width, dst, src Reg, imm int32) {
	if w >= W32 {
		c.commit(putPairImm(c.window(), 0x6b, 0x69, pairOf(dst, src)|rexW(w == W64), imm))
		return
	}
	if fits8(int64(imm)) {
		c.modrm(widthFlags(w), 0x6b, dst, regOp(src))
		c.imm8(int8(imm))
		return
	}
	c.modrm(widthFlags(w), 0x69, dst, regOp(src))
	c.imm32(imm)
}

func (c *Code) group3(w Width, digit Reg, r Reg) { c.modrm(widthFlags(w), 0xf7, digit, regOp(r)) }

// Neg emits r = -r.
func (c *Code) Neg(w Width, r Reg) { c.group3(w, g3Neg, r) }

// Not emits r = ^r.
func (c *Code) Not(w Width, r Reg) { c.group3(w, g3Not, r) }

// Mul emits the unsigned widening multiply rdx:rax = rax * r.
func (c *Code) Mul(w Width, r Reg) { c.group3(w, g3Mul, r) }

// Div emits the unsigned divide of rdx:rax by r (quotient rax, remainder rdx).
func (c *Code) Div(w Width, r Reg) { c.group3(w, g3Div, r) }

// Idiv emits the signed divide of rdx:rax by r.
func (c *Code) Idiv(w Width, r Reg) { c.group3(w, g3Idiv, r) }

// Cdq sign-extends eax into edx.
func (c *Code) Cdq() { c.b(0x99) }

// Cqo sign-extends rax into rdx.
func (c *Code) Cqo() { c.b(0x48, 0x99) }

// Shift emits dst = dst op cl.
func (c *Code) Shift(op ShiftOp, w Width, dst Reg) {
	c.modrm(widthFlags(w), 0xd3, Reg(op), regOp(dst))
}

// ShiftImm emits dst = dst op n (the 0xD1 form for n == 1).
func (c *Code) ShiftImm(op ShiftOp, w Width, dst Reg, n uint8) {
	if w >= W32 {
		c.commit(putShiftImm(c.window(), op, w == W64, dst, n))
		return
	}
	if n == 1 {
		c.modrm(widthFlags(w), 0xd1, Reg(op), regOp(dst))
		return
	}
	c.modrm(widthFlags(w), 0xc1, Reg(op), regOp(dst))
	c.imm8(int8(n))
}

// Bswap reverses the bytes of a 32- or 64-bit register (the 32-bit form zero-extends).
func (c *Code) Bswap(w Width, r Reg) {
	f := flags(0)
	if w == W64 {
		f = fW
	}
	c.opreg(f, 0x0fc8, r)
}

// ---- moves ----

// Mov emits dst = src; the W32 form zero-extends into the upper half.
func (c *Code) Mov(w Width, dst, src Reg) {
	if w >= W32 {
		c.commit(putMov(c.window(), w == W64, dst, src))
		return
	}
	c.modrm(widthFlags(w), 0x89, src, regOp(dst))
}

// MovImm32 emits mov dst32, imm: dst = zero-extended imm (5 or 6 bytes).
func (c *Code) MovImm32(dst Reg, imm uint32) { c.commit(putMovImm32(c.window(), dst, imm)) }

// MovImmSX emits mov dst, simm32: dst = sign-extended imm (7 bytes).
func (c *Code) MovImmSX(dst Reg, imm int32) {
	c.commit(putPairImm32(c.window(), 0xc7, pairOf(0, dst)|pairW, imm))
}

// MovImm64 emits movabs dst, imm64 (10 bytes).
func (c *Code) MovImm64(dst Reg, imm uint64) {
	c.opreg(fW, 0xb8, dst)
	c.imm64(imm)
}

// MovConst loads a 64-bit constant with the shortest form that does not touch the flags.
func (c *Code) MovConst(dst Reg, v uint64) { c.commit(putMovConst(c.window(), dst, v)) }

// Movzx emits dst32 = zero-extended low 8 or 16 bits of src.
func (c *Code) Movzx(dst, src Reg, from Width) {
	if from == W8 {
		c.modrm(fByteRM, 0x0fb6, dst, regOp(src))
		return
	}
	c.modrm(0, 0x0fb7, dst, regOp(src))
}

// Movsx emits dst = sign-extended low `from` bits of src, into a w-bit destination
// (W32 zero-extends the result into the upper half).
func (c *Code) Movsx(w Width, dst, src Reg, from Width) {
	f := flags(0)
	if w == W64 {
		f = fW
	}
	switch from {
	case W8:
		c.modrm(f|fByteRM, 0x0fbe, dst, regOp(src))
	case W16:
		c.modrm(f, 0x0fbf, dst, regOp(src))
	default:
		c.modrm(fW, 0x63, dst, regOp(src)) // movsxd
	}
}

// Load emits a zero-extending load of w bits: dst = *(uintN*)(m).
func (c *Code) Load(w Width, dst Reg, m Mem) { c.commit(putLoad(c.window(), w, dst, m)) }

func putLoad(p *[16]byte, w Width, dst Reg, m Mem) int {
	switch w {
	case W8:
		return putModRM(p, 0, 0x0fb6, dst, memOp(m))
	case W16:
		return putModRM(p, 0, 0x0fb7, dst, memOp(m))
	}
	return putRM(p, w == W64, 0x8b, dst, m)
}

// LoadSX emits a sign-extending load of w (8, 16 or 32) bits into a 64-bit register.
func (c *Code) LoadSX(w Width, dst Reg, m Mem) { c.commit(putLoadSX(c.window(), w, dst, m)) }

func putLoadSX(p *[16]byte, w Width, dst Reg, m Mem) int {
	switch w {
	case W8:
		return putModRM(p, fW, 0x0fbe, dst, memOp(m))
	case W16:
		return putModRM(p, fW, 0x0fbf, dst, memOp(m))
	}
	return putRM(p, true, 0x63, dst, m)
}

// Store emits *(uintN*)(m) = src.
func (c *Code) Store(w Width, m Mem, src Reg) { c.commit(putStore(c.window(), w, m, src)) }

func putStore(p *[16]byte, w Width, m Mem, src Reg) int {
	if w >= W32 {
		return putRM(p, w == W64, 0x89, src, m)
	}
	op := uint16(0x89)
	if w == W8 {
		op = 0x88
	}
	return putModRM(p, widthFlags(w), op, src, memOp(m))
}

// StoreImm emits *(uintN*)(m) = imm (W64 sign-extends the 32-bit immediate).
func (c *Code) StoreImm(w Width, m Mem, imm int32) { c.commit(putStoreImm(c.window(), w, m, imm)) }

func putStoreImm(p *[16]byte, w Width, m Mem, imm int32) int {
	switch w {
	case W8:
		n := putModRM(p, 0, 0xc6, 0, memOp(m))
		p[n&15] = byte(imm)
		return n + 1
	case W16:
		n := putModRM(p, f66, 0xc7, 0, memOp(m))
		binary.LittleEndian.PutUint16(p[n&15:], uint16(imm))
		return n + 2
	}
	return putImm(p, putRM(p, w == W64, 0xc7, 0, m), imm, false)
}

// Lea emits dst = base + disp (64-bit).
func (c *Code) Lea(dst Reg, m Mem) { c.modrm(fW, 0x8d, dst, memOp(m)) }

// LeaRIP emits lea dst, [rip + rel] (7 bytes; rel counts from the end of the instruction).
func (c *Code) LeaRIP(dst Reg, rel int32) {
	c.b(0x48|dst.hi()<<2, 0x8d, 0x05|dst.low3()<<3)
	c.imm32(rel)
}

// LeaRIPSize is the length of LeaRIP.
const LeaRIPSize = 7

// ---- atomics ----

// LockALU emits lock op [m], src for ADD, OR, AND and XOR.
func (c *Code) LockALU(op ALUOp, w Width, m Mem, src Reg) {
	c.commit(putLockALU(c.window(), op, w, m, src))
}

func putLockALU(p *[16]byte, op ALUOp, w Width, m Mem, src Reg) int {
	return putModRM(p, widthFlags(w)|fLock, uint16(op)<<3|1, src, memOp(m))
}

// LockXadd emits lock xadd [m], src: src receives the old value.
func (c *Code) LockXadd(w Width, m Mem, src Reg) { c.commit(putLockXadd(c.window(), w, m, src)) }

func putLockXadd(p *[16]byte, w Width, m Mem, src Reg) int {
	return putModRM(p, widthFlags(w)|fLock, 0x0fc1, src, memOp(m))
}

// Xchg emits xchg [m], src (locked implicitly).
func (c *Code) Xchg(w Width, m Mem, src Reg) { c.commit(putXchg(c.window(), w, m, src)) }

func putXchg(p *[16]byte, w Width, m Mem, src Reg) int {
	return putModRM(p, widthFlags(w), 0x87, src, memOp(m))
}

// LockCmpxchg emits lock cmpxchg [m], src: compares rax with [m]; equal stores src, else
// loads [m] into rax.
func (c *Code) LockCmpxchg(w Width, m Mem, src Reg) {
	c.commit(putLockCmpxchg(c.window(), w, m, src))
}

func putLockCmpxchg(p *[16]byte, w Width, m Mem, src Reg) int {
	return putModRM(p, widthFlags(w)|fLock, 0x0fb1, src, memOp(m))
}

// ---- control flow ----

// Jcc8 and the other branch forms take the displacement from the end of the instruction.
func (c *Code) Jcc8(cc Cond, rel int8) { c.b(0x70 | byte(cc)); c.imm8(rel) }

// Jcc32 emits the near conditional jump (6 bytes).
func (c *Code) Jcc32(cc Cond, rel int32) { c.b(0x0f, 0x80|byte(cc)); c.imm32(rel) }

// Jmp8 emits the short jump (2 bytes).
func (c *Code) Jmp8(rel int8) { c.b(0xeb); c.imm8(rel) }

// Jmp32 emits the near jump (5 bytes).
func (c *Code) Jmp32(rel int32) { c.b(0xe9); c.imm32(rel) }

// Short jumps inside one instruction's lowering (around a division, a cmpxchg loop) span
// a few dozen bytes of code of fixed size and no other branch: they are resolved here,
// without labels or the linker.

// JccFwd emits a short conditional jump to a later point, marked with Land, and returns
// its end.
func (c *Code) JccFwd(cc Cond) int { c.b(0x70|byte(cc), 0); return len(*c) }

// JmpFwd emits a short jump to a later point, marked with Land, and returns its end.
func (c *Code) JmpFwd() int { c.b(0xeb, 0); return len(*c) }

// Land makes the forward short jump ending at end (from JccFwd or JmpFwd) target the
// current end of the code.
func (c *Code) Land(end int) { (*c)[end-1] = rel8(len(*c) - end) }

// putJcc8 writes a short conditional jump of rel bytes (from its end), which must reach.
func putJcc8(p *[16]byte, cc Cond, rel int) int {
	p[0], p[1] = 0x70|byte(cc), rel8(rel)
	return 2
}

// rel8 returns a short jump's displacement. The sequences that use local short jumps are
// far shorter than 128 bytes whatever the operands, so a failure is a bug in the lowering.
func rel8(d int) byte {
	if !fits8(int64(d)) {
		panic(fmt.Sprintf("amd64: local short jump of %d bytes", d))
	}
	return byte(d)
}

// CallRel32 emits call rel32 (5 bytes).
func (c *Code) CallRel32(rel int32) { c.b(0xe8); c.imm32(rel) }

// CallMem emits call qword [m].
func (c *Code) CallMem(m Mem) { c.modrm(0, 0xff, 2, memOp(m)) }

// CallReg emits call r.
func (c *Code) CallReg(r Reg) { c.modrm(0, 0xff, 2, regOp(r)) }

// Ret emits ret.
func (c *Code) Ret() { c.b(0xc3) }

// Leave emits leave (rsp = rbp; pop rbp).
func (c *Code) Leave() { c.b(0xc9) }

// Push emits push r.
func (c *Code) Push(r Reg) { c.opreg(0, 0x50, r) }

// Pop emits pop r.
func (c *Code) Pop(r Reg) { c.opreg(0, 0x58, r) }

// Nop5 emits the 5-byte nop (nop dword [rax+rax*1+0]) that marks a patchable entry.
func (c *Code) Nop5() { c.b(0x0f, 0x1f, 0x44, 0x00, 0x00) }

// Int3 emits a breakpoint; used as padding that must never execute.
func (c *Code) Int3() { c.b(0xcc) }

// Ud2 emits an undefined-instruction trap.
func (c *Code) Ud2() { c.b(0x0f, 0x0b) }

// Branch sizes.
const (
	Jcc8Size  = 2
	Jcc32Size = 6
	Jmp8Size  = 2
	Jmp32Size = 5
	CallSize  = 5
)
