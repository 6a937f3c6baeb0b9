package arm64

import (
	"errors"
	"testing"
)

func isEncodeError(err error) bool {
	var e *EncodeError
	return errors.As(err, &e)
}

// TestEncodersRejectInvalidOperands pins that every bad operand comes back as a
// typed error naming the instruction, never as a panic or a silently wrong word.
func TestEncodersRejectInvalidOperands(t *testing.T) {
	cases := []struct {
		name string
		got  enc
		op   string
	}{
		{"add imm too large", e(AddSubImm(ADD, W64, X0, X1, 0x1001)), "add"},
		{"add imm above 24 bits", e(AddSubImm(ADD, W64, X0, X1, 0x1000000)), "add"},
		{"add imm rd xzr", e(AddSubImm(ADD, W64, XZR, X1, 1)), "add"},
		{"adds imm rd sp", e(AddSubImm(ADDS, W64, SP, X1, 1)), "adds"},
		{"add imm rn xzr", e(AddSubImm(ADD, W64, X0, XZR, 1)), "add"},
		{"add bad op", e(AddSubImm(AddSubOp(9), W64, X0, X1, 1)), "add/sub"},
		{"add bad width", e(AddSubImm(ADD, Width(3), X0, X1, 1)), "add"},
		{"add reg sp", e(AddSubReg(ADD, W64, X0, SP, X1)), "add"},
		{"add ror", e(AddSubShifted(ADD, W64, X0, X1, X2, ROR, 1)), "add"},
		{"add shift 32 on w32", e(AddSubShifted(ADD, W32, X0, X1, X2, LSL, 32)), "add"},
		{"register out of range", e(AddSubReg(ADD, W64, Reg(40), X1, X2)), "add"},
		{"and imm not bitmask", e(LogicImm(AND, W64, X0, X1, 0x12345)), "and"},
		{"and imm zero", e(LogicImm(AND, W64, X0, X1, 0)), "and"},
		{"and imm w32 wide", e(LogicImm(AND, W32, X0, X1, 0x1ffffffff)), "and"},
		{"bic has no imm", e(LogicImm(BIC, W64, X0, X1, 1)), "logical"},
		{"ands imm rd sp", e(LogicImm(ANDS, W64, SP, X1, 1)), "ands"},
		{"orr imm rn sp", e(LogicImm(ORR, W64, X0, SP, 1)), "orr"},
		{"logic shift too large", e(LogicShifted(EOR, W64, X0, X1, X2, LSL, 64)), "eor"},
		{"movz hw2 on w32", e(MoveWide(MOVZ, W32, X0, 1, 2)), "movz"},
		{"movk hw4", e(MoveWide(MOVK, W64, X0, 1, 4)), "movk"},
		{"move wide bad op", e(MoveWide(MoveWideOp(1), W64, X0, 1, 0)), "move wide"},
		{"movz to sp", e(MoveWide(MOVZ, W64, SP, 1, 0)), "movz"},
		{"mul sp", e(Mul(W64, SP, X1, X2)), "mul"},
		{"madd ra sp", e(Madd(W64, X0, X1, X2, SP)), "madd"},
		{"dp2 bad op", e(DP2(DP2Op(7), W64, X0, X1, X2)), "dp2"},
		{"rev32 w32", e(DP1(REV32, W32, X0, X1)), "rev32"},
		{"dp1 bad op", e(DP1(DP1Op(9), W64, X0, X1)), "dp1"},
		{"lsl 32 on w32", e(LslImm(W32, X0, X1, 32)), "lsl"},
		{"lsr 64", e(LsrImm(W64, X0, X1, 64)), "lsr"},
		{"asr 64", e(AsrImm(W64, X0, X1, 64)), "asr"},
		{"bitfield immr w32", e(Bitfield(UBFM, W32, X0, X1, 32, 0)), "ubfm"},
		{"bitfield bad op", e(Bitfield(BitfieldOp(3), W64, X0, X1, 0, 0)), "bitfield"},
		{"cset al", e(Cset(W64, X0, AL)), "cset"},
		{"csel bad cond", e(Csel(W64, X0, X1, X2, Cond(16))), "csel"},
		{"ldr scaled misaligned", e(LdStScaled(LDRX, X0, X1, 4)), "ldr"},
		{"ldr scaled negative", e(LdStScaled(LDRW, X0, X1, -4)), "ldr"},
		{"ldr scaled too far", e(LdStScaled(LDRB, X0, X1, 4096)), "ldrb"},
		{"ldur too far", e(LdStUnscaled(LDRX, X0, X1, 256)), "ldur"},
		{"ldur too low", e(LdStUnscaled(STRB, X0, X1, -257)), "sturb"},
		{"ldst neither form", e(LdStImm(LDRX, X0, X1, 32761)), "ldr"},
		{"ldr rt sp", e(LdStScaled(LDRX, SP, X1, 0)), "ldr"},
		{"ldr rn xzr", e(LdStScaled(LDRX, X0, XZR, 0)), "ldr"},
		{"ldr reg rm sp", e(LdStReg(LDRX, X0, X1, SP)), "ldr"},
		{"ldr bad op", e(LdStScaled(MemOp(99), X0, X1, 0)), "ldr/str"},
		{"ldur bad op", e(LdStUnscaled(MemOp(99), X0, X1, 0)), "ldur/stur"},
		{"ldp misaligned", e(Ldp(W64, PairOffset, X0, X1, SP, 4)), "ldp"},
		{"stp too far", e(Stp(W64, PairOffset, X0, X1, SP, 512)), "stp"},
		{"stp too low", e(Stp(W32, PairOffset, X0, X1, SP, -260)), "stp"},
		{"ldp same regs", e(Ldp(W64, PairOffset, X0, X0, SP, 0)), "ldp"},
		{"ldp writeback overlap", e(Ldp(W64, PairPostIndex, X0, X1, X1, 16)), "ldp"},
		{"ldp bad mode", e(Ldp(W64, PairMode(0), X0, X1, SP, 0)), "ldp"},
		{"atomic bad op", e(Atomic(AtomicOp(4), W64, X0, X1, X2)), "atomic"},
		{"atomic rn xzr", e(Atomic(LDADD, W64, X0, X1, XZR)), "ldaddal"},
		{"casal rs sp", e(Casal(W64, SP, X1, X2)), "casal"},
		{"stlxr status overlaps rt", e(Stlxr(W64, X0, X0, X1)), "stlxr"},
		{"stlxr status overlaps rn", e(Stlxr(W64, X1, X0, X1)), "stlxr"},
		{"ldaxr rt sp", e(Ldaxr(W64, SP, X1)), "ldaxr"},
		{"br xzr", e(Br(XZR)), "br"},
		{"blr sp", e(Blr(SP)), "blr"},
		{"b.cond bad cond", e(BCond(Cond(17), 0)), "b.cond"},
		{"tbz bit 64", e(Tbz(false, X0, 64, 0)), "tbz"},
		{"dc cvau sp", e(DcCvau(SP)), "dc cvau"},
		{"adr sp", e(Adr(SP, 0)), "adr"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ee *EncodeError
			if !errors.As(c.got.err, &ee) {
				t.Fatalf("err = %v (word %#08x), want *EncodeError", c.got.err, uint32(c.got.inst))
			}
			if ee.Op != c.op {
				t.Errorf("error names %q, want %q (%v)", ee.Op, c.op, ee)
			}
		})
	}
}

