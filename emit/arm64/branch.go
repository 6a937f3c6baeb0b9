package arm64

import "fmt"

// Branch reach, in bytes from the branch instruction.
const (
	BCondMin = -1 << 20  // b.cond, cbz, cbnz, adr, ldr (literal): imm19 words (adr: imm21 bytes)
	BCondMax = 1<<20 - 4 //
	BMin     = -1 << 27  // b, bl: imm26 words
	BMax     = 1<<27 - 4 //
	TBMin    = -1 << 15  // tbz, tbnz: imm14 words
	TBMax    = 1<<15 - 4 //
	ADRMax   = 1<<20 - 1 // adr reaches any byte in [BCondMin, ADRMax]
)

const (
	bBase     = 0x14000000 // 000101 imm26
	blBase    = 0x94000000 // 100101 imm26
	bcondBase = 0x54000000 // 0101010 0 imm19 0 cond
	cbzBase   = 0x34000000 // sf 011010 0 imm19 Rt
	cbnzBase  = 0x35000000
	tbzBase   = 0x36000000 // b5 011011 0 b40 imm14 Rt
	tbnzBase  = 0x37000000
	adrBase   = 0x10000000 // 0 immlo 10000 immhi Rd
	ldrLitX   = 0x58000000 // 01 011 0 00 imm19 Rt
	brBase    = 0xd61f0000 // Rn<<5
	blrBase   = 0xd63f0000
	retBase   = 0xd65f0000
)

func branchOff(op string, off, lo, hi int64) (uint32, error) {
	if off%4 != 0 || off < lo || off > hi {
		return 0, &BranchRangeError{Op: op, Offset: off, Min: lo, Max: hi}
	}
	return uint32(off >> 2), nil
}

// BCondOK reports whether a b.cond, cbz or cbnz can reach the byte offset off.
func BCondOK(off int64) bool { return off%4 == 0 && off >= BCondMin && off <= BCondMax }

// BOK reports whether a b or bl can reach the byte offset off.
func BOK(off int64) bool { return off%4 == 0 && off >= BMin && off <= BMax }

// B encodes b .+off.
func B(off int64) (Inst, error) {
	if _, err := branchOff("b", off, BMin, BMax); err != nil {
		return bBase, err
	}
	return b26(bBase, off), nil
}

// BL encodes bl .+off (x30 receives the return address).
func BL(off int64) (Inst, error) {
	if _, err := branchOff("bl", off, BMin, BMax); err != nil {
		return blBase, err
	}
	return b26(blBase, off), nil
}

// BCond encodes b.cond .+off.
func BCond(c Cond, off int64) (Inst, error) {
	if c > NV {
		return 0, &EncodeError{Op: "b.cond", Reason: fmt.Sprintf("invalid condition %v", c)}
	}
	if _, err := branchOff("b.cond", off, BCondMin, BCondMax); err != nil {
		return Inst(bcondBase | uint32(c)), err
	}
	return bcond(c, off), nil
}

// bcond is BCond for a valid condition and an offset known to be in reach (a short
// jump inside one lowered sequence).
func bcond(c Cond, off int64) Inst { return Inst(bcondBase | (uint32(off>>2)&0x7ffff)<<5 | uint32(c)) }

// Cbz encodes cbz rt, .+off (cbnz when nonzero is set).
func Cbz(nonzero bool, w Width, rt Reg, off int64) (Inst, error) {
	name := "cbz"
	if nonzero {
		name = "cbnz"
	}
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	t, err := rz(name, rt)
	if err != nil {
		return 0, err
	}
	if _, err := branchOff(name, off, BCondMin, BCondMax); err != nil {
		return cb(nonzero, w, t, 0), err
	}
	return cb(nonzero, w, t, off), nil
}

// cb is Cbz for a register field and an offset known to be in reach.
func cb(nonzero bool, w Width, t uint32, off int64) Inst {
	base := uint32(cbzBase)
	if nonzero {
		base = cbnzBase
	}
	return Inst(uint32(w)<<31 | base | (uint32(off>>2)&0x7ffff)<<5 | t)
}

// b26 is b or bl (base) for an offset known to be in reach.
func b26(base uint32, off int64) Inst { return Inst(base | uint32(off>>2)&0x3ffffff) }

// Tbz encodes tbz rt, #bit, .+off (tbnz when nonzero is set).
func Tbz(nonzero bool, rt Reg, bit uint8, off int64) (Inst, error) {
	name, base := "tbz", uint32(tbzBase)
	if nonzero {
		name, base = "tbnz", tbnzBase
	}
	if bit > 63 {
		return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("bit %d out of range", bit)}
	}
	t, err := rz(name, rt)
	if err != nil {
		return 0, err
	}
	v, err := branchOff(name, off, TBMin, TBMax)
	return Inst(uint32(bit>>5)<<31 | base | uint32(bit&31)<<19 | (v&0x3fff)<<5 | t), err
}

// Adr encodes adr rd, .+off: rd = address of this instruction + off.
func Adr(rd Reg, off int64) (Inst, error) {
	d, err := rz("adr", rd)
	if err != nil {
		return 0, err
	}
	if off < BCondMin || off > ADRMax {
		return 0, &BranchRangeError{Op: "adr", Offset: off, Min: BCondMin, Max: ADRMax}
	}
	v := uint32(off) & 0x1fffff
	return Inst(adrBase | (v&3)<<29 | (v>>2)<<5 | d), nil
}

