package arm64

import (
	"fmt"
	"math/bits"
)

// AddSubOp selects add, adds, sub or subs. Its value is the op:S bit pair.
type AddSubOp uint8

const (
	ADD AddSubOp = iota
	ADDS
	SUB
	SUBS
)

var addSubNames = [4]string{"add", "adds", "sub", "subs"}

func (o AddSubOp) String() string {
	if o < 4 {
		return addSubNames[o]
	}
	return fmt.Sprintf("AddSubOp(%d)", uint8(o))
}

const (
	addSubImmBase   = 0x11000000 // sf op S 100010 sh imm12 Rn Rd
	addSubShiftBase = 0x0b000000 // sf op S 01011 shift 0 Rm imm6 Rn Rd
)

func (o AddSubOp) bits() uint32 { return uint32(o) << 29 }

// AddSubImm encodes add/adds/sub/subs (immediate): rd = rn op imm. imm must be
// an unsigned 12-bit value, optionally shifted left by 12 (imm = x<<12, x < 4096).
// Rn may be SP; Rd may be SP for the non-flag-setting forms and XZR for the
// flag-setting ones (cmp/cmn).
func AddSubImm(op AddSubOp, w Width, rd, rn Reg, imm uint64) (Inst, error) {
	// Valid operands (all of a lowering's) skip the checks below, which name the problem;
	// SP operands take the checked path.
	if op <= SUBS && w <= W64 && rn <= X30 && (rd <= X30 || rd == XZR && (op == ADDS || op == SUBS)) {
		if i, ok := addSubImm(op, w, uint32(rd)&31, uint32(rn), imm); ok {
			return i, nil
		}
	}
	if op > SUBS {
		return 0, &EncodeError{Op: "add/sub", Reason: fmt.Sprintf("invalid op %v", op)}
	}
	name := op.String()
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	var d uint32
	var err error
	if op == ADDS || op == SUBS {
		d, err = rz(name, rd)
	} else {
		d, err = rsp(name, rd)
	}
	if err != nil {
		return 0, err
	}
	n, err := rsp(name, rn)
	if err != nil {
		return 0, err
	}
	i, ok := addSubImm(op, w, d, n, imm)
	if !ok {
		return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("immediate %#x is not imm12 or imm12<<12", imm)}
	}
	return i, nil
}

// addSubImm is AddSubImm for valid operands (d and n are register fields); it reports
// false when imm fits neither imm12 nor imm12<<12.
func addSubImm(op AddSubOp, w Width, d, n uint32, imm uint64) (Inst, bool) {
	var sh uint32
	switch {
	case imm < 1<<12:
	case imm&0xfff == 0 && imm < 1<<24:
		sh, imm = 1, imm>>12
	default:
		return 0, false
	}
	return Inst(uint32(w)<<31 | op.bits() | addSubImmBase | sh<<22 | uint32(imm)<<10 | n<<5 | d), true
}

// AddSubImmOK reports whether imm fits the add/sub immediate form.
func AddSubImmOK(imm uint64) bool {
	return imm < 1<<12 || (imm&0xfff == 0 && imm < 1<<24)
}

// AddSubShifted encodes add/adds/sub/subs (shifted register):
// rd = rn op (rm shift amount). Register 31 is XZR in every slot. ROR is not
// allowed; amount must be below the width.
func AddSubShifted(op AddSubOp, w Width, rd, rn, rm Reg, sh Shift, amount uint8) (Inst, error) {
	// Valid operands (all of a lowering's) skip the checks below, which name the problem.
	if op <= SUBS && w <= W64 && sh <= ASR && uint(amount) < w.bits() && rd <= XZR && rn <= XZR && rm <= XZR {
		return addSubShifted(op, w, uint32(rd), uint32(rn), uint32(rm), sh, amount), nil
	}
	if op > SUBS {
		return 0, &EncodeError{Op: "add/sub", Reason: fmt.Sprintf("invalid op %v", op)}
	}
	name := op.String()
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	if sh > ASR {
		return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("shift %v not allowed", sh)}
	}
	if uint(amount) >= w.bits() {
		return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("shift amount %d too large for %v", amount, w)}
	}
	d, n, m, err := rrr(name, rd, rn, rm)
	if err != nil {
		return 0, err
	}
	return addSubShifted(op, w, d, n, m, sh, amount), nil
}

