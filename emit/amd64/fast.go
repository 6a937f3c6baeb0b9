package amd64

import (
	"encoding/binary"
	"slices"
	"unsafe"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa"
)

// The fast path: LowerRange encodes the common instruction forms straight into the code
// buffer's spare capacity and hands every other slot to Lower. Lower stays the reference:
// a test pins that both give the same bytes for every form.
//
// The common forms share one table-driven encoder without data-dependent branches: in a
// program that mixes forms at random, a switch on the form (a jump table) or a branch on
// an operand size mispredicts on most slots, and a mispredict costs more than encoding the
// instruction. The table says which pieces an opcode has (prefix, opcode bytes, ModRM and
// where its fields come from, memory operand, immediate); the operands choose REX, the
// displacement and immediate sizes by arithmetic; every piece is stored unconditionally
// at its computed position (a later store overwrites what an earlier one wrote past its
// piece), and the position advances by the piece's computed length.

// form is how LowerRange encodes one opcode.
type form struct {
	op      uint16 // opcode bytes, the first in the low byte (a jump's: cmp or test)
	opLen   uint8  // 1 or 2
	pfx     uint8  // 1: the operand-size prefix 0x66
	rexW    uint8  // pairW for a 64-bit operation, else 0
	regS    uint8  // ModRM.reg is the host register of src (15) or dst (regD 15) or
	regD    uint8  //   neither (the /digit)
	digit   uint8  // ModRM.reg's /digit
	rmS     uint8  // ModRM.rm (or the base, or the opcode's register) is the host
	rmD     uint8  //   register of src (15) or dst (rmD 15)
	mem     uint8  // 0xff: rm is the base of [rm+off]
	opReg   uint8  // 7: the register is in the opcode's low bits and there is no ModRM
	immLen  uint8  // bytes of the immediate (the short one of a variable immediate)
	flags   uint8  // the g* bits
	kind    uint8  // what lowerRun's slow path and putOther do (form* kinds)
	aux     uint8  // condition code of a jump; memory width of an atomic
	immMask uint32 // the immediate's bits used (a shift count's mask)
}

// form flags.
const (
	gVarImm  = 1 << iota // a sign-extended imm8 when the immediate fits, else imm32 (opcode ^ 2)
	gShift               // a shift by the immediate: 1 has its own opcode (^ 0x10) and no byte, 0 is slow
	gByteReg             // ModRM.reg is an 8-bit register: 4–7 need a REX prefix
	gMovRR               // mov dst, src: slow when a movsx (off != 0) or onto itself
	gMovSX               // mov dst64, imm: a negative one is REX.W C7 /0 rather than B8+r
	gLdImm               // lddw: slow unless a plain constant of 32 bits
	gSlow                // not encoded here: Lower, putOther or a jump (kind)
)

// form kinds, for the slow path.
const (
	formSlow    = iota // Lower
	formFast           // the shared encoder
	formAtomic         // the one-instruction atomics (putAtomic; the others: Lower)
	formLdImm64        // lddw: a 32-bit constant is fast, a wider one putOther's, pseudo sources Lower's
	formJa             // ja
	formJcc            // if dst op src goto / if dst & src goto (op: cmp or test)
	formJccK           // if dst op imm goto
	formTestK          // if dst & imm goto
)

// Operand selectors of a form.
const (
	sel    = 15   // selects a host register in regS, regD, rmS, rmD
	memRM  = 0xff // mem: rm is a base
	allImm = ^uint32(0)
)

