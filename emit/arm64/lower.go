package arm64

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"runtime"

	"golang.org/x/sys/cpu"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/regalloc"
)

// AtomicMode selects how BPF atomics are lowered.
type AtomicMode uint8

const (
	// AtomicAuto uses LSE instructions when the host is an arm64 CPU that has them
	// (golang.org/x/sys/cpu), and exclusive-monitor loops otherwise, including when
	// cross-compiling from another architecture, where the target CPU is unknown.
	AtomicAuto AtomicMode = iota
	// AtomicLSE always uses LSE (Armv8.1) instructions: ldaddal, ldclral, ldsetal,
	// ldeoral, swpal, casal.
	AtomicLSE
	// AtomicExclusive always uses ldaxr/stlxr loops (Armv8.0).
	AtomicExclusive
)

// Backend lowers BPF to A64 following ARCHITECTURE-NOTES §3 and the bridge's arm64
// contract (bridge/doc.go): BPF R0 x7, R1–R5 x0–x4, R6–R9 x19–x22, R10 x25, blinding
// AX x9; x23 holds the bridge context and is never written; x24 holds the execution
// budget when there is one; x10–x12 and x16 are scratch inside one instruction's
// sequence; x18 and x28 are never touched.
//
// Helper k is called with "mov w9, #k; ldr x16, [x23, #GateEntryDisp]; blr x16".
type Backend struct {
	// GateEntryDisp is the offset of the helper gate's address in the bridge context
	// (bridge.CtxGateEntry); a multiple of 8 below 32768.
	GateEntryDisp int32
	// Atomics selects LSE or exclusive-monitor atomics (tests force each).
	Atomics AtomicMode
	// TailCallCountDisp is the offset of the context word counting a run's tail calls
	// (0: no tail calls; see tailcall.go); a multiple of 8 below 32768.
	TailCallCountDisp int32
	// StackTopDisp is the context word where a run with tail calls records its entry
	// stack pointer (a multiple of 8 below 32768), and TailCallStackLimit the native stack
	// a run may have used when a BPF-to-BPF callee makes a tail call (see
	// emit.TailCallBackend).
	StackTopDisp       int32
	TailCallStackLimit int32
}

// The execution budget (emit.Options.Budget) lives in x24 for the whole run: BPF
// does not map it, the bridge lets the image clobber it on entry and preserves it
// across helper calls, and BPF functions never write it. Charging it is therefore
// two instructions, with no memory traffic.
const budgetReg = X24

// Scratch registers.
const (
	tmp   = X10 // offsets, immediates, atomic addresses
	tmp2  = X11 // second immediate, division quotient, old value in LL/SC loops
	tmp3  = X12 // new value in LL/SC loops
	ip0   = X16 // gate address, stlxr status, long adr offset
	ctxr  = X23 // bridge context: never written
	bpf0  = X7  // BPF R0
	bpfFP = X25 // BPF R10
)

// Branch kinds.
const (
	kindB     uint8 = iota // b: one form, ±128 MiB
	kindBCond              // b.cond (±1 MiB) or b.!cond +8; b target; Arg is the Cond
	kindBL                 // bl: one form
	kindAdr                // adr xd (±1 MiB) or adr xd, .; movz/movk x16; add/sub xd, xd, x16; Arg is the register
	kindCB                 // cbz/cbnz (±1 MiB) or the inverse +8; b target; Arg is cbArg
)

// cbArg packs a cbz/cbnz operand into a Branch.Arg: register, width, nonzero.
func cbArg(rt Reg, w Width, nonzero bool) uint8 {
	a := uint8(rt) | uint8(w)<<5
	if nonzero {
		a |= 1 << 6
	}
	return a
}

func cbUnpack(a uint8) (rt Reg, w Width, nonzero bool) {
	return Reg(a & 31), Width(a >> 5 & 1), a&(1<<6) != 0
}

// Regs implements emit.Backend.
func (*Backend) Regs() *regalloc.Map { return &regalloc.ARM64 }

// BranchSize implements emit.BranchEncoder.
func (*Backend) BranchSize(k uint8, long bool) int {
	switch {
	case (k == kindBCond || k == kindCB) && long:
		return 8
	case k == kindAdr && long:
		return 16
	}
	return 4
}

// ShortReaches implements emit.BranchEncoder.
func (*Backend) ShortReaches(k uint8, from, to int) bool {
	off := int64(to - from)
	switch k {
	case kindBCond, kindCB:
		return BCondOK(off)
	case kindAdr:
		return off >= BCondMin && off <= ADRMax
	}
	return BOK(off)
}

// PutBranch implements emit.BranchEncoder. b and bl reach ±128 MiB, more than the
// code of any program the verifier accepts (1M instructions); a larger image is
// refused with the encoder's *BranchRangeError rather than miscompiled.
func (b *Backend) PutBranch(dst []byte, br emit.Branch, from, to int) error {
	off := int64(to - from)
	// The forms that are one word and in reach (most branches) are written directly.
	if len(dst) == 4 {
		switch {
		case (br.Kind == kindB || br.Kind == kindBL) && BOK(off):
			base := uint32(bBase)
			if br.Kind == kindBL {
				base = blBase
			}
			putWord(dst, b26(base, off))
			return nil
		case br.Kind == kindBCond && !br.Long && BCondOK(off) && Cond(br.Arg) <= NV:
			putWord(dst, bcond(Cond(br.Arg), off))
			return nil
		case br.Kind == kindCB && !br.Long && BCondOK(off):
			rt, w, nz := cbUnpack(br.Arg)
			putWord(dst, cb(nz, w, uint32(rt), off))
			return nil
		}
	}
	var s Seq
	var err error
	switch br.Kind {
	case kindB:
		s.addE(B(off))
	case kindBL:
		s.addE(BL(off))
	case kindBCond:
		if br.Long {
			s, err = BCondFar(Cond(br.Arg), off)
		} else {
			s.addE(BCond(Cond(br.Arg), off))
		}
	case kindCB:
		rt, w, nz := cbUnpack(br.Arg)
		if br.Long {
			s.addE(Cbz(!nz, w, rt, 8))
			s.addE(B(off - 4))
		} else {
			s.addE(Cbz(nz, w, rt, off))
		}
	case kindAdr:
		rd := Reg(br.Arg)
		if !br.Long {
			s.addE(Adr(rd, off))
			break
		}
		if off < -1<<32+1 || off >= 1<<32 {
			return &BranchRangeError{Op: "adr", Offset: off, Min: -1<<32 + 1, Max: 1<<32 - 1}
		}
		op, mag := ADD, uint64(off)
		if off < 0 {
			op, mag = SUB, uint64(-off)
		}
		s.addE(Adr(rd, 0))
		s.addE(MoveWide(MOVZ, W64, ip0, uint16(mag), 0))
		s.addE(MoveWide(MOVK, W64, ip0, uint16(mag>>16), 1))
		s.addE(AddSubReg(op, W64, rd, rd, ip0))
	default:
		return fmt.Errorf("arm64: unknown branch kind %d", br.Kind)
	}
	if err == nil {
		err = s.err
	}
	if err != nil {
		return err
	}
	if 4*s.Len() != len(dst) {
		return fmt.Errorf("arm64: branch kind %d is %d bytes, slot has %d", br.Kind, 4*s.Len(), len(dst))
	}
	for k, i := range s.Insts() {
		putWord(dst[4*k:], i)
	}
	return nil
}

