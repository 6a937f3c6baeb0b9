package amd64

import (
	"bytes"
	"errors"
	"sync"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/progen"
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
				if int(off) != len(img.Code) && !isStart[int(off)] {
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
		{"tail call", []isa.Instruction{{Opcode: isa.OpCall, Imm: 12}, exit}, emit.ErrTailCall, 0},
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

// branchTargets decodes code and returns, for every jump or call, its offset and target.
func branchTargets(t *testing.T, code []byte) map[int]int {
	t.Helper()
	out := map[int]int{}
	for _, off := range decodeAll(t, code) {
		in, _ := x86asm.Decode(code[off:], 64)
		if rel, ok := in.Args[0].(x86asm.Rel); ok {
			out[off] = off + in.Len + int(rel)
		}
	}
	return out
}

func TestEveryBranchLandsOnItsTargetSlot(t *testing.T) {
	// Jumps over growing stretches of code cross the rel8 limit at different points, and
	// shrinking one changes the distances of the others: the layout must stay exact.
	var insns []isa.Instruction
	mov := isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: isa.R0, Imm: 1000} // 5 bytes
	const n = 60
	for k := 0; k < n; k++ {
		insns = append(insns, isa.Instruction{Opcode: isa.Jump(isa.ClassJMP, isa.JumpEQ, isa.SourceK), Dst: isa.R1, Imm: int32(k), Off: int16(2 * k)})
		insns = append(insns, mov)
	}
	for k := 0; k < 2*n; k++ {
		insns = append(insns, mov)
	}
	insns = append(insns, isa.Instruction{Opcode: isa.OpJa, Off: -int16(len(insns) + 1)}, isa.Instruction{Opcode: isa.OpExit})
	for _, blind := range []bool{false, true} {
		img, err := emit.Compile(insns, emit.Options{Blind: blind}, testBackend)
		if err != nil {
			t.Fatal(err)
		}
		targets := branchTargets(t, img.Code)
		short, long := 0, 0
		for k := 0; k < n; k++ {
			slot := 2 * k
			want := img.Slot(slot + 1 + 2*k)
			// The jcc is the last instruction of the slot's code.
			found := false
			for off, to := range targets {
				if off >= img.Slot(slot) && off < img.Slot(slot+1) {
					found = true
					if to != want {
						t.Errorf("blind=%v: jump at slot %d lands at %#x, want %#x", blind, slot, to, want)
					}
					if img.Slot(slot+1)-off == 2 {
						short++
					} else {
						long++
					}
				}
			}
			if !found {
				t.Fatalf("no branch found for slot %d", slot)
			}
		}
		if short == 0 || long == 0 {
			t.Errorf("blind=%v: %d short and %d long jumps; the test should exercise both", blind, short, long)
		}
		back := img.Slot(len(insns) - 2)
		if to := targets[back]; to != img.Slot(0) {
			t.Errorf("backward jump lands at %#x, want %#x", to, img.Slot(0))
		}
	}
}

func TestBlindingHidesImmediates(t *testing.T) {
	const secret = 0x3a5c7e91
	hi := isa.LdImm64(isa.R2, 0, 0x1122334455667788)
	insns := []isa.Instruction{
		{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: isa.R0, Imm: secret},
		{Opcode: isa.ALU(isa.ClassALU, isa.ALUAdd, isa.SourceK), Dst: isa.R0, Imm: secret},
		{Opcode: isa.ALU(isa.ClassALU64, isa.ALUDiv, isa.SourceK), Dst: isa.R0, Imm: secret},
		{Opcode: isa.Jump(isa.ClassJMP32, isa.JumpGT, isa.SourceK), Dst: isa.R0, Imm: secret, Off: 1},
		{Opcode: isa.Mem(isa.ClassST, isa.ModeMEM, isa.SizeW), Dst: isa.R10, Off: -4, Imm: secret},
		hi[0], hi[1],
		{Opcode: isa.OpExit},
	}
	find := func(code []byte, v uint32) bool {
		for i := 0; i+4 <= len(code); i++ {
			if uint32(code[i])|uint32(code[i+1])<<8|uint32(code[i+2])<<16|uint32(code[i+3])<<24 == v {
				return true
			}
		}
		return false
	}
	plain, err := emit.Compile(insns, emit.Options{}, testBackend)
	if err != nil {
		t.Fatal(err)
	}
	if !find(plain.Code, secret) || !find(plain.Code, 0x55667788) {
		t.Fatal("unblinded code should contain the immediates (test premise)")
	}
	blinded, err := emit.Compile(insns, emit.Options{Blind: true}, testBackend)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []uint32{secret, 0x55667788, 0x11223344} {
		if find(blinded.Code, v) {
			t.Errorf("blinded code contains %#x", v)
		}
	}
	again, _ := emit.Compile(insns, emit.Options{Blind: true}, testBackend)
	if string(again.Code) == string(blinded.Code) {
		t.Error("two blinded compilations are identical: keys are not random per program")
	}
}

// Compilations share pooled scratch memory: concurrent ones must not see each other's.
func TestConcurrentCompilationsAreIndependent(t *testing.T) {
	g := progen.New(99, progen.Options{Helpers: []int32{1}})
	progs := make([][]isa.Instruction, 32)
	want := make([][]byte, len(progs))
	for i := range progs {
		progs[i] = g.Program()
		img, err := emit.Compile(progs[i], emit.Options{}, testBackend)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = img.Code
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 20; round++ {
				i := (w*7 + round) % len(progs)
				img, err := emit.Compile(progs[i], emit.Options{}, testBackend)
				if err != nil || !bytes.Equal(img.Code, want[i]) {
					t.Errorf("worker %d: program %d compiled differently (err %v)", w, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
