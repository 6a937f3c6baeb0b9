package amd64

import (
	"encoding/binary"
	"fmt"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/regalloc"
)

// Backend lowers BPF to x86-64 following ARCHITECTURE-NOTES §3 and the bridge's calling
// contract (bridge/doc.go): r12 holds the bridge context and is never written; helper k
// is called with `mov r11d, k; call [r12 + GateEntryDisp]`; r9, r10 (blinding AX) and r11
// are scratch inside one instruction's sequence.
type Backend struct {
	// GateEntryDisp is the offset of the helper gate's address in the bridge context.
	GateEntryDisp int32
	// ScratchDisp is the offset of a context word the code owns during a run; the
	// execution budget (emit.Options.Budget) counts down there.
	ScratchDisp int32
	// TailCallCountDisp is the offset of the context word counting a run's tail calls
	// (0: no tail calls; see tailcall.go). It must differ from ScratchDisp.
	TailCallCountDisp int32
	// StackTopDisp is the context word where a run with tail calls records its entry
	// stack pointer, and TailCallStackLimit the native stack a run may have used when a
	// BPF-to-BPF callee makes a tail call (see emit.TailCallBackend).
	StackTopDisp       int32
	TailCallStackLimit int32
}

// Scratch registers. AX (r10) only carries values inside one blinded group, so the
// lowering of a single instruction may use it once it has read its operands.
const (
	tmp  = R11 // also the helper index at a gate call
	tmp2 = R9
	tmp3 = R10
	ctx  = R12
)

// Branch kinds.
const (
	kindJmp  uint8 = iota // jmp rel8 / rel32
	kindJcc               // jcc rel8 / rel32; Arg is the condition
	kindCall              // call rel32 (fixed)
	kindLea               // lea reg, [rip+rel32] (fixed); Arg is the register
)

// Regs implements emit.Backend.
func (*Backend) Regs() *regalloc.Map { return &regalloc.AMD64 }

// BranchSize implements emit.BranchEncoder.
func (*Backend) BranchSize(k uint8, long bool) int {
	switch k {
	case kindJmp:
		if long {
			return Jmp32Size
		}
		return Jmp8Size
	case kindJcc:
		if long {
			return Jcc32Size
		}
		return Jcc8Size
	case kindCall:
		return CallSize
	}
	return LeaRIPSize
}

// ShortReaches implements emit.BranchEncoder: rel8 counts from the end of the 2-byte form.
func (*Backend) ShortReaches(k uint8, from, to int) bool {
	return fits8(int64(to - (from + 2)))
}

// PutBranch implements emit.BranchEncoder.
func (b *Backend) PutBranch(dst []byte, br emit.Branch, from, to int) error {
	size := b.BranchSize(br.Kind, br.Long)
	rel := int64(to - (from + size))
	if rel != int64(int32(rel)) || (!br.Long && !fits8(rel)) {
		return fmt.Errorf("amd64: branch from %#x to %#x out of range", from, to)
	}
	// The jumps, by far the most common branches, are written in place (dst has exactly
	// their size); the rest go through the encoder.
	switch {
	case br.Kind == kindJmp && !br.Long:
		dst[0], dst[1] = 0xeb, byte(rel)
		return nil
	case br.Kind == kindJcc && !br.Long:
		dst[0], dst[1] = 0x70|br.Arg&0xf, byte(rel)
		return nil
	case br.Kind == kindJcc:
		dst[0], dst[1] = 0x0f, 0x80|br.Arg&0xf
		binary.LittleEndian.PutUint32(dst[2:6], uint32(rel))
		return nil
	}
	c := Code(dst[:0])
	switch br.Kind {
	case kindJmp:
		c.Jmp32(int32(rel))
	case kindCall:
		c.CallRel32(int32(rel))
	case kindLea:
		c.LeaRIP(Reg(br.Arg), int32(rel))
	}
	return nil
}

// hostReg is regalloc.AMD64.Reg as a table indexed by a 4-bit register field, so the
// lookup needs no bounds check (fields above AX are rejected before lowering).
var hostReg = func() (t [16]Reg) {
	for r, h := range regalloc.AMD64.Reg {
		t[r] = Reg(h)
	}
	return t
}()

