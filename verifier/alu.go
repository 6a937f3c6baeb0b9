package verifier

import (
	"math"
	"math/bits"

	"github.com/bpfjit/bpfjit/isa"
)

// iv is an interval pair (unsigned and signed) at width 32 or 64. At width 32 the unsigned
// bounds lie in [0, 2^32) and the signed ones in the int32 range.
type iv struct {
	umin, umax uint64
	smin, smax int64
}

func ivUnknown(w int) iv {
	if w == 32 {
		return iv{0, math.MaxUint32, math.MinInt32, math.MaxInt32}
	}
	return iv{0, math.MaxUint64, math.MinInt64, math.MaxInt64}
}

func (s *Scalar) iv(w int) iv {
	if w == 32 {
		return iv{uint64(s.U32min), uint64(s.U32max), int64(s.S32min), int64(s.S32max)}
	}
	return iv{s.Umin, s.Umax, s.Smin, s.Smax}
}

func (s *Scalar) setIV(w int, v iv) {
	if w == 32 {
		s.U32min, s.U32max, s.S32min, s.S32max = uint32(v.umin), uint32(v.umax), int32(v.smin), int32(v.smax)
		return
	}
	s.Umin, s.Umax, s.Smin, s.Smax = v.umin, v.umax, v.smin, v.smax
}

func umaxOf(w int) uint64 {
	if w == 32 {
		return math.MaxUint32
	}
	return math.MaxUint64
}

// addU adds unsigned values at width w, reporting overflow.
func addU(a, b uint64, w int) (uint64, bool) {
	s, c := bits.Add64(a, b, 0)
	return s, c != 0 || s > umaxOf(w)
}

// addS adds signed values at width w, reporting overflow.
func addS(a, b int64, w int) (int64, bool) {
	s := a + b
	if w == 32 {
		return s, s < math.MinInt32 || s > math.MaxInt32
	}
	return s, (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0)
}

func subS(a, b int64, w int) (int64, bool) {
	s := a - b
	if w == 32 {
		return s, s < math.MinInt32 || s > math.MaxInt32
	}
	return s, (a >= 0) != (b >= 0) && (s >= 0) != (a >= 0)
}

func ivAdd(a, b iv, w int) iv {
	r := ivUnknown(w)
	lo, o1 := addU(a.umin, b.umin, w)
	hi, o2 := addU(a.umax, b.umax, w)
	if !o1 && !o2 {
		r.umin, r.umax = lo, hi
	}
	slo, o1 := addS(a.smin, b.smin, w)
	shi, o2 := addS(a.smax, b.smax, w)
	if !o1 && !o2 {
		r.smin, r.smax = slo, shi
	}
	return r
}

func ivSub(a, b iv, w int) iv {
	r := ivUnknown(w)
	if a.umin >= b.umax {
		r.umin, r.umax = a.umin-b.umax, a.umax-b.umin
	}
	slo, o1 := subS(a.smin, b.smax, w)
	shi, o2 := subS(a.smax, b.smin, w)
	if !o1 && !o2 {
		r.smin, r.smax = slo, shi
	}
	return r
}

func ivMul(a, b iv, w int) iv {
	r := ivUnknown(w)
	hi, lo := bits.Mul64(a.umax, b.umax)
	if hi == 0 && lo <= umaxOf(w) {
		r.umin, r.umax = a.umin*b.umin, lo
	}
	return r
}

// shiftRange returns the range of a shift amount, or ok=false when it may reach the width
// (the amount is then masked and any bit pattern may come out).
func shiftRange(b *Scalar, w int) (lo, hi uint64, ok bool) {
	v := b.iv(w)
	if v.umax >= uint64(w) {
		return 0, 0, false
	}
	return v.umin, v.umax, true
}

// aluScalar computes the abstract result of `a op b` at 64 or 32 bits (off distinguishes
// sdiv/smod and movsx).
func aluScalar(op isa.ALUOp, off int16, a, b Scalar, is64 bool) Scalar {
	av, aok := a.Const()
	bv, bok := b.Const()
	if !is64 {
		av, aok = uint64(uint32(a.T.Value)), a.is32Const()
		bv, bok = uint64(uint32(b.T.Value)), b.is32Const()
	}
	if aok && (bok || op == isa.ALUNeg) {
		return ConstScalar(EvalALU(op, off, av, bv, is64))
	}
	if op == isa.ALUMov {
		return movScalar(off, b, is64)
	}
	r := aluScalarW(op, off, a, b, is64)
	r.LenOK = false
	if !is64 || (op != isa.ALUAdd && op != isa.ALUSub) {
		return r
	}
	// x + k or x - k keeps x's relation to the length, shifted by k, when nothing wraps.
	switch {
	case a.LenOK && bok:
		k := int64(bv)
		if op == isa.ALUSub {
			k = -k
		}
		inRange := k > -maxSlack && k < maxSlack
		if inRange && (k >= 0 && a.Umax <= math.MaxUint64-uint64(k) || k < 0 && a.Umin >= uint64(-k)) {
			r.relateLen(a.LenSlack - k)
		}
	case b.LenOK && aok && op == isa.ALUAdd && av < maxSlack && b.Umax <= math.MaxUint64-av:
		r.relateLen(b.LenSlack - int64(av))
	}
	return r
}

