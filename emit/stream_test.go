package emit

import (
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
			if len(insns) > 1 && insns[len(insns)-2].IsLdImm64() {
				continue // cut through an lddw
			}
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
