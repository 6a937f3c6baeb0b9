package amd64

import "github.com/bpfjit/bpfjit/emit"

// TailCalls implements emit.TailCallBackend.
func (b *Backend) TailCalls() bool {
	return b.TailCallCountDisp != 0 && b.TailCallCountDisp != b.ScratchDisp
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
func (b *Backend) tailCall(c *emit.Compiler, f *emit.Func) {
	a := code(c)
	out := c.Buf.NewLabel()
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
	a.ALUImm(ADD, W64, tmp3, 1)
	a.Store(W64, Mem{ctx, b.TailCallCountDisp}, tmp3)
	b.unwind(a, f)
	a.b(0x41, 0xff, 0xe1) // jmp r9
	c.Buf.Bind(out)
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