// addSubShifted is AddSubShifted for valid operands (register fields).
func addSubShifted(op AddSubOp, w Width, d, n, m uint32, sh Shift, amount uint8) Inst {
	return Inst(uint32(w)<<31 | op.bits() | addSubShiftBase | uint32(sh)<<22 | m<<16 | uint32(amount)<<10 | n<<5 | d)
}

// AddSubReg is AddSubShifted without a shift: rd = rn op rm.
func AddSubReg(op AddSubOp, w Width, rd, rn, rm Reg) (Inst, error) {
	return AddSubShifted(op, w, rd, rn, rm, LSL, 0)
}

// CmpImm encodes cmp rn, #imm (subs xzr, rn, #imm).
func CmpImm(w Width, rn Reg, imm uint64) (Inst, error) { return AddSubImm(SUBS, w, XZR, rn, imm) }

// CmnImm encodes cmn rn, #imm (adds xzr, rn, #imm).
func CmnImm(w Width, rn Reg, imm uint64) (Inst, error) { return AddSubImm(ADDS, w, XZR, rn, imm) }

// CmpReg encodes cmp rn, rm (subs xzr, rn, rm).
func CmpReg(w Width, rn, rm Reg) (Inst, error) { return AddSubReg(SUBS, w, XZR, rn, rm) }

// CmnReg encodes cmn rn, rm (adds xzr, rn, rm).
func CmnReg(w Width, rn, rm Reg) (Inst, error) { return AddSubReg(ADDS, w, XZR, rn, rm) }

// Neg encodes neg rd, rm (sub rd, xzr, rm).
func Neg(w Width, rd, rm Reg) (Inst, error) { return AddSubReg(SUB, w, rd, XZR, rm) }

func rrr(op string, rd, rn, rm Reg) (d, n, m uint32, err error) {
	if d, err = rz(op, rd); err != nil {
		return
	}
	if n, err = rz(op, rn); err != nil {
		return
	}
	m, err = rz(op, rm)
	return
}

// LogicOp selects a logical instruction. The value is opc<<1 | N: the N bit
// (invert the register operand) gives bic/orn/eon/bics, which have no immediate
// form.
type LogicOp uint8

const (
	AND LogicOp = iota
	BIC
	ORR
	ORN
	EOR
	EON
	ANDS
	BICS
)

var logicNames = [8]string{"and", "bic", "orr", "orn", "eor", "eon", "ands", "bics"}

func (o LogicOp) String() string {
	if o < 8 {
		return logicNames[o]
	}
	return fmt.Sprintf("LogicOp(%d)", uint8(o))
}

const (
	logicShiftBase = 0x0a000000 // sf opc 01010 shift N Rm imm6 Rn Rd
	logicImmBase   = 0x12000000 // sf opc 100100 N immr imms Rn Rd
)

// LogicShifted encodes and/bic/orr/orn/eor/eon/ands/bics (shifted register):
// rd = rn op (rm shift amount). Register 31 is XZR in every slot.
func LogicShifted(op LogicOp, w Width, rd, rn, rm Reg, sh Shift, amount uint8) (Inst, error) {
	// Valid operands (all of a lowering's) skip the checks below, which name the problem.
	if op <= BICS && w <= W64 && sh <= ROR && uint(amount) < w.bits() && rd <= XZR && rn <= XZR && rm <= XZR {
		return logicShifted(op, w, uint32(rd), uint32(rn), uint32(rm), sh, amount), nil
	}
	if op > BICS {
		return 0, &EncodeError{Op: "logical", Reason: fmt.Sprintf("invalid op %v", op)}
	}
	name := op.String()
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	if sh > ROR {
		return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("invalid shift %v", sh)}
	}
	if uint(amount) >= w.bits() {
		return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("shift amount %d too large for %v", amount, w)}
	}
	d, n, m, err := rrr(name, rd, rn, rm)
	if err != nil {
		return 0, err
	}
	return logicShifted(op, w, d, n, m, sh, amount), nil
}

