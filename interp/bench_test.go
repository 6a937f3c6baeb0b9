package interp_test

import (
	"testing"

	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
)

// Loop-heavy programs for the per-instruction cost. Figures are recorded on a quiet machine
// (bench/RESULTS.md); runs on a shared machine are provisional.
var benchPrograms = []struct {
	name, text string
}{
	// ALU and a conditional backward jump: the interpreter's dispatch cost.
	{"alu", `
		mov %r0, 0
		mov %r1, 0
	loop:
		add %r0, %r1
		xor %r0, 0x5a5a
		lsh %r0, 3
		rsh32 %r0, 1
		mul %r0, 7
		add %r1, 1
		jlt %r1, 100000, loop
		exit`},
	// The same with a stack store and load per iteration: the bounds-checked memory path.
	{"stack", `
		mov %r0, 0
		mov %r1, 0
		stdw [%r10-8], 0
	loop:
		ldxdw %r2, [%r10-8]
		add %r2, %r1
		stxdw [%r10-8], %r2
		xor %r0, %r2
		add %r1, 1
		jlt %r1, 100000, loop
		exit`},
	// Context (not stack) accesses go through the region list.
	{"context", `
		mov %r0, 0
		mov %r3, 0
	loop:
		ldxw %r4, [%r1+4]
		add %r4, %r3
		stxw [%r1+4], %r4
		add %r0, %r4
		add %r3, 1
		jlt %r3, 100000, loop
		exit`},
	// Helper calls and BPF-to-BPF calls: the slow path through step.
	{"calls", `
		mov %r0, 0
		mov %r6, 0
	loop:
		mov %r1, %r0
		call 1
		call local f
		add %r6, 1
		jlt %r6, 100000, loop
		exit
	f:
		add %r0, 1
		exit`},
}

func BenchmarkInterpLoop(b *testing.B) {
	for _, bp := range benchPrograms {
		helpers := interp.HelperTable{1: func(_ *interp.Memory, a [5]uint64) (uint64, error) { return a[0] + 1, nil }}
		b.Run(bp.name, func(b *testing.B) {
			insns, err := asm.Assemble(bp.text)
			if err != nil {
				b.Fatal(err)
			}
			p, err := interp.New(&isa.Program{Insns: insns}, nil)
			if err != nil {
				b.Fatal(err)
			}
			env := &interp.Env{Context: make([]byte, 64), Helpers: helpers}
			var executed uint64
			b.ResetTimer()
			for b.Loop() {
				res, err := p.Run(env)
				if err != nil {
					b.Fatal(err)
				}
				executed += res.Insns
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(executed), "ns/insn")
		})
	}
}

// BenchmarkInterpRunOverhead is the fixed cost of one Run: pooled state, stack zeroing,
// context registration, two instructions.
func BenchmarkInterpRunOverhead(b *testing.B) {
	p, err := interp.New(&isa.Program{Insns: []isa.Instruction{
		{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK)}, {Opcode: isa.OpExit},
	}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	env := &interp.Env{Context: make([]byte, 64)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Run(env); err != nil {
			b.Fatal(err)
		}
	}
}
