package maps

import (
	"encoding/binary"
)

// arrayMap stores max_entries values back to back in one slab, Stride bytes apart. Values
// never move and are never reclaimed while the map lives, which is what lets the JIT
// inline lookups (see Header). An update copies into place, as the kernel does: a
// concurrent reader may see a partly written value.
type arrayMap struct {
	m      *Map
	slab   *slab
	base   uintptr
	stride uint32
	max    uint32
}

func newArray(m *Map) (*arrayMap, error) {
	s := m.spec
	a := &arrayMap{m: m, stride: stride(s.ValueSize), max: s.MaxEntries}
	sl, err := newSlab(uint64(a.stride) * uint64(a.max))
	if err != nil {
		return nil, err
	}
	a.slab, a.base = sl, sl.addr()
	m.setStride(a.base, a.stride)
	return a, nil
}

func (a *arrayMap) index(key []byte) uint32 { return binary.LittleEndian.Uint32(key) }

func (a *arrayMap) lookup(key []byte) uintptr {
	if i := a.index(key); i < a.max {
		return a.base + uintptr(i)*uintptr(a.stride)
	}
	return 0
}

// valueAt is the memory of element i.
func (a *arrayMap) valueAt(i uint32) []byte {
	return raw(a.base+uintptr(i)*uintptr(a.stride), a.m.spec.ValueSize)
}

func (a *arrayMap) update(key, value []byte, flags uint64) error {
	i := a.index(key)
	if i >= a.max {
		return a.m.err("update", ErrOutOfRange, "index %d, max_entries %d", i, a.max)
	}
	if flags == UpdateNoExist {
		return a.m.err("update", ErrKeyExist, "array elements always exist")
	}
	copy(a.valueAt(i), value)
	return nil
}

func (a *arrayMap) delete(key []byte) error {
	return a.m.err("delete", ErrNotSupported, "array elements cannot be deleted")
}

func (a *arrayMap) nextKey(key []byte) ([]byte, error) {
	return arrayNextKey(a.m, key, a.max)
}

// arrayNextKey iterates indices 0..max-1; a missing or out-of-range key restarts.
func arrayNextKey(m *Map, key []byte, max uint32) ([]byte, error) {
	next := uint32(0)
	if key != nil {
		if i := binary.LittleEndian.Uint32(key); i < max {
			if i == max-1 {
				return nil, m.err("next_key", ErrKeyNotExist, "no more keys")
			}
			next = i + 1
		}
	}
	return binary.LittleEndian.AppendUint32(nil, next), nil
}

func (a *arrayMap) count() int   { return int(a.max) }
func (a *arrayMap) synchronize() {}
func (a *arrayMap) close()       { a.slab.free() }
