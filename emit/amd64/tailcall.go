package amd64

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/bpfjit/bpfjit/emit"
)

// TailCalls implements emit.TailCallBackend.
func (b *Backend) TailCalls() bool {
	d, s := b.TailCallCountDisp, b.StackTopDisp
	return d != 0 && s != 0 && d != s && d != b.ScratchDisp && s != b.ScratchDisp && b.TailCallStackLimit > 0
}

// runInit emits, in the main function before its tail-call entry, what one run does once
// however many programs it tail-calls through: zero the tail-call counter and load the
// execution budget. Code entered by a tail call skips it, so both are shared by the chain.
func (b *Backend) runInit(c *emit.Compiler, f *emit.Func) {
	if f.Index != 0 {
		return
	}
	a := code(c)
	if c.HasTailCalls() {
		a.StoreImm(W64, Mem{ctx, b.TailCallCountDisp}, 0)
		a.Store(W64, Mem{ctx, b.StackTopDisp}, RSP)
	}
	if c.Budget > 0 {
		a.MovConst(tmp, c.Budget)
		a.Store(W64, Mem{ctx, b.ScratchDisp}, tmp)
	}
}

// tailCall lowers bpf_tail_call(r1 = ctx, r2 = program array, r3 = index) inline
// (emit.TailCallBackend describes the contract). Only r9-r11 are written before the
// jump, so a failed call leaves every BPF register as it was:
//
//	mov   r11d, edx              index, as u32
//	mov   r10d, [rsi+8]          max entries
//	cmp   r11d, r10d
//	jae   out
//	mov   r10, [r12+count]
//	cmp   r10, 33
//	jae   out
//	mov   r9, [rsi]              slot table
//	shl   r11, 3
//	add   r9, r11
//	mov   r9, [r9]               the slot's entry
//	test  r9, r9
//	je    out
//	add   r10, 1
//	mov   [r12+count], r10
//	<f's epilogue without ret>
//	jmp   r9
//	out:
//
// A direct call (emit.Compiler.DirectTailCall) puts its direct path (directTailCall) in
// front of this sequence, which then serves as its indirect path.
func (b *Backend) tailCall(c *emit.Compiler, f *emit.Func, i int) {
	a := code(c)
	out := c.Buf.NewLabel()
	if c.DirectTailCall(i) {
		b.directTailCall(c, f, i, out)
	}
	a.Mov(W32, tmp, RDX)
	a.Load(W32, tmp3, Mem{RSI, emit.HeaderMaxEntriesOffset})
	a.ALU(CMP, W32, tmp, tmp3)
	c.Buf.AddBranch(kindJcc, uint8(CondAE), out)
	b.countCheck(a, c, out)
	a.Load(W64, tmp2, Mem{RSI, emit.HeaderBaseOffset})
	a.ShiftImm(SHL, W64, tmp, 3)
	a.ALU(ADD, W64, tmp2, tmp)
	a.Load(W64, tmp2, Mem{tmp2, 0})
	a.Test(W64, tmp2, tmp2)
	c.Buf.AddBranch(kindJcc, uint8(CondE), out)
	b.stackCheck(a, c, f, out)
	b.countAndUnwind(a, f)
	a.b(0x41, 0xff, 0xe1) // jmp r9
	c.Buf.Bind(out)
}

// countCheck loads the run's tail-call count into r10 and goes to out when it has
// reached the limit.
func (b *Backend) countCheck(a *Code, c *emit.Compiler, out emit.Label) {
	a.Load(W64, tmp3, Mem{ctx, b.TailCallCountDisp})
	a.ALUImm(CMP, W64, tmp3, emit.MaxTailCalls)
	c.Buf.AddBranch(kindJcc, uint8(CondAE), out)
}

// countAndUnwind stores the count in r10 plus one and undoes f's frame: what an indirect
// tail call does between its checks and its jump.
func (b *Backend) countAndUnwind(a *Code, f *emit.Func) {
	a.ALUImm(ADD, W64, tmp3, 1)
	a.Store(W64, Mem{ctx, b.TailCallCountDisp}, tmp3)
	b.unwind(a, f)
}

