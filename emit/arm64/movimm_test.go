package arm64

import (
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/arch/arm64/arm64asm"
)

// execMovSeq interprets the instruction words MovImm may produce (movz, movn,
// movk, orr with xzr and a bitmask immediate) on a zeroed register file and
// returns the destination register's value. Anything else fails the test.
func execMovSeq(t *testing.T, seq []Inst, rd Reg) uint64 {
	t.Helper()
	var x [32]uint64
	for _, i := range seq {
		w := uint32(i)
		sf := w >> 31
		d := w & 31
		switch {
		case w&0x1f800000 == 0x12800000: // move wide
			opc := w >> 29 & 3
			hw := w >> 21 & 3
			imm := uint64(w>>5&0xffff) << (16 * hw)
			switch opc {
			case 0:
				x[d] = ^imm
			case 2:
				x[d] = imm
			case 3:
				x[d] = x[d]&^(0xffff<<(16*hw)) | imm
			default:
				t.Fatalf("%#08x: unexpected move-wide opc %d", w, opc)
			}
		case w&0x1f800000 == 0x12000000: // logical immediate
			if w>>29&3 != 1 || w>>5&31 != 31 {
				t.Fatalf("%#08x: only orr from xzr expected", w)
			}
			v, ok := DecodeBitmask(Width(sf), w>>22&1, w>>16&63, w>>10&63)
			if !ok {
				t.Fatalf("%#08x: reserved bitmask immediate", w)
			}
			x[d] = v
		default:
			t.Fatalf("%#08x: not a mov-immediate instruction", w)
		}
		if d != uint32(rd) {
			t.Fatalf("%#08x writes x%d, want %v", w, d, rd)
		}
		if sf == 0 {
			x[d] &= 0xffffffff // a W write clears the upper half
		}
	}
	return x[rd]
}

// naiveLen is the movz+movk instruction count without any cleverness.
func naiveLen(v uint64, halves int) int {
	n := 0
	for h := 0; h < halves; h++ {
		if uint16(v>>(16*h)) != 0 {
			n++
		}
	}
	return max(n, 1)
}

// interesting returns constants of the shapes a BPF program produces: small
// and negative immediates, sparse halfwords, repeating patterns, bitmasks with
// a stray halfword, and uniformly random values.
func interestingConstants(r *rand.Rand, n int) []uint64 {
	vs := []uint64{0, 1, ^uint64(0), 0xffff, 0x10000, 0xffffffff, 0x80000000, 0xffffffff80000000,
		0x7fffffffffffffff, 0x8000000000000000, 0x5555555555555555, 0x00ff00ff00ff1234,
		0x123456789abcdef0, 0xffffffff12345678, 0x0000ffff0000ffff}
	for len(vs) < n {
		switch r.IntN(6) {
		case 0:
			vs = append(vs, r.Uint64())
		case 1: // sign-extended imm32, as BPF's ALU64 immediates are
			vs = append(vs, uint64(int64(int32(r.Uint32()))))
		case 2: // few non-zero halfwords
			var v uint64
			for h := 0; h < 4; h++ {
				if r.IntN(2) == 0 {
					v |= uint64(r.Uint32()&0xffff) << (16 * h)
				}
			}
			vs = append(vs, v)
		case 3: // few non-ffff halfwords
			v := ^uint64(0)
			for h := 0; h < 4; h++ {
				if r.IntN(2) == 0 {
					v &^= uint64(r.Uint32()&0xffff) << (16 * h)
				}
			}
			vs = append(vs, v)
		case 4: // a bitmask immediate with one or two halfwords overwritten
			p := randomBitmask(r)
			for k := r.IntN(3); k > 0; k-- {
				h := r.IntN(4)
				p = p&^(0xffff<<(16*h)) | uint64(r.Uint32()&0xffff)<<(16*h)
			}
			vs = append(vs, p)
		case 5:
			vs = append(vs, randomBitmask(r))
		}
	}
	return vs
}

func randomBitmask(r *rand.Rand) uint64 {
	for {
		if v, ok := DecodeBitmask(W64, uint32(r.IntN(2)), uint32(r.IntN(64)), uint32(r.IntN(64))); ok {
			return v
		}
	}
}

func TestMovImmProducesConstantNeverLongerThanNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, v := range interestingConstants(r, 20000) {
		for _, rd := range []Reg{X0, X7, X30} {
			s, err := MovImm(W64, rd, v)
			if err != nil {
				t.Fatalf("MovImm(W64, %v, %#x): %v", rd, v, err)
			}
			if got := execMovSeq(t, s.Insts(), rd); got != v {
				t.Fatalf("MovImm(W64, %v, %#x) computes %#x: %08x", rd, v, got, s.Insts())
			}
			if s.Len() > naiveLen(v, 4) || s.Len() > 4 || s.Len() < 1 {
				t.Fatalf("MovImm(W64, %#x) uses %d instructions, naive form %d", v, s.Len(), naiveLen(v, 4))
			}
		}
		v32 := v & 0xffffffff
		s, err := MovImm(W32, X5, v32)
		if err != nil {
			t.Fatalf("MovImm(W32, %#x): %v", v32, err)
		}
		if got := execMovSeq(t, s.Insts(), X5); got != v32 {
			t.Fatalf("MovImm(W32, %#x) computes %#x", v32, got)
		}
		if s.Len() > naiveLen(v32, 2) {
			t.Fatalf("MovImm(W32, %#x) uses %d instructions, naive form %d", v32, s.Len(), naiveLen(v32, 2))
		}
	}
}

// TestMovImmIsOptimalForShortForms checks the cases where the shortest length is
// easy to know independently: one instruction exactly when v is a single
// movz/movn halfword or a bitmask immediate, and two whenever movz/movn plus one
// movk suffices.
func TestMovImmIsOptimalForShortForms(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, v := range interestingConstants(r, 20000) {
		s, _ := MovImm(W64, X0, v)
		zeros, ones := 0, 0
		for h := 0; h < 4; h++ {
			switch uint16(v >> (16 * h)) {
			case 0:
				zeros++
			case 0xffff:
				ones++
			}
		}
		_, _, _, isMask := EncodeBitmask(W64, v)
		want := min(4-max(zeros, ones), 4)
		if want == 0 || isMask {
			want = 1
		}
		if want <= 2 && s.Len() != want {
			t.Errorf("MovImm(%#x) = %d instructions, want %d", v, s.Len(), want)
		}
	}
}

func TestMovImmGoldenSequences(t *testing.T) {
	cases := []struct {
		w    Width
		v    uint64
		want []string // arm64asm GNU text; it prints orr from xzr as mov
	}{
		{W64, 0, []string{"mov x0, #0x0"}},
		{W64, 0xffffffffffffffff, []string{"mov x0, #0xffffffffffffffff"}},
		{W64, 0x2a, []string{"mov x0, #0x2a"}},
		{W64, 0xffffffffffffffd6, []string{"mov x0, #0xffffffffffffffd6"}}, // -42: one movn
		{W64, 0x12345678, []string{"mov x0, #0x5678", "movk x0, #0x1234, lsl #16"}},
		{W64, 0xffffffff12345678, []string{"mov x0, #0xffffffffffff5678", "movk x0, #0x1234, lsl #16"}},
		{W64, 0x123400000000, []string{"mov x0, #0x123400000000"}},
		{W64, 0x5555555555555555, []string{"mov x0, #0x5555555555555555"}},
		{W64, 0x0000ffff0000ffff, []string{"mov x0, #0xffff0000ffff"}},
		{W64, 0x00ff00ff00ff1234, []string{"mov x0, #0xff00ff00ff00ff", "movk x0, #0x1234"}},
		{W64, 0x123456789abcdef0, []string{"mov x0, #0xdef0", "movk x0, #0x9abc, lsl #16", "movk x0, #0x5678, lsl #32", "movk x0, #0x1234, lsl #48"}},
		{W32, 0, []string{"mov w0, #0x0"}},
		{W32, 0xffffffff, []string{"mov w0, #0xffffffff"}},
		{W32, 0xffff1234, []string{"mov w0, #0xffff1234"}},
		{W32, 0x80000000, []string{"mov w0, #0x80000000"}},
		{W32, 0x0f0f0f0f, []string{"mov w0, #0xf0f0f0f"}},
		{W32, 0x12345678, []string{"mov w0, #0x5678", "movk w0, #0x1234, lsl #16"}},
	}
	for _, c := range cases {
		s, err := MovImm(c.w, X0, c.v)
		if err != nil {
			t.Fatalf("MovImm(%v, %#x): %v", c.w, c.v, err)
		}
		var got []string
		for _, i := range s.Insts() {
			d, err := arm64asm.Decode(wordBytes(uint32(i)))
			if err != nil {
				t.Fatalf("MovImm(%v, %#x): decode %#08x: %v", c.w, c.v, uint32(i), err)
			}
			got = append(got, normalizeGNU(arm64asm.GNUSyntax(d)))
		}
		if strings.Join(got, "; ") != strings.Join(c.want, "; ") {
			t.Errorf("MovImm(%v, %#x) = %q, want %q", c.w, c.v, got, c.want)
		}
	}
}