var forms = func() (t [256]form) {
	for c := range 256 {
		o := isa.Opcode(c)
		cl := o.Class()
		rexW := uint8(0)
		if cl == isa.ClassALU64 || cl == isa.ClassJMP {
			rexW = uint8(pairW)
		}
		x := o.Source() == isa.SourceX
		// Defaults: a one-byte opcode with ModRM, register operands, no immediate.
		f := form{opLen: 1, immMask: allImm, kind: formFast}
		slow := false
		switch cl {
		case isa.ClassALU, isa.ClassALU64:
			f.rexW = rexW
			switch op := o.ALUOp(); op {
			case isa.ALUAdd, isa.ALUSub, isa.ALUOr, isa.ALUAnd, isa.ALUXor:
				if x {
					f.op, f.regS, f.rmD = uint16(aluOps[op>>4])<<3|1, sel, sel
				} else {
					f.op, f.digit, f.rmD, f.immLen, f.flags = 0x83, byte(aluOps[op>>4]), sel, 1, gVarImm
				}
			case isa.ALUMov:
				switch {
				case x:
					f.op, f.regS, f.rmD, f.flags = 0x89, sel, sel, gMovRR
				default: // B8+r zero-extends; a negative 64-bit one: gMovSX
					f.rexW, f.op, f.opReg, f.rmD, f.immLen = 0, 0xb8, 7, sel, 4
					if rexW != 0 {
						f.flags = gMovSX
					}
				}
			case isa.ALUNeg:
				f.op, f.digit, f.rmD = 0xf7, g3Neg, sel
				slow = x
			case isa.ALUMul:
				if x {
					f.op, f.opLen, f.regD, f.rmS = 0xaf0f, 2, sel, sel
				} else {
					f.op, f.regD, f.rmD, f.immLen, f.flags = 0x6b, sel, sel, 1, gVarImm
				}
			case isa.ALULsh, isa.ALURsh, isa.ALUArsh:
				f.op, f.digit, f.rmD, f.immLen, f.flags = 0xc1, byte(shiftOps[op>>4]), sel, 1, gShift
				f.immMask = uint32(31 | rexW<<2)
				slow = x
			default:
				slow = true
			}
		case isa.ClassLDX:
			f.regD, f.rmS, f.mem = sel, sel, memRM
			switch mw := memWidth(o.Size()); {
			case o.Mode() == isa.ModeMEM && mw >= W32:
				f.op, f.rexW = 0x8b, widthREX(mw)
			case o.Mode() == isa.ModeMEMSX && mw == W32: // movsxd
				f.op, f.rexW = 0x63, uint8(pairW)
			case o.Mode() == isa.ModeMEM: // movzx
				f.op, f.opLen = 0x0f|uint16(0xb6|byte(mw>>4))<<8, 2
			case o.Mode() == isa.ModeMEMSX && mw != W64: // movsx
				f.op, f.opLen, f.rexW = 0x0f|uint16(0xbe|byte(mw>>4))<<8, 2, uint8(pairW)
			default:
				slow = true
			}
		case isa.ClassSTX:
			f.regS, f.rmD, f.mem = sel, sel, memRM
			switch mw := memWidth(o.Size()); {
			case o.Mode() == isa.ModeMEM && mw >= W32:
				f.op, f.rexW = 0x89, widthREX(mw)
			case o.Mode() == isa.ModeMEM && mw == W16:
				f.op, f.pfx = 0x89, 1
			case o.Mode() == isa.ModeMEM: // 8 bits
				f.op, f.flags = 0x88, gByteReg
			case o.Mode() == isa.ModeATOMIC:
				f.kind, f.aux, slow = formAtomic, byte(mw), true
			default:
				slow = true
			}
		case isa.ClassST:
			f.op, f.rmD, f.mem = 0xc7, sel, memRM
			switch mw := memWidth(o.Size()); {
			case o.Mode() != isa.ModeMEM:
				slow = true
			case mw >= W32:
				f.rexW, f.immLen = widthREX(mw), 4
			case mw == W16:
				f.pfx, f.immLen = 1, 2
			default:
				f.op, f.immLen = 0xc6, 1
			}
		case isa.ClassLD:
			if o == isa.OpLdImm64 { // as mov dst32, imm
				f.op, f.opReg, f.rmD, f.immLen, f.flags, f.kind = 0xb8, 7, sel, 4, gLdImm, formLdImm64
			} else {
				slow = true
			}
		case isa.ClassJMP, isa.ClassJMP32:
			slow = true
			op := o.JumpOp()
			cond := conds[op>>4]
			f.rexW, f.aux = rexW, byte(cond.cc)
			switch {
			case op == isa.JumpA && cl == isa.ClassJMP && !x:
				f.kind = formJa
			case !cond.ok:
				f.kind = formSlow
			case op == isa.JumpSET && x:
				f.kind, f.op = formJcc, 0x85
			case op == isa.JumpSET:
				f.kind = formTestK
			case x:
				f.kind, f.op = formJcc, uint16(CMP)<<3|1
			default:
				f.kind = formJccK
			}
		default:
			slow = true
		}
		if slow {
			f.flags |= gSlow
			if f.kind == formFast {
				f.kind = formSlow
			}
		}
		t[c] = f
	}
	return t
}()

func widthREX(w Width) uint8 { return uint8(rexW(w == W64)) }

// bpfPairs[r<<4|m] is the register pair of BPF registers r (ModRM.reg) and m (ModRM.rm or
// the base), and bpfRM[m] that of m with ModRM.reg 0 (a /digit is or-ed in): the register
// map folded into the jump encoders' tables.
var bpfPairs, bpfRM = func() (t [256]regPair, rm [16]regPair) {
	for r := range 16 {
		for m := range 16 {
			t[r<<4|m] = pairOf(hostReg[r], hostReg[m])
		}
		rm[r] = pairOf(0, hostReg[r])
	}
	return t, rm
}()

