package emit

import (
	"errors"

	"github.com/bpfjit/bpfjit/isa"
)

// Facts are what a verifier proved about the program, in program slot numbering
// (verifier.Facts carries them; emit does not import the verifier). Every slice is
// either nil (nothing known) or as long as the program.
type Facts struct {
	// Dead[i]: no path reaches slot i. Dead slots emit no code (their label is still
	// bound, so every slot keeps a valid, empty native range).
	Dead []bool
	// Branch[i] for a conditional jump: the outcomes seen on some path (BranchFallThrough,
	// BranchTaken). A jump with only one outcome becomes an unconditional jump or nothing;
	// 0 means unknown and the jump is emitted as is.
	Branch []uint8
	// ZeroExtend[i]: slot i writes a 32-bit value whose upper half is later read. When it
	// is false, a backend may leave out an explicit zero-extension of that value
	// (Compiler.NeedZext).
	ZeroExtend []bool
}

// Outcomes of a conditional jump in Facts.Branch (the verifier's numbering).
const (
	BranchFallThrough uint8 = 1 << iota
	BranchTaken
)

// ErrFacts rejects facts that do not describe the program being compiled.
var ErrFacts = errors.New("facts do not match the program")

func (f *Facts) check(n int) error {
	for _, l := range []int{len(f.Dead), len(f.Branch), len(f.ZeroExtend)} {
		if l != 0 && l != n {
			return Errorf(-1, ErrFacts, "%d facts for %d slots", l, n)
		}
	}
	return nil
}

// oneOutcome returns the single outcome a conditional jump at slot i was seen to have,
// or 0.
func (f *Facts) oneOutcome(i int) uint8 {
	if f.Branch == nil {
		return 0
	}
	switch b := f.Branch[i]; b {
	case BranchFallThrough, BranchTaken:
		return b
	}
	return 0
}

// applyFacts prepares a compilation of insns under facts f. It returns insns with every
// conditional jump that is always taken turned into `ja` to the same target (a copy, made
// only when there is one; the caller's slice is never written): the jump keeps its offset,
// so the stream scan derives the same target, and constant blinding has no immediate left
// to hide there. It also returns the program slots that emit no code: dead slots and
// conditional jumps that are never taken (nil when there are none).
func applyFacts(insns []isa.Instruction, f *Facts) ([]isa.Instruction, []bool) {
	if f == nil {
		return insns, nil
	}
	out := insns
	var skip []bool
	for i := 0; i < len(insns); i++ {
		in := &insns[i]
		drop := f.dead(i)
		if !drop && in.IsJump() && !in.IsUnconditionalJump() {
			switch f.oneOutcome(i) {
			case BranchFallThrough:
				drop = true
			case BranchTaken:
				if &out[0] == &insns[0] {
					out = append([]isa.Instruction(nil), insns...)
				}
				out[i] = isa.Instruction{Opcode: isa.Jump(isa.ClassJMP, isa.JumpA, isa.SourceK), Off: in.Off}
			}
		}
		if drop {
			if skip == nil {
				skip = make([]bool, len(insns))
			}
			skip[i] = true
		}
	}
	return out, skip
}

func (f *Facts) dead(i int) bool { return f.Dead != nil && f.Dead[i] }

// lowerBody emits the slots of fn, nothing for a slot of a program slot that is never
// executed (dead) or is a conditional jump never taken. A RangeBackend gets each run of
// emitted slots in one call; otherwise the backend lowers slot by slot.
func (c *Compiler) lowerBody(be Backend, rb RangeBackend, fn *Func) error {
	s := c.S
	for i := fn.Start; i < fn.End; {
		if c.skip != nil && c.skip[s.Orig[i]] {
			c.Buf.Bind(c.Label(int32(i)))
			if s.Insns[i].IsLdImm64() && i+1 < fn.End { // both halves, as Lower would
				i++
				c.Buf.Bind(c.Label(int32(i)))
			}
			i++
			continue
		}
		if rb != nil {
			end := c.runEnd(i, fn.End)
			if err := rb.LowerRange(c, fn, i, end); err != nil {
				return err
			}
			i = end
			continue
		}
		c.Buf.Bind(c.Label(int32(i)))
		c.cur = i
		n, err := be.Lower(c, fn, i)
		if err != nil {
			return c.SlotError(i, err)
		}
		for j := 1; j < n; j++ {
			c.Buf.Bind(c.Label(int32(i + j)))
		}
		i += n
	}
	return nil
}

// runEnd returns the end of the run of emitted slots that starts at stream slot i (before
// end): the next slot the facts drop, never between the halves of an lddw.
func (c *Compiler) runEnd(i, end int) int {
	if c.skip == nil {
		return end
	}
	s := c.S
	for i < end && !c.skip[s.Orig[i]] {
		if s.Insns[i].IsLdImm64() {
			i++
		}
		i++
	}
	return min(i, end)
}

// NeedZext reports whether the 32-bit result of the stream slot being lowered must have
// its upper half zeroed: always, unless the facts show the upper half is never read.
// Backends ask it before an explicit zero-extension (one that a 32-bit operation does not
// do by itself).
func (c *Compiler) NeedZext() bool {
	f := c.facts
	// A blinded stream splits a slot into several that write other registers (AX): keep
	// every zero-extension there.
	if f == nil || f.ZeroExtend == nil || c.S != &c.plain {
		return true
	}
	return f.ZeroExtend[c.S.Orig[c.cur]]
}
