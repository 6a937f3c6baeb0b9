package maps

import (
	"testing"
)

func neg(errno int64) uint64 { return uint64(errno) }

func TestRawHelpersFollowKernelReturnConventions(t *testing.T) {
	h := mustNew(t, Spec{Name: "h", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	a := mustNew(t, Spec{Name: "a", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 2})
	ro := mustNew(t, Spec{Name: "ro", Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 1, Flags: FlagRdonlyProg})
	pa := mustNew(t, Spec{Name: "pa", Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	s := newScratch(t)
	k1, k2, k9 := s.put(0, u32(1)), s.put(8, u32(2)), s.put(16, u32(9))
	v := s.put(24, u64(0x1122334455667788))
	for _, c := range []struct {
		name string
		got  func() uint64
		want uint64
	}{
		{"hash lookup of a missing key is NULL", func() uint64 { return MapLookupElem(h.Handle(), k1, 0, 0, 0) }, 0},
		{"hash update NOEXIST creates", func() uint64 { return MapUpdateElem(h.Handle(), k1, v, UpdateNoExist, 0) }, 0},
		{"hash update NOEXIST again is -EEXIST", func() uint64 { return MapUpdateElem(h.Handle(), k1, v, UpdateNoExist, 0) }, neg(-17)},
		{"hash update EXIST of a missing key is -ENOENT", func() uint64 { return MapUpdateElem(h.Handle(), k2, v, UpdateExist, 0) }, neg(-2)},
		{"hash update beyond max_entries is -E2BIG", func() uint64 { return MapUpdateElem(h.Handle(), k2, v, UpdateAny, 0) }, neg(-7)},
		{"hash update with bad flags is -EINVAL", func() uint64 { return MapUpdateElem(h.Handle(), k1, v, 8, 0) }, neg(-22)},
		{"hash delete of a missing key is -ENOENT", func() uint64 { return MapDeleteElem(h.Handle(), k2, 0, 0, 0) }, neg(-2)},
		{"array update out of range is -E2BIG", func() uint64 { return MapUpdateElem(a.Handle(), k9, v, UpdateAny, 0) }, neg(-7)},
		{"array update NOEXIST is -EEXIST", func() uint64 { return MapUpdateElem(a.Handle(), k1, v, UpdateNoExist, 0) }, neg(-17)},
		{"array delete is -EINVAL", func() uint64 { return MapDeleteElem(a.Handle(), k1, 0, 0, 0) }, neg(-22)},
		{"array lookup out of range is NULL", func() uint64 { return MapLookupElem(a.Handle(), k9, 0, 0, 0) }, 0},
		{"update of a read-only-for-programs map is -EPERM", func() uint64 { return MapUpdateElem(ro.Handle(), s.put(32, u32(0)), v, 0, 0) }, neg(-1)},
		{"program arrays cannot be looked up from BPF", func() uint64 { return MapLookupElem(pa.Handle(), s.put(32, u32(0)), 0, 0, 0) }, 0},
		{"program arrays cannot be updated from BPF", func() uint64 { return MapUpdateElem(pa.Handle(), s.put(32, u32(0)), v, 0, 0) }, neg(-22)},
		{"a forged handle is -EINVAL", func() uint64 { return MapUpdateElem(12345678, k1, v, 0, 0) }, neg(-22)},
		{"a forged handle looks up NULL", func() uint64 { return MapLookupElem(0, k1, 0, 0, 0) }, 0},
		{"a NULL key is -EINVAL", func() uint64 { return MapDeleteElem(h.Handle(), 0, 0, 0, 0) }, neg(-22)},
	} {
		if got := c.got(); got != c.want {
			t.Errorf("%s: got %#x, want %#x", c.name, got, c.want)
		}
	}

	// The address a lookup returns is the value's memory: writes through it are what
	// the Go API reads back.
	p := MapLookupElem(h.Handle(), k1, 0, 0, 0)
	if p == 0 {
		t.Fatal("lookup after update is NULL")
	}
	if got := leU64(raw(uintptr(p), 8)); got != 0x1122334455667788 {
		t.Errorf("value at %#x is %#x", p, got)
	}
	copy(raw(uintptr(p), 8), u64(42))
	if v, err := h.Lookup(u32(1)); err != nil || leU64(v) != 42 {
		t.Errorf("Go lookup after a write through the pointer: %x, %v", v, err)
	}
	if got := MapDeleteElem(h.Handle(), k1, 0, 0, 0); got != 0 {
		t.Errorf("delete: %#x", got)
	}
}

func TestRawHelpersReadExactlyKeyAndValueSize(t *testing.T) {
	// Key and value sit at the very end of a mapped page; reading one byte more would
	// fault.
	m := mustNew(t, Spec{Type: Hash, KeySize: 3, ValueSize: 5, MaxEntries: 4})
	s := newScratch(t)
	key := s.put(4096-3, []byte{1, 2, 3})
	val := s.put(4096-3-5, []byte{9, 8, 7, 6, 5})
	if got := MapUpdateElem(m.Handle(), key, val, UpdateAny, 0); got != 0 {
		t.Fatalf("update: %#x", got)
	}
	if v, err := m.Lookup([]byte{1, 2, 3}); err != nil || string(v) != string([]byte{9, 8, 7, 6, 5}) {
		t.Errorf("lookup: %x, %v", v, err)
	}
}
