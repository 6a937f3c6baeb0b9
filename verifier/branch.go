package verifier

import (
	"errors"
	"math"
	"math/bits"

	"github.com/bpfjit/bpfjit/isa"
)

// jumpNotSet is the negation of JSET, used only inside the verifier.
const jumpNotSet isa.JumpOp = 0xf0

func negate(op isa.JumpOp) isa.JumpOp {
	switch op {
	case isa.JumpEQ:
		return isa.JumpNE
	case isa.JumpNE:
		return isa.JumpEQ
	case isa.JumpGT:
		return isa.JumpLE
	case isa.JumpLE:
		return isa.JumpGT
	case isa.JumpGE:
		return isa.JumpLT
	case isa.JumpLT:
		return isa.JumpGE
	case isa.JumpSGT:
		return isa.JumpSLE
	case isa.JumpSLE:
		return isa.JumpSGT
	case isa.JumpSGE:
		return isa.JumpSLT
	case isa.JumpSLT:
		return isa.JumpSGE
	case isa.JumpSET:
		return jumpNotSet
	}
	return isa.JumpSET
}

// swapOperands turns `b op a` into `a op' b`.
func swapOperands(op isa.JumpOp) isa.JumpOp {
	switch op {
	case isa.JumpGT:
		return isa.JumpLT
	case isa.JumpLT:
		return isa.JumpGT
	case isa.JumpGE:
		return isa.JumpLE
	case isa.JumpLE:
		return isa.JumpGE
	case isa.JumpSGT:
		return isa.JumpSLT
	case isa.JumpSLT:
		return isa.JumpSGT
	case isa.JumpSGE:
		return isa.JumpSLE
	case isa.JumpSLE:
		return isa.JumpSGE
	}
	return op
}

// outcome decides `a op b` from the bounds: 1 always true, 0 always false, -1 unknown.
func outcome(op isa.JumpOp, a, b *Scalar, w int) int {
	ia, ib := a.iv(w), b.iv(w)
	ta, tb := a.T, b.T
	if w == 32 {
		ta, tb = ta.Subreg(), tb.Subreg()
	}
	tri := func(yes, no bool) int {
		switch {
		case yes:
			return 1
		case no:
			return 0
		}
		return -1
	}
	switch op {
	case isa.JumpEQ, isa.JumpNE:
		eq := tri(ta.IsConst() && tb.IsConst() && ta.Value == tb.Value,
			ia.umin > ib.umax || ia.umax < ib.umin || ia.smin > ib.smax || ia.smax < ib.smin ||
				(ta.Value^tb.Value)&^(ta.Mask|tb.Mask) != 0)
		if op == isa.JumpNE && eq >= 0 {
			return 1 - eq
		}
		return eq
	case isa.JumpSET:
		return tri(ta.Value&tb.Value != 0, (ta.Value|ta.Mask)&(tb.Value|tb.Mask) == 0)
	case jumpNotSet:
		r := outcome(isa.JumpSET, a, b, w)
		if r >= 0 {
			return 1 - r
		}
		return r
	case isa.JumpGT:
		return tri(ia.umin > ib.umax, ia.umax <= ib.umin)
	case isa.JumpGE:
		return tri(ia.umin >= ib.umax, ia.umax < ib.umin)
	case isa.JumpLT:
		return tri(ia.umax < ib.umin, ia.umin >= ib.umax)
	case isa.JumpLE:
		return tri(ia.umax <= ib.umin, ia.umin > ib.umax)
	case isa.JumpSGT:
		return tri(ia.smin > ib.smax, ia.smax <= ib.smin)
	case isa.JumpSGE:
		return tri(ia.smin >= ib.smax, ia.smax < ib.smin)
	case isa.JumpSLT:
		return tri(ia.smax < ib.smin, ia.smin >= ib.smax)
	case isa.JumpSLE:
		return tri(ia.smax <= ib.smin, ia.smin > ib.smax)
	}
	return -1
}

