package verifier

import (
	"fmt"
	"math"
	"math/bits"
	"strings"
)

// Scalar is what the verifier knows about a number: its known bits and its unsigned and
// signed bounds at 64 and at 32 bits. The 32-bit bounds are tracked on their own, never only
// derived from the 64-bit ones: a value whose 64-bit range is wide can still have a narrow
// low half (after `if w0 > 1`, for example), and deriving the low half's bounds from the
// 64-bit ones was the kernel's unsound 2019 attempt.
//
// Every field is a fact about the same value; a Scalar whose facts contradict each other
// describes no value at all (see empty).
type Scalar struct {
	T              Tnum
	Umin, Umax     uint64
	Smin, Smax     int64
	U32min, U32max uint32
	S32min, S32max int32
	// LenOK says that value + LenSlack <= len, where len is the raw memory region's length
	// (r2 at entry): a relation learned by comparing the value with the length, or with a
	// value that has one. It lets `for (i = 0; i < len; i++) p[i]` verify.
	LenOK    bool
	LenSlack int64
}

// UnknownScalar can be any value.
func UnknownScalar() Scalar {
	return Scalar{
		T:    TnumUnknown,
		Umax: math.MaxUint64, Smin: math.MinInt64, Smax: math.MaxInt64,
		U32max: math.MaxUint32, S32min: math.MinInt32, S32max: math.MaxInt32,
	}
}

// ConstScalar is exactly v.
func ConstScalar(v uint64) Scalar {
	return Scalar{
		T:    TnumConst(v),
		Umin: v, Umax: v, Smin: int64(v), Smax: int64(v),
		U32min: uint32(v), U32max: uint32(v), S32min: int32(v), S32max: int32(v),
	}
}

// RangeScalar is any value in the unsigned range [min, max].
func RangeScalar(min, max uint64) Scalar {
	s := UnknownScalar()
	s.Umin, s.Umax = min, max
	s.sync()
	return s
}

// IsConst reports whether the value is known exactly.
func (s *Scalar) IsConst() bool { return s.T.IsConst() }

// Const returns the value when it is known.
func (s *Scalar) Const() (uint64, bool) { return s.T.Value, s.T.IsConst() }

func (s *Scalar) is32Const() bool { return s.T.Subreg().IsConst() }

// empty reports whether the facts contradict each other: no value satisfies them. The
// verifier treats a branch whose refined state is empty as never taken.
func (s *Scalar) empty() bool {
	return s.Umin > s.Umax || s.Smin > s.Smax || s.U32min > s.U32max || s.S32min > s.S32max ||
		!s.T.Contains(s.T.Value) || s.T.Min() > s.Umax || s.T.Max() < s.Umin
}

// bitsMeetBounds reports whether some value agrees with the known bits on every bit the
// unsigned bounds (64 and 32 bits) fix: false proves the facts contradict each other.
func (s *Scalar) bitsMeetBounds() bool {
	if s.Umin > s.Umax || s.U32min > s.U32max {
		return false
	}
	return s.T.meets(TnumRange(s.Umin, s.Umax)) && s.T.Subreg().meets(TnumRange(uint64(s.U32min), uint64(s.U32max)))
}

// within reports whether every value s may hold, o may hold too: o subsumes s.
func (s *Scalar) within(o *Scalar) bool {
	return o.Umin <= s.Umin && s.Umax <= o.Umax && o.Smin <= s.Smin && s.Smax <= o.Smax &&
		o.U32min <= s.U32min && s.U32max <= o.U32max && o.S32min <= s.S32min && s.S32max <= o.S32max &&
		o.T.In(s.T) && (!o.LenOK || s.LenOK && s.LenSlack >= o.LenSlack)
}

// maxSlack bounds the slack the length relation keeps, so that slack arithmetic never
// overflows (the length itself is below 2^32).
const maxSlack = 1 << 40

// relateLen records value + slack <= len, keeping the stronger of two facts.
func (s *Scalar) relateLen(slack int64) {
	if slack < -maxSlack || slack > maxSlack {
		return
	}
	if !s.LenOK || slack > s.LenSlack {
		s.LenOK, s.LenSlack = true, slack
	}
}

// sync makes the facts agree: bounds learn from the known bits and from each other, and the
// known bits learn from the bounds.
func (s *Scalar) sync() {
	s.fromTnum()
	for range 2 {
		s.deduce32()
		s.deduce64()
		s.cross()
	}
	s.T = s.T.Intersect(TnumRange(s.Umin, s.Umax))
	low := s.T.Subreg().Intersect(TnumRange(uint64(s.U32min), uint64(s.U32max)))
	s.T = s.T.ClearSubreg().Or(low)
	s.fromTnum()
	s.deduce32()
	s.deduce64()
}

func (s *Scalar) fromTnum() {
	t32 := s.T.Subreg()
	s.S32min = max(s.S32min, int32(uint32(t32.Value|(t32.Mask&0x80000000))))
	s.S32max = min(s.S32max, int32(uint32(t32.Value|(t32.Mask&0x7fffffff))))
	s.U32min = max(s.U32min, uint32(t32.Value))
	s.U32max = min(s.U32max, uint32(t32.Value|t32.Mask))
	const sign = uint64(1) << 63
	s.Smin = max(s.Smin, int64(s.T.Value|(s.T.Mask&sign)))
	s.Smax = min(s.Smax, int64(s.T.Value|(s.T.Mask&^sign)))
	s.Umin = max(s.Umin, s.T.Value)
	s.Umax = min(s.Umax, s.T.Value|s.T.Mask)
}

