package arm64

import (
	"fmt"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa"
)

// Edge values for the sweeps: the limits of imm12 (plain and shifted), of movz/movn, of
// the scaled and unscaled load/store offsets, of shift counts and of the signed ranges.
var (
	sweepImms = []int32{0, 1, -1, 2, 31, 32, 63, 64, 4095, 4096, -4095, -4096, 4097, 0xfff000, -0xfff000,
		0x1000000, 0xfff001, 0xffff, 0x10000, -0x10000, -0x10001, 0x12345, 0x7fffffff, -0x80000000, -0x7fffffff}
	sweepOffs = []int16{0, 1, -1, 2, 4, 7, 8, -8, 255, -256, 256, -257, 0x7ff8, 0x7fff, -0x8000, 4095, 8190, 16380, 32760}
	sweepRegs = []isa.Register{isa.R0, isa.R1, isa.R2, isa.R5, isa.R6, isa.R9, isa.R10}
	sweep64   = []uint64{0, 1, 0xffff, 0x10000, 0xffff0000, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
		0xffff00000000, 1<<63 - 1, 1 << 63, ^uint64(0), ^uint64(0xffff), ^uint64(0x10000), 0x123456789abcdef0,
		0x5555555555555555, 0x00ff00ff00ff00ff}
)

// TestFastLoopFormsMatchTheReference sweeps every opcode whose form the fast loop serves
// over every register pair and the edge immediates and offsets of its encodings (the
// values beyond them leave the loop), and requires the bytes of the reference.
func TestFastLoopFormsMatchTheReference(t *testing.T) {
	compiled, total, opcodes := 0, 0, 0
	for op := range 256 {
		before := compiled
		fm := forms[op]
		o := isa.Opcode(op)
		type variant struct {
			off int16
			imm int32
		}
		var vs []variant
		var lddw []uint64
		switch fm.kind {
		case formRegOp, formNeg, formCondJumpX, formJa:
			vs = []variant{{}}
		case formAddSubK, formShiftK, formMovK, formCondJump, formTestK, formMulK, formLogicK:
			for _, k := range sweepImms {
				vs = append(vs, variant{imm: k})
			}
		case formDivMod: // unsigned and signed (off 1)
			for _, off := range []int16{0, 1} {
				for _, k := range append(sweepImms, 8, 0x40000000) {
					if o.Source() == isa.SourceX {
						k = 0
					}
					vs = append(vs, variant{off: off, imm: k})
				}
			}
		case formMovX:
			for _, off := range []int16{0, 8, 16, 32, 24} {
				vs = append(vs, variant{off: off})
			}
		case formEnd:
			for _, k := range []int32{16, 32, 64, 8} {
				vs = append(vs, variant{imm: k})
			}
		case formLoad, formStore:
			for _, off := range sweepOffs {
				vs = append(vs, variant{off: off})
			}
		case formStoreK:
			for _, off := range sweepOffs {
				for _, k := range []int32{0, 1, -1, 0x10000, -0x10001, 0x12345} {
					vs = append(vs, variant{off: off, imm: k})
				}
			}
		case formAtomic:
			for _, off := range []int16{0, 8, -8, 4095, 4096, -4096, 4097, 0x7fff, -0x8000} {
				for _, k := range []int32{0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1, 0x70} {
					vs = append(vs, variant{off: off, imm: k})
				}
			}
		case formLD:
			lddw = sweep64
		default:
			continue
		}
		for _, d := range sweepRegs {
			for _, v := range vs {
				body := []isa.Instruction{{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK)}}
				srcs := []isa.Register{0} // a constant form: the source field is reserved
				switch {
				case fm.kind == formRegOp, fm.kind == formMovX, fm.kind == formLoad, fm.kind == formStore,
					fm.kind == formCondJumpX, fm.kind == formAtomic, fm.kind == formDivMod && o.Source() == isa.SourceX:
					srcs = sweepRegs
				}
				for _, s := range srcs {
					body = append(body, isa.Instruction{Opcode: o, Dst: d, Src: s, Off: v.off, Imm: v.imm})
				}
				total++
				name := fmt.Sprintf("op %#02x r%d off %d imm %#x", op, d, v.off, v.imm)
				if compileSwept(t, name, append(body, isa.Instruction{Opcode: isa.OpExit})) {
					compiled++
				}
			}
			for _, v := range lddw {
				ld := isa.LdImm64(d, 0, v)
				body := []isa.Instruction{{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK)}, ld[0], ld[1], {Opcode: isa.OpExit}}
				total++
				if compileSwept(t, fmt.Sprintf("lddw r%d %#x", d, v), body) {
					compiled++
				}
			}
		}
		if compiled > before {
			opcodes++
		}
	}
	// Validation rejects the reserved opcodes of each class and some variants (writes to
	// r10, shifts by the width or more): every opcode the fast loop serves must compile
	// in many, or the sweep checks nothing.
	t.Logf("%d of %d programs compiled, %d opcodes", compiled, total, opcodes)
	if opcodes < 120 || compiled < total/4 {
		t.Fatalf("only %d of %d programs compiled, of %d opcodes", compiled, total, opcodes)
	}
}

