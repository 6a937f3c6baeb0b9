package verifier

import (
	"github.com/bpfjit/bpfjit/isa"
)

// maxVarOff bounds variable pointer offsets so that offset arithmetic never overflows.
const maxVarOff = 1 << 29

// readReg returns register r of the current frame, rejecting a read of an uninitialized one.
func (v *verifier) readReg(i int, r isa.Register) (*Reg, error) {
	reg := &v.cur.cur().regs[r]
	if reg.Type == NotInit {
		return nil, v.errAt(i, ErrUninit, "R%d is read before it is written on this path (!read_ok)", r)
	}
	return reg, nil
}

func (v *verifier) writeReg(i int, r isa.Register) (*Reg, error) {
	if r == isa.R10 {
		return nil, v.errAt(i, ErrInvalid, "frame pointer r10 is read only")
	}
	return &v.cur.cur().regs[r], nil
}

// step interprets slot i on the current state. done reports that the path ended.
func (v *verifier) step(i int) (done bool, err error) {
	in := v.insns[i]
	next := i + 1
	switch in.Opcode.Class() {
	case isa.ClassALU, isa.ClassALU64:
		err = v.alu(i, in)
	case isa.ClassLDX:
		err = v.load(i, in)
	case isa.ClassST, isa.ClassSTX:
		if in.Opcode.Mode() == isa.ModeATOMIC {
			err = v.atomic(i, in)
		} else {
			err = v.store(i, in)
		}
	case isa.ClassLD:
		if in.IsLdImm64() {
			err = v.ldImm64(i, in, v.insns[i+1])
			next = i + 2
		} else {
			err = v.legacyLoad(i, in)
		}
	case isa.ClassJMP, isa.ClassJMP32:
		switch {
		case in.IsExit():
			return v.exit(i)
		case in.Opcode.JumpOp() == isa.JumpCall:
			return false, v.call(i, in)
		case in.IsUnconditionalJump():
			next = i + 1 + int(in.JumpOffset())
		default:
			if err := v.condJump(i, in); err != nil {
				if err == errImpossible {
					return true, nil
				}
				return false, err
			}
			return false, nil
		}
	}
	if err != nil {
		return false, err
	}
	v.cur.insn = next
	return false, nil
}

var aluNames = map[isa.ALUOp]string{
	isa.ALUAdd: "+=", isa.ALUSub: "-=", isa.ALUMul: "*=", isa.ALUDiv: "/=", isa.ALUOr: "|=",
	isa.ALUAnd: "&=", isa.ALULsh: "<<=", isa.ALURsh: ">>=", isa.ALUNeg: "neg", isa.ALUMod: "%=",
	isa.ALUXor: "^=", isa.ALUMov: "=", isa.ALUArsh: "s>>=", isa.ALUEnd: "endian",
}

func (v *verifier) alu(i int, in isa.Instruction) error {
	op := in.Opcode.ALUOp()
	is64 := in.Opcode.Class() == isa.ClassALU64
	dst, err := v.writeReg(i, in.Dst)
	if err != nil {
		return err
	}
	var src Reg
	if in.Opcode.Source() == isa.SourceX && op != isa.ALUNeg && op != isa.ALUEnd {
		s, err := v.readReg(i, in.Src)
		if err != nil {
			return err
		}
		src = *s
	} else {
		src = scalarReg(ConstScalar(uint64(int64(in.Imm))))
	}
	if op == isa.ALUMov {
		if src.Type.IsPointer() {
			if !is64 || in.Off != 0 {
				if !v.pt.AllowPtrLeak {
					return v.errAt(i, ErrPointerLeak, "R%d partial copy of a pointer (%s) would leak its address", in.Src, src.Type)
				}
				*dst = scalarReg(movScalar(in.Off, UnknownScalar(), is64))
				return nil
			}
			*dst = src
			return nil
		}
		if in.Opcode.Source() == isa.SourceX && in.Off == 0 && is64 && !src.Val.IsConst() {
			// Link the copies so that a comparison of one refines the other.
			if src.ID == 0 {
				src.ID = v.newID()
				v.cur.cur().regs[in.Src].ID = src.ID
			}
			*dst = src
			return nil
		}
		*dst = scalarReg(movScalar(in.Off, src.Val, is64))
		return nil
	}
	if _, err := v.readReg(i, in.Dst); err != nil {
		return err
	}
	if op == isa.ALUEnd {
		if dst.Type.IsPointer() {
			return v.errAt(i, ErrPointerArith, "byte swap of pointer R%d (%s) prohibited", in.Dst, dst.Type)
		}
		swap := is64 || in.Opcode.Source() == isa.SourceX
		*dst = scalarReg(endScalar(dst.Val, int(in.Imm), swap))
		return nil
	}
	if dst.Type.IsPointer() || src.Type.IsPointer() {
		return v.ptrALU(i, in, op, is64, dst, &src)
	}
	*dst = scalarReg(aluScalar(op, in.Off, dst.Val, src.Val, is64))
	return nil
}

