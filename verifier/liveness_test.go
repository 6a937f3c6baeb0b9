package verifier

import (
	"errors"
	"testing"

	"github.com/bpfjit/bpfjit/isa"
)

// twoLoops runs a loop whose exit count is unknown (r6 counts to r8 = random & 15, so the
// loop leaves with 15 different counters) and then a 200-iteration loop. tail follows the
// second loop; r9 holds the raw memory region.
func twoLoops(tail ...any) []isa.Instruction { return twoLoopsSpilling(false, tail...) }

// twoLoopsSpilling is twoLoops; with spill, the first loop also stores its counter at fp-8
// and then forgets it (r6 = 0), so the exits differ only in that stack slot.
func twoLoopsSpilling(spill bool, tail ...any) []isa.Instruction {
	return twoLoopsAfter(nil, spill, tail...)
}

// twoLoopsAfter is twoLoopsSpilling with pre in front.
func twoLoopsAfter(pre []any, spill bool, tail ...any) []isa.Instruction {
	parts := append(pre,
		movr(r9, r1), // the region pointer survives the helper call in r9
		call(HelperGetPrandomU32), movr(r8, r0), and(r8, 15),
		mov(r6, 0),
		label("l1"), add(r6, 1),
	)
	if spill {
		parts = append(parts, stx(8, fp, -8, r6))
	}
	parts = append(parts, to(jmpr(isa.JumpLT, r6, r8, 0), "l1"))
	if spill {
		parts = append(parts, mov(r6, 0))
	}
	parts = append(parts,
		mov(r7, 0),
		label("l2"), add(r7, 1), to(jmp(isa.JumpLT, r7, 200, 0), "l2"),
	)
	return prog(append(parts, tail...)...)
}

// index16 loads byte 16 - r6 of the region (r9): one past the end when r6 = 1 and only 15
// bytes are guaranteed.
var index16 = []any{mov(r3, 16), alur(isa.ALUSub, r3, r6), addr(r3, r9), ldx(1, r0, r3, 0), exit()}

// memJoin reaches a 200-iteration loop from two paths: one that proved 8 bytes of the raw
// memory region readable (and read one), one that proved nothing. tail follows the loop.
func memJoin(tail ...any) []isa.Instruction {
	parts := []any{
		mov(r7, 0),
		to(jmp(isa.JumpGE, r2, 8, 0), "read"),
		to(ja(0), "loop"),
		label("read"), ldx(1, r0, r1, 7),
		label("loop"), add(r7, 1), to(jmp(isa.JumpLT, r7, 200, 0), "loop"),
	}
	return prog(append(parts, tail...)...)
}

