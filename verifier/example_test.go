package verifier_test

import (
	"errors"
	"fmt"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/verifier"
)

// A program of the raw memory type gets r1 = memory and r2 = its length; it may read only
// what a comparison of the length (or Options.MinMem) proves is there.
func ExampleCheck() {
	insns := []isa.Instruction{
		{Opcode: 0xb7, Dst: isa.R0, Imm: 0},              // r0 = 0
		{Opcode: 0xa5, Dst: isa.R2, Imm: 8, Off: 1},      // if r2 < 8 goto +1
		{Opcode: 0x79, Dst: isa.R0, Src: isa.R1, Off: 0}, // r0 = *(u64 *)(r1 + 0)
		{Opcode: isa.OpExit},                             // exit
	}
	facts, err := verifier.Check(&isa.Program{Insns: insns}, verifier.Options{Type: verifier.RawMemoryType})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(facts.Summary())

	insns[1].Imm = 4 // now only 4 bytes are proven
	_, err = verifier.Check(&isa.Program{Insns: insns}, verifier.Options{})
	var ve *verifier.Error
	if errors.As(err, &ve) {
		fmt.Println("rejected at insn", ve.Insn, errors.Is(err, verifier.ErrMemAccess))
	}
	// Output:
	// accepted: 5 instructions processed
	// rejected at insn 2 true
}