// ptrALU applies an ALU operation with a pointer operand: only adding or subtracting a
// bounded scalar, or subtracting two pointers of the same kind, yields something useful.
func (v *verifier) ptrALU(i int, in isa.Instruction, op isa.ALUOp, is64 bool, dst, src *Reg) error {
	leak := func(what string) error {
		if v.pt.AllowPtrLeak {
			*dst = scalarReg(UnknownScalar())
			if !is64 {
				dst.Val.zext()
			}
			return nil
		}
		return v.errAt(i, ErrPointerArith, "%s prohibited", what)
	}
	if !is64 {
		return leak("32-bit arithmetic on a pointer")
	}
	if op != isa.ALUAdd && op != isa.ALUSub {
		return leak("pointer arithmetic with operator " + aluNames[op])
	}
	if dst.Type.IsPointer() && src.Type.IsPointer() {
		if op == isa.ALUSub && dst.Type == src.Type && dst.Map == src.Map && dst.Frame == src.Frame {
			*dst = scalarReg(UnknownScalar())
			return nil
		}
		return v.errAt(i, ErrPointerArith, "R%d %s R%d: arithmetic between pointers (%s, %s) prohibited", in.Dst, aluNames[op], in.Src, dst.Type, src.Type)
	}
	ptr, sc := *dst, src.Val
	if src.Type.IsPointer() {
		if op == isa.ALUSub {
			return v.errAt(i, ErrPointerArith, "R%d: subtracting a pointer from a scalar prohibited", in.Dst)
		}
		ptr, sc = *src, dst.Val
	}
	switch ptr.Type {
	case ConstPtrToMap, PtrToPacketEnd:
		return v.errAt(i, ErrPointerArith, "pointer arithmetic on %s prohibited", ptr.Type)
	case PtrToMapValueOrNull, PtrToBufOrNull:
		return v.errAt(i, ErrPointerArith, "pointer arithmetic on %s prohibited: null-check it first", ptr.Type)
	}
	if c, ok := sc.Const(); ok {
		d := int64(c)
		if op == isa.ALUSub {
			d = -d
		}
		off := int64(ptr.Off) + d
		if off <= -maxVarOff || off >= maxVarOff {
			return v.errAt(i, ErrPointerArith, "pointer offset %d out of range", off)
		}
		ptr.Off = int32(off)
		*dst = ptr
		return nil
	}
	// Offsets into the raw memory region that are bounded by its length (below 2^32) are
	// fine at any size; every other variable offset must stay small.
	limit := int64(maxVarOff)
	if ptr.Type == PtrToMem && sc.LenOK && op == isa.ALUAdd && ptr.Val.IsConst() {
		limit = 1 << 33
	}
	if sc.Smin <= -limit || sc.Smax >= limit {
		return v.errAt(i, ErrPointerArith, "R%d %s with an unbounded scalar %v: bound it with a comparison first", in.Dst, aluNames[op], sc)
	}
	ptr.Val = aluScalar(op, 0, ptr.Val, sc, true)
	if ptr.Val.Smin <= -limit || ptr.Val.Smax >= limit {
		return v.errAt(i, ErrPointerArith, "R%d variable pointer offset %v out of range", in.Dst, ptr.Val)
	}
	if ptr.Type.isPacket() {
		// A new variable part: range checks made on the old pointer do not carry over.
		ptr.ID = v.newID()
		ptr.Range = 0
	}
	*dst = ptr
	return nil
}

