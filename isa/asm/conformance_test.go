package asm

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/isa"
)

// suite loads every .data file and programs.json, skipping when the suite is absent.
func suite(t *testing.T) ([]conformance.Test, map[string]conformance.Program) {
	t.Helper()
	dir, ok := conformance.Dir()
	if !ok {
		t.Skipf("bpf_conformance suite not found (set %s)", conformance.EnvDir)
	}
	tests, err := conformance.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	progs, err := conformance.LoadPrograms(dir)
	if err != nil {
		t.Fatal(err)
	}
	byName := make(map[string]conformance.Program, len(progs))
	for _, p := range progs {
		byName[p.Name] = p
	}
	if len(tests) == 0 || len(tests) != len(progs) {
		t.Fatalf("suite has %d .data files and %d programs.json entries", len(tests), len(progs))
	}
	return tests, byName
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
