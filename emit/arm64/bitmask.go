package arm64

import "math/bits"

// EncodeBitmask reports whether v is a logical ("bitmask") immediate for width w
// and returns its N:immr:imms fields. A bitmask immediate is an element of 2, 4,
// 8, 16, 32 or 64 bits holding one rotated run of ones, replicated across the
// register; 0 and all-ones are not encodable. For W32, v must fit in 32 bits.
func EncodeBitmask(w Width, v uint64) (n, immr, imms uint32, ok bool) {
	switch w {
	case W32:
		if v>>32 != 0 {
			return 0, 0, 0, false
		}
		v |= v << 32 // a 32-bit pattern is a 64-bit one with element size <= 32
	case W64:
	default:
		return 0, 0, 0, false
	}
	if v == 0 || v == ^uint64(0) {
		return 0, 0, 0, false
	}
	// Smallest element size e such that v is its low e bits replicated.
	e := uint(64)
	for e > 2 {
		h := e / 2
		m := uint64(1)<<h - 1
		if v&m != (v>>h)&m {
			break
		}
		e = h
	}
	mask := ^uint64(0) >> (64 - e)
	elt := v & mask
	var ones, rot uint
	if elt&1 == 0 {
		tz := uint(bits.TrailingZeros64(elt))
		run := elt >> tz
		if run&(run+1) != 0 {
			return 0, 0, 0, false // more than one run of ones
		}
		ones = uint(bits.OnesCount64(run))
		rot = (e - tz) & (e - 1)
	} else {
		inv := ^elt & mask // the zeros form the single run when elt wraps
		to := uint(bits.TrailingZeros64(inv))
		run := inv >> to
		if run&(run+1) != 0 {
			return 0, 0, 0, false
		}
		zeros := uint(bits.OnesCount64(run))
		ones = e - zeros
		rot = (e - (to + zeros)) & (e - 1)
	}
	if e == 64 {
		n = 1
	}
	immr = uint32(rot)
	imms = uint32((^(e-1)<<1)&0x3f) | uint32(ones-1) // high bits of imms encode e
	return n, immr, imms, true                       // a W32 value replicates, so e <= 32 and n == 0
}

// DecodeBitmask is the inverse of EncodeBitmask (the Arm ARM's DecodeBitMasks for
// logical immediates). It reports false for reserved encodings and, for W32,
// encodings with N=1. Bits of immr above the element size are ignored, as the
// hardware does.
func DecodeBitmask(w Width, n, immr, imms uint32) (uint64, bool) {
	if n > 1 || immr > 63 || imms > 63 || w > W64 || (w == W32 && n == 1) {
		return 0, false
	}
	combined := n<<6 | (^imms & 0x3f)
	if combined == 0 {
		return 0, false
	}
	length := uint(bits.Len32(combined)) - 1
	if length < 1 {
		return 0, false
	}
	levels := uint32(1)<<length - 1
	s := imms & levels
	if s == levels {
		return 0, false // all-ones element is reserved
	}
	r := uint(immr & levels)
	e := uint(1) << length
	elt := uint64(1)<<(s+1) - 1
	if r != 0 {
		mask := ^uint64(0) >> (64 - e)
		elt = (elt>>r | elt<<(e-r)) & mask
	}
	v := elt
	for sz := e; sz < 64; sz *= 2 {
		v |= v << sz
	}
	if w == W32 {
		v &= 0xffffffff
	}
	return v, true
}
