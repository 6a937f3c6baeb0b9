package arm64

import (
	"encoding/binary"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/arch/arm64/arm64asm"
)

// enc captures an encoder's result so that table rows can call encoders inline.
type enc struct {
	inst Inst
	err  error
}

func e(i Inst, err error) enc { return enc{i, err} }

// goldenCase pins one instruction form: the encoder call, the instruction word
// (as a 32-bit value, i.e. the Arm ARM's notation, not memory byte order) and its
// GNU-syntax text. noArm64asm marks forms the x/arch decoder does not know (LSE
// atomics, ic ivau); their text is checked by llvm-mc instead.
type goldenCase struct {
	name       string
	got        enc
	word       uint32
	text       string
	noArm64asm bool
}

var goldenCases = []goldenCase{
	// add/sub immediate
	{"add imm", e(AddSubImm(ADD, W64, X0, X1, 42)), 0x9100a820, "add x0, x1, #0x2a", false},
	{"add imm w32 max", e(AddSubImm(ADD, W32, X3, X4, 0xfff)), 0x113ffc83, "add w3, w4, #0xfff", false},
	{"add imm lsl 12", e(AddSubImm(ADD, W64, X5, X6, 0x123000)), 0x91448cc5, "add x5, x6, #0x123, lsl #12", false},
	{"sub imm sp", e(AddSubImm(SUB, W64, SP, SP, 64)), 0xd10103ff, "sub sp, sp, #0x40", false},
	{"adds imm", e(AddSubImm(ADDS, W64, X1, X2, 1)), 0xb1000441, "adds x1, x2, #0x1", false},
	{"subs imm w32", e(AddSubImm(SUBS, W32, X1, X2, 4095)), 0x713ffc41, "subs w1, w2, #0xfff", false},
	{"cmp imm", e(CmpImm(W64, X7, 10)), 0xf10028ff, "cmp x7, #0xa", false},
	{"cmp imm w32 lsl 12", e(CmpImm(W32, X7, 0x5000)), 0x714014ff, "cmp w7, #0x5, lsl #12", false},
	{"cmn imm", e(CmnImm(W64, X0, 1)), 0xb100041f, "cmn x0, #0x1", false},
	// add/sub shifted register
	{"add reg", e(AddSubReg(ADD, W64, X7, X0, X1)), 0x8b010007, "add x7, x0, x1", false},
	{"sub reg w32", e(AddSubReg(SUB, W32, X7, X7, X2)), 0x4b0200e7, "sub w7, w7, w2", false},
	{"subs reg", e(AddSubReg(SUBS, W64, X3, X4, X5)), 0xeb050083, "subs x3, x4, x5", false},
	{"adds reg w32", e(AddSubReg(ADDS, W32, X3, X4, X5)), 0x2b050083, "adds w3, w4, w5", false},
	{"add lsl", e(AddSubShifted(ADD, W64, X0, X1, X2, LSL, 3)), 0x8b020c20, "add x0, x1, x2, lsl #3", false},
	{"sub lsr 63", e(AddSubShifted(SUB, W64, X0, X1, X2, LSR, 63)), 0xcb42fc20, "sub x0, x1, x2, lsr #63", false},
	{"adds asr w32", e(AddSubShifted(ADDS, W32, X0, X1, X2, ASR, 31)), 0x2b827c20, "adds w0, w1, w2, asr #31", false},
	{"cmp reg", e(CmpReg(W64, X19, X20)), 0xeb14027f, "cmp x19, x20", false},
	{"cmp reg w32", e(CmpReg(W32, X0, X1)), 0x6b01001f, "cmp w0, w1", false},
	{"cmn reg", e(CmnReg(W64, X0, X1)), 0xab01001f, "cmn x0, x1", false},
	{"neg", e(Neg(W64, X7, X7)), 0xcb0703e7, "neg x7, x7", false},
	{"neg w32", e(Neg(W32, X1, X2)), 0x4b0203e1, "neg w1, w2", false},
	// logical shifted register
	{"and reg", e(LogicReg(AND, W64, X0, X1, X2)), 0x8a020020, "and x0, x1, x2", false},
	{"orr reg w32", e(LogicReg(ORR, W32, X0, X1, X2)), 0x2a020020, "orr w0, w1, w2", false},
	{"eor reg", e(LogicReg(EOR, W64, X0, X1, X2)), 0xca020020, "eor x0, x1, x2", false},
	{"ands reg", e(LogicReg(ANDS, W64, X0, X1, X2)), 0xea020020, "ands x0, x1, x2", false},
	{"bic reg", e(LogicReg(BIC, W64, X0, X1, X2)), 0x8a220020, "bic x0, x1, x2", false},
	{"orn reg", e(LogicReg(ORN, W32, X0, X1, X2)), 0x2a220020, "orn w0, w1, w2", false},
	{"eon reg", e(LogicReg(EON, W64, X0, X1, X2)), 0xca220020, "eon x0, x1, x2", false},
	{"bics reg", e(LogicReg(BICS, W64, X0, X1, X2)), 0xea220020, "bics x0, x1, x2", false},
	{"orr ror", e(LogicShifted(ORR, W64, X0, X1, X2, ROR, 7)), 0xaac21c20, "orr x0, x1, x2, ror #7", false},
	{"eor lsl w32", e(LogicShifted(EOR, W32, X3, X4, X5, LSL, 31)), 0x4a057c83, "eor w3, w4, w5, lsl #31", false},
	{"tst reg", e(TstReg(W64, X0, X1)), 0xea01001f, "tst x0, x1", false},
	{"mvn", e(Mvn(W64, X0, X1)), 0xaa2103e0, "mvn x0, x1", false},
	// register moves
	{"mov x9 lr", e(Mov(W64, X9, LR)), 0xaa1e03e9, "mov x9, x30", false},
	{"mov w32", e(Mov(W32, X0, X1)), 0x2a0103e0, "mov w0, w1", false},
	{"mov to sp", e(Mov(W64, SP, X25)), 0x9100033f, "mov sp, x25", false},
	{"mov from sp", e(Mov(W64, FP, SP)), 0x910003fd, "mov x29, sp", false},
	// logical immediate
	{"and imm", e(LogicImm(AND, W64, X0, X1, 0xff)), 0x92401c20, "and x0, x1, #0xff", false},
	{"and imm w32", e(LogicImm(AND, W32, X0, X1, 0xffff0000)), 0x12103c20, "and w0, w1, #0xffff0000", false},
	{"and imm sp", e(LogicImm(AND, W64, SP, X9, 0xfffffffffffffff0)), 0x927ced3f, "and sp, x9, #0xfffffffffffffff0", false},
	{"orr imm", e(LogicImm(ORR, W64, X0, X1, 0x5555555555555555)), 0xb200f020, "orr x0, x1, #0x5555555555555555", false},
	{"eor imm w32", e(LogicImm(EOR, W32, X2, X3, 0x80000000)), 0x52010062, "eor w2, w3, #0x80000000", false},
	{"ands imm", e(LogicImm(ANDS, W64, X0, X1, 1)), 0xf2400020, "ands x0, x1, #0x1", false},
	{"tst imm w32", e(TstImm(W32, X0, 1)), 0x7200001f, "tst w0, #0x1", false},
	{"orr imm zr", e(LogicImm(ORR, W64, X0, XZR, 0x00ff00ff00ff00ff)), 0xb2009fe0, "mov x0, #0xff00ff00ff00ff", false},
	// move wide
	{"movz", e(MoveWide(MOVZ, W64, X0, 0x1234, 0)), 0xd2824680, "mov x0, #0x1234", false},
	{"movz hw2", e(MoveWide(MOVZ, W64, X0, 0x1234, 2)), 0xd2c24680, "mov x0, #0x123400000000", false},
	{"movz w32 hw1", e(MoveWide(MOVZ, W32, X0, 0xffff, 1)), 0x52bfffe0, "mov w0, #0xffff0000", false},
	{"movz zero hw1", e(MoveWide(MOVZ, W64, X0, 0, 1)), 0xd2a00000, "movz x0, #0x0, lsl #16", false},
	{"movn", e(MoveWide(MOVN, W64, X0, 0, 0)), 0x92800000, "mov x0, #0xffffffffffffffff", false},
	{"movn w32", e(MoveWide(MOVN, W32, X1, 0x1234, 0)), 0x12824681, "mov w1, #0xffffedcb", false},
	{"movk hw3", e(MoveWide(MOVK, W64, X2, 0xbeef, 3)), 0xf2f7dde2, "movk x2, #0xbeef, lsl #48", false},
	{"movk w32 hw1", e(MoveWide(MOVK, W32, X2, 0xbeef, 1)), 0x72b7dde2, "movk w2, #0xbeef, lsl #16", false},
	// multiply, divide
	{"mul", e(Mul(W64, X7, X7, X1)), 0x9b017ce7, "mul x7, x7, x1", false},
	{"mul w32", e(Mul(W32, X7, X7, X1)), 0x1b017ce7, "mul w7, w7, w1", false},
	{"madd", e(Madd(W64, X0, X1, X2, X3)), 0x9b020c20, "madd x0, x1, x2, x3", false},
	{"msub", e(Msub(W64, X0, X1, X2, X3)), 0x9b028c20, "msub x0, x1, x2, x3", false},
	{"msub w32", e(Msub(W32, X0, X1, X2, X3)), 0x1b028c20, "msub w0, w1, w2, w3", false},
	{"udiv", e(DP2(UDIV, W64, X0, X1, X2)), 0x9ac20820, "udiv x0, x1, x2", false},
	{"udiv w32", e(DP2(UDIV, W32, X0, X1, X2)), 0x1ac20820, "udiv w0, w1, w2", false},
	{"sdiv", e(DP2(SDIV, W64, X0, X1, X2)), 0x9ac20c20, "sdiv x0, x1, x2", false},
	{"sdiv w32", e(DP2(SDIV, W32, X0, X1, X2)), 0x1ac20c20, "sdiv w0, w1, w2", false},
	// variable shifts
	{"lslv", e(DP2(LSLV, W64, X0, X1, X2)), 0x9ac22020, "lsl x0, x1, x2", false},
	{"lsrv w32", e(DP2(LSRV, W32, X0, X1, X2)), 0x1ac22420, "lsr w0, w1, w2", false},
	{"asrv", e(DP2(ASRV, W64, X0, X1, X2)), 0x9ac22820, "asr x0, x1, x2", false},
	{"rorv", e(DP2(RORV, W64, X0, X1, X2)), 0x9ac22c20, "ror x0, x1, x2", false},
	// byte reversal, bit ops
	{"rev", e(DP1(REV, W64, X0, X1)), 0xdac00c20, "rev x0, x1", false},
	{"rev w32", e(DP1(REV, W32, X0, X1)), 0x5ac00820, "rev w0, w1", false},
	{"rev16 w32", e(DP1(REV16, W32, X0, X1)), 0x5ac00420, "rev16 w0, w1", false},
	{"rev16", e(DP1(REV16, W64, X0, X1)), 0xdac00420, "rev16 x0, x1", false},
	{"rev32", e(DP1(REV32, W64, X0, X1)), 0xdac00820, "rev32 x0, x1", false},
	{"rbit", e(DP1(RBIT, W64, X0, X1)), 0xdac00020, "rbit x0, x1", false},
	{"clz w32", e(DP1(CLZ, W32, X0, X1)), 0x5ac01020, "clz w0, w1", false},
	// immediate shifts and extensions (bitfield moves)
	{"lsl imm", e(LslImm(W64, X0, X1, 3)), 0xd37df020, "lsl x0, x1, #3", false},
	{"lsl imm w32 31", e(LslImm(W32, X0, X1, 31)), 0x53010020, "lsl w0, w1, #31", false},
	{"lsl imm 63", e(LslImm(W64, X0, X1, 63)), 0xd3410020, "lsl x0, x1, #63", false},
	{"lsl imm 0 is lsr 0", e(LslImm(W64, X0, X1, 0)), 0xd340fc20, "lsr x0, x1, #0", false},
	{"lsr imm", e(LsrImm(W64, X0, X1, 63)), 0xd37ffc20, "lsr x0, x1, #63", false},
	{"lsr imm w32", e(LsrImm(W32, X0, X1, 16)), 0x53107c20, "lsr w0, w1, #16", false},
	{"asr imm", e(AsrImm(W64, X0, X1, 5)), 0x9345fc20, "asr x0, x1, #5", false},
	{"asr imm w32", e(AsrImm(W32, X0, X1, 31)), 0x131f7c20, "asr w0, w1, #31", false},
	{"sxtb", e(Sxtb(W64, X0, X1)), 0x93401c20, "sxtb x0, w1", false},
	{"sxtb w32", e(Sxtb(W32, X0, X1)), 0x13001c20, "sxtb w0, w1", false},
	{"sxth", e(Sxth(W64, X0, X1)), 0x93403c20, "sxth x0, w1", false},
	{"sxth w32", e(Sxth(W32, X0, X1)), 0x13003c20, "sxth w0, w1", false},
	{"sxtw", e(Sxtw(X0, X1)), 0x93407c20, "sxtw x0, w1", false},
	{"uxtb", e(Uxtb(X0, X1)), 0x53001c20, "uxtb w0, w1", false},
	{"uxth", e(Uxth(X0, X1)), 0x53003c20, "uxth w0, w1", false},
	{"ubfx", e(Bitfield(UBFM, W64, X0, X1, 8, 15)), 0xd3483c20, "ubfx x0, x1, #8, #8", false},
	{"bfxil", e(Bitfield(BFM, W64, X0, X1, 0, 7)), 0xb3401c20, "bfxil x0, x1, #0, #8", false},
	// conditional select
	{"csel", e(Csel(W64, X0, X1, X2, EQ)), 0x9a820020, "csel x0, x1, x2, eq", false},
	{"csel w32", e(Csel(W32, X0, X1, X2, LT)), 0x1a82b020, "csel w0, w1, w2, lt", false},
	{"csinc", e(Csinc(W64, X0, X1, X2, NE)), 0x9a821420, "csinc x0, x1, x2, ne", false},
	{"cset", e(Cset(W64, X0, HI)), 0x9a9f97e0, "cset x0, hi", false},
	{"cset w32", e(Cset(W32, X0, GE)), 0x1a9fb7e0, "cset w0, ge", false},
	// loads and stores, unsigned scaled offset
	{"strb", e(LdStScaled(STRB, X0, X1, 1)), 0x39000420, "strb w0, [x1,#1]", false},
	{"strh", e(LdStScaled(STRH, X0, X1, 2)), 0x79000420, "strh w0, [x1,#2]", false},
	{"str w", e(LdStScaled(STRW, X0, X1, 4)), 0xb9000420, "str w0, [x1,#4]", false},
	{"str x", e(LdStScaled(STRX, X0, X1, 8)), 0xf9000420, "str x0, [x1,#8]", false},
	{"str xzr sp", e(LdStScaled(STRX, XZR, SP, 16)), 0xf9000bff, "str xzr, [sp,#16]", false},
	{"ldrb max", e(LdStScaled(LDRB, X0, X1, 4095)), 0x397ffc20, "ldrb w0, [x1,#4095]", false},
	{"ldrh max", e(LdStScaled(LDRH, X0, X1, 8190)), 0x797ffc20, "ldrh w0, [x1,#8190]", false},
	{"ldr w max", e(LdStScaled(LDRW, X0, X1, 16380)), 0xb97ffc20, "ldr w0, [x1,#16380]", false},
	{"ldr x max", e(LdStScaled(LDRX, X0, X1, 32760)), 0xf97ffc20, "ldr x0, [x1,#32760]", false},
	{"ldr x 0", e(LdStScaled(LDRX, X7, X25, 0)), 0xf9400327, "ldr x7, [x25]", false},
	{"ldrsb x", e(LdStScaled(LDRSBX, X0, X1, 1)), 0x39800420, "ldrsb x0, [x1,#1]", false},
	{"ldrsh x", e(LdStScaled(LDRSHX, X0, X1, 2)), 0x79800420, "ldrsh x0, [x1,#2]", false},
	{"ldrsw", e(LdStScaled(LDRSWX, X0, X1, 4)), 0xb9800420, "ldrsw x0, [x1,#4]", false},
	{"ldrsb w", e(LdStScaled(LDRSBW, X0, X1, 0)), 0x39c00020, "ldrsb w0, [x1]", false},
	{"ldrsh w", e(LdStScaled(LDRSHW, X0, X1, 0)), 0x79c00020, "ldrsh w0, [x1]", false},
	// unscaled signed 9-bit offset
	{"sturb", e(LdStUnscaled(STRB, X0, X1, -1)), 0x381ff020, "sturb w0, [x1,#-1]", false},
	{"sturh", e(LdStUnscaled(STRH, X0, X1, -2)), 0x781fe020, "sturh w0, [x1,#-2]", false},
	{"stur w", e(LdStUnscaled(STRW, X0, X1, -4)), 0xb81fc020, "stur w0, [x1,#-4]", false},
	{"stur x", e(LdStUnscaled(STRX, X0, X25, -8)), 0xf81f8320, "stur x0, [x25,#-8]", false},
	{"ldurb", e(LdStUnscaled(LDRB, X0, X1, 255)), 0x384ff020, "ldurb w0, [x1,#255]", false},
	{"ldurh", e(LdStUnscaled(LDRH, X0, X1, -256)), 0x78500020, "ldurh w0, [x1,#-256]", false},
	{"ldur w", e(LdStUnscaled(LDRW, X0, X1, 3)), 0xb8403020, "ldur w0, [x1,#3]", false},
	{"ldur x", e(LdStUnscaled(LDRX, X0, X25, -512/2)), 0xf8500320, "ldur x0, [x25,#-256]", false},
	{"ldursb x", e(LdStUnscaled(LDRSBX, X0, X1, -1)), 0x389ff020, "ldursb x0, [x1,#-1]", false},
	{"ldursh x", e(LdStUnscaled(LDRSHX, X0, X1, -1)), 0x789ff020, "ldursh x0, [x1,#-1]", false},
	{"ldursw", e(LdStUnscaled(LDRSWX, X0, X1, -4)), 0xb89fc020, "ldursw x0, [x1,#-4]", false},
	{"ldursb w", e(LdStUnscaled(LDRSBW, X0, X1, -1)), 0x38dff020, "ldursb w0, [x1,#-1]", false},
	{"ldursh w", e(LdStUnscaled(LDRSHW, X0, X1, -1)), 0x78dff020, "ldursh w0, [x1,#-1]", false},
	{"ldst picks scaled", e(LdStImm(LDRX, X0, X1, 8)), 0xf9400420, "ldr x0, [x1,#8]", false},
	{"ldst picks unscaled", e(LdStImm(LDRX, X0, X1, 4)), 0xf8404020, "ldur x0, [x1,#4]", false},
	// register offset
	{"ldr x reg", e(LdStReg(LDRX, X0, X1, X2)), 0xf8626820, "ldr x0, [x1,x2]", false},
	{"ldr w reg", e(LdStReg(LDRW, X0, X1, X2)), 0xb8626820, "ldr w0, [x1,x2]", false},
	{"ldrh reg", e(LdStReg(LDRH, X0, X1, X2)), 0x78626820, "ldrh w0, [x1,x2]", false},
	{"ldrb reg", e(LdStReg(LDRB, X0, X1, X2)), 0x38626820, "ldrb w0, [x1,x2]", false},
	{"ldrsw reg", e(LdStReg(LDRSWX, X0, X1, X2)), 0xb8a26820, "ldrsw x0, [x1,x2]", false},
	{"ldrsh reg", e(LdStReg(LDRSHX, X0, X1, X2)), 0x78a26820, "ldrsh x0, [x1,x2]", false},
	{"ldrsb reg", e(LdStReg(LDRSBX, X0, X1, X2)), 0x38a26820, "ldrsb x0, [x1,x2]", false},
	{"str x reg", e(LdStReg(STRX, X0, X1, X2)), 0xf8226820, "str x0, [x1,x2]", false},
	{"str w reg", e(LdStReg(STRW, X0, X1, X2)), 0xb8226820, "str w0, [x1,x2]", false},
	{"strh reg", e(LdStReg(STRH, X0, X1, X2)), 0x78226820, "strh w0, [x1,x2]", false},
	{"strb reg", e(LdStReg(STRB, X0, X1, X2)), 0x38226820, "strb w0, [x1,x2]", false},
	// pairs
	{"stp pre", e(Stp(W64, PairPreIndex, FP, LR, SP, -16)), 0xa9bf7bfd, "stp x29, x30, [sp,#-16]!", false},
	{"ldp post", e(Ldp(W64, PairPostIndex, FP, LR, SP, 16)), 0xa8c17bfd, "ldp x29, x30, [sp],#16", false},
	{"stp offset", e(Stp(W64, PairOffset, X19, X20, SP, 16)), 0xa90153f3, "stp x19, x20, [sp,#16]", false},
	{"stp offset max", e(Stp(W64, PairOffset, X19, X20, SP, 504)), 0xa91fd3f3, "stp x19, x20, [sp,#504]", false},
	{"ldp pre min", e(Ldp(W64, PairPreIndex, X21, X22, SP, -512)), 0xa9e05bf5, "ldp x21, x22, [sp,#-512]!", false},
	{"ldp w32", e(Ldp(W32, PairOffset, X0, X1, X2, 8)), 0x29410440, "ldp w0, w1, [x2,#8]", false},
	{"stp w32 post", e(Stp(W32, PairPostIndex, X0, X1, X2, -256)), 0x28a00440, "stp w0, w1, [x2],#-256", false},
	// LSE atomics (acquire-release)
	{"ldaddal", e(Atomic(LDADD, W64, X1, X0, X2)), 0xf8e10040, "ldaddal x1, x0, [x2]", true},
	{"ldaddal w32", e(Atomic(LDADD, W32, X1, X0, X2)), 0xb8e10040, "ldaddal w1, w0, [x2]", true},
	{"ldclral", e(Atomic(LDCLR, W64, X1, X0, X2)), 0xf8e11040, "ldclral x1, x0, [x2]", true},
	{"ldclral w32", e(Atomic(LDCLR, W32, X1, X0, X2)), 0xb8e11040, "ldclral w1, w0, [x2]", true},
	{"ldeoral", e(Atomic(LDEOR, W64, X1, X0, X2)), 0xf8e12040, "ldeoral x1, x0, [x2]", true},
	{"ldeoral w32", e(Atomic(LDEOR, W32, X1, X0, X2)), 0xb8e12040, "ldeoral w1, w0, [x2]", true},
	{"ldsetal", e(Atomic(LDSET, W64, X1, X0, X2)), 0xf8e13040, "ldsetal x1, x0, [x2]", true},
	{"ldsetal w32", e(Atomic(LDSET, W32, X1, X0, X2)), 0xb8e13040, "ldsetal w1, w0, [x2]", true},
	{"swpal", e(Atomic(SWP, W64, X1, X0, X2)), 0xf8e18040, "swpal x1, x0, [x2]", true},
	{"swpal w32", e(Atomic(SWP, W32, X1, X0, X2)), 0xb8e18040, "swpal w1, w0, [x2]", true},
	{"ldaddal no result", e(Atomic(LDADD, W64, X10, XZR, X11)), 0xf8ea017f, "ldaddal x10, xzr, [x11]", true},
	{"casal", e(Casal(W64, X1, X2, X3)), 0xc8e1fc62, "casal x1, x2, [x3]", true},
	{"casal w32", e(Casal(W32, X1, X2, X3)), 0x88e1fc62, "casal w1, w2, [x3]", true},
	// exclusives and barriers
	{"ldaxr", e(Ldaxr(W64, X0, X1)), 0xc85ffc20, "ldaxr x0, [x1]", false},
	{"ldaxr w32", e(Ldaxr(W32, X0, X1)), 0x885ffc20, "ldaxr w0, [x1]", false},
	{"stlxr", e(Stlxr(W64, X9, X0, X1)), 0xc809fc20, "stlxr w9, x0, [x1]", false},
	{"stlxr w32", e(Stlxr(W32, X9, X0, X1)), 0x8809fc20, "stlxr w9, w0, [x1]", false},
	{"dmb ish", e(DmbIsh()), 0xd5033bbf, "dmb ish", false},
	{"dsb ish", e(DsbIsh()), 0xd5033b9f, "dsb ish", false},
	{"isb", e(Isb()), 0xd5033fdf, "isb", false},
	{"dc cvau", e(DcCvau(X0)), 0xd50b7b20, "dc cvau, x0", false},
	{"ic ivau", e(IcIvau(X0)), 0xd50b7520, "ic ivau, x0", true},
	{"mrs ctr_el0", e(MrsCtrEl0(X3)), 0xd53b0023, "mrs x3, s3_3_c0_c0_1", false},
	{"nop", e(Nop()), 0xd503201f, "nop", false},
	{"brk", e(Brk(0x3e8)), 0xd4207d00, "brk #0x3e8", false},
	// branches
	{"b fwd", e(B(8)), 0x14000002, "b .+8", false},
	{"b back", e(B(-4)), 0x17ffffff, "b .-4", false},
	{"b max", e(B(BMax)), 0x15ffffff, "b .+134217724", false},
	{"b min", e(B(BMin)), 0x16000000, "b .-134217728", false},
	{"bl", e(BL(0x1000)), 0x94000400, "bl .+4096", false},
	{"bl back", e(BL(-0x1000)), 0x97fffc00, "bl .-4096", false},
	{"b.eq", e(BCond(EQ, 8)), 0x54000040, "b.eq .+8", false},
	{"b.lt min", e(BCond(LT, BCondMin)), 0x5480000b, "b.lt .-1048576", false},
	{"b.ne max", e(BCond(NE, BCondMax)), 0x547fffe1, "b.ne .+1048572", false},
	{"b.hs", e(BCond(HS, -8)), 0x54ffffc2, "b.cs .-8", false},
	{"cbz", e(Cbz(false, W64, X0, 16)), 0xb4000080, "cbz x0, .+16", false},
	{"cbnz w32", e(Cbz(true, W32, X1, -16)), 0x35ffff81, "cbnz w1, .-16", false},
	{"tbz", e(Tbz(false, X3, 5, 32)), 0x36280103, "tbz w3, #5, .+32", false},
	{"tbnz high bit", e(Tbz(true, X3, 63, -32)), 0xb7ffff03, "tbnz x3, #63, .-32", false},
	{"adr", e(Adr(X0, 16)), 0x10000080, "adr x0, .+16", false},
	{"adr odd back", e(Adr(X1, -3)), 0x30ffffe1, "adr x1, .-3", false},
	{"ldr literal", e(LdrLiteral(X0, 32)), 0x58000100, "ldr x0, .+32", false},
	{"br", e(Br(X9)), 0xd61f0120, "br x9", false},
	{"blr", e(Blr(X10)), 0xd63f0140, "blr x10", false},
	{"ret", e(Ret(LR)), 0xd65f03c0, "ret", false},
	{"ret x9", e(Ret(X9)), 0xd65f0120, "ret x9", false},
}

