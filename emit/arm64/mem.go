package arm64

import "fmt"

// MemOp selects a single-register load or store: access size, direction and
// extension. Its value indexes memOps.
type MemOp uint8

const (
	STRB   MemOp = iota // store byte
	STRH                // store halfword
	STRW                // store word
	STRX                // store doubleword
	LDRB                // load byte, zero-extended
	LDRH                // load halfword, zero-extended
	LDRW                // load word, zero-extended
	LDRX                // load doubleword
	LDRSBX              // load byte, sign-extended to 64 bits
	LDRSHX              // load halfword, sign-extended to 64 bits
	LDRSWX              // load word, sign-extended to 64 bits
	LDRSBW              // load byte, sign-extended to 32 bits
	LDRSHW              // load halfword, sign-extended to 32 bits
	numMemOps
)

// memOps holds, per MemOp, the size field (log2 of the access size), the opc
// field and the mnemonics of the scaled and unscaled forms.
var memOps = [numMemOps]struct {
	size, opc      uint32
	name, unscaled string
}{
	STRB:   {0, 0, "strb", "sturb"},
	STRH:   {1, 0, "strh", "sturh"},
	STRW:   {2, 0, "str", "stur"},
	STRX:   {3, 0, "str", "stur"},
	LDRB:   {0, 1, "ldrb", "ldurb"},
	LDRH:   {1, 1, "ldrh", "ldurh"},
	LDRW:   {2, 1, "ldr", "ldur"},
	LDRX:   {3, 1, "ldr", "ldur"},
	LDRSBX: {0, 2, "ldrsb", "ldursb"},
	LDRSHX: {1, 2, "ldrsh", "ldursh"},
	LDRSWX: {2, 2, "ldrsw", "ldursw"},
	LDRSBW: {0, 3, "ldrsb", "ldursb"},
	LDRSHW: {1, 3, "ldrsh", "ldursh"},
}

func (o MemOp) String() string {
	if o < numMemOps {
		return memOps[o].name
	}
	return fmt.Sprintf("MemOp(%d)", uint8(o))
}

// Size is the access size in bytes.
func (o MemOp) Size() int {
	if o < numMemOps {
		return 1 << memOps[o].size
	}
	return 0
}

const (
	ldstUimmBase = 0x39000000 // size 111 0 01 opc imm12 Rn Rt
	ldstImm9Base = 0x38000000 // size 111 0 00 opc 0 imm9 00 Rn Rt
	ldstRegBase  = 0x38206800 // size 111 0 00 opc 1 Rm 011(lsl) S=0 10 Rn Rt
)

func memOperands(op MemOp, rt, rn Reg, name string) (t, n uint32, err error) {
	if op >= numMemOps {
		return 0, 0, &EncodeError{Op: "ldr/str", Reason: fmt.Sprintf("invalid op %v", op)}
	}
	if t, err = rz(name, rt); err != nil {
		return
	}
	n, err = rsp(name, rn)
	return
}

// LdStScaled encodes ldr/str rt, [rn, #off] with the unsigned scaled 12-bit
// offset: off must be a multiple of the access size in [0, 4095*size].
// Rn may be SP; Rt may be XZR (storing zero).
func LdStScaled(op MemOp, rt, rn Reg, off int64) (Inst, error) {
	name := op.String()
	t, n, err := memOperands(op, rt, rn, name)
	if err != nil {
		return 0, err
	}
	m := memOps[op]
	if off < 0 || off&(1<<m.size-1) != 0 || off>>m.size > 4095 {
		return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("offset %d is not a multiple of %d in [0, %d]", off, 1<<m.size, 4095<<m.size)}
	}
	return Inst(m.size<<30 | ldstUimmBase | m.opc<<22 | uint32(off>>m.size)<<10 | n<<5 | t), nil
}

