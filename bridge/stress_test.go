//go:build linux && (amd64 || arm64)

package bridge_test

import (
	"errors"
	"io"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/execmem"
)

// slowTarget reports whether the tests run on an emulator or under the race
// detector, where the stress tests scale their iteration counts down.
func slowTarget() bool { return runtime.GOARCH != "amd64" || raceEnabled || testing.Short() }

//go:noinline
func recurse(n int) int {
	var pad [128]byte // a large frame, so the goroutine stack must grow
	pad[n%len(pad)] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return recurse(n-1) + 1 + int(pad[n%len(pad)]) - int(byte(n))
}

var keep atomic.Pointer[[]byte]

const panicSeed = 1 << 40 // never an ordinary seed

// mixedHelper does something different for each argument value: allocate,
// collect garbage, recurse deeply enough to move the goroutine stack, run
// native code again (nested), or panic. expectMixed says what it returns.
func mixedHelper(nested *execmem.Image) bridge.Helper {
	return func(r1, r2, r3, r4, r5 uint64) uint64 {
		if r3 != r1 || r4 != 4 || r5 != 5 {
			panic("helper arguments garbled")
		}
		switch r1 % 6 {
		case 0:
			b := make([]byte, 1024+r1%4096)
			b[len(b)-1] = byte(r1)
			keep.Store(&b)
			return uint64(b[len(b)-1]) + r2
		case 1:
			if r1%64 == 1 {
				runtime.GC()
			} else {
				runtime.Gosched()
			}
			return r2 + 1
		case 2:
			return uint64(recurse(int(500+r1%1500))) + r2
		case 3:
			v, err := bridge.Run(nested, nil, &bridge.Args{r1, r2})
			if err != nil {
				panic(err)
			}
			return v
		case 4:
			return r1 ^ r2
		default:
			if r2 == panicSeed && r1 == 5 {
				panic("requested panic")
			}
			return r1 * 3
		}
	}
}

func expectMixed(n, seed uint64) uint64 {
	var sum uint64
	for i := n; i >= 1; i-- {
		switch i % 6 {
		case 0:
			sum += uint64(byte(i)) + seed
		case 1:
			sum += seed + 1
		case 2:
			sum += 500 + i%1500 + seed
		case 3:
			sum += i + seed
		case 4:
			sum += i ^ seed
		default:
			sum += i * 3
		}
	}
	return sum
}

// stress runs goroutines × runs programs that call mixedHelper 1..40 times,
// with a collector running concurrently; one run in 16 asks for a panic.
func stress(t *testing.T, goroutines, runs int) {
	loop := load(t, progHelperLoop())
	nested := load(t, progSumArgs())
	h := helpers(t, nil, nil, mixedHelper(nested))
	before := bridge.Stats()

	stopGC := make(chan struct{})
	gcDone := make(chan struct{})
	go func() {
		defer close(gcDone)
		for {
			select {
			case <-stopGC:
				return
			default:
				runtime.GC()
			}
		}
	}()
	var wg sync.WaitGroup
	var panics atomic.Int64
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range runs {
				n := uint64(1 + (g*7+i)%40)
				seed := uint64(g*1000 + i)
				wantPanic := (g+i)%16 == 0 && n >= 5
				if wantPanic {
					seed = panicSeed
				}
				got, err := bridge.Run(loop, h, &bridge.Args{n, 2, seed})
				if wantPanic {
					var pe *bridge.HelperPanicError
					if !errors.As(err, &pe) || pe.Value != "requested panic" {
						t.Errorf("goroutine %d run %d: error %v, want the requested panic", g, i, err)
						return
					}
					panics.Add(1)
					continue
				}
				if err != nil || got != expectMixed(n, seed) {
					t.Errorf("goroutine %d run %d (n=%d): got %d, %v; want %d", g, i, n, got, err, expectMixed(n, seed))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stopGC)
	<-gcDone
	if after := bridge.Stats(); after.InUse != before.InUse {
		t.Errorf("native stacks in use: %d before, %d after", before.InUse, after.InUse)
	}
	if panics.Load() == 0 {
		t.Error("no run exercised a helper panic")
	}
}

func stressSize() (goroutines, runs int) {
	if slowTarget() {
		return 64, 8
	}
	return 64, 60
}

func TestStressHelpersAllocateCollectRecurseAndPanic(t *testing.T) {
	g, n := stressSize()
	stress(t, g, n)
}

func TestStressWithCPUProfiler(t *testing.T) {
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Skip("CPU profiler busy:", err)
	}
	defer pprof.StopCPUProfile()
	g, n := stressSize()
	stress(t, g, n)
}

