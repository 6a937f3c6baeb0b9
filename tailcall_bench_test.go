package bpfjit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa/asm"
	"github.com/bpfjit/bpfjit/maps"
	"github.com/bpfjit/bpfjit/verifier"
)

// loadTC loads src, verified as a tcType program, against tab's program array. Nothing
// but the caller references the program.
func loadTC(tb testing.TB, tab *maps.Table, src string) *bpfjit.Program {
	tb.Helper()
	prog, err := asm.AssembleProgram(src)
	if err != nil {
		tb.Fatal(err)
	}
	prog.Maps = tcRefs
	p, err := bpfjit.Load(prog, bpfjit.WithMaps(tab), bpfjit.WithVerifier(verifier.Options{Type: tcType}))
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// benchLoad is loadTC for the length of the benchmark.
func benchLoad(b *testing.B, tab *maps.Table, src string) *bpfjit.Program {
	b.Helper()
	p := loadTC(b, tab, src)
	b.Cleanup(func() { p.Close() })
	return p
}

// BenchmarkTailCall measures one tail call, direct or indirect, net of the rest of the run.
//
// The chain is a program in slot 0 that tail-calls slot 0 until the limit: one run is 34
// executions and 33 tail calls. The baseline is the same code calling an empty slot (the
// direct kind: a twin program whose constant key is 1; the indirect kind: the same program
// with key 1 in its context), so it is one execution whose tail call falls through: the
// run's entry and exit, the body and a failed call, which the chain's last execution also
// has. Blocks of chain runs and baseline runs alternate, each timed, so both see the same
// machine; ns/tailcall = (chain time - baseline time) / runs / 33. What remains per call is
// what a tail call costs a program: the call itself and entering the target (the 3
// instructions before its own call). The indirect call checks, counts, unwinds, jumps
// through the slot and runs the target's frame set-up; the direct one, from a main function
// into a program whose frame fits (here the program itself), checks, counts and jumps to
// the target's body, keeping the frame. ns/op is one chain run plus one baseline run.
func BenchmarkTailCall(b *testing.B) {
	for _, kind := range []struct {
		name   string
		index  func(key int) string // sets r3 to key: the chain's 0 or the baseline's 1
		direct int
	}{
		{"direct", func(key int) string { return fmt.Sprintf("mov %%r3, %d", key) }, 1},
		{"indirect", func(int) string { return "ldxw %r3, [%r1+4]" }, 0}, // the key is in the context
	} {
		b.Run(kind.name, func(b *testing.B) {
			tab, err := maps.NewTable(tcRefs, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer tab.Close()
			const body = "\nlddw %r2, map_idx 0\ncall 12\nmov %r0, 0\nexit"
			chain := benchLoad(b, tab, kind.index(0)+body)
			base, baseMem := chain, []byte{4: 1} // key 1: an empty slot
			if kind.direct > 0 {
				base, baseMem = benchLoad(b, tab, kind.index(1)+body), make([]byte, 8)
			}
			for _, p := range []*bpfjit.Program{chain, base} {
				if n := bpfjit.DirectTailCallSites(p); n != kind.direct {
					b.Fatalf("%d direct sites, want %d", n, kind.direct)
				}
			}
			if err := tab.Map(0).SetProgram(0, chain); err != nil {
				b.Fatal(err)
			}
			if n := bpfjit.KeptFrameSites(chain); n != kind.direct {
				b.Fatalf("%d sites keep the frame, want %d", n, kind.direct)
			}
			chainMem := make([]byte, 8)
			alternate(b, emit.MaxTailCalls, "tailcall", func() error { _, err := chain.Run(chainMem); return err },
				func() error { _, err := base.Run(baseMem); return err })
		})
	}
}

// alternate times b.N runs of measured and as many of baseline, in alternating blocks so
// that both see the same machine, and reports the difference per run divided by per (the
// operations a measured run does beyond the baseline's) as ns/<unit>, beside ns/run and
// ns/baseline. ns/op is one run of each.
func alternate(b *testing.B, per int, unit string, measured, baseline func() error) {
	b.Helper()
	const block = 64
	var tRun, tBase time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += block {
		n := min(block, b.N-done)
		t0 := time.Now()
		for range n {
			if err := measured(); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for range n {
			if err := baseline(); err != nil {
				b.Fatal(err)
			}
		}
		tRun += t1.Sub(t0)
		tBase += time.Since(t1)
	}
	b.StopTimer()
	runs := float64(b.N)
	b.ReportMetric(float64(tRun-tBase)/runs/float64(per), "ns/"+unit)
	b.ReportMetric(float64(tRun)/runs, "ns/run")
	b.ReportMetric(float64(tBase)/runs, "ns/baseline")
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
