package asm

import (
	"testing"

	"github.com/bpfjit/bpfjit/isa"
)

// Whole-suite throughput: every conformance program per iteration.
func BenchmarkAssembleSuite(b *testing.B) {
	tests, _, ok, err := loadSuite()
	if !ok || err != nil {
		b.Skip("suite not available", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, tc := range tests {
			if _, err := Assemble(tc.Asm); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkDisassembleSuite(b *testing.B) {
	_, progs, ok, err := loadSuite()
	if !ok || err != nil {
		b.Skip("suite not available", err)
	}
	var all [][]isa.Instruction
	for _, p := range progs {
		insns, err := isa.DecodeAll(p.Program)
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, insns)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, insns := range all {
			if _, err := Disassemble(insns); err != nil {
				b.Fatal(err)
			}
		}
	}
}
