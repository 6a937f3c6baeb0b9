package interp_test

import "github.com/bpfjit/bpfjit/isa"

// Small constructors so tests can build programs without the assembler.

const (
	r0, r1, r2, r3, r4, r5 = isa.R0, isa.R1, isa.R2, isa.R3, isa.R4, isa.R5
	r6, r7, r8, r9, r10    = isa.R6, isa.R7, isa.R8, isa.R9, isa.R10
)

func ins(op isa.Opcode, dst, src isa.Register, off int16, imm int32) isa.Instruction {
	return isa.Instruction{Opcode: op, Dst: dst, Src: src, Off: off, Imm: imm}
}

// aluK and aluX build ALU (is64 false) or ALU64 instructions with an immediate or register.
func aluK(is64 bool, op isa.ALUOp, dst isa.Register, imm int32) isa.Instruction {
	return ins(isa.ALU(class(is64), op, isa.SourceK), dst, 0, 0, imm)
}

func aluX(is64 bool, op isa.ALUOp, dst, src isa.Register) isa.Instruction {
	return ins(isa.ALU(class(is64), op, isa.SourceX), dst, src, 0, 0)
}

func class(is64 bool) isa.Class {
	if is64 {
		return isa.ClassALU64
	}
	return isa.ClassALU
}

// signed sets the offset that selects sdiv/smod (1) or movsx (8, 16, 32).
func signed(in isa.Instruction, off int16) isa.Instruction { in.Off = off; return in }

func mov(dst isa.Register, imm int32) isa.Instruction { return aluK(true, isa.ALUMov, dst, imm) }

func movX(dst, src isa.Register) isa.Instruction { return aluX(true, isa.ALUMov, dst, src) }

func lddw(dst isa.Register, v uint64) []isa.Instruction {
	p := isa.LdImm64(dst, 0, v)
	return p[:]
}

func jmpK(is32 bool, op isa.JumpOp, dst isa.Register, imm int32, off int16) isa.Instruction {
	c := isa.ClassJMP
	if is32 {
		c = isa.ClassJMP32
	}
	return ins(isa.Jump(c, op, isa.SourceK), dst, 0, off, imm)
}

func jmpX(is32 bool, op isa.JumpOp, dst, src isa.Register, off int16) isa.Instruction {
	c := isa.ClassJMP
	if is32 {
		c = isa.ClassJMP32
	}
	return ins(isa.Jump(c, op, isa.SourceX), dst, src, off, 0)
}

func ja(off int16) isa.Instruction { return ins(isa.OpJa, 0, 0, off, 0) }

func ldx(size isa.Size, dst, src isa.Register, off int16) isa.Instruction {
	return ins(isa.Mem(isa.ClassLDX, isa.ModeMEM, size), dst, src, off, 0)
}

func ldsx(size isa.Size, dst, src isa.Register, off int16) isa.Instruction {
	return ins(isa.Mem(isa.ClassLDX, isa.ModeMEMSX, size), dst, src, off, 0)
}

func st(size isa.Size, dst isa.Register, off int16, imm int32) isa.Instruction {
	return ins(isa.Mem(isa.ClassST, isa.ModeMEM, size), dst, 0, off, imm)
}

func stx(size isa.Size, dst, src isa.Register, off int16) isa.Instruction {
	return ins(isa.Mem(isa.ClassSTX, isa.ModeMEM, size), dst, src, off, 0)
}

func atomic(size isa.Size, op isa.AtomicOp, dst, src isa.Register, off int16) isa.Instruction {
	return ins(isa.Mem(isa.ClassSTX, isa.ModeATOMIC, size), dst, src, off, int32(op))
}

func call(id int32) isa.Instruction { return ins(isa.OpCall, 0, 0, 0, id) }

func callLocal(rel int32) isa.Instruction { return ins(isa.OpCall, 0, isa.PseudoCall, 0, rel) }

func callX(dst isa.Register) isa.Instruction { return ins(isa.OpCallX, dst, 0, 0, 0) }

var exit = ins(isa.OpExit, 0, 0, 0, 0)

// build flattens instructions and lddw pairs into one program.
func build(parts ...any) []isa.Instruction {
	var out []isa.Instruction
	for _, p := range parts {
		switch v := p.(type) {
		case isa.Instruction:
			out = append(out, v)
		case []isa.Instruction:
			out = append(out, v...)
		default:
			panic("build: unexpected part")
		}
	}
	return out
}

// ldPseudo is an lddw with a pseudo source (map, map value, function).
func ldPseudo(dst, src isa.Register, v uint64) []isa.Instruction {
	p := isa.LdImm64(dst, src, v)
	return p[:]
}
