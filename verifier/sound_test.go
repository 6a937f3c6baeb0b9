package verifier

import (
	"math/rand"
	"testing"

	"github.com/bpfjit/bpfjit/isa"
)

// randScalar returns an abstract value and a few concrete members of it.
func randScalar(rng *rand.Rand) (Scalar, []uint64) {
	pick := func() uint64 {
		switch rng.Intn(6) {
		case 0:
			return uint64(rng.Intn(16))
		case 1:
			return uint64(int64(-rng.Intn(16)))
		case 2:
			return 1<<63 - uint64(rng.Intn(4))
		case 3:
			return uint64(rng.Uint32())
		case 4:
			return 1<<32 + uint64(rng.Intn(8)) - 4
		}
		return rng.Uint64()
	}
	a, b := pick(), pick()
	var s Scalar
	switch rng.Intn(4) {
	case 0:
		s = ConstScalar(a)
	case 1:
		s = RangeScalar(min(a, b), max(a, b))
	case 2:
		lo, hi := min(int64(a), int64(b)), max(int64(a), int64(b))
		s = UnknownScalar()
		s.Smin, s.Smax = lo, hi
		s.sync()
	default:
		s = UnknownScalar()
		s.T = Tnum{Value: a &^ b, Mask: b}
		s.sync()
	}
	var members []uint64
	for range 16 {
		var v uint64
		switch rng.Intn(3) {
		case 0:
			v = s.Umin + uint64(rng.Intn(3))
		case 1:
			v = s.Umax - uint64(rng.Intn(3))
		default:
			v = s.T.Value | rng.Uint64()&s.T.Mask
		}
		if contains(&s, v) {
			members = append(members, v)
		}
	}
	return s, members
}

func contains(s *Scalar, v uint64) bool {
	return s.T.Contains(v) && s.Umin <= v && v <= s.Umax && s.Smin <= int64(v) && int64(v) <= s.Smax &&
		s.U32min <= uint32(v) && uint32(v) <= s.U32max && s.S32min <= int32(v) && int32(v) <= s.S32max
}

var aluOps = []struct {
	op  isa.ALUOp
	off int16
}{
	{isa.ALUAdd, 0}, {isa.ALUSub, 0}, {isa.ALUMul, 0}, {isa.ALUDiv, 0}, {isa.ALUDiv, 1},
	{isa.ALUOr, 0}, {isa.ALUAnd, 0}, {isa.ALULsh, 0}, {isa.ALURsh, 0}, {isa.ALUNeg, 0},
	{isa.ALUMod, 0}, {isa.ALUMod, 1}, {isa.ALUXor, 0}, {isa.ALUMov, 0}, {isa.ALUMov, 8},
	{isa.ALUMov, 16}, {isa.ALUMov, 32}, {isa.ALUArsh, 0},
}

// Every concrete result of an operation on members of the operands' abstract values must be
// a member of the abstract result: the bounds may be loose but never wrong.
func TestALUIsSound(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for iter := 0; iter < 20000; iter++ {
		a, am := randScalar(rng)
		b, bm := randScalar(rng)
		if rng.Intn(3) == 0 {
			b, bm = RangeScalar(0, 70), []uint64{0, 1, 31, 32, 63, 64, 70}
		}
		for _, o := range aluOps {
			for _, is64 := range []bool{true, false} {
				if o.op == isa.ALUMov && o.off == 32 && !is64 {
					continue
				}
				r := aluScalar(o.op, o.off, a, b, is64)
				for _, x := range am {
					for _, y := range bm {
						if !contains(&b, y) {
							continue
						}
						got := EvalALU(o.op, o.off, x, y, is64)
						if !contains(&r, got) {
							t.Fatalf("%#x op%#x/%d %#x (64=%v) = %#x, not in %v\na=%v\nb=%v", x, o.op, o.off, y, is64, got, r, a, b)
						}
					}
				}
			}
		}
	}
}

var jumpOps = []isa.JumpOp{isa.JumpEQ, isa.JumpNE, isa.JumpGT, isa.JumpGE, isa.JumpLT, isa.JumpLE,
	isa.JumpSGT, isa.JumpSGE, isa.JumpSLT, isa.JumpSLE, isa.JumpSET, jumpNotSet}

func holds(op isa.JumpOp, x, y uint64, w int) bool {
	if w == 32 {
		x, y = uint64(uint32(x)), uint64(uint32(y))
		sx, sy := int64(int32(x)), int64(int32(y))
		return holdsS(op, x, y, sx, sy)
	}
	return holdsS(op, x, y, int64(x), int64(y))
}

