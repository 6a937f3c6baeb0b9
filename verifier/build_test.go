package verifier

import "github.com/bpfjit/bpfjit/isa"

// Small builders so that test programs read like the kernel's test_verifier macros.

type r = isa.Register

const (
	r0 = isa.R0
	r1 = isa.R1
	r2 = isa.R2
	r3 = isa.R3
	r4 = isa.R4
	r5 = isa.R5
	r6 = isa.R6
	r7 = isa.R7
	r8 = isa.R8
	r9 = isa.R9
	fp = isa.R10
)

func aluImm(c isa.Class, op isa.ALUOp, dst r, imm int32) isa.Instruction {
	return isa.Instruction{Opcode: isa.ALU(c, op, isa.SourceK), Dst: dst, Imm: imm}
}

func aluReg(c isa.Class, op isa.ALUOp, dst, src r) isa.Instruction {
	return isa.Instruction{Opcode: isa.ALU(c, op, isa.SourceX), Dst: dst, Src: src}
}

func mov(dst r, imm int32) isa.Instruction   { return aluImm(isa.ClassALU64, isa.ALUMov, dst, imm) }
func movr(dst, src r) isa.Instruction        { return aluReg(isa.ClassALU64, isa.ALUMov, dst, src) }
func mov32(dst r, imm int32) isa.Instruction { return aluImm(isa.ClassALU, isa.ALUMov, dst, imm) }
func mov32r(dst, src r) isa.Instruction      { return aluReg(isa.ClassALU, isa.ALUMov, dst, src) }
func add(dst r, imm int32) isa.Instruction   { return aluImm(isa.ClassALU64, isa.ALUAdd, dst, imm) }
func addr(dst, src r) isa.Instruction        { return aluReg(isa.ClassALU64, isa.ALUAdd, dst, src) }
func and(dst r, imm int32) isa.Instruction   { return aluImm(isa.ClassALU64, isa.ALUAnd, dst, imm) }
func lsh(dst r, imm int32) isa.Instruction   { return aluImm(isa.ClassALU64, isa.ALULsh, dst, imm) }
func rsh(dst r, imm int32) isa.Instruction   { return aluImm(isa.ClassALU64, isa.ALURsh, dst, imm) }
func alu(op isa.ALUOp, dst r, imm int32) isa.Instruction {
	return aluImm(isa.ClassALU64, op, dst, imm)
}
func alur(op isa.ALUOp, dst, src r) isa.Instruction { return aluReg(isa.ClassALU64, op, dst, src) }
func alu32(op isa.ALUOp, dst r, imm int32) isa.Instruction {
	return aluImm(isa.ClassALU, op, dst, imm)
}

func ldx(size int, dst, src r, off int16) isa.Instruction {
	return isa.Instruction{Opcode: isa.Mem(isa.ClassLDX, isa.ModeMEM, isa.SizeOf(size)), Dst: dst, Src: src, Off: off}
}

func ldxs(size int, dst, src r, off int16) isa.Instruction {
	return isa.Instruction{Opcode: isa.Mem(isa.ClassLDX, isa.ModeMEMSX, isa.SizeOf(size)), Dst: dst, Src: src, Off: off}
}

func stx(size int, dst r, off int16, src r) isa.Instruction {
	return isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeMEM, isa.SizeOf(size)), Dst: dst, Src: src, Off: off}
}

func st(size int, dst r, off int16, imm int32) isa.Instruction {
	return isa.Instruction{Opcode: isa.Mem(isa.ClassST, isa.ModeMEM, isa.SizeOf(size)), Dst: dst, Off: off, Imm: imm}
}

func atomic(size int, op isa.AtomicOp, dst r, off int16, src r) isa.Instruction {
	return isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeATOMIC, isa.SizeOf(size)), Dst: dst, Src: src, Off: off, Imm: int32(op)}
}

func jmp(op isa.JumpOp, dst r, imm int32, off int16) isa.Instruction {
	return isa.Instruction{Opcode: isa.Jump(isa.ClassJMP, op, isa.SourceK), Dst: dst, Imm: imm, Off: off}
}

