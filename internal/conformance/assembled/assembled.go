// Package assembled gives the conformance suite's programs as instruction slots, for the
// tests that compile or run every one of them. It sits beside package conformance, which
// cannot import isa/asm itself: asm's own tests read the suite through it.
package assembled

import (
	"fmt"

	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
)

// Programs returns every .data file's program assembled, keyed by file name; ok is false
// when the suite is not found (see conformance.Dir).
func Programs() (progs map[string][]isa.Instruction, ok bool, err error) {
	dir, ok := conformance.Dir()
	if !ok {
		return nil, false, nil
	}
	tests, err := conformance.Load(dir)
	if err != nil {
		return nil, true, err
	}
	progs = make(map[string][]isa.Instruction, len(tests))
	for _, tc := range tests {
		insns, err := asm.Assemble(tc.Asm)
		if err != nil {
			return nil, true, fmt.Errorf("%s: %w", tc.Name, err)
		}
		progs[tc.Name] = insns
	}
	return progs, true, nil
}
