package maps

import (
	"fmt"
	"testing"
)

func benchHash(b *testing.B, typ Type, n int) *Map {
	m := mustNew(b, Spec{Type: typ, KeySize: 4, ValueSize: 8, MaxEntries: uint32(n)})
	for k := range n {
		if err := m.Update(u32(uint32(k)), u64(uint64(k)), UpdateAny); err != nil {
			b.Fatal(err)
		}
	}
	return m
}

// BenchmarkHashLookupGo: Map.LookupInto (lock, copy out).
func BenchmarkHashLookupGo(b *testing.B) {
	m := benchHash(b, Hash, 1024)
	key, val := u32(77), make([]byte, 8)
	for b.Loop() {
		if err := m.LookupInto(key, val); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashLookupHelper: bpf_map_lookup_elem as the JIT's bridge calls it (raw key
// address, value address back), without the bridge's own cost.
func BenchmarkHashLookupHelper(b *testing.B) {
	for _, typ := range []Type{Hash, LRUHash} {
		b.Run(typ.String(), func(b *testing.B) {
			m := benchHash(b, typ, 1024)
			s := newScratch(b)
			h, k := m.Handle(), s.put(0, u32(77))
			for b.Loop() {
				if MapLookupElem(h, k, 0, 0, 0) == 0 {
					b.Fatal("miss")
				}
			}
		})
	}
}

// BenchmarkArrayLookupHelper: the helper path; the JIT inlines this instead.
func BenchmarkArrayLookupHelper(b *testing.B) {
	m := mustNew(b, Spec{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 256})
	s := newScratch(b)
	h, k := m.Handle(), s.put(0, u32(6))
	for b.Loop() {
		if MapLookupElem(h, k, 0, 0, 0) == 0 {
			b.Fatal("miss")
		}
	}
}

// BenchmarkArrayLookupInlineShape: the JIT's inline sequence written in Go over the
// Header, as a lower bound for what generated code does.
func BenchmarkArrayLookupInlineShape(b *testing.B) {
	m := mustNew(b, Spec{Type: Array, KeySize: 4, ValueSize: 8, MaxEntries: 256})
	hdr := m.Header()
	var sink uint64
	idx := uint32(6)
	for b.Loop() {
		if idx < hdr.MaxEntries {
			sink = hdr.Base + uint64(idx)<<hdr.StrideLog2
		}
	}
	_ = sink
}

// BenchmarkHashUpdateHelper: replacing an existing key from BPF (allocation of a fresh
// element, retirement of the old one, batched grace periods on the default source).
func BenchmarkHashUpdateHelper(b *testing.B) {
	for _, c := range []struct {
		name string
		src  GraceSource
	}{{"readers", new(Readers)}, {"default", nil}} {
		b.Run(c.name, func(b *testing.B) {
			m := mustNew(b, Spec{Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1024}, Options{Grace: c.src})
			s := newScratch(b)
			h, k, v := m.Handle(), s.put(0, u32(77)), s.put(8, u64(1))
			for b.Loop() {
				if r := MapUpdateElem(h, k, v, UpdateAny, 0); r != 0 {
					b.Fatalf("update: %d", int64(r))
				}
			}
		})
	}
}

type nopSite struct{}

func (nopSite) Retarget(_, _ Program) {}

// BenchmarkSetProgramWithPokes: the program array's own cost of a slot update with N
// tracked sites (the sites' patching is the JIT's and is not included).
func BenchmarkSetProgramWithPokes(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			pa := mustNew(b, Spec{Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4})
			for k := range n {
				if err := pa.TrackPoke(PokeOwner(k+1), 0, nopSite{}); err != nil {
					b.Fatal(err)
				}
			}
			p, q := &fakeProg{entry: 1}, &fakeProg{entry: 2}
			for i := 0; b.Loop(); i++ {
				target := p
				if i&1 == 1 {
					target = q
				}
				if err := pa.SetProgram(0, target); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