// logicShifted is LogicShifted for valid operands (register fields).
func logicShifted(op LogicOp, w Width, d, n, m uint32, sh Shift, amount uint8) Inst {
	opc, inv := uint32(op>>1), uint32(op&1)
	return Inst(uint32(w)<<31 | opc<<29 | logicShiftBase | uint32(sh)<<22 | inv<<21 | m<<16 | uint32(amount)<<10 | n<<5 | d)
}

// LogicReg is LogicShifted without a shift: rd = rn op rm.
func LogicReg(op LogicOp, w Width, rd, rn, rm Reg) (Inst, error) {
	return LogicShifted(op, w, rd, rn, rm, LSL, 0)
}

// LogicImm encodes and/orr/eor/ands (immediate): rd = rn op imm, where imm must
// be a bitmask immediate (see EncodeBitmask). Rn may be XZR; Rd may be SP for
// and/orr/eor and XZR for ands (tst).
func LogicImm(op LogicOp, w Width, rd, rn Reg, imm uint64) (Inst, error) {
	if op > BICS || op&1 != 0 {
		return 0, &EncodeError{Op: "logical", Reason: fmt.Sprintf("op %v has no immediate form", op)}
	}
	name := op.String()
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	var d uint32
	var err error
	if op == ANDS {
		d, err = rz(name, rd)
	} else {
		d, err = rsp(name, rd)
	}
	if err != nil {
		return 0, err
	}
	n, err := rz(name, rn)
	if err != nil {
		return 0, err
	}
	i, ok := logicImm(op, w, d, n, imm)
	if !ok {
		return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("%#x is not a %d-bit bitmask immediate", imm, w.bits())}
	}
	return i, nil
}

// logicImm is LogicImm for valid operands (op and/orr/eor/ands; d and n are register
// fields); it reports false when imm is not a bitmask immediate for w.
func logicImm(op LogicOp, w Width, d, n uint32, imm uint64) (Inst, bool) {
	bn, immr, imms, ok := EncodeBitmask(w, imm)
	if !ok {
		return 0, false
	}
	return Inst(uint32(w)<<31 | uint32(op>>1)<<29 | logicImmBase | bn<<22 | immr<<16 | imms<<10 | n<<5 | d), true
}

// TstImm encodes tst rn, #imm (ands xzr, rn, #imm).
func TstImm(w Width, rn Reg, imm uint64) (Inst, error) { return LogicImm(ANDS, w, XZR, rn, imm) }

// TstReg encodes tst rn, rm (ands xzr, rn, rm).
func TstReg(w Width, rn, rm Reg) (Inst, error) { return LogicReg(ANDS, w, XZR, rn, rm) }

// Mvn encodes mvn rd, rm (orn rd, xzr, rm).
func Mvn(w Width, rd, rm Reg) (Inst, error) { return LogicReg(ORN, w, rd, XZR, rm) }

// Mov encodes a register move. Between general registers it is orr rd, xzr, rm;
// when either side is SP it is add rd, rn, #0 (the only move that reads or writes
// SP). A 32-bit move zero-extends into the upper half.
func Mov(w Width, rd, rm Reg) (Inst, error) {
	if rd == SP || rm == SP {
		return AddSubImm(ADD, w, rd, rm, 0)
	}
	return LogicReg(ORR, w, rd, XZR, rm)
}

// MoveWideOp selects movn, movz or movk. Its value is the opc field.
type MoveWideOp uint8

const (
	MOVN MoveWideOp = 0
	MOVZ MoveWideOp = 2
	MOVK MoveWideOp = 3
)