// LdStUnscaled encodes ldur/stur rt, [rn, #off] with a signed 9-bit byte offset
// in [-256, 255].
func LdStUnscaled(op MemOp, rt, rn Reg, off int64) (Inst, error) {
	if op >= numMemOps {
		return 0, &EncodeError{Op: "ldur/stur", Reason: fmt.Sprintf("invalid op %v", op)}
	}
	name := memOps[op].unscaled
	t, n, err := memOperands(op, rt, rn, name)
	if err != nil {
		return 0, err
	}
	if off < -256 || off > 255 {
		return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("offset %d outside [-256, 255]", off)}
	}
	m := memOps[op]
	return Inst(m.size<<30 | ldstImm9Base | m.opc<<22 | (uint32(off)&0x1ff)<<12 | n<<5 | t), nil
}

// LdStImm encodes a load or store at [rn, #off], choosing the scaled form when
// off is a suitable multiple of the size and the unscaled form otherwise. It
// fails when neither reaches off; use LdStOffsetOK to decide beforehand and
// LdStReg with the offset in a register in that case.
func LdStImm(op MemOp, rt, rn Reg, off int64) (Inst, error) {
	// Fast path for valid operands (every load and store of a lowered program); anything
	// else takes the checked forms below, which name the problem.
	if op < numMemOps && rt <= XZR && (rn <= X30 || rn == SP) {
		if i, ok := ldStImm(memWords[op], uint32(rt)&31, min(uint32(rn), 31), off); ok {
			return i, nil
		}
	}
	if op < numMemOps && scaledOK(op, off) {
		return LdStScaled(op, rt, rn, off)
	}
	if off >= -256 && off <= 255 {
		return LdStUnscaled(op, rt, rn, off)
	}
	name := "ldr/str"
	if op < numMemOps {
		name = memOps[op].name
	}
	return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("offset %d reachable by neither the scaled nor the unscaled form", off)}
}

// memWords holds, per MemOp, its size and opc fields in place (size<<30 | opc<<22).
var memWords = func() (t [numMemOps]uint32) {
	for op, m := range memOps {
		t[op] = m.size<<30 | m.opc<<22
	}
	return t
}()

// ldStImm is LdStImm for valid operands (m is the op's memWords entry, t and n
// register fields); it reports false when off fits neither the scaled nor the unscaled
// form.
func ldStImm(m, t, n uint32, off int64) (Inst, bool) {
	sz := m >> 30
	// A negative off is too large as unsigned; a byte offset in [-256, 255] is below
	// 512 once moved up by 256.
	if uint64(off)>>sz < 4096 && off&(1<<sz-1) == 0 {
		return Inst(m | ldstUimmBase | uint32(off>>sz)<<10 | n<<5 | t), true
	}
	if uint64(off+256) < 512 {
		return Inst(m | ldstImm9Base | (uint32(off)&0x1ff)<<12 | n<<5 | t), true
	}
	return 0, false
}

func scaledOK(op MemOp, off int64) bool {
	s := memOps[op].size
	return off >= 0 && off&(1<<s-1) == 0 && off>>s <= 4095
}

// LdStOffsetOK reports whether LdStImm can encode off for op.
func LdStOffsetOK(op MemOp, off int64) bool {
	return op < numMemOps && (scaledOK(op, off) || (off >= -256 && off <= 255))
}

// LdStReg encodes ldr/str rt, [rn, rm]: the address is rn + rm (no shift).
func LdStReg(op MemOp, rt, rn, rm Reg) (Inst, error) {
	name := op.String()
	t, n, err := memOperands(op, rt, rn, name)
	if err != nil {
		return 0, err
	}
	m, err := rz(name, rm)
	if err != nil {
		return 0, err
	}
	mo := memOps[op]
	return Inst(mo.size<<30 | ldstRegBase | mo.opc<<22 | m<<16 | n<<5 | t), nil
}

// PairMode selects the addressing of ldp/stp. Its value is bits 23–24.
type PairMode uint8

