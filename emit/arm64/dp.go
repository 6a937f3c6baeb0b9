package arm64

import "fmt"

// Data-processing instructions other than add/sub and logical: multiply, divide,
// variable shifts, bitfield moves (immediate shifts, extensions), byte reversal
// and conditional select.

const (
	dp3Base  = 0x1b000000 // sf 00 11011 op31 Rm o0 Ra Rn Rd
	dp2Base  = 0x1ac00000 // sf 0 0 11010110 Rm opcode Rn Rd
	dp1Base  = 0x5ac00000 // sf 1 0 11010110 00000 opcode Rn Rd
	bfmBase  = 0x13000000 // sf opc 100110 N immr imms Rn Rd
	cselBase = 0x1a800000 // sf op S 11010100 Rm cond o2 Rn Rd (o2 at bit 10)
)

// Madd encodes madd rd, rn, rm, ra: rd = ra + rn*rm.
func Madd(w Width, rd, rn, rm, ra Reg) (Inst, error) { return checkedDP3("madd", 0, w, rd, rn, rm, ra) }

// Msub encodes msub rd, rn, rm, ra: rd = ra - rn*rm (used for the remainder).
func Msub(w Width, rd, rn, rm, ra Reg) (Inst, error) { return checkedDP3("msub", 1, w, rd, rn, rm, ra) }

// Mul encodes mul rd, rn, rm (madd with ra = xzr).
func Mul(w Width, rd, rn, rm Reg) (Inst, error) { return checkedDP3("mul", 0, w, rd, rn, rm, XZR) }

func checkedDP3(name string, o0 uint32, w Width, rd, rn, rm, ra Reg) (Inst, error) {
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	d, n, m, err := rrr(name, rd, rn, rm)
	if err != nil {
		return 0, err
	}
	a, err := rz(name, ra)
	if err != nil {
		return 0, err
	}
	return dp3(o0, w, d, n, m, a), nil
}

// dp3 encodes madd (o0 0) or msub (o0 1) for valid operands (register fields).
func dp3(o0 uint32, w Width, d, n, m, a uint32) Inst {
	return Inst(uint32(w)<<31 | dp3Base | m<<16 | o0<<15 | a<<10 | n<<5 | d)
}

// DP2Op selects a two-source data-processing instruction. Its value is the
// opcode field.
type DP2Op uint8

const (
	UDIV DP2Op = 0x02
	SDIV DP2Op = 0x03
	LSLV DP2Op = 0x08
	LSRV DP2Op = 0x09
	ASRV DP2Op = 0x0a
	RORV DP2Op = 0x0b
)

// dp2Names holds the mnemonic per opcode; "" marks opcodes this package does not
// encode.
var dp2Names = [...]string{UDIV: "udiv", SDIV: "sdiv", LSLV: "lslv", LSRV: "lsrv", ASRV: "asrv", RORV: "rorv"}

func (o DP2Op) String() string {
	if int(o) < len(dp2Names) && dp2Names[o] != "" {
		return dp2Names[o]
	}
	return fmt.Sprintf("DP2Op(%d)", uint8(o))
}

// DP2 encodes udiv/sdiv/lslv/lsrv/asrv/rorv rd, rn, rm. Division by zero yields
// 0 and variable shifts take the count modulo the width, which is exactly BPF's
// rule for div and for shifts.
func DP2(op DP2Op, w Width, rd, rn, rm Reg) (Inst, error) {
	if int(op) >= len(dp2Names) || dp2Names[op] == "" {
		return 0, &EncodeError{Op: "dp2", Reason: fmt.Sprintf("invalid op %v", op)}
	}
	name := dp2Names[op]
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	d, n, m, err := rrr(name, rd, rn, rm)
	if err != nil {
		return 0, err
	}
	return dp2(op, w, d, n, m), nil
}

// dp2 is DP2 for valid operands (register fields).
func dp2(op DP2Op, w Width, d, n, m uint32) Inst {
	return Inst(uint32(w)<<31 | dp2Base | m<<16 | uint32(op)<<10 | n<<5 | d)
}

// DP1Op selects a one-source data-processing instruction. Its value is the
// opcode field; REV is resolved per width (opcode 2 for W32, 3 for W64).
type DP1Op uint8