func reg(r isa.Register) Reg { return hostReg[r&15] }

func code(c *emit.Compiler) *Code { return (*Code)(&c.Buf.Code) }

// Prologue implements emit.Backend:
//
//	nop5                  patchable entry (trampolines/freplace rewrite it)
//	<run init>            main function only: tail-call counter, budget (runInit)
//	                      f.TailEntry: tail calls enter here
//	push rbp; mov rbp, rsp
//	sub rsp, depth        the BPF stack is [rbp-depth, rbp)
//	push <saved>          only the callee-saved registers the function writes
//	sub rsp, 8            if needed to keep rsp 16-byte aligned at calls
//
// The depth is the Compiler's FrameDepth: a main function with direct tail calls and no
// subprograms reserves the most BPF stack a program may use.
func (b *Backend) Prologue(c *emit.Compiler, f *emit.Func) {
	a := code(c)
	a.Nop5()
	b.runInit(c, f)
	c.Buf.Bind(f.TailEntry)
	a.Push(RBP)
	a.Mov(W64, RBP, RSP)
	if depth := c.FrameDepth(f); depth > 0 {
		a.ALUImm(SUB, W64, RSP, int32(depth))
	}
	for _, r := range f.Saved {
		a.Push(Reg(r))
	}
	if len(f.Saved)%2 == 1 {
		a.ALUImm(SUB, W64, RSP, 8)
	}
}

// chargeBudget counts one backward jump or call against the budget.
func (b *Backend) chargeBudget(c *emit.Compiler) {
	if c.Budget == 0 {
		return
	}
	code(c).ALUMemImm(SUB, W64, Mem{ctx, b.ScratchDisp}, 1)
	c.Buf.AddBranch(kindJcc, uint8(CondE), c.BudgetStub)
}

// BudgetExhausted implements emit.BudgetBackend: call the budget helper, which aborts
// the run and never returns here.
func (b *Backend) BudgetExhausted(c *emit.Compiler) {
	a := code(c)
	a.MovImm32(tmp, uint32(c.BudgetHelper))
	a.CallMem(Mem{ctx, b.GateEntryDisp})
	a.Ud2()
}

// Epilogue implements emit.Backend.
func (*Backend) Epilogue(c *emit.Compiler, f *emit.Func) {
	a := code(c)
	if len(f.Saved)%2 == 1 {
		a.ALUImm(ADD, W64, RSP, 8)
	}
	for i := len(f.Saved) - 1; i >= 0; i-- {
		a.Pop(Reg(f.Saved[i]))
	}
	a.Leave()
	a.Ret()
}

func width(c isa.Class) Width {
	if c == isa.ClassALU64 || c == isa.ClassJMP {
		return W64
	}
	return W32
}

func memWidth(s isa.Size) Width {
	switch s {
	case isa.SizeB:
		return W8
	case isa.SizeH:
		return W16
	case isa.SizeW:
		return W32
	}
	return W64
}

// Lower implements emit.Backend.
func (b *Backend) Lower(c *emit.Compiler, f *emit.Func, i int) (int, error) {
	in := &c.S.Insns[i]
	a := code(c)
	switch cl := in.Opcode.Class(); cl {
	case isa.ClassALU, isa.ClassALU64:
		return 1, b.alu(c, in, width(cl))
	case isa.ClassJMP, isa.ClassJMP32:
		return 1, b.jump(c, f, i, in, width(cl))
	case isa.ClassLDX:
		m := Mem{reg(in.Src), int32(in.Off)}
		if in.Opcode.Mode() == isa.ModeMEMSX {
			a.LoadSX(memWidth(in.Opcode.Size()), reg(in.Dst), m)
		} else {
			a.Load(memWidth(in.Opcode.Size()), reg(in.Dst), m)
		}
		return 1, nil
	case isa.ClassST:
		a.StoreImm(memWidth(in.Opcode.Size()), Mem{reg(in.Dst), int32(in.Off)}, in.Imm)
		return 1, nil
	case isa.ClassSTX:
		if in.Opcode.Mode() == isa.ModeATOMIC {
			return 1, b.atomic(c, in)
		}
		a.Store(memWidth(in.Opcode.Size()), Mem{reg(in.Dst), int32(in.Off)}, reg(in.Src))
		return 1, nil
	case isa.ClassLD:
		if !in.IsLdImm64() || i+1 >= len(c.S.Insns) {
			return 0, emit.Errorf(int(c.S.Orig[i]), emit.ErrUnsupported, "opcode %#02x", uint8(in.Opcode))
		}
		return 2, b.ldImm64(c, i, in)
	}
	return 0, emit.Errorf(int(c.S.Orig[i]), emit.ErrUnsupported, "opcode %#02x", uint8(in.Opcode))
}

