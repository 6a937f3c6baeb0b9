//go:build linux && (amd64 || arm64)

package execmem_test

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bpfjit/bpfjit/execmem"
	"github.com/bpfjit/bpfjit/execmem/internal/nativecall"
)

// yieldSometimes gives the scheduler a chance in loops whose only calls
// are to NOSPLIT assembly: without it, with asynchronous preemption off
// (GODEBUG=asyncpreemptoff=1), spinning goroutines could hold every P and
// starve the goroutine that is supposed to stop them.
func yieldSometimes(i int) {
	if i%64 == 63 {
		runtime.Gosched()
	}
}

type patcher interface {
	Patch32(off int, v uint32) error
	Patch64(off int, v uint64) error
}

// testPatchSync is the patch mode the tests run with: arm64 tests run under
// qemu-user, which only notices patches after a protection change.
func testPatchSync() execmem.PatchSync {
	if runtime.GOARCH == "arm64" {
		return execmem.SyncEmulator
	}
	return execmem.SyncHardware
}

func newArena(t *testing.T) *execmem.Arena {
	t.Helper()
	a := execmem.New(execmem.Options{PatchSync: testPatchSync(), TrapFreed: true})
	t.Cleanup(func() {
		a.Synchronize()
		a.Close() // fails with ErrBusy if a test kept images: the memory then stays mapped
	})
	return a
}

func run(t *testing.T, img *execmem.Image, arg uint64) uint64 {
	t.Helper()
	e := img.Entry()
	if e == 0 {
		t.Fatalf("image at %#x is retired", img.Addr())
	}
	return nativecall.Call(e, arg)
}

