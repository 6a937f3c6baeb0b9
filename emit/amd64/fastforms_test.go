package amd64

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa"
)

// TestFastLoopFormsMatchLower sweeps the forms lowerRun encodes beyond the common ALU and
// memory ones (the atomics, whose sequences are patched with their displacement, 8- and
// 16-bit store immediates, lddw of every constant shape) over every register pair and
// every displacement size, with and without zero extensions, and requires the bytes Lower
// gives. Immediates that are no atomic operation must leave the loop and still match.
func TestFastLoopFormsMatchLower(t *testing.T) {
	be := &Backend{GateEntryDisp: 0x40, ScratchDisp: 0x48}
	ref := slotBySlot{be, be}
	regs := []isa.Register{isa.R0, isa.R1, isa.R5, isa.R6, isa.R7, isa.R9, isa.R10}
	offs := []int16{0, 1, -1, 127, -128, 128, -129, 0x7fff, -0x8000}

	type prog struct {
		name  string
		insns []isa.Instruction
	}
	var progs []prog
	add := func(name string, body ...isa.Instruction) {
		// r0 is set first so that every program is valid; exit ends it.
		insns := append([]isa.Instruction{{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK)}}, body...)
		progs = append(progs, prog{name, append(insns, isa.Instruction{Opcode: isa.OpExit})})
	}
	atomicOps := []int32{0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1}
	for _, d := range regs {
		for _, s := range regs {
			for _, off := range offs {
				for _, sz := range []isa.Size{isa.SizeW, isa.SizeDW} {
					for _, op := range atomicOps {
						add(fmt.Sprintf("atomic %#x size %#x [r%d%+d] r%d", op, sz, d, off, s),
							isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeATOMIC, sz), Dst: d, Src: s, Off: off, Imm: op})
					}
				}
			}
		}
		for _, off := range offs {
			for _, sz := range []isa.Size{isa.SizeB, isa.SizeH} {
				for _, imm := range []int32{0, 1, -1, 0x7f, 0x80, 0x7fff, -0x8000, 0x12345678} {
					add(fmt.Sprintf("st size %#x [r%d%+d] %#x", sz, d, off, imm),
						isa.Instruction{Opcode: isa.Mem(isa.ClassST, isa.ModeMEM, sz), Dst: d, Off: off, Imm: imm})
				}
			}
		}
		if d == isa.R10 {
			continue // read-only
		}
		for _, v := range []uint64{0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000,
			1<<63 - 1, 1 << 63, ^uint64(0), ^uint64(0x7fffffff), ^uint64(0x80000000)} {
			ld := isa.LdImm64(d, 0, v)
			add(fmt.Sprintf("lddw r%d %#x", d, v), ld[0], ld[1])
		}
	}

	compiled := 0
	for _, p := range progs {
		// Without facts every 32-bit result is zero-extended; with these none is (a
		// 32-bit cmpxchg's r0 then has no extension).
		noZext := &emit.Facts{ZeroExtend: make([]bool, len(p.insns))}
		for _, opts := range []emit.Options{{}, {Facts: noZext}} {
			want, werr := emit.Compile(p.insns, opts, ref)
			got, gerr := emit.Compile(p.insns, opts, be)
			if (werr != nil) != (gerr != nil) {
				t.Fatalf("%s (facts %v): Lower: %v, fast loop: %v", p.name, opts.Facts != nil, werr, gerr)
			}
			if werr != nil {
				continue
			}
			if !bytes.Equal(got.Code, want.Code) {
				t.Fatalf("%s (facts %v): fast loop %x, Lower %x", p.name, opts.Facts != nil, got.Code, want.Code)
			}
			compiled++
		}
	}
	// Validation rejects some (stores through r10's neighbours are fine, writes to r10
	// are not): most must compile, or the sweep checks nothing.
	if compiled < len(progs)*2*3/4 {
		t.Fatalf("only %d of %d programs compiled", compiled, len(progs)*2)
	}
}

// TestAtomicFormsAreReadOffPutAtomic pins the table against the reference for every
// operation byte: the operations putAtomic encodes as one instruction have an entry, the
// others none.
func TestAtomicFormsAreReadOffPutAtomic(t *testing.T) {
	for op := range 256 {
		var b [16]byte
		_, ok := putAtomic(&b, isa.AtomicOp(op), W64, Mem{R13, 8}, RSI)
		if got := atomicForms[op].op != 0; got != ok {
			t.Errorf("atomic op %#x: table entry %v, putAtomic one instruction %v", op, got, ok)
		}
	}
	for _, c := range []struct {
		op   isa.AtomicOp
		want atomicForm
	}{
		{isa.AtomicAdd, atomicForm{op: 0x01, lock: 1}},
		{isa.AtomicXor, atomicForm{op: 0x31, lock: 1}},
		{isa.AtomicAdd | isa.AtomicFetch, atomicForm{op: 0xc10f, lock: 1}},
		{isa.AtomicXchg, atomicForm{op: 0x87}},
		{isa.AtomicCmpXchg, atomicForm{}},
		{isa.AtomicOr | isa.AtomicFetch, atomicForm{}},
	} {
		if got := atomicForms[c.op]; got != c.want {
			t.Errorf("atomic op %#x: %+v, want %+v", c.op, got, c.want)
		}
	}
}
