package verifier

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
)

// TestConformanceUnderRawMemory verifies every conformance program under the raw memory
// type, with the test's memory size guaranteed, and reports which are rejected and why.
func TestConformanceUnderRawMemory(t *testing.T) {
	dir, ok := conformance.Dir()
	if !ok {
		t.Skip("conformance suite not found")
	}
	tests, err := conformance.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	accepted := 0
	reasons := map[string][]string{}
	for _, ct := range tests {
		var insns []isa.Instruction
		if ct.Raw != nil {
			insns, err = isa.DecodeAll(ct.Raw)
		} else {
			insns, err = asm.Assemble(ct.Asm)
		}
		if err != nil {
			t.Errorf("%s: %v", ct.Name, err)
			continue
		}
		_, err := Check(&isa.Program{Name: ct.Name, Insns: insns}, Options{MinMem: len(ct.Mem)})
		if err == nil {
			accepted++
			continue
		}
		var ve *Error
		if !errors.As(err, &ve) {
			t.Errorf("%s: error %T", ct.Name, err)
			continue
		}
		key := fmt.Sprintf("%v", ve.Err)
		reasons[key] = append(reasons[key], fmt.Sprintf("%s: %v", filepath.Base(ct.Name), err))
	}
	t.Logf("conformance under the raw memory type: %d of %d accepted", accepted, len(tests))
	var keys []string
	for k := range reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("rejected (%s): %d\n  %s", k, len(reasons[k]), strings.Join(reasons[k], "\n  "))
	}
	if accepted == 0 {
		t.Error("no conformance program accepted")
	}
}
