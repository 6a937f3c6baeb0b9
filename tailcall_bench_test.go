package bpfjit_test

import (
	"fmt"
	"testing"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa/asm"
	"github.com/bpfjit/bpfjit/maps"
	"github.com/bpfjit/bpfjit/verifier"
)

// benchLoad loads src against tab's program array.
func benchLoad(b *testing.B, tab *maps.Table, src string) *bpfjit.Program {
	b.Helper()
	prog, err := asm.AssembleProgram(src)
	if err != nil {
		b.Fatal(err)
	}
	prog.Maps = tcRefs
	p, err := bpfjit.Load(prog, bpfjit.WithMaps(tab), bpfjit.WithVerifier(verifier.Options{Type: tcType}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close() })
	return p
}

// BenchmarkTailCall runs a program that tail-calls itself until the limit: one run is 34
// executions of a 5-instruction program and 33 tail calls, so ns/tailcall (ns/op / 33)
// is the cost of one tail call plus a small share of the run's entry and exit.
func BenchmarkTailCall(b *testing.B) {
	for _, kind := range []struct {
		name, index string
		direct      int
		empty       bool
	}{
		{"direct", "mov %r3, 0", 1, false},
		{"indirect", "ldxw %r3, [%r1+4]", 0, false},
		// The baseline: one execution whose direct tail call falls through. The cost of a
		// tail call is (ns/op - baseline ns/op) / 33.
		{"baseline-empty-slot", "mov %r3, 0", 1, true},
	} {
		b.Run(kind.name, func(b *testing.B) {
			tab, err := maps.NewTable(tcRefs, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer tab.Close()
			p := benchLoad(b, tab, kind.index+"\nlddw %r2, map_idx 0\ncall 12\nmov %r0, 0\nexit")
			if n := bpfjit.DirectTailCallSites(p); n != kind.direct {
				b.Fatalf("%d direct sites, want %d", n, kind.direct)
			}
			if !kind.empty {
				if err := tab.Map(0).SetProgram(0, p); err != nil {
					b.Fatal(err)
				}
			}
			mem := make([]byte, 8)
			b.ResetTimer()
			for range b.N {
				if _, err := p.Run(mem); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/emit.MaxTailCalls, "ns/tailcall")
		})
	}
}

// BenchmarkProgArrayUpdate measures one SetProgram of a slot that n programs reach by
// direct tail calls: every site is patched (bypass and target words, each store followed
// by the patch synchronisation).
func BenchmarkProgArrayUpdate(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("tracked=%d", n), func(b *testing.B) {
			tab, err := maps.NewTable(tcRefs, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer tab.Close()
			for range n {
				benchLoad(b, tab, fmtSrc(countAndTailCall, 1, 7))
			}
			targets := []*bpfjit.Program{benchLoad(b, tab, "mov %r0, 1\nexit"), benchLoad(b, tab, "mov %r0, 2\nexit")}
			arr := tab.Map(0)
			if got := arr.TrackedPokes(1); got != n {
				b.Fatalf("%d tracked sites, want %d", got, n)
			}
			b.ResetTimer()
			for k := range b.N {
				if err := arr.SetProgram(1, targets[k%2]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/update")
		})
	}
}