// refine narrows a and b to the values for which `a op b` holds at width w. It returns false
// when no values remain (the branch cannot be taken).
func refine(op isa.JumpOp, a, b *Scalar, w int) bool {
	ia, ib := a.iv(w), b.iv(w)
	umax := umaxOf(w)
	smax, smin := int64(math.MaxInt64), int64(math.MinInt64)
	if w == 32 {
		smax, smin = math.MaxInt32, math.MinInt32
	}
	switch op {
	case isa.JumpEQ:
		ia.umin, ia.umax = max(ia.umin, ib.umin), min(ia.umax, ib.umax)
		ia.smin, ia.smax = max(ia.smin, ib.smin), min(ia.smax, ib.smax)
		ib = ia
		if w == 64 {
			t := a.T.Intersect(b.T)
			a.T, b.T = t, t
		} else {
			t := a.T.Subreg().Intersect(b.T.Subreg())
			a.T, b.T = a.T.WithSubreg(t), b.T.WithSubreg(t)
		}
	case isa.JumpNE:
		shrink := func(x *iv, c uint64) {
			if x.umin == c && x.umin < umax {
				x.umin++
			} else if x.umax == c && x.umax > 0 {
				x.umax--
			}
			sc := int64(c)
			if w == 32 {
				sc = int64(int32(uint32(c)))
			}
			if x.smin == sc && x.smin < smax {
				x.smin++
			} else if x.smax == sc && x.smax > smin {
				x.smax--
			}
		}
		if b.tconst(w) {
			if a.tconst(w) && a.T.Value&umax == b.T.Value&umax {
				return false
			}
			shrink(&ia, b.T.Value&umax)
		} else if a.tconst(w) {
			shrink(&ib, a.T.Value&umax)
		}
	case isa.JumpSET:
		if b.tconst(w) {
			c := b.T.Value & umax
			if c == 0 {
				return false
			}
			if bits.OnesCount64(c) == 1 {
				a.T = a.T.Or(TnumConst(c))
			}
		}
	case jumpNotSet:
		if b.tconst(w) {
			c := b.T.Value & umax
			if a.T.Value&c != 0 {
				return false
			}
			a.T = Tnum{Value: a.T.Value &^ c, Mask: a.T.Mask &^ c}
		}
	case isa.JumpGT, isa.JumpLT:
		if op == isa.JumpLT {
			ia, ib = ib, ia
		}
		if ib.umin >= umax || ia.umax == 0 {
			return false
		}
		ia.umin = max(ia.umin, ib.umin+1)
		ib.umax = min(ib.umax, ia.umax-1)
		if op == isa.JumpLT {
			ia, ib = ib, ia
		}
	case isa.JumpGE, isa.JumpLE:
		if op == isa.JumpLE {
			ia, ib = ib, ia
		}
		ia.umin = max(ia.umin, ib.umin)
		ib.umax = min(ib.umax, ia.umax)
		if op == isa.JumpLE {
			ia, ib = ib, ia
		}
	case isa.JumpSGT, isa.JumpSLT:
		if op == isa.JumpSLT {
			ia, ib = ib, ia
		}
		if ib.smin >= smax || ia.smax <= smin {
			return false
		}
		ia.smin = max(ia.smin, ib.smin+1)
		ib.smax = min(ib.smax, ia.smax-1)
		if op == isa.JumpSLT {
			ia, ib = ib, ia
		}
	case isa.JumpSGE, isa.JumpSLE:
		if op == isa.JumpSLE {
			ia, ib = ib, ia
		}
		ia.smin = max(ia.smin, ib.smin)
		ib.smax = min(ib.smax, ia.smax)
		if op == isa.JumpSLE {
			ia, ib = ib, ia
		}
	}
	if ia.umin > ia.umax || ia.smin > ia.smax || ib.umin > ib.umax || ib.smin > ib.smax {
		return false
	}
	a.setIV(w, ia)
	b.setIV(w, ib)
	// Known bits that no value of the new bounds has mean the branch is impossible (an index
	// known to be a multiple of 4 cannot lie in [58, 59]); sync would otherwise let the
	// bounds overwrite the bits and lose the contradiction.
	if !a.bitsMeetBounds() || !b.bitsMeetBounds() {
		return false
	}
	a.sync()
	b.sync()
	return !a.empty() && !b.empty()
}

func (s *Scalar) tconst(w int) bool {
	if w == 32 {
		return s.is32Const()
	}
	return s.IsConst()
}