func TestMovImm64IsTheW64Form(t *testing.T) {
	for _, v := range []uint64{0, 0x1234, ^uint64(0), 0x123456789abcdef0} {
		a, errA := MovImm64(X4, v)
		b, errB := MovImm(W64, X4, v)
		if errA != nil || errB != nil || a.Len() != b.Len() || a.insts != b.insts {
			t.Errorf("MovImm64(%#x) = %08x, MovImm(W64) = %08x", v, a.Insts(), b.Insts())
		}
	}
}

func TestMovImmRejects(t *testing.T) {
	cases := []struct {
		name string
		w    Width
		rd   Reg
		v    uint64
	}{
		{"w32 value above 32 bits", W32, X0, 1 << 32},
		{"xzr destination", W64, XZR, 1},
		{"sp destination", W64, SP, 1},
		{"bad width", Width(2), X0, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := MovImm(c.w, c.rd, c.v); !isEncodeError(err) {
				t.Errorf("err = %v, want *EncodeError", err)
			}
		})
	}
}

// TestBitmaskRoundTripAllPatterns enumerates every N:immr:imms field value: the
// valid ones must decode to exactly 5334 distinct 64-bit (1302 distinct 32-bit)
// patterns (sum of e*(e-1) over element sizes e), each of which encodes back to a canonical field value that decodes to
// the same pattern.
func TestBitmaskRoundTripAllPatterns(t *testing.T) {
	for _, tc := range []struct {
		w    Width
		want int
	}{{W64, 5334}, {W32, 1302}} {
		seen := map[uint64]bool{}
		for n := uint32(0); n < 2; n++ {
			for immr := uint32(0); immr < 64; immr++ {
				for imms := uint32(0); imms < 64; imms++ {
					v, ok := DecodeBitmask(tc.w, n, immr, imms)
					if !ok {
						continue
					}
					seen[v] = true
					en, er, es, ok := EncodeBitmask(tc.w, v)
					if !ok {
						t.Fatalf("%v: %#x decoded from (%d,%d,%d) does not encode", tc.w, v, n, immr, imms)
					}
					if back, ok := DecodeBitmask(tc.w, en, er, es); !ok || back != v {
						t.Fatalf("%v: %#x encodes to (%d,%d,%d) which decodes to %#x", tc.w, v, en, er, es, back)
					}
					if esize := elementSize(en, es); er >= esize {
						t.Fatalf("%v: %#x: immr %d not canonical for element %d", tc.w, v, er, esize)
					}
				}
			}
		}
		if len(seen) != tc.want {
			t.Errorf("%v: %d distinct bitmask immediates, want %d", tc.w, len(seen), tc.want)
		}
	}
}

func elementSize(n, imms uint32) uint32 {
	return 1 << (bits.Len32(n<<6|(^imms&0x3f)) - 1)
}

// TestBitmaskAgreesWithArm64asm cross-checks the pattern behind every 64-bit
// bitmask immediate with x/arch's decoder of "and x0, x1, #imm".
func TestBitmaskAgreesWithArm64asm(t *testing.T) {
	seen := map[uint64]bool{}
	for n := uint32(0); n < 2; n++ {
		for immr := uint32(0); immr < 64; immr++ {
			for imms := uint32(0); imms < 64; imms++ {
				v, ok := DecodeBitmask(W64, n, immr, imms)
				if !ok || seen[v] {
					continue
				}
				seen[v] = true
				i, err := LogicImm(AND, W64, X0, X1, v)
				if err != nil {
					t.Fatalf("LogicImm(%#x): %v", v, err)
				}
				d, err := arm64asm.Decode(wordBytes(uint32(i)))
				if err != nil {
					t.Fatalf("decode %#08x: %v", uint32(i), err)
				}
				imm, ok := d.Args[2].(arm64asm.Imm64)
				if !ok || imm.Imm != v {
					t.Fatalf("%#08x: arm64asm immediate %v, want %#x", uint32(i), d.Args[2], v)
				}
			}
		}
	}
	if len(seen) != 5334 {
		t.Errorf("checked %d patterns, want 5334", len(seen))
	}
}

