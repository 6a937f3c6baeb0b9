//go:build linux

package bridge_test

import (
	"github.com/bpfjit/bpfjit/bridge"
	as "github.com/bpfjit/bpfjit/bridge/internal/arm64asm"
)

// Hand-assembled test programs following the contract in doc.go (the
// kernel register map: R1..R5 x0..x4, R6..R9 x19..x22, R10 x25; context
// x23; results in x0).

const badResult = ^uint64(0)

const xCtx as.Reg = 23

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
func progReturnArg() []byte { return assemble(func(a *as.Asm) { a.Ret() }) }

// progSumArgs returns R1+R2+R3+R4+R5.
func progSumArgs() []byte {
	return assemble(func(a *as.Asm) {
		for r := as.Reg(1); r <= 4; r++ {
			a.AddReg(0, 0, r)
		}
		a.Ret()
	})
}

// callHelper emits the contract's helper call sequence for id k.
func callHelper(a *as.Asm, k uint16) {
	a.Movz(9, k)
	a.Ldr(16, xCtx, bridge.CtxGateEntry)
	a.Blr(16)
}

// progCallHelper calls helper k with the run's arguments and returns its
// result.
func progCallHelper(k int32) []byte {
	return assemble(func(a *as.Asm) {
		a.StpPre(as.FP, as.LR, as.SP, -16)
		callHelper(a, uint16(k))
		a.LdpPost(as.FP, as.LR, as.SP, 16)
		a.Ret()
	})
}

// progSpin loops R1 times (R1 >= 1) and returns R2.
func progSpin() []byte {
	return assemble(func(a *as.Asm) {
		a.Mov(9, 0)
		a.Label("loop")
		a.SubsImm(9, 9, 1)
		a.Bcond(as.NE, "loop")
		a.Mov(0, 1)
		a.Ret()
	})
}

const (
	canaryR9    = 0x515
	canaryX24   = 0x777
	canaryStack = 0x5a5
)

// progHelperLoop: R1 = n, R2 = helper id. Calls helper(i, R3, i, 4, 5) for
// i = n..1 and returns the sum of the results, or badResult if a register a
// helper call must preserve (R6..R10, x24, x29, the context) or the BPF
// stack was clobbered.
func progHelperLoop() []byte {
	return assemble(func(a *as.Asm) {
		a.StpPre(as.FP, as.LR, as.SP, -16)
		a.MovSP(as.FP, as.SP)
		a.MovSP(25, as.SP) // R10 = frame pointer
		a.SubImm(as.SP, as.SP, 64)
		a.Movz(9, canaryStack)
		a.Str(9, 25, -8)
		a.Mov(19, 0) // R6 = counter
		a.Mov(21, 1) // R8 = helper id
		a.Str(2, 25, -16)
		a.Movz(20, 0) // R7 = sum
		a.Movz(22, canaryR9)
		a.Movz(24, canaryX24)
		a.Str(xCtx, 25, -24)
		a.Label("loop")
		a.Cbz(19, "done")
		a.Mov(0, 19)
		a.Ldr(1, 25, -16)
		a.Mov(2, 19)
		a.Movz(3, 4)
		a.Movz(4, 5)
		a.Mov(9, 21)
		a.Ldr(16, xCtx, bridge.CtxGateEntry)
		a.Blr(16)
		a.AddReg(20, 20, 0)
		a.SubImm(19, 19, 1)
		a.B("loop")
		a.Label("done")
		a.CmpImm(22, canaryR9)
		a.Bcond(as.NE, "bad")
		a.CmpImm(24, canaryX24)
		a.Bcond(as.NE, "bad")
		a.Ldr(9, 25, -8)
		a.CmpImm(9, canaryStack)
		a.Bcond(as.NE, "bad")
		a.Ldr(9, 25, -24)
		a.CmpReg(9, xCtx)
		a.Bcond(as.NE, "bad")
		a.AddImm(9, as.SP, 64)
		a.CmpReg(9, 25)
		a.Bcond(as.NE, "bad")
		a.MovSP(9, as.FP)
		a.CmpReg(9, 25)
		a.Bcond(as.NE, "bad")
		a.Mov(0, 20)
		a.Label("out")
		a.MovSP(as.SP, 25)
		a.LdpPost(as.FP, as.LR, as.SP, 16)
		a.Ret()
		a.Label("bad")
		a.Movn(0, 0)
		a.B("out")
	})
}

// progOwnsContext writes R1 into the first scratch word of its Context,
// spins R2 times (R2 >= 1) and returns R1 if the word still holds it, or
// badResult if another run wrote the same Context meanwhile.
func progOwnsContext() []byte {
	return assemble(func(a *as.Asm) {
		a.Str(0, xCtx, bridge.CtxScratch)
		a.Mov(9, 1)
		a.Label("spin")
		a.SubsImm(9, 9, 1)
		a.Bcond(as.NE, "spin")
		a.Ldr(10, xCtx, bridge.CtxScratch)
		a.CmpReg(10, 0)
		a.Bcond(as.NE, "bad")
		a.Ret()
		a.Label("bad")
		a.Movn(0, 0)
		a.Ret()
	})
}
