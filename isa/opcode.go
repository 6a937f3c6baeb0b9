// Package isa holds the BPF instruction set of RFC 9669 (ISA v4 included): opcodes,
// the Instruction type, raw little-endian encoding, programs with subprogram
// boundaries, and structural validation.
//
// An Instruction is exactly one 8-byte slot. A 64-bit immediate load (lddw) therefore
// occupies two consecutive Instructions, as it does on the wire and in the kernel:
// every jump offset, every error index and every JIT table is in slots.
package isa

// Opcode is the first byte of an instruction slot.
type Opcode uint8

// Class is the low three bits of an opcode.
type Class uint8

const (
	ClassLD    Class = 0x00
	ClassLDX   Class = 0x01
	ClassST    Class = 0x02
	ClassSTX   Class = 0x03
	ClassALU   Class = 0x04
	ClassJMP   Class = 0x05
	ClassJMP32 Class = 0x06
	ClassALU64 Class = 0x07
)

// Size of a memory access (bits 3–4 of a load/store opcode).
type Size uint8

const (
	SizeW  Size = 0x00 // 4 bytes
	SizeH  Size = 0x08 // 2 bytes
	SizeB  Size = 0x10 // 1 byte
	SizeDW Size = 0x18 // 8 bytes
)

// Mode of a load/store (bits 5–7 of a load/store opcode).
type Mode uint8

const (
	ModeIMM    Mode = 0x00 // lddw (with SizeDW)
	ModeABS    Mode = 0x20 // legacy packet access
	ModeIND    Mode = 0x40 // legacy packet access
	ModeMEM    Mode = 0x60
	ModeMEMSX  Mode = 0x80 // sign-extending load (v4)
	ModeATOMIC Mode = 0xc0
)

// Source selects the second operand of ALU and JMP instructions (bit 3).
type Source uint8

const (
	SourceK Source = 0x00 // 32-bit immediate
	SourceX Source = 0x08 // src register
)

// ALUOp is bits 4–7 of an ALU/ALU64 opcode.
type ALUOp uint8

const (
	ALUAdd  ALUOp = 0x00
	ALUSub  ALUOp = 0x10
	ALUMul  ALUOp = 0x20
	ALUDiv  ALUOp = 0x30 // off=1: sdiv
	ALUOr   ALUOp = 0x40
	ALUAnd  ALUOp = 0x50
	ALULsh  ALUOp = 0x60
	ALURsh  ALUOp = 0x70
	ALUNeg  ALUOp = 0x80
	ALUMod  ALUOp = 0x90 // off=1: smod
	ALUXor  ALUOp = 0xa0
	ALUMov  ALUOp = 0xb0 // off=8/16/32: movsx
	ALUArsh ALUOp = 0xc0
	ALUEnd  ALUOp = 0xd0 // byte swap; source bit selects to-LE/to-BE, ALU64 = bswap
)

// JumpOp is bits 4–7 of a JMP/JMP32 opcode.
type JumpOp uint8

const (
	JumpA    JumpOp = 0x00 // JMP: goto off; JMP32: gotol imm
	JumpEQ   JumpOp = 0x10
	JumpGT   JumpOp = 0x20
	JumpGE   JumpOp = 0x30
	JumpSET  JumpOp = 0x40
	JumpNE   JumpOp = 0x50
	JumpSGT  JumpOp = 0x60
	JumpSGE  JumpOp = 0x70
	JumpCall JumpOp = 0x80
	JumpExit JumpOp = 0x90
	JumpLT   JumpOp = 0xa0
	JumpLE   JumpOp = 0xb0
	JumpSLT  JumpOp = 0xc0
	JumpSLE  JumpOp = 0xd0
)

// AtomicOp is the imm field of an atomic instruction.
type AtomicOp int32

