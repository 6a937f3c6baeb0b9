package emit

import (
	"slices"
	"testing"

	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/regalloc"
)

func TestBlindRewritesImmediatesAndRemapsTargets(t *testing.T) {
	ld := isa.LdImm64(isa.R3, 0, 0x1122334455667788)
	insns := []isa.Instruction{
		/*0*/ {Opcode: isa.Jump(isa.ClassJMP, isa.JumpEQ, isa.SourceK), Dst: isa.R1, Imm: 77, Off: 3},
		/*1*/ {Opcode: isa.ALU(isa.ClassALU64, isa.ALUAdd, isa.SourceK), Dst: isa.R0, Imm: 5},
		/*2*/ ld[0], ld[1],
		/*4*/ {Opcode: isa.Mem(isa.ClassST, isa.ModeMEM, isa.SizeW), Dst: isa.R10, Off: -4, Imm: 9},
		/*5*/ {Opcode: isa.ALU(isa.ClassALU64, isa.ALUNeg, isa.SourceK), Dst: isa.R0},
		/*6*/ {Opcode: isa.OpJa, Off: -7},
		/*7*/ {Opcode: isa.OpExit},
	}
	keys := []uint32{0xdead, 0xbeef, 0xf00d, 0xcafe, 0x1234}
	k := 0
	s := Blind(NewStream(insns), func() uint32 { k++; return keys[k-1] })
	// Start of each original slot in the stream: jeq→3, add→3, lddw→7, st→3, neg→1, ja→1.
	wantStart := map[int]int{0: 0, 1: 3, 2: 6, 4: 13, 5: 16, 6: 17, 7: 18}
	for orig, start := range wantStart {
		if int(s.Orig[start]) != orig || (start > 0 && int(s.Orig[start-1]) == orig) {
			t.Errorf("slot %d does not start at stream %d (Orig = %v)", orig, start, s.Orig)
		}
	}
	if got, want := s.Target[2], int32(wantStart[4]); got != want {
		t.Errorf("blinded jeq targets stream %d, want %d (slot 4)", got, want)
	}
	if got, want := s.Target[17], int32(wantStart[0]); got != want {
		t.Errorf("ja targets stream %d, want %d (slot 0)", got, want)
	}
	for i, in := range s.Insns {
		if in.Imm == 77 || in.Imm == 5 || in.Imm == 9 || uint32(in.Imm) == 0x55667788 || uint32(in.Imm) == 0x11223344 {
			t.Errorf("stream slot %d still carries a user immediate: %+v", i, in)
		}
	}
	if s.Insns[2].Src != regalloc.AX || s.Insns[2].Opcode.Source() != isa.SourceX {
		t.Errorf("blinded jeq does not compare with AX: %+v", s.Insns[2])
	}
}

func TestStreamScanCountsTheRegistersWrittenLikeRegalloc(t *testing.T) {
	g := progen.New(3, progen.Options{Helpers: []int32{1, 2}})
	atomic := isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeATOMIC, isa.SizeDW), Dst: isa.R10, Src: isa.R7, Off: -8, Imm: int32(isa.AtomicAdd | isa.AtomicFetch)}
	ld := isa.LdImm64(isa.R8, 0, 1)
	for k := 0; k < 500; k++ {
		insns := g.Program()
		if k%2 == 0 { // forms progen may not draw often: fetching atomics, lddw into R6–R9
			insns = append([]isa.Instruction{atomic, ld[0], ld[1]}, insns...)
		}
		var s Stream
		s.reset(insns)
		if got, want := s.written, regalloc.Written(insns); got != want {
			t.Fatalf("program %d: scan says %#x, regalloc.Written %#x", k, got, want)
		}
	}
}

// A reused stream rewrites only the targets it set last time: every program must still
// see its own targets and -1 everywhere else, whatever the previous ones were (longer,
// shorter, with jumps where it has none).
func TestReusedStreamTargetsAreThisProgramsOnly(t *testing.T) {
	g := progen.New(5, progen.Options{Helpers: []int32{1}})
	var s Stream
	for k := 0; k < 300; k++ {
		insns := g.Program()
		if k%3 == 0 { // shorter than the previous one now and then
			insns = insns[:len(insns)/2]
			insns = append(insns, isa.Instruction{Opcode: isa.OpExit})
		}
		if isa.Validate(insns) != nil {
			continue // cut through an lddw, or a jump now past the end
		}
		s.reset(insns)
		fresh := NewStream(insns)
		for i := range insns {
			want := int32(-1)
			if t := target(insns, i); t >= 0 && (i == 0 || !insns[i-1].IsLdImm64()) {
				want = t
			}
			if s.Target[i] != want || fresh.Target[i] != want {
				t.Fatalf("program %d slot %d: target %d reused, %d fresh, want %d", k, i, s.Target[i], fresh.Target[i], want)
			}
		}
	}
}

