//go:build linux && (amd64 || arm64)

package bpfjit_test

import (
	"testing"

	"github.com/bpfjit/bpfjit"
)

// BenchmarkStandardHelper is the cost of one run calling one standard helper; 8
// (get_smp_processor_id) adds taking a per-run helper table from the pool.
func BenchmarkStandardHelper(b *testing.B) {
	for _, tc := range []struct{ name, text string }{
		{"none", "mov %r0, 0\nexit"},
		{"ktime_get_ns", "call 5\nexit"},
		{"get_prandom_u32", "call 7\nexit"},
		{"get_smp_processor_id", "call 8\nexit"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := bpfjit.LoadInstructions(mustAssemble(b, tc.text))
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			for b.Loop() {
				if _, err := p.Run(nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
