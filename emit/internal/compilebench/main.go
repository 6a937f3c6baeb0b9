// Command compilebench compiles one generated program repeatedly with emit.Compile, for
// instruction counts under callgrind, which are repeatable on a loaded machine where
// timings are not. Run it twice, with -iters 1 and -iters 9, and take the difference of
// the main thread's counts: setup and the warm-up compile cancel out.
//
//	GOGC=off GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind \
//	    --separate-threads=yes --callgrind-out-file=cg compilebench -arch amd64 -n 10000 -iters 9
//
// Ir per BPF slot = (Ir(-iters 9) - Ir(-iters 1)) / 8 / n, reading the "totals:" line of
// cg-01 (thread 1). -mode is validate (isa.Validate included), prevalidated or blind.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/amd64"
	"github.com/bpfjit/bpfjit/emit/arm64"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/isa"
)

// benchProgram concatenates the main bodies of generated programs up to n slots, with
// jumps that would leave the program retargeted to its exit (as the backends' compile
// benchmarks build theirs).
func benchProgram(n int) []isa.Instruction {
	g := progen.New(1, progen.Options{})
	var out []isa.Instruction
	for len(out) < n {
		for _, in := range g.Program() {
			if in.IsExit() {
				break
			}
			if in.IsLocalCall() {
				in = isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: 1}
			}
			out = append(out, in)
		}
	}
	out = out[:n-1]
	if out[n-2].IsLdImm64() {
		out[n-2] = isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: 2}
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

func main() {
	arch := flag.String("arch", "amd64", "backend: amd64 or arm64 (compiling only, on any host)")
	n := flag.Int("n", 10000, "program slots (2 gives the fixed-cost program)")
	iters := flag.Int("iters", 5, "timed compiles after one warm-up compile")
	mode := flag.String("mode", "prevalidated", "validate, prevalidated or blind")
	flag.Parse()
	if *n < 2 {
		fmt.Fprintln(os.Stderr, "compilebench: -n must be at least 2")
		os.Exit(2)
	}
	insns := benchProgram(*n)
	if *n == 2 {
		insns = []isa.Instruction{{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: 1}, {Opcode: isa.OpExit}}
	}
	var be emit.Backend = &amd64.Backend{GateEntryDisp: 40}
	if *arch == "arm64" {
		be = &arm64.Backend{GateEntryDisp: 40, Atomics: arm64.AtomicLSE}
	}
	opts := emit.Options{}
	switch *mode {
	case "prevalidated":
		opts.Prevalidated = true
	case "blind":
		opts.Blind = true
	}
	// One warm-up compile fills the driver's pool; the GC keeps the counted loop clean.
	if _, err := emit.Compile(insns, opts, be); err != nil {
		fmt.Fprintln(os.Stderr, "compilebench:", err)
		os.Exit(1)
	}
	runtime.GC()
	for range *iters {
		if _, err := emit.Compile(insns, opts, be); err != nil {
			fmt.Fprintln(os.Stderr, "compilebench:", err)
			os.Exit(1)
		}
	}
}
