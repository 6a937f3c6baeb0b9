//go:build linux && (amd64 || arm64)

package bridge_test

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/execmem"
)

// TestHelperCallIsPreemptionPoint: with asynchronous preemption off, the
// only way the collector can stop a goroutine looping in native code is a
// helper call that reaches a stack check. The gate makes one even for leaf
// helpers, so collections keep completing while the loop runs. The test
// re-executes itself with GODEBUG=asyncpreemptoff=1.
func TestHelperCallIsPreemptionPoint(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("re-executing the test binary needs a native host (the arm64 tests run under qemu-user)")
	}
	if os.Getenv("BRIDGE_PREEMPT_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperCallIsPreemptionPoint$", "-test.v")
		// Two Ps: the collector runs beside the native loop and needs it to
		// stop only for its stop-the-world phases and the stack scan.
		cmd.Env = append(os.Environ(), "BRIDGE_PREEMPT_CHILD=1", "GODEBUG=asyncpreemptoff=1", "GOMAXPROCS=2")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "collections") {
				t.Log(strings.TrimSpace(l))
			}
		}
		return
	}
	img := load(t, progHelperLoop())
	leaf := helpers(t, nil, nil, func(r1, _, _, _, _ uint64) uint64 { return r1 & 1 })
	var gcs atomic.Int64
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			default:
				runtime.GC()
				gcs.Add(1)
			}
		}
	}()
	for gcs.Load() == 0 { // the collector loop is running
		runtime.Gosched()
	}
	// One long run: between its start and its end the goroutine is in
	// native code or in the helper, never at an ordinary Go call boundary.
	start := time.Now()
	before := gcs.Load()
	if _, err := bridge.Run(img, leaf, &bridge.Args{20_000_000, 2}); err != nil {
		t.Fatal(err)
	}
	total := gcs.Load() - before
	close(done)
	t.Logf("%d collections completed during one %v native run of 2e7 helper calls", total, time.Since(start).Round(time.Millisecond))
	if total < 2 { // without the gate's stack check: 0
		t.Fatalf("only %d collections completed while native code looped over helper calls", total)
	}
}

// TestNoWritableExecutableMapping: after loading, patching, running and
// retiring code (thunks and native stacks included), no mapping of the
// process is writable and executable.
func TestNoWritableExecutableMapping(t *testing.T) {
	arena := execmem.New(execmem.Options{TrapFreed: true, PatchSync: testPatchSync()})
	sealed, err := arena.Load(progSumArgs())
	if err != nil {
		t.Fatal(err)
	}
	patchable, err := arena.LoadPatchable(progReturnArg())
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range []*execmem.Image{sealed, patchable} {
		if _, err := bridge.Run(img, nil, &bridge.Args{1, 2}); err != nil {
			t.Fatal(err)
		}
	}
	checkWX(t, "after loading and running")
	// Rewrite the first word with itself: a real patch through the alias.
	code := patchable.Code()
	var w uint32
	for i := 3; i >= 0; i-- {
		w = w<<8 | uint32(code[i])
	}
	if err := patchable.Patch32(0, w); err != nil {
		t.Fatal(err)
	}
	checkWX(t, "after patching")
	arena.Retire(sealed)
	arena.Retire(patchable)
	arena.Synchronize()
	checkWX(t, "after retiring")
}

func checkWX(t *testing.T, when string) {
	t.Helper()
	bad, err := execmem.WritableExecutableMappings()
	if err != nil {
		t.Skip(err)
	}
	for _, m := range bad {
		t.Errorf("%s: writable and executable mapping: %s", when, m)
	}
}