const (
	AtomicAdd     AtomicOp = 0x00
	AtomicOr      AtomicOp = 0x40
	AtomicAnd     AtomicOp = 0x50
	AtomicXor     AtomicOp = 0xa0
	AtomicFetch   AtomicOp = 0x01 // flag: old value to src
	AtomicXchg    AtomicOp = 0xe0 | AtomicFetch
	AtomicCmpXchg AtomicOp = 0xf0 | AtomicFetch
)

// Pseudo sources: the src field of call and ld_imm64 instructions.
const (
	PseudoCall      = 1 // call: imm is a slot offset to a BPF function
	PseudoKfuncCall = 2 // call: imm is a BTF id of a kernel function

	PseudoMapFD       = 1 // lddw: imm is a map fd (or host map handle)
	PseudoMapValue    = 2 // lddw: imm is a map fd, next imm an offset into its value
	PseudoBTFID       = 3 // lddw: imm is a BTF id
	PseudoFunc        = 4 // lddw: imm is a slot offset to a BPF function
	PseudoMapIdx      = 5 // lddw: imm is an index into the program's map table
	PseudoMapIdxValue = 6 // lddw: like PseudoMapIdx, next imm an offset into its value
)

// Common opcodes.
const (
	OpLdImm64 = Opcode(uint8(ClassLD) | uint8(SizeDW) | uint8(ModeIMM)) // 0x18
	OpCall    = Opcode(uint8(ClassJMP) | uint8(JumpCall))               // 0x85
	OpCallX   = Opcode(uint8(ClassJMP) | uint8(JumpCall) | uint8(SourceX))
	OpExit    = Opcode(uint8(ClassJMP) | uint8(JumpExit)) // 0x95
	OpJa      = Opcode(uint8(ClassJMP) | uint8(JumpA))    // 0x05
	OpJa32    = Opcode(uint8(ClassJMP32) | uint8(JumpA))  // 0x06 gotol
)

// Class returns the instruction class.
func (o Opcode) Class() Class { return Class(o & 0x07) }

// Size returns the access size of a load/store opcode.
func (o Opcode) Size() Size { return Size(o & 0x18) }

// Mode returns the mode of a load/store opcode.
func (o Opcode) Mode() Mode { return Mode(o & 0xe0) }

// Source returns the operand source of an ALU/JMP opcode.
func (o Opcode) Source() Source { return Source(o & 0x08) }

// ALUOp returns the operation of an ALU/ALU64 opcode.
func (o Opcode) ALUOp() ALUOp { return ALUOp(o & 0xf0) }

// JumpOp returns the operation of a JMP/JMP32 opcode.
func (o Opcode) JumpOp() JumpOp { return JumpOp(o & 0xf0) }

// IsALU reports whether the class is ALU or ALU64.
func (c Class) IsALU() bool { return c == ClassALU || c == ClassALU64 }

// IsJump reports whether the class is JMP or JMP32.
func (c Class) IsJump() bool { return c == ClassJMP || c == ClassJMP32 }

// IsLoadStore reports whether the class is LD, LDX, ST or STX.
func (c Class) IsLoadStore() bool { return c <= ClassSTX }

// Bytes returns the number of bytes a Size accesses.
func (s Size) Bytes() int {
	switch s {
	case SizeW:
		return 4
	case SizeH:
		return 2
	case SizeB:
		return 1
	}
	return 8
}

// SizeOf returns the Size that accesses n bytes (1, 2, 4 or 8).
func SizeOf(n int) Size {
	switch n {
	case 1:
		return SizeB
	case 2:
		return SizeH
	case 4:
		return SizeW
	}
	return SizeDW
}

// ALU builds an ALU or ALU64 opcode.
func ALU(c Class, op ALUOp, s Source) Opcode { return Opcode(uint8(c) | uint8(op) | uint8(s)) }

// Jump builds a JMP or JMP32 opcode.
func Jump(c Class, op JumpOp, s Source) Opcode { return Opcode(uint8(c) | uint8(op) | uint8(s)) }

// Mem builds a load/store opcode.
func Mem(c Class, m Mode, s Size) Opcode { return Opcode(uint8(c) | uint8(m) | uint8(s)) }
