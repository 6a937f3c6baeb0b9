package verifier

import (
	"errors"
	"testing"

	"github.com/bpfjit/bpfjit/isa"
)

// twoLoops runs a loop whose exit count is unknown (r6 counts to r8 = random & 15, so the
// loop leaves with 15 different counters) and then a 200-iteration loop. tail follows the
// second loop; r9 holds the raw memory region.
func twoLoops(tail ...any) []isa.Instruction {
	parts := []any{
		movr(r9, r1), // the region pointer survives the helper call in r9
		call(HelperGetPrandomU32), movr(r8, r0), and(r8, 15),
		mov(r6, 0),
		label("l1"), add(r6, 1), to(jmpr(isa.JumpLT, r6, r8, 0), "l1"),
		mov(r7, 0),
		label("l2"), add(r7, 1), to(jmp(isa.JumpLT, r7, 200, 0), "l2"),
	}
	return prog(append(parts, tail...)...)
}

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
			insns:  twoLoops(mov(r3, 16), alur(isa.ALUSub, r3, r6), addr(r3, r9), ldx(1, r0, r3, 0), exit()),
			minMem: 15,
			err:    "invalid access to memory region", kind: ErrMemAccess,
		},
		{
			name:         "counter read after the second loop, within bounds, accepted",
			insns:        twoLoops(mov(r3, 16), alur(isa.ALUSub, r3, r6), addr(r3, r9), ldx(1, r0, r3, 0), exit()),
			minMem:       16,
			maxProcessed: 20000,
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