// Seq.add for (Inst, error) pairs; the first error is kept in the Seq.
func (s *Seq) addE(i Inst, err error) {
	if err != nil && s.err == nil {
		s.err = err
	}
	s.add(i)
}

// lowerer emits into the compiler's buffer and keeps the first encoding error.
type lowerer struct {
	c   *emit.Compiler
	buf *emit.Buffer // &c.Buf, where put appends
	be  *Backend
	err error
}

func (l *lowerer) emit(i Inst, err error) {
	if err != nil {
		if l.err == nil {
			l.err = err
		}
		return
	}
	l.c.Buf.Code = appendWord(l.c.Buf.Code, i)
}

func (l *lowerer) seq(s Seq, err error) {
	if err != nil {
		if l.err == nil {
			l.err = err
		}
		return
	}
	for _, i := range s.Insts() {
		l.c.Buf.Code = appendWord(l.c.Buf.Code, i)
	}
}

// pos is the current offset in the (unlinked) code; offsets between two positions
// are exact as long as no emit.Branch was added in between.
func (l *lowerer) pos() int { return len(l.c.Buf.Code) }

// hostReg is regalloc.ARM64.Reg as a table indexed by a 4-bit register field, so the
// lookup needs no bounds check (fields above AX are rejected before lowering).
var hostReg = func() (t [16]Reg) {
	for r, h := range regalloc.ARM64.Reg {
		t[r] = Reg(h)
	}
	return t
}()

func reg(r isa.Register) Reg { return hostReg[r&15] }

// Prologue implements emit.Backend:
//
//	mov x9, x30; nop            patchable entry (trampolines and freplace patch the nop)
//	<run init>                  main function only: tail-call counter, budget (runInit)
//	                            f.TailEntry: tail calls enter here
//	stp x29, x30, [sp, #-16]!   frame record: keeps the x29 chain valid for debuggers
//	mov x29, sp
//	stp <saved>, [sp, #-16]!    the callee-saved registers the function writes, and x25
//	mov x25, sp                 BPF R10: the BPF stack is [x25-depth, x25)
//	sub sp, sp, #depth
//
// x25 is saved by every function because each one sets its own R10, and a BPF-to-BPF
// caller relies on its R10 surviving the call.
func (b *Backend) Prologue(c *emit.Compiler, f *emit.Func) {
	l := &lowerer{c: c, buf: &c.Buf, be: b}
	e := PatchableEntry()
	l.emit(e[0], nil)
	l.emit(e[1], nil)
	l.runInit(f)
	c.Buf.Bind(f.TailEntry)
	l.emit(Stp(W64, PairPreIndex, FP, LR, SP, -16))
	l.emit(Mov(W64, FP, SP))
	saved := savedPairs(f)
	for k := 0; k < len(saved); k += 2 {
		l.emit(Stp(W64, PairPreIndex, saved[k], saved[k+1], SP, -16))
	}
	l.emit(Mov(W64, bpfFP, SP))
	// The Compiler's FrameDepth: a main function with direct tail calls and no
	// subprograms reserves the most BPF stack a program may use, so that more targets'
	// frames fit in its own (FrameFits).
	if depth := c.FrameDepth(f); depth > 0 {
		l.emit(AddSubImm(SUB, W64, SP, SP, uint64(depth)))
	}
	if l.err != nil {
		// Only reachable through a broken invariant (stack depth above MaxStackDepth);
		// make it visible instead of emitting a wrong frame.
		panic(fmt.Sprintf("arm64: prologue: %v", l.err))
	}
}

// chargeBudget counts one backward jump or call against the budget and leaves for
// the exhausted stub when it reaches zero (as the amd64 back end does).
func (l *lowerer) chargeBudget() {
	c := l.c
	if c.Budget == 0 {
		return
	}
	l.emit(AddSubImm(SUBS, W64, budgetReg, budgetReg, 1))
	l.branch(kindBCond, uint8(EQ), c.BudgetStub)
}

// BudgetExhausted implements emit.BudgetBackend: call the budget helper, which
// aborts the run and never returns here (brk traps if it ever did).
func (b *Backend) BudgetExhausted(c *emit.Compiler) {
	l := &lowerer{c: c, buf: &c.Buf, be: b}
	l.helperCall(func() { l.seq(MovImm(W32, X9, uint64(uint32(c.BudgetHelper)))) })
	l.emit(Brk(0xb0d))
	if l.err != nil {
		panic(fmt.Sprintf("arm64: budget stub: %v", l.err))
	}
}

