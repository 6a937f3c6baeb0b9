package amd64

import (
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
func (b *Backend) tailCall(c *emit.Compiler, f *emit.Func, i int) {
	a := code(c)
	out := c.Buf.NewLabel()
	region, indirect := emit.NoLabel, emit.NoLabel
	if c.DirectTailCall(i) {
		region, indirect = c.Buf.NewLabel(), c.Buf.NewLabel()
		c.Buf.AddBranch(kindJmp, 0, region)
		c.Buf.Bind(indirect)
	}
	a.Mov(W32, tmp, RDX)
	a.Load(W32, tmp3, Mem{RSI, emit.HeaderMaxEntriesOffset})
	a.ALU(CMP, W32, tmp, tmp3)
	c.Buf.AddBranch(kindJcc, uint8(CondAE), out)
	a.Load(W64, tmp3, Mem{ctx, b.TailCallCountDisp})
	a.ALUImm(CMP, W64, tmp3, emit.MaxTailCalls)
	c.Buf.AddBranch(kindJcc, uint8(CondAE), out)
	a.Load(W64, tmp2, Mem{RSI, emit.HeaderBaseOffset})
	a.ShiftImm(SHL, W64, tmp, 3)
	a.ALU(ADD, W64, tmp2, tmp)
	a.Load(W64, tmp2, Mem{tmp2, 0})
	a.Test(W64, tmp2, tmp2)
	c.Buf.AddBranch(kindJcc, uint8(CondE), out)
	b.stackCheck(a, c, f, nil, out)
	a.ALUImm(ADD, W64, tmp3, 1)
	a.Store(W64, Mem{ctx, b.TailCallCountDisp}, tmp3)
	b.unwind(a, f)
	a.b(0x41, 0xff, 0xe1) // jmp r9
	if region != emit.NoLabel {
		b.directRegion(c, f, i, region, indirect, out)
	}
	c.Buf.Bind(out)
}

// Direct tail calls (emit.TailCallSite). The site jumps to a region that follows the
// indirect sequence (whose jmp r9 keeps it out of the fall-through path); the region's
// final bytes are written after linking, when its alignment is known:
//
//	nop<n>                       pads the bypass to an 8-byte boundary
//	bypass: jmp rel32; int3 x3   → indirect (as emitted) | out (empty) | stub (direct)
//	stub:   mov r10, [r12+count]
//	        cmp r10, 33
//	        jae out
//	        add r10, 1
//	        mov [r12+count], r10
//	        <f's epilogue without ret>
//	        nop<m>               pads the target to an 8-byte boundary
//	target: ud2; int3 x6         → jmp rel32 to the slot's program; int3 x3
//
// Each word is replaced with one aligned 8-byte store (execmem Image.Patch64), so a
// thread decodes either the whole old or the whole new jump.

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

// directRegion reserves the region of the direct site at stream slot i and registers the
// fixup that writes it.
func (b *Backend) directRegion(c *emit.Compiler, f *emit.Func, i int, region, indirect, out emit.Label) {
	var stub Code
	stub.Load(W64, tmp3, Mem{ctx, b.TailCallCountDisp})
	stub.ALUImm(CMP, W64, tmp3, emit.MaxTailCalls)
	stub.b(0x0f, 0x83) // jae rel32, written by the fixup
	jae := len(stub)
	stub.imm32(0)
	ja := b.stackCheck(&stub, c, f, []byte{0x0f, 0x87}, out) // ja rel32, written by the fixup
	stub.ALUImm(ADD, W64, tmp3, 1)
	stub.Store(W64, Mem{ctx, b.TailCallCountDisp}, tmp3)
	b.unwind(&stub, f)
	size := 7 + 8 + len(stub) + 7 + 8
	c.Buf.Bind(region)
	a := code(c)
	for range size {
		a.b(0xcc)
	}
	c.AddTailCallSite(i, region, region, region, out, indirect, func(code []byte, s *emit.TailCallSite) error {
		base := s.Bypass
		r := code[base : base+size]
		pad := (8 - base%8) % 8
		n := putNop(r, pad)
		s.Bypass = base + n
		w, ok := b.PokeJump(uint64(s.Bypass), uint64(s.Indirect))
		if !ok {
			return fmt.Errorf("amd64: tail-call region at %#x: indirect path out of reach", base)
		}
		binary.LittleEndian.PutUint64(r[n:], w)
		n += 8
		s.Stub = base + n
		copy(r[n:], stub)
		for _, at := range []int{jae, ja} {
			if at >= 0 {
				rel := int64(s.Out - (s.Stub + at + 4))
				binary.LittleEndian.PutUint32(r[n+at:], uint32(int32(rel)))
			}
		}
		n += len(stub)
		n += putNop(r[n:], (8-(base+n)%8)%8)
		s.Target = base + n
		binary.LittleEndian.PutUint64(r[n:], 0xcccccccccccc0b0f) // ud2: unreachable until set
		return nil
	})
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
// It writes only r11. With rel32 non-nil the ja goes into a (the region's stub) as those
// bytes and a zero rel32 whose offset in a it returns; otherwise it is a branch to out.
// It returns -1 when f is the main function (its tail calls reuse its frame).
func (b *Backend) stackCheck(a *Code, c *emit.Compiler, f *emit.Func, rel32 []byte, out emit.Label) int {
	if f.Index == 0 {
		return -1
	}
	a.Load(W64, tmp, Mem{ctx, b.StackTopDisp})
	a.ALU(SUB, W64, tmp, RSP)
	a.ALUImm(CMP, W64, tmp, b.TailCallStackLimit)
	if rel32 == nil {
		c.Buf.AddBranch(kindJcc, uint8(CondA), out)
		return -1
	}
	a.b(rel32...)
	at := len(*a)
	a.imm32(0)
	return at
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
