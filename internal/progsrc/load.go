package progsrc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
)

// Source is a loaded program with whatever input came with it.
type Source struct {
	Program *isa.Program
	// Mem is the input memory that came with the program (a .data file's -- mem section);
	// nil when there was none.
	Mem []byte
	// Expected is the .data file's -- result, when it has one.
	Expected    uint64
	HasExpected bool
}

// Kind says how to read a program file.
type Kind int

const (
	KindAuto Kind = iota // by extension: .data, .o/.elf, .s/.asm, otherwise hex text
	KindData             // a bpf_conformance .data file
	KindELF              // an ELF object (needs a section or program name when it has several)
	KindAsm              // assembler text
	KindHex              // program bytes as hex text
	KindRaw              // program bytes as they are
)

// KindFor picks the kind of a file from its name.
func KindFor(path string) Kind {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".data":
		return KindData
	case ".o", ".elf":
		return KindELF
	case ".s", ".asm":
		return KindAsm
	case ".bin":
		return KindRaw
	}
	return KindHex
}

// LoadFile reads a program file. section names the ELF section or program to take;
// it is ignored for other kinds.
func LoadFile(path string, kind Kind, section string) (*Source, error) {
	if kind == KindAuto {
		kind = KindFor(path)
	}
	if kind == KindELF {
		return loadELF(path, section)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	src, err := Parse(b, kind)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if src.Program.Name == "" {
		src.Program.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return src, nil
}

// Parse reads a program from bytes of the given kind (not KindELF or KindAuto).
func Parse(b []byte, kind Kind) (*Source, error) {
	switch kind {
	case KindData:
		t, err := conformance.Parse(string(b))
		if err != nil {
			return nil, err
		}
		var p *isa.Program
		if t.Raw != nil {
			p, err = isa.NewProgram(t.Raw)
		} else {
			p, err = asm.AssembleProgram(t.Asm)
		}
		if err != nil {
			return nil, err
		}
		return &Source{Program: p, Mem: t.Mem, Expected: t.Result, HasExpected: t.HasRes}, nil
	case KindAsm:
		p, err := asm.AssembleProgram(string(b))
		if err != nil {
			return nil, err
		}
		return &Source{Program: p}, nil
	case KindHex:
		code, err := ParseHex(string(b))
		if err != nil {
			return nil, err
		}
		return rawSource(code)
	case KindRaw:
		return rawSource(b)
	}
	return nil, fmt.Errorf("progsrc: kind %d cannot be parsed from bytes", kind)
}

func rawSource(code []byte) (*Source, error) {
	if len(code) == 0 {
		return nil, fmt.Errorf("no program bytes")
	}
	p, err := isa.NewProgram(code)
	if err != nil {
		return nil, err
	}
	return &Source{Program: p}, nil
}

// LoadMem reads input memory: from a file (raw bytes, or hex text when the name ends in
// .hex or .txt), or from hex given inline.
func LoadMem(file, hexText string) ([]byte, error) {
	switch {
	case file != "" && hexText != "":
		return nil, fmt.Errorf("give memory as a file or as hex, not both")
	case hexText != "":
		return ParseHex(hexText)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(filepath.Ext(file)) {
		case ".hex", ".txt":
			return ParseHex(string(b))
		}
		return b, nil
	}
	return nil, nil
}