func TestStressWithExecutionTracer(t *testing.T) {
	if err := trace.Start(io.Discard); err != nil {
		t.Skip("tracer busy:", err)
	}
	defer trace.Stop()
	g, n := stressSize()
	stress(t, g, n)
}

// TestGoroutineStackMovesDuringHelper: a helper grows (and so moves) the
// goroutine stack; the run must resume on the new stack and finish with
// every preserved register intact.
func TestGoroutineStackMovesDuringHelper(t *testing.T) {
	img := load(t, progHelperLoop())
	var moved atomic.Int64
	h := helpers(t, nil, nil, func(r1, _, _, _, _ uint64) uint64 {
		var local int
		before := uintptr(unsafe.Pointer(&local))
		v := recurse(3000)
		if uintptr(unsafe.Pointer(&local)) != before {
			moved.Add(1)
		}
		return uint64(v) + r1
	})
	done := make(chan struct{})
	var got uint64
	var err error
	go func() { // a fresh goroutine starts with a small stack
		defer close(done)
		got, err = bridge.Run(img, h, &bridge.Args{3, 2})
	}()
	<-done
	if want := uint64(3*3000 + 3 + 2 + 1); err != nil || got != want {
		t.Fatalf("Run = %d, %v; want %d", got, err, want)
	}
	if moved.Load() == 0 {
		t.Fatal("the goroutine stack never moved; the test proves nothing")
	}
}

// TestGoexitInHelperReturnsStack: runtime.Goexit in a helper ends the
// goroutine; the native stack goes back to the pool and the runner slot is
// released, so retirement is not held up.
func TestGoexitInHelperReturnsStack(t *testing.T) {
	arena := execmem.New(execmem.Options{TrapFreed: true})
	img, err := arena.Load(progCallHelper(1))
	if err != nil {
		t.Fatal(err)
	}
	h := helpers(t, nil, func(_, _, _, _, _ uint64) uint64 { runtime.Goexit(); return 0 })
	before := bridge.Stats()
	done := make(chan struct{})
	go func() {
		defer close(done)
		bridge.Run(img, h, &bridge.Args{})
		t.Error("Run returned after Goexit")
	}()
	<-done
	if after := bridge.Stats(); after.InUse != before.InUse {
		t.Errorf("native stacks in use: %d before, %d after", before.InUse, after.InUse)
	}
	arena.Retire(img)
	arena.Synchronize() // would hang if the abandoned run still counted as inside
	if s := arena.Stats(); s.RetiredImages != 0 {
		t.Errorf("after Synchronize: %+v", s)
	}
}

// TestNestedRuns: helpers run native code that calls helpers, three deep.
func TestNestedRuns(t *testing.T) {
	inner := load(t, progCallHelper(1))
	var h *bridge.Helpers
	h = helpers(t, nil, func(r1, r2, r3, r4, r5 uint64) uint64 {
		if r1 == 0 {
			return 100
		}
		v, err := bridge.Run(inner, h, &bridge.Args{r1 - 1})
		if err != nil {
			panic(err)
		}
		return v + 1
	})
	got, err := bridge.Run(inner, h, &bridge.Args{3})
	if err != nil || got != 103 {
		t.Fatalf("nested Run = %d, %v; want 103", got, err)
	}
}

// TestTracebackThroughGate: inside a helper, the Go unwinder sees an
// ordinary stack: helper <- gate <- enter <- Run <- this test.
func TestTracebackThroughGate(t *testing.T) {
	img := load(t, progCallHelper(1))
	var frames []string
	h := helpers(t, nil, func(_, _, _, _, _ uint64) uint64 {
		pcs := make([]uintptr, 32)
		fs := runtime.CallersFrames(pcs[:runtime.Callers(1, pcs)])
		for {
			f, more := fs.Next()
			frames = append(frames, f.Function)
			if !more {
				break
			}
		}
		return 1
	})
	if _, err := bridge.Run(img, h, &bridge.Args{}); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(frames, " <- ")
	want := []string{".TestTracebackThroughGate.func1", "bridge.gate", "bridge.enter", "bridge.Run", ".TestTracebackThroughGate"}
	at := 0
	for _, f := range frames {
		if at < len(want) && strings.HasSuffix(f, want[at]) {
			at++
		}
	}
	if at != len(want) {
		t.Fatalf("stack %s\nwant the sequence %v", got, want)
	}
}