// savedPairs returns the registers the prologue saves, padded with XZR to pairs.
func savedPairs(f *emit.Func) []Reg {
	out := make([]Reg, 0, len(f.Saved)+2)
	for _, r := range f.Saved {
		out = append(out, Reg(r))
	}
	out = append(out, bpfFP)
	if len(out)%2 == 1 {
		out = append(out, XZR)
	}
	return out
}

// Epilogue implements emit.Backend: unwinds the prologue and returns. The main
// program returns BPF R0 in x0, as the bridge expects; a subprogram leaves it in x7
// (BPF R0) and does not touch x0 (BPF R1), so BPF-to-BPF calls move nothing and the
// caller's R1–R5 hold whatever the callee left there, as in the interpreter.
func (b *Backend) Epilogue(c *emit.Compiler, f *emit.Func) {
	l := &lowerer{c: c, buf: &c.Buf, be: b}
	l.emit(Mov(W64, SP, bpfFP))
	saved := savedPairs(f)
	for k := len(saved) - 2; k >= 0; k -= 2 {
		l.emit(Ldp(W64, PairPostIndex, saved[k], saved[k+1], SP, 16))
	}
	l.emit(Ldp(W64, PairPostIndex, FP, LR, SP, 16))
	if f.Index == 0 {
		l.emit(Mov(W64, X0, bpf0))
	}
	l.emit(Ret(LR))
	if l.err != nil {
		panic(fmt.Sprintf("arm64: epilogue: %v", l.err))
	}
}

func width(c isa.Class) Width {
	if c == isa.ClassALU64 || c == isa.ClassJMP {
		return W64
	}
	return W32
}

// immValue is a BPF immediate as the operation sees it: sign-extended to 64 bits for
// 64-bit operations, its 32 bits for 32-bit ones.
func immValue(w Width, imm int32) uint64 {
	if w == W64 {
		return uint64(int64(imm))
	}
	return uint64(uint32(imm))
}

// Memory operations indexed by isa.Size>>3 (W, H, B, DW).
var (
	loadOps   = [4]MemOp{LDRW, LDRH, LDRB, LDRX}
	loadSXOps = [4]MemOp{LDRSWX, LDRSHX, LDRSBX, LDRX}
	storeOps  = [4]MemOp{STRW, STRH, STRB, STRX}
)

func sizeIndex(s isa.Size) int { return int(s>>3) & 3 }

// slotForm is how Lower handles one opcode. forms is indexed by the opcode byte, so
// lowering a slot starts with one table load and one switch, and the forms most
// programs are made of are encoded without any further decoding.
type slotForm struct {
	kind uint8
	w    Width
	op   uint8 // MemOp, AddSubOp, LogicOp, DP2Op or Cond, as the kind needs
	base Inst  // formRegOp, formMovX: the instruction with x0 in every register field; formLoad, formStore, formStoreK: the op's memWords entry
	// formAddSubK: the add or sub immediate; formCondJump: cmp #0, formCondJumpX: cmp or
	// tst of two registers. These have x0 in every register field (the compares have the
	// zero register as destination) and a zero immediate: the fast loop (fast.go) fills
	// them in.
}

const (
	formInvalid   = iota // an opcode no class lowers (bad ALU operation)
	formRegOp            // d = d op s, one instruction: add, sub, orr, and, eor, mul, shifts
	formAddSubK          // d = d ± k (op: ADD or SUB)
	formLogicK           // d = d op k (op: the LogicOp)
	formMulK             // d = d * k
	formDivMod           // div, mod and their signed forms, register or constant
	formShiftK           // d = d shifted by k (op: the DP2Op)
	formMovK             // d = k
	formMovX             // d = s, or a sign extension of s (movsx)
	formNeg              // d = -d
	formEnd              // byte swaps
	formLoad             // d = [s + off] (op: the MemOp)
	formStore            // [d + off] = s (op: the MemOp)
	formStoreK           // [d + off] = k (op: the MemOp)
	formAtomic           // atomic read-modify-write at [d + off]
	formCondJump         // conditional jumps on a constant (op: the Cond after cmp)
	formCondJumpX        // conditional jumps on a register (op: the Cond after cmp or tst)
	formTestK            // jset on a constant (op: NE)
	formJump             // calls and exit
	formJa               // ja
	formLD               // lddw (the rest of the class is unsupported)
)

// regOps are the ALU operations (indexed by isa.ALUOp>>4) whose register form is a
// single A64 instruction "op d, d, s"; the value encodes it with x0 everywhere.
var regOps = [16]func(Width) (Inst, error){
	isa.ALUAdd >> 4: func(w Width) (Inst, error) { return AddSubReg(ADD, w, X0, X0, X0) },
	isa.ALUSub >> 4: func(w Width) (Inst, error) { return AddSubReg(SUB, w, X0, X0, X0) },
	isa.ALUOr >> 4:  func(w Width) (Inst, error) { return LogicReg(ORR, w, X0, X0, X0) },
	isa.ALUAnd >> 4: func(w Width) (Inst, error) { return LogicReg(AND, w, X0, X0, X0) },
	isa.ALUXor >> 4: func(w Width) (Inst, error) { return LogicReg(EOR, w, X0, X0, X0) },
	isa.ALUMul >> 4: func(w Width) (Inst, error) { return Mul(w, X0, X0, X0) },
	isa.ALULsh >> 4: func(w Width) (Inst, error) { return DP2(LSLV, w, X0, X0, X0) },
	isa.ALURsh >> 4: func(w Width) (Inst, error) { return DP2(LSRV, w, X0, X0, X0) },
	// Variable shifts take the count modulo the width, as BPF (and the interpreter) do.
	isa.ALUArsh >> 4: func(w Width) (Inst, error) { return DP2(ASRV, w, X0, X0, X0) },
}

// ALU operations indexed by isa.ALUOp>>4.
var (
	logicOps = [16]LogicOp{isa.ALUOr >> 4: ORR, isa.ALUAnd >> 4: AND, isa.ALUXor >> 4: EOR}
	shiftOps = [16]DP2Op{isa.ALULsh >> 4: LSLV, isa.ALURsh >> 4: LSRV, isa.ALUArsh >> 4: ASRV}
)

