package amd64

import (
	"slices"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa"
)

// The fast path: LowerRange encodes the most common instruction forms straight into the
// code buffer's spare capacity, one table lookup and one small encoder per slot, and
// hands every other slot to Lower. Lower stays the reference: a test pins that both give
// the same bytes for every form.

// form is how LowerRange encodes one opcode.
type form struct {
	kind uint8
	w    bool  // 64-bit operation
	op   byte  // x86 opcode, ALU /digit or shift /digit
	cc   Cond  // condition of a conditional jump
	mw   Width // memory access width
}

const (
	formSlow     = iota // Lower
	formRR              // op dst, src: ALU on registers (op is the x86 opcode)
	formRI              // op dst, imm: ALU with an immediate (op is the /digit)
	formMovRR           // mov dst, src (movsx and moves onto themselves: Lower)
	formMovImm          // mov dst, imm
	formNeg             // neg dst
	formShiftImm        // shift dst, imm (a zero count: Lower)
	formLoad            // dst = [src+off], zero-extended
	formLoadSX          // dst = [src+off], sign-extended
	formStore           // [dst+off] = src
	formStoreImm        // [dst+off] = imm
	formAtomic          // the one-instruction atomics (putAtomic; the others: Lower)
	formLdImm64         // lddw of a plain constant (pseudo sources: Lower)
	formJa              // ja
	formJccX            // if dst op src goto
	formJccK            // if dst op imm goto
	formTestX           // if dst & src goto
	formTestK           // if dst & imm goto
)

var forms = func() (t [256]form) {
	for c := range 256 {
		o := isa.Opcode(c)
		cl := o.Class()
		w := cl == isa.ClassALU64 || cl == isa.ClassJMP
		x := o.Source() == isa.SourceX
		switch cl {
		case isa.ClassALU, isa.ClassALU64:
			switch op := o.ALUOp(); op {
			case isa.ALUAdd, isa.ALUSub, isa.ALUOr, isa.ALUAnd, isa.ALUXor:
				if x {
					t[c] = form{kind: formRR, w: w, op: byte(aluOps[op>>4])<<3 | 1}
				} else {
					t[c] = form{kind: formRI, w: w, op: byte(aluOps[op>>4])}
				}
			case isa.ALUMov:
				if x {
					t[c] = form{kind: formMovRR, w: w}
				} else {
					t[c] = form{kind: formMovImm, w: w}
				}
			case isa.ALUNeg:
				if !x {
					t[c] = form{kind: formNeg, w: w}
				}
			case isa.ALULsh, isa.ALURsh, isa.ALUArsh:
				if !x {
					t[c] = form{kind: formShiftImm, w: w, op: byte(shiftOps[op>>4])}
				}
			}
		case isa.ClassLDX:
			switch mw := memWidth(o.Size()); {
			case o.Mode() == isa.ModeMEM:
				t[c] = form{kind: formLoad, mw: mw}
			case o.Mode() == isa.ModeMEMSX && mw != W64:
				t[c] = form{kind: formLoadSX, mw: mw}
			}
		case isa.ClassSTX:
			switch o.Mode() {
			case isa.ModeMEM:
				t[c] = form{kind: formStore, mw: memWidth(o.Size())}
			case isa.ModeATOMIC:
				t[c] = form{kind: formAtomic, mw: memWidth(o.Size())}
			}
		case isa.ClassST:
			if o.Mode() == isa.ModeMEM {
				t[c] = form{kind: formStoreImm, mw: memWidth(o.Size())}
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
				t[c] = form{kind: formTestX, w: w, cc: cond.cc}
			case op == isa.JumpSET:
				t[c] = form{kind: formTestK, w: w, cc: cond.cc}
			case x:
				t[c] = form{kind: formJccX, w: w, cc: cond.cc}
			default:
				t[c] = form{kind: formJccK, w: w, cc: cond.cc}
			}
		}
	}
	return t
}()