// TestRetireWhileRunning: runners keep running whichever image is
// published while the test replaces and retires them. Retired memory is
// filled with traps (or unmapped), so a run of retired code would crash.
func TestRetireWhileRunning(t *testing.T) {
	rounds, spin := 3000, uint64(3000)
	if slowTarget() {
		rounds, spin = 300, 300
	}
	arena := execmem.New(execmem.Options{TrapFreed: true, PatchSync: testPatchSync()})
	type published struct {
		img *execmem.Image
		id  uint64
	}
	var cur atomic.Pointer[published]
	publish := func(id uint64) {
		var img *execmem.Image
		var err error
		if id%2 == 0 {
			img, err = arena.LoadPatchable(progSpin())
		} else {
			img, err = arena.Load(progSpin())
		}
		if err != nil {
			t.Fatal(err)
		}
		if old := cur.Swap(&published{img, id}); old != nil {
			if err := arena.Retire(old.img); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish(1)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var runs, refused atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				p := cur.Load()
				got, err := bridge.Run(p.img, nil, &bridge.Args{spin, p.id})
				switch {
				case errors.Is(err, bridge.ErrRetired):
					refused.Add(1)
				case err != nil || got != p.id:
					t.Errorf("image %d: Run = %d, %v", p.id, got, err)
					return
				default:
					runs.Add(1)
				}
			}
		}()
	}
	for id := uint64(2); id <= uint64(rounds); id++ {
		publish(id)
	}
	stop.Store(true)
	wg.Wait()
	arena.Retire(cur.Load().img)
	arena.Synchronize()
	if s := arena.Stats(); s.LiveImages != 0 || s.RetiredImages != 0 {
		t.Errorf("after the stress: %+v", s)
	}
	t.Logf("%d runs, %d refused as retired, over %d images", runs.Load(), refused.Load(), rounds)
}

func testPatchSync() execmem.PatchSync {
	if runtime.GOARCH == "arm64" { // the arm64 tests run under qemu-user
		return execmem.SyncEmulator
	}
	return execmem.SyncHardware
}

// TestStressHelperlessRunsOwnTheirContext: many goroutines run helper-less
// code (the fast path that finds its thread's machine without pinning),
// most of them locked to threads of their own, while others allocate,
// collect and yield, with the CPU profiler's signals arriving; every run must have its Context to itself for its whole
// duration, so each sees its own scratch word unchanged after spinning.
func TestStressHelperlessRunsOwnTheirContext(t *testing.T) {
	img := load(t, progOwnsContext())
	if err := pprof.StartCPUProfile(io.Discard); err == nil {
		defer pprof.StopCPUProfile()
	}
	goroutines, runs := 96, 2000
	if slowTarget() {
		runs = 200
	}
	before := bridge.Stats().InUse
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Add(1)
	go func() { // preemption requests, GC and scheduling churn
		defer churn.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			b := make([]byte, 64<<10)
			keep.Store(&b)
			if i%32 == 0 {
				runtime.GC()
			}
			runtime.Gosched()
		}
	}()
	var wg sync.WaitGroup
	var bad atomic.Int64
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if g%6 != 0 {
				// Locked goroutines each need an M of their own: more Ms
				// than the own-machine table has slots, so some share one.
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
			}
			for i := range runs {
				want := uint64(g)<<32 | uint64(i)
				r, err := bridge.Run(img, nil, &bridge.Args{want, uint64(1 + i%4000)})
				if err != nil || r != want {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	churn.Wait()
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d runs saw their Context written by another run or failed", n)
	}
	if in := bridge.Stats().InUse; in != before {
		t.Errorf("native stacks in use: %d, was %d", in, before)
	}
}