var forms = func() (t [256]slotForm) {
	for o := range t {
		op := isa.Opcode(o)
		f := &t[o]
		switch cl := op.Class(); cl {
		case isa.ClassALU, isa.ClassALU64:
			f.w = width(cl)
			a := op.ALUOp() >> 4
			isX := op.Source() == isa.SourceX
			switch op.ALUOp() {
			case isa.ALUAdd, isa.ALUSub, isa.ALUOr, isa.ALUAnd, isa.ALUXor, isa.ALUMul, isa.ALULsh, isa.ALURsh, isa.ALUArsh:
				if isX {
					i, err := regOps[a](f.w)
					if err != nil {
						panic(fmt.Sprintf("arm64: register form of alu op %#02x: %v", uint8(op.ALUOp()), err))
					}
					f.kind, f.base = formRegOp, i
					continue
				}
			}
			switch op.ALUOp() {
			case isa.ALUAdd, isa.ALUSub:
				f.kind, f.op = formAddSubK, uint8(ADD)
				if op.ALUOp() == isa.ALUSub {
					f.op = uint8(SUB)
				}
				i, _ := addSubImm(AddSubOp(f.op), f.w, 0, 0, 0)
				f.base = i
			case isa.ALUOr, isa.ALUAnd, isa.ALUXor:
				f.kind, f.op = formLogicK, uint8(logicOps[a])
			case isa.ALUMul:
				f.kind = formMulK
			case isa.ALULsh, isa.ALURsh, isa.ALUArsh:
				f.kind, f.op = formShiftK, uint8(shiftOps[a])
			case isa.ALUDiv, isa.ALUMod:
				f.kind = formDivMod
			case isa.ALUMov:
				f.kind = formMovK
				if isX {
					i, err := Mov(f.w, X0, X0)
					if err != nil {
						panic(fmt.Sprintf("arm64: register move: %v", err))
					}
					f.kind, f.base = formMovX, i
				}
			case isa.ALUNeg:
				f.kind = formNeg
			case isa.ALUEnd:
				f.kind = formEnd
			}
		case isa.ClassLDX:
			f.kind, f.op = formLoad, uint8(loadOps[sizeIndex(op.Size())])
			if op.Mode() == isa.ModeMEMSX {
				f.op = uint8(loadSXOps[sizeIndex(op.Size())])
			}
			f.base = Inst(memWords[f.op])
		case isa.ClassST:
			f.kind, f.op = formStoreK, uint8(storeOps[sizeIndex(op.Size())])
			f.base, f.w = Inst(memWords[f.op]), W32
			if op.Size() == isa.SizeDW {
				f.w = W64 // the immediate is sign-extended to 64 bits
			}
		case isa.ClassSTX:
			f.kind, f.op = formStore, uint8(storeOps[sizeIndex(op.Size())])
			f.base = Inst(memWords[f.op])
			if op.Mode() == isa.ModeATOMIC {
				f.kind = formAtomic
			}
		case isa.ClassJMP, isa.ClassJMP32:
			f.kind, f.w = formJump, width(cl)
			switch j := op.JumpOp(); {
			case j == isa.JumpA:
				f.kind = formJa
			case hasCond[j>>4]:
				f.kind, f.op = formCondJump, uint8(conds[j>>4])
				switch {
				case op.Source() == isa.SourceX && j == isa.JumpSET:
					f.kind, f.base = formCondJumpX, logicShifted(ANDS, f.w, 31, 0, 0, LSL, 0) // tst
				case op.Source() == isa.SourceX:
					f.kind, f.base = formCondJumpX, addSubShifted(SUBS, f.w, 31, 0, 0, LSL, 0) // cmp
				case j == isa.JumpSET:
					f.kind = formTestK
				default:
					f.base, _ = addSubImm(SUBS, f.w, 31, 0, 0) // cmp #0
				}
			}
		case isa.ClassLD:
			f.kind = formLD
		}
	}
	return t
}()

// Lower implements emit.Backend: slot i (both halves of an lddw) as a range.
func (b *Backend) Lower(c *emit.Compiler, f *emit.Func, i int) (int, error) {
	n := 1
	if c.S.Insns[i].IsLdImm64() && i+1 < len(c.S.Insns) {
		n = 2
	}
	return n, b.lowerSlots(c, f, i, i+n, false)
}

