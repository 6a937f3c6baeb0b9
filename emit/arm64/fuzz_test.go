package arm64

import "testing"

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
