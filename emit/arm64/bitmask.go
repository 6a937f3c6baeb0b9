package arm64

import "math/bits"

// EncodeBitmask reports whether v is a logical ("bitmask") immediate for width w
// and returns its N:immr:imms fields. A bitmask immediate is an element of 2, 4,
// 8, 16, 32 or 64 bits holding one rotated run of ones, replicated across the
// register; 0 and all-ones are not encodable. For W32, v must fit in 32 bits.
//
// It runs in constant time (the lowering asks it for many immediates): rotate v so
// that a run of ones starts at bit 0 and a zero ends at bit 63; the trailing ones
// and leading zeros of that rotation then span exactly one element when v is a
// bitmask, which holds exactly when v repeats with that span as its period.
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
	// v&(v+1) clears v's trailing ones, so its lowest set bit starts a run that has a
	// zero below it (64 when v is one run starting at bit 0: no rotation needed).
	rot := uint(bits.TrailingZeros64(v&(v+1))) & 63
	u := bits.RotateLeft64(v, -int(rot))
	ones := uint(bits.TrailingZeros64(^u))
	e := ones + uint(bits.LeadingZeros64(u))
	// A period of e forces a power of two (the rotation is by e modulo 64) with one
	// run in the element, since the ones and zeros counted above fill it.
	if bits.RotateLeft64(v, -int(e&63)) != v {
		return 0, 0, 0, false
	}
	if e == 64 {
		n = 1
	}
	immr = uint32(-rot & (e - 1))                    // the element is its low run rotated right by immr
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
