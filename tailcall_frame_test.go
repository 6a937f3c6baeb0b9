package bpfjit_test

import (
	"testing"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/emit"
)

// uses6to9AndStack counts one execution, fills the BPF stack from its deepest word to its
// top and uses r6-r9, then tail-calls slot %d; after a failed call it returns the count
// plus %d. Its frame saves all four registers.
const uses6to9AndStack = `
	mov %%r6, %%r1
	ldxw %%r7, [%%r6]
	add %%r7, 1
	stxw [%%r6], %%r7
	mov %%r8, 8
	mov %%r9, 9
	stxdw [%%r10-512], %%r8
	stxdw [%%r10-8], %%r9
	mov %%r1, %%r6
	lddw %%r2, map_idx 0
	mov %%r3, %d
	call 12
	ldxdw %%r8, [%%r10-512]
	ldxdw %%r9, [%%r10-8]
	ldxw %%r0, [%%r6]
	add %%r0, %%r8
	add %%r0, %%r9
	add %%r0, %d
	exit
`

// A direct tail call from a main function keeps its frame and jumps to the target's body
// when the target's frame fits (the same saved registers, no deeper BPF stack), and
// otherwise unwinds and enters through the tail-call entry; either way the run matches
// the interpreter's, and a slot switching between the two kinds retargets the site.
func TestDirectTailCallKeepsAFittingFrame(t *testing.T) {
	requireJIT(t)
	w := newTCWorld(t)
	self := w.load(fmtSrc(countAndTailCall, 0, 1000))    // saves r6, r7
	twin := w.load(fmtSrc(countAndTailCall, 0, 2000))    // the same frame
	wide := w.load(fmtSrc(uses6to9AndStack, 0, 3000))    // saves r6-r9: fits in neither
	leaf := w.load("mov %r0, 7\nstdw [%r10-8], 1\nexit") // no saved registers
	// saves r6 and r7 like self, with a BPF stack of its own: fits in self's frame, as a
	// main function with direct tail calls takes the deepest frame
	fittingLeaf := w.load("mov %r6, 1\nmov %r7, 2\nstdw [%r10-8], 3\nldxdw %r0, [%r10-8]\nadd %r0, %r6\nadd %r0, %r7\nexit")
	for _, step := range []struct {
		name     string
		slot0    tcProg
		run      tcProg
		wantKept int // sites of run keeping the frame
		wantR0   uint64
	}{
		{"a program calling itself", self, self, 1, 1000 + 1 + emit.MaxTailCalls},
		{"into a twin with the same frame", twin, self, 1, 2000 + 1 + emit.MaxTailCalls},
		{"into a frame saving more registers", wide, self, 0, 3000 + 8 + 9 + 1 + emit.MaxTailCalls},
		{"the wide one calling itself", wide, wide, 1, 3000 + 8 + 9 + 1 + emit.MaxTailCalls},
		{"into a leaf saving none", leaf, self, 0, 7},
		{"into a leaf saving the same", fittingLeaf, self, 1, 6},
		{"back to a fitting one", self, self, 1, 1000 + 1 + emit.MaxTailCalls},
	} {
		w.set(0, step.slot0)
		if got := bpfjit.KeptFrameSites(step.run.jit); got != step.wantKept {
			t.Errorf("%s: %d sites keep the frame, want %d", step.name, got, step.wantKept)
		}
		if r0, _, _ := w.run(step.run); r0 != step.wantR0 {
			t.Errorf("%s: r0 %d, want %d", step.name, r0, step.wantR0)
		}
		for _, p := range []tcProg{self, twin, wide} {
			if errs := bpfjit.PokeErrors(p.jit); len(errs) > 0 {
				t.Fatalf("%s: %v", step.name, errs)
			}
		}
	}
}
