package arm64

import (
	"errors"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
	"golang.org/x/arch/arm64/arm64asm"
)

// backends covers both atomic lowerings; GateEntryDisp is bridge.CtxGateEntry.
var backends = []struct {
	name string
	be   *Backend
}{
	{"lse", &Backend{GateEntryDisp: 40, Atomics: AtomicLSE}},
	{"exclusive", &Backend{GateEntryDisp: 40, Atomics: AtomicExclusive}},
}

// isLSEWord reports whether w is one of the LSE atomics this package emits, which
// arm64asm cannot decode.
func isLSEWord(w uint32) bool {
	const (
		lseMask, lse = 0x3fe00c00, 0x38e00000 // ld<op>al/swpal: any size, Rs, op, Rn, Rt
		casMask, cas = 0x3fe0fc00, 0x08e0fc00 // casal: any size, Rs, Rn, Rt
	)
	return w&lseMask == lse || w&casMask == cas
}

// checkImage decodes every instruction word of img (skipping relocation data) and
// requires each pc-relative target to lie inside the code on an instruction.
func checkImage(t *testing.T, name string, img *emit.Image) {
	t.Helper()
	if len(img.Code)%4 != 0 {
		t.Fatalf("%s: code is %d bytes, not whole instructions", name, len(img.Code))
	}
	data := map[int]bool{}
	for _, r := range img.Relocs {
		if r.Off%4 != 0 {
			t.Errorf("%s: relocation at %#x is not word aligned", name, r.Off)
		}
		data[r.Off], data[r.Off+4] = true, true
	}
	for off := 0; off < len(img.Code); off += 4 {
		if data[off] {
			continue
		}
		w := uint32(img.Code[off]) | uint32(img.Code[off+1])<<8 | uint32(img.Code[off+2])<<16 | uint32(img.Code[off+3])<<24
		if _, err := arm64asm.Decode(img.Code[off : off+4]); err != nil && !isLSEWord(w) {
			t.Fatalf("%s: word %#08x at %#x does not decode: %v", name, w, off, err)
		}
		if rel, ok := BranchOffset(Inst(w)); ok && Inst(w).Kind() != KindAdr {
			if to := off + int(rel); to < 0 || to >= len(img.Code) || data[to] {
				t.Errorf("%s: branch at %#x targets %#x, outside the code", name, off, to)
			}
		}
	}
	for i, off := range img.Slots {
		if off%4 != 0 || int(off) > len(img.Code) {
			t.Errorf("%s: slot %d at %#x is not an instruction boundary", name, i, off)
		}
	}
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
	for _, b := range backends {
		for _, blind := range []bool{false, true} {
			for _, tc := range tests {
				insns, err := asm.Assemble(tc.Asm)
				if err != nil {
					t.Fatalf("%s: %v", tc.Name, err)
				}
				img, err := emit.Compile(insns, emit.Options{Blind: blind}, b.be)
				if err != nil {
					t.Errorf("%s (%s, blind=%v): %v", tc.Name, b.name, blind, err)
					continue
				}
				checkImage(t, tc.Name, img)
			}
		}
	}
}

func TestCompileErrorsNameTheSlot(t *testing.T) {
	exit := isa.Instruction{Opcode: isa.OpExit}
	tests := []struct {
		name  string
		insns []isa.Instruction
		err   error
		index int
	}{
		{"legacy packet load", []isa.Instruction{{Opcode: isa.Mem(isa.ClassLD, isa.ModeABS, isa.SizeW)}, exit}, emit.ErrUnsupported, 0},
		{"kfunc", []isa.Instruction{{Opcode: isa.OpCall, Src: isa.PseudoKfuncCall, Imm: 7}, exit}, emit.ErrUnsupported, 0},
		{"recursion", []isa.Instruction{{Opcode: isa.OpCall, Src: isa.PseudoCall, Imm: 1}, exit,
			{Opcode: isa.OpCall, Src: isa.PseudoCall, Imm: -1}, exit}, emit.ErrRecursion, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := emit.Compile(tc.insns, emit.Options{}, backends[0].be)
			var e *emit.Error
			if !errors.Is(err, tc.err) || !errors.As(err, &e) || e.Index != tc.index {
				t.Fatalf("err = %v, want %v at slot %d", err, tc.err, tc.index)
			}
		})
	}
}

