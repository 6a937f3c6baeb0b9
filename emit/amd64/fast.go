package amd64

import (
	"encoding/binary"
	"slices"
	"unsafe"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa"
)

// The fast path: LowerRange encodes the most common instruction forms straight into the
// code buffer's spare capacity, one table lookup and one small inlined encoder per slot,
// and hands every other slot to Lower. Lower stays the reference: a test pins that both
// give the same bytes for every form.

// form is how LowerRange encodes one opcode.
type form struct {
	kind uint8
	rexW uint8 // pairW for a 64-bit operation, else 0
	op   byte  // x86 opcode or /digit
	aux  byte  // condition code of a jump; shift count mask; 1 for the 16-bit store immediate's prefix; selector of a sequence
}

const (
	formSlow           = iota // Lower
	formRR                    // op dst, src: ALU on registers (op is the x86 opcode)
	formRI                    // op dst, imm: ALU with an immediate (op is the /digit)
	formMovRR                 // mov dst, src (movsx and moves onto themselves: Lower)
	formMovImm                // mov dst64, sign-extended imm
	formMovImm32              // mov dst32, imm
	formGroup3                // neg dst (op is the /digit)
	formShiftImm              // shift dst, imm (a zero count: Lower)
	formMul                   // imul dst, src
	formMulImm                // imul dst, dst, imm
	formLoad                  // dst = [src+off], 32 or 64 bits (op is the x86 opcode)
	formLoad2                 // dst = [src+off], 8 or 16 bits extended (op: second byte of 0x0f op)
	formStore                 // [dst+off] = src, 32 or 64 bits
	formStore16               // [dst+off] = src, 16 bits
	formStore8                // [dst+off] = src, 8 bits
	formStoreImm              // [dst+off] = imm, 32 or 64 bits
	formStoreImmNarrow        // [dst+off] = imm, 8 or 16 bits (aux: 1 for the operand-size prefix of 16)
	formAtomic                // the one-instruction atomics (atomicForms; the others: Lower)
	formLdImm64               // lddw of a plain constant (pseudo sources: Lower)
	formJa                    // ja
	formJcc                   // if dst op src goto / if dst & src goto (op: cmp or test)
	formJccK                  // if dst op imm goto
	formTestK                 // if dst & imm goto
	formSeq                   // a sequence from the seqTable (aux: its selector)
	formDivK                  // div/mod by a constant: mov tmp, imm, then the seqTable's division
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
		switch cl {
		case isa.ClassALU, isa.ClassALU64:
			switch op := o.ALUOp(); op {
			case isa.ALUAdd, isa.ALUSub, isa.ALUOr, isa.ALUAnd, isa.ALUXor:
				if x {
					t[c] = form{kind: formRR, rexW: rexW, op: byte(aluOps[op>>4])<<3 | 1}
				} else {
					t[c] = form{kind: formRI, rexW: rexW, op: byte(aluOps[op>>4])}
				}
			case isa.ALUMov:
				switch {
				case x:
					t[c] = form{kind: formMovRR, rexW: rexW}
				case rexW != 0: // sign-extended
					t[c] = form{kind: formMovImm}
				default:
					t[c] = form{kind: formMovImm32}
				}
			case isa.ALUNeg:
				if !x {
					t[c] = form{kind: formGroup3, rexW: rexW, op: g3Neg}
				}
			case isa.ALUMul:
				if x {
					t[c] = form{kind: formMul, rexW: rexW}
				} else {
					t[c] = form{kind: formMulImm, rexW: rexW}
				}
			case isa.ALULsh, isa.ALURsh, isa.ALUArsh:
				switch {
				case !x:
					t[c] = form{kind: formShiftImm, rexW: rexW, op: byte(shiftOps[op>>4]), aux: 31 | rexW<<2}
				case rexW == 0: // the 32-bit result may need its zero extension
					t[c] = form{kind: formSeq, aux: selZext}
				default:
					t[c] = form{kind: formSeq, aux: selOff}
				}
			case isa.ALUDiv, isa.ALUMod:
				if x {
					t[c] = form{kind: formSeq, aux: selOff}
				} else {
					t[c] = form{kind: formDivK, rexW: rexW, aux: selOff}
				}
			case isa.ALUEnd:
				t[c] = form{kind: formSeq, aux: selImm}
			}
		case isa.ClassLDX:
			switch mw := memWidth(o.Size()); {
			case o.Mode() == isa.ModeMEM && mw >= W32:
				t[c] = form{kind: formLoad, rexW: widthREX(mw), op: 0x8b}
			case o.Mode() == isa.ModeMEMSX && mw == W32: // movsxd
				t[c] = form{kind: formLoad, rexW: uint8(pairW), op: 0x63}
			case o.Mode() == isa.ModeMEM: // movzx
				t[c] = form{kind: formLoad2, op: 0xb6 | byte(mw>>4)}
			case o.Mode() == isa.ModeMEMSX && mw != W64: // movsx
				t[c] = form{kind: formLoad2, rexW: uint8(pairW), op: 0xbe | byte(mw>>4)}
			}
		case isa.ClassSTX:
			switch mw := memWidth(o.Size()); {
			case o.Mode() == isa.ModeMEM && mw >= W32:
				t[c] = form{kind: formStore, rexW: widthREX(mw), op: 0x89}
			case o.Mode() == isa.ModeMEM && mw == W16:
				t[c] = form{kind: formStore16, op: 0x89}
			case o.Mode() == isa.ModeMEM: // 8 bits
				t[c] = form{kind: formStore8, op: 0x88}
			case o.Mode() == isa.ModeATOMIC:
				t[c] = form{kind: formAtomic, rexW: widthREX(mw)}
			}
		case isa.ClassST:
			switch mw := memWidth(o.Size()); {
			case o.Mode() == isa.ModeMEM && mw >= W32:
				t[c] = form{kind: formStoreImm, rexW: widthREX(mw), op: 0xc7}
			case o.Mode() == isa.ModeMEM && mw == W16:
				t[c] = form{kind: formStoreImmNarrow, op: 0xc7, aux: 1}
			case o.Mode() == isa.ModeMEM: // 8 bits
				t[c] = form{kind: formStoreImmNarrow, op: 0xc6}
			}
		case isa.ClassLD:
			if o == isa.OpLdImm64 {
				t[c] = form{kind: formLdImm64}
			}
		case isa.ClassJMP, isa.ClassJMP32:
			op := o.JumpOp()
			cond := conds[op>>4]
			switch {
			case op == isa.JumpA && cl == isa.ClassJMP && !x:
				t[c] = form{kind: formJa}
			case !cond.ok:
			case op == isa.JumpSET && x:
				t[c] = form{kind: formJcc, rexW: rexW, op: 0x85, aux: byte(cond.cc)}
			case op == isa.JumpSET:
				t[c] = form{kind: formTestK, rexW: rexW, aux: byte(cond.cc)}
			case x:
				t[c] = form{kind: formJcc, rexW: rexW, op: byte(CMP)<<3 | 1, aux: byte(cond.cc)}
			default:
				t[c] = form{kind: formJccK, rexW: rexW, aux: byte(cond.cc)}
			}
		}
	}
	return t
}()

