//go:build amd64 && linux

package amd64

import (
	"bytes"
	"encoding/hex"
	"testing"
	"unsafe"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/amd64/internal/native"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
)

// These tests execute the emitted code with the test-only native runner (no helpers);
// the root package runs the same programs, and helper-calling ones, through the bridge.

// runJIT compiles insns and runs them with r1 = mem, r2 = len(mem).
func runJIT(t *testing.T, insns []isa.Instruction, opts emit.Options, mem []byte) uint64 {
	t.Helper()
	img, err := emit.Compile(insns, opts, testBackend)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	code, err := native.Load(img.Code)
	if err != nil {
		t.Fatal(err)
	}
	defer code.Close()
	var p uint64
	if len(mem) > 0 {
		native.Heap(unsafe.Pointer(&mem[0]))
		p = uint64(uintptr(unsafe.Pointer(&mem[0])))
	}
	return code.Run([5]uint64{p, uint64(len(mem))})
}

func usesHelpers(insns []isa.Instruction) bool {
	for _, in := range insns {
		if in.IsHelperCall() || in.IsCallX() {
			return true
		}
	}
	return false
}

func TestConformanceSuiteThroughJIT(t *testing.T) {
	dir, ok := conformance.Dir()
	if !ok {
		t.Skip("conformance suite not found")
	}
	tests, err := conformance.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, blind := range []bool{false, true} {
		passed := 0
		for _, tc := range tests {
			insns, err := asm.Assemble(tc.Asm)
			if err != nil {
				t.Fatalf("%s: %v", tc.Name, err)
			}
			if usesHelpers(insns) {
				continue // needs the bridge: covered by the root package
			}
			mem := bytes.Clone(tc.Mem)
			if got := runJIT(t, insns, emit.Options{Blind: blind}, mem); got != tc.Result {
				t.Errorf("%s (blind=%v): r0 = %#x, want %#x", tc.Name, blind, got, tc.Result)
				continue
			}
			passed++
		}
		t.Logf("blind=%v: %d of %d files pass without helpers", blind, passed, len(tests))
	}
}

// DiffPrograms is the number of generated programs the differential test runs.
const DiffPrograms = 10000

func TestDifferentialAgainstInterpreter(t *testing.T) {
	n := DiffPrograms
	if testing.Short() {
		n = 1000
	}
	g := progen.New(20261122, progen.Options{})
	for k := 0; k < n; k++ {
		insns := g.Program()
		blind := k%2 == 1
		ip, err := interp.New(&isa.Program{Insns: insns}, nil)
		if err != nil {
			t.Fatalf("program %d: interp: %v", k, err)
		}
		imem := make([]byte, progen.MemSize)
		res, err := ip.Run(&interp.Env{Context: imem})
		if err != nil {
			t.Fatalf("program %d: interp run: %v\n%s", k, err, listing(insns))
		}
		jmem := make([]byte, progen.MemSize)
		got := runJIT(t, insns, emit.Options{Blind: blind}, jmem)
		if got != res.R0 || !bytes.Equal(imem, jmem) {
			t.Fatalf("program %d (blind=%v): jit r0 %#x, interp r0 %#x\njit mem    %s\ninterp mem %s\n%s",
				k, blind, got, res.R0, hex.EncodeToString(jmem), hex.EncodeToString(imem), listing(insns))
		}
	}
}

func listing(insns []isa.Instruction) string {
	s, err := asm.Disassemble(insns)
	if err != nil {
		return err.Error()
	}
	return s
}