const (
	RBIT  DP1Op = 0x00
	REV16 DP1Op = 0x01
	REV32 DP1Op = 0x02 // 64-bit only: reverse bytes in each word
	REV   DP1Op = 0x03 // reverse all bytes of the register
	CLZ   DP1Op = 0x04
)

var dp1Names = [...]string{RBIT: "rbit", REV16: "rev16", REV32: "rev32", REV: "rev", CLZ: "clz"}

func (o DP1Op) String() string {
	if int(o) < len(dp1Names) {
		return dp1Names[o]
	}
	return fmt.Sprintf("DP1Op(%d)", uint8(o))
}

// DP1 encodes rbit/rev16/rev32/rev/clz rd, rn.
func DP1(op DP1Op, w Width, rd, rn Reg) (Inst, error) {
	if int(op) >= len(dp1Names) {
		return 0, &EncodeError{Op: "dp1", Reason: fmt.Sprintf("invalid op %v", op)}
	}
	name := dp1Names[op]
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	if op == REV32 && w == W32 {
		return 0, &EncodeError{Op: name, Reason: "has no 32-bit form (use rev)"}
	}
	d, err := rz(name, rd)
	if err != nil {
		return 0, err
	}
	n, err := rz(name, rn)
	if err != nil {
		return 0, err
	}
	return dp1(op, w, d, n), nil
}

// dp1 is DP1 for valid operands (register fields; rev32 for 64 bits only).
func dp1(op DP1Op, w Width, d, n uint32) Inst {
	opc := uint32(op)
	if op == REV && w == W32 {
		opc = 0x02
	}
	return Inst(uint32(w)<<31 | dp1Base | opc<<10 | n<<5 | d)
}

// BitfieldOp selects sbfm, bfm or ubfm. Its value is the opc field.
type BitfieldOp uint8

const (
	SBFM BitfieldOp = 0
	BFM  BitfieldOp = 1
	UBFM BitfieldOp = 2
)

var bfmNames = [3]string{"sbfm", "bfm", "ubfm"}

// Bitfield encodes sbfm/bfm/ubfm rd, rn, #immr, #imms, the instructions behind
// immediate shifts and sign/zero extensions (see Lsl, Lsr, Asr, Sxt*, Uxt*).
func Bitfield(op BitfieldOp, w Width, rd, rn Reg, immr, imms uint8) (Inst, error) {
	// Valid operands (all of a lowering's) skip the checks below, which name the problem.
	if op <= UBFM && w <= W64 && uint(immr) < w.bits() && uint(imms) < w.bits() && rd <= XZR && rn <= XZR {
		return bitfield(op, w, uint32(rd)&31, uint32(rn)&31, immr, imms), nil
	}
	if op > UBFM {
		return 0, &EncodeError{Op: "bitfield", Reason: fmt.Sprintf("invalid op %d", op)}
	}
	name := bfmNames[op]
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	if uint(immr) >= w.bits() || uint(imms) >= w.bits() {
		return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("immr %d / imms %d out of range for %v", immr, imms, w)}
	}
	d, err := rz(name, rd)
	if err != nil {
		return 0, err
	}
	n, err := rz(name, rn)
	if err != nil {
		return 0, err
	}
	return bitfield(op, w, d, n, immr, imms), nil
}

// bitfield is Bitfield for valid operands (d and n are register fields).
func bitfield(op BitfieldOp, w Width, d, n uint32, immr, imms uint8) Inst {
	return Inst(uint32(w)<<31 | uint32(op)<<29 | bfmBase | uint32(w)<<22 | uint32(immr)<<16 | uint32(imms)<<10 | n<<5 | d)
}

// checkedShift checks the operands of an immediate shift and encodes it (see immShift).
func checkedShift(name string, op DP2Op, w Width, rd, rn Reg, sh uint8) (Inst, error) {
	if err := shiftAmount(name, w, sh); err != nil {
		return 0, err
	}
	d, err := rz(name, rd)
	if err != nil {
		return 0, err
	}
	n, err := rz(name, rn)
	if err != nil {
		return 0, err
	}
	return immShift(op, w, d, n, sh), nil
}

// immShift encodes d = n shifted by the constant sh (below the width) as the
// bitfield move behind lsl, lsr and asr; op (LSLV, LSRV or ASRV) names the shift.
func immShift(op DP2Op, w Width, d, n uint32, sh uint8) Inst {
	top := uint8(31) | uint8(w)<<5 // width-1
	immr, imms := sh, top          // lsr, asr: ubfm/sbfm d, n, #sh, #(width-1)
	if op == LSLV {                // lsl: ubfm d, n, #(-sh mod width), #(width-1-sh)
		immr, imms = -sh&top, top-sh
	}
	return bitfield(shiftBitfield[op&15], w, d, n, immr, imms)
}