func widthREX(w Width) uint8 { return uint8(rexW(w == W64)) }

// regsDS returns in's registers as a seqTable index, dst<<4|src.
func regsDS(in *isa.Instruction) byte { return byte(in.Dst&15)<<4 | byte(in.Src&15) }

// bpfPairs[r<<4|m] is the register pair of BPF registers r (ModRM.reg) and m (ModRM.rm or
// the base), and bpfRM[m] that of m with ModRM.reg 0 (a /digit is or-ed in): the register
// map folded into the encoder's tables.
var bpfPairs, bpfRM = func() (t [256]regPair, rm [16]regPair) {
	for r := range 16 {
		for m := range 16 {
			t[r<<4|m] = pairOf(hostReg[r], hostReg[m])
		}
		rm[r] = pairOf(0, hostReg[r])
	}
	return t, rm
}()

// bpfBytePairs is bpfPairs for an 8-bit register operand in ModRM.reg: sil, dil, spl and
// bpl exist only with a REX prefix (without one 4–7 mean ah..bh), so their pairs carry
// an empty one (0x40) that putREX emits.
var bpfBytePairs = func() (t [256]regPair) {
	for r := range 16 {
		for m := range 16 {
			t[r<<4|m] = bpfPairs[r<<4|m]
			if h := hostReg[r]; h >= 4 && h < 8 {
				t[r<<4|m] |= 0x40
			}
		}
	}
	return t
}()

