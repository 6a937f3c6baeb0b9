package interp

import "github.com/bpfjit/bpfjit/isa"

// insn is one pre-decoded slot. The opcode is renumbered into a dense internal code so the
// interpreter's switch compiles to a jump table, and every variant the RFC distinguishes by
// offset or immediate (sdiv, movsx, END width, immediate vs register) has its own code.
type insn struct {
	op  uint8
	dst uint8
	src uint8
	_   uint8
	off int32  // jumps, calls: absolute target slot; ST: memory offset
	k   uint64 // immediate sign-extended to 64 bits; LDX/STX/atomics: memory offset; lddw: value
}

// Internal opcodes. The ALU and conditional-jump blocks are laid out in groups of four
// (64-bit imm, 64-bit reg, 32-bit imm, 32-bit reg) so decode can compute them.
const (
	opInvalid uint8 = iota // second slot of lddw: never executed

	opAdd64K
	opAdd64X
	opAdd32K
	opAdd32X
	opSub64K
	opSub64X
	opSub32K
	opSub32X
	opMul64K
	opMul64X
	opMul32K
	opMul32X
	opDiv64K
	opDiv64X
	opDiv32K
	opDiv32X
	opSdiv64K
	opSdiv64X
	opSdiv32K
	opSdiv32X
	opMod64K
	opMod64X
	opMod32K
	opMod32X
	opSmod64K
	opSmod64X
	opSmod32K
	opSmod32X
	opOr64K
	opOr64X
	opOr32K
	opOr32X
	opAnd64K
	opAnd64X
	opAnd32K
	opAnd32X
	opXor64K
	opXor64X
	opXor32K
	opXor32X
	opLsh64K
	opLsh64X
	opLsh32K
	opLsh32X
	opRsh64K
	opRsh64X
	opRsh32K
	opRsh32X
	opArsh64K
	opArsh64X
	opArsh32K
	opArsh32X
	opMov64K
	opMov64X
	opMov32K
	opMov32X

	opNeg64
	opNeg32
	opMovsx64B
	opMovsx64H
	opMovsx64W
	opMovsx32B
	opMovsx32H
	opLe16 // to-LE on a little-endian host: truncate
	opLe32
	opLe64
	opBswap16 // to-BE on a little-endian host, and ALU64 bswap
	opBswap32
	opBswap64

	opJeq64K
	opJeq64X
	opJeq32K
	opJeq32X
	opJgt64K
	opJgt64X
	opJgt32K
	opJgt32X
	opJge64K
	opJge64X
	opJge32K
	opJge32X
	opJset64K
	opJset64X
	opJset32K
	opJset32X
	opJne64K
	opJne64X
	opJne32K
	opJne32X
	opJsgt64K
	opJsgt64X
	opJsgt32K
	opJsgt32X
	opJsge64K
	opJsge64X
	opJsge32K
	opJsge32X
	opJlt64K
	opJlt64X
	opJlt32K
	opJlt32X
	opJle64K
	opJle64X
	opJle32K
	opJle32X
	opJslt64K
	opJslt64X
	opJslt32K
	opJslt32X
	opJsle64K
	opJsle64X
	opJsle32K
	opJsle32X

	opJa // goto and gotol alike: off holds the target
	opCall
	opCallLocal
	opCallX
	opCallKfunc
	opExit

	opLdImm64
	opLdLegacy // LD ABS/IND

	opLdxB
	opLdxH
	opLdxW
	opLdxDW
	opLdxsB
	opLdxsH
	opLdxsW
	opStB
	opStH
	opStW
	opStDW
	opStxB
	opStxH
	opStxW
	opStxDW
	opAtomic32
	opAtomic64

	numOps
)

// aluIndex orders isa.ALUOp values as the op* ALU block does; -1 for the ops outside it.
func aluIndex(op isa.ALUOp) int {
	switch op {
	case isa.ALUAdd:
		return 0
	case isa.ALUSub:
		return 1
	case isa.ALUMul:
		return 2
	case isa.ALUDiv:
		return 3 // 4 when signed
	case isa.ALUMod:
		return 5 // 6 when signed
	case isa.ALUOr:
		return 7
	case isa.ALUAnd:
		return 8
	case isa.ALUXor:
		return 9
	case isa.ALULsh:
		return 10
	case isa.ALURsh:
		return 11
	case isa.ALUArsh:
		return 12
	case isa.ALUMov:
		return 13
	}
	return -1
}