// TestEncodeBitmaskRejectsNonPatterns checks random values (which are almost never
// bitmasks) against the enumerated set.
func TestEncodeBitmaskRejectsNonPatterns(t *testing.T) {
	valid := map[uint64]bool{}
	for n := uint32(0); n < 2; n++ {
		for immr := uint32(0); immr < 64; immr++ {
			for imms := uint32(0); imms < 64; imms++ {
				if v, ok := DecodeBitmask(W64, n, immr, imms); ok {
					valid[v] = true
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	check := func(v uint64) {
		_, _, _, ok := EncodeBitmask(W64, v)
		if ok != valid[v] {
			t.Fatalf("EncodeBitmask(%#x) ok=%v, enumeration says %v", v, ok, valid[v])
		}
	}
	for i := 0; i < 100000; i++ {
		check(r.Uint64())
		check(randomBitmask(r) ^ 1<<r.IntN(64)) // one flipped bit: usually invalid
	}
	for _, v := range []uint64{0, ^uint64(0), 0x1_0000_0001} {
		check(v)
	}
	if _, _, _, ok := EncodeBitmask(W32, 1<<32); ok {
		t.Error("EncodeBitmask(W32, 1<<32) accepted a value wider than 32 bits")
	}
	if _, _, _, ok := EncodeBitmask(W32, 0xffffffff); ok {
		t.Error("EncodeBitmask(W32, 0xffffffff) accepted all-ones")
	}
}

// bitmaskCandidate only spares EncodeBitmask work: it must accept every bitmask
// immediate, and it is worth its place only if it turns down most other constants.
func TestBitmaskCandidateAcceptsEveryBitmaskAndFewOthers(t *testing.T) {
	for n := uint32(0); n < 2; n++ {
		for immr := uint32(0); immr < 64; immr++ {
			for imms := uint32(0); imms < 64; imms++ {
				if v, ok := DecodeBitmask(W64, n, immr, imms); ok && !bitmaskCandidate(v) {
					t.Fatalf("bitmask %#x (%d,%d,%d) rejected", v, n, immr, imms)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(11, 12))
	const tries = 100000
	accepted := 0
	for range tries {
		v := r.Uint64()
		if r.IntN(2) == 0 {
			v = v&0xffffffff | v<<32 // a replicated 32-bit half, the bitmaskNear candidates
		}
		if bitmaskCandidate(v) {
			accepted++
		} else if _, _, _, ok := EncodeBitmask(W64, v); ok {
			t.Fatalf("%#x rejected but encodes", v)
		}
	}
	if accepted > tries/100 {
		t.Errorf("accepted %d of %d random constants, want at most 1%%", accepted, tries)
	}
}

// bitmaskNear answers early for four different halfwords, on this fact: a 32-bit half
// with two different halfwords, replicated, is a bitmask exactly when the half is one
// rotated run of ones. Every 64-bit bitmask of period 32 is checked against it, and so
// are random halves, half of them made single runs.
func TestOneRun32IsExactlyThe32BitBitmasks(t *testing.T) {
	for n := uint32(0); n < 2; n++ {
		for immr := uint32(0); immr < 64; immr++ {
			for imms := uint32(0); imms < 64; imms++ {
				v, ok := DecodeBitmask(W64, n, immr, imms)
				if !ok || uint32(v) != uint32(v>>32) {
					continue
				}
				h := uint32(v)
				if uint16(h) != uint16(h>>16) && !oneRun32(h) {
					t.Fatalf("bitmask %#x: its half %#x has different halfwords but is not one run", v, h)
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(13, 14))
	for range 200000 {
		h := r.Uint32()
		if r.IntN(2) == 0 { // one rotated run
			k := 1 + r.IntN(31)
			h = bits.RotateLeft32(1<<k-1, r.IntN(32))
		}
		_, _, _, enc := EncodeBitmask(W64, uint64(h)|uint64(h)<<32)
		if uint16(h) != uint16(h>>16) && enc != oneRun32(h) {
			t.Fatalf("%#x: oneRun32 %v, EncodeBitmask %v", h, oneRun32(h), enc)
		}
	}
}
