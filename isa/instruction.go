package isa

import (
	"encoding/binary"
	"fmt"
)

// Register is a BPF register number, R0–R10.
type Register uint8

const (
	R0 Register = iota
	R1
	R2
	R3
	R4
	R5
	R6
	R7
	R8
	R9
	R10 // read-only frame pointer
)

// RFP is the frame pointer.
const RFP = R10

// NumRegisters is the number of BPF registers.
const NumRegisters = 11

func (r Register) String() string { return fmt.Sprintf("r%d", uint8(r)) }

// InsnSize is the size in bytes of one instruction slot.
const InsnSize = 8

// Instruction is one 8-byte instruction slot, field for field as on the wire.
// The second slot of an lddw has Opcode 0 and carries the upper 32 bits in Imm.
type Instruction struct {
	Opcode Opcode
	Dst    Register // low nibble of byte 1
	Src    Register // high nibble of byte 1
	Off    int16
	Imm    int32
}

// Decode decodes one slot from b, which must hold at least 8 bytes.
func Decode(b []byte) Instruction {
	return Instruction{
		Opcode: Opcode(b[0]),
		Dst:    Register(b[1] & 0x0f),
		Src:    Register(b[1] >> 4),
		Off:    int16(binary.LittleEndian.Uint16(b[2:])),
		Imm:    int32(binary.LittleEndian.Uint32(b[4:])),
	}
}

// Encode writes the slot into b, which must hold at least 8 bytes.
// Register fields are truncated to their 4-bit nibbles.
func (in Instruction) Encode(b []byte) {
	b[0] = byte(in.Opcode)
	b[1] = byte(in.Dst&0x0f) | byte(in.Src&0x0f)<<4
	binary.LittleEndian.PutUint16(b[2:], uint16(in.Off))
	binary.LittleEndian.PutUint32(b[4:], uint32(in.Imm))
}

// DecodeAll decodes raw little-endian bytecode. The length must be a multiple of 8.
func DecodeAll(b []byte) ([]Instruction, error) {
	if len(b)%InsnSize != 0 {
		return nil, fmt.Errorf("bytecode length %d is not a multiple of %d", len(b), InsnSize)
	}
	insns := make([]Instruction, len(b)/InsnSize)
	for i := range insns {
		insns[i] = Decode(b[i*InsnSize:])
	}
	return insns, nil
}

// EncodeAll encodes instructions to raw little-endian bytecode.
func EncodeAll(insns []Instruction) []byte {
	b := make([]byte, len(insns)*InsnSize)
	for i, in := range insns {
		in.Encode(b[i*InsnSize:])
	}
	return b
}

// IsLdImm64 reports whether the slot is the first half of a 64-bit immediate load.
func (in Instruction) IsLdImm64() bool { return in.Opcode == OpLdImm64 }

// IsExit reports whether the instruction is exit.
func (in Instruction) IsExit() bool { return in.Opcode == OpExit }

// IsHelperCall reports whether the instruction calls a helper by static id (imm).
func (in Instruction) IsHelperCall() bool { return in.Opcode == OpCall && in.Src == 0 }

// IsLocalCall reports whether the instruction calls a BPF function at slot pc+1+imm.
func (in Instruction) IsLocalCall() bool { return in.Opcode == OpCall && in.Src == PseudoCall }

// IsCallX reports whether the instruction calls the helper whose id is in dst.
func (in Instruction) IsCallX() bool { return in.Opcode == OpCallX }

// IsFuncAddr reports whether the slot loads the address of a BPF function (lddw, src=4).
func (in Instruction) IsFuncAddr() bool { return in.IsLdImm64() && in.Src == PseudoFunc }

// IsMapLoad reports whether the slot is an lddw that references a map
// (by fd or by index, the map itself or a value address).
func (in Instruction) IsMapLoad() bool {
	if !in.IsLdImm64() {
		return false
	}
	switch in.Src {
	case PseudoMapFD, PseudoMapValue, PseudoMapIdx, PseudoMapIdxValue:
		return true
	}
	return false
}

// IsJump reports whether the instruction transfers control within the function
// (ja, gotol, conditional jumps); calls and exit are not jumps.
func (in Instruction) IsJump() bool {
	c := in.Opcode.Class()
	if !c.IsJump() {
		return false
	}
	op := in.Opcode.JumpOp()
	if op == JumpCall || op == JumpExit {
		return false
	}
	return true
}

// IsUnconditionalJump reports whether the instruction is ja or gotol.
func (in Instruction) IsUnconditionalJump() bool {
	return in.Opcode == OpJa || in.Opcode == OpJa32
}

// JumpOffset returns the slot offset of a jump: imm for gotol, off otherwise. Unlike the
// other methods it takes a pointer: compile-time scans call it on slots in place, and the
// value receiver made them copy the slot (about 1.6 machine instructions per slot of the
// JIT's stream scan).
func (in *Instruction) JumpOffset() int64 {
	if in.Opcode == OpJa32 {
		return int64(in.Imm)
	}
	return int64(in.Off)
}

// Imm64 combines the immediates of an lddw slot pair.
func Imm64(lo, hi Instruction) uint64 {
	return uint64(uint32(lo.Imm)) | uint64(uint32(hi.Imm))<<32
}

// LdImm64 returns the two slots of `dst = imm` (lddw) with the given pseudo source.
func LdImm64(dst Register, src Register, imm uint64) [2]Instruction {
	return [2]Instruction{
		{Opcode: OpLdImm64, Dst: dst, Src: src, Imm: int32(uint32(imm))},
		{Imm: int32(uint32(imm >> 32))},
	}
}