func (o MoveWideOp) String() string {
	switch o {
	case MOVN:
		return "movn"
	case MOVZ:
		return "movz"
	case MOVK:
		return "movk"
	}
	return fmt.Sprintf("MoveWideOp(%d)", uint8(o))
}

const moveWideBase = 0x12800000 // sf opc 100101 hw imm16 Rd

// MoveWide encodes movn/movz/movk rd, #imm16, lsl #(16*hw). hw must be 0 or 1
// for W32 and 0–3 for W64.
func MoveWide(op MoveWideOp, w Width, rd Reg, imm16 uint16, hw uint8) (Inst, error) {
	if op != MOVN && op != MOVZ && op != MOVK {
		return 0, &EncodeError{Op: "move wide", Reason: fmt.Sprintf("invalid op %v", op)}
	}
	name := op.String()
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	if uint(hw)*16 >= w.bits() {
		return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("shift lsl #%d too large for %v", 16*uint(hw), w)}
	}
	d, err := rz(name, rd)
	if err != nil {
		return 0, err
	}
	return moveWide(op, w, d, imm16, hw), nil
}

// moveWide is MoveWide for operands already known to be valid (d is the 5-bit field).
func moveWide(op MoveWideOp, w Width, d uint32, imm16 uint16, hw uint8) Inst {
	return Inst(uint32(w)<<31 | uint32(op)<<29 | moveWideBase | uint32(hw)<<21 | uint32(imm16)<<5 | d)
}

// MovImm returns the shortest sequence this encoder knows that sets rd to v
// (W64) or to the low 32 bits of v with the upper half zeroed (W32; v must fit in
// 32 bits). Candidates, shortest wins, ties prefer the earlier:
//   - movz or movn plus one movk per halfword that differs from the background
//     (0x0000 for movz, 0xffff for movn);
//   - orr rd, xzr, #bitmask when v is a bitmask immediate;
//   - orr with a bitmask immediate followed by movk of the halfwords where v
//     differs from that pattern (W64 only).
//
// The result never exceeds four instructions. rd must be x0–x30.
func MovImm(w Width, rd Reg, v uint64) (Seq, error) {
	if err := checkWidth("mov", w); err != nil {
		return Seq{}, err
	}
	if rd > X30 {
		return Seq{}, &EncodeError{Op: "mov", Reason: fmt.Sprintf("register %v not allowed (want x0-x30)", rd)}
	}
	if w == W32 && v>>32 != 0 {
		return Seq{}, &EncodeError{Op: "mov", Reason: fmt.Sprintf("immediate %#x does not fit 32 bits", v)}
	}
	var s Seq
	s.n = uint8(movImm(&s.insts, w, uint32(rd), v))
	return s, nil
}

// movImm is MovImm for a valid width, register field d and value: it writes the
// sequence to out and returns its length.
func movImm(out *[4]Inst, w Width, d uint32, v uint64) int {
	if i, ok := movImm1(w, d, v); ok {
		out[0] = i
		return 1
	}
	if hi := v >> 32; w == W32 || hi == 0 || hi == 0xffffffff {
		return movImm32(out, w, d, v)
	}
	// Masks with bit 16k set for each halfword k of v that needs a movk over a movz
	// (nonzero) or over a movn (not 0xffff) background.
	nz, nn := halfMask(v), halfMask(^v)
	zeros, ones := 4-bits.OnesCount64(nz), 4-bits.OnesCount64(nn)
	wide := 4 - max(zeros, ones)
	if wide > 1 && bitmaskCandidate(v) {
		if i, ok := logicImm(ORR, W64, d, 31, v); ok {
			out[0] = i
			return 1
		}
	}
	n := 0 // the sequences below are at most four instructions (n&3 spares bounds checks)
	if wide > 2 {
		if pat, ok := bitmaskNear(v, wide-1); ok {
			out[0], _ = logicImm(ORR, W64, d, 31, pat)
			n = 1
			for m := halfMask(v ^ pat); m != 0; m &= m - 1 {
				h := uint8(bits.TrailingZeros64(m) / 16)
				out[n&3] = moveWide(MOVK, W64, d, uint16(v>>(16*h)), h)
				n++
			}
			return n
		}
	}
	// movz/movn + movk: choose the background that leaves fewer halfwords to set. v is
	// neither 0 nor all-ones here (movImm1).
	op, m, inv := MOVZ, nz, uint16(0)
	if ones > zeros {
		op, m, inv = MOVN, nn, 0xffff
	}
	if m == 0x0001000100010001 { // every halfword (most 64-bit constants): no search
		out[0] = moveWide(op, W64, d, uint16(v)^inv, 0)
		out[1] = moveWide(MOVK, W64, d, uint16(v>>16), 1)
		out[2] = moveWide(MOVK, W64, d, uint16(v>>32), 2)
		out[3] = moveWide(MOVK, W64, d, uint16(v>>48), 3)
		return 4
	}
	for ; m != 0; m &= m - 1 {
		h := uint8(bits.TrailingZeros64(m) / 16)
		out[n&3] = moveWide(op, W64, d, uint16(v>>(16*h))^inv, h)
		n++
		op, inv = MOVK, 0
	}
	return n
}

