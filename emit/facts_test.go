package emit_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/amd64"
	"github.com/bpfjit/bpfjit/emit/arm64"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
	"github.com/bpfjit/bpfjit/verifier"
)

func assemble(t *testing.T, text string) []isa.Instruction {
	t.Helper()
	insns, err := asm.Assemble(text)
	if err != nil {
		t.Fatal(err)
	}
	return insns
}

func backends() map[string]emit.Backend {
	return map[string]emit.Backend{"amd64": &amd64.Backend{}, "arm64": &arm64.Backend{}}
}

// slotSize is the number of native bytes of program slot i (not the last of its function).
func slotSize(img *emit.Image, i int) int { return img.Slot(i+1) - img.Slot(i) }

// A jump the facts show is never taken, and the slots only it reached, compile to nothing;
// every slot keeps a (now empty) native range.
func TestFactsDropNeverTakenJumpAndDeadSlots(t *testing.T) {
	insns := assemble(t, `
		mov %r0, 1
		jeq %r1, 77, +2
		add %r0, 2
		exit
		mov %r0, 0x12345
		exit`)
	n := len(insns)
	facts := &emit.Facts{Dead: make([]bool, n), Branch: make([]uint8, n)}
	facts.Branch[1] = emit.BranchFallThrough
	facts.Dead[4], facts.Dead[5] = true, true
	for name, be := range backends() {
		t.Run(name, func(t *testing.T) {
			plain, err := emit.Compile(insns, emit.Options{}, be)
			if err != nil {
				t.Fatal(err)
			}
			got, err := emit.Compile(insns, emit.Options{Facts: facts}, be)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Code) >= len(plain.Code) {
				t.Errorf("%d bytes with facts, %d without: nothing dropped", len(got.Code), len(plain.Code))
			}
			for _, i := range []int{1, 4} {
				if slotSize(got, i) != 0 {
					t.Errorf("slot %d: %d bytes, want none", i, slotSize(got, i))
				}
			}
			if got.Slot(5) != got.Funcs[0].Exit {
				t.Errorf("dead last slot starts at %d, want the epilogue at %d", got.Slot(5), got.Funcs[0].Exit)
			}
			for _, i := range []int{0, 2} {
				if slotSize(got, i) != slotSize(plain, i) {
					t.Errorf("live slot %d: %d bytes, want %d as without facts", i, slotSize(got, i), slotSize(plain, i))
				}
			}
		})
	}
}

// A jump the facts show is always taken compiles exactly as `ja` to the same target, and
// the caller's instructions are left as they were.
func TestFactsAlwaysTakenJumpBecomesJa(t *testing.T) {
	cond := assemble(t, "mov %r0, 1\njgt %r1, %r2, +1\nmov %r0, 2\nexit")
	uncond := assemble(t, "mov %r0, 1\nja +1\nmov %r0, 2\nexit")
	before := slices.Clone(cond)
	facts := &emit.Facts{Branch: []uint8{0, emit.BranchTaken, 0, 0}, Dead: []bool{false, false, true, false}}
	for name, be := range backends() {
		t.Run(name, func(t *testing.T) {
			want, err := emit.Compile(uncond, emit.Options{Facts: &emit.Facts{Dead: facts.Dead}}, be)
			if err != nil {
				t.Fatal(err)
			}
			got, err := emit.Compile(cond, emit.Options{Facts: facts}, be)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Code, want.Code) {
				t.Errorf("code differs from the ja program:\n got %x\nwant %x", got.Code, want.Code)
			}
			if !slices.Equal(cond, before) {
				t.Error("Compile rewrote the caller's instructions")
			}
		})
	}
}

// Both outcomes seen, or nothing known: the jump is compiled as it is.
func TestFactsKeepJumpsWithBothOutcomes(t *testing.T) {
	insns := assemble(t, "mov %r0, 1\njgt %r1, %r2, +1\nmov %r0, 2\nexit")
	for name, be := range backends() {
		plain, err := emit.Compile(insns, emit.Options{}, be)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []uint8{0, emit.BranchTaken | emit.BranchFallThrough} {
			got, err := emit.Compile(insns, emit.Options{Facts: &emit.Facts{Branch: []uint8{0, b, 0, 0}}}, be)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Code, plain.Code) {
				t.Errorf("%s: outcomes %#x changed the code", name, b)
			}
		}
	}
}

// A 32-bit move of a register onto itself is only a zero-extension: it is dropped when the
// facts show the upper half is never read, and kept otherwise (and under blinding).
func TestFactsDropUnreadZeroExtension(t *testing.T) {
	insns := assemble(t, "mov32 %r1, %r1\nmov %r0, 0\nexit")
	for name, be := range backends() {
		for _, tc := range []struct {
			zext  bool
			blind bool
			empty bool
		}{{false, false, true}, {true, false, false}, {false, true, false}} {
			f := &emit.Facts{ZeroExtend: []bool{tc.zext, false, false}}
			img, err := emit.Compile(insns, emit.Options{Facts: f, Blind: tc.blind}, be)
			if err != nil {
				t.Fatal(err)
			}
			if (slotSize(img, 0) == 0) != tc.empty {
				t.Errorf("%s zext=%v blind=%v: mov32 r1, r1 is %d bytes, want empty=%v", name, tc.zext, tc.blind, slotSize(img, 0), tc.empty)
			}
		}
	}
}

// be64 in the 32-bit class reads the whole register: the verifier's facts say so, and the
// zero-extension before it is kept.
func TestZextBeforeA64BitSwapInThe32BitClassIsKept(t *testing.T) {
	insns := []isa.Instruction{
		{Opcode: isa.ALU(isa.ClassALU, isa.ALUMov, isa.SourceX), Dst: isa.R1, Src: isa.R2},
		{Opcode: isa.ALU(isa.ClassALU, isa.ALUEnd, isa.SourceX), Dst: isa.R1, Imm: 64},
		{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceX), Dst: isa.R0, Src: isa.R1},
		{Opcode: isa.OpExit},
	}
	vf, err := verifier.Check(&isa.Program{Insns: insns}, verifier.Options{})
	if err != nil {
		t.Fatal(err)
	}
	facts := &emit.Facts{Dead: vf.Dead, Branch: vf.Branch, ZeroExtend: vf.ZeroExtend}
	img, err := emit.Compile(insns, emit.Options{Facts: facts}, &amd64.Backend{})
	if err != nil {
		t.Fatal(err)
	}
	if !vf.ZeroExtend[0] || slotSize(img, 0) == 0 {
		t.Errorf("mov32 r1, r2 dropped before a be64 that reads its upper half (ZeroExtend %v)", vf.ZeroExtend)
	}
}

func TestFactsOfAnotherProgramAreRejected(t *testing.T) {
	insns := assemble(t, "mov %r0, 0\nexit")
	_, err := emit.Compile(insns, emit.Options{Facts: &emit.Facts{Dead: make([]bool, 3)}}, &amd64.Backend{})
	if !errors.Is(err, emit.ErrFacts) {
		t.Fatalf("err = %v, want ErrFacts", err)
	}
}