// pairXY returns the pair of BPF registers x (ModRM.reg) and y (ModRM.rm).
func pairXY(x, y isa.Register) regPair { return bpfPairs[byte(x&15)<<4|byte(y&15)] }

// digit returns the pair of /digit g and BPF register r.
func digit(g byte, r isa.Register) regPair { return bpfRM[r&15] | regPair(g&7)<<11 }

// LowerRange implements emit.RangeBackend. The common forms are encoded by lowerRun,
// whose loop makes no call, so Go keeps its state in registers; whatever it stops at (a
// form for Lower, a full code or branch array) is dealt with here before it resumes.
func (b *Backend) LowerRange(c *emit.Compiler, f *emit.Func, from, to int) error {
	for i := from; ; {
		if i = lowerRun(c, i, to); i >= to {
			return nil
		}
		switch buf := &c.Buf; {
		case cap(buf.Code)-len(buf.Code) < room:
			buf.Code = slices.Grow(buf.Code, room)
		case len(buf.Branches) == cap(buf.Branches) && c.Budget == 0 && isBranchForm(c, i):
			buf.Branches = slices.Grow(buf.Branches, 1)
		default:
			at := len(buf.Code)
			c.SlotOffsets()[i] = int32(at)
			// The memory forms of the general encoder, written here; every other form,
			// and the fast forms' special cases, go to Lower.
			if n, k := putOther((*[maxFast]byte)(buf.Code[at:at+maxFast]), c.S.Insns[i:]); n > 0 {
				buf.Code = buf.Code[:at+n]
				if k == 2 {
					c.SlotOffsets()[i+1] = int32(at + n)
				}
				i += k
				continue
			}
			c.Lowering(i)
			k, err := b.Lower(c, f, i)
			if err != nil {
				return c.SlotError(i, err)
			}
			if k == 2 {
				c.SlotOffsets()[i+1] = int32(len(buf.Code))
			}
			i += k
		}
	}
}

// maxFast bounds the bytes an encoder writes for one instruction (and the bytes past it
// that its word stores may touch). lowerRun's encoder stores whole words at positions up
// to 15 of a window of 32 bytes, which must lie in the code's capacity (room).
const (
	maxFast = 16
	window  = 32
	room    = window
)

// isBranchForm reports whether lowerRun places a branch for stream slot i.
func isBranchForm(c *emit.Compiler, i int) bool {
	return forms[c.S.Insns[i].Opcode].kind >= formJa
}

