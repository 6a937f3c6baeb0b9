package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/bpfjit/bpfjit/internal/progsrc"
	"github.com/bpfjit/bpfjit/verifier"
)

// errRejected marks a program the verifier rejected: the log has been printed and the
// command exits 1 without repeating it.
var errRejected = errors.New("rejected")

func cmdVerify(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	typ := fs.String("type", "raw", "program type: raw, xdp, socket, tracing (raw: r1 = memory, r2 = its length)")
	level := fs.Int("log-level", 0, "0: the failure only; 1: every processed instruction; 2: and register states")
	section := fs.String("section", "", "ELF section or program name")
	minMem := fs.Int("mem-size", -1, "raw type: bytes of memory the host guarantees (default: the file's memory, else 0)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	path, err := oneArg(pos, "FILE")
	if err != nil {
		return err
	}
	pt, ok := verifier.ProgTypeByName(*typ)
	if !ok {
		return fmt.Errorf("%w: unknown program type %q", errUsage, *typ)
	}
	src, err := progsrc.LoadFile(path, progsrc.KindAuto, *section)
	if err != nil {
		return err
	}
	mem := *minMem
	if mem < 0 {
		mem = len(src.Mem)
	}
	facts, err := verifier.Check(src.Program, verifier.Options{Type: pt, LogLevel: *level, MinMem: mem})
	var ve *verifier.Error
	if errors.As(err, &ve) {
		fmt.Fprint(stdout, ve.Log)
		if len(ve.Log) > 0 && ve.Log[len(ve.Log)-1] != '\n' {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "rejected: %v\n", err)
		return errRejected
	}
	if err != nil {
		return err
	}
	if *level > 0 {
		fmt.Fprint(stdout, facts.Log)
	}
	fmt.Fprintf(stdout, "accepted: %d instructions processed\n", facts.Processed)
	return nil
}
