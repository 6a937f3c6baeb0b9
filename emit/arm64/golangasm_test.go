package arm64

import (
	"encoding/binary"
	"fmt"
	"testing"

	golangasm "github.com/twitchyliquid64/golang-asm"
	"github.com/twitchyliquid64/golang-asm/obj"
	a64 "github.com/twitchyliquid64/golang-asm/obj/arm64"
	"golang.org/x/arch/arm64/arm64asm"
)

// Operand builders for golang-asm Progs (Go assembler conventions: sources
// first, destination last; p.Reg is the second source).

func gR(r Reg) obj.Addr {
	switch r {
	case SP:
		return obj.Addr{Type: obj.TYPE_REG, Reg: a64.REG_RSP}
	case XZR:
		return obj.Addr{Type: obj.TYPE_REG, Reg: a64.REGZERO}
	}
	return obj.Addr{Type: obj.TYPE_REG, Reg: a64.REG_R0 + int16(r)}
}

func gC(v int64) obj.Addr { return obj.Addr{Type: obj.TYPE_CONST, Offset: v} }

func gM(base Reg, off int64) obj.Addr {
	a := gR(base)
	return obj.Addr{Type: obj.TYPE_MEM, Reg: a.Reg, Offset: off}
}

func gMIdx(base, idx Reg) obj.Addr {
	a := gM(base, 0)
	a.Index = gR(idx).Reg
	a.Scale = 1
	return a
}

// gSh is "rm<<amount" (and >>, ->, @>) as Go's parser builds it.
func gSh(rm Reg, sh Shift, amount int64) obj.Addr {
	return obj.Addr{Type: obj.TYPE_SHIFT, Offset: int64(rm&31)<<16 | int64(sh)<<22 | amount<<10}
}

func gPair(a, b Reg) obj.Addr {
	return obj.Addr{Type: obj.TYPE_REGREG, Reg: gR(a).Reg, Offset: int64(gR(b).Reg)}
}

func gCond(c Cond) obj.Addr {
	return obj.Addr{Type: obj.TYPE_REG, Reg: a64.COND_EQ + int16(c)}
}

// gp is one golang-asm instruction: as from[, reg][, from3], to[, regTo2].
type gp struct {
	as     obj.As
	from   obj.Addr
	reg    Reg
	hasReg bool
	from3  *obj.Addr
	to     obj.Addr
	regTo2 Reg
	scond  uint8
	target int // for branches: index of the target instruction in the case
}

func (g gp) withReg(r Reg) gp            { g.reg, g.hasReg = r, true; return g }
func (g gp) withFrom3(a obj.Addr) gp     { g.from3 = &a; return g }
func (g gp) withRegTo2(r Reg) gp         { g.regTo2 = r; return g }
func (g gp) withScond(s uint8) gp        { g.scond = s; return g }
func op(as obj.As, from, to obj.Addr) gp { return gp{as: as, from: from, to: to, target: -1} }
func br(as obj.As, from obj.Addr, target int) gp {
	return gp{as: as, from: from, to: obj.Addr{Type: obj.TYPE_BRANCH}, target: target}
}

// assembleGolangAsm assembles one instruction sequence with golang-asm and
// returns its words; assembler diagnostics fail the test (golang-asm only prints
// them).
func assembleGolangAsm(t *testing.T, seq []gp) []uint32 {
	t.Helper()
	b, err := golangasm.NewBuilder("arm64", 64)
	if err != nil {
		t.Fatal(err)
	}
	var diags []string
	text := b.NewProg()
	text.As = obj.ATEXT // span7 skips the first Prog
	text.Ctxt.DiagFunc = func(f string, args ...interface{}) { diags = append(diags, fmt.Sprintf(f, args...)) }
	b.AddInstruction(text)
	progs := make([]*obj.Prog, len(seq))
	for i, g := range seq {
		p := b.NewProg()
		p.As, p.From, p.To, p.Scond = g.as, g.from, g.to, g.scond
		if g.hasReg {
			p.Reg = gR(g.reg).Reg
		}
		if g.from3 != nil {
			p.SetFrom3(*g.from3)
		}
		if g.regTo2 != 0 {
			p.RegTo2 = gR(g.regTo2).Reg
		}
		progs[i] = p
	}
	for i, g := range seq {
		if g.target >= 0 {
			progs[i].To.SetTarget(progs[g.target])
		}
		b.AddInstruction(progs[i])
	}
	code := b.Assemble()
	if len(diags) > 0 {
		t.Fatalf("golang-asm: %v", diags)
	}
	if len(code) < 4*len(seq) {
		t.Fatalf("golang-asm produced %d bytes for %d instructions", len(code), len(seq))
	}
	words := make([]uint32, len(seq))
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(code[4*i:])
	}
	return words
}