func compileSwept(t *testing.T, name string, insns []isa.Instruction) bool {
	t.Helper()
	ok := false
	for _, b := range backends {
		ok = compileBoth(t, name+" ("+b.name+")", b.be, insns, emit.Options{})
	}
	return ok
}

// firstRun lowers a range as LowerRange does and records where lowerRun first stopped.
type firstRun struct {
	*Backend
	stop *int
}

func (r firstRun) LowerRange(c *emit.Compiler, f *emit.Func, from, to int) error {
	*r.stop = lowerRun(c, from, to, r.useLSE())
	return r.lowerSlots(c, f, *r.stop, to, true)
}

// TestFastLoopServesTheCommonForms pins which forms the fast loop encodes itself and
// which it leaves to the reference, so that the sweep above compares something: a
// program of "mov r0, 0; the instruction; exit" is lowered in one run up to the exit
// exactly when the instruction's form is served.
func TestFastLoopServesTheCommonForms(t *testing.T) {
	alu := func(cl isa.Class, op isa.ALUOp, src isa.Source, d, s isa.Register, off int16, imm int32) []isa.Instruction {
		return []isa.Instruction{{Opcode: isa.ALU(cl, op, src), Dst: d, Src: s, Off: off, Imm: imm}}
	}
	mem := func(cl isa.Class, mode isa.Mode, sz isa.Size, d, s isa.Register, off int16, imm int32) []isa.Instruction {
		return []isa.Instruction{{Opcode: isa.Mem(cl, mode, sz), Dst: d, Src: s, Off: off, Imm: imm}}
	}
	jmp := func(cl isa.Class, op isa.JumpOp, src isa.Source, s isa.Register, imm int32) []isa.Instruction {
		return []isa.Instruction{{Opcode: isa.Jump(cl, op, src), Dst: isa.R1, Src: s, Imm: imm}}
	}
	lddw := func(v uint64) []isa.Instruction { ld := isa.LdImm64(isa.R1, 0, v); return ld[:] }
	const x, k = isa.SourceX, isa.SourceK
	tests := []struct {
		name   string
		insns  []isa.Instruction
		served bool
	}{
		{"add64 reg", alu(isa.ClassALU64, isa.ALUAdd, x, isa.R1, isa.R2, 0, 0), true},
		{"xor32 reg", alu(isa.ClassALU, isa.ALUXor, x, isa.R1, isa.R2, 0, 0), true},
		{"mul64 reg", alu(isa.ClassALU64, isa.ALUMul, x, isa.R1, isa.R2, 0, 0), true},
		{"sub64 imm12", alu(isa.ClassALU64, isa.ALUSub, k, isa.R1, 0, 0, 4095), true},
		{"add64 negative imm12<<12", alu(isa.ClassALU64, isa.ALUAdd, k, isa.R1, 0, 0, -0x5000), true},
		{"add64 imm beyond imm12", alu(isa.ClassALU64, isa.ALUAdd, k, isa.R1, 0, 0, 4097), false},
		{"lsh64 imm", alu(isa.ClassALU64, isa.ALULsh, k, isa.R1, 0, 0, 13), true},
		{"arsh32 imm", alu(isa.ClassALU, isa.ALUArsh, k, isa.R1, 0, 0, 31), true},
		{"lsh64 by 0", alu(isa.ClassALU64, isa.ALULsh, k, isa.R1, 0, 0, 0), false},
		{"mov64 movz", alu(isa.ClassALU64, isa.ALUMov, k, isa.R1, 0, 0, 0xffff), true},
		{"mov64 movn", alu(isa.ClassALU64, isa.ALUMov, k, isa.R1, 0, 0, -2), true},
		{"mov32 two words", alu(isa.ClassALU, isa.ALUMov, k, isa.R1, 0, 0, 0x12345), true},
		{"mov64 reg", alu(isa.ClassALU64, isa.ALUMov, x, isa.R1, isa.R2, 0, 0), true},
		{"mov32 reg onto itself", alu(isa.ClassALU, isa.ALUMov, x, isa.R1, isa.R1, 0, 0), false},
		{"movsx64 8", alu(isa.ClassALU64, isa.ALUMov, x, isa.R1, isa.R2, 8, 0), true},
		{"movsx32 16", alu(isa.ClassALU, isa.ALUMov, x, isa.R1, isa.R2, 16, 0), true},
		{"movsx64 32", alu(isa.ClassALU64, isa.ALUMov, x, isa.R1, isa.R2, 32, 0), true},
		{"be16", alu(isa.ClassALU, isa.ALUEnd, x, isa.R1, 0, 0, 16), true},
		{"le32", alu(isa.ClassALU, isa.ALUEnd, k, isa.R1, 0, 0, 32), true},
		{"bswap64", alu(isa.ClassALU64, isa.ALUEnd, k, isa.R1, 0, 0, 64), true},
		{"le64: no code", alu(isa.ClassALU, isa.ALUEnd, k, isa.R1, 0, 0, 64), false},
		{"neg64", alu(isa.ClassALU64, isa.ALUNeg, k, isa.R1, 0, 0, 0), true},
		{"and64 bitmask", alu(isa.ClassALU64, isa.ALUAnd, k, isa.R1, 0, 0, 0xff), true},
		{"xor32 through tmp", alu(isa.ClassALU, isa.ALUXor, k, isa.R1, 0, 0, 0x12345), true},
		{"or64 zero", alu(isa.ClassALU64, isa.ALUOr, k, isa.R1, 0, 0, 0), false},
		{"xor64 all ones", alu(isa.ClassALU64, isa.ALUXor, k, isa.R1, 0, 0, -1), false},
		{"mul64 imm", alu(isa.ClassALU64, isa.ALUMul, k, isa.R1, 0, 0, 7), true},
		{"mul32 power of two", alu(isa.ClassALU, isa.ALUMul, k, isa.R1, 0, 0, 8), true},
		{"mul64 by one", alu(isa.ClassALU64, isa.ALUMul, k, isa.R1, 0, 0, 1), false},
		{"div64 reg", alu(isa.ClassALU64, isa.ALUDiv, x, isa.R1, isa.R2, 0, 0), true},
		{"smod32 reg", alu(isa.ClassALU, isa.ALUMod, x, isa.R1, isa.R2, 1, 0), true},
		{"mod64 imm", alu(isa.ClassALU64, isa.ALUMod, k, isa.R1, 0, 0, 1000), true},
		{"div64 power of two", alu(isa.ClassALU64, isa.ALUDiv, k, isa.R1, 0, 0, 8), false},
		{"ldxdw scaled", mem(isa.ClassLDX, isa.ModeMEM, isa.SizeDW, isa.R1, isa.R2, 32760, 0), true},
		{"ldxb unscaled", mem(isa.ClassLDX, isa.ModeMEM, isa.SizeB, isa.R1, isa.R2, -256, 0), true},
		{"ldxsw", mem(isa.ClassLDX, isa.ModeMEMSX, isa.SizeW, isa.R1, isa.R2, 4, 0), true},
		{"ldxdw out of reach", mem(isa.ClassLDX, isa.ModeMEM, isa.SizeDW, isa.R1, isa.R2, -257, 0), false},
		{"stxdw unscaled", mem(isa.ClassSTX, isa.ModeMEM, isa.SizeDW, isa.R10, isa.R1, -8, 0), true},
		{"stxh misaligned", mem(isa.ClassSTX, isa.ModeMEM, isa.SizeH, isa.R10, isa.R1, -3, 0), true},
		{"st zero", mem(isa.ClassST, isa.ModeMEM, isa.SizeW, isa.R10, 0, -4, 0), true},
		{"st movn", mem(isa.ClassST, isa.ModeMEM, isa.SizeDW, isa.R10, 0, -8, -5), true},
		{"st wide", mem(isa.ClassST, isa.ModeMEM, isa.SizeW, isa.R10, 0, -4, 0x12345), false},
		{"atomic add", mem(isa.ClassSTX, isa.ModeATOMIC, isa.SizeDW, isa.R10, isa.R1, -8, int32(isa.AtomicAdd)), true},
		{"atomic cmpxchg32", mem(isa.ClassSTX, isa.ModeATOMIC, isa.SizeW, isa.R1, isa.R2, 0, int32(isa.AtomicCmpXchg)), true},
		{"atomic far offset", mem(isa.ClassSTX, isa.ModeATOMIC, isa.SizeDW, isa.R1, isa.R2, 4097, int32(isa.AtomicXchg)), false},
		{"lddw movz", lddw(0xffff0000), true},
		{"lddw wide", lddw(0x123456789), true},
		{"ja", []isa.Instruction{{Opcode: isa.OpJa}}, true},
		{"jeq reg", jmp(isa.ClassJMP, isa.JumpEQ, x, isa.R2, 0), true},
		{"jset32 reg", jmp(isa.ClassJMP32, isa.JumpSET, x, isa.R2, 0), true},
		{"jsgt imm", jmp(isa.ClassJMP, isa.JumpSGT, k, 0, -7), true},
		{"jne zero: cbnz", jmp(isa.ClassJMP, isa.JumpNE, k, 0, 0), true},
		{"jslt zero: cmp", jmp(isa.ClassJMP, isa.JumpSLT, k, 0, 0), true},
		{"jgt beyond imm12", jmp(isa.ClassJMP, isa.JumpGT, k, 0, 0x12345), false},
		{"jset imm", jmp(isa.ClassJMP, isa.JumpSET, k, 0, 1), false},
		{"call", []isa.Instruction{{Opcode: isa.OpCall, Imm: 1}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			insns := append([]isa.Instruction{{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK)}}, tc.insns...)
			insns = append(insns, isa.Instruction{Opcode: isa.OpExit})
			var stop int
			if _, err := emit.Compile(insns, emit.Options{}, firstRun{backends[0].be, &stop}); err != nil {
				t.Fatal(err)
			}
			if served := stop == len(insns)-1; served != tc.served {
				t.Fatalf("fast loop stopped at slot %d of %d: served %v, want %v", stop, len(insns), served, tc.served)
			}
		})
	}
}
