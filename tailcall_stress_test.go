package bpfjit_test

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/maps"
)

// Live patching: runners tail-call through one slot, direct and indirect, while another
// goroutine updates and deletes it, sometimes with a freshly loaded program that it closes
// at once (so the slot alone keeps it alive). No run may crash or fail, and every result
// must be one the slot could have held: a target's value or the fall-through. Half the
// targets fit in the direct caller's frame, so its frame word changes too.
//
// On amd64 the runners are 4 goroutines running concurrently with the updates. Under
// qemu (arm64) patches must flip page protections (execmem.SyncEmulator), which faults a
// thread translating code on that page, so there updates and runs interleave on one
// goroutine: that checks every state transition, not concurrent execution.
func TestLivePatchingStress(t *testing.T) {
	requireJIT(t)
	runs, updates := 1_000_000, 10_000
	if testing.Short() {
		runs, updates = 100_000, 1_000
	}
	concurrent := runtime.GOARCH == "amd64"
	if !concurrent {
		runs, updates = 20_000, 2_000
	}
	tab, err := maps.NewTable(tcRefs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	arr := tab.Map(0)
	load := func(src string) *bpfjit.Program { return loadTC(t, tab, src) }
	const fallThrough = 8 // countAndTailCall with +7 after one execution
	var valid sync.Map    // results some slot content allows
	valid.Store(uint64(fallThrough), true)
	// A target returns v; a fitting one saves r6 and r7 as the callers do, so the direct
	// caller keeps its frame for it (its frame word), the other does not (its target word).
	target := func(v uint64, fitting bool) *bpfjit.Program {
		valid.Store(v, true)
		if fitting {
			return load(fmt.Sprintf("mov %%r6, %d\nmov %%r7, 0\nmov %%r0, %%r6\nadd %%r0, %%r7\nexit", v))
		}
		return load(fmt.Sprintf("mov %%r0, %d\nexit", v))
	}
	b, c := target(100, true), target(200, false)
	defer b.Close()
	defer c.Close()
	callers := []*bpfjit.Program{load(fmtSrc(countAndTailCall, 1, 7)), load(fmtSrc(countAndTailCallIndirect, 1, 7))}
	for _, p := range callers {
		defer p.Close()
	}
	if bpfjit.DirectTailCallSites(callers[0]) != 1 || bpfjit.DirectTailCallSites(callers[1]) != 0 {
		t.Fatal("callers are not one direct and one indirect")
	}
	for _, tc := range []struct {
		p    *bpfjit.Program
		kept int
	}{{b, 1}, {c, 0}} {
		if err := arr.SetProgram(1, tc.p); err != nil {
			t.Fatal(err)
		}
		if got := bpfjit.KeptFrameSites(callers[0]); got != tc.kept {
			t.Fatalf("%d sites keep the frame for a target returning %d, want %d", got, 100*(2-tc.kept), tc.kept)
		}
	}
	key := binary.LittleEndian.AppendUint32(nil, 1)
	update := func(k int) {
		var err error
		switch {
		case k%100 == 99: // a fresh program, closed at once: the slot keeps it alive
			p := target(uint64(1000+k), k%200 == 99)
			err = arr.SetProgram(1, p)
			p.Close()
		case k%3 == 0:
			err = arr.SetProgram(1, b)
		case k%3 == 1:
			err = arr.SetProgram(1, c)
		default:
			if err = arr.Delete(key); err != nil && arr.Program(1) == nil {
				err = nil // already empty
			}
		}
		if err != nil {
			t.Error(err)
		}
	}
	var bad, fell, hit atomic.Int64
	var firstBad atomic.Value
	run := func(p *bpfjit.Program, mem []byte) {
		binary.LittleEndian.PutUint64(mem, 0)
		r0, err := p.Run(mem)
		if r0 == fallThrough {
			fell.Add(1)
		} else {
			hit.Add(1)
		}
		if _, ok := valid.Load(r0); err != nil || !ok {
			if bad.Add(1) == 1 {
				firstBad.Store(fmt.Sprintf("r0 %d, err %v", r0, err))
			}
		}
	}
	if concurrent {
		var wg sync.WaitGroup
		var updated atomic.Bool
		const workers = 4
		for g := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mem := make([]byte, 8)
				p := callers[g%2]
				// At least the quota, and on until the updates are over, so that runs and
				// updates overlap whatever the scheduler does.
				for n := 0; n < runs/workers || !updated.Load(); n++ {
					run(p, mem)
				}
			}()
		}
		// Pace the updates by the runs, so that they are spread over the whole run time
		// whatever the scheduler does, and after each update wait for a run to return
		// what the new slot content gives: when the OS deschedules the runners' threads,
		// updates that found their quota already met would otherwise run as a burst
		// nobody overlaps.
		deadline := time.Now().Add(time.Minute)
		for k := range updates {
			for hit.Load()+fell.Load() < int64(k*(runs/updates)) {
				runtime.Gosched()
			}
			seen := &hit
			if k%100 != 99 && k%3 == 2 { // a delete
				seen = &fell
			}
			before := seen.Load()
			update(k)
			for seen.Load() == before && time.Now().Before(deadline) {
				runtime.Gosched()
			}
		}
		if time.Now().After(deadline) {
			t.Error("runs stopped seeing the updates")
		}
		updated.Store(true)
		wg.Wait()
	} else {
		mem := make([]byte, 8)
		for k := range runs {
			if k%(runs/updates) == 0 {
				update(k / (runs / updates))
			}
			run(callers[k%2], mem)
		}
	}
	t.Logf("%d runs reached a target, %d fell through", hit.Load(), fell.Load())
	if hit.Load() == 0 || fell.Load() == 0 {
		t.Error("the runs never saw both a full and an empty slot")
	}
	if n := bad.Load(); n > 0 {
		t.Fatalf("%d runs with results no slot content allows; first: %v", n, firstBad.Load())
	}
	for _, p := range callers {
		if errs := bpfjit.PokeErrors(p); len(errs) > 0 {
			t.Fatal(errs)
		}
	}
}