// jumpIndex orders isa.JumpOp conditions as the op* jump block does; -1 otherwise.
func jumpIndex(op isa.JumpOp) int {
	switch op {
	case isa.JumpEQ:
		return 0
	case isa.JumpGT:
		return 1
	case isa.JumpGE:
		return 2
	case isa.JumpSET:
		return 3
	case isa.JumpNE:
		return 4
	case isa.JumpSGT:
		return 5
	case isa.JumpSGE:
		return 6
	case isa.JumpLT:
		return 7
	case isa.JumpLE:
		return 8
	case isa.JumpSLT:
		return 9
	case isa.JumpSLE:
		return 10
	}
	return -1
}

// variant is the offset inside a group of four: imm/reg, 64/32.
func variant(in isa.Instruction, is32 bool) uint8 {
	v := uint8(0)
	if in.Opcode.Source() == isa.SourceX {
		v++
	}
	if is32 {
		v += 2
	}
	return v
}

// decode translates one validated instruction (not lddw) found at slot i.
func decode(i int, in isa.Instruction) insn {
	d := insn{dst: uint8(in.Dst), src: uint8(in.Src), k: uint64(int64(in.Imm))}
	op := in.Opcode
	switch op.Class() {
	case isa.ClassALU, isa.ClassALU64:
		is32 := op.Class() == isa.ClassALU
		a := op.ALUOp()
		switch {
		case a == isa.ALUNeg:
			d.op = opNeg64
			if is32 {
				d.op = opNeg32
			}
		case a == isa.ALUEnd:
			swap := !is32 || op.Source() == isa.SourceX // bswap, or to-BE
			switch {
			case in.Imm == 16 && swap:
				d.op = opBswap16
			case in.Imm == 32 && swap:
				d.op = opBswap32
			case in.Imm == 64 && swap:
				d.op = opBswap64
			case in.Imm == 16:
				d.op = opLe16
			case in.Imm == 32:
				d.op = opLe32
			default:
				d.op = opLe64
			}
		case a == isa.ALUMov && op.Source() == isa.SourceX && in.Off != 0:
			switch {
			case is32 && in.Off == 8:
				d.op = opMovsx32B
			case is32:
				d.op = opMovsx32H
			case in.Off == 8:
				d.op = opMovsx64B
			case in.Off == 16:
				d.op = opMovsx64H
			default:
				d.op = opMovsx64W
			}
		default:
			idx := aluIndex(a)
			if (a == isa.ALUDiv || a == isa.ALUMod) && in.Off == 1 {
				idx++
			}
			d.op = opAdd64K + uint8(4*idx) + variant(in, is32)
		}
	case isa.ClassJMP, isa.ClassJMP32:
		is32 := op.Class() == isa.ClassJMP32
		d.off = int32(int64(i) + 1 + in.JumpOffset())
		switch op.JumpOp() {
		case isa.JumpA:
			d.op = opJa
		case isa.JumpCall:
			switch {
			case op.Source() == isa.SourceX:
				d.op = opCallX
			case in.Src == isa.PseudoCall:
				d.op = opCallLocal
				d.off = int32(int64(i) + 1 + int64(in.Imm))
			case in.Src == isa.PseudoKfuncCall:
				d.op = opCallKfunc
			default:
				d.op = opCall
			}
		case isa.JumpExit:
			d.op = opExit
		default:
			d.op = opJeq64K + uint8(4*jumpIndex(op.JumpOp())) + variant(in, is32)
		}
	case isa.ClassLD:
		d.op = opLdLegacy
	case isa.ClassLDX:
		d.k = uint64(int64(in.Off))
		sx := op.Mode() == isa.ModeMEMSX
		switch op.Size() {
		case isa.SizeB:
			d.op = pick(sx, opLdxsB, opLdxB)
		case isa.SizeH:
			d.op = pick(sx, opLdxsH, opLdxH)
		case isa.SizeW:
			d.op = pick(sx, opLdxsW, opLdxW)
		default:
			d.op = opLdxDW
		}
	case isa.ClassST:
		d.off = int32(in.Off)
		d.op = opStB + sizeIndex(op.Size())
	case isa.ClassSTX:
		d.k = uint64(int64(in.Off))
		if op.Mode() == isa.ModeATOMIC {
			d.off = in.Imm // the atomic operation
			d.op = pick(op.Size() == isa.SizeW, opAtomic32, opAtomic64)
		} else {
			d.op = opStxB + sizeIndex(op.Size())
		}
	}
	return d
}

func pick(c bool, a, b uint8) uint8 {
	if c {
		return a
	}
	return b
}

func sizeIndex(s isa.Size) uint8 {
	switch s {
	case isa.SizeB:
		return 0
	case isa.SizeH:
		return 1
	case isa.SizeW:
		return 2
	}
	return 3
}
