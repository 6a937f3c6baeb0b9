package verifier

import (
	"fmt"
	"math/bits"
)

// Tnum is a tristate number: every bit is known 0, known 1 or unknown. A bit set in Mask is
// unknown; the bits of Value under Mask are always 0. It is the abstract domain the kernel
// verifier uses for bit-level facts (Vishwanathan et al., "Sound, Precise, and Fast Abstract
// Interpretation with Tristate Numbers", CGO 2022).
type Tnum struct {
	Value, Mask uint64
}

// TnumConst is the tnum of exactly v.
func TnumConst(v uint64) Tnum { return Tnum{Value: v} }

// TnumUnknown has every bit unknown.
var TnumUnknown = Tnum{Mask: ^uint64(0)}

// TnumRange is the smallest tnum holding every value of [min, max].
func TnumRange(min, max uint64) Tnum {
	if min > max {
		return TnumUnknown
	}
	chi := min ^ max
	n := bits.Len64(chi) // bits that can differ
	if n > 63 {
		return TnumUnknown
	}
	delta := uint64(1)<<n - 1
	return Tnum{Value: min &^ delta, Mask: delta}
}

// IsConst reports whether every bit is known.
func (t Tnum) IsConst() bool { return t.Mask == 0 }

// IsUnknown reports whether no bit is known.
func (t Tnum) IsUnknown() bool { return t.Mask == ^uint64(0) }

// Min and Max are the smallest and largest unsigned values t can hold.
func (t Tnum) Min() uint64 { return t.Value }
func (t Tnum) Max() uint64 { return t.Value | t.Mask }

// Contains reports whether v is one of the values t can hold.
func (t Tnum) Contains(v uint64) bool { return v&^t.Mask == t.Value }

// In reports whether every value of b is a value of t (t is at least as general as b).
func (t Tnum) In(b Tnum) bool {
	if b.Mask&^t.Mask != 0 {
		return false
	}
	return b.Value&^t.Mask == t.Value
}

func (t Tnum) Add(b Tnum) Tnum {
	sm := t.Mask + b.Mask
	sv := t.Value + b.Value
	sigma := sm + sv
	chi := sigma ^ sv
	mu := chi | t.Mask | b.Mask
	return Tnum{Value: sv &^ mu, Mask: mu}
}

func (t Tnum) Sub(b Tnum) Tnum {
	dv := t.Value - b.Value
	alpha := dv + t.Mask
	beta := dv - b.Mask
	chi := alpha ^ beta
	mu := chi | t.Mask | b.Mask
	return Tnum{Value: dv &^ mu, Mask: mu}
}

func (t Tnum) And(b Tnum) Tnum {
	alpha := t.Value | t.Mask
	beta := b.Value | b.Mask
	v := t.Value & b.Value
	return Tnum{Value: v, Mask: alpha & beta &^ v}
}

func (t Tnum) Or(b Tnum) Tnum {
	v := t.Value | b.Value
	mu := t.Mask | b.Mask
	return Tnum{Value: v, Mask: mu &^ v}
}

func (t Tnum) Xor(b Tnum) Tnum {
	v := t.Value ^ b.Value
	mu := t.Mask | b.Mask
	return Tnum{Value: v &^ mu, Mask: mu}
}

// Mul multiplies by long multiplication over the known and unknown parts of t.
func (t Tnum) Mul(b Tnum) Tnum {
	if t.IsUnknown() || b.IsUnknown() {
		// Only the factors' trailing zeros survive: a multiple of 2^i times a multiple of
		// 2^j is a multiple of 2^(i+j).
		z := bits.TrailingZeros64(t.Value|t.Mask) + bits.TrailingZeros64(b.Value|b.Mask)
		if z >= 64 {
			return TnumConst(0)
		}
		return Tnum{Mask: ^uint64(0) << z}
	}
	accV := t.Value * b.Value
	accM := Tnum{}
	a := t
	for a.Value != 0 || a.Mask != 0 {
		if a.Value&1 != 0 {
			accM = accM.Add(Tnum{Mask: b.Mask})
		} else if a.Mask&1 != 0 {
			accM = accM.Add(Tnum{Mask: b.Value | b.Mask})
		}
		a = a.Rsh(1)
		b = b.Lsh(1)
	}
	return TnumConst(accV).Add(accM)
}

func (t Tnum) Lsh(n uint) Tnum { return Tnum{Value: t.Value << n, Mask: t.Mask << n} }
func (t Tnum) Rsh(n uint) Tnum { return Tnum{Value: t.Value >> n, Mask: t.Mask >> n} }

// Arsh shifts right arithmetically at width 32 or 64; the result of a 32-bit shift is
// zero-extended.
func (t Tnum) Arsh(n uint, width int) Tnum {
	if width == 32 {
		return Tnum{
			Value: uint64(uint32(int32(uint32(t.Value)) >> n)),
			Mask:  uint64(uint32(int32(uint32(t.Mask)) >> n)),
		}
	}
	return Tnum{Value: uint64(int64(t.Value) >> n), Mask: uint64(int64(t.Mask) >> n)}
}

// Intersect combines two facts about the same value.
func (t Tnum) Intersect(b Tnum) Tnum {
	v := t.Value | b.Value
	mu := t.Mask & b.Mask
	return Tnum{Value: v &^ mu, Mask: mu}
}

// meets reports whether t and b agree on every bit both know: some value may satisfy both.
func (t Tnum) meets(b Tnum) bool { return (t.Value^b.Value)&^(t.Mask|b.Mask) == 0 }

// Union is the smallest tnum holding every value of t and of b.
func (t Tnum) Union(b Tnum) Tnum {
	mu := t.Mask | b.Mask | (t.Value ^ b.Value)
	return Tnum{Value: t.Value &^ mu, Mask: mu}
}

// Cast keeps the low size bytes.
func (t Tnum) Cast(size int) Tnum {
	if size >= 8 {
		return t
	}
	m := uint64(1)<<(8*uint(size)) - 1
	return Tnum{Value: t.Value & m, Mask: t.Mask & m}
}

// Subreg is the low 32 bits, zero-extended.
func (t Tnum) Subreg() Tnum { return t.Cast(4) }

// ClearSubreg keeps only the high 32 bits.
func (t Tnum) ClearSubreg() Tnum { return t.Rsh(32).Lsh(32) }

// WithSubreg replaces the low 32 bits of t with those of s.
func (t Tnum) WithSubreg(s Tnum) Tnum { return t.ClearSubreg().Or(s.Subreg()) }

func (t Tnum) String() string {
	if t.IsConst() {
		return fmt.Sprintf("%#x", t.Value)
	}
	return fmt.Sprintf("(%#x; %#x)", t.Value, t.Mask)
}
