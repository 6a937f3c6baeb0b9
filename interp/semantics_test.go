package interp_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
)

// TestSemanticsFiles runs the project's own edge-rule tests, testdata/semantics/*.data, in the
// conformance suite's format: each file's first line says the rule it pins down.
func TestSemanticsFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "semantics", "*.data"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 60 {
		t.Fatalf("found %d semantic test files, want at least 60", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			tc, err := conformance.ParseFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.HasRes {
				t.Fatal("no -- result section")
			}
			insns, err := asm.Assemble(tc.Asm)
			if err != nil {
				t.Fatalf("assemble: %v", err)
			}
			p, err := interp.New(&isa.Program{Insns: insns}, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := p.Run(&interp.Env{Context: bytes.Clone(tc.Mem)})
			if err != nil {
				t.Fatal(err)
			}
			if res.R0 != tc.Result {
				t.Errorf("r0 = %#x, want %#x", res.R0, tc.Result)
			}
		})
	}
}