// TestBranchRangeErrors pins the reach of every pc-relative form: the extreme
// offsets encode, one step beyond fails with a *BranchRangeError carrying the
// bounds, and misaligned offsets fail too.
func TestBranchRangeErrors(t *testing.T) {
	cases := []struct {
		name    string
		enc     func(off int64) (Inst, error)
		min     int64
		max     int64
		step    int64
		aligned bool
	}{
		{"b", B, BMin, BMax, 4, true},
		{"bl", BL, BMin, BMax, 4, true},
		{"b.cond", func(o int64) (Inst, error) { return BCond(GT, o) }, BCondMin, BCondMax, 4, true},
		{"cbz", func(o int64) (Inst, error) { return Cbz(false, W64, X1, o) }, BCondMin, BCondMax, 4, true},
		{"cbnz", func(o int64) (Inst, error) { return Cbz(true, W32, X1, o) }, BCondMin, BCondMax, 4, true},
		{"tbz", func(o int64) (Inst, error) { return Tbz(false, X1, 3, o) }, TBMin, TBMax, 4, true},
		{"ldr", func(o int64) (Inst, error) { return LdrLiteral(X1, o) }, BCondMin, BCondMax, 4, true},
		{"adr", func(o int64) (Inst, error) { return Adr(X1, o) }, BCondMin, ADRMax, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, off := range []int64{c.min, c.max, 0} {
				i, err := c.enc(off)
				if err != nil {
					t.Fatalf("offset %d: %v", off, err)
				}
				if got, ok := BranchOffset(i); !ok || got != off {
					t.Errorf("BranchOffset(%#08x) = %d, %v; want %d", uint32(i), got, ok, off)
				}
			}
			for _, off := range []int64{c.min - c.step, c.max + c.step} {
				_, err := c.enc(off)
				var re *BranchRangeError
				if !errors.As(err, &re) {
					t.Fatalf("offset %d: err = %v, want *BranchRangeError", off, err)
				}
				if re.Min != c.min || re.Max != c.max || re.Offset != off {
					t.Errorf("offset %d: error %+v, want bounds [%d, %d]", off, re, c.min, c.max)
				}
			}
			if c.aligned {
				var re *BranchRangeError
				if _, err := c.enc(6); !errors.As(err, &re) {
					t.Errorf("misaligned offset: err = %v, want *BranchRangeError", err)
				}
			}
		})
	}
	if !BCondOK(BCondMax) || BCondOK(BCondMax+4) || BCondOK(2) || !BOK(BMin) || BOK(BMin-4) {
		t.Error("BCondOK/BOK disagree with the encoders")
	}
}
