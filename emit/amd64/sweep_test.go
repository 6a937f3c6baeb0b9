package amd64

import (
	"fmt"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// The sweep tests decode every form with every register (and every base with displacements
// at each size boundary) and check operation and operands, so REX, ModRM, SIB and
// displacement selection are pinned beyond the golden samples.

var allRegs = func() []Reg {
	r := make([]Reg, 16)
	for i := range r {
		r[i] = Reg(i)
	}
	return r
}()

// Displacements at every encoding boundary: none, disp8 both ends, disp32 both sides.
var sweepDisps = []int32{0, 1, -1, 127, -128, 128, -129, 0x7fff, -0x8000, 0x7fffffff, -0x80000000}

func xreg(w Width, r Reg) x86asm.Reg {
	switch w {
	case W8:
		if r < 4 {
			return x86asm.AL + x86asm.Reg(r)
		}
		return x86asm.AL + 4 + x86asm.Reg(r) // SPB..DIB, then R8B..R15B
	case W16:
		return x86asm.AX + x86asm.Reg(r)
	case W32:
		return x86asm.EAX + x86asm.Reg(r)
	}
	return x86asm.RAX + x86asm.Reg(r)
}

func xmem(m Mem) x86asm.Mem {
	return x86asm.Mem{Base: xreg(W64, m.Base), Disp: int64(m.Disp)}
}

// checkDecode decodes c as exactly one instruction and compares it with op and args.
func checkDecode(t *testing.T, what string, c Code, prefix x86asm.Prefix, op x86asm.Op, args ...x86asm.Arg) {
	t.Helper()
	in, err := x86asm.Decode(c, 64)
	if err != nil {
		t.Errorf("%s: %x does not decode: %v", what, []byte(c), err)
		return
	}
	if in.Len != len(c) {
		t.Errorf("%s: %x decodes as %d-byte %v", what, []byte(c), in.Len, in)
		return
	}
	if in.Op != op {
		t.Errorf("%s: %x decodes as %v, want op %v", what, []byte(c), in, op)
		return
	}
	if prefix != 0 {
		found := false
		for _, p := range in.Prefix {
			if p&0xfff == prefix {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: %x (%v) lacks prefix %v", what, []byte(c), in, prefix)
		}
	}
	for i, want := range args {
		got := in.Args[i]
		if m, ok := got.(x86asm.Mem); ok {
			m.Scale, m.Index = 0, 0       // the SIB byte of an rsp/r12 base decodes with scale 1, no index
			m.Disp = int64(int32(m.Disp)) // x86asm reports disp32 unsigned
			got = m
		}
		if got != want {
			t.Errorf("%s: %x (%v) operand %d = %v, want %v", what, []byte(c), in, i, got, want)
		}
	}
	if len(args) > 0 && len(args) < len(in.Args) && in.Args[len(args)] != nil {
		t.Errorf("%s: %x (%v) has more operands than expected", what, []byte(c), in)
	}
}

func emitted(f func(c *Code)) Code {
	var c Code
	f(&c)
	return c
}

var xALU = map[ALUOp]x86asm.Op{ADD: x86asm.ADD, OR: x86asm.OR, ADC: x86asm.ADC, SBB: x86asm.SBB,
	AND: x86asm.AND, SUB: x86asm.SUB, XOR: x86asm.XOR, CMP: x86asm.CMP}

var xShift = map[ShiftOp]x86asm.Op{ROL: x86asm.ROL, ROR: x86asm.ROR, SHL: x86asm.SHL, SHR: x86asm.SHR, SAR: x86asm.SAR}

func TestSweepRegisterRegister(t *testing.T) {
	for _, w := range []Width{W32, W64} {
		for _, a := range allRegs {
			for _, b := range allRegs {
				for op, xop := range xALU {
					checkDecode(t, fmt.Sprintf("ALU(%d,%d,%v,%v)", op, w, a, b),
						emitted(func(c *Code) { c.ALU(op, w, a, b) }), 0, xop, xreg(w, a), xreg(w, b))
				}
				checkDecode(t, "Mov", emitted(func(c *Code) { c.Mov(w, a, b) }), 0, x86asm.MOV, xreg(w, a), xreg(w, b))
				checkDecode(t, "Test", emitted(func(c *Code) { c.Test(w, a, b) }), 0, x86asm.TEST, xreg(w, a), xreg(w, b))
				checkDecode(t, "Imul", emitted(func(c *Code) { c.Imul(w, a, b) }), 0, x86asm.IMUL, xreg(w, a), xreg(w, b))
				for _, imm := range []int32{3, -1000} {
					checkDecode(t, "ImulImm", emitted(func(c *Code) { c.ImulImm(w, a, b, imm) }), 0, x86asm.IMUL,
						xreg(w, a), xreg(w, b), x86asm.Imm(int64(imm)))
				}
				checkDecode(t, "Movsx8", emitted(func(c *Code) { c.Movsx(w, a, b, W8) }), 0, x86asm.MOVSX, xreg(w, a), xreg(W8, b))
				checkDecode(t, "Movsx16", emitted(func(c *Code) { c.Movsx(w, a, b, W16) }), 0, x86asm.MOVSX, xreg(w, a), xreg(W16, b))
			}
		}
	}
	for _, a := range allRegs {
		for _, b := range allRegs {
			checkDecode(t, "Movsxd", emitted(func(c *Code) { c.Movsx(W64, a, b, W32) }), 0, x86asm.MOVSXD, xreg(W64, a), xreg(W32, b))
			checkDecode(t, "Movzx8", emitted(func(c *Code) { c.Movzx(a, b, W8) }), 0, x86asm.MOVZX, xreg(W32, a), xreg(W8, b))
			checkDecode(t, "Movzx16", emitted(func(c *Code) { c.Movzx(a, b, W16) }), 0, x86asm.MOVZX, xreg(W32, a), xreg(W16, b))
		}
	}
}

func TestSweepRegisterImmediate(t *testing.T) {
	imms := []int32{0, 1, -1, 127, -128, 128, -129, 0x7fffffff, -0x80000000}
	for _, w := range []Width{W32, W64} {
		for _, r := range allRegs {
			for _, imm := range imms {
				for op, xop := range xALU {
					c := emitted(func(c *Code) { c.ALUImm(op, w, r, imm) })
					checkDecode(t, fmt.Sprintf("ALUImm(%v,%d,%v,%d)", xop, w, r, imm), c, 0, xop, xreg(w, r), x86asm.Imm(int64(imm)))
					if fits8(int64(imm)) && len(c) > 4 {
						t.Errorf("ALUImm %d did not use the imm8 form: %x", imm, []byte(c))
					}
				}
				checkDecode(t, "TestImm", emitted(func(c *Code) { c.TestImm(w, r, imm) }), 0, x86asm.TEST, xreg(w, r), x86asm.Imm(int64(imm)))
			}
			for op, xop := range xShift {
				checkDecode(t, "Shift", emitted(func(c *Code) { c.Shift(op, w, r) }), 0, xop, xreg(w, r), x86asm.CL)
				for _, n := range []uint8{1, 7, 31} {
					checkDecode(t, "ShiftImm", emitted(func(c *Code) { c.ShiftImm(op, w, r, n) }), 0, xop, xreg(w, r), x86asm.Imm(int64(n)))
				}
			}
			checkDecode(t, "Neg", emitted(func(c *Code) { c.Neg(w, r) }), 0, x86asm.NEG, xreg(w, r))
			checkDecode(t, "Not", emitted(func(c *Code) { c.Not(w, r) }), 0, x86asm.NOT, xreg(w, r))
			checkDecode(t, "Div", emitted(func(c *Code) { c.Div(w, r) }), 0, x86asm.DIV, xreg(w, r))
			checkDecode(t, "Idiv", emitted(func(c *Code) { c.Idiv(w, r) }), 0, x86asm.IDIV, xreg(w, r))
			checkDecode(t, "Mul", emitted(func(c *Code) { c.Mul(w, r) }), 0, x86asm.MUL, xreg(w, r))
			checkDecode(t, "Bswap", emitted(func(c *Code) { c.Bswap(w, r) }), 0, x86asm.BSWAP, xreg(w, r))
		}
	}
	for _, r := range allRegs {
		checkDecode(t, "Rol16", emitted(func(c *Code) { c.ShiftImm(ROL, W16, r, 8) }), 0, x86asm.ROL, xreg(W16, r), x86asm.Imm(8))
		checkDecode(t, "MovImm32", emitted(func(c *Code) { c.MovImm32(r, 0xdeadbeef) }), 0, x86asm.MOV, xreg(W32, r), x86asm.Imm(-0x21524111)) // x86asm shows imm32 signed
		checkDecode(t, "MovImmSX", emitted(func(c *Code) { c.MovImmSX(r, -5) }), 0, x86asm.MOV, xreg(W64, r), x86asm.Imm(-5))
		checkDecode(t, "MovImm64", emitted(func(c *Code) { c.MovImm64(r, 0x8000000000000001) }), 0, x86asm.MOV, xreg(W64, r), x86asm.Imm(-0x7fffffffffffffff))
		checkDecode(t, "Push", emitted(func(c *Code) { c.Push(r) }), 0, x86asm.PUSH, xreg(W64, r))
		checkDecode(t, "Pop", emitted(func(c *Code) { c.Pop(r) }), 0, x86asm.POP, xreg(W64, r))
		checkDecode(t, "CallReg", emitted(func(c *Code) { c.CallReg(r) }), 0, x86asm.CALL, xreg(W64, r))
		checkDecode(t, "LeaRIP", emitted(func(c *Code) { c.LeaRIP(r, -100) }), 0, x86asm.LEA, xreg(W64, r),
			x86asm.Mem{Base: x86asm.RIP, Disp: -100})
	}
}

func TestMovConstPicksShortestForm(t *testing.T) {
	for _, tc := range []struct {
		v    uint64
		size int
	}{
		{0, 5}, {1, 5}, {0xffffffff, 5}, {0xffffffffffffffff, 7}, {0xffffffff80000000, 7},
		{0xffffffff7fffffff, 10}, {0x100000000, 10},
	} {
		c := emitted(func(c *Code) { c.MovConst(RAX, tc.v) })
		if len(c) != tc.size {
			t.Errorf("MovConst(%#x) = %x (%d bytes), want %d bytes", tc.v, []byte(c), len(c), tc.size)
		}
		checkDecode(t, "MovConst", c, 0, x86asm.MOV)
	}
}

func TestSweepMemoryOperands(t *testing.T) {
	for _, base := range allRegs {
		for _, d := range sweepDisps {
			m := Mem{base, d}
			xm := xmem(m)
			for _, r := range allRegs {
				for _, w := range []Width{W8, W16, W32, W64} {
					xm := xm
					checkDecode(t, fmt.Sprintf("Store(%d,%v,%v)", w, m, r), emitted(func(c *Code) { c.Store(w, m, r) }), 0, x86asm.MOV, xm, xreg(w, r))
				}
				checkDecode(t, "Load8", emitted(func(c *Code) { c.Load(W8, r, m) }), 0, x86asm.MOVZX, xreg(W32, r), xm)
				checkDecode(t, "Load16", emitted(func(c *Code) { c.Load(W16, r, m) }), 0, x86asm.MOVZX, xreg(W32, r), xm)
				checkDecode(t, "Load32", emitted(func(c *Code) { c.Load(W32, r, m) }), 0, x86asm.MOV, xreg(W32, r), xm)
				checkDecode(t, "Load64", emitted(func(c *Code) { c.Load(W64, r, m) }), 0, x86asm.MOV, xreg(W64, r), xm)
				checkDecode(t, "LoadSX8", emitted(func(c *Code) { c.LoadSX(W8, r, m) }), 0, x86asm.MOVSX, xreg(W64, r), xm)
				checkDecode(t, "LoadSX16", emitted(func(c *Code) { c.LoadSX(W16, r, m) }), 0, x86asm.MOVSX, xreg(W64, r), xm)
				checkDecode(t, "LoadSX32", emitted(func(c *Code) { c.LoadSX(W32, r, m) }), 0, x86asm.MOVSXD, xreg(W64, r), xm)
				checkDecode(t, "Lea", emitted(func(c *Code) { c.Lea(r, m) }), 0, x86asm.LEA, xreg(W64, r), xm)
				for _, w := range []Width{W32, W64} {
					for _, op := range []ALUOp{ADD, OR, AND, XOR} {
						checkDecode(t, "LockALU", emitted(func(c *Code) { c.LockALU(op, w, m, r) }), x86asm.PrefixLOCK, xALU[op], xm, xreg(w, r))
					}
					checkDecode(t, "LockXadd", emitted(func(c *Code) { c.LockXadd(w, m, r) }), x86asm.PrefixLOCK, x86asm.XADD, xm, xreg(w, r))
					checkDecode(t, "Xchg", emitted(func(c *Code) { c.Xchg(w, m, r) }), 0, x86asm.XCHG, xm, xreg(w, r))
					checkDecode(t, "LockCmpxchg", emitted(func(c *Code) { c.LockCmpxchg(w, m, r) }), x86asm.PrefixLOCK, x86asm.CMPXCHG, xm, xreg(w, r))
				}
			}
			// x86asm shows imm8 zero-extended, imm16 and imm32 sign-extended.
			for w, want := range map[Width]int64{W8: 0xfe, W16: -2, W32: -2, W64: -2} {
				checkDecode(t, "StoreImm", emitted(func(c *Code) { c.StoreImm(w, m, -2) }), 0, x86asm.MOV, xm, x86asm.Imm(want))
			}
			checkDecode(t, "CallMem", emitted(func(c *Code) { c.CallMem(m) }), 0, x86asm.CALL, xm)
		}
	}
}
