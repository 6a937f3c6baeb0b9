package interp_test

import (
	"bytes"
	"testing"

	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
)

// conformanceHelpers is the environment the suite assumes: helper 5 exists and returns
// normally (call_unwind_fail.data and callx.data call it with r1 = -1 and go on).
var conformanceHelpers = interp.HelperTable{
	5: func(*interp.Memory, [5]uint64) (uint64, error) { return 0, nil },
}

// runSuiteProgram runs one program as the conformance protocol does: r1 points to a writable
// copy of mem (0 when there is none), r2 is its length.
func runSuiteProgram(t *testing.T, insns []isa.Instruction, mem []byte) (uint64, error) {
	t.Helper()
	p, err := interp.New(&isa.Program{Insns: insns}, nil)
	if err != nil {
		return 0, err
	}
	res, err := p.Run(&interp.Env{Context: bytes.Clone(mem), Helpers: conformanceHelpers})
	return res.R0, err
}

func TestConformanceSuite(t *testing.T) {
	dir, ok := conformance.Dir()
	if !ok {
		t.Skipf("bpf_conformance suite not found: set %s or provide ../shared/conformance", conformance.EnvDir)
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
	if len(tests) != 313 {
		t.Errorf("suite has %d .data files, want 313", len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.Name, func(t *testing.T) {
			if !tc.HasRes {
				t.Fatal("test has no -- result")
			}
			p, ok := byName[tc.Name]
			if !ok {
				t.Fatal("not in programs.json")
			}
			insns, err := isa.DecodeAll(p.Program)
			if err != nil {
				t.Fatal(err)
			}
			got, err := runSuiteProgram(t, insns, tc.Mem)
			if err != nil {
				t.Fatalf("programs.json bytes: %v", err)
			}
			if got != tc.Result {
				t.Errorf("programs.json bytes: r0 = %#x, want %#x", got, tc.Result)
			}

			// The -- raw section, where a file has one, is a third spelling of the program.
			if tc.Raw != nil {
				raw, err := isa.DecodeAll(tc.Raw)
				if err != nil {
					t.Fatalf("raw: %v", err)
				}
				if got, err := runSuiteProgram(t, raw, tc.Mem); err != nil || got != tc.Result {
					t.Errorf("raw bytes: r0 = %#x, %v; want %#x", got, err, tc.Result)
				}
			}

			// The same test from its -- asm text, through the project's assembler.
			insns, err = asm.Assemble(tc.Asm)
			if err != nil {
				t.Fatalf("assemble: %v", err)
			}
			got, err = runSuiteProgram(t, insns, tc.Mem)
			if err != nil {
				t.Fatalf("assembled text: %v", err)
			}
			if got != tc.Result {
				t.Errorf("assembled text: r0 = %#x, want %#x", got, tc.Result)
			}
		})
	}
}