// Pruning ignores what no path from a prune point reads: dead registers and, where no
// memory access follows, how much of the raw memory region was proven accessible. These
// cases pin down both the gain (a small processed count) and that a value read later is
// still compared.
func TestLivenessPruning(t *testing.T) {
	cases := []struct {
		name         string
		insns        []isa.Instruction
		minMem       int
		maxProcessed int    // accepted with at most this many processed instructions
		err          string // or rejected with this
		kind         error
	}{
		{
			// Without liveness every exit of the first loop (15 counters) runs the second
			// loop again: about 15 * 400 instructions.
			name:         "dead counter of a first loop does not multiply the second loop",
			insns:        twoLoops(mov(r0, 0), exit()),
			maxProcessed: 700,
		},
		{
			// r6 = 1 leaves the first loop last (the deepest iteration is explored first);
			// 16 - r6 = 15 is one past the 15 guaranteed bytes. Were r6 ignored at the second
			// loop, that exit would be pruned by an explored one and the program accepted.
			name:   "counter read after the second loop is still compared",
			insns:  twoLoops(index16...),
			minMem: 15,
			err:    "invalid access to memory region", kind: ErrMemAccess,
		},
		{
			name:         "counter read after the second loop, within bounds, accepted",
			insns:        twoLoops(index16...),
			minMem:       16,
			maxProcessed: 20000,
		},
		{
			// The same with the counter spilled: the slot is never read again.
			name:         "dead stack slot written by a first loop does not multiply the second loop",
			insns:        twoLoopsSpilling(true, mov(r0, 0), exit()),
			maxProcessed: 800,
		},
		{
			name:         "stack slot overwritten after the second loop is dead",
			insns:        twoLoopsSpilling(true, st(8, fp, -8, 2), ldx(8, r6, fp, -8), index16),
			minMem:       15,
			maxProcessed: 800,
		},
		{
			name:   "stack slot read after the second loop is still compared",
			insns:  twoLoopsSpilling(true, append([]any{ldx(8, r6, fp, -8)}, index16...)...),
			minMem: 15,
			err:    "invalid access to memory region", kind: ErrMemAccess,
		},
		{
			// r4 = r10 - 16: a read at r4+8 is the slot at fp-8.
			name:   "stack slot read through a pointer derived from r10 is still compared",
			insns:  twoLoopsSpilling(true, append([]any{movr(r4, fp), add(r4, -16), ldx(8, r6, r4, 8)}, index16...)...),
			minMem: 15,
			err:    "invalid access to memory region", kind: ErrMemAccess,
		},
		{
			// fp-24 holds a pointer to fp-16: a load gives it back, and a read through it
			// reaches fp-8. Storing a frame pointer keeps every slot live.
			name: "stack slot read through a spilled frame pointer is still compared",
			insns: twoLoopsAfter([]any{movr(r4, fp), add(r4, -16), stx(8, fp, -24, r4)}, true,
				append([]any{ldx(8, r5, fp, -24), ldx(8, r6, r5, 8)}, index16...)...),
			minMem: 15,
			err:    "invalid access to memory region", kind: ErrMemAccess,
		},
		{
			// The subprogram reads the slot through its argument and indexes the region
			// with it.
			name: "stack slot read by a called function is still compared",
			insns: twoLoopsSpilling(true, movr(r1, fp), add(r1, -8), movr(r2, r9), callLocal(1), exit(),
				ldx(8, r3, r1, 0), mov(r4, 16), alur(isa.ALUSub, r4, r3), addr(r4, r2), ldx(1, r0, r4, 0), exit()),
			minMem: 15,
			err:    "invalid access to memory region", kind: ErrMemAccess,
		},
		{
			// Without memory liveness the path that proved nothing is not covered by the one
			// that proved 8 bytes, and the loop runs twice.
			name:         "proven memory length is ignored where no access follows",
			insns:        memJoin(mov(r0, 0), exit()),
			maxProcessed: 500,
		},
		{
			name:  "proven memory length still matters when an access follows",
			insns: memJoin(ldx(1, r0, r1, 7), exit()),
			err:   "invalid access to memory region", kind: ErrMemAccess,
		},
		{
			// A subprogram that reads the region: the call is an access.
			name:  "a call after the join keeps the memory length live",
			insns: memJoin(callLocal(1), exit(), ldx(1, r0, r1, 7), exit()),
			err:   "invalid access to memory region", kind: ErrMemAccess,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Check(&isa.Program{Insns: c.insns}, Options{MinMem: c.minMem})
			if c.err != "" {
				if err == nil {
					t.Fatalf("accepted (%d processed), want an error containing %q", f.Processed, c.err)
				}
				if !errors.Is(err, c.kind) {
					t.Fatalf("error %v, want %v", err, c.kind)
				}
				return
			}
			if err != nil {
				t.Fatalf("rejected: %v\n%s", err, logOf(err))
			}
			if f.Processed > c.maxProcessed {
				t.Errorf("%d instructions processed, want at most %d", f.Processed, c.maxProcessed)
			}
			t.Logf("%d processed", f.Processed)
		})
	}
}

// Known bits and bounds that contradict each other describe no value: a branch that would
// need one is never taken. ihl = (x & 0xf) * 4 cannot lie in [58, 59].
func TestBranchContradictingKnownBitsIsImpossible(t *testing.T) {
	insns := prog(
		call(HelperGetPrandomU32), and(r0, 0x3c),
		to(jmp(isa.JumpLT, r0, 58, 0), "ok"),
		to(jmp(isa.JumpGT, r0, 59, 0), "ok"),
		ldx(8, r0, fp, 8), // above the frame: rejected if ever reached
		label("ok"), mov(r0, 0), exit(),
	)
	f, err := Check(&isa.Program{Insns: insns}, Options{})
	if err != nil {
		t.Fatalf("rejected: %v\n%s", err, logOf(err))
	}
	if !f.Dead[4] {
		t.Errorf("slot 4 (r0 in [58, 59]) is not dead")
	}
	if f.Branch[3] != BranchTaken {
		t.Errorf("Branch[3] = %d, want only taken", f.Branch[3])
	}
}