// condJump explores the outcomes of a conditional jump that the state allows, each with
// the registers refined by the comparison's result.
func (v *verifier) condJump(i int, in isa.Instruction) error {
	op := in.Opcode.JumpOp()
	w := 64
	if in.Opcode.Class() == isa.ClassJMP32 {
		w = 32
	}
	target := i + 1 + int(in.JumpOffset())
	dst, err := v.readReg(i, in.Dst)
	if err != nil {
		return err
	}
	var src Reg
	isX := in.Opcode.Source() == isa.SourceX
	if isX {
		s, err := v.readReg(i, in.Src)
		if err != nil {
			return err
		}
		src = *s
	} else {
		src = scalarReg(ConstScalar(uint64(int64(in.Imm))))
	}
	taken := v.cur
	var fall *state           // cloned only when both outcomes need their own state
	ok := [2]bool{true, true} // [fall-through, taken]
	switch {
	case dst.Type == ScalarValue && src.Type == ScalarValue:
		switch outcome(op, &dst.Val, &src.Val, w) {
		case 1:
			ok[0] = false
		case 0:
			ok[1] = false
		default:
			fall = v.cloneCur()
			ok[1] = v.refineRegs(taken, in, op, w, isX)
			ok[0] = v.refineRegs(fall, in, negate(op), w, isX)
		}
	case w == 64 && (op == isa.JumpEQ || op == isa.JumpNE) && (isNullConst(&src) && dst.Type.IsPointer() || isNullConst(dst) && src.Type.IsPointer()):
		p := dst
		if !dst.Type.IsPointer() {
			p = &src
		}
		if p.Type.maybeNull() {
			fall = v.cloneCur()
		}
		nullState, nonNull := taken, fall
		if op == isa.JumpNE {
			nullState, nonNull = fall, taken
		}
		if p.Type.maybeNull() {
			id := p.ID // p points into one of the states being changed
			markNull(nullState, id, true)
			markNull(nonNull, id, false)
		} else {
			// A pointer that is not maybe-null is never null.
			if nullState == taken {
				ok[1] = false
			} else {
				ok[0] = false
			}
		}
	case w == 64 && isPacketPair(dst.Type, src.Type):
		fall = v.cloneCur()
		v.packetCompare(in, op, dst, &src, taken, fall)
	}
	v.jmps++
	if ok[0] {
		v.branch[i] |= BranchFallThrough
	}
	if ok[1] {
		v.branch[i] |= BranchTaken
	}
	if fall == nil {
		if ok[0] && ok[1] {
			fall = v.cloneCur()
		} else {
			fall = taken // only one outcome: the current state goes on
		}
	}
	switch {
	case ok[0] && ok[1]:
		if len(v.pending) >= maxPending {
			return v.errAt(i, ErrTooComplex, "program too complex: the sequence of %d jumps is too long", maxPending)
		}
		taken.insn = target
		fall.insn = i + 1
		fall.parent = taken.parent
		v.push(fall)
		v.cur = taken
	case ok[1]:
		taken.insn = target
	case ok[0]:
		fall.insn = i + 1
		v.cur = fall
	default:
		// Neither outcome is possible: the path itself was impossible.
		return v.endImpossible()
	}
	return nil
}

// errImpossible ends a path on which no concrete execution exists.
var errImpossible = errors.New("impossible path")

// endImpossible ends a path whose facts contradict each other; nothing on it can run.
func (v *verifier) endImpossible() error {
	v.cur.insn = -1
	return errImpossible
}

func isNullConst(r *Reg) bool {
	c, ok := r.Val.Const()
	return r.Type == ScalarValue && ok && c == 0
}

func isPacketPair(a, b RegType) bool {
	return a == PtrToPacket && b == PtrToPacketEnd || a == PtrToPacketEnd && b == PtrToPacket ||
		a == PtrToPacketMeta && b == PtrToPacket || a == PtrToPacket && b == PtrToPacketMeta
}