func (v *verifier) load(i int, in isa.Instruction) error {
	base, err := v.readReg(i, in.Src)
	if err != nil {
		return err
	}
	size := in.Opcode.Size().Bytes()
	val, err := v.access(i, in.Src, base, int(in.Off), size, accRead, nil)
	if err != nil {
		return err
	}
	dst, err := v.writeReg(i, in.Dst)
	if err != nil {
		return err
	}
	if val.Type == ScalarValue && in.Opcode.Mode() == isa.ModeMEMSX {
		val = scalarReg(movScalar(int16(8*size), val.Val, true))
	}
	*dst = val
	return nil
}

func (v *verifier) store(i int, in isa.Instruction) error {
	base, err := v.readReg(i, in.Dst)
	if err != nil {
		return err
	}
	var val Reg
	srcReg := -1
	if in.Opcode.Class() == isa.ClassSTX {
		s, err := v.readReg(i, in.Src)
		if err != nil {
			return err
		}
		val, srcReg = *s, int(in.Src)
	} else {
		val = scalarReg(ConstScalar(uint64(int64(in.Imm))))
	}
	_, err = v.access(i, isa.Register(in.Dst), base, int(in.Off), in.Opcode.Size().Bytes(), accWrite, &storeVal{reg: val, src: srcReg})
	return err
}

func (v *verifier) atomic(i int, in isa.Instruction) error {
	base, err := v.readReg(i, in.Dst)
	if err != nil {
		return err
	}
	src, err := v.readReg(i, in.Src)
	if err != nil {
		return err
	}
	if src.Type != ScalarValue {
		return v.errAt(i, ErrPointerLeak, "atomic operand R%d must be a scalar, not %s", in.Src, src.Type)
	}
	switch base.Type {
	case PtrToStack, PtrToMapValue, PtrToMem, PtrToBuf:
	default:
		return v.errAt(i, ErrMemAccess, "atomic operation on R%d (%s) is not allowed", in.Dst, base.Type)
	}
	if base.Type == PtrToStack && base.Val.IsConst() {
		o := int(base.Off) + int(in.Off) + int(int64(base.Val.T.Value))
		if k, s := v.cur.frames[base.Frame].byteKind(o); k == SlotSpill && s.spill.Type != ScalarValue {
			return v.errAt(i, ErrMemAccess, "atomic operation on a spilled pointer (%s) at fp%d", s.spill.Type, o)
		}
	}
	a := isa.AtomicOp(in.Imm)
	if a == isa.AtomicCmpXchg {
		r0, err := v.readReg(i, isa.R0)
		if err != nil {
			return err
		}
		if r0.Type != ScalarValue {
			return v.errAt(i, ErrPointerLeak, "cmpxchg comparand R0 must be a scalar, not %s", r0.Type)
		}
	}
	size := in.Opcode.Size().Bytes()
	if _, err := v.access(i, in.Dst, base, int(in.Off), size, accRead, nil); err != nil {
		return err
	}
	if _, err := v.access(i, in.Dst, base, int(in.Off), size, accWrite, &storeVal{reg: scalarReg(UnknownScalar()), src: -1}); err != nil {
		return err
	}
	old := scalarReg(UnknownScalar())
	if size == 4 {
		old.Val.zext()
	}
	regs := &v.cur.cur().regs
	switch {
	case a == isa.AtomicCmpXchg:
		regs[isa.R0] = old
	case a&isa.AtomicFetch != 0:
		if in.Src == isa.R10 {
			return v.errAt(i, ErrInvalid, "frame pointer r10 is read only")
		}
		regs[in.Src] = old
	}
	return nil
}

