// Command bpfjit-conformance is a plugin for the bpf_conformance runner
// (its --plugin_path). It speaks the runner's protocol exactly:
//
//	bpfjit-conformance [MEMHEX] [--interpret|--jit] [--blinding] [--elf]
//
// MEMHEX (present only when the test has memory) is the input memory as hex pairs; any
// argument not starting with "--" is taken as memory and empty arguments are ignored.
// The program arrives on stdin as hex text (or, with --elf, as an ELF object). On success
// the plugin prints r0 in hex and exits 0; on any error it prints a message to stderr and
// exits non-zero. Every run is bounded: the interpreter by an instruction budget, the JIT
// by the verifier, which proves termination and memory safety before anything is compiled
// (the memory's length is what the program may assume of r1's region).
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/bpfjit/bpfjit/internal/engine"
	"github.com/bpfjit/bpfjit/internal/progsrc"
)

func main() {
	r0, err := run(os.Args[1:], os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bpfjit-conformance:", err)
		os.Exit(1)
	}
	fmt.Printf("0x%x\n", r0)
}

// budget bounds an interpreted run; far above what any conformance program executes.
const budget = 1 << 26

func run(args []string, stdin io.Reader) (uint64, error) {
	eng := "interp"
	var memHex string
	var elf, blinding bool
	for _, a := range args {
		switch {
		case a == "":
		case a == "--interpret":
			eng = "interp"
		case a == "--jit":
			eng = "jit"
		case a == "--blinding":
			blinding = true
		case a == "--elf":
			elf = true
		case strings.HasPrefix(a, "--"):
			return 0, fmt.Errorf("unknown option %q (known: --interpret, --jit, --blinding, --elf)", a)
		default:
			if memHex != "" {
				return 0, fmt.Errorf("memory given twice")
			}
			memHex = a
		}
	}
	mem, err := progsrc.ParseHex(memHex)
	if err != nil {
		return 0, fmt.Errorf("memory: %w", err)
	}
	in, err := io.ReadAll(stdin)
	if err != nil {
		return 0, fmt.Errorf("reading program: %w", err)
	}
	var src *progsrc.Source
	if elf || bytes.HasPrefix(in, []byte("\x7fELF")) {
		src, err = progsrc.ParseELF(in, "")
	} else {
		src, err = progsrc.Parse(in, progsrc.KindHex)
	}
	if err != nil {
		return 0, fmt.Errorf("program: %w", err)
	}
	r, err := engine.Prepare(eng, src.Program, engine.Options{Budget: budget, Blinding: blinding, MemSize: len(mem)})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return r.Run(mem)
}