// LowerRange implements emit.RangeBackend.
func (b *Backend) LowerRange(c *emit.Compiler, f *emit.Func, from, to int) error {
	s := c.S
	insns, targets := s.Insns[:to], s.Target[:to]
	offs := c.SlotOffsets()[:to+1]
	// With a budget, backward jumps are charged (jump); without one every jump is plain.
	jumps := c.Budget == 0
	code := c.Buf.Code
	for i := from; i < to; i++ {
		if cap(code)-len(code) < 16 {
			code = slices.Grow(code, 16)
		}
		at := len(code)
		offs[i] = int32(at)
		p := (*[16]byte)(code[at : at+16])
		in := &insns[i]
		d := reg(in.Dst)
		n := 0
		switch fm := &forms[in.Opcode]; fm.kind {
		case formRR:
			n = putRR(p, fm.w, fm.op, reg(in.Src), d)
		case formRI:
			n = putALUImm(p, ALUOp(fm.op), fm.w, d, in.Imm)
		case formMovRR:
			if src := reg(in.Src); in.Off == 0 && src != d {
				n = putMov(p, fm.w, d, src)
			}
		case formMovImm:
			if fm.w {
				n = putMovConst(p, d, uint64(int64(in.Imm)))
			} else {
				n = putMovImm32(p, d, uint32(in.Imm))
			}
		case formNeg:
			n = putRR(p, fm.w, 0xf7, g3Neg, d)
		case formShiftImm:
			mask := uint8(31)
			if fm.w {
				mask = 63
			}
			if k := uint8(in.Imm) & mask; k != 0 {
				n = putShiftImm(p, ShiftOp(fm.op), fm.w, d, k)
			}
		case formLoad:
			n = putLoad(p, fm.mw, d, Mem{reg(in.Src), int32(in.Off)})
		case formLoadSX:
			n = putLoadSX(p, fm.mw, d, Mem{reg(in.Src), int32(in.Off)})
		case formStore:
			n = putStore(p, fm.mw, Mem{d, int32(in.Off)}, reg(in.Src))
		case formStoreImm:
			n = putStoreImm(p, fm.mw, Mem{d, int32(in.Off)}, in.Imm)
		case formAtomic:
			n, _ = putAtomic(p, isa.AtomicOp(in.Imm), fm.mw, Mem{d, int32(in.Off)}, reg(in.Src))
		case formLdImm64:
			if in.Src == 0 && i+1 < to {
				code = code[:at+putMovConst(p, d, isa.Imm64(*in, insns[i+1]))]
				i++
				offs[i] = int32(len(code))
				continue
			}
		case formJa:
			if jumps {
				p[0], n = 0xeb, 2
				c.Buf.PlaceBranch(at, kindJmp, 0, c.Label(targets[i]))
			}
		case formJccX, formJccK, formTestX, formTestK:
			if !jumps {
				break
			}
			switch {
			case fm.kind == formJccX:
				n = putRR(p, fm.w, byte(CMP)<<3|1, reg(in.Src), d)
			case fm.kind == formTestX:
				n = putRR(p, fm.w, 0x85, reg(in.Src), d)
			case fm.kind == formTestK:
				n = putImm(p, putRR(p, fm.w, 0xf7, g3Test, d), in.Imm, false)
			case in.Imm == 0: // same flags as cmp d, 0 for every condition
				n = putRR(p, fm.w, 0x85, d, d)
			default:
				n = putALUImm(p, CMP, fm.w, d, in.Imm)
			}
			p[n&15] = 0x70 | byte(fm.cc)
			c.Buf.PlaceBranch(at+n, kindJcc, uint8(fm.cc), c.Label(targets[i]))
			n += 2
		}
		if n > 0 {
			code = code[:at+n]
			continue
		}
		// Every other form, and the fast forms' special cases.
		c.Buf.Code = code
		c.Lowering(i)
		k, err := b.Lower(c, f, i)
		if err != nil {
			return c.SlotError(i, err)
		}
		code = c.Buf.Code
		if k == 2 {
			i++
			offs[i] = int32(len(code))
		}
	}
	c.Buf.Code = code
	return nil
}