func jmpr(op isa.JumpOp, dst, src r, off int16) isa.Instruction {
	return isa.Instruction{Opcode: isa.Jump(isa.ClassJMP, op, isa.SourceX), Dst: dst, Src: src, Off: off}
}

func jmp32(op isa.JumpOp, dst r, imm int32, off int16) isa.Instruction {
	return isa.Instruction{Opcode: isa.Jump(isa.ClassJMP32, op, isa.SourceK), Dst: dst, Imm: imm, Off: off}
}

func jmp32r(op isa.JumpOp, dst, src r, off int16) isa.Instruction {
	return isa.Instruction{Opcode: isa.Jump(isa.ClassJMP32, op, isa.SourceX), Dst: dst, Src: src, Off: off}
}

func ja(off int16) isa.Instruction { return isa.Instruction{Opcode: isa.OpJa, Off: off} }
func exit() isa.Instruction        { return isa.Instruction{Opcode: isa.OpExit} }
func call(id int32) isa.Instruction {
	return isa.Instruction{Opcode: isa.OpCall, Imm: id}
}
func callLocal(off int32) isa.Instruction {
	return isa.Instruction{Opcode: isa.OpCall, Src: isa.PseudoCall, Imm: off}
}

func lddw(dst r, v uint64) [2]isa.Instruction { return isa.LdImm64(dst, 0, v) }
func ldmap(dst r, idx int) [2]isa.Instruction {
	return isa.LdImm64(dst, isa.PseudoMapIdx, uint64(idx))
}
func ldmapValue(dst r, idx int, off uint32) [2]isa.Instruction {
	return isa.LdImm64(dst, isa.PseudoMapIdxValue, uint64(uint32(idx))|uint64(off)<<32)
}

// label marks the slot of the next instruction; to(in, name) is a jump or local call whose
// offset prog fills in from the label.
type label string

type fix struct {
	in     isa.Instruction
	target string
}

func to(in isa.Instruction, target string) fix { return fix{in, target} }

// prog flattens instructions, lddw pairs, labels and labelled jumps into slots.
func prog(parts ...any) []isa.Instruction {
	var out []isa.Instruction
	labels := map[string]int{}
	type pending struct {
		at     int
		target string
	}
	var fixes []pending
	var walk func(p any)
	walk = func(p any) {
		switch x := p.(type) {
		case isa.Instruction:
			out = append(out, x)
		case [2]isa.Instruction:
			out = append(out, x[0], x[1])
		case []isa.Instruction:
			out = append(out, x...)
		case label:
			labels[string(x)] = len(out)
		case fix:
			fixes = append(fixes, pending{len(out), x.target})
			out = append(out, x.in)
		case []any:
			for _, q := range x {
				walk(q)
			}
		default:
			panic("prog: unexpected part")
		}
	}
	for _, p := range parts {
		walk(p)
	}
	for _, f := range fixes {
		t, ok := labels[f.target]
		if !ok {
			panic("prog: no label " + f.target)
		}
		d := t - f.at - 1
		if out[f.at].Opcode == isa.OpCall || out[f.at].Opcode == isa.OpJa32 {
			out[f.at].Imm = int32(d)
		} else {
			out[f.at].Off = int16(d)
		}
	}
	return out
}

// Common map tables.
var (
	hashMap8  = MapInfo{Type: MapTypeHash, KeySize: 4, ValueSize: 8, MaxEntries: 16}
	array48   = MapInfo{Type: MapTypeArray, KeySize: 4, ValueSize: 48, MaxEntries: 4}
	global48  = MapInfo{Type: MapTypeArray, KeySize: 4, ValueSize: 48, MaxEntries: 1}
	progArray = MapInfo{Type: MapTypeProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 8}
)

// lookup is the usual prologue: key 0 on the stack, r0 = lookup(map idx, &key).
func lookup(idx int) []isa.Instruction {
	return prog(
		st(4, fp, -4, 0),
		movr(r2, fp),
		add(r2, -4),
		ldmap(r1, idx),
		call(HelperMapLookupElem),
	)
}
