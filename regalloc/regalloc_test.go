package regalloc

import (
	"slices"
	"testing"

	"github.com/bpfjit/bpfjit/isa"
)

func TestMapsAreInjectiveAndAvoidReservedRegisters(t *testing.T) {
	reserved := map[string][]uint8{
		"amd64": {4 /* rsp */, 12 /* bridge context */},
		"arm64": {18, 23, 28, 29, 30, 31},
	}
	for _, m := range []Map{AMD64, ARM64} {
		seen := map[uint8]bool{}
		for r, h := range m.Reg {
			if seen[h] {
				t.Errorf("%s: host register %d mapped twice (at r%d)", m.Arch, h, r)
			}
			seen[h] = true
			if slices.Contains(reserved[m.Arch], h) {
				t.Errorf("%s: r%d mapped to reserved host register %d", m.Arch, r, h)
			}
		}
		for _, s := range m.Scratch {
			if seen[s] || slices.Contains(reserved[m.Arch], s) || s == m.Context {
				t.Errorf("%s: scratch register %d collides with a mapped or reserved register", m.Arch, s)
			}
		}
	}
}

func TestAMD64ArgumentRegistersAreSysV(t *testing.T) {
	// rdi, rsi, rdx, rcx, r8: BPF R1–R5 arrive where the bridge and helpers expect them.
	want := []uint8{7, 6, 2, 1, 8}
	if got := AMD64.Reg[isa.R1 : isa.R5+1]; !slices.Equal(got, want) {
		t.Errorf("R1–R5 = %v, want %v", got, want)
	}
}

func TestSavedRegsOnlyThoseWritten(t *testing.T) {
	mov := func(dst isa.Register) isa.Instruction {
		return isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: dst, Imm: 1}
	}
	exit := isa.Instruction{Opcode: isa.OpExit}
	load := func(dst, src isa.Register) isa.Instruction {
		return isa.Instruction{Opcode: isa.Mem(isa.ClassLDX, isa.ModeMEM, isa.SizeDW), Dst: dst, Src: src}
	}
	fetch := isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeATOMIC, isa.SizeDW), Dst: isa.R1, Src: isa.R8,
		Imm: int32(isa.AtomicAdd | isa.AtomicFetch)}
	lddw := isa.LdImm64(isa.R9, 0, 5)
	tests := []struct {
		name  string
		insns []isa.Instruction
		amd64 []uint8
	}{
		{"no callee-saved writes", []isa.Instruction{mov(isa.R0), exit}, nil},
		{"reads of r6 do not need a save", []isa.Instruction{load(isa.R0, isa.R6), exit}, nil},
		{"alu write of r6 and r7", []isa.Instruction{mov(isa.R7), mov(isa.R6), exit}, []uint8{3, 13}},
		{"atomic fetch writes src", []isa.Instruction{fetch, exit}, []uint8{14}},
		{"lddw writes dst", []isa.Instruction{lddw[0], lddw[1], exit}, []uint8{15}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := AMD64.SavedRegs(tc.insns); !slices.Equal(got, tc.amd64) {
				t.Errorf("SavedRegs = %v, want %v", got, tc.amd64)
			}
		})
	}
}

func TestWrittenCountsCallClobbers(t *testing.T) {
	call := isa.Instruction{Opcode: isa.OpCall, Imm: 1}
	w := Written([]isa.Instruction{call})
	for r := isa.R0; r <= isa.R5; r++ {
		if !w.Has(r) {
			t.Errorf("call does not clobber %v", r)
		}
	}
	if w.Has(isa.R6) {
		t.Error("call clobbers r6")
	}
}

// Each kind of slot writes what the ISA says it writes; stores, jumps and exit write
// nothing, and an atomic writes its src only when it fetches (cmpxchg: r0).
func TestWrittenByEachKindOfSlot(t *testing.T) {
	atomic := func(op isa.AtomicOp) isa.Instruction {
		return isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeATOMIC, isa.SizeW), Dst: isa.R1, Src: isa.R7, Imm: int32(op)}
	}
	for _, tc := range []struct {
		name string
		in   isa.Instruction
		want Set
	}{
		{"alu", isa.Instruction{Opcode: isa.ALU(isa.ClassALU, isa.ALUAdd, isa.SourceX), Dst: isa.R3, Src: isa.R4}, 1 << isa.R3},
		{"load", isa.Instruction{Opcode: isa.Mem(isa.ClassLDX, isa.ModeMEM, isa.SizeB), Dst: isa.R9, Src: isa.R1}, 1 << isa.R9},
		{"lddw", isa.LdImm64(isa.R8, 0, 1)[0], 1 << isa.R8},
		{"legacy packet load", isa.Instruction{Opcode: isa.Mem(isa.ClassLD, isa.ModeABS, isa.SizeW)}, callerSaved},
		{"helper call", isa.Instruction{Opcode: isa.OpCall, Imm: 1}, callerSaved},
		{"store", isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeMEM, isa.SizeDW), Dst: isa.R10, Src: isa.R6, Off: -8}, 0},
		{"jump", isa.Instruction{Opcode: isa.Jump(isa.ClassJMP, isa.JumpEQ, isa.SourceK), Dst: isa.R6}, 0},
		{"exit", isa.Instruction{Opcode: isa.OpExit}, 0},
		{"atomic add", atomic(isa.AtomicAdd), 0},
		{"atomic fetch-or", atomic(isa.AtomicOr | isa.AtomicFetch), 1 << isa.R7},
		{"xchg", atomic(isa.AtomicXchg), 1 << isa.R7},
		{"cmpxchg", atomic(isa.AtomicCmpXchg), 1 << isa.R0},
	} {
		if got := WrittenBy(&tc.in); got != tc.want {
			t.Errorf("%s: WrittenBy = %#x, want %#x", tc.name, got, tc.want)
		}
		if got := Written([]isa.Instruction{tc.in}); got != tc.want {
			t.Errorf("%s: Written = %#x, want %#x", tc.name, got, tc.want)
		}
	}
}
