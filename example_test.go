//go:build linux && (amd64 || arm64)

package bpfjit_test

import (
	"fmt"
	"os"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/isa"
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

// Compile produces code for a named architecture without loading it, so an arm64
// listing can be printed on an amd64 machine and the other way round.
func ExampleCompile() {
	insns, err := asm.Assemble("mov %r0, 42\nexit")
	if err != nil {
		panic(err)
	}
	l, err := bpfjit.Compile(&isa.Program{Insns: insns}, bpfjit.ArchARM64)
	if err != nil {
		panic(err)
	}
	if err := l.Dump(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// function at slot 0:
	//   prologue
	//	     0  aa1e03e9               mov x9, x30
	//	     4  d503201f               nop
	//	     8  a9bf7bfd               stp x29, x30, [sp,#-16]!
	//	     c  910003fd               mov x29, sp
	//	    10  a9bf7ff9               stp x25, xzr, [sp,#-16]!
	//	    14  910003f9               mov x25, sp
	//    0: mov %r0, 42
	//	    18  d2800547               mov x7, #0x2a
	//    1: exit
	//   epilogue
	//	    1c  9100033f               mov sp, x25
	//	    20  a8c17ff9               ldp x25, xzr, [sp],#16
	//	    24  a8c17bfd               ldp x29, x30, [sp],#16
	//	    28  aa0703e0               mov x0, x7
	//	    2c  d65f03c0               ret
}
