package emit_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/regalloc"
)

// rangeBackend is a toy RangeBackend: one byte per slot (the slot's index), two for an
// lddw, and no branches. It records the ranges the driver hands it.
type rangeBackend struct {
	ranges [][2]int
	failAt int // stream slot whose lowering fails (-1: none)
}

var errToy = errors.New("toy failure")

func (*rangeBackend) BranchSize(uint8, bool) int                    { return 1 }
func (*rangeBackend) ShortReaches(uint8, int, int) bool             { return true }
func (*rangeBackend) PutBranch([]byte, emit.Branch, int, int) error { return nil }
func (*rangeBackend) Regs() *regalloc.Map                           { return &regalloc.AMD64 }
func (*rangeBackend) Prologue(*emit.Compiler, *emit.Func)           {}
func (*rangeBackend) Epilogue(*emit.Compiler, *emit.Func)           {}

func (*rangeBackend) Lower(c *emit.Compiler, _ *emit.Func, i int) (int, error) {
	c.Buf.Code = append(c.Buf.Code, byte(i))
	if c.S.Insns[i].IsLdImm64() {
		c.Buf.Code = append(c.Buf.Code, byte(i))
		return 2, nil
	}
	return 1, nil
}

func (b *rangeBackend) LowerRange(c *emit.Compiler, f *emit.Func, from, to int) error {
	b.ranges = append(b.ranges, [2]int{from, to})
	offs := c.SlotOffsets()
	for i := from; i < to; {
		if i == b.failAt {
			return c.SlotError(i, errToy)
		}
		offs[i] = int32(len(c.Buf.Code))
		n, _ := b.Lower(c, f, i)
		if n == 2 {
			offs[i+1] = int32(len(c.Buf.Code))
		}
		i += n
	}
	return nil
}

// The driver gives a RangeBackend maximal runs of emitted slots: never a dropped slot,
// never half an lddw, every other slot exactly once; the dropped ones keep empty ranges.
func TestRangeBackendGetsRunsBetweenDroppedSlots(t *testing.T) {
	mov := isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: 1}
	lddw := []isa.Instruction{{Opcode: isa.OpLdImm64, Imm: 5}, {Imm: 6}}
	insns := slices.Concat([]isa.Instruction{mov, mov}, lddw, []isa.Instruction{mov}, lddw,
		[]isa.Instruction{mov, mov, {Opcode: isa.OpExit}})
	n := len(insns) // 0 mov, 1 mov, 2-3 lddw, 4 mov, 5-6 lddw, 7 mov, 8 mov, 9 exit
	for _, tc := range []struct {
		name string
		dead []int
		want [][2]int
	}{
		{"no facts", nil, [][2]int{{0, n}}},
		{"dead in the middle", []int{4}, [][2]int{{0, 4}, {5, n}}},
		{"dead lddw", []int{5}, [][2]int{{0, 5}, {7, n}}},
		{"dead first and adjacent", []int{0, 7, 8}, [][2]int{{1, 7}, {9, n}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := &rangeBackend{failAt: -1}
			var opts emit.Options
			if tc.dead != nil {
				opts.Facts = &emit.Facts{Dead: make([]bool, n)}
				for _, i := range tc.dead {
					opts.Facts.Dead[i] = true
				}
			}
			img, err := emit.Compile(insns, opts, be)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(be.ranges, tc.want) {
				t.Errorf("ranges %v, want %v", be.ranges, tc.want)
			}
			for i := range n {
				size := img.Slot(i+1) - img.Slot(i)
				dead := slices.Contains(tc.dead, i) || i > 0 && insns[i-1].IsLdImm64() && slices.Contains(tc.dead, i-1)
				switch {
				case dead && size != 0:
					t.Errorf("dropped slot %d has %d bytes", i, size)
				case !dead && i > 0 && insns[i-1].IsLdImm64() && size != 0:
					t.Errorf("second half of lddw %d has %d bytes", i-1, size)
				case !dead && !(i > 0 && insns[i-1].IsLdImm64()) && (size < 1 || img.Code[img.Slot(i)] != byte(i)):
					t.Errorf("slot %d: %d bytes at %d, not its own", i, size, img.Slot(i))
				}
			}
		})
	}
}

// A failure inside a range comes back as the *Error LowerRange made, naming its slot.
func TestRangeBackendErrorNamesTheSlot(t *testing.T) {
	mov := isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: 1}
	insns := []isa.Instruction{mov, mov, mov, {Opcode: isa.OpExit}}
	_, err := emit.Compile(insns, emit.Options{}, &rangeBackend{failAt: 2})
	var e *emit.Error
	if !errors.As(err, &e) || e.Index != 2 || !errors.Is(err, errToy) {
		t.Fatalf("err = %v, want an *emit.Error at slot 2 wrapping the backend's", err)
	}
}
