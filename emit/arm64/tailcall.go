package arm64

import (
	"encoding/binary"
	"fmt"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa"
)

// TailCalls implements emit.TailCallBackend.
func (b *Backend) TailCalls() bool {
	ok := func(d int32) bool { return d > 0 && d%8 == 0 && d < 32768 }
	return ok(b.TailCallCountDisp) && ok(b.StackTopDisp) && b.TailCallCountDisp != b.StackTopDisp && b.TailCallStackLimit > 0
}

// runInit emits, in the main function before its tail-call entry, what one run does once
// however many programs it tail-calls through: zero the tail-call counter and load the
// execution budget. Code entered by a tail call skips it, so both are shared by the chain.
func (l *lowerer) runInit(f *emit.Func) {
	c := l.c
	if f.Index != 0 {
		return
	}
	if c.HasTailCalls() {
		l.emit(LdStImm(STRX, XZR, ctxr, int64(l.be.TailCallCountDisp)))
		l.emit(Mov(W64, ip0, SP))
		l.emit(LdStImm(STRX, ip0, ctxr, int64(l.be.StackTopDisp)))
	}
	if c.Budget > 0 {
		l.seq(MovImm(W64, budgetReg, c.Budget))
	}
}

// tailCall lowers bpf_tail_call(r1 = ctx, r2 = program array, r3 = index) inline
// (emit.TailCallBackend describes the contract). Only x10-x12 are written before the
// branch, so a failed call leaves every BPF register as it was:
//
//	ldr  w10, [x1, #8]           max entries
//	cmp  w2, w10
//	b.hs out
//	ldr  x11, [x23, #count]
//	cmp  x11, #33
//	b.hs out
//	ldr  x12, [x1]               slot table
//	mov  w10, w2                 index, as u32
//	add  x12, x12, x10, lsl #3
//	ldr  x12, [x12]              the slot's entry
//	cbz  x12, out
//	add  x11, x11, #1
//	str  x11, [x23, #count]
//	<f's epilogue without ret>
//	br   x12
//	out:
//
// A direct call (emit.Compiler.DirectTailCall) puts its direct path in front of this
// sequence, which then serves as its indirect path:
//
//	        ldr  x11, [x23, #count]
//	        cmp  x11, #33
//	        b.hs out
//	        <stack check, in callees>
//	bypass: b indirect           → indirect (as emitted) | out (empty slot)
//	                             | nop (a filled slot: on to the target word)
//	        add  x11, x11, #1
//	        str  x11, [x23, #count]
//	frame:  nop                  main function only: → b <the body of a slot program
//	                             whose frame fits in this one> (FrameFits)
//	        <f's epilogue without ret>
//	target: brk #0x7ca1          → b <the slot's program>
//	indirect: …
//
// The words are only ever B, NOP or BRK, which the architecture allows to be replaced
// while other cores execute them (execmem Image.Patch32); so, unlike amd64's, the filled
// bypass cannot be the count's store. With the slot's program in reach, a call takes no
// branch but the target word's; from a main function to a program with a fitting frame,
// it also keeps the frame.
func (l *lowerer) tailCall(f *emit.Func, i int) {
	c := l.c
	m, idx := reg(isa.R2), reg(isa.R3)
	out := c.Buf.NewLabel()
	if c.DirectTailCall(i) {
		bypass, target, indirect := c.Buf.NewLabel(), c.Buf.NewLabel(), c.Buf.NewLabel()
		l.countCheck(out)
		l.stackCheck(f, out)
		c.Buf.Bind(bypass)
		c.Buf.AddBranch(kindB, 0, indirect)
		l.count()
		var fixup func([]byte, *emit.TailCallSite) error
		if f.Index == 0 {
			frame := c.Buf.NewLabel()
			c.Buf.Bind(frame)
			l.emit(InstNop, nil)
			fixup = func(_ []byte, s *emit.TailCallSite) error {
				s.Frame = c.Buf.LabelOffset(frame)
				return nil
			}
		}
		l.unwind(f)
		c.Buf.Bind(target)
		l.emit(Brk(0x7ca1)) // unreachable until the target word is set
		c.Buf.Bind(indirect)
		c.AddTailCallSite(i, bypass, target, out, indirect, fixup)
	}
	l.emit(LdStImm(LDRW, tmp, m, emit.HeaderMaxEntriesOffset))
	l.emit(CmpReg(W32, idx, tmp))
	c.Buf.AddBranch(kindBCond, uint8(HS), out)
	l.countCheck(out)
	l.emit(LdStImm(LDRX, tmp3, m, emit.HeaderBaseOffset))
	l.emit(Mov(W32, tmp, idx))
	l.emit(AddSubShifted(ADD, W64, tmp3, tmp3, tmp, LSL, 3))
	l.emit(LdStImm(LDRX, tmp3, tmp3, 0))
	c.Buf.AddBranch(kindCB, cbArg(tmp3, W64, false), out)
	l.stackCheck(f, out)
	l.countAndUnwind(f)
	l.emit(Br(tmp3))
	c.Buf.Bind(out)
	if l.err != nil {
		l.err = fmt.Errorf("tail call: %w", l.err)
	}
}