func (b *Backend) ldImm64(c *emit.Compiler, i int, in *isa.Instruction) error {
	a := code(c)
	d := reg(in.Dst)
	switch in.Src {
	case 0:
		a.MovConst(d, isa.Imm64(*in, c.S.Insns[i+1]))
	case isa.PseudoFunc:
		l, ok := c.FuncEntry(c.S.Target[i])
		if !ok {
			return emit.Errorf(int(c.S.Orig[i]), emit.ErrUnsupported, "function address of a non-function")
		}
		c.Buf.AddBranch(kindLea, uint8(d), l)
	default:
		// Map, map value or BTF object: movabs with an 8-byte hole the loader fills.
		a.b(0x48|d.hi(), 0xb8+d.low3())
		c.AddReloc(i)
		a.imm64(0)
	}
	return nil
}

// Tables indexed by the BPF operation (bits 4–7 of the opcode).
var aluOps = [16]ALUOp{isa.ALUAdd >> 4: ADD, isa.ALUSub >> 4: SUB, isa.ALUOr >> 4: OR, isa.ALUAnd >> 4: AND, isa.ALUXor >> 4: XOR}

var shiftOps = [16]ShiftOp{isa.ALULsh >> 4: SHL, isa.ALURsh >> 4: SHR, isa.ALUArsh >> 4: SAR}

func (b *Backend) alu(c *emit.Compiler, in *isa.Instruction, w Width) error {
	a := code(c)
	op := in.Opcode.ALUOp()
	d := reg(in.Dst)
	isX := in.Opcode.Source() == isa.SourceX
	s := reg(in.Src)
	switch op {
	case isa.ALUAdd, isa.ALUSub, isa.ALUOr, isa.ALUAnd, isa.ALUXor:
		if isX {
			a.ALU(aluOps[op>>4], w, d, s)
		} else {
			a.ALUImm(aluOps[op>>4], w, d, in.Imm)
		}
	case isa.ALUMov:
		switch {
		case !isX:
			if w == W64 {
				a.MovConst(d, uint64(int64(in.Imm)))
			} else {
				a.MovImm32(d, uint32(in.Imm))
			}
		case in.Off == 0:
			if d != s || (w == W32 && c.NeedZext()) { // mov r32, r32 zero-extends even onto itself
				a.Mov(w, d, s)
			}
		default: // movsx: off is the source width
			a.Movsx(w, d, s, Width(in.Off))
		}
	case isa.ALUMul:
		if isX {
			a.Imul(w, d, s)
		} else {
			a.ImulImm(w, d, d, in.Imm)
		}
	case isa.ALUDiv, isa.ALUMod:
		b.divmod(a, in, w)
	case isa.ALULsh, isa.ALURsh, isa.ALUArsh:
		sop := shiftOps[op>>4]
		if !isX {
			n := uint8(in.Imm) & uint8(w-1) // the interpreter masks counts like the hardware
			if n != 0 {
				a.ShiftImm(sop, w, d, n)
			} else if w == W32 {
				a.Mov(W32, d, d)
			}
			return nil
		}
		shiftByReg(a, sop, w, d, s, w == W32 && c.NeedZext())
	case isa.ALUNeg:
		a.Neg(w, d)
	case isa.ALUEnd:
		b.byteswap(a, in, w, d)
	default:
		return fmt.Errorf("%w: alu op %#02x", emit.ErrUnsupported, uint8(op))
	}
	return nil
}

