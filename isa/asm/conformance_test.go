package asm

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/isa"
)

// loadSuite loads every .data file and programs.json; ok is false when the suite is absent.
func loadSuite() (tests []conformance.Test, progs map[string]conformance.Program, ok bool, err error) {
	dir, ok := conformance.Dir()
	if !ok {
		return nil, nil, false, nil
	}
	if tests, err = conformance.Load(dir); err != nil {
		return nil, nil, true, err
	}
	list, err := conformance.LoadPrograms(dir)
	if err != nil {
		return nil, nil, true, err
	}
	progs = make(map[string]conformance.Program, len(list))
	for _, p := range list {
		progs[p.Name] = p
	}
	if len(tests) == 0 || len(tests) != len(list) {
		return nil, nil, true, fmt.Errorf("suite has %d .data files and %d programs.json entries", len(tests), len(list))
	}
	return tests, progs, true, nil
}

// suite is loadSuite for tests, skipping when the suite is absent.
func suite(t *testing.T) ([]conformance.Test, map[string]conformance.Program) {
	t.Helper()
	tests, progs, ok, err := loadSuite()
	if !ok {
		t.Skipf("bpf_conformance suite not found (set %s)", conformance.EnvDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	return tests, progs
}

// The suite's own assembler produced programs.json; ours must agree byte for byte.
func TestAssembleMatchesSuiteAssemblerByteForByte(t *testing.T) {
	tests, progs := suite(t)
	for _, tc := range tests {
		t.Run(tc.Name, func(t *testing.T) {
			want, ok := progs[tc.Name]
			if !ok {
				t.Fatalf("no programs.json entry")
			}
			insns, err := Assemble(tc.Asm)
			if err != nil {
				t.Fatalf("Assemble: %v", err)
			}
			got := isa.EncodeAll(insns)
			if !bytes.Equal(got, want.Program) {
				t.Fatalf("encoding differs\n got %x\nwant %x", got, want.Program)
			}
			if tc.Raw != nil && !bytes.Equal(got, tc.Raw) {
				t.Fatalf("encoding differs from the -- raw section\n got %x\nwant %x", got, tc.Raw)
			}
		})
	}
}

// Decoding the suite's bytes and encoding them again must give the same bytes, and the
// disassembly of every program must assemble back to the same slots.
func TestConformanceProgramsRoundTrip(t *testing.T) {
	_, progs := suite(t)
	for name, p := range progs {
		t.Run(name, func(t *testing.T) {
			insns, err := isa.DecodeAll(p.Program)
			if err != nil {
				t.Fatal(err)
			}
			if got := isa.EncodeAll(insns); !bytes.Equal(got, p.Program) {
				t.Fatalf("encode(decode(b)) != b")
			}
			text, err := Disassemble(insns)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(text, ".insn") {
				t.Errorf("a suite program needed the raw .insn form:\n%s", text)
			}
			back, err := Assemble(text)
			if err != nil {
				t.Fatalf("Assemble(Disassemble(p)): %v\n%s", err, text)
			}
			if !equalInsns(back, insns) {
				t.Fatalf("Assemble(Disassemble(p)) != p\n%s", text)
			}
		})
	}
}

func equalInsns(a, b []isa.Instruction) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
