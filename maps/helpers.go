package maps

// Helper ids, in the kernel's numbering.
const (
	HelperMapLookupElem = 1
	HelperMapUpdateElem = 2
	HelperMapDeleteElem = 3
	HelperTailCall      = 12
)

// The raw helpers below are what JIT code calls through the bridge: arguments are
// r1-r5, pointers are raw addresses, the result is r0, errors are negative errnos. The
// key and value they read through a pointer are exactly KeySize and ValueSize bytes of
// the map the handle names; the verifier proves those bytes readable. A value that is not
// a live map handle gives 0 (lookup) or -EINVAL.
//
// They must run inside a read-side section of the map's GraceSource (a JIT run is one):
// the address a lookup returns stays valid until the section ends.

const einval = ^uint64(22 - 1) // -22 as u64

// MapLookupElem implements bpf_map_lookup_elem(map, key): the value's address or 0.
func MapLookupElem(r1, r2, _, _, _ uint64) uint64 {
	m := FromHandle(r1)
	if m == nil || r2 == 0 || m.spec.Flags&FlagWronlyProg != 0 {
		return 0
	}
	return uint64(m.impl.lookup(raw(uintptr(r2), m.spec.KeySize)))
}

// MapUpdateElem implements bpf_map_update_elem(map, key, value, flags): 0 or -errno.
func MapUpdateElem(r1, r2, r3, r4, _ uint64) uint64 {
	m := FromHandle(r1)
	if m == nil || r2 == 0 || r3 == 0 {
		return einval
	}
	return uint64(Errno(m.progUpdate(raw(uintptr(r2), m.spec.KeySize), raw(uintptr(r3), m.spec.ValueSize), r4)))
}

// MapDeleteElem implements bpf_map_delete_elem(map, key): 0 or -errno.
func MapDeleteElem(r1, r2, _, _, _ uint64) uint64 {
	m := FromHandle(r1)
	if m == nil || r2 == 0 {
		return einval
	}
	return uint64(Errno(m.progDelete(raw(uintptr(r2), m.spec.KeySize))))
}

// progUpdate is an update from a program: no Go-side freeze, but FlagRdonlyProg, and
// program arrays cannot be updated from BPF.
func (m *Map) progUpdate(key, value []byte, flags uint64) error {
	if m.spec.Flags&FlagRdonlyProg != 0 {
		return m.err("update", ErrReadOnly, "map is read-only for programs")
	}
	if flags > UpdateExist {
		return m.err("update", ErrBadFlags, "flags %#x", flags)
	}
	if m.spec.Type == ProgArray {
		return m.err("update", ErrNotSupported, "program arrays are updated from Go")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Load() {
		return m.err("update", ErrClosed, "")
	}
	return m.impl.update(key, value, flags)
}

func (m *Map) progDelete(key []byte) error {
	if m.spec.Flags&FlagRdonlyProg != 0 {
		return m.err("delete", ErrReadOnly, "map is read-only for programs")
	}
	if m.spec.Type == ProgArray {
		return m.err("delete", ErrNotSupported, "program arrays are updated from Go")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Load() {
		return m.err("delete", ErrClosed, "")
	}
	return m.impl.delete(key)
}