// lowerSlots lowers slots [from, to): it records each slot's offset and dispatches on the
// opcode's form. With fast (LowerRange), lowerRun (fast.go) encodes the run of common
// forms ahead in its own loop, and the slot it stops at is lowered here; without it
// (Lower), every slot is lowered here: the reference the fast loop must match.
func (b *Backend) lowerSlots(c *emit.Compiler, f *emit.Func, from, to int, fast bool) error {
	l := lowerer{c: c, buf: &c.Buf, be: b}
	insns := c.S.Insns[:to]
	offs := c.SlotOffsets()[:to]
	lse := fast && b.useLSE()
	for i := from; i < len(insns); i++ {
		if fast {
			// lowerRun runs up to the slot where the code's capacity may run out
			// (fastRoom bytes a slot), and on after the capacity grows.
			for {
				stop := c.Buf.CapacityRun(i, to, fastRoom, minRun)
				if i = lowerRun(c, i, stop, lse); i != stop || stop == to {
					break
				}
			}
			if i >= len(insns) {
				break
			}
		}
		in := &insns[i]
		offs[i] = int32(len(c.Buf.Code))
		c.Lowering(i)
		fm := &forms[in.Opcode]
		d, s := reg(in.Dst), reg(in.Src)
		switch fm.kind {
		case formRegOp:
			l.put(fm.base | Inst(s)<<16 | Inst(d)<<5 | Inst(d))
			continue
		case formLoad, formStore:
			rt, base := d, s
			if fm.kind == formStore {
				rt, base = s, d
			}
			if i, ok := ldStImm(uint32(fm.base), uint32(rt), uint32(base), int64(in.Off)); ok {
				l.put(i) // the common case of mem, without the call
				continue
			}
			l.mem(MemOp(fm.op), rt, base, int64(in.Off))
		case formShiftK:
			if n := uint8(in.Imm) & uint8(fm.w.bits()-1); n != 0 {
				l.put(immShift(DP2Op(fm.op), fm.w, uint32(d), uint32(d), n)) // shiftImm's common case
				continue
			}
			l.shiftImm(DP2Op(fm.op), fm.w, d, 0)
		case formMovK:
			if i, ok := movImm1(fm.w, uint32(d), immValue(fm.w, in.Imm)); ok {
				l.put(i) // most constants: the common case of movImm, without the call
				continue
			}
			l.movImm(fm.w, d, immValue(fm.w, in.Imm))
		case formMovX:
			if err := l.movX(fm, d, s, in.Off); err != nil {
				return c.SlotError(i, err)
			}
		case formAddSubK:
			if i, ok := addSubK(AddSubOp(fm.op), fm.w, d, in.Imm); ok {
				l.put(i)
				continue
			}
			l.movImm(fm.w, tmp, immValue(fm.w, in.Imm))
			l.emit(AddSubReg(AddSubOp(fm.op), fm.w, d, d, tmp))
		case formLogicK:
			l.logicK(LogicOp(fm.op), fm.w, d, immValue(fm.w, in.Imm))
		case formMulK:
			l.mulK(fm.w, d, immValue(fm.w, in.Imm))
		case formDivMod:
			l.divMod(in, fm.w, d, s)
		case formNeg:
			l.put(addSubShifted(SUB, fm.w, uint32(d), uint32(XZR), uint32(d), LSL, 0)) // neg
		case formEnd:
			l.byteswap(in, fm.w, d)
		case formStoreK:
			l.storeK(MemOp(fm.op), in)
		case formAtomic:
			if err := l.atomic(in); err != nil {
				return c.SlotError(i, err)
			}
		case formCondJump, formCondJumpX, formTestK:
			l.condJump(i, in, fm)
		case formJump, formJa:
			if err := l.jump(f, i, in, fm.w); err != nil {
				return c.SlotError(i, err)
			}
		case formLD:
			if !in.IsLdImm64() || i+1 >= len(insns) {
				return emit.Errorf(int(c.S.Orig[i]), emit.ErrUnsupported, "opcode %#02x", uint8(in.Opcode))
			}
			if err := l.ldImm64(i, in); err != nil {
				return c.SlotError(i, err)
			}
			if l.err != nil {
				return c.SlotError(i, l.err)
			}
			i++ // the second half starts after the pair's code
			offs[i] = int32(len(c.Buf.Code))
		default:
			return c.SlotError(i, fmt.Errorf("%w: alu op %#02x", emit.ErrUnsupported, uint8(in.Opcode.ALUOp())))
		}
		if l.err != nil {
			return c.SlotError(i, l.err)
		}
	}
	return nil
}

// storeK emits [dst + off] = imm (st): the zero register for 0, through tmp2 otherwise.
func (l *lowerer) storeK(op MemOp, in *isa.Instruction) {
	val := XZR
	if in.Imm != 0 {
		val = tmp2
		if in.Opcode.Size() == isa.SizeDW {
			l.movImm(W64, tmp2, uint64(int64(in.Imm)))
		} else {
			l.movImm(W32, tmp2, uint64(uint32(in.Imm)))
		}
	}
	l.mem(op, val, reg(in.Dst), int64(in.Off))
}

// put appends one instruction word. The driver sizes the code buffer for the whole
// program up front, so appending is the rare branch, and reslicing the field in place
// stores only its length.
func (l *lowerer) put(i Inst) {
	b := l.buf
	if code, n := b.Code, len(b.Code); cap(code)-n >= 4 {
		putWord(code[n:n+4], i)
		b.Code = b.Code[:n+4]
		return
	}
	b.Code = appendWord(b.Code, i)
}

// movImm emits MovImm(w, d, v) for a register of the lowering (x0–x30) and a value
// that fits w.
func (l *lowerer) movImm(w Width, d Reg, v uint64) {
	if i, ok := movImm1(w, uint32(d), v); ok {
		l.put(i)
		return
	}
	var s [4]Inst
	n := movImm(&s, w, uint32(d), v)
	// Two to four words: lay them out in place and append them at once.
	var b [16]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(s[0])|uint64(s[1])<<32)
	binary.LittleEndian.PutUint64(b[8:], uint64(s[2])|uint64(s[3])<<32)
	l.buf.Code = append(l.buf.Code, b[:4*n]...)
}

// putWords appends the first n (at most 8) words of ws. They are laid out in place and
// appended at once: one capacity check and copy instead of one per word.
func (l *lowerer) putWords(ws *[8]Inst, n int) {
	var b [32]byte
	for k := 0; k < len(ws); k += 2 {
		binary.LittleEndian.PutUint64(b[4*k:], uint64(ws[k])|uint64(ws[k+1])<<32)
	}
	l.buf.Code = append(l.buf.Code, b[:4*n]...)
}

// mem emits a load or store of rt at [base + off], through tmp when off fits no
// immediate form. rt and base are registers of the lowering (rt may be XZR).
func (l *lowerer) mem(op MemOp, rt, base Reg, off int64) {
	if i, ok := ldStImm(memWords[op], uint32(rt)&31, uint32(base), off); ok {
		l.put(i)
		return
	}
	l.movImm(W64, tmp, uint64(off))
	l.emit(LdStReg(op, rt, base, tmp))
}

// addImm emits rd = rn + v (64-bit), using rd for the constant when no add/sub
// immediate fits; rd must differ from rn in that case.
func (l *lowerer) addImm(rd, rn Reg, v int64) {
	op, mag := ADD, uint64(v)
	if v < 0 {
		op, mag = SUB, uint64(-v)
	}
	if i, ok := addSubImm(op, W64, uint32(rd), uint32(rn), mag); ok {
		l.put(i)
		return
	}
	l.movImm(W64, rd, uint64(v))
	l.emit(AddSubReg(ADD, W64, rd, rn, rd))
}