const (
	PairPostIndex PairMode = 1 // [rn], #off   then rn += off
	PairOffset    PairMode = 2 // [rn, #off]
	PairPreIndex  PairMode = 3 // [rn, #off]!  rn += off first
)

const pairBase = 0x28000000 // opc 101 0 mode L imm7 Rt2 Rn Rt

// LdpStp encodes ldp (load) or stp rt, rt2 with the given addressing mode. off is
// a byte offset, a multiple of 4 (W32) or 8 (W64) in [-64, 63] units.
func LdpStp(load bool, w Width, mode PairMode, rt, rt2, rn Reg, off int64) (Inst, error) {
	name, l := "stp", uint32(0)
	if load {
		name, l = "ldp", 1
	}
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	if mode < PairPostIndex || mode > PairPreIndex {
		return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("invalid addressing mode %d", mode)}
	}
	t, err := rz(name, rt)
	if err != nil {
		return 0, err
	}
	t2, err := rz(name, rt2)
	if err != nil {
		return 0, err
	}
	n, err := rsp(name, rn)
	if err != nil {
		return 0, err
	}
	if load && rt == rt2 {
		return 0, &EncodeError{Op: name, Reason: "rt and rt2 must differ (unpredictable)"}
	}
	if mode != PairOffset && rn != SP && (rn == rt || rn == rt2) {
		return 0, &EncodeError{Op: name, Reason: "writeback base overlaps a transfer register (unpredictable)"}
	}
	scale := uint(2 + w)
	if off&(1<<scale-1) != 0 || off>>scale < -64 || off>>scale > 63 {
		return 0, &EncodeError{Op: name, Reason: fmt.Sprintf("offset %d is not a multiple of %d in [%d, %d]", off, 1<<scale, -64<<scale, 63<<scale)}
	}
	opc := uint32(w) << 1
	return Inst(opc<<30 | pairBase | uint32(mode)<<23 | l<<22 | (uint32(off>>scale)&0x7f)<<15 | t2<<10 | n<<5 | t), nil
}

// Ldp encodes ldp rt, rt2, [rn, #off] with the given addressing mode.
func Ldp(w Width, mode PairMode, rt, rt2, rn Reg, off int64) (Inst, error) {
	return LdpStp(true, w, mode, rt, rt2, rn, off)
}

// Stp encodes stp rt, rt2, [rn, #off] with the given addressing mode.
func Stp(w Width, mode PairMode, rt, rt2, rn Reg, off int64) (Inst, error) {
	return LdpStp(false, w, mode, rt, rt2, rn, off)
}

// AtomicOp selects an LSE atomic memory operation. Its value is o3:opc.
type AtomicOp uint8

const (
	LDADD AtomicOp = 0 // *addr += rs, rt = old
	LDCLR AtomicOp = 1 // *addr &^= rs, rt = old
	LDEOR AtomicOp = 2 // *addr ^= rs, rt = old
	LDSET AtomicOp = 3 // *addr |= rs, rt = old
	SWP   AtomicOp = 8 // *addr = rs, rt = old
)

// atomicNames holds the mnemonic per o3:opc value; "" marks values this package
// does not encode.
var atomicNames = [...]string{LDADD: "ldaddal", LDCLR: "ldclral", LDEOR: "ldeoral", LDSET: "ldsetal", SWP: "swpal"}

func (o AtomicOp) String() string {
	if int(o) < len(atomicNames) && atomicNames[o] != "" {
		return atomicNames[o]
	}
	return fmt.Sprintf("AtomicOp(%d)", uint8(o))
}

const (
	lseBase   = 0x38e00000 // size 111 0 00 A=1 R=1 1 Rs o3 opc 00 Rn Rt
	casalBase = 0x08e0fc00 // size 001000 1 L=1 1 Rs o0=1 11111 Rn Rt
	ldaxrBase = 0x085ffc00 // size 001000 0 L=1 0 11111 o0=1 11111 Rn Rt
	stlxrBase = 0x0800fc00 // size 001000 0 L=0 0 Rs o0=1 11111 Rn Rt
	sizeShift = 30
	wordSize  = 2 // size field of a 32-bit access; +1 for 64-bit
)

