package amd64

import (
	"fmt"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/isa"
)

// BenchmarkCompile reports compile time and native size per BPF instruction
// (targets ≤ 20 ns/insn and ≤ 8 bytes/insn); insns=2 is the fixed cost (target ≤ 5 µs).
func BenchmarkCompile(b *testing.B) {
	for _, n := range []int{2, 1000, 10000, 100000} {
		insns := progen.Straight(n)
		if n == 2 {
			insns = []isa.Instruction{{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: 1}, {Opcode: isa.OpExit}}
		}
		if err := isa.Validate(insns); err != nil {
			b.Fatal(err)
		}
		for _, mode := range []struct {
			name string
			opts emit.Options
		}{
			{"validate", emit.Options{}},
			{"blind", emit.Options{Blind: true}},
		} {
			b.Run(fmt.Sprintf("insns=%d/%s", n, mode.name), func(b *testing.B) {
				var size int
				b.ReportAllocs()
				for b.Loop() {
					img, err := emit.Compile(insns, mode.opts, testBackend)
					if err != nil {
						b.Fatal(err)
					}
					size = len(img.Code)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/insn")
				b.ReportMetric(float64(size)/float64(n), "bytes/insn")
			})
		}
	}
}
