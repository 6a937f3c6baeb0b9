package amd64

import (
	"fmt"
	"testing"

	golangasm "github.com/twitchyliquid64/golang-asm"
	"github.com/twitchyliquid64/golang-asm/obj"
	"github.com/twitchyliquid64/golang-asm/obj/x86"
	"golang.org/x/arch/x86/x86asm"
)

// TestAgreesWithGolangAsm encodes a broad sample of instructions both with this encoder and
// with golang-asm (Go's own assembler back end) and checks that both decode to the same
// operation and operands. The byte sequences may legitimately differ (direction bits,
// immediate widths), the meaning may not.

type gaOperand struct {
	typ  obj.AddrType
	reg  int16
	off  int64
	base Reg
}

func gaReg(w Width, r Reg) gaOperand {
	if w == W8 {
		return gaOperand{typ: obj.TYPE_REG, reg: x86.REG_AL + int16(r)}
	}
	return gaOperand{typ: obj.TYPE_REG, reg: x86.REG_AX + int16(r)}
}
func gaMem(m Mem) gaOperand {
	return gaOperand{typ: obj.TYPE_MEM, reg: x86.REG_AX + int16(m.Base), off: int64(m.Disp)}
}
func gaConst(v int64) gaOperand { return gaOperand{typ: obj.TYPE_CONST, off: v} }

type gaCase struct {
	name     string
	mine     func(c *Code)
	as       obj.As
	from, to gaOperand
	lock     bool
}

func (o gaOperand) addr(a *obj.Addr) {
	a.Type = o.typ
	a.Reg = o.reg
	a.Offset = o.off
}