// refineRegs applies `dst op src` (true) to the registers of st, and to every register
// linked to them by an ID. It reports whether the outcome is possible.
func (v *verifier) refineRegs(st *state, in isa.Instruction, op isa.JumpOp, w int, isX bool) bool {
	regs := &st.cur().regs
	a := &regs[in.Dst]
	var b *Reg
	if isX {
		b = &regs[in.Src]
	} else {
		c := scalarReg(ConstScalar(uint64(int64(in.Imm))))
		b = &c
	}
	if isX && in.Src == in.Dst {
		c := *b
		b = &c
	}
	if !refine(op, &a.Val, &b.Val, w) {
		return false
	}
	relateByCompare(op, &a.Val, &b.Val, w)
	v.propagate(st, a)
	if isX {
		regs[in.Src].Val = b.Val
		if in.Src != in.Dst {
			v.propagate(st, &regs[in.Src])
		}
	}
	return true
}

// relateByCompare carries the length relation across `a op b` (true): a value below one
// that is below the length is below the length too.
func relateByCompare(op isa.JumpOp, a, b *Scalar, w int) {
	if !a.LenOK && !b.LenOK {
		return
	}
	if w == 32 && (a.Umax > math.MaxUint32 || b.Umax > math.MaxUint32) {
		return // the low halves' order is not the values' order
	}
	switch op {
	case isa.JumpSGT, isa.JumpSGE, isa.JumpSLT, isa.JumpSLE:
		if a.Smin < 0 || b.Smin < 0 {
			return // signed order is the unsigned order only for non-negative values
		}
		op = map[isa.JumpOp]isa.JumpOp{isa.JumpSGT: isa.JumpGT, isa.JumpSGE: isa.JumpGE, isa.JumpSLT: isa.JumpLT, isa.JumpSLE: isa.JumpLE}[op]
	}
	switch op {
	case isa.JumpLT:
		if b.LenOK {
			a.relateLen(b.LenSlack + 1)
		}
	case isa.JumpLE:
		if b.LenOK {
			a.relateLen(b.LenSlack)
		}
	case isa.JumpGT:
		if a.LenOK {
			b.relateLen(a.LenSlack + 1)
		}
	case isa.JumpGE:
		if a.LenOK {
			b.relateLen(a.LenSlack)
		}
	case isa.JumpEQ:
		if b.LenOK {
			a.relateLen(b.LenSlack)
		}
		if a.LenOK {
			b.relateLen(a.LenSlack)
		}
	}
}

// propagate copies a refined scalar to every register linked to it, and turns a proven
// memory length into an accessible range.
func (v *verifier) propagate(st *state, r *Reg) {
	if r.ID == 0 {
		return
	}
	val, id := r.Val, r.ID
	st.forEachReg(func(o *Reg) {
		if o.Type == ScalarValue && o.ID == id {
			o.Val = val
		}
	})
	if id == memLenID {
		st.memRange = max(st.memRange, int64(min(val.Umin, math.MaxUint32)))
	}
}

// markNull resolves a null check for every copy of the maybe-null pointer.
func markNull(st *state, id uint32, isNull bool) {
	fix := func(o *Reg) {
		if !o.Type.maybeNull() || o.ID != id {
			return
		}
		if isNull {
			*o = scalarReg(ConstScalar(0))
			return
		}
		if o.Type == PtrToMapValueOrNull {
			o.Type = PtrToMapValue
		} else {
			o.Type = PtrToBuf
		}
	}
	st.forEachReg(fix)
}

// packetCompare learns packet ranges: on the branch where a packet pointer p is proven not
// past the end (or meta not past data), every pointer sharing p's base may access up to
// p's offset.
func (v *verifier) packetCompare(in isa.Instruction, op isa.JumpOp, dst, src *Reg, taken, fall *state) {
	lowIsDst := dst.Type == PtrToPacketMeta || dst.Type == PtrToPacket && src.Type == PtrToPacketEnd
	low := dst
	if !lowIsDst {
		low = src
		op = swapOperands(op)
	}
	// Now the comparison reads `low op high`.
	var proven *state
	switch op {
	case isa.JumpGT, isa.JumpGE:
		proven = fall
	case isa.JumpLT, isa.JumpLE:
		proven = taken
	default:
		return
	}
	if low.Off < 0 {
		return
	}
	t, id, r := low.Type, low.ID, int64(low.Off)
	proven.forEachReg(func(o *Reg) {
		if o.Type == t && o.ID == id && o.Range < r {
			o.Range = r
		}
	})
}