// shiftBitfield is the bitfield move behind each immediate shift (by its DP2Op).
var shiftBitfield = [16]BitfieldOp{LSLV: UBFM, LSRV: UBFM, ASRV: SBFM}

func shiftAmount(name string, w Width, sh uint8) error {
	if err := checkWidth(name, w); err != nil {
		return err
	}
	if uint(sh) >= w.bits() {
		return &EncodeError{Op: name, Reason: fmt.Sprintf("shift %d out of range for %v", sh, w)}
	}
	return nil
}

// LslImm encodes lsl rd, rn, #sh (ubfm rd, rn, #(-sh mod width), #(width-1-sh)).
func LslImm(w Width, rd, rn Reg, sh uint8) (Inst, error) {
	return checkedShift("lsl", LSLV, w, rd, rn, sh)
}

// LsrImm encodes lsr rd, rn, #sh (ubfm rd, rn, #sh, #(width-1)).
func LsrImm(w Width, rd, rn Reg, sh uint8) (Inst, error) {
	return checkedShift("lsr", LSRV, w, rd, rn, sh)
}

// AsrImm encodes asr rd, rn, #sh (sbfm rd, rn, #sh, #(width-1)).
func AsrImm(w Width, rd, rn Reg, sh uint8) (Inst, error) {
	return checkedShift("asr", ASRV, w, rd, rn, sh)
}

// Sxtb encodes sxtb rd, wn: sign-extend the low byte to the width w.
func Sxtb(w Width, rd, rn Reg) (Inst, error) { return Bitfield(SBFM, w, rd, rn, 0, 7) }

// Sxth encodes sxth rd, wn: sign-extend the low halfword to the width w.
func Sxth(w Width, rd, rn Reg) (Inst, error) { return Bitfield(SBFM, w, rd, rn, 0, 15) }

// Sxtw encodes sxtw xd, wn: sign-extend the low word to 64 bits.
func Sxtw(rd, rn Reg) (Inst, error) { return Bitfield(SBFM, W64, rd, rn, 0, 31) }

// Uxtb encodes uxtb wd, wn: zero-extend the low byte (to 64 bits, as every
// 32-bit write clears the upper half).
func Uxtb(rd, rn Reg) (Inst, error) { return Bitfield(UBFM, W32, rd, rn, 0, 7) }

// Uxth encodes uxth wd, wn: zero-extend the low halfword to 64 bits.
func Uxth(rd, rn Reg) (Inst, error) { return Bitfield(UBFM, W32, rd, rn, 0, 15) }

// CondSelect encodes csel rd, rn, rm, cond (rd = cond ? rn : rm), or csinc when
// inc is set (rd = cond ? rn : rm+1).
func CondSelect(inc bool, w Width, rd, rn, rm Reg, c Cond) (Inst, error) {
	name := "csel"
	var o2 uint32
	if inc {
		name, o2 = "csinc", 1
	}
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	if c > NV {
		return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("invalid condition %v", c)}
	}
	d, n, m, err := rrr(name, rd, rn, rm)
	if err != nil {
		return 0, err
	}
	return Inst(uint32(w)<<31 | cselBase | m<<16 | uint32(c)<<12 | o2<<10 | n<<5 | d), nil
}

// Csel encodes csel rd, rn, rm, cond.
func Csel(w Width, rd, rn, rm Reg, c Cond) (Inst, error) { return CondSelect(false, w, rd, rn, rm, c) }

// Csinc encodes csinc rd, rn, rm, cond.
func Csinc(w Width, rd, rn, rm Reg, c Cond) (Inst, error) { return CondSelect(true, w, rd, rn, rm, c) }

// Cset encodes cset rd, cond (csinc rd, xzr, xzr, invert(cond)): rd = cond ? 1 : 0.
func Cset(w Width, rd Reg, c Cond) (Inst, error) {
	if c >= AL {
		return 0, &EncodeError{Op: "cset", Reason: fmt.Sprintf("condition %v has no inverse", c)}
	}
	return CondSelect(true, w, rd, XZR, XZR, c.Invert())
}