// bit returns 1 for true: Go compiles it to a SETcc, not a branch.
func bit(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// lowerRun lowers stream slots from i on (before to) while they have a fast form and the
// code and branch arrays have room, and returns the first slot it did not lower. It
// writes through an index into the code's capacity and appends branches in place.
func lowerRun(c *emit.Compiler, i, to int) int {
	// Few values live through the loop, so that Go keeps them all in registers: what
	// only jumps need is read from c when one comes.
	insns := c.S.Insns[:to]
	offs := c.SlotOffsets()[:to]
	at := len(c.Buf.Code)
	buf := c.Buf.Code[:cap(c.Buf.Code)]
	code, last := unsafe.Pointer(unsafe.SliceData(buf)), len(buf)-room
	for ; i < to; i++ {
		if at > last {
			break
		}
		// The window of the slot's bytes lies in buf's capacity (at <= last): it is
		// addressed without the bounds checks and pointer masking of a reslice, which
		// cost more than the instruction's encoding.
		p := (*[window]byte)(unsafe.Add(code, at))
		in := &insns[i]
		f := &forms[in.Opcode]
		fl := uint32(f.flags)
		d, s := uint32(hostReg[in.Dst&15]), uint32(hostReg[in.Src&15])
		imm := uint32(in.Imm) & f.immMask
		// The special cases of the fast forms, each a bit, and one branch on them all.
		slow := fl & gSlow
		slow |= (bit(in.Off != 0) | bit(d == s)) & (fl / gMovRR & 1)
		slow |= bit(imm == 0) & (fl / gShift & 1)
		next := min(i+1, to-1)
		slow |= (bit(in.Src != 0) | bit(i+1 >= to) | bit(insns[next].Imm != 0)) & (fl / gLdImm & 1)
		if slow != 0 {
			if n := lowerJump(c, (*[maxFast]byte)(unsafe.Pointer(p)), in, f, at, i); n != 0 {
				offs[i] = int32(at)
				at += n
				continue
			}
			break
		}

		// A negative 64-bit mov immediate: REX.W C7 /0 instead of B8+r.
		neg := imm >> 31 & (fl / gMovSX & 1)
		opReg := uint32(f.opReg) & (neg - 1)
		r := s&uint32(f.regS) | d&uint32(f.regD) | uint32(f.digit)
		m := s&uint32(f.rmS) | d&uint32(f.rmD)
		mem := uint32(int32(int8(f.mem))) // all ones for a memory operand
		long := bit(imm+128 > 255) & (fl & gVarImm)
		one := bit(imm == 1) & (fl / gShift & 1)
		op := uint32(f.op) ^ neg*(0xb8^0xc7) ^ long<<1 ^ one<<4 + m&opReg
		rex := uint32(f.rexW) | neg<<3 | r>>3<<2 | m>>3
		forceREX := bit(r-4 < 4) & (fl / gByteReg & 1) // sil, dil: not ah..bh

		// The displacement: none, disp8 or disp32 (0 for a register operand); an rbp or
		// r13 base has no form without one.
		off := uint32(int32(in.Off)) & mem
		dk := min(off|bit(m&7 == 5)&mem, 1) + min((off+128)>>8, 1)

		p[0] = 0x66
		pos := uint32(f.pfx)
		p[pos&15] = byte(0x40 | rex)
		pos += bit(rex|forceREX != 0)
		binary.LittleEndian.PutUint16(p[pos&15:], uint16(op))
		pos += uint32(f.opLen)
		p[pos&15] = byte(dk<<6 | 0xc0&^mem | (r&7)<<3 | m&7)
		pos += 1 - opReg&1
		p[pos&15] = 0x24 // an rsp or r12 base needs a SIB byte
		pos += bit(m&7 == 4) & mem
		binary.LittleEndian.PutUint32(p[pos&15:], off)
		pos += dk * dk
		binary.LittleEndian.PutUint32(p[pos&15:], imm)
		n := int(pos + uint32(f.immLen) + 3*long - one)

		// lddw takes two slots: the second starts where the instruction ends.
		k := int(fl / gLdImm & 1)
		offs[i+k] = int32(at + n*k)
		offs[i] = int32(at)
		at += n
		i += k
	}
	c.Buf.Code = buf[:at]
	return i
}

// lowerJump writes the jump of stream slot i (form f) at offset at, into p, and returns its
// length; 0 when the slot is no jump or its branch cannot be placed here.
func lowerJump(c *emit.Compiler, p *[maxFast]byte, in *isa.Instruction, f *form, at, i int) int {
	n := 0
	switch f.kind {
	case formJa:
		if placeBranch(c, at, kindJmp, 0, i) {
			p[0], n = 0xeb, 2
		}
		return n
	case formJcc:
		n = putPair(p, byte(f.op), pairXY(in.Src, in.Dst)|regPair(f.rexW))
	case formTestK:
		n = putPairImm32(p, 0xf7, digit(g3Test, in.Dst)|regPair(f.rexW), in.Imm)
	case formJccK:
		if in.Imm == 0 { // same flags as cmp d, 0 for every condition
			n = putPair(p, 0x85, pairXY(in.Dst, in.Dst)|regPair(f.rexW))
		} else {
			n = putPairImm(p, 0x83, 0x81, digit(byte(CMP), in.Dst)|regPair(f.rexW), in.Imm)
		}
	default:
		return 0
	}
	if !placeBranch(c, at+n, kindJcc, f.aux, i) {
		return 0
	}
	p[n&15] = 0x70 | f.aux
	return n + 2
}

// placeBranch records the branch of stream slot i, of kind k, at offset at, and reports
// whether it did: it does not under a budget (backward jumps are charged, see jump) or
// when the branch array is full (an append would bring a call into lowerRun's loop).
func placeBranch(c *emit.Compiler, at int, k, arg uint8, i int) bool {
	n := len(c.Buf.Branches)
	if c.Budget != 0 || n == cap(c.Buf.Branches) {
		return false
	}
	// Reslicing the field onto itself stores only its length: no write barrier.
	c.Buf.Branches = c.Buf.Branches[:n+1]
	c.Buf.Branches[n] = emit.Branch{At: int32(at), Target: c.Label(c.S.Target[i]), Kind: k, Arg: arg}
	return true
}

// putOther writes the forms lowerRun leaves to the general encoder (the one-instruction
// atomics, lddw of a constant wider than 32 bits) for the first slot of insns and returns
// its length and the slots it took; 0 bytes for every other slot, which Lower handles.
func putOther(p *[maxFast]byte, insns []isa.Instruction) (int, int) {
	in := &insns[0]
	fm := &forms[in.Opcode]
	d, s := reg(in.Dst), reg(in.Src)
	switch fm.kind {
	case formAtomic:
		n, _ := putAtomic(p, isa.AtomicOp(in.Imm), Width(fm.aux), Mem{d, int32(in.Off)}, s)
		return n, 1
	case formLdImm64:
		if in.Src == 0 && len(insns) > 1 {
			return putMovConst(p, d, isa.Imm64(*in, insns[1])), 2
		}
	}
	return 0, 0
}
