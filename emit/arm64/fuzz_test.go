package arm64

import (
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/isa"
)

// FuzzMovImm checks, for any constant and width, that MovImm's sequence computes
// the constant and is never longer than the naive movz+movk form.
func FuzzMovImm(f *testing.F) {
	for _, v := range []uint64{0, 1, ^uint64(0), 0x5555555555555555, 0x00ff00ff00ff1234, 0x123456789abcdef0, 0xffffffff80000000} {
		f.Add(v, false)
		f.Add(v, true)
	}
	f.Fuzz(func(t *testing.T, v uint64, w32 bool) {
		w, halves := W64, 4
		if w32 {
			w, halves, v = W32, 2, v&0xffffffff
		}
		s, err := MovImm(w, X3, v)
		if err != nil {
			t.Fatal(err)
		}
		if got := execMovSeq(t, s.Insts(), X3); got != v {
			t.Fatalf("MovImm(%v, %#x) computes %#x", w, v, got)
		}
		if s.Len() > naiveLen(v, halves) {
			t.Fatalf("MovImm(%v, %#x): %d instructions, naive %d", w, v, s.Len(), naiveLen(v, halves))
		}
	})
}

// FuzzEncodeBitmask checks that whatever EncodeBitmask accepts decodes back to
// the same value.
func FuzzEncodeBitmask(f *testing.F) {
	for _, v := range []uint64{1, 0x5555555555555555, 0xfffffffffffffff0, 0x0000ffff0000ffff, 0x12345} {
		f.Add(v, false)
	}
	f.Fuzz(func(t *testing.T, v uint64, w32 bool) {
		w := W64
		if w32 {
			w = W32
		}
		n, immr, imms, ok := EncodeBitmask(w, v)
		if !ok {
			return
		}
		if back, ok := DecodeBitmask(w, n, immr, imms); !ok || back != v {
			t.Fatalf("EncodeBitmask(%v, %#x) = (%d,%d,%d), which decodes to %#x, %v", w, v, n, immr, imms, back, ok)
		}
	})
}

// FuzzCompile feeds arbitrary bytecode to emit.Compile with this back end in both
// atomic modes: it must return an error or code that decodes completely, with every
// branch landing inside it and the register rules kept, never panic.
func FuzzCompile(f *testing.F) {
	g := progen.New(7, progen.Options{Helpers: []int32{1}})
	for i := 0; i < 8; i++ {
		f.Add(isa.EncodeAll(g.Program()), false)
	}
	f.Add([]byte{0x95, 0, 0, 0, 0, 0, 0, 0}, true)
	f.Fuzz(func(t *testing.T, code []byte, blind bool) {
		insns, err := isa.DecodeAll(code[:len(code)/8*8])
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range backends {
			img, err := emit.Compile(insns, emit.Options{Blind: blind, Budget: 100}, b.be)
			if err != nil {
				return
			}
			checkImage(t, b.name, img)
			checkRegisterRules(t, b.name, img)
		}
	})
}
