//go:build linux

package bridge_test

import (
	"github.com/bpfjit/bpfjit/bridge"
	as "github.com/bpfjit/bpfjit/bridge/internal/amd64asm"
)

// Hand-assembled test programs following the contract in doc.go (the
// kernel register map: R0 rax, R1..R5 rdi, rsi, rdx, rcx, r8, R6..R9 rbx,
// r13, r14, r15, R10 rbp; context r12).

const badResult = ^uint64(0)

func assemble(f func(a *as.Asm)) []byte {
	a := as.New()
	f(a)
	code, err := a.Finish()
	if err != nil {
		panic(err)
	}
	return code
}

// progReturnArg returns R1.
func progReturnArg() []byte {
	return assemble(func(a *as.Asm) { a.MovRR(as.RAX, as.RDI); a.Ret() })
}

// progSumArgs returns R1+R2+R3+R4+R5.
func progSumArgs() []byte {
	return assemble(func(a *as.Asm) {
		a.MovRR(as.RAX, as.RDI)
		a.AddRR(as.RAX, as.RSI)
		a.AddRR(as.RAX, as.RDX)
		a.AddRR(as.RAX, as.RCX)
		a.AddRR(as.RAX, as.R8)
		a.Ret()
	})
}

// progCallHelper calls helper k with the run's arguments and returns its
// result, from inside a frame as JIT code does (rbp moved, so an unknown id,
// which abandons the frame, must have rbp restored for it).
func progCallHelper(k int32) []byte {
	return assemble(func(a *as.Asm) {
		a.Push(as.RBP)
		a.MovRR(as.RBP, as.RSP)
		a.MovImm(as.R11, k)
		a.CallMem(as.R12, bridge.CtxGateEntry)
		a.Pop(as.RBP)
		a.Ret()
	})
}

// progSpin loops R1 times (R1 >= 1) and returns R2.
func progSpin() []byte {
	return assemble(func(a *as.Asm) {
		a.MovRR(as.RCX, as.RDI)
		a.Label("loop")
		a.Dec(as.RCX)
		a.Jcc(as.CondNE, "loop")
		a.MovRR(as.RAX, as.RSI)
		a.Ret()
	})
}

const (
	canaryR9    = 0x1515
	canaryStack = 0x5a5a5a
)

// progHelperLoop: R1 = n, R2 = helper id. Calls helper(i, R3, i, 4, 5) for
// i = n..1 and returns the sum of the results, or badResult if a register a
// helper call must preserve (R6..R10, the context) or the BPF stack was
// clobbered.
func progHelperLoop() []byte {
	return assemble(func(a *as.Asm) {
		a.Push(as.RBP)
		a.MovRR(as.RBP, as.RSP) // R10 = frame pointer
		a.SubImm(as.RSP, 64)    // BPF stack
		a.StoreImm(as.RBP, -8, canaryStack)
		a.MovRR(as.RBX, as.RDI) // R6 = counter
		a.MovRR(as.R14, as.RSI) // R8 = helper id
		a.Store(as.RBP, -16, as.RDX)
		a.XorRR(as.R13, as.R13)      // R7 = sum
		a.MovImm(as.R15, canaryR9)   // R9 = canary
		a.Store(as.RBP, -24, as.R12) // context copy
		a.Label("loop")
		a.TestRR(as.RBX, as.RBX)
		a.Jcc(as.CondE, "done")
		a.MovRR(as.RDI, as.RBX)
		a.Load(as.RSI, as.RBP, -16)
		a.MovRR(as.RDX, as.RBX)
		a.MovImm(as.RCX, 4)
		a.MovImm(as.R8, 5)
		a.MovRR(as.R11, as.R14)
		a.CallMem(as.R12, bridge.CtxGateEntry)
		a.AddRR(as.R13, as.RAX)
		a.Dec(as.RBX)
		a.Jmp("loop")
		a.Label("done")
		a.CmpImm(as.R15, canaryR9)
		a.Jcc(as.CondNE, "bad")
		a.CmpMI(as.RBP, -8, canaryStack)
		a.Jcc(as.CondNE, "bad")
		a.CmpRM(as.R12, as.RBP, -24)
		a.Jcc(as.CondNE, "bad")
		a.MovRR(as.RAX, as.RSP)
		a.AddImm(as.RAX, 64)
		a.CmpRR(as.RAX, as.RBP)
		a.Jcc(as.CondNE, "bad")
		a.MovRR(as.RAX, as.R13)
		a.Label("out")
		a.MovRR(as.RSP, as.RBP)
		a.Pop(as.RBP)
		a.Ret()
		a.Label("bad")
		a.MovImm(as.RAX, -1)
		a.Jmp("out")
	})
}

// progOwnsContext writes R1 into the first scratch word of its Context,
// spins R2 times (R2 >= 1) and returns R1 if the word still holds it, or
// badResult if another run wrote the same Context meanwhile.
func progOwnsContext() []byte {
	return assemble(func(a *as.Asm) {
		a.Store(as.R12, bridge.CtxScratch, as.RDI)
		a.MovRR(as.RCX, as.RSI)
		a.Label("spin")
		a.Dec(as.RCX)
		a.Jcc(as.CondNE, "spin")
		a.Load(as.RAX, as.R12, bridge.CtxScratch)
		a.CmpRR(as.RAX, as.RDI)
		a.Jcc(as.CondNE, "bad")
		a.Ret()
		a.Label("bad")
		a.MovImm(as.RAX, -1)
		a.Ret()
	})
}
