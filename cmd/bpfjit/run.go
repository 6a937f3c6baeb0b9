package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bpfjit/bpfjit/internal/engine"
	"github.com/bpfjit/bpfjit/internal/progsrc"
)

func cmdRun(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	eng := fs.String("engine", defaultEngine(), "engine: "+strings.Join(engine.Names(), ", "))
	section := fs.String("section", "", "ELF section or program name")
	memFile := fs.String("mem", "", "input memory file (raw bytes; hex text when named .hex/.txt)")
	memHex := fs.String("mem-hex", "", "input memory as hex")
	repeat := fs.Int("repeat", 1, "run the program N times and report the time per run")
	blinding := fs.Bool("blinding", false, "constant blinding (jit)")
	budget := fs.Uint64("budget", 0, "instruction budget per run (interp: instructions; unverified jit: back-edges and calls; 0: default)")
	unverified := fs.Bool("unverified", false, "jit: skip the verifier; you vouch the program only touches the memory it is given")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	path, err := oneArg(pos, "PROGRAM")
	if err != nil {
		return err
	}
	if *repeat < 1 {
		return fmt.Errorf("%w: --repeat must be at least 1", errUsage)
	}
	src, err := progsrc.LoadFile(path, progsrc.KindAuto, *section)
	if err != nil {
		return err
	}
	mem := src.Mem
	if *memFile != "" || *memHex != "" {
		if mem, err = progsrc.LoadMem(*memFile, *memHex); err != nil {
			return fmt.Errorf("memory: %w", err)
		}
	}
	r, err := engine.Prepare(*eng, src.Program, engine.Options{Budget: *budget, Blinding: *blinding, Unverified: *unverified, MemSize: len(mem)})
	if err != nil {
		return err
	}
	defer r.Close()
	r0, err := r.Run(mem)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%#x\n", r0)
	if src.HasExpected && r0 != src.Expected {
		fmt.Fprintf(os.Stderr, "note: the file expects %#x\n", src.Expected)
	}
	if *repeat > 1 {
		start := time.Now()
		for i := 0; i < *repeat; i++ {
			if _, err := r.Run(mem); err != nil {
				return fmt.Errorf("run %d: %w", i+1, err)
			}
		}
		el := time.Since(start)
		fmt.Fprintf(stdout, "%d runs, %.1f ns/run\n", *repeat, float64(el.Nanoseconds())/float64(*repeat))
	}
	return nil
}

// defaultEngine is the JIT where it is compiled in for this architecture.
func defaultEngine() string {
	for _, n := range engine.Names() {
		if n == "jit" {
			return n
		}
	}
	return "interp"
}
