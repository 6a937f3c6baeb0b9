package bpfjit_test

import (
	"fmt"
	"testing"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/isa"
)

// Compile benchmarks go through bpfjit.Compile, the architecture-independent path, so
// both back ends are measured natively on any host (never under an emulator). Figures
// from a shared machine are provisional; recorded numbers come from a quiet one.

// BenchmarkCompile reports the cost of compiling per BPF instruction and the native bytes
// per instruction, for each architecture and program size (targets: ≤ 20 ns/insn,
// ≤ 8 bytes/insn). Unverified: the verifier's cost is not the JIT's. Compiled on a
// non-arm64 host, arm64 atomics are exclusive-monitor loops rather than LSE, which
// makes the arm64 bytes/insn slightly pessimistic for programs that use atomics.
func BenchmarkCompile(b *testing.B) {
	for _, arch := range bpfjit.Archs() {
		for _, n := range []int{1000, 10000, 100000} {
			p := &isa.Program{Insns: progen.Straight(n)}
			b.Run(fmt.Sprintf("arch=%s/insns=%d", arch, n), func(b *testing.B) {
				var l *bpfjit.Listing
				for b.Loop() {
					var err error
					if l, err = bpfjit.Compile(p, arch, bpfjit.Unverified()); err != nil {
						b.Fatal(err)
					}
				}
				size := len(l.Native())
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/insn")
				b.ReportMetric(float64(size)/float64(n), "bytes/insn")
			})
		}
	}
}

// BenchmarkCompileUnseen is BenchmarkCompile compiling a different program each time,
// in turn from a set of distinct programs of the same mix (about 2.4 MB of slots in all):
// the cost of compiling a program the machine has not just compiled. Compiling one
// program over and over, as BenchmarkCompile does, lets the CPU's branch predictors learn
// the order of its slots when the program is small; a program of 100,000 slots is too
// long for that, and so is any program compiled once.
func BenchmarkCompileUnseen(b *testing.B) {
	for _, arch := range bpfjit.Archs() {
		for _, n := range []int{1000, 10000} {
			progs := make([]*isa.Program, 200000/n)
			for k := range progs {
				progs[k] = &isa.Program{Insns: progen.StraightSeed(n, uint64(k+2))}
			}
			b.Run(fmt.Sprintf("arch=%s/insns=%d", arch, n), func(b *testing.B) {
				k := 0
				for b.Loop() {
					if _, err := bpfjit.Compile(progs[k], arch, bpfjit.Unverified()); err != nil {
						b.Fatal(err)
					}
					if k++; k == len(progs) {
						k = 0
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/insn")
			})
		}
	}
}

// BenchmarkCompileFixedCost compiles a 2-instruction program: the per-program overhead
// (target ≤ 5 µs).
func BenchmarkCompileFixedCost(b *testing.B) {
	p := &isa.Program{Insns: []isa.Instruction{{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: 1}, {Opcode: isa.OpExit}}}
	for _, arch := range bpfjit.Archs() {
		b.Run("arch="+arch, func(b *testing.B) {
			for b.Loop() {
				if _, err := bpfjit.Compile(p, arch, bpfjit.Unverified()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