// movImm32 is movImm for the constants whose upper half the first instruction sets
// without help: every W32 constant, and W64 constants zero- or sign-extended from 32
// bits (movz leaves zeros, movn ones). Only the low two halfwords can then need an
// instruction, so the search reduces to a few comparisons: one movz or movn when one
// halfword already matches the background, one orr for a bitmask, else movz or movn
// and a movk. These are the choices the general search makes; the caller has handled
// the one-instruction constants of movImm1 (so the upper halfword is never the
// background).
func movImm32(out *[4]Inst, w Width, d uint32, v uint64) int {
	h0, h1 := uint16(v), uint16(v>>16)
	op, bg := MOVZ, uint16(0)
	if w == W64 && v>>32 != 0 {
		op, bg = MOVN, 0xffff
	}
	switch {
	case h0 == bg: // only the upper halfword to set
		out[0] = moveWide(op, w, d, h1^bg, 1)
		return 1
	case w == W32 && h0 == 0xffff: // movn sets the low halfword's ones
		out[0] = moveWide(MOVN, w, d, ^h1, 1)
		return 1
	}
	// A W64 bitmask here is one run of ones (or of zeros, under a movn background):
	// replicated elements would reach into the upper half. A W32 one with two different
	// halfwords has a 32-bit element: one rotated run. Only then ask the encoder.
	if run := v ^ -uint64(bg&1); (w == W32 && (h0 == h1 || oneRun32(uint32(v)))) || (w == W64 && run&(run+(run&-run)) == 0) {
		if i, ok := logicImm(ORR, w, d, 31, v); ok {
			out[0] = i
			return 1
		}
	}
	out[0] = moveWide(op, w, d, h0^bg, 0)
	out[1] = moveWide(MOVK, w, d, h1, 1)
	return 2
}

// movImm1 is movImm for the constants one movz or movn sets, which are most constants
// of real programs (the general search would choose the same instruction). It is small
// enough to inline.
func movImm1(w Width, d uint32, v uint64) (Inst, bool) {
	op, x := MOVZ, v
	if v >= 1<<16 {
		// movn when the ones are the background; for W32 0xffff0000 the search prefers
		// movz #0xffff, lsl #16.
		op, x = MOVN, ^v&widthMask[w&1]
		if x >= 1<<16 || (w == W32 && uint16(v) == 0) {
			return 0, false
		}
	}
	return moveWide(op, w, d, uint16(x), 0), true
}

// widthMask holds the bits each width holds.
var widthMask = [2]uint64{W32: 0xffffffff, W64: ^uint64(0)}

// MovImm64 is MovImm(W64, rd, v): the shortest sequence setting all of rd to v.
func MovImm64(rd Reg, v uint64) (Seq, error) { return MovImm(W64, rd, v) }