// shiftByReg lowers d = d op s, the count in s. The count must be in cl: rcx is borrowed
// through r11 unless s is rcx. zext asks for the 32-bit result's zero extension, which a
// count of zero would otherwise skip.
func shiftByReg(a *Code, sop ShiftOp, w Width, d, s Reg, zext bool) {
	var q regSeq
	shifted := d
	if s != RCX {
		if d == RCX {
			shifted = tmp
		}
		q.n += putMov(q.window(), true, tmp, RCX)
		q.n += putMov(q.window(), true, RCX, s)
	}
	q.n += putRR(q.window(), w == W64, 0xd3, Reg(sop), shifted) // shift by cl
	if s != RCX {
		q.n += putMov(q.window(), true, RCX, tmp)
	}
	if zext {
		// A count of zero leaves the destination unwritten; BPF still zero-extends.
		q.n += putMov(q.window(), false, d, d)
	}
	*a = append(*a, q.b[:q.n]...)
}

// byteswap lowers le16/32/64, be16/32/64 and bswap16/32/64 on a little-endian host.
func (*Backend) byteswap(a *Code, in *isa.Instruction, w Width, d Reg) {
	swap := w == W64 || in.Opcode.Source() == isa.SourceX // ALU64 = bswap; ALU|X = to big endian
	switch in.Imm {
	case 16:
		if swap {
			a.ShiftImm(ROL, W16, d, 8)
		}
		a.Movzx(d, d, W16)
	case 32:
		if swap {
			a.Bswap(W32, d)
		} else {
			a.Mov(W32, d, d)
		}
	case 64:
		if swap {
			a.Bswap(W64, d)
		}
	}
}

// divmod lowers div, mod, sdiv and smod with BPF's edge semantics, which x86 would trap
// on: x/0 = 0, x%0 = x, INT_MIN/-1 = INT_MIN, INT_MIN%-1 = 0 (32-bit forms truncate and
// zero-extend).
func (b *Backend) divmod(a *Code, in *isa.Instruction, w Width) {
	d := reg(in.Dst)
	signed := in.Off == 1
	mod := in.Opcode.ALUOp() == isa.ALUMod
	zeroResult := func() {
		if mod {
			if w == W32 {
				a.Mov(W32, d, d)
			}
		} else {
			a.ALU(XOR, W32, d, d)
		}
	}
	minusOne := func() { // x / -1 = -x (wrapping), x % -1 = 0
		if mod {
			a.ALU(XOR, W32, d, d)
		} else {
			a.Neg(w, d)
		}
	}
	if in.Opcode.Source() == isa.SourceK {
		switch {
		case in.Imm == 0:
			zeroResult()
		case signed && in.Imm == -1:
			minusOne()
		default:
			if w == W64 {
				a.MovConst(tmp, uint64(int64(in.Imm)))
			} else {
				a.MovImm32(tmp, uint32(in.Imm))
			}
			b.divCore(a, w, d, tmp, signed, mod)
		}
		return
	}
	s := reg(in.Src)
	a.Test(w, s, s)
	nonzero := a.JccFwd(CondNE)
	zeroResult()
	done := a.JmpFwd()
	a.Land(nonzero)
	done2 := -1
	if signed {
		a.ALUImm(CMP, w, s, -1)
		normal := a.JccFwd(CondNE)
		minusOne()
		done2 = a.JmpFwd()
		a.Land(normal)
	}
	b.divCore(a, w, d, s, signed, mod)
	a.Land(done)
	if done2 >= 0 {
		a.Land(done2)
	}
}

