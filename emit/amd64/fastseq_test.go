package amd64

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/isa"
)

// TestFastLoopSequencesMatchLower sweeps the forms lowerRun copies from the seqTable
// (shifts by a register, div/mod by a register and by a constant, movsx, byte swaps)
// over every register pair the lowering sees (blinding, which adds AX, is covered by TestFastPathMatchesLowerByteForByte), the edge
// divisors and every selector value, with and without the zero extension of 32-bit
// results, and requires the bytes Lower gives. The forms and values the table has no
// sequence for (x/0, signed x/-1, le64, unknown widths) must leave the loop and match too.
func TestFastLoopSequencesMatchLower(t *testing.T) {
	be := &Backend{GateEntryDisp: 0x40, ScratchDisp: 0x48}
	ref := slotBySlot{be, be}
	regs := []isa.Register{isa.R0, isa.R1, isa.R2, isa.R3, isa.R4, isa.R5, isa.R6, isa.R7, isa.R8, isa.R9, isa.R10}
	imms := []int32{0, 1, -1, 2, -2, 127, -128, 128, 0x7fffffff, -0x80000000}

	type prog struct {
		name  string
		insns []isa.Instruction
	}
	var progs []prog
	add := func(name string, in isa.Instruction) {
		// r0 is set first so that every program is valid; exit ends it.
		progs = append(progs, prog{name, []isa.Instruction{
			{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK)}, in, {Opcode: isa.OpExit}}})
	}
	for _, cl := range []isa.Class{isa.ClassALU, isa.ClassALU64} {
		for _, d := range regs {
			for _, s := range regs {
				for _, op := range []isa.ALUOp{isa.ALULsh, isa.ALURsh, isa.ALUArsh} {
					add(fmt.Sprintf("class %d shift %#x r%d by r%d", cl, op, d, s),
						isa.Instruction{Opcode: isa.ALU(cl, op, isa.SourceX), Dst: d, Src: s})
				}
				for _, op := range []isa.ALUOp{isa.ALUDiv, isa.ALUMod} {
					for _, off := range []int16{0, 1} {
						add(fmt.Sprintf("class %d divmod %#x off %d r%d by r%d", cl, op, off, d, s),
							isa.Instruction{Opcode: isa.ALU(cl, op, isa.SourceX), Dst: d, Src: s, Off: off})
					}
				}
				for _, off := range []int16{8, 16, 32} {
					add(fmt.Sprintf("class %d movsx%d r%d, r%d", cl, off, d, s),
						isa.Instruction{Opcode: isa.ALU(cl, isa.ALUMov, isa.SourceX), Dst: d, Src: s, Off: off})
				}
			}
			for _, op := range []isa.ALUOp{isa.ALUDiv, isa.ALUMod} {
				for _, off := range []int16{0, 1} {
					for _, imm := range imms {
						add(fmt.Sprintf("class %d divmod %#x off %d r%d by %d", cl, op, off, d, imm),
							isa.Instruction{Opcode: isa.ALU(cl, op, isa.SourceK), Dst: d, Off: off, Imm: imm})
					}
				}
			}
			for _, src := range []isa.Source{isa.SourceK, isa.SourceX} {
				if cl == isa.ClassALU64 && src == isa.SourceX {
					continue // no such opcode
				}
				for _, imm := range []int32{16, 32, 64} {
					add(fmt.Sprintf("class %d end %d r%d %d", cl, src, d, imm),
						isa.Instruction{Opcode: isa.ALU(cl, isa.ALUEnd, src), Dst: d, Imm: imm})
				}
			}
		}
	}

	compiled := 0
	for _, p := range progs {
		for _, zext := range []bool{true, false} {
			opts := emit.Options{Facts: &emit.Facts{ZeroExtend: []bool{false, zext, false}}}
			want, werr := emit.Compile(p.insns, opts, ref)
			got, gerr := emit.Compile(p.insns, opts, be)
			if (werr != nil) != (gerr != nil) {
				t.Fatalf("%s (zero extension %v): Lower: %v, fast loop: %v", p.name, zext, werr, gerr)
			}
			if werr != nil {
				continue
			}
			if !bytes.Equal(got.Code, want.Code) {
				t.Fatalf("%s (zero extension %v): fast loop %x, Lower %x", p.name, zext, got.Code, want.Code)
			}
			compiled++
		}
	}
	// Validation rejects writes to r10: most must compile, or the sweep checks nothing.
	if compiled < len(progs)*2*3/4 {
		t.Fatalf("only %d of %d programs compiled", compiled, len(progs)*2)
	}
}

