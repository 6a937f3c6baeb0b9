package amd64

import (
	"errors"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
	"golang.org/x/arch/x86/x86asm"
)

var testBackend = &Backend{GateEntryDisp: 0x40}

// decodeAll decodes code front to back and fails on any byte sequence x86asm rejects, so a
// lowering bug that emits garbage (or a branch into the middle of an instruction) shows.
func decodeAll(t *testing.T, code []byte) []int {
	t.Helper()
	var starts []int
	for off := 0; off < len(code); {
		in, err := x86asm.Decode(code[off:], 64)
		if err != nil {
			t.Fatalf("offset %#x: %x does not decode: %v", off, code[off:min(off+16, len(code))], err)
		}
		starts = append(starts, off)
		off += in.Len
	}
	return starts
}

func TestConformanceProgramsCompileToDecodableCode(t *testing.T) {
	dir, ok := conformance.Dir()
	if !ok {
		t.Skip("conformance suite not found")
	}
	tests, err := conformance.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, blind := range []bool{false, true} {
		for _, tc := range tests {
			insns, err := asm.Assemble(tc.Asm)
			if err != nil {
				t.Fatalf("%s: %v", tc.Name, err)
			}
			img, err := emit.Compile(insns, emit.Options{Blind: blind}, testBackend)
			if err != nil {
				t.Errorf("%s (blind=%v): %v", tc.Name, blind, err)
				continue
			}
			starts := decodeAll(t, img.Code)
			isStart := map[int]bool{}
			for _, s := range starts {
				isStart[s] = true
			}
			for i, off := range img.Slots {
				if off != len(img.Code) && !isStart[off] {
					t.Errorf("%s: slot %d starts at %#x, inside an instruction", tc.Name, i, off)
				}
			}
		}
	}
}

func TestCompileErrorsNameTheSlot(t *testing.T) {
	self := isa.Instruction{Opcode: isa.OpCall, Src: isa.PseudoCall, Imm: -1}
	exit := isa.Instruction{Opcode: isa.OpExit}
	call := func(off int32) isa.Instruction {
		return isa.Instruction{Opcode: isa.OpCall, Src: isa.PseudoCall, Imm: off}
	}
	// A chain of 9 frames: main calls f1 calls f2 ... f8.
	var chain []isa.Instruction
	for k := 0; k < 8; k++ {
		chain = append(chain, call(1), exit)
	}
	chain = append(chain, exit)
	tests := []struct {
		name  string
		insns []isa.Instruction
		err   error
		index int
	}{
		{"recursion", []isa.Instruction{call(1), exit, self, exit}, emit.ErrRecursion, 2},
		{"nine frames", chain, emit.ErrCallDepth, 0}, // reported at main's call that starts the chain
		{"legacy packet load", []isa.Instruction{{Opcode: isa.Mem(isa.ClassLD, isa.ModeABS, isa.SizeW)}, exit}, emit.ErrUnsupported, 0},
		{"kfunc", []isa.Instruction{{Opcode: isa.OpCall, Src: isa.PseudoKfuncCall, Imm: 7}, exit}, emit.ErrUnsupported, 0},
		{"structural", []isa.Instruction{{Opcode: 0xff}}, isa.ErrUnknownOpcode, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := emit.Compile(tc.insns, emit.Options{}, testBackend)
			var e *emit.Error
			if !errors.Is(err, tc.err) || !errors.As(err, &e) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if e.Index != tc.index {
				t.Errorf("error at slot %d, want %d (%v)", e.Index, tc.index, err)
			}
		})
	}
}
