package maps

import (
	"errors"
	"sync"
	"testing"
)

// fakeProg is a program with a made-up tail-call entry and a reference count.
type fakeProg struct {
	entry  uintptr
	mu     sync.Mutex
	refs   int
	closed bool
}

func (p *fakeProg) TailCallEntry() uintptr { return p.entry }

var errProgClosed = errors.New("program closed")

func (p *fakeProg) Retain() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errProgClosed
	}
	p.refs++
	return nil
}

func (p *fakeProg) Release() {
	p.mu.Lock()
	p.refs--
	p.mu.Unlock()
}

func (p *fakeProg) refCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.refs
}

// recSite records every retarget of one poke site.
type recSite struct {
	calls []struct{ old, new Program }
}

func (s *recSite) Retarget(old, new Program) {
	s.calls = append(s.calls, struct{ old, new Program }{old, new})
}

func (s *recSite) last() (old, new Program) {
	c := s.calls[len(s.calls)-1]
	return c.old, c.new
}

func slotEntryAt(m *Map, i uint32) uint64 {
	h := readHeader(m.Handle())
	return *(*uint64)(ptr(uintptr(h.Base) + uintptr(i)*uintptr(h.Stride)))
}

func TestProgramArraySlotsHoldAndReleasePrograms(t *testing.T) {
	pa := mustNew(t, Spec{Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	a, b := &fakeProg{entry: 0x1000}, &fakeProg{entry: 0x2000}
	if h := readHeader(pa.Handle()); h.Stride != 8 || h.StrideLog2 != 3 || h.MaxEntries != 4 || h.Base == 0 {
		t.Fatalf("header %+v", h)
	}
	steps := []struct {
		name             string
		do               func() error
		wantErr          error
		slot             uint32
		wantProg         Program
		wantEntry        uint64
		wantRefA, wantRB int
	}{
		{"put a in slot 1", func() error { return pa.SetProgram(1, a) }, nil, 1, a, 0x1000, 1, 0},
		{"replace a by b: a is released", func() error { return pa.SetProgram(1, b) }, nil, 1, b, 0x2000, 0, 1},
		{"a in slot 2 too", func() error { return pa.SetProgram(2, a) }, nil, 2, a, 0x1000, 1, 1},
		{"slot 4 is out of range", func() error { return pa.SetProgram(4, a) }, ErrOutOfRange, 1, b, 0x2000, 1, 1},
		{"a nil program is refused", func() error { return pa.SetProgram(0, nil) }, ErrBadProgram, 0, nil, 0, 1, 1},
		{"delete slot 1 releases b", func() error { return pa.Delete(u32(1)) }, nil, 1, nil, 0, 1, 0},
		{"deleting an empty slot", func() error { return pa.Delete(u32(1)) }, ErrKeyNotExist, 1, nil, 0, 1, 0},
		{"deleting out of range", func() error { return pa.Delete(u32(9)) }, ErrOutOfRange, 1, nil, 0, 1, 0},
		{"byte updates are refused", func() error { return pa.Update(u32(0), u32(0), 0) }, ErrNotSupported, 0, nil, 0, 1, 0},
	}
	for _, s := range steps {
		err := s.do()
		if !errors.Is(err, s.wantErr) || (err == nil) != (s.wantErr == nil) {
			t.Errorf("%s: error %v, want %v", s.name, err, s.wantErr)
		}
		if got := pa.Program(s.slot); got != s.wantProg {
			t.Errorf("%s: slot %d holds %v", s.name, s.slot, got)
		}
		if got := slotEntryAt(pa, s.slot); got != s.wantEntry {
			t.Errorf("%s: native slot %d = %#x, want %#x", s.name, s.slot, got, s.wantEntry)
		}
		if a.refCount() != s.wantRefA || b.refCount() != s.wantRB {
			t.Errorf("%s: refs a=%d b=%d, want %d %d", s.name, a.refCount(), b.refCount(), s.wantRefA, s.wantRB)
		}
	}
	if pa.Len() != 1 {
		t.Errorf("Len %d, want 1", pa.Len())
	}
	closed := &fakeProg{closed: true}
	if err := pa.SetProgram(0, closed); !errors.Is(err, ErrBadProgram) || !errors.Is(err, errProgClosed) || pa.Program(0) != nil {
		t.Errorf("closed program: %v", err)
	}
	pa.Close()
	if a.refCount() != 0 {
		t.Errorf("Close left %d references on a", a.refCount())
	}
}

func TestPokeSitesFollowTheirSlot(t *testing.T) {
	pa := mustNew(t, Spec{Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4})
	owner1, owner2 := PokeOwner(0x100), PokeOwner(0x200)
	a, b := &fakeProg{entry: 0x1000}, &fakeProg{entry: 0x2000}
	if err := pa.SetProgram(0, a); err != nil {
		t.Fatal(err)
	}
	s0, s0bis, s1 := &recSite{}, &recSite{}, &recSite{}
	for _, r := range []struct {
		owner PokeOwner
		key   uint32
		site  *recSite
	}{{owner1, 0, s0}, {owner2, 0, s0bis}, {owner1, 1, s1}} {
		if err := pa.TrackPoke(r.owner, r.key, r.site); err != nil {
			t.Fatal(err)
		}
	}
	// Registration retargets at once to a filled slot, and not at all to an empty one.
	if len(s0.calls) != 1 || len(s1.calls) != 0 {
		t.Fatalf("after registration: %d and %d retargets", len(s0.calls), len(s1.calls))
	}
	if old, new := s0.last(); old != nil || new != a {
		t.Errorf("registration retarget (%v, %v), want (nil, a)", old, new)
	}
	if err := pa.TrackPoke(owner1, 4, &recSite{}); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("poke into slot 4: %v", err)
	}
	if err := pa.TrackPoke(0, 1, &recSite{}); !errors.Is(err, ErrBadProgram) {
		t.Errorf("poke with a zero owner: %v", err)
	}
	if err := pa.TrackPoke(owner1, 1, nil); !errors.Is(err, ErrBadProgram) {
		t.Errorf("poke with a nil site: %v", err)
	}
	if pa.TrackedPokes(0) != 2 || pa.TrackedPokes(1) != 1 {
		t.Errorf("tracked: %d, %d", pa.TrackedPokes(0), pa.TrackedPokes(1))
	}

	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(pa.SetProgram(0, b))
	for _, s := range []*recSite{s0, s0bis} {
		if old, new := s.last(); old != a || new != b {
			t.Errorf("update retarget (%v, %v), want (a, b)", old, new)
		}
	}
	if len(s1.calls) != 0 {
		t.Error("an update of slot 0 retargeted a site of slot 1")
	}
	must(pa.Delete(u32(0)))
	if old, new := s0.last(); old != b || new != nil {
		t.Errorf("delete retarget (%v, %v), want (b, nil)", old, new)
	}

	// Closing owner1 untracks its two sites; owner2's stays.
	if n := pa.UntrackPokes(owner1); n != 2 {
		t.Errorf("UntrackPokes(owner1) = %d, want 2", n)
	}
	before := len(s0.calls)
	must(pa.SetProgram(0, a))
	must(pa.SetProgram(1, a))
	if len(s0.calls) != before || len(s1.calls) != 0 {
		t.Error("an untracked site was retargeted")
	}
	if old, new := s0bis.last(); old != nil || new != a {
		t.Errorf("remaining site: (%v, %v), want (nil, a)", old, new)
	}
	if pa.UntrackPokes(owner1) != 0 {
		t.Error("second untrack found sites")
	}

	// Closing the array empties every slot, retargeting what is still tracked.
	pa.Close()
	if old, new := s0bis.last(); old != a || new != nil {
		t.Errorf("close retarget (%v, %v), want (a, nil)", old, new)
	}
}

func TestProgramArrayMethodsOnOtherMapsFail(t *testing.T) {
	h := mustNew(t, Spec{Type: Hash, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if err := h.SetProgram(0, &fakeProg{}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("SetProgram on a hash: %v", err)
	}
	if err := h.TrackPoke(1, 0, &recSite{}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("TrackPoke on a hash: %v", err)
	}
	if h.Program(0) != nil {
		t.Error("Program on a hash")
	}
}
