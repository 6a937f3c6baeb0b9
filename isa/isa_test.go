package isa_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/isa"
)

func conformancePrograms(t *testing.T) []conformance.Program {
	t.Helper()
	dir, ok := conformance.Dir()
	if !ok {
		t.Skipf("conformance suite not found (set %s)", conformance.EnvDir)
	}
	progs, err := conformance.LoadPrograms(dir)
	if err != nil {
		t.Fatal(err)
	}
	return progs
}

func TestEncodeDecodeIsIdentityOnConformancePrograms(t *testing.T) {
	for _, p := range conformancePrograms(t) {
		insns, err := isa.DecodeAll(p.Program)
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if got := isa.EncodeAll(insns); !bytes.Equal(got, p.Program) {
			t.Errorf("%s: encode(decode(b)) != b\n got %x\nwant %x", p.Name, got, p.Program)
		}
	}
}

func TestConformanceProgramsAreStructurallyValid(t *testing.T) {
	for _, p := range conformancePrograms(t) {
		insns, _ := isa.DecodeAll(p.Program)
		if err := isa.Validate(insns); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
}

func ins(op isa.Opcode, dst, src isa.Register, off int16, imm int32) isa.Instruction {
	return isa.Instruction{Opcode: op, Dst: dst, Src: src, Off: off, Imm: imm}
}

var (
	exit   = ins(isa.OpExit, 0, 0, 0, 0)
	mov0   = ins(isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), 0, 0, 0, 0)
	lddw   = isa.LdImm64(isa.R0, 0, 0x1122334455667788)
	jaBack = func(off int16) isa.Instruction { return ins(isa.OpJa, 0, 0, off, 0) }
)

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name  string
		insns []isa.Instruction
		index int
		err   error
	}{
		{"unknown opcode", []isa.Instruction{ins(0xff, 0, 0, 0, 0), exit}, 0, isa.ErrUnknownOpcode},
		{"neg with register source", []isa.Instruction{ins(0x8f, 0, 0, 0, 0), exit}, 0, isa.ErrUnknownOpcode},
		{"exit in jmp32", []isa.Instruction{ins(0x96, 0, 0, 0, 0), exit}, 0, isa.ErrUnknownOpcode},
		{"ldxdw sign-extending", []isa.Instruction{ins(0x99, 0, 1, 0, 0), exit}, 0, isa.ErrUnknownOpcode},
		{"bad dst register", []isa.Instruction{ins(0xb7, 11, 0, 0, 1), exit}, 0, isa.ErrBadRegister},
		{"bad src register", []isa.Instruction{ins(0xbf, 0, 12, 0, 0), exit}, 0, isa.ErrBadRegister},
		{"mov imm with src set", []isa.Instruction{ins(0xb7, 0, 1, 0, 1), exit}, 0, isa.ErrReservedField},
		{"add reg with imm set", []isa.Instruction{ins(0x0f, 0, 1, 0, 1), exit}, 0, isa.ErrReservedField},
		{"exit with imm", []isa.Instruction{mov0, ins(isa.OpExit, 0, 0, 0, 1)}, 1, isa.ErrReservedField},
		{"div offset 2", []isa.Instruction{ins(0x37, 0, 0, 2, 1), exit}, 0, isa.ErrReservedField},
		{"movsx32 offset 32", []isa.Instruction{ins(0xbc, 0, 1, 32, 0), exit}, 0, isa.ErrReservedField},
		{"bswap width 8", []isa.Instruction{ins(0xd7, 0, 0, 0, 8), exit}, 0, isa.ErrBadImmediate},
		{"atomic op unknown", []isa.Instruction{ins(0xdb, 1, 2, 0, 0x10), exit}, 0, isa.ErrBadImmediate},
		{"truncated lddw at end", []isa.Instruction{mov0, lddw[0]}, 1, isa.ErrTruncatedLdImm64},
		{"lddw second slot with opcode", []isa.Instruction{lddw[0], ins(0xb7, 0, 0, 0, 0), exit}, 1, isa.ErrTruncatedLdImm64},
		{"jump past end", []isa.Instruction{jaBack(5), exit}, 0, isa.ErrJumpOutOfRange},
		{"jump before start", []isa.Instruction{jaBack(-2), exit}, 0, isa.ErrJumpOutOfRange},
		{"jump into lddw", []isa.Instruction{jaBack(1), lddw[0], lddw[1], exit}, 0, isa.ErrJumpIntoLdImm64},
		{"fall through end", []isa.Instruction{mov0}, 0, isa.ErrFallThrough},
		{"fall through into next function",
			[]isa.Instruction{ins(isa.OpCall, 0, isa.PseudoCall, 0, 1), mov0, mov0, exit}, 1, isa.ErrFallThrough},
		{"jump into another function",
			[]isa.Instruction{ins(isa.OpCall, 0, isa.PseudoCall, 0, 2), jaBack(2), exit, mov0, exit}, 1, isa.ErrJumpOutOfRange},
		{"call out of range", []isa.Instruction{ins(isa.OpCall, 0, isa.PseudoCall, 0, 9), exit}, 0, isa.ErrJumpOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := isa.Validate(tt.insns)
			var ie *isa.InsnError
			if !errors.As(err, &ie) {
				t.Fatalf("want *InsnError, got %v", err)
			}
			if ie.Index != tt.index || !errors.Is(err, tt.err) {
				t.Fatalf("got %v (index %d), want index %d and %v", err, ie.Index, tt.index, tt.err)
			}
		})
	}
}

func TestValidateEmptyProgram(t *testing.T) {
	if err := isa.Validate(nil); !errors.Is(err, isa.ErrEmpty) {
		t.Fatalf("got %v", err)
	}
}

func TestSubprogramsSplitAtCallTargets(t *testing.T) {
	p := &isa.Program{Insns: []isa.Instruction{
		ins(isa.OpCall, 0, isa.PseudoCall, 0, 1), exit,
		mov0, exit,
	}, Funcs: []isa.FuncInfo{{Start: 2, Name: "helper"}}}
	subs := p.Subprograms()
	if len(subs) != 2 || subs[0].Start != 0 || subs[0].End != 2 || subs[1].Start != 2 || subs[1].End != 4 || subs[1].Name != "helper" {
		t.Fatalf("got %+v", subs)
	}
}
