package maps

import (
	"sync"
	"sync/atomic"
	"testing"
)

// countSite counts retargets and checks they arrive in order: each call's old is the
// previous call's new (the array serializes them under its lock).
type countSite struct {
	last  Program
	calls int
	bad   bool
}

func (s *countSite) Retarget(old, new Program) {
	if old != s.last {
		s.bad = true
	}
	s.last = new
	s.calls++
}

// TestProgramArrayUnderConcurrentUpdates: goroutines read slot 0 (Go side and native
// table) while another updates and deletes it and others track and untrack poke
// sites. Every read is nil, a or b with the matching native entry; every site sees an
// unbroken chain of retargets; no references leak. Run with -race.
func TestProgramArrayUnderConcurrentUpdates(t *testing.T) {
	pa := mustNew(t, Spec{Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	a, b := &fakeProg{entry: 0xa000}, &fakeProg{entry: 0xb000}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				p := pa.Program(0)
				e := slotEntryAt(pa, 0)
				if p != nil && p != Program(a) && p != Program(b) {
					t.Error("slot holds a program never put there")
					return
				}
				if e != 0 && e != 0xa000 && e != 0xb000 {
					t.Errorf("native slot holds %#x", e)
					return
				}
			}
		}()
	}
	sites := make([]*countSite, 50)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range sites {
			sites[i] = &countSite{}
			owner := PokeOwner(i + 1)
			if err := pa.TrackPoke(owner, 0, sites[i]); err != nil {
				t.Error(err)
			}
			if i%2 == 0 {
				pa.UntrackPokes(owner)
			}
		}
	}()
	for i := range 10000 {
		var err error
		switch i % 3 {
		case 0:
			err = pa.SetProgram(0, a)
		case 1:
			err = pa.SetProgram(0, b)
		case 2:
			err = pa.Delete(u32(0))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	// 10000 % 3 == 1: the last operation put a in the slot.
	if pa.Program(0) != Program(a) || a.refCount() != 1 || b.refCount() != 0 {
		t.Errorf("end: slot %v, refs a=%d b=%d", pa.Program(0), a.refCount(), b.refCount())
	}
	pa.mu.Lock()
	defer pa.mu.Unlock()
	for i, s := range sites {
		if s.bad {
			t.Errorf("site %d saw a retarget whose old was not its previous new", i)
		}
		if i%2 == 1 && s.last != Program(a) {
			t.Errorf("tracked site %d ends at %v, want a", i, s.last)
		}
	}
}