// LdrLiteral encodes ldr xt, .+off: a 64-bit pc-relative load (constant pools).
func LdrLiteral(rt Reg, off int64) (Inst, error) {
	t, err := rz("ldr", rt)
	if err != nil {
		return 0, err
	}
	v, err := branchOff("ldr", off, BCondMin, BCondMax)
	return Inst(ldrLitX | (v&0x7ffff)<<5 | t), err
}

func regBranch(name string, base uint32, rn Reg) (Inst, error) {
	n, err := rz(name, rn)
	if err != nil || rn == XZR {
		if err == nil {
			err = &EncodeError{Op: name, Reason: "xzr is not a branch target"}
		}
		return 0, err
	}
	return Inst(base | n<<5), nil
}

// Br encodes br xn.
func Br(rn Reg) (Inst, error) { return regBranch("br", brBase, rn) }

// Blr encodes blr xn.
func Blr(rn Reg) (Inst, error) { return regBranch("blr", blrBase, rn) }

// Ret encodes ret xn (ret x30 is the plain "ret").
func Ret(rn Reg) (Inst, error) { return regBranch("ret", retBase, rn) }

// BranchKind classifies a pc-relative instruction for SetBranchOffset.
type BranchKind uint8

const (
	NotBranch  BranchKind = iota
	KindB                 // b, bl: imm26
	KindBCond             // b.cond: imm19
	KindCB                // cbz, cbnz: imm19
	KindTB                // tbz, tbnz: imm14
	KindAdr               // adr: imm21 bytes
	KindLdrLit            // ldr (literal): imm19
)

// branchKinds is the decode table for pc-relative forms: mask, value, kind.
var branchKinds = [...]struct {
	mask, val uint32
	kind      BranchKind
	name      string
}{
	{0x7c000000, 0x14000000, KindB, "b"},
	{0xff000010, 0x54000000, KindBCond, "b.cond"},
	{0x7e000000, 0x34000000, KindCB, "cbz"},
	{0x7e000000, 0x36000000, KindTB, "tbz"},
	{0x9f000000, 0x10000000, KindAdr, "adr"},
	{0xbf000000, 0x18000000, KindLdrLit, "ldr"},
}

// Kind returns the pc-relative class of i, or NotBranch.
func (i Inst) Kind() BranchKind {
	for _, k := range branchKinds {
		if uint32(i)&k.mask == k.val {
			return k.kind
		}
	}
	return NotBranch
}

// SetBranchOffset returns i with its pc-relative offset replaced by off bytes.
// i must be b, bl, b.cond, cbz, cbnz, tbz, tbnz, adr or ldr (literal). The error
// is a *BranchRangeError when off is out of reach, so the caller can fall back to
// a longer form.
func SetBranchOffset(i Inst, off int64) (Inst, error) {
	w := uint32(i)
	for _, k := range branchKinds {
		if w&k.mask != k.val {
			continue
		}
		switch k.kind {
		case KindB:
			v, err := branchOff(k.name, off, BMin, BMax)
			if err != nil {
				return i, err
			}
			return Inst(w&^0x3ffffff | v&0x3ffffff), nil
		case KindBCond, KindCB, KindLdrLit:
			v, err := branchOff(k.name, off, BCondMin, BCondMax)
			if err != nil {
				return i, err
			}
			return Inst(w&^(0x7ffff<<5) | (v&0x7ffff)<<5), nil
		case KindTB:
			v, err := branchOff(k.name, off, TBMin, TBMax)
			if err != nil {
				return i, err
			}
			return Inst(w&^(0x3fff<<5) | (v&0x3fff)<<5), nil
		case KindAdr:
			if off < BCondMin || off > ADRMax {
				return i, &BranchRangeError{Op: "adr", Offset: off, Min: BCondMin, Max: ADRMax}
			}
			v := uint32(off) & 0x1fffff
			return Inst(w&^(3<<29|0x7ffff<<5) | (v&3)<<29 | (v>>2)<<5), nil
		}
	}
	return i, &EncodeError{Op: "patch", Reason: fmt.Sprintf("%#08x is not a pc-relative branch", w)}
}

// BranchOffset returns the byte offset encoded in a pc-relative instruction.
func BranchOffset(i Inst) (int64, bool) {
	w := uint32(i)
	switch i.Kind() {
	case KindB:
		return int64(int32(w<<6)>>6) * 4, true
	case KindBCond, KindCB, KindLdrLit:
		return int64(int32(w<<8)>>13) * 4, true
	case KindTB:
		return int64(int32(w<<13)>>18) * 4, true
	case KindAdr:
		v := (w>>29)&3 | (w>>5&0x7ffff)<<2
		return int64(int32(v<<11) >> 11), true
	}
	return 0, false
}

// BCondFar returns the long form of b.cond for targets beyond ±1 MiB:
// "b.!cond .+8; b target", where off is measured from the first instruction.
// It reaches what b reaches (about ±128 MiB). For AL it is a single b.
func BCondFar(c Cond, off int64) (Seq, error) {
	var s Seq
	if c > NV {
		return s, &EncodeError{Op: "b.cond", Reason: fmt.Sprintf("invalid condition %v", c)}
	}
	if c >= AL {
		i, err := B(off)
		s.add(i)
		return s, err
	}
	skip, _ := BCond(c.Invert(), 8)
	far, err := B(off - 4)
	if err != nil {
		return Seq{}, err
	}
	s.add(skip)
	s.add(far)
	return s, nil
}