var pcrelText = regexp.MustCompile(`\.\+0x([0-9a-f]+)`)

// normalizeGNU turns arm64asm's GNU text into the table's spelling: single
// spaces, no trailing blanks, and pc-relative targets as signed decimals (the
// decoder prints .-4 as .+0xfffffffffffffffc).
func normalizeGNU(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return pcrelText.ReplaceAllStringFunc(s, func(m string) string {
		u, err := strconv.ParseUint(m[4:], 16, 64)
		if err != nil {
			return m
		}
		if v := int64(u); v < 0 {
			return fmt.Sprintf(".%d", v)
		}
		return fmt.Sprintf(".+%d", u)
	})
}

func wordBytes(w uint32) []byte {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], w)
	return b[:]
}

func TestGoldenEncodings(t *testing.T) {
	dump := os.Getenv("ARM64_GOLDEN_DUMP") != ""
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			if c.got.err != nil {
				t.Fatalf("encode: %v", c.got.err)
			}
			if dump {
				fmt.Printf("%s\t%#08x\n", c.name, uint32(c.got.inst))
			}
			if uint32(c.got.inst) != c.word {
				t.Errorf("word = %#08x, want %#08x (%s)", uint32(c.got.inst), c.word, c.text)
			}
		})
	}
}

// TestGoldenDecodeArm64asm decodes every golden word with x/arch's arm64asm and
// compares the GNU text with the intended instruction.
func TestGoldenDecodeArm64asm(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			inst, err := arm64asm.Decode(wordBytes(c.word))
			if c.noArm64asm {
				if err == nil {
					t.Errorf("arm64asm now decodes %#08x as %q: drop noArm64asm", c.word, arm64asm.GNUSyntax(inst))
				}
				return
			}
			if err != nil {
				t.Fatalf("decode %#08x: %v", c.word, err)
			}
			if got := normalizeGNU(arm64asm.GNUSyntax(inst)); got != c.text {
				t.Errorf("decode %#08x = %q, want %q", c.word, got, c.text)
			}
		})
	}
}
