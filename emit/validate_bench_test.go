package emit_test

import (
	"fmt"
	"testing"

	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/isa"
)

// BenchmarkValidate reports the cost per slot of isa.Validate (isa.Shape.Scan, which is
// also Compile's scan of the program), on generated programs of 1,000 to 100,000 slots
// (one function, as most programs are, and with BPF-to-BPF calls).
func BenchmarkValidate(b *testing.B) {
	for _, calls := range []bool{false, true} {
		for _, n := range []int{1000, 10000, 100000} {
			insns := validateProgram(n, calls)
			if err := isa.Validate(insns); err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("calls=%v/insns=%d", calls, n), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := isa.Validate(insns); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/insn")
			})
		}
	}
}

// validateProgram concatenates generated programs up to about n slots. Without calls
// each contributes its main function's body (local calls and function addresses become
// moves) and one exit ends the whole; with calls the programs are kept whole, so each
// keeps its subprograms and every call stays within its own program.
func validateProgram(n int, calls bool) []isa.Instruction {
	g := progen.New(7, progen.Options{})
	var out []isa.Instruction
	for len(out) < n {
		p := g.Program()
		if calls {
			out = append(out, p...)
			continue
		}
		for _, in := range p {
			if in.IsExit() {
				break
			}
			if in.IsLocalCall() {
				in = isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: 1}
			}
			out = append(out, in)
		}
	}
	if calls {
		return out
	}
	// Jumps past the end go to the final exit instead.
	out = append(out, isa.Instruction{Opcode: isa.OpExit})
	for i := range out {
		if out[i].IsJump() && i+1+int(out[i].JumpOffset()) >= len(out) {
			if out[i].Opcode == isa.OpJa32 {
				out[i].Imm = int32(len(out) - 2 - i)
			} else {
				out[i].Off = int16(len(out) - 2 - i)
			}
		}
		if out[i].IsFuncAddr() {
			out[i].Src = 0 // a plain constant: one function
		}
	}
	return out
}