// TestSeqTableServesTheFrequentForms pins which selector values have sequences: the
// forms the loop is meant to keep must find one, the edge forms must not.
func TestSeqTableServesTheFrequentForms(t *testing.T) {
	all := allSeqs()
	alu := func(cl isa.Class, op isa.ALUOp, src isa.Source) isa.Opcode { return isa.ALU(cl, op, src) }
	for _, c := range []struct {
		name string
		op   isa.Opcode
		v    uint32
		want bool
	}{
		{"64-bit shift by a register", alu(isa.ClassALU64, isa.ALULsh, isa.SourceX), 0, true},
		{"32-bit shift by a register, zero-extended", alu(isa.ClassALU, isa.ALUArsh, isa.SourceX), 1, true},
		{"32-bit shift by a register, not extended", alu(isa.ClassALU, isa.ALURsh, isa.SourceX), 0, true},
		{"signed 64-bit mod by a register", alu(isa.ClassALU64, isa.ALUMod, isa.SourceX), 1, true},
		{"unsigned 32-bit div by a register", alu(isa.ClassALU, isa.ALUDiv, isa.SourceX), 0, true},
		{"div with an unknown offset", alu(isa.ClassALU, isa.ALUDiv, isa.SourceX), 8, false},
		{"signed div by a constant", alu(isa.ClassALU64, isa.ALUDiv, isa.SourceK), 1, true},
		{"movsx16", alu(isa.ClassALU64, isa.ALUMov, isa.SourceX), 16, true},
		{"mov with an unknown width", alu(isa.ClassALU64, isa.ALUMov, isa.SourceX), 64, false},
		{"plain mov", alu(isa.ClassALU64, isa.ALUMov, isa.SourceX), 0, false},
		{"bswap64", alu(isa.ClassALU64, isa.ALUEnd, isa.SourceK), 64, true},
		{"be16", alu(isa.ClassALU, isa.ALUEnd, isa.SourceX), 16, true},
		{"le64 emits nothing", alu(isa.ClassALU, isa.ALUEnd, isa.SourceK), 64, false},
		{"swap of a selector above the table", alu(isa.ClassALU, isa.ALUEnd, isa.SourceX), 1 << 20, false},
		{"add has no sequence", alu(isa.ClassALU64, isa.ALUAdd, isa.SourceX), 0, false},
	} {
		ds := byte(isa.R1)<<4 | byte(isa.R2)
		if c.op.Source() == isa.SourceK || c.op.ALUOp() == isa.ALUEnd {
			ds = byte(isa.R1) << 4 // the source of these forms is 0
		}
		var p [maxSeq]byte
		if got := all.put(&p, c.op, c.v, ds) != 0; got != c.want {
			t.Errorf("%s: sequence %v, want %v", c.name, got, c.want)
		}
	}
}

// allSeqs builds the table of every opcode, as a process compiling every form ends up
// with.
func allSeqs() *seqTable {
	var t *seqTable
	for op := range 256 {
		if hasSeqs(forms[op].kind) {
			t = t.with(isa.Opcode(op))
		}
	}
	return t
}

// BenchmarkBuildSeqs measures what the growth of the table costs a process that ends up
// compiling every form.
func BenchmarkBuildSeqs(b *testing.B) {
	for b.Loop() {
		allSeqs()
	}
}

// TestDispAtFindsTheTwoDisplacements pins how the atomic sequences' patch positions are
// read off two lowerings: exactly two runs of the displacement's size, or none for kind
// 0; anything else (a length change, a third run, a partial run) has no position.
func TestDispAtFindsTheTwoDisplacements(t *testing.T) {
	for _, c := range []struct {
		name string
		x, y []byte
		kind int
		want uint16
		ok   bool
	}{
		{"no displacement", []byte{1, 2, 3}, []byte{1, 2, 3}, 0, 0, true},
		{"no displacement but a difference", []byte{1, 2, 3}, []byte{1, 9, 3}, 0, 0, false},
		{"two disp8", []byte{1, 0x11, 3, 0x11}, []byte{1, 0xde, 3, 0xde}, 1, 1 | 3<<8, true},
		{"one disp8", []byte{1, 0x11, 3, 4}, []byte{1, 0xde, 3, 4}, 1, 0, false},
		{"three disp8", []byte{0x11, 0x11, 0x11}, []byte{0xde, 0xde, 0xde}, 1, 0, false},
		{"two disp32", []byte{9, 1, 1, 1, 1, 9, 1, 1, 1, 1}, []byte{9, 2, 2, 2, 2, 9, 2, 2, 2, 2}, 2, 1 | 6<<8, true},
		{"a disp32 with an equal byte", []byte{9, 1, 1, 1, 1, 9, 1, 1, 1, 1}, []byte{9, 2, 1, 2, 2, 9, 2, 2, 2, 2}, 2, 0, false},
		{"a disp32 cut by the end", []byte{9, 1, 1, 1, 1, 9, 1, 1}, []byte{9, 2, 2, 2, 2, 9, 2, 2}, 2, 0, false},
		{"lengths differ", []byte{1, 2}, []byte{1, 2, 3}, 0, 0, false},
	} {
		got, ok := dispAt(c.x, c.y, c.kind)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %#x, %v; want %#x, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// TestSeqTableGrowsUnderConcurrentCompiles starts from an empty table and compiles
// programs of every form from several goroutines at once: each must get Lower's bytes
// while the table grows under it (run with -race to check the publication).
func TestSeqTableGrowsUnderConcurrentCompiles(t *testing.T) {
	be := &Backend{GateEntryDisp: 0x40, ScratchDisp: 0x48}
	ref := slotBySlot{be, be}
	seqCur.Store(nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			g := progen.New(uint64(100+w), progen.Options{Helpers: []int32{1, 2}})
			for k := range 40 {
				insns := g.Program()
				want, err := emit.Compile(insns, emit.Options{}, ref)
				if err != nil {
					errs <- fmt.Errorf("worker %d program %d: Lower: %v", w, k, err)
					return
				}
				got, err := emit.Compile(insns, emit.Options{}, be)
				if err != nil || !bytes.Equal(got.Code, want.Code) {
					errs <- fmt.Errorf("worker %d program %d: fast loop differs from Lower (error %v)", w, k, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := seqsNow(); !got.built[isa.ALU(isa.ClassALU64, isa.ALUDiv, isa.SourceX)] {
		t.Error("the table did not learn 64-bit division by a register")
	}
}