func gaCases() []gaCase {
	var cs []gaCase
	regs := []Reg{RAX, RCX, RSP, RBP, RSI, RDI, R8, R12, R13, R15}
	alu := []struct {
		op     ALUOp
		q, l   obj.As
		lockOK bool
	}{
		{ADD, x86.AADDQ, x86.AADDL, true}, {SUB, x86.ASUBQ, x86.ASUBL, false},
		{AND, x86.AANDQ, x86.AANDL, true}, {OR, x86.AORQ, x86.AORL, true},
		{XOR, x86.AXORQ, x86.AXORL, true}, {CMP, x86.ACMPQ, x86.ACMPL, false},
	}
	mems := []Mem{{RDI, 0}, {RBP, -8}, {RSP, 16}, {R12, -512}, {R13, 0}, {R10, 0x1000}}
	for _, a := range regs {
		for _, b := range regs {
			for _, op := range alu {
				op, a, b := op, a, b
				// Go operand order: OP src, dst; CMP is the exception: CMPQ a, b compares a with b.
				from, to := gaReg(W64, b), gaReg(W64, a)
				if op.op == CMP {
					from, to = to, from
				}
				cs = append(cs, gaCase{fmt.Sprintf("%v q %v,%v", op.op, a, b), func(c *Code) { c.ALU(op.op, W64, a, b) }, op.q, from, to, false})
				from, to = gaReg(W32, b), gaReg(W32, a)
				if op.op == CMP {
					from, to = to, from
				}
				cs = append(cs, gaCase{fmt.Sprintf("%v l %v,%v", op.op, a, b), func(c *Code) { c.ALU(op.op, W32, a, b) }, op.l, from, to, false})
			}
			cs = append(cs,
				gaCase{"mov", func(c *Code) { c.Mov(W64, a, b) }, x86.AMOVQ, gaReg(W64, b), gaReg(W64, a), false},
				gaCase{"imul", func(c *Code) { c.Imul(W64, a, b) }, x86.AIMULQ, gaReg(W64, b), gaReg(W64, a), false},
				gaCase{"movlqsx", func(c *Code) { c.Movsx(W64, a, b, W32) }, x86.AMOVLQSX, gaReg(W32, b), gaReg(W64, a), false},
				gaCase{"movwlzx", func(c *Code) { c.Movzx(a, b, W16) }, x86.AMOVWLZX, gaReg(W16, b), gaReg(W32, a), false},
			)
			if b != RSP { // Go's assembler has no SPB operand
				cs = append(cs,
					gaCase{"movbqsx", func(c *Code) { c.Movsx(W64, a, b, W8) }, x86.AMOVBQSX, gaReg(W8, b), gaReg(W64, a), false},
					gaCase{"movblzx", func(c *Code) { c.Movzx(a, b, W8) }, x86.AMOVBLZX, gaReg(W8, b), gaReg(W32, a), false})
			}
		}
		for _, imm := range []int64{1, -128, 1000, -0x80000000} {
			a, imm := a, imm
			cs = append(cs,
				gaCase{"addq imm", func(c *Code) { c.ALUImm(ADD, W64, a, int32(imm)) }, x86.AADDQ, gaConst(imm), gaReg(W64, a), false},
				gaCase{"andl imm", func(c *Code) { c.ALUImm(AND, W32, a, int32(imm)) }, x86.AANDL, gaConst(imm), gaReg(W32, a), false},
			)
		}
		cs = append(cs,
			gaCase{"shlq cl", func(c *Code) { c.Shift(SHL, W64, a) }, x86.ASHLQ, gaReg(W64, RCX), gaReg(W64, a), false},
			gaCase{"sarl imm", func(c *Code) { c.ShiftImm(SAR, W32, a, 5) }, x86.ASARL, gaConst(5), gaReg(W32, a), false},
			gaCase{"bswapq", func(c *Code) { c.Bswap(W64, a) }, x86.ABSWAPQ, gaOperand{}, gaReg(W64, a), false},
			gaCase{"negl", func(c *Code) { c.Neg(W32, a) }, x86.ANEGL, gaOperand{}, gaReg(W32, a), false},
			gaCase{"pushq", func(c *Code) { c.Push(a) }, x86.APUSHQ, gaReg(W64, a), gaOperand{}, false},
			gaCase{"popq", func(c *Code) { c.Pop(a) }, x86.APOPQ, gaOperand{}, gaReg(W64, a), false},
		)
		for _, m := range mems {
			a, m := a, m
			cs = append(cs,
				gaCase{"load q", func(c *Code) { c.Load(W64, a, m) }, x86.AMOVQ, gaMem(m), gaReg(W64, a), false},
				gaCase{"load l", func(c *Code) { c.Load(W32, a, m) }, x86.AMOVL, gaMem(m), gaReg(W32, a), false},
				gaCase{"load b", func(c *Code) { c.Load(W8, a, m) }, x86.AMOVBLZX, gaMem(m), gaReg(W32, a), false},
				gaCase{"load sx w", func(c *Code) { c.LoadSX(W16, a, m) }, x86.AMOVWQSX, gaMem(m), gaReg(W64, a), false},
				gaCase{"store q", func(c *Code) { c.Store(W64, m, a) }, x86.AMOVQ, gaReg(W64, a), gaMem(m), false},
				gaCase{"store w", func(c *Code) { c.Store(W16, m, a) }, x86.AMOVW, gaReg(W16, a), gaMem(m), false},
				gaCase{"lea", func(c *Code) { c.Lea(a, m) }, x86.ALEAQ, gaMem(m), gaReg(W64, a), false},
				gaCase{"xaddq", func(c *Code) { c.LockXadd(W64, m, a) }, x86.AXADDQ, gaReg(W64, a), gaMem(m), true},
				gaCase{"xchgl", func(c *Code) { c.Xchg(W32, m, a) }, x86.AXCHGL, gaReg(W32, a), gaMem(m), false},
				gaCase{"cmpxchgq", func(c *Code) { c.LockCmpxchg(W64, m, a) }, x86.ACMPXCHGQ, gaReg(W64, a), gaMem(m), true},
				gaCase{"lock orl", func(c *Code) { c.LockALU(OR, W32, m, a) }, x86.AORL, gaReg(W32, a), gaMem(m), true},
			)
			if a != RSP {
				cs = append(cs, gaCase{"store b", func(c *Code) { c.Store(W8, m, a) }, x86.AMOVB, gaReg(W8, a), gaMem(m), false})
			}
		}
	}
	return cs
}

func TestAgreesWithGolangAsm(t *testing.T) {
	cases := gaCases()
	b, err := golangasm.NewBuilder("amd64", len(cases)*2+8)
	if err != nil {
		t.Fatal(err)
	}
	var mine Code
	for _, tc := range cases {
		if tc.lock {
			p := b.NewProg()
			p.As = x86.ALOCK
			b.AddInstruction(p)
		}
		p := b.NewProg()
		p.As = tc.as
		tc.from.addr(&p.From)
		tc.to.addr(&p.To)
		b.AddInstruction(p)
		tc.mine(&mine)
	}
	theirs := b.Assemble()
	for i, j, k := 0, 0, 0; k < len(cases); k++ {
		a, errA := x86asm.Decode(mine[i:], 64)
		g, errG := x86asm.Decode(theirs[j:], 64)
		if errA != nil || errG != nil {
			t.Fatalf("%s: decode errors: mine %v, golang-asm %v", cases[k].name, errA, errG)
		}
		if a.Op != g.Op || a.Args != g.Args {
			t.Errorf("%s: mine %x = %v, golang-asm %x = %v", cases[k].name, mine[i:i+a.Len], a, theirs[j:j+g.Len], g)
		}
		i += a.Len
		j += g.Len
	}
	t.Logf("%d instructions agree", len(cases))
}
