package progsrc

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/bpfjit/bpfjit/isa/ebpfimport"
)

func loadELF(path, section string) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	src, err := readELF(f, section)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return src, nil
}

// ParseELF reads a program from an ELF object held in memory. section names the program
// or its section; it may be empty when the object holds a single program.
func ParseELF(b []byte, section string) (*Source, error) {
	return readELF(bytes.NewReader(b), section)
}

func readELF(r io.ReaderAt, section string) (*Source, error) {
	spec, err := ebpf.LoadCollectionSpecFromReader(r)
	if err != nil {
		return nil, err
	}
	if section == "" {
		names := make([]string, 0, len(spec.Programs))
		for n := range spec.Programs {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) != 1 {
			return nil, fmt.Errorf("the object holds %d programs (%s): name one with --section", len(names), strings.Join(names, ", "))
		}
		section = names[0]
	}
	p, err := ebpfimport.FromCollectionSpec(spec, section)
	if err != nil {
		return nil, err
	}
	return &Source{Program: p}, nil
}