func (v *verifier) legacyLoad(i int, in isa.Instruction) error {
	if !v.pt.LegacyPacketLoads {
		return v.errAt(i, ErrUnsupported, "LD_ABS/LD_IND are not allowed for program type %s", v.pt.Name)
	}
	ctx, err := v.readReg(i, isa.R6)
	if err != nil {
		return err
	}
	if ctx.Type != PtrToCtx {
		return v.errAt(i, ErrMemAccess, "LD_ABS/LD_IND need the context in R6, found %s", ctx.Type)
	}
	if in.Opcode.Mode() == isa.ModeIND {
		s, err := v.readReg(i, in.Src)
		if err != nil {
			return err
		}
		if s.Type != ScalarValue {
			return v.errAt(i, ErrPointerLeak, "LD_IND offset R%d must be a scalar, not %s", in.Src, s.Type)
		}
	}
	regs := &v.cur.cur().regs
	r := UnknownScalar()
	r.cast(in.Opcode.Size().Bytes())
	regs[isa.R0] = scalarReg(r)
	for a := isa.R1; a <= isa.R5; a++ {
		regs[a] = Reg{}
	}
	return nil
}

func (v *verifier) ldImm64(i int, lo, hi isa.Instruction) error {
	dst, err := v.writeReg(i, lo.Dst)
	if err != nil {
		return err
	}
	switch lo.Src {
	case 0:
		*dst = scalarReg(ConstScalar(isa.Imm64(lo, hi)))
	case isa.PseudoMapIdx, isa.PseudoMapIdxValue:
		idx := int(lo.Imm)
		if idx < 0 || idx >= len(v.maps) {
			return v.errAt(i, ErrInvalid, "map index %d out of range: the program has %d maps", idx, len(v.maps))
		}
		if lo.Src == isa.PseudoMapIdx {
			*dst = Reg{Type: ConstPtrToMap, Map: int32(idx), Val: ConstScalar(0)}
			return nil
		}
		m := v.maps[idx]
		if m.Type != MapTypeArray || m.MaxEntries != 1 {
			return v.errAt(i, ErrInvalid, "direct value access needs an array map with one entry, map %d has type %d and %d entries", idx, m.Type, m.MaxEntries)
		}
		off := uint32(hi.Imm)
		if off >= m.ValueSize {
			return v.errAt(i, ErrMemAccess, "direct value offset %d outside value of %d bytes", off, m.ValueSize)
		}
		*dst = Reg{Type: PtrToMapValue, Map: int32(idx), Off: int32(off), Val: ConstScalar(0)}
	case isa.PseudoMapFD, isa.PseudoMapValue:
		return v.errAt(i, ErrUnsupported, "lddw with a map fd: bind maps by index into the program's map table (src=%d/%d)", isa.PseudoMapIdx, isa.PseudoMapIdxValue)
	case isa.PseudoFunc:
		return v.errAt(i, ErrUnsupported, "function pointers (callbacks) are not supported")
	default:
		return v.errAt(i, ErrUnsupported, "lddw pseudo source %d is not supported", lo.Src)
	}
	return nil
}

func (v *verifier) exit(i int) (bool, error) {
	r0, err := v.readReg(i, isa.R0)
	if err != nil {
		return false, err
	}
	st := v.cur
	if len(st.frames) > 1 {
		callee := st.cur()
		if r0.Type == PtrToStack && int(r0.Frame) == len(st.frames)-1 {
			return false, v.errAt(i, ErrMemAccess, "returning a pointer to the callee's own stack")
		}
		ret := *r0
		st.frames = st.frames[:len(st.frames)-1]
		caller := st.cur()
		caller.regs[isa.R0] = ret
		for a := isa.R1; a <= isa.R5; a++ {
			caller.regs[a] = Reg{}
		}
		st.insn = callee.callSite + 1
		return false, nil
	}
	if r0.Type != ScalarValue && !v.pt.AllowPtrLeak {
		return false, v.errAt(i, ErrPointerLeak, "R0 leaks a pointer (%s) as the return value", r0.Type)
	}
	return true, nil
}