// atomicForm is how an atomic operation (the low byte of the immediate) that is one x86
// instruction is encoded: a lock prefix or none, and its opcode bytes (0 when the
// operation takes more than one instruction).
type atomicForm struct {
	op   uint16 // one byte, or 0x0f and the second byte above it
	lock uint8  // 1: a lock prefix
}

// atomicForms is read off putAtomic, the reference, for a 32-bit [rax] and rax: there the
// instruction is the prefix, the opcode and a ModRM byte.
var atomicForms = func() (t [256]atomicForm) {
	for op := range 256 {
		var b [16]byte
		n, ok := putAtomic(&b, isa.AtomicOp(op), W32, Mem{RAX, 0}, RAX)
		if !ok {
			continue
		}
		lock := 0
		if b[0] == 0xf0 {
			lock = 1
		}
		f := atomicForm{op: uint16(b[lock]), lock: uint8(lock)}
		if n-lock == 3 {
			f.op |= uint16(b[lock+1]) << 8
		}
		t[op] = f
	}
	return t
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
		// lowerRun stops where the code's capacity may run out (room bytes a slot):
		// it then needs no check of its own, which keeps a value out of its loop.
		buf := &c.Buf
		stop := buf.CapacityRun(i, to, room, minRun)
		if i = lowerRun(c, i, stop); i >= to {
			return nil
		}
		if i == stop {
			continue
		}
		switch op := c.S.Insns[i].Opcode; {
		case len(buf.Branches) == cap(buf.Branches) && c.Budget == 0 && isBranchForm(c, i):
			buf.Branches = slices.Grow(buf.Branches, 1)
		case hasSeqs(forms[op].kind) && !seqsNow().built[op]:
			seqsWith(op) // the table learns op's sequences; the loop retries the slot
		default:
			// Every other form, and the fast forms' special cases.
			c.SlotOffsets()[i] = int32(len(buf.Code))
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
// that its word stores may touch). lowerRun wants room for the longest write: a sequence
// copy (maxSeq bytes) after a divisor's mov (at most 7).
const (
	maxFast = 16
	room    = maxSeq + 8
	minRun  = 64 // the fewest slots LowerRange lets lowerRun run for, when it can
)

// isBranchForm reports whether lowerRun places a branch for stream slot i.
func isBranchForm(c *emit.Compiler, i int) bool {
	switch forms[c.S.Insns[i].Opcode].kind {
	case formJa, formJcc, formJccK, formTestK:
		return true
	}
	return false
}

// lowerRun lowers stream slots from i on (before to) while they have a fast form and the
// branch array has room, and returns the first slot it did not lower. The code's
// capacity has room bytes for each slot up to to. It writes through an index into the
// code's capacity and appends branches in place.
func lowerRun(c *emit.Compiler, i, to int) int {
	// Few values live through the loop, so that Go keeps them in registers: what only
	// jumps need is read from c when one comes, the sequence table where it is used.
	insns := c.S.Insns[:to]
	offs := c.SlotOffsets()[:to]
	at := len(c.Buf.Code)
	buf := c.Buf.Code[:cap(c.Buf.Code)]
	code := unsafe.Pointer(unsafe.SliceData(buf))
	// in walks the slots beside i: Go then keeps it rather than recomputing it (and
	// each field's address) from i at every use.
	const slot = unsafe.Sizeof(isa.Instruction{})
	if i >= to {
		return i
	}
	in := &insns[i]
	for {
		// The window of the slot's bytes (and one past a prefix) lies in buf's capacity
		// (room bytes a slot up to to): it is addressed without the bounds checks and
		// pointer masking of a reslice, which cost more than the instruction's encoding.
		p := (*[maxFast]byte)(unsafe.Add(code, at))
		n := 0
		switch fm := &forms[in.Opcode]; fm.kind {
		case formRR:
			n = putPair(p, fm.op, pairXY(in.Src, in.Dst)|regPair(fm.rexW))
		case formRI:
			n = putPairImm(p, 0x83, 0x81, digit(fm.op, in.Dst)|regPair(fm.rexW), in.Imm)
		case formMovRR:
			if in.Off == 0 && reg(in.Src) != reg(in.Dst) {
				n = putPair(p, 0x89, pairXY(in.Src, in.Dst)|regPair(fm.rexW))
			} else { // movsx; a move onto itself finds no sequence
				n = seqsNow().put((*[maxSeq]byte)(unsafe.Add(code, at)), in.Opcode, uint32(uint16(in.Off)), regsDS(in))
			}
		case formMovImm:
			if in.Imm >= 0 {
				n = putMovImm32(p, reg(in.Dst), uint32(in.Imm))
			} else {
				n = putPairImm32(p, 0xc7, digit(0, in.Dst)|pairW, in.Imm)
			}
		case formSeq:
			v := uint32(uint16(in.Off))
			switch fm.aux {
			case selImm:
				v = uint32(in.Imm)
			case selZext:
				c.Lowering(i)
				v = 0
				if c.NeedZext() {
					v = 1
				}
			}
			n = seqsNow().put((*[maxSeq]byte)(unsafe.Add(code, at)), in.Opcode, v, regsDS(in))
		case formDivK:
			// x/0, x%0 and the signed ones by -1 are no division: Lower.
			if in.Imm != 0 && (in.Imm != -1 || in.Off != 1) {
				k := putMovImm32(p, tmp, uint32(in.Imm)) // a 64-bit divisor is sign-extended
				if fm.rexW != 0 && in.Imm < 0 {
					k = putPairImm32(p, 0xc7, pairOf(0, tmp)|pairW, in.Imm)
				}
				n = seqsNow().put((*[maxSeq]byte)(unsafe.Add(code, at+k)), in.Opcode, uint32(uint16(in.Off)), byte(in.Dst&15)<<4)
				if n != 0 { // else the table has no sequence: Lower
					n += k
				}
			}
		case formMovImm32:
			n = putMovImm32(p, reg(in.Dst), uint32(in.Imm))
		case formGroup3:
			n = putPair(p, 0xf7, digit(fm.op, in.Dst)|regPair(fm.rexW))
		case formShiftImm:
			if k := uint8(in.Imm) & fm.aux; k != 0 {
				n = putPairShift(p, digit(fm.op, in.Dst)|regPair(fm.rexW), k)
			}
		case formMul:
			n = putImul(p, pairXY(in.Dst, in.Src)|regPair(fm.rexW))
		case formMulImm:
			n = putPairImm(p, 0x6b, 0x69, pairXY(in.Dst, in.Dst)|regPair(fm.rexW), in.Imm)
		case formLoad:
			n = putPairDisp(p, fm.op, pairXY(in.Dst, in.Src)|regPair(fm.rexW), uint32(in.Off))
		case formStore:
			n = putPairDisp(p, fm.op, pairXY(in.Src, in.Dst)|regPair(fm.rexW), uint32(in.Off))
		case formLoad2:
			n = putPairDisp2(p, 0x0f|uint16(fm.op)<<8, pairXY(in.Dst, in.Src)|regPair(fm.rexW), uint32(in.Off))
		case formStore16:
			p[0] = 0x66 // operand-size prefix, before REX
			n = 1 + putPairDisp((*[maxFast]byte)(unsafe.Add(code, at+1)), fm.op, pairXY(in.Src, in.Dst), uint32(in.Off))
		case formStore8:
			n = putPairDisp(p, fm.op, bpfBytePairs[byte(in.Src&15)<<4|byte(in.Dst&15)], uint32(in.Off))
		case formStoreImm:
			n = putPairDisp(p, fm.op, digit(0, in.Dst)|regPair(fm.rexW), uint32(in.Off))
			binary.LittleEndian.PutUint32(p[n&7:], uint32(in.Imm))
			n += 4
		case formStoreImmNarrow:
			pfx := int(fm.aux) // the operand-size prefix of a 16-bit store, before REX
			p[0] = 0x66
			n = pfx + putPairDisp((*[maxFast]byte)(unsafe.Add(code, at+pfx)), fm.op, digit(0, in.Dst), uint32(in.Off))
			binary.LittleEndian.PutUint16(p[n&15:], uint16(in.Imm))
			n += 1 + pfx
		case formAtomic:
			if a := atomicForms[uint8(in.Imm)]; a.op != 0 && uint32(in.Imm) <= 0xff {
				p[0] = 0xf0 // lock, when a.lock
				q := (*[maxFast]byte)(unsafe.Add(code, at+int(a.lock)))
				e := pairXY(in.Src, in.Dst) | regPair(fm.rexW)
				if a.op > 0xff {
					n = putPairDisp2(q, a.op, e, uint32(in.Off))
				} else {
					n = putPairDisp(q, byte(a.op), e, uint32(in.Off))
				}
				n += int(a.lock)
			} else if uint32(in.Imm) <= 0xff { // a sequence: fetch-and/or/xor, cmpxchg
				k := uint32(atomicSeq[uint8(in.Imm)])
				if k == seqCmpXchg && fm.rexW == 0 {
					c.Lowering(i)
					if c.NeedZext() {
						k++
					}
				}
				// The displacement goes in twice (the load and the cmpxchg of a loop).
				kind := dispKind(bpfRM[in.Dst&15], uint32(in.Off))
				seqs := seqsNow()
				x := seqs.atomicIndex(in.Opcode, k*3+kind, regsDS(in))
				q := (*[maxSeq]byte)(unsafe.Add(code, at))
				n = seqs.copy(q, seqs.entry[x])
				switch pos := seqs.patch[x]; kind {
				case 1:
					q[pos&63], q[pos>>8&63] = byte(in.Off), byte(in.Off)
				case 2:
					binary.LittleEndian.PutUint32(q[pos&63:], uint32(in.Off))
					binary.LittleEndian.PutUint32(q[pos>>8&63:], uint32(in.Off))
				}
			}
		case formLdImm64:
			// A plain constant; pseudo sources go to Lower. putMovConst does not inline:
			// the call costs less than leaving the loop for it (5 Ir per slot of the
			// benchmark's mix, half of whose lddw are wider than 32 bits).
			if in.Src == 0 && i+1 < to {
				hi := (*isa.Instruction)(unsafe.Add(unsafe.Pointer(in), slot)) // i+1 < to
				n = putMovConst(p, reg(in.Dst), isa.Imm64(*in, *hi))
				offs[i] = int32(at)
				at += n
				i, in = i+1, hi
				offs[i] = int32(at)
				goto next
			}
		case formJa:
			if placeBranch(c, at, kindJmp, 0, i) {
				p[0], n = 0xeb, 2
			}
		case formJcc, formJccK, formTestK:
			switch {
			case fm.kind == formJcc:
				n = putPair(p, fm.op, pairXY(in.Src, in.Dst)|regPair(fm.rexW))
			case fm.kind == formTestK:
				n = putPairImm32(p, 0xf7, digit(g3Test, in.Dst)|regPair(fm.rexW), in.Imm)
			case in.Imm == 0: // same flags as cmp d, 0 for every condition
				n = putPair(p, 0x85, pairXY(in.Dst, in.Dst)|regPair(fm.rexW))
			default:
				n = putPairImm(p, 0x83, 0x81, digit(byte(CMP), in.Dst)|regPair(fm.rexW), in.Imm)
			}
			if !placeBranch(c, at+n, kindJcc, fm.aux, i) {
				n = 0
				break
			}
			p[n&15] = 0x70 | fm.aux
			n += 2
		}
		if n == 0 {
			break
		}
		offs[i] = int32(at)
		at += n
	next:
		// in never points past the last slot (unsafe.Pointer's rules).
		if i++; i == to {
			break
		}
		in = (*isa.Instruction)(unsafe.Add(unsafe.Pointer(in), slot))
	}
	c.Buf.Code = buf[:at]
	return i
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
