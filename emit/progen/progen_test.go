package progen

import (
	"fmt"
	"testing"

	"github.com/bpfjit/bpfjit/isa"
)

// form identifies an instruction form: the opcode plus the fields that select a variant
// (signed div/mod, movsx width, byte-swap width, atomic operation).
func form(in isa.Instruction) string {
	op := in.Opcode
	switch c := op.Class(); {
	case c.IsALU():
		switch op.ALUOp() {
		case isa.ALUDiv, isa.ALUMod, isa.ALUMov:
			return fmt.Sprintf("%#02x/off%d", uint8(op), in.Off)
		case isa.ALUEnd:
			return fmt.Sprintf("%#02x/imm%d", uint8(op), in.Imm)
		}
	case c == isa.ClassSTX && op.Mode() == isa.ModeATOMIC:
		return fmt.Sprintf("%#02x/imm%#x", uint8(op), in.Imm)
	case c == isa.ClassJMP && op.JumpOp() == isa.JumpCall && op.Source() == isa.SourceK:
		return fmt.Sprintf("%#02x/src%d", uint8(op), in.Src)
	}
	return fmt.Sprintf("%#02x", uint8(op))
}

// allForms lists every instruction form of the ISA except legacy packet access, kfunc
// calls and the lddw pseudo sources that need a loader (maps, BTF, function addresses).
func allForms() []string {
	var out []string
	add := func(in isa.Instruction) { out = append(out, form(in)) }
	for _, c := range []isa.Class{isa.ClassALU, isa.ClassALU64} {
		for _, op := range aluOps {
			for _, s := range []isa.Source{isa.SourceK, isa.SourceX} {
				in := isa.Instruction{Opcode: isa.ALU(c, op, s)}
				switch op {
				case isa.ALUNeg:
					if s == isa.SourceX {
						continue
					}
				case isa.ALUDiv, isa.ALUMod:
					in.Off = 1
					add(in)
					in.Off = 0
				case isa.ALUMov:
					if s == isa.SourceX {
						for _, w := range []int16{8, 16, 32} {
							if w == 32 && c == isa.ClassALU {
								continue
							}
							in.Off = w
							add(in)
						}
						in.Off = 0
					}
				case isa.ALUEnd:
					if c == isa.ClassALU64 && s == isa.SourceX {
						continue
					}
					for _, w := range []int32{16, 32, 64} {
						in.Imm = w
						add(in)
					}
					continue
				}
				add(in)
			}
		}
	}
	for _, c := range []isa.Class{isa.ClassJMP, isa.ClassJMP32} {
		for _, op := range jumpOps {
			add(isa.Instruction{Opcode: isa.Jump(c, op, isa.SourceK)})
			add(isa.Instruction{Opcode: isa.Jump(c, op, isa.SourceX)})
		}
	}
	add(isa.Instruction{Opcode: isa.OpJa})
	add(isa.Instruction{Opcode: isa.OpJa32})
	add(isa.Instruction{Opcode: isa.OpExit})
	add(isa.Instruction{Opcode: isa.OpCall})
	add(isa.Instruction{Opcode: isa.OpCall, Src: isa.PseudoCall})
	add(isa.Instruction{Opcode: isa.OpCallX})
	add(isa.Instruction{Opcode: isa.OpLdImm64})
	for _, s := range sizes {
		add(isa.Instruction{Opcode: isa.Mem(isa.ClassLDX, isa.ModeMEM, s)})
		add(isa.Instruction{Opcode: isa.Mem(isa.ClassST, isa.ModeMEM, s)})
		add(isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeMEM, s)})
		if s != isa.SizeDW {
			add(isa.Instruction{Opcode: isa.Mem(isa.ClassLDX, isa.ModeMEMSX, s)})
		}
	}
	for _, s := range []isa.Size{isa.SizeW, isa.SizeDW} {
		for _, a := range []isa.AtomicOp{isa.AtomicAdd, isa.AtomicOr, isa.AtomicAnd, isa.AtomicXor} {
			add(isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeATOMIC, s), Imm: int32(a)})
			add(isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeATOMIC, s), Imm: int32(a | isa.AtomicFetch)})
		}
		add(isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeATOMIC, s), Imm: int32(isa.AtomicXchg)})
		add(isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeATOMIC, s), Imm: int32(isa.AtomicCmpXchg)})
	}
	return out
}

// The differential tests rely on this: 10,000 programs of the fixed seed cover every form
// and are structurally valid.
func TestTenThousandProgramsCoverEveryForm(t *testing.T) {
	seen := map[string]int{}
	g := New(4, Options{Helpers: []int32{1, 7}})
	for k := 0; k < 10000; k++ {
		insns := g.Program()
		if err := isa.Validate(insns); err != nil {
			t.Fatalf("program %d is invalid: %v", k, err)
		}
		for i := 0; i < len(insns); i++ {
			seen[form(insns[i])]++
			if insns[i].IsLdImm64() {
				i++
			}
		}
	}
	for _, f := range allForms() {
		if seen[f] == 0 {
			t.Errorf("form %s never generated", f)
		}
	}
}