// divCore divides d by a non-zero divisor s (not -1 when signed) into d, preserving every
// other BPF register: rax and rdx are parked in r9/r10 around the division. Every
// instruction is a register form, assembled locally and appended at once.
func (*Backend) divCore(a *Code, w Width, d, s Reg, signed, mod bool) {
	var q regSeq
	if s != tmp {
		q.n += putMov(q.window(), true, tmp, s)
	}
	q.n += putMov(q.window(), true, tmp2, RAX)
	q.n += putMov(q.window(), true, tmp3, RDX)
	if d != RAX {
		q.n += putMov(q.window(), true, RAX, d)
	}
	switch {
	case !signed:
		q.n += putRR(q.window(), false, byte(XOR)<<3|1, RDX, RDX)
		q.n += putRR(q.window(), w == W64, 0xf7, g3Div, tmp)
	case w == W64:
		q.n += copy(q.b[q.n:], []byte{0x48, 0x99}) // cqo
		q.n += putRR(q.window(), true, 0xf7, g3Idiv, tmp)
	default:
		q.b[q.n] = 0x99 // cdq
		q.n++
		q.n += putRR(q.window(), false, 0xf7, g3Idiv, tmp)
	}
	res := RAX
	if mod {
		res = RDX
	}
	q.n += putMov(q.window(), w == W64, tmp, res) // the W32 form zero-extends the result
	q.n += putMov(q.window(), true, RAX, tmp2)
	q.n += putMov(q.window(), true, RDX, tmp3)
	q.n += putMov(q.window(), true, d, tmp)
	*a = append(*a, q.b[:q.n]...)
}

// regSeq assembles a short run of 32/64-bit register instructions in a local buffer. Its
// users write `q.n += putX(q.window(), ...)` rather than call a method per instruction:
// that keeps the (inlined) encoder in their own body.
type regSeq struct {
	b [64]byte
	n int
}

func (q *regSeq) window() *[16]byte { return (*[16]byte)(q.b[q.n : q.n+16]) }

// atomicALUOp returns the x86 operation of a BPF atomic add, or, and or xor (with or
// without fetch).
func atomicALUOp(op isa.AtomicOp) ALUOp {
	switch op &^ isa.AtomicFetch {
	case isa.AtomicOr:
		return OR
	case isa.AtomicAnd:
		return AND
	case isa.AtomicXor:
		return XOR
	}
	return ADD
}

// putAtomic writes the atomic operations that are a single x86 instruction (xchg, add,
// or, and and xor without fetch, fetch-add) and reports false for the others.
func putAtomic(p *[16]byte, op isa.AtomicOp, w Width, m Mem, s Reg) (int, bool) {
	switch xop := atomicALUOp(op); {
	case op == isa.AtomicXchg:
		return putXchg(p, w, m, s), true // the W32 form zero-extends s
	case op == isa.AtomicCmpXchg:
	case op&isa.AtomicFetch == 0:
		return putLockALU(p, xop, w, m, s), true
	case xop == ADD:
		return putLockXadd(p, w, m, s), true
	}
	return 0, false
}

func (b *Backend) atomic(c *emit.Compiler, in *isa.Instruction) error {
	atomicCode(code(c), in, c.NeedZext())
	return nil
}

// atomicCode appends the lowering of the atomic in; zext asks for the zero extension of
// a 32-bit cmpxchg's r0.
func atomicCode(a *Code, in *isa.Instruction, zext bool) {
	w := memWidth(in.Opcode.Size())
	m := Mem{reg(in.Dst), int32(in.Off)}
	s := reg(in.Src)
	op := isa.AtomicOp(in.Imm)
	if n, ok := putAtomic(a.window(), op, w, m, s); ok {
		a.commit(n)
		return
	}
	// BPF atomics are 32- or 64-bit: every instruction below is a register or 32/64-bit
	// memory form, assembled locally.
	var q regSeq
	w64 := w == W64
	switch {
	case op == isa.AtomicCmpXchg:
		q.n += putLockCmpxchg(q.window(), w, m, s)
		if w == W32 && zext {
			// On success cmpxchg leaves rax untouched; BPF's r0 is the zero-extended old value.
			q.n += putMov(q.window(), false, RAX, RAX)
		}
	default:
		// Fetch-and/or/xor: a cmpxchg loop through rax (BPF r0, parked in r9).
		if m.Base == RAX {
			q.n += putMov(q.window(), true, tmp3, RAX)
			m.Base = tmp3
		}
		src := s
		if s == RAX {
			src = tmp2
		}
		q.n += putMov(q.window(), true, tmp2, RAX)
		q.n += putLoad(q.window(), w, RAX, m)
		loop := q.n
		q.n += putMov(q.window(), w64, tmp, RAX)
		q.n += putRR(q.window(), w64, byte(atomicALUOp(op))<<3|1, src, tmp)
		q.n += putLockCmpxchg(q.window(), w, m, tmp)
		q.n += putJcc8(q.window(), CondNE, loop-(q.n+2))
		if s != RAX {
			q.n += putMov(q.window(), w64, s, RAX)
			q.n += putMov(q.window(), true, RAX, tmp2)
		}
	}
	*a = append(*a, q.b[:q.n]...)
}