// countCheck loads the run's tail-call count into x11 and goes to out when it has
// reached the limit.
func (l *lowerer) countCheck(out emit.Label) {
	l.emit(LdStImm(LDRX, tmp2, ctxr, int64(l.be.TailCallCountDisp)))
	l.emit(CmpImm(W64, tmp2, emit.MaxTailCalls))
	l.c.Buf.AddBranch(kindBCond, uint8(HS), out)
}

// countAndUnwind counts the call and undoes f's frame: what every tail call does between
// its checks and its branch.
func (l *lowerer) countAndUnwind(f *emit.Func) {
	l.count()
	l.unwind(f)
}

// count stores the count in x11 plus one.
func (l *lowerer) count() {
	l.emit(AddSubImm(ADD, W64, tmp2, tmp2, 1))
	l.emit(LdStImm(STRX, tmp2, ctxr, int64(l.be.TailCallCountDisp)))
}

// SplitFrame implements emit.FrameEncoder for set-ups as Prologue emits them: stp x29,
// x30; mov x29, sp; the saved register pairs; mov x25, sp; sub sp, sp, depth (none for
// 0). The rest is all but the last.
func (*Backend) SplitFrame(b []byte) (depth int, rest []byte, ok bool) {
	head, _ := Stp(W64, PairPreIndex, FP, LR, SP, -16)
	if len(b) < 8 || len(b)%4 != 0 || binary.LittleEndian.Uint32(b) != uint32(head) {
		return 0, nil, false
	}
	// sub sp, sp, #imm12{, lsl #12}: bits 10-21 hold the immediate, bit 22 the shift.
	const immBits, shift = 0xfff << 10, 1 << 22
	sub, _ := AddSubImm(SUB, W64, SP, SP, 0)
	last := binary.LittleEndian.Uint32(b[len(b)-4:])
	if last&^(immBits|shift) != uint32(sub) {
		return 0, b, true
	}
	depth = int(last & immBits >> 10)
	if last&shift != 0 {
		depth <<= 12
	}
	return depth, b[:len(b)-4], true
}

// PokeWordSize implements emit.PokeEncoder.
func (*Backend) PokeWordSize() int { return 4 }

// PokeJump implements emit.PokeEncoder: b from from to to (±128 MiB).
func (*Backend) PokeJump(from, to uint64) (uint64, bool) {
	off := int64(to - from)
	if !BOK(off) {
		return 0, false
	}
	i, err := B(off)
	if err != nil {
		return 0, false
	}
	return uint64(i), true
}

// PokeNop implements emit.PokeEncoder.
func (*Backend) PokeNop() uint64 { return uint64(InstNop) }

// stackCheck emits, for a tail call in a BPF-to-BPF callee, the fall-through to out when
// the run has used more native stack than TailCallStackLimit (emit.TailCallBackend):
//
//	ldr  x10, [x23, #top]
//	mov  x16, sp
//	sub  x10, x10, x16
//	mov  x16, #limit
//	cmp  x10, x16
//	b.hi out
//
// It writes only x10 and x16. The main function's tail calls reuse its frame: no check.
func (l *lowerer) stackCheck(f *emit.Func, out emit.Label) {
	if f.Index == 0 {
		return
	}
	l.emit(LdStImm(LDRX, tmp, ctxr, int64(l.be.StackTopDisp)))
	l.emit(Mov(W64, ip0, SP))
	l.emit(AddSubReg(SUB, W64, tmp, tmp, ip0))
	l.seq(MovImm(W64, ip0, uint64(l.be.TailCallStackLimit)))
	l.emit(CmpReg(W64, tmp, ip0))
	l.c.Buf.AddBranch(kindBCond, uint8(HI), out)
}

// unwind undoes f's prologue after the patchable entry (the epilogue without its ret):
// sp, x29 and x30 are as at f's entry, so the target returns to f's caller.
func (l *lowerer) unwind(f *emit.Func) {
	l.emit(Mov(W64, SP, bpfFP))
	saved := savedPairs(f)
	for k := len(saved) - 2; k >= 0; k -= 2 {
		l.emit(Ldp(W64, PairPostIndex, saved[k], saved[k+1], SP, 16))
	}
	l.emit(Ldp(W64, PairPostIndex, FP, LR, SP, 16))
}