// aluScalarW is aluScalar without constant folding or the length relation.
func aluScalarW(op isa.ALUOp, off int16, a, b Scalar, is64 bool) Scalar {
	w := 64
	if !is64 {
		w = 32
	}
	ta, tb := a.T, b.T
	if !is64 {
		ta, tb = ta.Subreg(), tb.Subreg()
	}
	ia, ib := a.iv(w), b.iv(w)
	r := UnknownScalar()
	res := ivUnknown(w)
	t := TnumUnknown
	low := true // whether the low 32 bits of a 64-bit result depend only on the operands' low halves
	switch op {
	case isa.ALUAdd:
		t, res = ta.Add(tb), ivAdd(ia, ib, w)
	case isa.ALUSub:
		t, res = ta.Sub(tb), ivSub(ia, ib, w)
	case isa.ALUNeg:
		zero := ConstScalar(0)
		t, res = TnumConst(0).Sub(ta), ivSub(zero.iv(w), ia, w)
	case isa.ALUMul:
		t, res = ta.Mul(tb), ivMul(ia, ib, w)
	case isa.ALUAnd:
		t = ta.And(tb)
		res.umax = min(ia.umax, ib.umax)
	case isa.ALUOr:
		t = ta.Or(tb)
		res.umin = max(ia.umin, ib.umin)
	case isa.ALUXor:
		t = ta.Xor(tb)
	case isa.ALULsh:
		if lo, hi, ok := shiftRange(&b, w); ok {
			if lo == hi {
				t = ta.Lsh(uint(lo))
			}
			if ia.umax>>(uint64(w)-hi) == 0 || hi == 0 {
				res.umin, res.umax = ia.umin<<lo, ia.umax<<hi
			}
		}
	case isa.ALURsh:
		low = false
		if lo, hi, ok := shiftRange(&b, w); ok {
			if lo == hi {
				t = ta.Rsh(uint(lo))
			} else {
				t = TnumRange(0, ia.umax>>lo)
			}
			res.umin, res.umax = ia.umin>>hi, ia.umax>>lo
		}
	case isa.ALUArsh:
		low = false
		if lo, hi, ok := shiftRange(&b, w); ok && lo == hi {
			t = ta.Arsh(uint(lo), w)
			res.smin, res.smax = ia.smin>>lo, ia.smax>>lo
		}
	case isa.ALUDiv:
		low = false
		if off == 0 {
			if ib.umin > 0 {
				res.umin, res.umax = ia.umin/ib.umax, ia.umax/ib.umin
			} else {
				res.umax = ia.umax // division by zero gives 0
			}
		}
	case isa.ALUMod:
		low = false
		if off == 0 {
			if ib.umin > 0 {
				res.umax = min(ia.umax, ib.umax-1)
			} else {
				res.umax = max(ia.umax, ib.umax-1) // modulo by zero leaves dst
			}
		}
	case isa.ALUMov:
		return movScalar(off, b, is64)
	}
	if w == 32 {
		r.T = TnumUnknown.ClearSubreg().Or(t.Subreg()) // upper half fixed by zext below
		r.setIV(32, res)
		r.sync()
		r.zext()
		return r
	}
	r.T = t
	r.setIV(64, res)
	if low {
		var l iv
		a32, b32 := a.iv(32), b.iv(32)
		switch op {
		case isa.ALUAdd:
			l = ivAdd(a32, b32, 32)
		case isa.ALUSub:
			l = ivSub(a32, b32, 32)
		case isa.ALUNeg:
			zero := ConstScalar(0)
			l = ivSub(zero.iv(32), a32, 32)
		case isa.ALUMul:
			l = ivMul(a32, b32, 32)
		default:
			l = ivUnknown(32)
		}
		r.setIV(32, l)
	}
	r.sync()
	return r
}

