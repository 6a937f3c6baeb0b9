//go:build linux && (amd64 || arm64)

package bpfjit_test

import (
	"fmt"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/isa/asm"
	"github.com/bpfjit/bpfjit/verifier"
)

// A program is verified, compiled once and then run as often as needed, from any goroutine.
func Example() {
	insns, err := asm.Assemble(`
		ldxw %r0, [%r1+0]
		ldxw %r2, [%r1+4]
		add %r0, %r2
		exit`)
	if err != nil {
		panic(err)
	}
	// The verifier must know how much memory r1 points at to prove the loads safe.
	p, err := bpfjit.LoadInstructions(insns, bpfjit.WithVerifier(verifier.Options{MinMem: 8}))
	if err != nil {
		panic(err)
	}
	defer p.Close()
	r0, err := p.Run([]byte{40, 0, 0, 0, 2, 0, 0, 0})
	fmt.Println(r0, err)
	// Output: 42 <nil>
}

// Helpers are Go functions called by id; the budget bounds programs that are not
// verified to terminate.
func ExampleWithHelpers() {
	insns, err := asm.Assemble(`
		mov %r1, 20
		call 1
		add %r0, 2
		exit`)
	if err != nil {
		panic(err)
	}
	double := func(r1, _, _, _, _ uint64) uint64 { return 2 * r1 }
	p, err := bpfjit.LoadInstructions(insns, bpfjit.Unverified(), bpfjit.WithBudget(1000),
		bpfjit.WithHelpers(map[int32]bpfjit.Helper{1: double}))
	if err != nil {
		panic(err)
	}
	defer p.Close()
	fmt.Println(p.Run(nil))
	// Output: 42 <nil>
}
