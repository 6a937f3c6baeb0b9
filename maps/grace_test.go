package maps

import (
	"errors"
	"testing"
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