// Atomic encodes an LSE atomic with acquire-release ordering (ldaddal, ldclral,
// ldeoral, ldsetal, swpal) rs, rt, [rn]: rt receives the old value; rt may be
// XZR when it is not wanted. Requires FEAT_LSE (Armv8.1).
func Atomic(op AtomicOp, w Width, rs, rt, rn Reg) (Inst, error) {
	if int(op) >= len(atomicNames) || atomicNames[op] == "" {
		return 0, &EncodeError{Op: "atomic", Reason: fmt.Sprintf("invalid op %v", op)}
	}
	name := atomicNames[op]
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	s, err := rz(name, rs)
	if err != nil {
		return 0, err
	}
	t, err := rz(name, rt)
	if err != nil {
		return 0, err
	}
	n, err := rsp(name, rn)
	if err != nil {
		return 0, err
	}
	return atomicWord(op, w, s, t, n), nil
}

// atomicWord is Atomic for valid operands (register fields).
func atomicWord(op AtomicOp, w Width, s, t, n uint32) Inst {
	return Inst((wordSize+uint32(w))<<sizeShift | lseBase | s<<16 | uint32(op)<<12 | n<<5 | t)
}

// Casal encodes casal rs, rt, [rn]: if *rn == rs then *rn = rt; rs = old value
// in every case (64-bit: zero-extended for W32). Requires FEAT_LSE.
func Casal(w Width, rs, rt, rn Reg) (Inst, error) {
	const name = "casal"
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	s, err := rz(name, rs)
	if err != nil {
		return 0, err
	}
	t, err := rz(name, rt)
	if err != nil {
		return 0, err
	}
	n, err := rsp(name, rn)
	if err != nil {
		return 0, err
	}
	return casalWord(w, s, t, n), nil
}

// casalWord is Casal for valid operands (register fields).
func casalWord(w Width, s, t, n uint32) Inst {
	return Inst((wordSize+uint32(w))<<sizeShift | casalBase | s<<16 | n<<5 | t)
}

// Ldaxr encodes ldaxr rt, [rn]: load-acquire exclusive.
func Ldaxr(w Width, rt, rn Reg) (Inst, error) {
	const name = "ldaxr"
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	t, err := rz(name, rt)
	if err != nil {
		return 0, err
	}
	n, err := rsp(name, rn)
	if err != nil {
		return 0, err
	}
	return ldaxrWord(w, t, n), nil
}

// ldaxrWord is Ldaxr for valid operands (register fields).
func ldaxrWord(w Width, t, n uint32) Inst {
	return Inst((wordSize+uint32(w))<<sizeShift | ldaxrBase | n<<5 | t)
}

// Stlxr encodes stlxr ws, rt, [rn]: store-release exclusive; ws receives 0 on
// success and 1 on failure. ws must differ from rt and rn (unpredictable
// otherwise).
func Stlxr(w Width, ws, rt, rn Reg) (Inst, error) {
	const name = "stlxr"
	if err := checkWidth(name, w); err != nil {
		return 0, err
	}
	s, err := rz(name, ws)
	if err != nil {
		return 0, err
	}
	t, err := rz(name, rt)
	if err != nil {
		return 0, err
	}
	n, err := rsp(name, rn)
	if err != nil {
		return 0, err
	}
	if ws == rt || (ws == rn && rn != SP) {
		return 0, &EncodeError{Op: name, Reason: "status register overlaps rt or rn (unpredictable)"}
	}
	return stlxrWord(w, s, t, n), nil
}

// stlxrWord is Stlxr for valid operands (register fields).
func stlxrWord(w Width, s, t, n uint32) Inst {
	return Inst((wordSize+uint32(w))<<sizeShift | stlxrBase | s<<16 | n<<5 | t)
}
