package arm64

import (
	"encoding/binary"
	"unsafe"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa"
)

// The fast path: LowerRange encodes the forms programs are mostly made of straight into
// the code buffer's spare capacity, one table lookup and a few inlined word encoders per
// slot, and hands every other slot to Lower (lowerSlots), which stays the reference: a
// test pins that both give the same bytes for every form the fast path serves.

// fastRoom is the most bytes lowerRun writes for one slot: an add and eight words of an
// atomic sequence, or a constant of four words and two more, stored whatever the
// sequence's length.
const fastRoom = 48

// minRun is the fewest slots lowerSlots lets lowerRun run for when the code's capacity
// is low: it grows the capacity first.
const minRun = 64

// LowerRange implements emit.RangeBackend: lowerSlots with the fast loop. The common
// forms are encoded by lowerRun, whose loop calls only the encoders of a few long forms
// and the growth of a full branch array (a call on a common path would make Go spill the
// loop's state around it); the slot it stops at (a form for the reference, or the end of
// the code's capacity) is lowered by lowerSlots, which then resumes it.
func (b *Backend) LowerRange(c *emit.Compiler, f *emit.Func, from, to int) error {
	return b.lowerSlots(c, f, from, to, true)
}

// lowerRun lowers stream slots from i on (before to) while they have a fast form, and
// returns the first slot it did not lower. The code's capacity has fastRoom bytes for
// each slot up to to (lowerSlots bounds to so: the loop then checks no capacity of its
// own, which keeps a value out of it). It writes through an index into that capacity.
func lowerRun(c *emit.Compiler, i, to int, lse bool) int {
	insns := c.S.Insns[:to]
	// The slot offsets are written through a pointer too: i < to <= len, checked here once.
	offs := unsafe.Pointer(unsafe.SliceData(c.SlotOffsets()[:to]))
	at := len(c.Buf.Code)
	code := unsafe.Pointer(unsafe.SliceData(c.Buf.Code))
	if i >= to {
		return i
	}
	// in walks the slots beside i: Go then keeps it rather than recomputing it (and
	// each field's address) from i at every use. It never goes past the last slot.
	const slot = unsafe.Sizeof(isa.Instruction{})
	in := &insns[i]
	for {
		fm := &forms[in.Opcode]
		d, s := uint32(reg(in.Dst)), uint32(reg(in.Src))
		// Every form writes one or two words (w0, w1), stored together: the length only
		// moves the position on.
		var w0, w1 Inst
		n, ok := 1, true
		// The words some forms write first (a constant moved into tmp, an atomic's
		// address) lie between start, the slot's offset, and at, where w0 and w1 go.
		start := at
		switch fm.kind {
		case formRegOp:
			w0 = fm.base | Inst(s<<16|d<<5|d)
		case formLoad:
			w0, ok = ldStImm(uint32(fm.base), d, s, int64(in.Off))
		case formStore:
			w0, ok = ldStImm(uint32(fm.base), s, d, int64(in.Off))
		case formStoreK:
			// st of zero stores the zero register; others move the constant into tmp2
			// first (storeK).
			v := immValue(fm.w, in.Imm)
			w0, ok = ldStImm(uint32(fm.base), uint32(XZR), d, int64(in.Off))
			if v != 0 {
				w1, ok = ldStImm(uint32(fm.base), uint32(tmp2), d, int64(in.Off))
				var ok2 bool
				w0, ok2 = movImm1(fm.w, uint32(tmp2), v)
				ok, n = ok && ok2, 2
			}
		case formShiftK:
			sh := uint8(in.Imm) & uint8(fm.w.bits()-1)
			w0, ok = immShift(DP2Op(fm.op), fm.w, d, d, sh), sh != 0
		case formMovK:
			v := immValue(fm.w, in.Imm)
			if w0, ok = movImm1(fm.w, d, v); !ok {
				// Longer constants: movImm does not inline, but the call costs less than
				// leaving the loop.
				*(*int32)(unsafe.Add(offs, 4*i)) = int32(at)
				at = putMovImm(code, at, fm.w, d, v)
				goto next
			}
		case formMovX:
			// A move (onto itself: the reference, for a 32-bit zero extension), or movsx:
			// sxtb, sxth, sxtw (movX).
			switch off := in.Off; {
			case off == 0:
				w0, ok = fm.base|Inst(s<<16|d), d != s
			case off == 8 || off == 16 || (off == 32 && fm.w == W64):
				w0 = bitfield(SBFM, fm.w, d, s, 0, uint8(off-1))
			default:
				ok = false
			}
		case formEnd:
			// Byte swaps (byteswap): rev16 and uxth, rev, a 32-bit move for le32; le64 is
			// no code, the reference's.
			swap := fm.w == W64 || in.Opcode.Source() == isa.SourceX
			switch {
			case in.Imm == 16 && swap:
				w0, w1, n = dp1(REV16, W32, d, d), bitfield(UBFM, W32, d, d, 0, 15), 2
			case in.Imm == 16:
				w0 = bitfield(UBFM, W32, d, d, 0, 15) // uxth
			case in.Imm == 32 && swap:
				w0 = dp1(REV, W32, d, d)
			case in.Imm == 32:
				w0 = logicShifted(ORR, W32, d, uint32(XZR), d, LSL, 0) // mov wd, wd
			case in.Imm == 64 && swap:
				w0 = dp1(REV, W64, d, d)
			default:
				ok = false
			}
		case formMulK:
			v := immValue(fm.w, in.Imm)
			if k, p2 := pow2(v); p2 { // x * 2^k = x << k; by 1: the reference
				w0, ok = immShift(LSLV, fm.w, d, d, k), k != 0
				break
			}
			at = putMovImm(code, at, fm.w, uint32(tmp), v)
			w0 = dp3(0, fm.w, d, d, uint32(tmp), uint32(XZR)) // mul
		case formDivMod:
			// Division by a register, or by a constant (in tmp) other than a power of
			// two (the reference).
			if in.Opcode.Source() == isa.SourceK {
				v := immValue(fm.w, in.Imm)
				if _, p2 := pow2(v); p2 {
					ok = false
					break
				}
				at, s = putMovImm(code, at, fm.w, uint32(tmp), v), uint32(tmp)
			}
			div := UDIV
			if in.Off == 1 {
				div = SDIV
			}
			w0 = dp2(div, fm.w, d, d, s)
			if in.Opcode.ALUOp() == isa.ALUMod { // d - (d/s)*s
				w0 = dp2(div, fm.w, uint32(tmp2), d, s)
				w1, n = dp3(1, fm.w, d, uint32(tmp2), s, d), 2 // msub
			}
		case formLogicK:
			// The identities and all-ones are the reference's.
			v := immValue(fm.w, in.Imm)
			if v == 0 || v == immValue(fm.w, -1) {
				ok = false
				break
			}
			if w0, ok = logicImm(LogicOp(fm.op), fm.w, d, d, v); !ok {
				at, ok = putMovImm(code, at, fm.w, uint32(tmp), v), true
				w0 = logicShifted(LogicOp(fm.op), fm.w, d, d, uint32(tmp), LSL, 0)
			}
		case formAddSubK:
			w0, ok = addSubSigned(fm.base|Inst(d<<5|d), in.Imm)
		case formNeg:
			w0 = addSubShifted(SUB, fm.w, d, uint32(XZR), d, LSL, 0)
		case formLD:
			// lddw of a constant one movz or movn sets; the others leave the loop.
			if in.Src != 0 || i+1 >= to {
				ok = false
				break
			}
			hi := (*isa.Instruction)(unsafe.Add(unsafe.Pointer(in), slot)) // i+1 < to
			v := isa.Imm64(*in, *hi)
			if w0, ok = movImm1(W64, d, v); ok {
				binary.LittleEndian.PutUint32((*[4]byte)(unsafe.Add(code, at))[:], uint32(w0))
				at += 4
			} else {
				at = putMovImm(code, at, W64, d, v)
			}
			*(*[2]int32)(unsafe.Add(offs, 4*i)) = [2]int32{int32(start), int32(at)}
			i, in = i+1, hi
			goto next
		case formAtomic:
			// The address is dst, or tmp = dst + off when the offset fits an add or sub
			// (addImm). atomicWords does not inline, but the call costs less than leaving
			// the loop.
			w, okw := atomicWidth(in.Opcode)
			a := d
			if in.Off != 0 {
				w0, ok = addSubSigned(addTmp|Inst(d<<5), int32(in.Off))
				binary.LittleEndian.PutUint32((*[4]byte)(unsafe.Add(code, at))[:], uint32(w0))
				a, at = uint32(tmp), at+4
			}
			var ws [8]Inst
			m := atomicWords(&ws, isa.AtomicOp(in.Imm), w, a, s, lse)
			if !ok || !okw || m == 0 {
				at = start
				ok = false
				break
			}
			for k := 0; k < len(ws); k += 2 {
				binary.LittleEndian.PutUint64((*[8]byte)(unsafe.Add(code, at+4*k))[:], uint64(ws[k])|uint64(ws[k+1])<<32)
			}
			*(*int32)(unsafe.Add(offs, 4*i)) = int32(start)
			at += 4 * m
			goto next
		case formJa:
			ok = placeBranch(c, at, kindB, 0, i)
		case formCondJump:
			if in.Imm == 0 && cbzConds&(1<<fm.op) != 0 {
				// Unsigned x <= 0 is x == 0 and x > 0 is x != 0: cbz/cbnz (condJump).
				cc := Cond(fm.op)
				ok = placeBranch(c, at, kindCB, cbArg(Reg(d), fm.w, cc == NE || cc == HI), i)
				break
			}
			w0, ok = addSubSigned(fm.base|Inst(d<<5), in.Imm)
			ok = ok && placeBranch(c, at+4, kindBCond, fm.op, i)
			n = 2
		case formCondJumpX:
			w0, n = fm.base|Inst(s<<16|d<<5), 2
			ok = placeBranch(c, at+4, kindBCond, fm.op, i)
		default:
			ok = false
		}
		if !ok {
			at = start
			break
		}
		// The slot's window lies in buf's capacity (at <= last): it is addressed without
		// the bounds checks of a reslice, which cost more than the encoding.
		binary.LittleEndian.PutUint64((*[8]byte)(unsafe.Add(code, at))[:], uint64(w0)|uint64(w1)<<32)
		*(*int32)(unsafe.Add(offs, 4*i)) = int32(start)
		at += 4 * n
	next:
		if i++; i == to {
			break
		}
		in = (*isa.Instruction)(unsafe.Add(unsafe.Pointer(in), slot))
	}
	// Reslicing the field onto itself stores only its length: no write barrier.
	c.Buf.Code = c.Buf.Code[:at]
	return i
}

