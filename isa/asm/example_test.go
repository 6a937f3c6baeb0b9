package asm_test

import (
	"fmt"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
)

func ExampleAssemble() {
	insns, err := asm.Assemble(`
		mov %r0, 0
		ldxb %r1, [%r1+0]   # first byte of the context
		jne %r1, 0x2a, out
		mov %r0, 1
	out:
		exit`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% x\n", isa.EncodeAll(insns[2:3]))
	// Output: 55 01 01 00 2a 00 00 00
}

func ExampleDisassemble() {
	insns := []isa.Instruction{
		{Opcode: 0xb7, Dst: isa.R0, Imm: 7},         // mov %r0, 7
		{Opcode: 0x15, Dst: isa.R1, Off: 1},         // jeq %r1, 0, +1
		{Opcode: 0x87, Dst: isa.R0},                 // neg %r0
		{Opcode: isa.OpExit},                        // exit
		{Opcode: 0x07, Dst: isa.R0, Off: 3, Imm: 1}, // add with a reserved field set
	}
	text, _ := asm.Disassemble(insns)
	fmt.Print(text)
	// Output:
	// mov %r0, 7
	// jeq %r1, 0, L3
	// neg %r0
	// L3:
	// exit
	// .insn 0x07, 0, 0, 3, 1
}