func nops(n int) []gp {
	s := make([]gp, n)
	for i := range s {
		s[i] = gp{as: a64.ANOOP, target: -1}
	}
	return s
}

// TestGolangAsmAgrees encodes a broad sample of instructions both with this
// package and with golang-asm (Go's own assembler back end) and requires
// identical words; each word is also decoded with arm64asm so a failure shows
// both instructions.
func TestGolangAsmAgrees(t *testing.T) {
	type tc struct {
		name string
		asm  []gp
		mine []enc
	}
	one := func(name string, g gp, m enc) tc { return tc{name, []gp{g}, []enc{m}} }
	// A branch case: the branch, then nops, the target at index n.
	branch := func(name string, g gp, n int, m func(off int64) enc) tc {
		g.target = n
		seq := append([]gp{g}, nops(n)...)
		mine := []enc{m(int64(4 * n))}
		for i := 0; i < n; i++ {
			mine = append(mine, e(Nop()))
		}
		return tc{name, seq, mine}
	}
	backward := func(name string, g gp, n int, m func(off int64) enc) tc {
		g.target = 0
		seq := append(nops(n), g)
		var mine []enc
		for i := 0; i < n; i++ {
			mine = append(mine, e(Nop()))
		}
		mine = append(mine, m(int64(-4*n)))
		return tc{name, seq, mine}
	}
	cases := []tc{
		one("add imm", op(a64.AADD, gC(42), gR(X0)).withReg(X1), e(AddSubImm(ADD, W64, X0, X1, 42))),
		one("addw imm", op(a64.AADDW, gC(0xfff), gR(X3)).withReg(X4), e(AddSubImm(ADD, W32, X3, X4, 0xfff))),
		one("add imm lsl12", op(a64.AADD, gC(0x123000), gR(X5)).withReg(X6), e(AddSubImm(ADD, W64, X5, X6, 0x123000))),
		one("sub sp", op(a64.ASUB, gC(64), gR(SP)).withReg(SP), e(AddSubImm(SUB, W64, SP, SP, 64))),
		one("subs imm", op(a64.ASUBSW, gC(4095), gR(X1)).withReg(X2), e(AddSubImm(SUBS, W32, X1, X2, 4095))),
		one("cmp imm", op(a64.ACMP, gC(10), obj.Addr{}).withReg(X7), e(CmpImm(W64, X7, 10))),
		one("cmn imm", op(a64.ACMN, gC(1), obj.Addr{}).withReg(X0), e(CmnImm(W64, X0, 1))),
		one("add reg", op(a64.AADD, gR(X1), gR(X7)).withReg(X0), e(AddSubReg(ADD, W64, X7, X0, X1))),
		one("subw reg", op(a64.ASUBW, gR(X2), gR(X7)).withReg(X7), e(AddSubReg(SUB, W32, X7, X7, X2))),
		one("add lsl", op(a64.AADD, gSh(X2, LSL, 3), gR(X0)).withReg(X1), e(AddSubShifted(ADD, W64, X0, X1, X2, LSL, 3))),
		one("sub lsr", op(a64.ASUB, gSh(X2, LSR, 63), gR(X0)).withReg(X1), e(AddSubShifted(SUB, W64, X0, X1, X2, LSR, 63))),
		one("addsw asr", op(a64.AADDSW, gSh(X2, ASR, 31), gR(X0)).withReg(X1), e(AddSubShifted(ADDS, W32, X0, X1, X2, ASR, 31))),
		one("cmp reg", op(a64.ACMP, gR(X20), obj.Addr{}).withReg(X19), e(CmpReg(W64, X19, X20))),
		one("cmpw reg", op(a64.ACMPW, gR(X1), obj.Addr{}).withReg(X0), e(CmpReg(W32, X0, X1))),
		one("neg", op(a64.ANEG, gR(X7), gR(X7)), e(Neg(W64, X7, X7))),
		one("and reg", op(a64.AAND, gR(X2), gR(X0)).withReg(X1), e(LogicReg(AND, W64, X0, X1, X2))),
		one("orrw reg", op(a64.AORRW, gR(X2), gR(X0)).withReg(X1), e(LogicReg(ORR, W32, X0, X1, X2))),
		one("eor reg", op(a64.AEOR, gR(X2), gR(X0)).withReg(X1), e(LogicReg(EOR, W64, X0, X1, X2))),
		one("ands reg", op(a64.AANDS, gR(X2), gR(X0)).withReg(X1), e(LogicReg(ANDS, W64, X0, X1, X2))),
		one("bic reg", op(a64.ABIC, gR(X2), gR(X0)).withReg(X1), e(LogicReg(BIC, W64, X0, X1, X2))),
		one("orn reg", op(a64.AORNW, gR(X2), gR(X0)).withReg(X1), e(LogicReg(ORN, W32, X0, X1, X2))),
		one("eon reg", op(a64.AEON, gR(X2), gR(X0)).withReg(X1), e(LogicReg(EON, W64, X0, X1, X2))),
		one("orr ror", op(a64.AORR, gSh(X2, ROR, 7), gR(X0)).withReg(X1), e(LogicShifted(ORR, W64, X0, X1, X2, ROR, 7))),
		one("tst reg", op(a64.ATST, gR(X1), obj.Addr{}).withReg(X0), e(TstReg(W64, X0, X1))),
		one("mvn", op(a64.AMVN, gR(X1), gR(X0)), e(Mvn(W64, X0, X1))),
		one("mov x9 lr", op(a64.AMOVD, gR(LR), gR(X9)), e(Mov(W64, X9, LR))),
		one("mov from sp", op(a64.AMOVD, gR(SP), gR(FP)), e(Mov(W64, FP, SP))),
		one("and imm", op(a64.AAND, gC(0xff), gR(X0)).withReg(X1), e(LogicImm(AND, W64, X0, X1, 0xff))),
		one("andw imm", op(a64.AANDW, gC(0xffff0000), gR(X0)).withReg(X1), e(LogicImm(AND, W32, X0, X1, 0xffff0000))),
		one("orr imm", op(a64.AORR, gC(0x5555555555555555), gR(X0)).withReg(X1), e(LogicImm(ORR, W64, X0, X1, 0x5555555555555555))),
		one("eorw imm", op(a64.AEORW, gC(0x80000000), gR(X2)).withReg(X3), e(LogicImm(EOR, W32, X2, X3, 0x80000000))),
		one("tstw imm", op(a64.ATSTW, gC(1), obj.Addr{}).withReg(X0), e(TstImm(W32, X0, 1))),
		one("movz", op(a64.AMOVZ, gC(0x1234<<32), gR(X0)), e(MoveWide(MOVZ, W64, X0, 0x1234, 2))),
		one("movzw", op(a64.AMOVZW, gC(0xffff<<16), gR(X0)), e(MoveWide(MOVZ, W32, X0, 0xffff, 1))),
		one("movn", op(a64.AMOVN, gC(0), gR(X0)), e(MoveWide(MOVN, W64, X0, 0, 0))),
		one("movk", op(a64.AMOVK, gC(0x7eef<<48), gR(X2)), e(MoveWide(MOVK, W64, X2, 0x7eef, 3))),
		one("movkw", op(a64.AMOVKW, gC(0xbeef<<16), gR(X2)), e(MoveWide(MOVK, W32, X2, 0xbeef, 1))),
		one("mul", op(a64.AMUL, gR(X1), gR(X7)).withReg(X7), e(Mul(W64, X7, X7, X1))),
		one("mulw", op(a64.AMULW, gR(X1), gR(X7)).withReg(X7), e(Mul(W32, X7, X7, X1))),
		one("madd", op(a64.AMADD, gR(X2), gR(X0)).withReg(X3).withFrom3(gR(X1)), e(Madd(W64, X0, X1, X2, X3))),
		one("msubw", op(a64.AMSUBW, gR(X2), gR(X0)).withReg(X3).withFrom3(gR(X1)), e(Msub(W32, X0, X1, X2, X3))),
		one("udiv", op(a64.AUDIV, gR(X2), gR(X0)).withReg(X1), e(DP2(UDIV, W64, X0, X1, X2))),
		one("sdivw", op(a64.ASDIVW, gR(X2), gR(X0)).withReg(X1), e(DP2(SDIV, W32, X0, X1, X2))),
		one("lslv", op(a64.ALSL, gR(X2), gR(X0)).withReg(X1), e(DP2(LSLV, W64, X0, X1, X2))),
		one("lsrvw", op(a64.ALSRW, gR(X2), gR(X0)).withReg(X1), e(DP2(LSRV, W32, X0, X1, X2))),
		one("asrv", op(a64.AASR, gR(X2), gR(X0)).withReg(X1), e(DP2(ASRV, W64, X0, X1, X2))),
		one("rorv", op(a64.AROR, gR(X2), gR(X0)).withReg(X1), e(DP2(RORV, W64, X0, X1, X2))),
		one("lsl imm", op(a64.ALSL, gC(3), gR(X0)).withReg(X1), e(LslImm(W64, X0, X1, 3))),
		one("lslw imm", op(a64.ALSLW, gC(31), gR(X0)).withReg(X1), e(LslImm(W32, X0, X1, 31))),
		one("lsr imm", op(a64.ALSR, gC(63), gR(X0)).withReg(X1), e(LsrImm(W64, X0, X1, 63))),
		one("asrw imm", op(a64.AASRW, gC(31), gR(X0)).withReg(X1), e(AsrImm(W32, X0, X1, 31))),
		one("rev", op(a64.AREV, gR(X1), gR(X0)), e(DP1(REV, W64, X0, X1))),
		one("revw", op(a64.AREVW, gR(X1), gR(X0)), e(DP1(REV, W32, X0, X1))),
		one("rev16w", op(a64.AREV16W, gR(X1), gR(X0)), e(DP1(REV16, W32, X0, X1))),
		one("rev32", op(a64.AREV32, gR(X1), gR(X0)), e(DP1(REV32, W64, X0, X1))),
		one("clzw", op(a64.ACLZW, gR(X1), gR(X0)), e(DP1(CLZ, W32, X0, X1))),
		one("sxtb", op(a64.ASXTB, gR(X1), gR(X0)), e(Sxtb(W64, X0, X1))),
		one("sxth", op(a64.ASXTH, gR(X1), gR(X0)), e(Sxth(W64, X0, X1))),
		one("sxtw", op(a64.ASXTW, gR(X1), gR(X0)), e(Sxtw(X0, X1))),
		one("uxtbw", op(a64.AUXTBW, gR(X1), gR(X0)), e(Uxtb(X0, X1))),
		one("uxthw", op(a64.AUXTHW, gR(X1), gR(X0)), e(Uxth(X0, X1))),
		one("ubfx", op(a64.AUBFX, gC(8), gR(X0)).withReg(X1).withFrom3(gC(8)), e(Bitfield(UBFM, W64, X0, X1, 8, 15))),
		one("csel", op(a64.ACSEL, gCond(EQ), gR(X0)).withReg(X1).withFrom3(gR(X2)), e(Csel(W64, X0, X1, X2, EQ))),
		one("cselw", op(a64.ACSELW, gCond(LT), gR(X0)).withReg(X1).withFrom3(gR(X2)), e(Csel(W32, X0, X1, X2, LT))),
		one("csinc", op(a64.ACSINC, gCond(NE), gR(X0)).withReg(X1).withFrom3(gR(X2)), e(Csinc(W64, X0, X1, X2, NE))),
		one("cset", op(a64.ACSET, gCond(HI), gR(X0)), e(Cset(W64, X0, HI))),
		one("ldr x", op(a64.AMOVD, gM(X1, 8), gR(X0)), e(LdStImm(LDRX, X0, X1, 8))),
		one("ldr x max", op(a64.AMOVD, gM(X1, 32760), gR(X0)), e(LdStImm(LDRX, X0, X1, 32760))),
		one("ldr w", op(a64.AMOVWU, gM(X1, 4), gR(X0)), e(LdStImm(LDRW, X0, X1, 4))),
		one("ldrh", op(a64.AMOVHU, gM(X1, 8190), gR(X0)), e(LdStImm(LDRH, X0, X1, 8190))),
		one("ldrb", op(a64.AMOVBU, gM(X1, 4095), gR(X0)), e(LdStImm(LDRB, X0, X1, 4095))),
		one("ldrsw", op(a64.AMOVW, gM(X1, 4), gR(X0)), e(LdStImm(LDRSWX, X0, X1, 4))),
		one("ldrsh", op(a64.AMOVH, gM(X1, 2), gR(X0)), e(LdStImm(LDRSHX, X0, X1, 2))),
		one("ldrsb", op(a64.AMOVB, gM(X1, 1), gR(X0)), e(LdStImm(LDRSBX, X0, X1, 1))),
		one("str x", op(a64.AMOVD, gR(X0), gM(X1, 8)), e(LdStImm(STRX, X0, X1, 8))),
		one("str w", op(a64.AMOVW, gR(X0), gM(X1, 4)), e(LdStImm(STRW, X0, X1, 4))),
		one("strh", op(a64.AMOVH, gR(X0), gM(X1, 2)), e(LdStImm(STRH, X0, X1, 2))),
		one("strb", op(a64.AMOVB, gR(X0), gM(X1, 1)), e(LdStImm(STRB, X0, X1, 1))),
		one("str xzr sp", op(a64.AMOVD, gR(XZR), gM(SP, 16)), e(LdStImm(STRX, XZR, SP, 16))),
		one("ldur x", op(a64.AMOVD, gM(X25, -8), gR(X0)), e(LdStImm(LDRX, X0, X25, -8))),
		one("ldur x min", op(a64.AMOVD, gM(X25, -256), gR(X0)), e(LdStImm(LDRX, X0, X25, -256))),
		one("stur w", op(a64.AMOVW, gR(X0), gM(X1, -4)), e(LdStImm(STRW, X0, X1, -4))),
		one("sturb", op(a64.AMOVB, gR(X0), gM(X1, -1)), e(LdStImm(STRB, X0, X1, -1))),
		one("ldursh", op(a64.AMOVH, gM(X1, -2), gR(X0)), e(LdStImm(LDRSHX, X0, X1, -2))),
		one("ldr x reg", op(a64.AMOVD, gMIdx(X1, X2), gR(X0)), e(LdStReg(LDRX, X0, X1, X2))),
		one("ldrb reg", op(a64.AMOVBU, gMIdx(X1, X2), gR(X0)), e(LdStReg(LDRB, X0, X1, X2))),
		one("str w reg", op(a64.AMOVW, gR(X0), gMIdx(X1, X2)), e(LdStReg(STRW, X0, X1, X2))),
		one("strh reg", op(a64.AMOVH, gR(X0), gMIdx(X1, X2)), e(LdStReg(STRH, X0, X1, X2))),
		one("stp pre", op(a64.ASTP, gPair(FP, LR), gM(SP, -16)).withScond(a64.C_XPRE), e(Stp(W64, PairPreIndex, FP, LR, SP, -16))),
		one("ldp post", op(a64.ALDP, gM(SP, 16), gPair(FP, LR)).withScond(a64.C_XPOST), e(Ldp(W64, PairPostIndex, FP, LR, SP, 16))),
		one("stp offset", op(a64.ASTP, gPair(X19, X20), gM(SP, 504)), e(Stp(W64, PairOffset, X19, X20, SP, 504))),
		one("ldpw offset", op(a64.ALDPW, gM(X2, 8), gPair(X0, X1)), e(Ldp(W32, PairOffset, X0, X1, X2, 8))),
		one("ldaddal", op(a64.ALDADDALD, gR(X1), gM(X2, 0)).withRegTo2(X0), e(Atomic(LDADD, W64, X1, X0, X2))),
		one("ldaddal w", op(a64.ALDADDALW, gR(X1), gM(X2, 0)).withRegTo2(X0), e(Atomic(LDADD, W32, X1, X0, X2))),
		one("ldeoral", op(a64.ALDEORALD, gR(X1), gM(X2, 0)).withRegTo2(X0), e(Atomic(LDEOR, W64, X1, X0, X2))),
		one("ldsetal", op(a64.ALDORALD, gR(X1), gM(X2, 0)).withRegTo2(X0), e(Atomic(LDSET, W64, X1, X0, X2))),
		one("swpal w", op(a64.ASWPALW, gR(X1), gM(X2, 0)).withRegTo2(X0), e(Atomic(SWP, W32, X1, X0, X2))),
		one("ldaxr", op(a64.ALDAXR, gM(X1, 0), gR(X0)), e(Ldaxr(W64, X0, X1))),
		one("ldaxrw", op(a64.ALDAXRW, gM(X1, 0), gR(X0)), e(Ldaxr(W32, X0, X1))),
		one("stlxr", op(a64.ASTLXR, gR(X0), gM(X1, 0)).withRegTo2(X9), e(Stlxr(W64, X9, X0, X1))),
		one("stlxrw", op(a64.ASTLXRW, gR(X0), gM(X1, 0)).withRegTo2(X9), e(Stlxr(W32, X9, X0, X1))),
		one("dmb ish", op(a64.ADMB, gC(11), obj.Addr{}), e(DmbIsh())),
		one("dsb ish", op(a64.ADSB, gC(11), obj.Addr{}), e(DsbIsh())),
		one("isb", op(a64.AISB, gC(15), obj.Addr{}), e(Isb())),
		one("nop", gp{as: a64.ANOOP, target: -1}, e(Nop())),
		one("brk", op(a64.ABRK, gC(1000), obj.Addr{}), e(Brk(1000))),
		one("br", op(obj.AJMP, obj.Addr{}, gM(X9, 0)), e(Br(X9))),
		one("blr", op(obj.ACALL, obj.Addr{}, gM(X10, 0)), e(Blr(X10))),
		one("ret", op(obj.ARET, obj.Addr{}, gM(LR, 0)), e(Ret(LR))),
		branch("b fwd", br(obj.AJMP, obj.Addr{}, 0), 3, func(o int64) enc { return e(B(o)) }),
		backward("b back", br(obj.AJMP, obj.Addr{}, 0), 2, func(o int64) enc { return e(B(o)) }),
		branch("bl fwd", br(obj.ACALL, obj.Addr{}, 0), 2, func(o int64) enc { return e(BL(o)) }),
		branch("b.eq", br(a64.ABEQ, obj.Addr{}, 0), 2, func(o int64) enc { return e(BCond(EQ, o)) }),
		backward("b.lt back", br(a64.ABLT, obj.Addr{}, 0), 3, func(o int64) enc { return e(BCond(LT, o)) }),
		branch("b.hi", br(a64.ABHI, obj.Addr{}, 0), 1, func(o int64) enc { return e(BCond(HI, o)) }),
		branch("cbz", br(a64.ACBZ, gR(X0), 0), 2, func(o int64) enc { return e(Cbz(false, W64, X0, o)) }),
		backward("cbnzw", br(a64.ACBNZW, gR(X1), 0), 2, func(o int64) enc { return e(Cbz(true, W32, X1, o)) }),
		branch("tbz", br(a64.ATBZ, gC(5), 0).withReg(X3), 2, func(o int64) enc { return e(Tbz(false, X3, 5, o)) }),
		branch("tbnz", br(a64.ATBNZ, gC(63), 0).withReg(X3), 1, func(o int64) enc { return e(Tbz(true, X3, 63, o)) }),
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			theirs := assembleGolangAsm(t, c.asm)
			for i, m := range c.mine {
				if m.err != nil {
					t.Fatalf("encode: %v", m.err)
				}
				if uint32(m.inst) != theirs[i] {
					t.Errorf("word %d: ours %#08x (%s), golang-asm %#08x (%s)", i,
						uint32(m.inst), gnu(uint32(m.inst)), theirs[i], gnu(theirs[i]))
				}
			}
		})
	}
}

func gnu(w uint32) string {
	d, err := arm64asm.Decode(wordBytes(w))
	if err != nil {
		return "?"
	}
	return normalizeGNU(arm64asm.GNUSyntax(d))
}
