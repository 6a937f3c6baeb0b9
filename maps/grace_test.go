package maps

import (
	"errors"
	"testing"
	"time"

	"github.com/bpfjit/bpfjit/execmem"
)

func TestReadersPeriodWaitsOnlyForReadersInsideAtStart(t *testing.T) {
	rs := new(Readers)
	in, out, late := rs.NewReader(), rs.NewReader(), rs.NewReader()
	defer in.Release()
	defer out.Release()
	defer late.Release()
	in.Enter()
	gp := rs.Start()
	late.Enter() // entered after Start: it cannot see what was unpublished before
	if gp.Done() {
		t.Fatal("done while a reader that was inside at Start is still inside")
	}
	in.Exit()
	in.Enter() // re-entering is a new section: it does not hold the old period
	if !gp.Done() {
		t.Fatal("not done after the reader left (and re-entered)")
	}
	in.Exit()
	late.Exit()
}

func TestCombinedPeriodNeedsEverySource(t *testing.T) {
	a, b := new(Readers), new(Readers)
	ra := a.NewReader()
	defer ra.Release()
	ra.Enter()
	gp := Combine(a, b).Start()
	if gp.Done() {
		t.Fatal("done while a reader of the first source is inside")
	}
	ra.Exit()
	if !gp.Done() {
		t.Fatal("not done after it left")
	}
}

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

func TestAReaderThatNeverLeavesExhaustsTheReserveNotMemory(t *testing.T) {
	rs := new(Readers)
	m := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1}, Options{Grace: rs})
	r := rs.NewReader()
	defer r.Release()
	r.Enter()
	var err error
	n := 0
	for ; n < 2*reserveSlots && err == nil; n++ {
		err = m.Update(u32(1), u64(uint64(n)), UpdateAny)
	}
	if !errors.Is(err, ErrNoMemory) || Errno(err) != -12 {
		t.Fatalf("after %d replacements: %v, want ErrNoMemory (-ENOMEM)", n, err)
	}
	r.Exit()
	if err := m.Update(u32(1), u64(1), UpdateAny); err != nil {
		t.Errorf("after the reader left: %v", err)
	}
}