// The scan's rare paths: a jump found when the target list is full, gotol (whose offset
// is its immediate), an lddw, a function address, a local call and the
// errors it reports. Targets, sites, the written set and the tail-call slot must be those
// of the plain definitions whatever path the slot took.
func TestStreamScanEdgeCases(t *testing.T) {
	ja := func(off int16) isa.Instruction { return isa.Instruction{Opcode: isa.OpJa, Off: off} }
	mov := func(r isa.Register) isa.Instruction {
		return isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: r}
	}
	exit := isa.Instruction{Opcode: isa.OpExit}
	ld := isa.LdImm64(isa.R7, 0, 1)
	fn := isa.LdImm64(isa.R8, isa.PseudoFunc, 0)
	fn[0].Imm = 3 // the function after the call and the exit
	call := isa.Instruction{Opcode: isa.OpCall, Src: isa.PseudoCall, Imm: 1}
	tail := isa.Instruction{Opcode: isa.OpCall, Imm: HelperTailCall}
	tests := []struct {
		name     string
		insns    []isa.Instruction
		targets  map[int]int32
		sites    []int32
		written  regalloc.Set
		tailCall int32
		bad      int // slot of the error, -1 for none
	}{
		{"jumps beyond the target list's capacity", []isa.Instruction{ja(0), ja(0), ja(0), ja(0), ja(0), mov(isa.R6), exit},
			map[int]int32{0: 1, 1: 2, 2: 3, 3: 4, 4: 5}, nil, 1 << isa.R6, -1, -1},
		{"gotol", []isa.Instruction{{Opcode: isa.OpJa32, Imm: 1}, mov(isa.R1), exit},
			map[int]int32{0: 2}, nil, 1 << isa.R1, -1, -1},
		{"lddw before the exit", []isa.Instruction{mov(isa.R0), ld[0], ld[1], exit},
			nil, nil, 1<<isa.R0 | 1<<isa.R7, -1, -1},
		{"function address and local call", []isa.Instruction{fn[0], fn[1], call, exit, mov(isa.R9), exit},
			map[int]int32{0: 4, 2: 4}, []int32{0, 2}, 1<<isa.R8 | 1<<isa.R9 | 0x3f, -1, -1},
		{"tail call", []isa.Instruction{mov(isa.R2), tail, tail, exit},
			nil, nil, 0x3f, 1, -1},
		{"kfunc call", []isa.Instruction{{Opcode: isa.OpCall, Src: isa.PseudoKfuncCall}, exit},
			nil, nil, 0x3f, -1, 0},
		{"legacy packet load", []isa.Instruction{mov(isa.R6), {Opcode: isa.Mem(isa.ClassLD, isa.ModeABS, isa.SizeW)}, exit},
			nil, nil, 1<<isa.R6 | 0x3f, -1, 1},
	}
	var reused Stream // with a target list left full by the cases before
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range []*Stream{{}, &reused} {
				bad := s.reset(tc.insns)
				switch {
				case tc.bad < 0 && bad != nil:
					t.Fatalf("unexpected error %v", bad)
				case tc.bad >= 0 && (bad == nil || bad.Index != tc.bad):
					t.Fatalf("error %v, want one at slot %d", bad, tc.bad)
				}
				for i := range tc.insns {
					want, ok := tc.targets[i]
					if !ok {
						want = -1
					}
					if s.Target[i] != want {
						t.Errorf("slot %d: target %d, want %d", i, s.Target[i], want)
					}
				}
				if !slices.Equal(s.sites, tc.sites) {
					t.Errorf("sites %v, want %v", s.sites, tc.sites)
				}
				if s.written != tc.written {
					t.Errorf("written %#x, want %#x", s.written, tc.written)
				}
				if s.tailCall != tc.tailCall {
					t.Errorf("tail call at %d, want %d", s.tailCall, tc.tailCall)
				}
			}
		})
	}
}

// target returns the slot a control-flow slot refers to, by the definitions.
func target(insns []isa.Instruction, i int) int32 {
	in := &insns[i]
	// Fast exit for the common case: neither a jump/call class nor an lddw.
	if c := in.Opcode.Class(); !c.IsJump() && in.Opcode != isa.OpLdImm64 {
		return -1
	}
	switch {
	case in.IsJump():
		return int32(int64(i) + 1 + in.JumpOffset())
	case in.IsLocalCall() || in.IsFuncAddr():
		return int32(i + 1 + int(in.Imm))
	}
	return -1
}