// deduce32 lets the unsigned and signed 32-bit ranges refine each other where the range does
// not cross the point at which the two interpretations disagree.
func (s *Scalar) deduce32() {
	if int32(s.U32min) <= int32(s.U32max) {
		s.S32min = max(s.S32min, int32(s.U32min))
		s.S32max = min(s.S32max, int32(s.U32max))
	}
	if uint32(s.S32min) <= uint32(s.S32max) {
		s.U32min = max(s.U32min, uint32(s.S32min))
		s.U32max = min(s.U32max, uint32(s.S32max))
	}
}

func (s *Scalar) deduce64() {
	if int64(s.Umin) <= int64(s.Umax) {
		s.Smin = max(s.Smin, int64(s.Umin))
		s.Smax = min(s.Smax, int64(s.Umax))
	}
	if uint64(s.Smin) <= uint64(s.Smax) {
		s.Umin = max(s.Umin, uint64(s.Smin))
		s.Umax = min(s.Umax, uint64(s.Smax))
	}
}

// cross moves facts between the 64-bit and 32-bit views. Only two directions are sound:
// when all values share their upper 32 bits, the 64-bit range bounds the low half and the
// low half's range tightens the 64-bit one; and a 64-bit value that fits in an int32 is the
// sign extension of its low half.
func (s *Scalar) cross() {
	const lo = 0xffffffff
	if s.Umin>>32 == s.Umax>>32 {
		s.U32min = max(s.U32min, uint32(s.Umin))
		s.U32max = min(s.U32max, uint32(s.Umax))
		if int32(uint32(s.Umin)) <= int32(uint32(s.Umax)) {
			s.S32min = max(s.S32min, int32(uint32(s.Umin)))
			s.S32max = min(s.S32max, int32(uint32(s.Umax)))
		}
		hi := s.Umin &^ lo
		s.Umin = max(s.Umin, hi|uint64(s.U32min))
		s.Umax = min(s.Umax, hi|uint64(s.U32max))
	}
	if uint64(s.Smin)>>32 == uint64(s.Smax)>>32 {
		s.U32min = max(s.U32min, uint32(s.Smin))
		s.U32max = min(s.U32max, uint32(s.Smax))
		if int32(uint32(s.Smin)) <= int32(uint32(s.Smax)) {
			s.S32min = max(s.S32min, int32(uint32(s.Smin)))
			s.S32max = min(s.S32max, int32(uint32(s.Smax)))
		}
		hi := uint64(s.Smin) &^ lo
		s.Smin = max(s.Smin, int64(hi|uint64(s.U32min)))
		s.Smax = min(s.Smax, int64(hi|uint64(s.U32max)))
	}
	if s.Smin >= math.MinInt32 && s.Smax <= math.MaxInt32 {
		s.S32min = max(s.S32min, int32(s.Smin))
		s.S32max = min(s.S32max, int32(s.Smax))
		s.Smin = max(s.Smin, int64(s.S32min))
		s.Smax = min(s.Smax, int64(s.S32max))
	}
}

// zext makes the value the zero extension of its low 32 bits, as every 32-bit operation does.
func (s *Scalar) zext() {
	if s.Umax > math.MaxUint32 {
		s.LenOK = false // the value changes, so its relation to the length is lost
	}
	s.T = s.T.Subreg()
	s.Umin, s.Umax = uint64(s.U32min), uint64(s.U32max)
	s.Smin, s.Smax = int64(s.U32min), int64(s.U32max)
	s.sync()
}

// cast keeps the low size bytes, zero-extended (narrow loads and truncating byte swaps).
func (s *Scalar) cast(size int) {
	if size >= 8 {
		return
	}
	if size == 4 {
		s.zext()
		return
	}
	lim := uint64(1)<<(8*uint(size)) - 1
	if s.Umax <= lim && s.Umin>>32 == s.Umax>>32 {
		s.zext() // already fits: keep the bounds
		return
	}
	t := s.T.Cast(size)
	*s = UnknownScalar()
	s.T = t
	s.Umax = lim
	s.sync()
}

func (s Scalar) String() string {
	if v, ok := s.Const(); ok {
		if int64(v) < 0 && int64(v) > -1<<20 {
			return fmt.Sprintf("%d", int64(v))
		}
		return fmt.Sprintf("%#x", v)
	}
	var b strings.Builder
	b.WriteString("scalar(")
	sep := ""
	add := func(format string, args ...any) {
		b.WriteString(sep)
		fmt.Fprintf(&b, format, args...)
		sep = ","
	}
	if s.Umin != 0 {
		add("umin=%#x", s.Umin)
	}
	if s.Umax != math.MaxUint64 {
		add("umax=%#x", s.Umax)
	}
	if s.Smin != math.MinInt64 && int64(s.Umin) != s.Smin {
		add("smin=%d", s.Smin)
	}
	if s.Smax != math.MaxInt64 && int64(s.Umax) != s.Smax {
		add("smax=%d", s.Smax)
	}
	if s.U32min != 0 && uint64(s.U32min) != s.Umin {
		add("umin32=%#x", s.U32min)
	}
	if s.U32max != math.MaxUint32 && uint64(s.U32max) != s.Umax {
		add("umax32=%#x", s.U32max)
	}
	if s.S32min != math.MinInt32 && int64(s.S32min) != s.Smin {
		add("smin32=%d", s.S32min)
	}
	if s.S32max != math.MaxInt32 && int64(s.S32max) != s.Smax {
		add("smax32=%d", s.S32max)
	}
	if s.LenOK {
		add("len-%d", s.LenSlack)
	}
	if !s.T.IsUnknown() && !(s.T.Value == 0 && bits.LeadingZeros64(s.T.Mask) > 0 && s.T.Mask == s.T.Max() && TnumRange(s.Umin, s.Umax) == s.T) {
		add("var_off=%v", s.T)
	}
	b.WriteString(")")
	return b.String()
}