// movScalar is `dst = src` with optional sign extension from off bits (movsx).
func movScalar(off int16, b Scalar, is64 bool) Scalar {
	if off == 0 {
		if !is64 {
			b.zext()
		}
		return b
	}
	if v, ok := b.Const(); ok || (off <= 16 || !is64) && b.T.Cast(int(off)/8).IsConst() {
		if !ok {
			v = b.T.Value
		}
		return ConstScalar(EvalALU(isa.ALUMov, off, 0, v, is64))
	}
	n := uint(off)
	half := uint64(1) << (n - 1)
	r := UnknownScalar()
	if b.Umax < half {
		// Non-negative and narrow: sign extension changes nothing.
		r = b
	} else {
		r.Smin, r.Smax = -int64(half), int64(half-1)
		r.sync()
	}
	if !is64 {
		r.zext()
	}
	return r
}

// EvalALU computes `dst op src` on concrete values with the ISA's edge rules: division by
// zero gives 0, modulo by zero leaves dst, shift amounts are masked, INT_MIN/-1 gives INT_MIN
// and INT_MIN%-1 gives 0, and 32-bit results are zero-extended.
func EvalALU(op isa.ALUOp, off int16, dst, src uint64, is64 bool) uint64 {
	if !is64 {
		d, s := uint32(dst), uint32(src)
		var r uint32
		switch op {
		case isa.ALUAdd:
			r = d + s
		case isa.ALUSub:
			r = d - s
		case isa.ALUMul:
			r = d * s
		case isa.ALUDiv:
			switch {
			case s == 0:
				r = 0
			case off == 1:
				if int32(d) == math.MinInt32 && int32(s) == -1 {
					r = d
				} else {
					r = uint32(int32(d) / int32(s))
				}
			default:
				r = d / s
			}
		case isa.ALUMod:
			switch {
			case s == 0:
				r = d
			case off == 1:
				if int32(s) == -1 {
					r = 0
				} else {
					r = uint32(int32(d) % int32(s))
				}
			default:
				r = d % s
			}
		case isa.ALUOr:
			r = d | s
		case isa.ALUAnd:
			r = d & s
		case isa.ALUXor:
			r = d ^ s
		case isa.ALULsh:
			r = d << (s & 31)
		case isa.ALURsh:
			r = d >> (s & 31)
		case isa.ALUArsh:
			r = uint32(int32(d) >> (s & 31))
		case isa.ALUNeg:
			r = -d
		case isa.ALUMov:
			switch off {
			case 8:
				r = uint32(int32(int8(s)))
			case 16:
				r = uint32(int32(int16(s)))
			default:
				r = s
			}
		}
		return uint64(r)
	}
	d, s := dst, src
	switch op {
	case isa.ALUAdd:
		return d + s
	case isa.ALUSub:
		return d - s
	case isa.ALUMul:
		return d * s
	case isa.ALUDiv:
		switch {
		case s == 0:
			return 0
		case off == 1:
			if int64(d) == math.MinInt64 && int64(s) == -1 {
				return d
			}
			return uint64(int64(d) / int64(s))
		}
		return d / s
	case isa.ALUMod:
		switch {
		case s == 0:
			return d
		case off == 1:
			if int64(s) == -1 {
				return 0
			}
			return uint64(int64(d) % int64(s))
		}
		return d % s
	case isa.ALUOr:
		return d | s
	case isa.ALUAnd:
		return d & s
	case isa.ALUXor:
		return d ^ s
	case isa.ALULsh:
		return d << (s & 63)
	case isa.ALURsh:
		return d >> (s & 63)
	case isa.ALUArsh:
		return uint64(int64(d) >> (s & 63))
	case isa.ALUNeg:
		return -d
	case isa.ALUMov:
		switch off {
		case 8:
			return uint64(int64(int8(s)))
		case 16:
			return uint64(int64(int16(s)))
		case 32:
			return uint64(int64(int32(s)))
		}
		return s
	}
	return 0
}

// endScalar is a byte swap: to little endian (truncation on this little-endian ISA), to
// big endian, or bswap (ALU64).
func endScalar(a Scalar, width int, swap bool) Scalar {
	if !swap {
		a.cast(width / 8)
		return a
	}
	if v, ok := a.Const(); ok {
		switch width {
		case 16:
			return ConstScalar(uint64(bits.ReverseBytes16(uint16(v))))
		case 32:
			return ConstScalar(uint64(bits.ReverseBytes32(uint32(v))))
		}
		return ConstScalar(bits.ReverseBytes64(v))
	}
	if width == 64 {
		return UnknownScalar()
	}
	return RangeScalar(0, uint64(1)<<uint(width)-1)
}