func holdsS(op isa.JumpOp, x, y uint64, sx, sy int64) bool {
	switch op {
	case isa.JumpEQ:
		return x == y
	case isa.JumpNE:
		return x != y
	case isa.JumpGT:
		return x > y
	case isa.JumpGE:
		return x >= y
	case isa.JumpLT:
		return x < y
	case isa.JumpLE:
		return x <= y
	case isa.JumpSGT:
		return sx > sy
	case isa.JumpSGE:
		return sx >= sy
	case isa.JumpSLT:
		return sx < sy
	case isa.JumpSLE:
		return sx <= sy
	case isa.JumpSET:
		return x&y != 0
	}
	return x&y == 0
}

// A branch outcome the verifier decides must be the concrete one, and refinement must keep
// every pair of values for which the comparison holds.
func TestBranchRefinementIsSound(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for iter := 0; iter < 20000; iter++ {
		a, am := randScalar(rng)
		b, bm := randScalar(rng)
		for _, op := range jumpOps {
			for _, w := range []int{64, 32} {
				out := outcome(op, &a, &b, w)
				ra, rb := a, b
				ok := refine(op, &ra, &rb, w)
				for _, x := range am {
					for _, y := range bm {
						h := holds(op, x, y, w)
						if out == 1 && !h || out == 0 && h {
							t.Fatalf("outcome(%#x %#x %#x, w%d) = %d, but it is %v\na=%v\nb=%v", x, op, y, w, out, h, a, b)
						}
						if h && (!ok || !contains(&ra, x) || !contains(&rb, y)) {
							t.Fatalf("refine(%#x op%#x %#x, w%d) lost the pair (ok=%v)\na=%v -> %v\nb=%v -> %v", x, op, y, w, ok, a, ra, b, rb)
						}
					}
				}
			}
		}
	}
}

func TestTnumRangeAndIn(t *testing.T) {
	tests := []struct {
		lo, hi uint64
		want   Tnum
	}{
		{0, 0, TnumConst(0)},
		{0, 1, Tnum{0, 1}},
		{4, 7, Tnum{4, 3}},
		{0, 255, Tnum{0, 255}},
		{1, 2, Tnum{0, 3}},
		{0, ^uint64(0), TnumUnknown},
	}
	for _, tt := range tests {
		if got := TnumRange(tt.lo, tt.hi); got != tt.want {
			t.Errorf("TnumRange(%d, %d) = %v, want %v", tt.lo, tt.hi, got, tt.want)
		}
	}
	if !TnumUnknown.In(TnumConst(5)) || TnumConst(5).In(TnumUnknown) {
		t.Error("In must order unknown above constants")
	}
}

// The seed's bounds: after `if w0 > 1`, w6 = w0; r6 <<= 32; r6 >>= 32 leaves r6 in [0, 1].
func TestSeedJmp32Bounds(t *testing.T) {
	r0 := UnknownScalar()
	c := ConstScalar(1)
	if !refine(isa.JumpLE, &r0, &c, 32) {
		t.Fatal("w0 <= 1 is possible")
	}
	r6 := movScalar(0, r0, false)
	r6 = aluScalar(isa.ALULsh, 0, r6, ConstScalar(32), true)
	r6 = aluScalar(isa.ALURsh, 0, r6, ConstScalar(32), true)
	if r6.Umin != 0 || r6.Umax != 1 {
		t.Fatalf("r6 = %v, want [0, 1]", r6)
	}
}

// Tnum operations keep every concrete result of members of their operands.
func TestTnumOpsAreSound(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	member := func(a Tnum) uint64 { return a.Value | rng.Uint64()&a.Mask }
	randT := func() Tnum {
		switch rng.Intn(4) {
		case 0:
			return TnumUnknown
		case 1:
			return TnumConst(rng.Uint64() >> uint(rng.Intn(64)))
		}
		m := rng.Uint64() >> uint(rng.Intn(64))
		return Tnum{Value: rng.Uint64() &^ m, Mask: m}
	}
	for iter := 0; iter < 200000; iter++ {
		a, b := randT(), randT()
		x, y := member(a), member(b)
		n := uint(rng.Intn(64))
		checks := []struct {
			name string
			t    Tnum
			v    uint64
		}{
			{"add", a.Add(b), x + y}, {"sub", a.Sub(b), x - y}, {"mul", a.Mul(b), x * y},
			{"and", a.And(b), x & y}, {"or", a.Or(b), x | y}, {"xor", a.Xor(b), x ^ y},
			{"lsh", a.Lsh(n), x << n}, {"rsh", a.Rsh(n), x >> n}, {"arsh", a.Arsh(n, 64), uint64(int64(x) >> n)},
			{"union", a.Union(b), x},
		}
		for _, c := range checks {
			if !c.t.Contains(c.v) {
				t.Fatalf("%s(%v, %v) = %v does not contain %#x (x=%#x y=%#x)", c.name, a, b, c.t, c.v, x, y)
			}
		}
	}
}