func (l *lowerer) ldImm64(i int, in *isa.Instruction) error {
	c := l.c
	d := reg(in.Dst)
	switch in.Src {
	case 0:
		l.movImm(W64, d, isa.Imm64(*in, c.S.Insns[i+1]))
	case isa.PseudoFunc:
		lbl, ok := c.FuncEntry(c.S.Target[i])
		if !ok {
			return emit.Errorf(int(c.S.Orig[i]), emit.ErrUnsupported, "function address of a non-function")
		}
		l.branch(kindAdr, uint8(d), lbl)
	default:
		// Map, map value or BTF object: a literal the loader fills, jumped over.
		l.emit(LdrLiteral(d, 8))
		l.emit(B(12))
		c.AddReloc(i)
		c.Buf.Code = append(c.Buf.Code, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	return nil
}

// addSubK encodes d = d op k (op ADD or SUB) as one add or sub of the magnitude (add -k
// is sub k and vice versa); false when k fits no immediate form and goes through tmp.
func addSubK(op AddSubOp, w Width, d Reg, k int32) (Inst, bool) {
	base, _ := addSubImm(op, w, uint32(d), uint32(d), 0)
	return addSubSigned(base, k)
}

// addSubSigned completes base, an add, sub, cmp or cmn immediate with a zero immediate,
// for the signed constant k: its magnitude, with the operation turned into its opposite
// (add and sub, adds and subs) when k is negative. It reports false when the magnitude
// fits neither imm12 nor imm12<<12.
func addSubSigned(base Inst, k int32) (Inst, bool) {
	neg := uint32(k >> 31)
	mag := (uint32(k) ^ neg) - neg
	base ^= Inst(neg & (1 << 30)) // the op field's sub bit
	if mag < 1<<12 {
		return base | Inst(mag<<10), true
	}
	return base | Inst((mag>>12|1<<12)<<10), mag&0xfff == 0 && mag < 1<<24 // sh (bit 22) set
}

// logicK emits d = d op v for orr, and and eor.
func (l *lowerer) logicK(op LogicOp, w Width, d Reg, v uint64) {
	ones := immValue(w, -1)
	switch {
	case (v == 0 && op != AND) || (v == ones && op == AND):
		// Identity: only a 32-bit operation still has to zero-extend.
		if w == W32 && l.c.NeedZext() {
			l.emit(Mov(W32, d, d))
		}
	case v == 0: // and with 0
		l.movImm(w, d, 0)
	case v == ones && op == ORR:
		l.movImm(w, d, ones)
	case v == ones: // xor with all ones
		l.emit(Mvn(w, d, d))
	default:
		if i, ok := logicImm(op, w, uint32(d), uint32(d), v); ok {
			l.put(i)
			return
		}
		l.movImm(w, tmp, v)
		l.emit(LogicReg(op, w, d, d, tmp))
	}
}

// movX emits d = s (fm.base is the move), sign-extending from 8, 16 or 32 bits for
// movsx (off).
func (l *lowerer) movX(fm *slotForm, d, s Reg, off int16) error {
	w := fm.w
	switch {
	case off == 0 || (w == W32 && off == 32):
		if d != s || (w == W32 && l.c.NeedZext()) { // a W move zero-extends even onto itself
			l.put(fm.base | Inst(s)<<16 | Inst(d))
		}
	case off == 8:
		l.emit(Sxtb(w, d, s))
	case off == 16:
		l.emit(Sxth(w, d, s))
	case off == 32:
		l.emit(Sxtw(d, s))
	default:
		return fmt.Errorf("%w: movsx width %d", emit.ErrUnsupported, off)
	}
	return nil
}

// mulK emits d = d * v, as a shift for powers of two.
func (l *lowerer) mulK(w Width, d Reg, v uint64) {
	if k, ok := pow2(v); ok { // x * 2^k = x << k
		l.shiftImm(LSLV, w, d, k)
		return
	}
	l.movImm(w, tmp, v)
	l.put(dp3(0, w, uint32(d), uint32(d), uint32(tmp), uint32(XZR))) // mul
}

// divMod lowers div and mod (unsigned, or signed when off is 1), by a register or a
// constant.
func (l *lowerer) divMod(in *isa.Instruction, w Width, d, s Reg) {
	op := in.Opcode.ALUOp()
	isX := in.Opcode.Source() == isa.SourceX
	v := immValue(w, in.Imm)
	if k, ok := pow2(v); !isX && ok && in.Off == 0 {
		switch {
		case op == isa.ALUDiv: // x / 2^k = x >> k
			l.shiftImm(LSRV, w, d, k)
		case k == 0: // x % 1 = 0
			l.movImm(w, d, 0)
		default: // x % 2^k = x & (2^k-1), a run of ones
			l.emit(LogicImm(AND, w, d, d, v-1))
		}
		return
	}
	if !isX {
		l.movImm(w, tmp, v)
		s = tmp
	}
	// A64 division already has BPF's edge semantics: x/0 = 0 and INT_MIN/-1 =
	// INT_MIN without trapping, so x - (x/0)*0 = x (mod by zero leaves dst) and
	// INT_MIN - INT_MIN*-1 = 0. W forms zero-extend.
	div := UDIV
	if in.Off == 1 {
		div = SDIV
	}
	dd, sr := uint32(d), uint32(s)
	if op == isa.ALUDiv {
		l.put(dp2(div, w, dd, dd, sr))
	} else {
		l.put(dp2(div, w, uint32(tmp2), dd, sr))
		l.put(dp3(1, w, dd, uint32(tmp2), sr, dd)) // msub d, tmp2, s, d
	}
}

// shiftImm emits d = d shifted by n (below the width). A shift by 0 is nothing
// for 64 bits and a zero-extending move for 32.
func (l *lowerer) shiftImm(op DP2Op, w Width, d Reg, n uint8) {
	switch {
	case n == 0 && w == W64:
	case n == 0:
		l.emit(Mov(W32, d, d))
	default:
		l.put(immShift(op, w, uint32(d), uint32(d), n))
	}
}

// pow2 returns k when v == 2^k.
func pow2(v uint64) (uint8, bool) {
	if v == 0 || v&(v-1) != 0 {
		return 0, false
	}
	return uint8(bits.TrailingZeros64(v)), true
}

// byteswap lowers le16/32/64, be16/32/64 and bswap16/32/64 on a little-endian CPU.
func (l *lowerer) byteswap(in *isa.Instruction, w Width, d Reg) {
	swap := w == W64 || in.Opcode.Source() == isa.SourceX // ALU64 = bswap; ALU|X = to big endian
	switch in.Imm {
	case 16:
		if swap {
			l.emit(DP1(REV16, W32, d, d))
		}
		l.emit(Uxth(d, d))
	case 32:
		if swap {
			l.emit(DP1(REV, W32, d, d))
		} else {
			l.emit(Mov(W32, d, d))
		}
	case 64:
		if swap {
			l.emit(DP1(REV, W64, d, d))
		}
	}
}

// rmwOps returns, for a read-modify-write atomic (its op without the fetch flag), the
// LSE instruction and the operation of the exclusive-monitor loop (unused for add);
// ok is false for any other op.
func rmwOps(base isa.AtomicOp) (lse AtomicOp, loop LogicOp, ok bool) {
	switch base {
	case isa.AtomicAdd:
		return LDADD, 0, true
	case isa.AtomicOr:
		return LDSET, ORR, true
	case isa.AtomicXor:
		return LDEOR, EOR, true
	case isa.AtomicAnd:
		return LDCLR, AND, true
	}
	return 0, 0, false
}

func (b *Backend) useLSE() bool {
	switch b.Atomics {
	case AtomicLSE:
		return true
	case AtomicExclusive:
		return false
	}
	return runtime.GOARCH == "arm64" && cpu.ARM64.HasATOMICS
}

// atomic lowers BPF atomics (the words are atomicWords'), after moving the address into
// tmp when there is an offset.
func (l *lowerer) atomic(in *isa.Instruction) error {
	w, ok := atomicWidth(in.Opcode)
	if !ok {
		return fmt.Errorf("%w: atomic of size %#x", emit.ErrUnsupported, uint8(in.Opcode.Size()))
	}
	addr := reg(in.Dst)
	if in.Off != 0 {
		l.addImm(tmp, addr, int64(in.Off))
		addr = tmp
	}
	var ws [8]Inst
	n := atomicWords(&ws, isa.AtomicOp(in.Imm), w, uint32(addr), uint32(reg(in.Src)), l.be.useLSE())
	if n == 0 {
		return fmt.Errorf("%w: atomic op %#x", emit.ErrUnsupported, uint32(in.Imm))
	}
	l.putWords(&ws, n)
	return nil
}

// atomicWidth returns the operation width of an atomic opcode; false for sizes other
// than 32 and 64 bits.
func atomicWidth(o isa.Opcode) (Width, bool) {
	switch o.Size() {
	case isa.SizeW:
		return W32, true
	case isa.SizeDW:
		return W64, true
	}
	return 0, false
}

// atomicWords writes to ws the words of atomic operation op of width w on [a] with
// source register src (register fields), as LSE instructions or an exclusive-monitor
// loop, and returns how many there are: 0 for an op that is no BPF atomic. All
// orderings are acquire-release (the kernel's choice for fetch forms; stronger than
// needed for the others). The LL/SC forms end with dmb ish, as the kernel's arm64 JIT
// does, so they are full barriers. Every operand is a register of the lowering, so the
// words are encoded unchecked.
func atomicWords(ws *[8]Inst, op isa.AtomicOp, w Width, a, src uint32, useLSE bool) int {
	const r0, t2, t3, st, zr = uint32(bpf0), uint32(tmp2), uint32(tmp3), uint32(ip0), uint32(XZR)
	base := op &^ isa.AtomicFetch
	fetch := op&isa.AtomicFetch != 0
	lse, logic, ok := rmwOps(base)
	if !ok && op != isa.AtomicXchg && op != isa.AtomicCmpXchg {
		return 0
	}
	if useLSE {
		switch op {
		case isa.AtomicXchg:
			ws[0] = atomicWord(SWP, w, src, src, a)
		case isa.AtomicCmpXchg:
			ws[0] = casalWord(w, r0, src, a)
		default:
			rt := zr
			if fetch {
				rt = src
			}
			if base == isa.AtomicAnd { // ldclr clears the bits set in rs: mvn tmp3, src
				ws[0] = logicShifted(ORN, w, t3, zr, src, LSL, 0)
				ws[1] = atomicWord(lse, w, t3, rt, a)
				return 2
			}
			ws[0] = atomicWord(lse, w, src, rt, a)
		}
		return 1
	}
	// An exclusive-monitor loop: the status check branches back to the ldaxr (word 0).
	ws[0] = ldaxrWord(w, t2, a)
	switch op {
	case isa.AtomicCmpXchg:
		ws[1] = addSubShifted(SUBS, w, zr, t2, r0, LSL, 0) // cmp tmp2, r0
		ws[2] = bcond(NE, 16)                              // to the dmb
		ws[3] = stlxrWord(w, st, src, a)
		ws[4] = cb(true, W32, st, -4*4)
		ws[5] = InstDmbIsh
		ws[6] = logicShifted(ORR, w, r0, zr, t2, LSL, 0) // mov r0, tmp2
		return 7
	case isa.AtomicXchg:
		ws[1] = stlxrWord(w, st, src, a)
		ws[2] = cb(true, W32, st, -4*2)
		ws[3] = InstDmbIsh
		ws[4] = logicShifted(ORR, w, src, zr, t2, LSL, 0)
		return 5
	}
	ws[1] = addSubShifted(ADD, w, t3, t2, src, LSL, 0)
	if base != isa.AtomicAdd {
		ws[1] = logicShifted(logic, w, t3, t2, src, LSL, 0)
	}
	ws[2] = stlxrWord(w, st, t3, a)
	ws[3] = cb(true, W32, st, -4*3)
	ws[4] = InstDmbIsh
	ws[5] = logicShifted(ORR, w, src, zr, t2, LSL, 0)
	if fetch {
		return 6
	}
	return 5
}

// conds maps jump ops (indexed by isa.JumpOp>>4) to the condition after cmp/tst;
// hasCond marks the conditional ones.
var (
	conds = [16]Cond{
		isa.JumpEQ >> 4: EQ, isa.JumpNE >> 4: NE, isa.JumpSET >> 4: NE,
		isa.JumpGT >> 4: HI, isa.JumpGE >> 4: HS, isa.JumpLT >> 4: LO, isa.JumpLE >> 4: LS,
		isa.JumpSGT >> 4: GT, isa.JumpSGE >> 4: GE, isa.JumpSLT >> 4: LT, isa.JumpSLE >> 4: LE,
	}
	hasCond = [16]bool{
		isa.JumpEQ >> 4: true, isa.JumpNE >> 4: true, isa.JumpSET >> 4: true,
		isa.JumpGT >> 4: true, isa.JumpGE >> 4: true, isa.JumpLT >> 4: true, isa.JumpLE >> 4: true,
		isa.JumpSGT >> 4: true, isa.JumpSGE >> 4: true, isa.JumpSLT >> 4: true, isa.JumpSLE >> 4: true,
	}
)

func (l *lowerer) helperCall(idx func()) {
	idx()
	l.emit(LdStImm(LDRX, ip0, ctxr, int64(l.be.GateEntryDisp)))
	l.emit(Blr(ip0))
	l.emit(Mov(W64, bpf0, X0))
}

func (l *lowerer) jump(f *emit.Func, i int, in *isa.Instruction, w Width) error {
	c := l.c
	op := in.Opcode.JumpOp()
	if (in.IsJump() && int(c.S.Target[i]) <= i) || in.IsLocalCall() {
		l.chargeBudget()
	}
	switch {
	case op == isa.JumpA:
		l.branch(kindB, 0, c.Label(c.S.Target[i]))
		return nil
	case op == isa.JumpExit:
		if i+1 != f.End { // the last slot falls through into the epilogue
			l.branch(kindB, 0, f.Exit)
		}
		return nil
	case in.IsCallX():
		// The bridge rejects an index with no helper, so any value is safe here.
		l.helperCall(func() { l.emit(Mov(W64, X9, reg(in.Dst))) })
		return nil
	case emit.IsTailCall(in):
		l.tailCall(f, i)
		return nil
	case c.InlineArrayLookup(i):
		l.inlineArrayLookup()
		return nil
	case in.IsHelperCall():
		l.helperCall(func() { l.seq(MovImm(W32, X9, uint64(uint32(in.Imm)))) })
		return nil
	case in.IsLocalCall():
		lbl, ok := c.FuncEntry(c.S.Target[i])
		if !ok {
			return emit.Errorf(int(c.S.Orig[i]), emit.ErrUnsupported, "call target is not a function")
		}
		l.branch(kindBL, 0, lbl) // the callee returns R0 in x7 (see Epilogue)
		return nil
	case op == isa.JumpCall:
		return emit.Errorf(int(c.S.Orig[i]), emit.ErrUnsupported, "call with source %d", in.Src)
	}
	return emit.Errorf(int(c.S.Orig[i]), emit.ErrUnsupported, "jump op %#02x", uint8(op))
}

// condJump lowers a conditional jump (fm.op is its condition after cmp or tst): a
// compare and a b.cond, or one cbz/cbnz against zero. The compare's operands are the
// lowering's registers and an immediate that fits, so it is encoded unchecked.
func (l *lowerer) condJump(i int, in *isa.Instruction, fm *slotForm) {
	c := l.c
	target := c.S.Target[i]
	if int(target) <= i {
		l.chargeBudget()
	}
	w, cc, op := fm.w, Cond(fm.op), in.Opcode.JumpOp()
	d := reg(in.Dst)
	const zr = uint32(XZR)
	if in.Opcode.Source() == isa.SourceK && in.Imm == 0 && (cc == EQ || cc == NE || cc == LS || cc == HI) {
		// Unsigned x <= 0 is x == 0 and x > 0 is x != 0: one cbz/cbnz, no flags.
		if op == isa.JumpSET { // x & 0 is never set
			return
		}
		l.branch(kindCB, cbArg(d, w, cc == NE || cc == HI), c.Label(target))
		return
	}
	v := immValue(w, in.Imm)
	switch {
	case in.Opcode.Source() == isa.SourceX && op == isa.JumpSET:
		l.put(logicShifted(ANDS, w, zr, uint32(d), uint32(reg(in.Src)), LSL, 0)) // tst
	case in.Opcode.Source() == isa.SourceX:
		l.put(addSubShifted(SUBS, w, zr, uint32(d), uint32(reg(in.Src)), LSL, 0)) // cmp
	case op == isa.JumpSET:
		if i, ok := logicImm(ANDS, w, zr, uint32(d), v); ok {
			l.put(i)
			break
		}
		l.movImm(w, tmp, v)
		l.put(logicShifted(ANDS, w, zr, uint32(d), uint32(tmp), LSL, 0))
	default:
		// cmp d, #-k and cmn d, #k set the same flags for k != 0 (fm.base is cmp x0, #0).
		if i, ok := addSubSigned(fm.base|Inst(d)<<5, in.Imm); ok {
			l.put(i)
			break
		}
		l.movImm(w, tmp, v)
		l.put(addSubShifted(SUBS, w, zr, uint32(d), uint32(tmp), LSL, 0))
	}
	l.branch(kindBCond, uint8(cc), c.Label(target))
}

// branch places a branch of kind k to target at the end of the code: every kind's
// short form is one word, reserved here for the linker to write.
func (l *lowerer) branch(k, arg uint8, target emit.Label) {
	at := len(l.c.Buf.Code)
	l.put(0)
	l.c.Buf.PlaceBranch(at, k, arg, target)
}