// conds maps a conditional jump (bits 4–7) to its x86 condition; ok marks the valid ones.
var conds = [16]struct {
	cc Cond
	ok bool
}{
	isa.JumpEQ >> 4: {CondE, true}, isa.JumpNE >> 4: {CondNE, true}, isa.JumpSET >> 4: {CondNE, true},
	isa.JumpGT >> 4: {CondA, true}, isa.JumpGE >> 4: {CondAE, true}, isa.JumpLT >> 4: {CondB, true}, isa.JumpLE >> 4: {CondBE, true},
	isa.JumpSGT >> 4: {CondG, true}, isa.JumpSGE >> 4: {CondGE, true}, isa.JumpSLT >> 4: {CondL, true}, isa.JumpSLE >> 4: {CondLE, true},
}

func (b *Backend) jump(c *emit.Compiler, f *emit.Func, i int, in *isa.Instruction, w Width) error {
	a := code(c)
	op := in.Opcode.JumpOp()
	if (in.IsJump() && int(c.S.Target[i]) <= i) || in.IsLocalCall() {
		b.chargeBudget(c)
	}
	switch {
	case op == isa.JumpA:
		c.Buf.AddBranch(kindJmp, 0, c.Label(c.S.Target[i]))
		return nil
	case op == isa.JumpExit:
		if i+1 != f.End { // the last slot falls through into the epilogue
			c.Buf.AddBranch(kindJmp, 0, f.Exit)
		}
		return nil
	case in.IsCallX():
		// The bridge rejects an index with no helper (Run returns an error), so any
		// value, including one above 32 bits, is safe here.
		a.Mov(W64, tmp, reg(in.Dst))
		a.CallMem(Mem{ctx, b.GateEntryDisp})
		return nil
	case in.IsLocalCall():
		l, ok := c.FuncEntry(c.S.Target[i])
		if !ok {
			return emit.Errorf(int(c.S.Orig[i]), emit.ErrUnsupported, "call target is not a function")
		}
		c.Buf.AddBranch(kindCall, 0, l)
		return nil
	case emit.IsTailCall(in):
		b.tailCall(c, f, i)
		return nil
	case c.InlineArrayLookup(i):
		b.inlineArrayLookup(c)
		return nil
	case in.IsHelperCall():
		a.MovImm32(tmp, uint32(in.Imm))
		a.CallMem(Mem{ctx, b.GateEntryDisp})
		return nil
	case op == isa.JumpCall:
		return emit.Errorf(int(c.S.Orig[i]), emit.ErrUnsupported, "call with source %d", in.Src)
	}
	cc, ok := conds[op>>4].cc, conds[op>>4].ok
	if !ok {
		return emit.Errorf(int(c.S.Orig[i]), emit.ErrUnsupported, "jump op %#02x", uint8(op))
	}
	d := reg(in.Dst)
	switch {
	case in.Opcode.Source() == isa.SourceX && op == isa.JumpSET:
		a.Test(w, d, reg(in.Src))
	case in.Opcode.Source() == isa.SourceX:
		a.ALU(CMP, w, d, reg(in.Src))
	case op == isa.JumpSET:
		a.TestImm(w, d, in.Imm)
	case in.Imm == 0:
		a.Test(w, d, d) // same flags as cmp d, 0 for every condition: CF = OF = 0
	default:
		a.ALUImm(CMP, w, d, in.Imm)
	}
	c.Buf.AddBranch(kindJcc, uint8(cc), c.Label(c.S.Target[i]))
	return nil
}