// putMovImm writes movImm's sequence for d = v (up to four words) at code+at and
// returns the position after the sequence.
func putMovImm(code unsafe.Pointer, at int, w Width, d uint32, v uint64) int {
	var ws [4]Inst
	n := movImm(&ws, w, d, v)
	binary.LittleEndian.PutUint64((*[8]byte)(unsafe.Add(code, at))[:], uint64(ws[0])|uint64(ws[1])<<32)
	binary.LittleEndian.PutUint64((*[8]byte)(unsafe.Add(code, at+8))[:], uint64(ws[2])|uint64(ws[3])<<32)
	return at + 4*n
}

// addTmp is add tmp, x0, #0: the address of an atomic with an offset.
var addTmp, _ = addSubImm(ADD, W64, uint32(tmp), 0, 0)

// cbzConds holds the conditions whose comparison with zero is one cbz or cbnz.
const cbzConds = 1<<EQ | 1<<NE | 1<<LS | 1<<HI

// placeBranch records the branch of stream slot i, of kind k, at offset at (the word
// there, zero until the linker writes it), and reports whether it did: not under a
// budget, where backward jumps are charged (the reference's).
func placeBranch(c *emit.Compiler, at int, k, arg uint8, i int) bool {
	if c.Budget != 0 {
		return false
	}
	c.Buf.PlaceBranch(at, k, arg, c.Label(c.S.Target[i]))
	return true
}
