// Command compilebench compiles one generated program repeatedly with emit.Compile, for
// instruction counts under callgrind, which are repeatable on a loaded machine where
// timings are not. Run it twice, with -iters 1 and -iters 9, and take the difference of
// the main thread's counts: setup and the warm-up compile cancel out.
//
//	GOGC=off GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind \
//	    --separate-threads=yes --callgrind-out-file=cg compilebench -arch amd64 -n 10000 -iters 9
//
// Ir per BPF slot = (Ir(-iters 9) - Ir(-iters 1)) / 8 / n, reading the "totals:" line of
// cg-01 (thread 1). -mode is plain or blind (constant blinding); Compile always
// validates, in the same scan that finds the program's shape.
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

func main() {
	arch := flag.String("arch", "amd64", "backend: amd64 or arm64 (compiling only, on any host)")
	n := flag.Int("n", 10000, "program slots (2 gives the fixed-cost program)")
	iters := flag.Int("iters", 5, "timed compiles after one warm-up compile")
	mode := flag.String("mode", "plain", "plain or blind")
	flag.Parse()
	if *n < 2 {
		fmt.Fprintln(os.Stderr, "compilebench: -n must be at least 2")
		os.Exit(2)
	}
	insns := progen.Straight(*n)
	if *n == 2 {
		insns = []isa.Instruction{{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: 1}, {Opcode: isa.OpExit}}
	}
	var be emit.Backend = &amd64.Backend{GateEntryDisp: 40}
	if *arch == "arm64" {
		be = &arm64.Backend{GateEntryDisp: 40, Atomics: arm64.AtomicLSE}
	}
	opts := emit.Options{}
	switch *mode {
	case "plain":
	case "blind":
		opts.Blind = true
	default:
		fmt.Fprintln(os.Stderr, "compilebench: -mode is plain or blind")
		os.Exit(2)
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
