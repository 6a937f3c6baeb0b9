//go:build linux && (amd64 || arm64)

package maps

import (
	"testing"
	"time"

	"github.com/bpfjit/bpfjit/execmem"
)

// TestNativeRunnersPeriodWaitsForExecmemRunners: JIT runs are execmem runners; a map
// with the default grace source must not reuse an element while one is inside.
func TestNativeRunnersPeriodWaitsForExecmemRunners(t *testing.T) {
	r := execmem.NewRunner()
	defer r.Release()
	r.Enter()
	gp := NativeRunners().Start()
	time.Sleep(time.Millisecond)
	if gp.Done() {
		r.Exit()
		t.Fatal("done while an execmem runner that was inside at Start is still inside")
	}
	r.Exit()
	deadline := time.Now().Add(5 * time.Second)
	for !gp.Done() {
		if time.Now().After(deadline) {
			t.Fatal("not done 5s after the runner left")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func TestDefaultGraceCoversRunnersAndDefaultReaders(t *testing.T) {
	m := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1}, Options{Poison: true})
	if err := m.Update(u32(1), u64(5), UpdateAny); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		enter func() (leave func())
	}{
		{"execmem runner", func() func() {
			r := execmem.NewRunner()
			r.Enter()
			return func() { r.Exit(); r.Release() }
		}},
		{"default reader", func() func() {
			r := DefaultReaders.NewReader()
			r.Enter()
			return func() { r.Exit(); r.Release() }
		}},
	} {
		leave := c.enter()
		v := raw(uintptr(lookupWithKey(m, u32(1))), 8)
		if err := m.Update(u32(1), u64(6), UpdateAny); err != nil {
			t.Fatal(err)
		}
		m.mu.Lock()
		m.impl.(*hashMap).rec.poll(true, m.impl.(*hashMap).reclaim)
		m.mu.Unlock()
		if leU64(v) != 5 {
			t.Errorf("%s inside: replaced value reads %x", c.name, v)
		}
		leave()
		m.Synchronize()
		if !isPoison(v) {
			t.Errorf("%s: replaced value not reclaimed after the grace period: %x", c.name, v)
		}
		if err := m.Update(u32(1), u64(5), UpdateAny); err != nil {
			t.Fatal(err)
		}
		m.Synchronize()
	}
}

func TestRawHelpersTableHasTheKernelIDs(t *testing.T) {
	hs := RawHelpers()
	for id, want := range map[int32]string{1: "lookup", 2: "update", 3: "delete"} {
		if hs[id] == nil {
			t.Errorf("helper %d (%s) missing", id, want)
		}
	}
}

// BenchmarkGraceStart: what one grace period costs to start and finish when no runner
// is inside, per source.
func BenchmarkGraceStart(b *testing.B) {
	for _, c := range []struct {
		name string
		src  GraceSource
	}{{"readers", new(Readers)}, {"native", NativeRunners()}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				Wait(c.src.Start())
			}
		})
	}
}
