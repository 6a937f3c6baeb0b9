package progen

import "github.com/bpfjit/bpfjit/isa"

// Straight returns a single-function program of exactly n slots (n ≥ 2) for compile
// benchmarks: the main bodies of generated programs (seed 1) laid end to end, local calls
// replaced by moves, and jumps that would leave the program retargeted to its final exit.
// It is structurally valid; it is not meant to be run.
func Straight(n int) []isa.Instruction { return StraightSeed(n, 1) }

// StraightSeed is Straight from the generator seeded with seed: programs of the same mix
// whose slots differ, so that a benchmark can compile ones it has not compiled before.
func StraightSeed(n int, seed uint64) []isa.Instruction {
	mov := func(imm int32) isa.Instruction {
		return isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: imm}
	}
	g := New(seed, Options{})
	var out []isa.Instruction
	for len(out) < n {
		for _, in := range g.Program() {
			if in.IsExit() {
				break // the main function's body ends at its first exit
			}
			if in.IsLocalCall() {
				in = mov(1)
			}
			out = append(out, in)
		}
	}
	out = out[:n-1]
	if out[n-2].IsLdImm64() {
		out[n-2] = mov(2) // the pair was cut in half
	}
	out = append(out, isa.Instruction{Opcode: isa.OpExit})
	for i := range out {
		if out[i].IsJump() && i+1+int(out[i].JumpOffset()) >= len(out) {
			if out[i].Opcode == isa.OpJa32 {
				out[i].Imm = int32(len(out) - 2 - i)
			} else {
				out[i].Off = int16(len(out) - 2 - i)
			}
		}
	}
	return out
}