func TestLoadedCodeRuns(t *testing.T) {
	a := newArena(t)
	loaders := []struct {
		name string
		load func([]byte) (*execmem.Image, error)
	}{
		{"sealed", a.Load},
		{"patchable", a.LoadPatchable},
	}
	for _, l := range loaders {
		t.Run(l.name, func(t *testing.T) {
			for _, want := range []uint32{0, 1, 42, 0xbeef} {
				img, err := l.load(retConst(want))
				if err != nil {
					t.Fatal(err)
				}
				if got := run(t, img, 0); got != uint64(want) {
					t.Errorf("returned %d, want %d", got, want)
				}
				if !bytesEqual(img.Code(), retConst(want)) {
					t.Errorf("Code() = %x, want %x", img.Code(), retConst(want))
				}
				if err := a.Retire(img); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

func TestEmptyCodeIsRefused(t *testing.T) {
	a := newArena(t)
	if _, err := a.Load(nil); !errors.Is(err, execmem.ErrEmptyCode) {
		t.Errorf("Load(nil) error = %v, want ErrEmptyCode", err)
	}
	if _, err := a.LoadPatchable(nil); !errors.Is(err, execmem.ErrEmptyCode) {
		t.Errorf("LoadPatchable(nil) error = %v, want ErrEmptyCode", err)
	}
	if _, err := a.LoadBatch([][]byte{retConst(1), nil}); !errors.Is(err, execmem.ErrEmptyCode) {
		t.Errorf("LoadBatch with an empty entry: error = %v, want ErrEmptyCode", err)
	}
}

func TestSmallImagesSharePages(t *testing.T) {
	page := uintptr(os.Getpagesize())
	a := newArena(t)
	t.Run("patchable", func(t *testing.T) {
		var imgs []*execmem.Image
		for i := range 16 {
			img, err := a.LoadPatchable(retConst(uint32(i)))
			if err != nil {
				t.Fatal(err)
			}
			imgs = append(imgs, img)
		}
		pages := map[uintptr]int{}
		for i, img := range imgs {
			pages[img.Addr()/page]++
			if img.Addr()%64 != 0 {
				t.Errorf("image %d at %#x is not 64-byte aligned", i, img.Addr())
			}
			if got := run(t, img, 0); got != uint64(i) {
				t.Errorf("image %d returned %d", i, got)
			}
		}
		if len(pages) > 2 {
			t.Errorf("16 tiny images spread over %d pages, want them packed", len(pages))
		}
		for _, img := range imgs {
			a.Retire(img)
		}
	})
	t.Run("sealed, loaded one by one", func(t *testing.T) {
		var imgs []*execmem.Image
		for i := range 16 {
			img, err := a.Load(retConst(uint32(100 + i)))
			if err != nil {
				t.Fatal(err)
			}
			imgs = append(imgs, img)
		}
		pages := map[uintptr]int{}
		for i, img := range imgs { // the earlier images survive every append
			pages[img.Addr()/page]++
			if got := run(t, img, 0); got != uint64(100+i) {
				t.Errorf("image %d returned %d", i, got)
			}
		}
		if len(pages) > 2 {
			t.Errorf("16 tiny sealed images spread over %d pages, want them packed", len(pages))
		}
		for _, img := range imgs {
			a.Retire(img)
		}
	})
	t.Run("sealed batch", func(t *testing.T) {
		codes := [][]byte{retConst(7), retConst(8), retConst(9)}
		imgs, err := a.LoadBatch(codes)
		if err != nil {
			t.Fatal(err)
		}
		for i, img := range imgs {
			if img.Addr()/page != imgs[0].Addr()/page {
				t.Errorf("batch image %d on another page", i)
			}
			if got := run(t, img, 0); got != uint64(7+i) {
				t.Errorf("batch image %d returned %d", i, got)
			}
		}
		for _, img := range imgs {
			a.Retire(img)
		}
	})
}

func TestPatchSwitchesCallTarget(t *testing.T) {
	a := newArena(t)
	img, err := a.LoadPatchable(callerImage(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Retire(img)
	steps := []struct {
		target int
		want   uint64
	}{{targetA, 1}, {targetB, 2}, {targetA, 1}, {targetB, 2}}
	for i, s := range steps {
		if err := patchCallTo(img, s.target); err != nil {
			t.Fatal(err)
		}
		if got := run(t, img, 0); got != s.want {
			t.Fatalf("step %d: after patching the call to %d, got %d, want %d", i, s.target, got, s.want)
		}
	}
}

func TestPatchRefusals(t *testing.T) {
	a := newArena(t)
	sealed, err := a.Load(callerImage(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Retire(sealed)
	patchable, err := a.LoadPatchable(callerImage(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	retired, err := a.LoadPatchable(callerImage(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Retire(patchable)
	a.Retire(retired)
	var pe *execmem.PatchError
	tests := []struct {
		name   string
		patch  func() error
		wantIs error
		wantPE string
	}{
		{"sealed image", func() error { return sealed.Patch64(0, 0) }, execmem.ErrNotPatchable, ""},
		{"retired image", func() error { return retired.Patch32(0, 0) }, execmem.ErrRetired, ""},
		{"misaligned 8-byte word", func() error { return patchable.Patch64(4, 0) }, nil, "not naturally aligned"},
		{"misaligned 4-byte word", func() error { return patchable.Patch32(2, 0) }, nil, "not naturally aligned"},
		{"negative offset", func() error { return patchable.Patch32(-4, 0) }, nil, "outside the image"},
		{"past the end", func() error { return patchable.Patch64(patchable.Size()-4, 0) }, nil, "outside the image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.patch()
			switch {
			case err == nil:
				t.Fatal("patch succeeded")
			case tt.wantIs != nil && !errors.Is(err, tt.wantIs):
				t.Fatalf("error %v, want %v", err, tt.wantIs)
			case tt.wantPE != "" && (!errors.As(err, &pe) || pe.Reason != tt.wantPE):
				t.Fatalf("error %v, want PatchError %q", err, tt.wantPE)
			}
		})
	}
	if got := run(t, patchable, 0); got != 1 {
		t.Errorf("refused patches changed the code: got %d, want 1", got)
	}
}

func TestRetirementAccounting(t *testing.T) {
	a := newArena(t)
	if s := a.Stats(); s != (execmem.Stats{}) {
		t.Fatalf("new arena stats %+v, want zero", s)
	}
	img1, _ := a.Load(retConst(1))
	img2, _ := a.LoadPatchable(retConst(2))
	s := a.Stats()
	if s.LiveImages != 2 || s.RetiredImages != 0 || s.MappedBytes == 0 {
		t.Fatalf("after two loads: %+v", s)
	}

	r := execmem.NewRunner()
	defer r.Release()
	r.Enter() // a runner inside native code holds back reclamation
	if err := a.Retire(img1); err != nil {
		t.Fatal(err)
	}
	if err := a.Retire(img2); err != nil {
		t.Fatal(err)
	}
	if img1.Entry() != 0 || !img2.Retired() {
		t.Error("retired images still publish an entry")
	}
	if err := a.Retire(img1); !errors.Is(err, execmem.ErrRetired) {
		t.Errorf("second Retire error = %v, want ErrRetired", err)
	}
	a.Reclaim()
	if s := a.Stats(); s.LiveImages != 0 || s.RetiredImages != 2 {
		t.Fatalf("with a runner inside: %+v, want 0 live, 2 retired", s)
	}

	r.Exit()
	a.Reclaim()
	if s := a.Stats(); s.RetiredImages != 0 {
		t.Fatalf("after the runner left: %+v, want nothing retired", s)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if s := a.Stats(); s.MappedBytes != 0 {
		t.Errorf("after Close: %+v, want nothing mapped", s)
	}
}

func TestRetireRefusesForeignImages(t *testing.T) {
	a, b := newArena(t), newArena(t)
	img, err := a.Load(retConst(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Retire(img); !errors.Is(err, execmem.ErrForeignImage) {
		t.Errorf("Retire through another arena: error %v, want ErrForeignImage", err)
	}
	if err := b.Retire(nil); !errors.Is(err, execmem.ErrForeignImage) {
		t.Errorf("Retire(nil): error %v, want ErrForeignImage", err)
	}
	if got := run(t, img, 0); got != 1 {
		t.Errorf("image damaged by a refused retirement: got %d", got)
	}
	a.Retire(img)
}

func TestCloseRefusesLiveImages(t *testing.T) {
	a := newArena(t)
	img, _ := a.Load(retConst(1))
	if err := a.Close(); !errors.Is(err, execmem.ErrBusy) {
		t.Fatalf("Close error = %v, want ErrBusy", err)
	}
	a.Retire(img)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Load(retConst(1)); !errors.Is(err, execmem.ErrClosed) {
		t.Fatalf("Load after Close error = %v, want ErrClosed", err)
	}
}

func TestFreedMemoryIsReused(t *testing.T) {
	a := newArena(t)
	t.Run("patchable", func(t *testing.T) {
		old, _ := a.LoadPatchable(retConst(1))
		a.Retire(old)
		a.Synchronize()
		img, err := a.LoadPatchable(retConst(2))
		if err != nil {
			t.Fatal(err)
		}
		if img.Addr() != old.Addr() {
			t.Errorf("new image at %#x, want the freed slot %#x", img.Addr(), old.Addr())
		}
		if c := old.Code(); c != nil {
			t.Errorf("freed image still shows code %x", c)
		}
		if got := run(t, img, 0); got != 2 {
			t.Errorf("reused slot runs stale code: got %d, want 2", got)
		}
		a.Retire(img)
	})
	t.Run("sealed", func(t *testing.T) {
		old, _ := a.Load(retConst(3))
		a.Retire(old)
		a.Synchronize()
		before := a.Stats()
		img, err := a.Load(retConst(4))
		if err != nil {
			t.Fatal(err)
		}
		if after := a.Stats(); after.MappedBytes != before.MappedBytes {
			t.Errorf("load mapped new memory (%d -> %d bytes) instead of reusing the pool", before.MappedBytes, after.MappedBytes)
		}
		if got := run(t, img, 0); got != 4 {
			t.Errorf("reused region runs stale code: got %d, want 4", got)
		}
		a.Retire(img)
	})
}

// TestNoWritableExecutableMapping checks W^X in the process's own memory map
// after loading, patching and retiring code.
func TestNoWritableExecutableMapping(t *testing.T) {
	a := newArena(t)
	sealed, _ := a.Load(retConst(1))
	batch, _ := a.LoadBatch([][]byte{retConst(2), retConst(3)})
	patchable, err := a.LoadPatchable(callerImage(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	checkWX(t, "after loading")
	if err := patchCallTo(patchable, targetB); err != nil {
		t.Fatal(err)
	}
	checkWX(t, "after patching")
	for _, img := range append(batch, sealed, patchable) {
		a.Retire(img)
	}
	a.Synchronize()
	checkWX(t, "after retiring")
	if _, err := a.LoadPatchable(retConst(5)); err != nil { // reuse of freed memory
		t.Fatal(err)
	}
	checkWX(t, "after reuse")
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

// TestPatchStress: four goroutines keep calling code whose call target a
// fifth re-patches; every call must land on one of the two targets.
func TestPatchStress(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("concurrent patching needs real hardware (qemu-user does not see patches made through the alias while code runs)")
	}
	patches := 100000
	if testing.Short() {
		patches = 10000
	}
	a := newArena(t)
	img, err := a.LoadPatchable(callerImage(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Retire(img)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad atomic.Uint64
	counts := make([][3]uint64, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := img.Entry()
			for i := 0; !stop.Load(); i++ {
				yieldSometimes(i)
				switch r := nativecall.Call(e, 0); r {
				case 1, 2:
					counts[g][r]++
				default:
					bad.Store(r)
				}
			}
		}()
	}
	for i := range patches {
		target := targetA
		if i%2 == 0 {
			target = targetB
		}
		if err := patchCallTo(img, target); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if b := bad.Load(); b != 0 {
		t.Fatalf("a call returned %d: it reached neither target", b)
	}
	var seen [3]uint64
	for _, c := range counts {
		seen[1] += c[1]
		seen[2] += c[2]
	}
	t.Logf("%d patches; calls reached target A %d times, target B %d times", patches, seen[1], seen[2])
}

// TestSealedAppendWhileRunning: appending to a sealed page replaces the
// page under threads that are executing other images on it.
func TestSealedAppendWhileRunning(t *testing.T) {
	appends := 400
	if runtime.GOARCH != "amd64" || testing.Short() {
		appends = 100
	}
	a := newArena(t)
	first, err := a.Load(spinThenRet(7))
	if err != nil {
		t.Fatal(err)
	}
	var stop atomic.Bool
	var bad atomic.Uint64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				yieldSometimes(i)
				if got := nativecall.Call(first.Entry(), 50); got != 7 {
					bad.Store(got)
				}
			}
		}()
	}
	var imgs []*execmem.Image
	for i := range appends {
		img, err := a.Load(retConst(uint32(i)))
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	stop.Store(true)
	wg.Wait()
	if b := bad.Load(); b != 0 {
		t.Fatalf("a run of the first image returned %d during appends", b)
	}
	for i, img := range imgs {
		if got := run(t, img, 0); got != uint64(i) {
			t.Fatalf("appended image %d returned %d", i, got)
		}
		a.Retire(img)
	}
	a.Retire(first)
}

// TestRetireWhileRunning: runners loop through published images while a
// retirer keeps replacing and retiring them. Freed memory is filled with
// traps, so a runner that executed retired code would crash the test.
func TestRetireWhileRunning(t *testing.T) {
	rounds, spin := 2000, uint64(2000)
	if runtime.GOARCH != "amd64" || testing.Short() {
		rounds, spin = 300, 200 // qemu: scaled down
	}
	a := newArena(t)
	type published struct {
		img *execmem.Image
		id  uint32
	}
	var cur atomic.Pointer[published]
	load := func(id uint32) *published {
		var img *execmem.Image
		var err error
		if id%2 == 0 {
			img, err = a.LoadPatchable(spinThenRet(id))
		} else {
			img, err = a.Load(spinThenRet(id))
		}
		if err != nil {
			t.Error(err)
			return nil
		}
		return &published{img, id}
	}
	cur.Store(load(1))
	var stop atomic.Bool
	var wg sync.WaitGroup
	var runs atomic.Int64
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := execmem.NewRunner()
			defer r.Release()
			for i := 0; !stop.Load(); i++ {
				yieldSometimes(i)
				r.Enter()
				p := cur.Load()
				e := p.img.Entry()
				if e == 0 { // retired between the two loads: not reachable any more
					r.Exit()
					continue
				}
				got := nativecall.Call(e, spin)
				r.Exit()
				if got != uint64(p.id) {
					t.Errorf("image %d returned %d", p.id, got)
					return
				}
				runs.Add(1)
			}
		}()
	}
	for id := uint32(2); id < uint32(rounds); id++ {
		next := load(id)
		if next == nil {
			break
		}
		old := cur.Swap(next)
		if err := a.Retire(old.img); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	a.Retire(cur.Load().img)
	a.Synchronize()
	if s := a.Stats(); s.LiveImages != 0 || s.RetiredImages != 0 {
		t.Errorf("after the stress: %+v, want nothing live or retired", s)
	}
	t.Logf("%d runs over %d images", runs.Load(), rounds)
}

func TestGracePeriodWaitsForRunnersInside(t *testing.T) {
	inside, outside, late := execmem.NewRunner(), execmem.NewRunner(), execmem.NewRunner()
	defer inside.Release()
	defer outside.Release()
	defer late.Release()
	inside.Enter()
	g, err := execmem.StartGracePeriod()
	if err != nil {
		t.Fatal(err)
	}
	late.Enter() // entered after the start: cannot hold what was unpublished before
	defer late.Exit()
	if g.Done() {
		t.Fatal("grace period over while a runner that was inside at its start is still inside")
	}
	inside.Exit()
	inside.Enter() // leaving once is enough, even if it comes back
	defer inside.Exit()
	if !g.Done() {
		t.Fatal("grace period not over after every runner inside at its start has left")
	}
	g.Wait()
	if g2, err := execmem.StartGracePeriod(); err != nil || g2.Done() {
		t.Fatalf("a new period must wait for the runners inside now (err %v)", err)
	}
}