// Direct tail calls (emit.TailCallSite). The direct path checks the count, then runs
// through a region whose bytes are written after linking, when its alignment is known:
//
//	        cmp qword [r12+count], 33
//	        jae out
//	        <stack check, in callees>
//	        nop<n>               pads the bypass to an 8-byte boundary
//	bypass: jmp rel32; int3 x3   → indirect (as emitted) | out (empty slot)
//	        | inc qword [r12+count]  (a filled slot: count the call, go on)
//	frame:  nop8                 main function only: → jmp rel32 to the body of a slot
//	                             program whose frame fits in this one (FrameFits)
//	        <f's epilogue without ret>
//	        nop<m>               pads the target to an 8-byte boundary
//	target: ud2; int3 x6         → jmp rel32 to the slot's program; int3 x3
//	indirect: <the indirect sequence, ending in jmp r9>
//	out:
//
// Each word is replaced with one aligned 8-byte store (execmem Image.Patch64), so a
// thread decodes either the whole old or the whole new instruction. The count's increment
// is the filled bypass word itself (TailCallSite.Fill), so a path that does not make the
// call counts nothing and no nop runs: it is 8 bytes whenever the count's displacement
// needs 32 bits, as the bridge's does; with a shorter one the word is a nop and the
// increment follows. The count is compared and incremented in memory, never loaded into a
// register: the fewest instructions a link of a chain can run.
// With the slot's program in reach, a call takes no branch but the target word's jump;
// from a main function to a program with a fitting frame, it also keeps the frame: the
// count check, the count and one jump.

// PokeWordSize implements emit.PokeEncoder.
func (*Backend) PokeWordSize() int { return 8 }

// PokeJump implements emit.PokeEncoder: jmp rel32 padded with int3 to 8 bytes.
func (*Backend) PokeJump(from, to uint64) (uint64, bool) {
	rel := int64(to - (from + Jmp32Size))
	if rel != int64(int32(rel)) {
		return 0, false
	}
	return 0xe9 | uint64(uint32(rel))<<8 | 0xcccccc<<40, true
}

// PokeNop implements emit.PokeEncoder: one 8-byte nop (nop dword [rax+rax+0]).
func (*Backend) PokeNop() uint64 { return 0x841f0f }

// trapWord is the target word as emitted: ud2, then int3. No thread reaches it before
// the bypass first becomes a nop, which happens only after the word holds a jump.
const trapWord = 0xcccccccccccc0b0f

// directTailCall emits the direct path of the tail call at stream slot i, up to the
// label of its indirect path, and registers the fixup that writes its region.
func (b *Backend) directTailCall(c *emit.Compiler, f *emit.Func, i int, out emit.Label) {
	a := code(c)
	count := Mem{ctx, b.TailCallCountDisp}
	a.ALUMemImm(CMP, W64, count, emit.MaxTailCalls)
	c.Buf.AddBranch(kindJcc, uint8(CondAE), out)
	b.stackCheck(a, c, f, out)
	var inc, unwind Code
	inc.modrm(widthFlags(W64), 0xff, 0, memOp(count)) // inc qword [r12+count]
	fill := b.PokeNop()
	if len(inc) == 8 {
		fill, inc = binary.LittleEndian.Uint64(inc), nil
	}
	b.unwind(&unwind, f)
	// The code between consecutive words from the bypass on; in a main function the frame
	// word separates counting from unwinding. Each piece is padded so the word after it is
	// aligned: the bypass word is, so the padding is fixed.
	pieces := [][]byte{append(inc, unwind...)}
	if f.Index == 0 {
		pieces = [][]byte{inc, unwind}
	}
	size := 7 + 8
	for _, p := range pieces {
		size += len(p) + pad8(len(p)) + 8
	}
	region, indirect := c.Buf.NewLabel(), c.Buf.NewLabel()
	c.Buf.Bind(region)
	for range size {
		a.b(0xcc)
	}
	c.Buf.Bind(indirect)
	c.AddTailCallSite(i, region, region, out, indirect, func(code []byte, s *emit.TailCallSite) error {
		base := s.Bypass
		r := code[base : base+size]
		n := putNop(r, pad8(base))
		s.Bypass, s.Fill = base+n, fill
		w, ok := b.PokeJump(uint64(s.Bypass), uint64(s.Indirect))
		if !ok {
			return fmt.Errorf("amd64: tail-call region at %#x: indirect path out of reach", base)
		}
		binary.LittleEndian.PutUint64(r[n:], w)
		n += 8
		for k, p := range pieces {
			n += copy(r[n:], p)
			n += putNop(r[n:], pad8(len(p)))
			w := uint64(trapWord)
			if k < len(pieces)-1 {
				s.Frame, w = base+n, b.PokeNop()
			} else {
				s.Target = base + n
			}
			binary.LittleEndian.PutUint64(r[n:], w)
			n += 8
		}
		return nil
	})
}

