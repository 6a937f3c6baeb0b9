package interp_test

import (
	"encoding/binary"
	"fmt"

	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
)

// A program that sums the 32-bit words of its context, with a helper that doubles its
// argument.
func Example() {
	insns, err := asm.Assemble(`
		mov %r0, 0
		mov %r3, %r1        # cursor
		add %r2, %r1        # end
	loop:
		jge %r3, %r2, done
		ldxw %r4, [%r3+0]
		add %r0, %r4
		add %r3, 4
		ja loop
	done:
		mov %r1, %r0
		call 1
		exit`)
	if err != nil {
		panic(err)
	}
	p, err := interp.New(&isa.Program{Insns: insns}, nil)
	if err != nil {
		panic(err)
	}
	ctx := make([]byte, 16)
	for i := range 4 {
		binary.LittleEndian.PutUint32(ctx[4*i:], uint32(i+1))
	}
	double := interp.HelperTable{1: func(_ *interp.Memory, a [5]uint64) (uint64, error) { return 2 * a[0], nil }}
	res, err := p.Run(&interp.Env{Context: ctx, Helpers: double})
	fmt.Println(res.R0, res.Insns, err)
	// Output: 20 27 <nil>
}

// Out-of-bounds accesses are errors that name the instruction.
func Example_outOfBounds() {
	insns, _ := asm.Assemble(`
		mov %r0, 0
		ldxdw %r0, [%r1+8]
		exit`)
	p, _ := interp.New(&isa.Program{Insns: insns}, nil)
	_, err := p.Run(&interp.Env{Context: make([]byte, 12)})
	fmt.Println(err != nil, err.(*interp.Error).Index)
	// Output: true 1
}