// bitmaskCandidate is a cheap necessary condition for v being a 64-bit bitmask
// immediate, to spare EncodeBitmask the many constants that are not: the smallest unit
// v repeats (64 or 32 bits; smaller ones are left to the encoder) holds one rotated run
// of ones, so it has exactly two edges between ones and zeros.
func bitmaskCandidate(v uint64) bool {
	lo := uint32(v)
	switch {
	case lo != uint32(v>>32):
		return bits.OnesCount64(v^bits.RotateLeft64(v, 1)) == 2
	case uint16(lo) != uint16(lo>>16):
		return bits.OnesCount32(lo^bits.RotateLeft32(lo, 1)) == 2
	}
	return true
}

// oneRun32 reports whether the 32 bits of x, read as a circle, hold exactly one run of
// ones (and one of zeros).
func oneRun32(x uint32) bool { return bits.OnesCount32(x^bits.RotateLeft32(x, 1)) == 2 }

// halfMask returns x with bit 16k set exactly when halfword k of x is not zero.
func halfMask(x uint64) uint64 {
	// Fold every bit of a halfword onto its lowest bit (the bits that land there come
	// from the same halfword).
	x |= x >> 8
	x |= x >> 4
	x |= x >> 2
	x |= x >> 1
	return x & 0x0001000100010001
}

// bitmaskNear looks for a 64-bit bitmask immediate that agrees with v in all but
// at most maxDiff-1 halfwords, so that orr plus movk beats movz/movn plus movk.
// Only candidates that can agree in enough halfwords are tested for being a bitmask:
// a halfword of v replicated (element of 16 bits or less), either 32-bit half
// replicated (32-bit element), and, when one halfword of v is the odd one out
// (maxDiff 2), v with that halfword set to 0x0000 or 0xffff (a 64-bit run). The first
// candidate with the fewest differing halfwords wins.
func bitmaskNear(v uint64, maxDiff int) (uint64, bool) {
	h0, h1, h2, h3 := v&0xffff, v>>16&0xffff, v>>32&0xffff, v>>48
	lo, hi := v&0xffffffff, v>>32
	// Most wide constants of real programs have four different halfwords: then only the
	// two 32-bit candidates below are tried (maxDiff 3), and such a candidate is a
	// bitmask only when its half is one rotated run of ones (an element of 16 bits or
	// less would repeat a halfword). Settle that before building the candidates.
	if maxDiff > 2 && h0 != h1 && h0 != h2 && h0 != h3 && h1 != h2 && h1 != h3 && h2 != h3 &&
		!oneRun32(uint32(lo)) && !oneRun32(uint32(hi)) {
		return 0, false
	}
	var cand [13]uint64
	n := 0
	// A replicated halfword agrees in enough halfwords only where it repeats (maxDiff
	// is at most 3); each value is tried at its first occurrence.
	const rep = 0x0001000100010001
	if h0 == h1 || h0 == h2 || h0 == h3 {
		cand[n], n = h0*rep, n+1
	}
	if h1 != h0 && (h1 == h2 || h1 == h3) {
		cand[n], n = h1*rep, n+1
	}
	if h2 != h0 && h2 != h1 && h2 == h3 {
		cand[n], n = h2*rep, n+1
	}
	cand[n], cand[n+1], n = lo|lo<<32, hi|hi<<32, n+2
	if maxDiff <= 2 {
		for k := uint(0); k < 64; k += 16 {
			clear := v &^ (0xffff << k)
			cand[n], cand[n+1], n = clear, clear|0xffff<<k, n+2
		}
	}
	best, bestDiff := uint64(0), maxDiff
	for _, p := range cand[:n] {
		if d := bits.OnesCount64(halfMask(v ^ p)); d < bestDiff && bitmaskCandidate(p) {
			if _, _, _, ok := EncodeBitmask(W64, p); ok {
				best, bestDiff = p, d
			}
		}
	}
	return best, bestDiff < maxDiff
}