// pad8 is how many bytes take n up to a multiple of 8.
func pad8(n int) int { return (8 - n%8) % 8 }

// frameHead is the start of every frame set-up: push rbp; mov rbp, rsp.
var frameHead = func() []byte {
	var a Code
	a.Push(RBP)
	a.Mov(W64, RBP, RSP)
	return a
}()

// SplitFrame implements emit.FrameEncoder for set-ups as Prologue emits them: push rbp;
// mov rbp, rsp; sub rsp, depth (none for 0); then the pushes of the saved registers and
// the alignment.
func (*Backend) SplitFrame(b []byte) (depth int, rest []byte, ok bool) {
	rest, ok = bytes.CutPrefix(b, frameHead)
	if !ok {
		return 0, nil, false
	}
	// sub rsp, imm8 (48 83 ec ib) or imm32 (48 81 ec id): the only forms ALUImm has for it.
	switch {
	case len(rest) >= 4 && rest[0] == 0x48 && rest[1] == 0x83 && rest[2] == 0xec:
		return int(int8(rest[3])), rest[4:], true
	case len(rest) >= 7 && rest[0] == 0x48 && rest[1] == 0x81 && rest[2] == 0xec:
		return int(int32(binary.LittleEndian.Uint32(rest[3:]))), rest[7:], true
	}
	return 0, rest, true
}

// putNop writes one n-byte nop (0 <= n <= 7) at the start of dst and returns n.
func putNop(dst []byte, n int) int {
	nops := [8][]byte{
		nil,
		{0x90},
		{0x66, 0x90},
		{0x0f, 0x1f, 0x00},
		{0x0f, 0x1f, 0x40, 0x00},
		{0x0f, 0x1f, 0x44, 0x00, 0x00},
		{0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
		{0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
	}
	return copy(dst, nops[n])
}

// stackCheck emits, for a tail call in a BPF-to-BPF callee, the fall-through to out when
// the run has used more native stack than TailCallStackLimit (emit.TailCallBackend):
//
//	mov r11, [r12+top]
//	sub r11, rsp
//	cmp r11, limit
//	ja  out
//
// It writes only r11. The main function's tail calls reuse its frame: no check.
func (b *Backend) stackCheck(a *Code, c *emit.Compiler, f *emit.Func, out emit.Label) {
	if f.Index == 0 {
		return
	}
	a.Load(W64, tmp, Mem{ctx, b.StackTopDisp})
	a.ALU(SUB, W64, tmp, RSP)
	a.ALUImm(CMP, W64, tmp, b.TailCallStackLimit)
	c.Buf.AddBranch(kindJcc, uint8(CondA), out)
}

// unwind undoes f's prologue after the patchable entry (the epilogue without its ret):
// rsp is back where it was at f's entry, with the return address on top, so the target
// returns to f's caller.
func (*Backend) unwind(a *Code, f *emit.Func) {
	if len(f.Saved)%2 == 1 {
		a.ALUImm(ADD, W64, RSP, 8)
	}
	for i := len(f.Saved) - 1; i >= 0; i-- {
		a.Pop(Reg(f.Saved[i]))
	}
	a.Leave()
}
