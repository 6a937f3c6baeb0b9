package maps

import (
	"encoding/binary"
	"errors"
	"testing"
)

func mustNew(t testing.TB, s Spec, opts ...Options) *Map {
	t.Helper()
	var o *Options
	if len(opts) > 0 {
		o = &opts[0]
	} else {
		o = &Options{Grace: Immediate}
	}
	m, err := New(s, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// scratch is mmap'd memory standing in for a BPF stack: raw helpers get addresses in it.
type scratch struct{ s *slab }

func newScratch(t testing.TB) scratch {
	s, err := newSlab(4096)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.free)
	return scratch{s}
}

// put copies b to offset off and returns its address.
func (s scratch) put(off int, b []byte) uint64 {
	copy(s.s.mem[off:], b)
	return uint64(s.s.addr()) + uint64(off)
}

func lookupWithKey(m *Map, key []byte) uint64 {
	s, err := newSlab(4096)
	if err != nil {
		panic(err)
	}
	defer s.free()
	copy(s.mem, key)
	return MapLookupElem(m.Handle(), uint64(s.addr()), 0, 0, 0)
}

func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func errorsIsNotExist(err error) bool { return errors.Is(err, ErrKeyNotExist) }
func errorsIsNoMemory(err error) bool { return errors.Is(err, ErrNoMemory) }
