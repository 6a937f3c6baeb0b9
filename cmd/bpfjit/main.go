// Command bpfjit runs, assembles, disassembles and inspects BPF programs.
//
//	bpfjit run [--engine interp|jit] [--section S] [--mem FILE | --mem-hex HEX] [--repeat N] PROGRAM
//	bpfjit asm [-o FILE] FILE.s
//	bpfjit disasm FILE
//	bpfjit verify [--type T] [--log-level N] FILE
//	bpfjit dump [--arch amd64|arm64] PROGRAM
//
// PROGRAM is a bpf_conformance .data file, assembler text (.s/.asm), an ELF object (.o,
// with --section naming the section or program when it has several), raw bytes (.bin), or
// anything else read as hex text.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

type command struct {
	name, usage, help string
	run               func(args []string, stdout io.Writer) error
}

var commands []command

func init() {
	commands = []command{
		{"run", "run [--engine E] [--section S] [--mem FILE | --mem-hex HEX] [--repeat N] PROGRAM",
			"run a program and print r0", cmdRun},
		{"asm", "asm [-o FILE] [--hex] FILE", "assemble text to bytecode", cmdAsm},
		{"verify", "verify [--type T] [--log-level N] [--section S] [--mem-size N] FILE",
			"run the verifier: print accepted and the instructions processed, or the log", cmdVerify},
		{"disasm", "disasm [--section S] FILE", "disassemble bytecode (raw, hex, .data or ELF)", cmdDisasm},
		{"dump", "dump [--arch amd64|arm64] [--section S] [--blinding] [--unverified] PROGRAM",
			"print each BPF instruction and the native code it compiles to (any arch on any host)", cmdDump},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: bpfjit COMMAND [options] ARGS")
	for _, c := range commands {
		fmt.Fprintf(w, "  bpfjit %s\n        %s\n", c.usage, c.help)
	}
}

// errUsage marks errors caused by how the command was called (exit status 2).
var errUsage = errors.New("usage")

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage(os.Stdout)
		return
	}
	for _, c := range commands {
		if c.name == os.Args[1] {
			if err := c.run(os.Args[2:], os.Stdout); err != nil {
				if errors.Is(err, errRejected) {
					os.Exit(1) // the log is on stdout already
				}
				fmt.Fprintf(os.Stderr, "bpfjit %s: %v\n", c.name, err)
				if errors.Is(err, errUsage) {
					fmt.Fprintf(os.Stderr, "usage: bpfjit %s\n", c.usage)
					os.Exit(2)
				}
				os.Exit(1)
			}
			return
		}
	}
	fmt.Fprintf(os.Stderr, "bpfjit: unknown command %q\n", os.Args[1])
	usage(os.Stderr)
	os.Exit(2)
}

// parse parses flags that may stand before, between or after the positional arguments.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func oneArg(pos []string, what string) (string, error) {
	if len(pos) != 1 {
		return "", fmt.Errorf("%w: want exactly one %s, got %d arguments (%s)", errUsage, what, len(pos), strings.Join(pos, " "))
	}
	return pos[0], nil
}
