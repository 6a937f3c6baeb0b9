package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/bpfjit/bpfjit/internal/progsrc"
	"github.com/bpfjit/bpfjit/isa/asm"
)

func cmdAsm(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("asm", flag.ContinueOnError)
	out := fs.String("o", "", "write raw bytecode to this file instead of hex to stdout")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	path, err := oneArg(pos, "FILE")
	if err != nil {
		return err
	}
	kind := progsrc.KindFor(path)
	if kind != progsrc.KindData {
		kind = progsrc.KindAsm
	}
	src, err := progsrc.LoadFile(path, kind, "")
	if err != nil {
		return err
	}
	code := src.Program.Bytes()
	if *out != "" {
		return os.WriteFile(*out, code, 0o644)
	}
	for i := 0; i < len(code); i += 8 {
		fmt.Fprintln(stdout, hex.EncodeToString(code[i:i+8]))
	}
	return nil
}

func cmdDisasm(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("disasm", flag.ContinueOnError)
	section := fs.String("section", "", "ELF section or program name")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	path, err := oneArg(pos, "FILE")
	if err != nil {
		return err
	}
	src, err := progsrc.LoadFile(path, progsrc.KindAuto, *section)
	if err != nil {
		return err
	}
	text, err := asm.DisassembleProgram(src.Program)
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, text)
	return err
}