// TestBranchEncoderForms pins the sizes and reach the linker sees and the words it
// gets for each branch kind in both forms.
func TestBranchEncoderForms(t *testing.T) {
	be := backends[0].be
	cases := []struct {
		name     string
		kind     uint8
		arg      uint8
		long     bool
		from, to int
		want     []string
	}{
		{"b", kindB, 0, false, 0, 8, []string{"b .+8"}},
		{"bl back", kindBL, 0, false, 16, 0, []string{"bl .-16"}},
		{"b.cond short", kindBCond, uint8(GT), false, 0, BCondMax, []string{"b.gt .+1048572"}},
		{"b.cond long", kindBCond, uint8(LO), true, 0, 1 << 21, []string{"b.cs .+8", "b .+2097148"}},
		{"b.cond long back", kindBCond, uint8(EQ), true, 1 << 21, 0, []string{"b.ne .+8", "b .-2097156"}},
		{"cbz short", kindCB, cbArg(X4, W32, false), false, 0, -8, []string{"cbz w4, .-8"}},
		{"cbnz long", kindCB, cbArg(X4, W64, true), true, 0, 1 << 21, []string{"cbz x4, .+8", "b .+2097148"}},
		{"adr short", kindAdr, uint8(X3), false, 8, 0, []string{"adr x3, .-8"}},
		{"adr long", kindAdr, uint8(X3), true, 0, 3 << 20, []string{"adr x3, .+0", "mov x16, #0x0", "movk x16, #0x30, lsl #16", "add x3, x3, x16"}},
		{"adr long back", kindAdr, uint8(X3), true, 3 << 20, 4, []string{"adr x3, .+0", "mov x16, #0xfffc", "movk x16, #0x2f, lsl #16", "sub x3, x3, x16"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			size := be.BranchSize(c.kind, c.long)
			if size != 4*len(c.want) {
				t.Fatalf("BranchSize = %d, want %d", size, 4*len(c.want))
			}
			dst := make([]byte, size)
			if err := be.PutBranch(dst, emit.Branch{Kind: c.kind, Arg: c.arg, Long: c.long}, c.from, c.to); err != nil {
				t.Fatal(err)
			}
			for k, want := range c.want {
				w := uint32(dst[4*k]) | uint32(dst[4*k+1])<<8 | uint32(dst[4*k+2])<<16 | uint32(dst[4*k+3])<<24
				if got := gnu(w); got != want {
					t.Errorf("word %d = %q, want %q", k, got, want)
				}
			}
		})
	}
	if be.ShortReaches(kindBCond, 0, BCondMax+4) || !be.ShortReaches(kindBCond, 4, BCondMax+4) {
		t.Error("ShortReaches(b.cond) disagrees with the encoder's reach")
	}
	if be.BranchSize(kindB, true) != 4 || be.BranchSize(kindBL, true) != 4 {
		t.Error("b and bl must have a single 4-byte form")
	}
	if err := be.PutBranch(make([]byte, 4), emit.Branch{Kind: kindB}, 0, BMax+4); err == nil {
		t.Error("b beyond 128 MiB was encoded")
	}
}

// TestFarConditionalBranchCompiles builds a valid program whose conditional jump
// crosses more than 1 MiB of code, and checks that the linker chose the long form
// and that it lands on the target slot.
func TestFarConditionalBranchCompiles(t *testing.T) {
	insns, target := farBranchProgram()
	for _, b := range backends[1:] { // exclusive atomics make the body large enough
		img, err := emit.Compile(insns, emit.Options{}, b.be)
		if err != nil {
			t.Fatal(err)
		}
		from := img.Slot(1)
		if img.Slot(target)-from <= 1<<20 {
			t.Fatalf("span is %d bytes, not beyond 1 MiB", img.Slot(target)-from)
		}
		// Slot 1 is "jeq r2, 0": the long form of cbz is cbnz +8; b target.
		w := func(off int) Inst {
			return Inst(uint32(img.Code[off]) | uint32(img.Code[off+1])<<8 | uint32(img.Code[off+2])<<16 | uint32(img.Code[off+3])<<24)
		}
		skip, jump := w(from), w(from+4)
		if skip.Kind() != KindCB || jump.Kind() != KindB {
			t.Fatalf("slot 1 is %s; %s, want cbnz; b", gnu(uint32(skip)), gnu(uint32(jump)))
		}
		if off, _ := BranchOffset(skip); off != 8 {
			t.Errorf("cbnz skips %d bytes, want 8", off)
		}
		if off, _ := BranchOffset(jump); from+4+int(off) != img.Slot(target) {
			t.Errorf("long branch lands at %#x, want slot %d at %#x", from+4+int(off), target, img.Slot(target))
		}
		checkImage(t, "far", img)
	}
}

// farBranchProgram returns "r0 = 0; if r2 == 0 goto out; <32767 slots>; out: ..."
// where each skipped slot is a 64-bit cmpxchg at an offset that needs a register,
// which the exclusive-monitor lowering turns into 9 instructions: the jump spans
// about 1.18 MB. It returns the program and the jump's target slot.
func farBranchProgram() ([]isa.Instruction, int) {
	const body = 32767
	insns := []isa.Instruction{
		{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: isa.R0, Imm: 0},
		{Opcode: isa.Jump(isa.ClassJMP, isa.JumpEQ, isa.SourceK), Dst: isa.R2, Off: body},
	}
	for k := 0; k < body; k++ {
		insns = append(insns, isa.Instruction{
			Opcode: isa.Mem(isa.ClassSTX, isa.ModeATOMIC, isa.SizeDW),
			Dst:    isa.R1, Src: isa.R3, Off: -4104, Imm: int32(isa.AtomicCmpXchg),
		})
	}
	target := len(insns)
	insns = append(insns,
		isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUAdd, isa.SourceK), Dst: isa.R0, Imm: 1000},
		isa.Instruction{Opcode: isa.OpExit})
	return insns, target
}
