package interp_test

import (
	"encoding/binary"
	"testing"

	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
)

// runR0 validates, decodes and runs insns without context and returns r0.
func runR0(t *testing.T, insns []isa.Instruction, env *interp.Env) uint64 {
	t.Helper()
	p, err := interp.New(&isa.Program{Insns: insns}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	res, err := p.Run(env)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res.R0
}

// binop is r0 = a; r1 = b; r0 = r0 OP r1 (or OP imm when b fits and imm is asked for); exit.
func binop(is64, imm bool, op isa.ALUOp, off int16, a uint64, b int64) []isa.Instruction {
	if imm {
		return build(lddw(r0, a), signed(aluK(is64, op, r0, int32(b)), off), exit)
	}
	return build(lddw(r0, a), lddw(r1, uint64(b)), signed(aluX(is64, op, r0, r1), off), exit)
}

const (
	hiSet   = 0xfedcba9876543210 // high half set; the low half 0x76543210 is a positive int32
	int64Mn = 0x8000000000000000
)

// TestEdgeRules pins RFC 9669's edge rules with programs built in Go, independent of the
// assembler: each rule for ALU and ALU64, register and immediate operands.
func TestEdgeRules(t *testing.T) {
	type rule struct {
		name  string
		op    isa.ALUOp
		off   int16 // 1: signed div/mod
		is64  bool
		a     uint64
		b     int64 // divisor / shift count; for the 32-bit register form its high half is set
		want  uint64
		regHi bool // set the high half of the register operand (it must be ignored)
	}
	rules := []rule{
		{"div64 by zero is 0", isa.ALUDiv, 0, true, hiSet, 0, 0, false},
		{"div32 by zero is 0", isa.ALUDiv, 0, false, hiSet, 0, 0, true},
		{"sdiv64 by zero is 0", isa.ALUDiv, 1, true, hiSet, 0, 0, false},
		{"sdiv32 by zero is 0", isa.ALUDiv, 1, false, hiSet, 0, 0, true},
		{"mod64 by zero keeps dst", isa.ALUMod, 0, true, hiSet, 0, hiSet, false},
		{"mod32 by zero keeps dst truncated", isa.ALUMod, 0, false, hiSet, 0, 0x76543210, true},
		{"smod64 by zero keeps dst", isa.ALUMod, 1, true, hiSet, 0, hiSet, false},
		{"smod32 by zero keeps dst truncated", isa.ALUMod, 1, false, hiSet, 0, 0x76543210, true},
		{"sdiv64 INT_MIN/-1 is INT_MIN", isa.ALUDiv, 1, true, int64Mn, -1, int64Mn, false},
		{"sdiv32 INT_MIN/-1 is INT_MIN", isa.ALUDiv, 1, false, 0xffffffff80000000, -1, 0x80000000, false},
		{"smod64 INT_MIN%-1 is 0", isa.ALUMod, 1, true, int64Mn, -1, 0, false},
		{"smod32 INT_MIN%-1 is 0", isa.ALUMod, 1, false, 0xffffffff80000000, -1, 0, false},
		{"sdiv64 truncates toward zero", isa.ALUDiv, 1, true, uint64(^uint64(6)), 2, ^uint64(2), false},
		{"smod64 takes the dividend's sign", isa.ALUMod, 1, true, uint64(^uint64(6)), 2, ^uint64(0), false},
		{"div64 is unsigned", isa.ALUDiv, 0, true, ^uint64(0), 2, 1<<63 - 1, false},
		{"lsh64 count masked to 6 bits", isa.ALULsh, 0, true, 0x8000000000000001, 65, 2, false},
		{"rsh64 count masked to 6 bits", isa.ALURsh, 0, true, 0x8000000000000001, 65, 0x4000000000000000, false},
		{"arsh64 count masked to 6 bits", isa.ALUArsh, 0, true, 0x8000000000000001, 65, 0xc000000000000000, false},
		{"lsh32 count masked to 5 bits", isa.ALULsh, 0, false, 0xffffffff80000001, 33, 2, true},
		{"rsh32 count masked to 5 bits", isa.ALURsh, 0, false, 0xffffffff80000001, 33, 0x40000000, true},
		{"arsh32 count masked to 5 bits, sign from bit 31", isa.ALUArsh, 0, false, 0xffffffff80000001, 33, 0xc0000000, true},
		{"add32 zero-extends", isa.ALUAdd, 0, false, 0xffffffff00000005, 3, 8, true},
		{"sub32 zero-extends", isa.ALUSub, 0, false, 0xffffffff00000005, 6, 0xffffffff, true},
		{"mul32 zero-extends", isa.ALUMul, 0, false, 0xffffffff00000005, -1, 0xfffffffb, false},
		{"div32 zero-extends", isa.ALUDiv, 0, false, 0xffffffff00000005, 2, 2, true},
		{"sdiv32 zero-extends", isa.ALUDiv, 1, false, 0xffffffff00000005, -2, 0xfffffffe, false},
		{"mod32 zero-extends", isa.ALUMod, 0, false, 0xffffffff00000005, 3, 2, true},
		{"smod32 zero-extends", isa.ALUMod, 1, false, 0xffffffff00000005, -3, 2, false},
		{"or32 zero-extends", isa.ALUOr, 0, false, 0xffffffff00000005, 0x10, 0x15, true},
		{"and32 zero-extends", isa.ALUAnd, 0, false, 0xffffffff00000005, -1, 5, false},
		{"xor32 zero-extends", isa.ALUXor, 0, false, 0xffffffff00000005, 1, 4, true},
		{"lsh32 zero-extends", isa.ALULsh, 0, false, 0xffffffff00000005, 30, 0x40000000, true},
		{"rsh32 by 0 zero-extends", isa.ALURsh, 0, false, 0xffffffff00000005, 0, 5, false},
		{"arsh32 by 0 zero-extends", isa.ALUArsh, 0, false, 0xffffffff00000005, 0, 5, false},
		{"mov32 zero-extends", isa.ALUMov, 0, false, 0, -1, 0xffffffff, false},
		{"add64 immediate sign-extends", isa.ALUAdd, 0, true, 0, -1, ^uint64(0), false},
		{"and64 immediate sign-extends", isa.ALUAnd, 0, true, ^uint64(0), -0x80000000, 0xffffffff80000000, false},
		{"mov64 immediate sign-extends", isa.ALUMov, 0, true, 5, -1, ^uint64(0), false},
	}
	for _, r := range rules {
		for _, imm := range []bool{true, false} {
			form := "reg"
			if imm {
				form = "imm"
			}
			t.Run(r.name+"/"+form, func(t *testing.T) {
				b := r.b
				if !imm && !r.is64 && r.regHi {
					b = int64(uint64(uint32(b)) | 0x1_0000_0000) // the high half must not count
				}
				if got := runR0(t, binop(r.is64, imm, r.op, r.off, r.a, b), nil); got != r.want {
					t.Errorf("r0 = %#x, want %#x", got, r.want)
				}
			})
		}
	}
}

func TestUnaryRules(t *testing.T) {
	tests := []struct {
		name string
		prog []isa.Instruction
		want uint64
	}{
		{"neg64 of INT64_MIN is INT64_MIN", build(lddw(r0, int64Mn), aluK(true, isa.ALUNeg, r0, 0), exit), int64Mn},
		{"neg32 zero-extends", build(lddw(r0, 0xffffffff00000005), aluK(false, isa.ALUNeg, r0, 0), exit), 0xfffffffb},
		{"movsx64 from 8 bits", build(mov(r1, 0x80), signed(aluX(true, isa.ALUMov, r0, r1), 8), exit), 0xffffffffffffff80},
		{"movsx64 from 16 bits", build(mov(r1, 0x8000), signed(aluX(true, isa.ALUMov, r0, r1), 16), exit), 0xffffffffffff8000},
		{"movsx64 from 32 bits", build(lddw(r1, 0x80000000), signed(aluX(true, isa.ALUMov, r0, r1), 32), exit), 0xffffffff80000000},
		{"movsx32 from 8 bits zero-extends", build(mov(r1, 0x80), signed(aluX(false, isa.ALUMov, r0, r1), 8), exit), 0xffffff80},
		{"movsx32 from 16 bits zero-extends", build(mov(r1, 0x8000), signed(aluX(false, isa.ALUMov, r0, r1), 16), exit), 0xffff8000},
		{"bswap16 clears the rest", build(lddw(r0, 0x0123456789abcdef), aluK(true, isa.ALUEnd, r0, 16), exit), 0xefcd},
		{"bswap32 clears the rest", build(lddw(r0, 0x0123456789abcdef), aluK(true, isa.ALUEnd, r0, 32), exit), 0xefcdab89},
		{"bswap64", build(lddw(r0, 0x0123456789abcdef), aluK(true, isa.ALUEnd, r0, 64), exit), 0xefcdab8967452301},
		{"le16 truncates", build(lddw(r0, 0x0123456789abcdef), aluK(false, isa.ALUEnd, r0, 16), exit), 0xcdef},
		{"le32 truncates", build(lddw(r0, 0x0123456789abcdef), aluK(false, isa.ALUEnd, r0, 32), exit), 0x89abcdef},
		{"le64 is identity", build(lddw(r0, 0x0123456789abcdef), aluK(false, isa.ALUEnd, r0, 64), exit), 0x0123456789abcdef},
		{"be16 swaps and clears", build(lddw(r0, 0x0123456789abcdef), ins(0xdc, r0, 0, 0, 16), exit), 0xefcd},
		{"be32 swaps and clears", build(lddw(r0, 0x0123456789abcdef), ins(0xdc, r0, 0, 0, 32), exit), 0xefcdab89},
		{"be64 swaps", build(lddw(r0, 0x0123456789abcdef), ins(0xdc, r0, 0, 0, 64), exit), 0xefcdab8967452301},
		{"ldxsb sign-extends", build(st(isa.SizeB, r10, -1, 0x80), ldsx(isa.SizeB, r0, r10, -1), exit), 0xffffffffffffff80},
		{"ldxsh sign-extends", build(st(isa.SizeH, r10, -2, 0x8000), ldsx(isa.SizeH, r0, r10, -2), exit), 0xffffffffffff8000},
		{"ldxsw sign-extends", build(st(isa.SizeW, r10, -4, -0x80000000), ldsx(isa.SizeW, r0, r10, -4), exit), 0xffffffff80000000},
		{"ldxw zero-extends", build(st(isa.SizeW, r10, -4, -0x80000000), ldx(isa.SizeW, r0, r10, -4), exit), 0x80000000},
		{"stdw sign-extends its immediate", build(st(isa.SizeDW, r10, -8, -2), ldx(isa.SizeDW, r0, r10, -8), exit), 0xfffffffffffffffe},
		{"the stack reads as zero before it is written", build(ldx(isa.SizeDW, r0, r10, -512), exit), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := runR0(t, tt.prog, nil); got != tt.want {
				t.Errorf("r0 = %#x, want %#x", got, tt.want)
			}
		})
	}
}

// TestJumpRules: JMP32 compares the low halves only; JMP sign-extends immediates to 64 bits.
func TestJumpRules(t *testing.T) {
	tests := []struct {
		name      string
		is32      bool
		op        isa.JumpOp
		a, b      uint64
		immForm   bool
		wantTaken bool
	}{
		{"jeq32 ignores high halves", true, isa.JumpEQ, 0x1_00000007, 0x2_00000007, false, true},
		{"jeq32 immediate -1 matches 0xffffffff", true, isa.JumpEQ, 0xffffffff, ^uint64(0), true, true},
		{"jeq64 immediate -1 is sign-extended", false, isa.JumpEQ, 0xffffffff, ^uint64(0), true, false},
		{"jgt32 is unsigned on low halves", true, isa.JumpGT, 0x1_00000000, 1, false, false},
		{"jgt64 immediate -1 is 2^64-1", false, isa.JumpGT, ^uint64(1), ^uint64(0), true, false},
		{"jsgt32 sees bit 31 as the sign", true, isa.JumpSGT, 0x80000000, 1, false, false},
		{"jsgt64 sees 0x80000000 as positive", false, isa.JumpSGT, 0x80000000, 1, false, true},
		{"jslt32 immediate", true, isa.JumpSLT, 0xfffffffe, ^uint64(0), true, true},
		{"jsge32 ignores high halves", true, isa.JumpSGE, 0xffffffff, ^uint64(1), false, true},
		{"jset32 ignores high halves", true, isa.JumpSET, 0xff00000000000000, 0xff00000000000001, false, false},
		{"jset64 tests all bits", false, isa.JumpSET, 0xff00000000000000, 0x0100000000000000, false, true},
		{"jne32 equal low halves", true, isa.JumpNE, 0x12345678_00000009, 9, false, false},
		{"jge32 unsigned", true, isa.JumpGE, 0xffffffff, 0x7fffffff, false, true},
		{"jlt32 unsigned", true, isa.JumpLT, 0xffffffff7ffffffe, ^uint64(0), true, true},
		{"jle32 unsigned", true, isa.JumpLE, 0x80000000, 5, true, false},
		{"jsle32 signed", true, isa.JumpSLE, 0xffffffff7fffffff, ^uint64(0), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := jmpX(tt.is32, tt.op, r1, r2, 2)
			if tt.immForm {
				j = jmpK(tt.is32, tt.op, r1, int32(tt.b), 2)
			}
			prog := build(mov(r0, 0), lddw(r1, tt.a), lddw(r2, tt.b), j, exit, ja(0), mov(r0, 1), exit)
			if got := runR0(t, prog, nil) == 1; got != tt.wantTaken {
				t.Errorf("taken = %v, want %v", got, tt.wantTaken)
			}
		})
	}
	t.Run("gotol uses the immediate", func(t *testing.T) {
		prog := build(mov(r0, 1), ins(isa.OpJa32, 0, 0, 0, 1), exit, mov(r0, 2), exit)
		if got := runR0(t, prog, nil); got != 2 {
			t.Errorf("r0 = %d, want 2", got)
		}
	})
}

// TestAtomicRules covers every atomic operation in both widths: memory, src (fetch) and r0
// (cmpxchg) afterwards.
func TestAtomicRules(t *testing.T) {
	var mem0, src0, r00 uint64 = 0xaaaaaaaa_0000000c, 0xffffffff_0000000a, 0x55555555_0000000c
	type want struct{ mem, src, r0 uint64 }
	tests := []struct {
		name string
		op   isa.AtomicOp
		w64  want
		w32  want // memory's high half is untouched; src and r0 get zero-extended words
	}{
		{"add", isa.AtomicAdd, want{mem0 + src0, src0, r00}, want{0xaaaaaaaa_00000016, src0, r00}},
		{"or", isa.AtomicOr, want{mem0 | src0, src0, r00}, want{0xaaaaaaaa_0000000e, src0, r00}},
		{"and", isa.AtomicAnd, want{mem0 & src0, src0, r00}, want{0xaaaaaaaa_00000008, src0, r00}},
		{"xor", isa.AtomicXor, want{mem0 ^ src0, src0, r00}, want{0xaaaaaaaa_00000006, src0, r00}},
		{"fetch add", isa.AtomicAdd | isa.AtomicFetch, want{mem0 + src0, mem0, r00}, want{0xaaaaaaaa_00000016, 0xc, r00}},
		{"fetch or", isa.AtomicOr | isa.AtomicFetch, want{mem0 | src0, mem0, r00}, want{0xaaaaaaaa_0000000e, 0xc, r00}},
		{"fetch and", isa.AtomicAnd | isa.AtomicFetch, want{mem0 & src0, mem0, r00}, want{0xaaaaaaaa_00000008, 0xc, r00}},
		{"fetch xor", isa.AtomicXor | isa.AtomicFetch, want{mem0 ^ src0, mem0, r00}, want{0xaaaaaaaa_00000006, 0xc, r00}},
		{"xchg", isa.AtomicXchg, want{src0, mem0, r00}, want{0xaaaaaaaa_0000000a, 0xc, r00}},
		// r0's low half equals memory's: the 32-bit form succeeds, the 64-bit form fails;
		// either way r0 receives the old value (zero-extended for 32 bits) and src is kept.
		{"cmpxchg", isa.AtomicCmpXchg, want{mem0, src0, mem0}, want{0xaaaaaaaa_0000000a, src0, 0xc}},
	}
	for _, tt := range tests {
		for _, is64 := range []bool{true, false} {
			size, w, width := isa.SizeW, tt.w32, "32"
			if is64 {
				size, w, width = isa.SizeDW, tt.w64, "64"
			}
			t.Run(tt.name+width, func(t *testing.T) {
				// ctx[0:8] is the atomic's target; the program saves r0 and src after it.
				ctx := binary.LittleEndian.AppendUint64(nil, mem0)
				ctx = append(ctx, make([]byte, 16)...)
				prog := build(lddw(r2, src0), lddw(r0, r00), atomic(size, tt.op, r1, r2, 0),
					stx(isa.SizeDW, r1, r0, 8), stx(isa.SizeDW, r1, r2, 16), exit)
				runR0(t, prog, &interp.Env{Context: ctx})
				got := want{
					mem: binary.LittleEndian.Uint64(ctx),
					r0:  binary.LittleEndian.Uint64(ctx[8:]),
					src: binary.LittleEndian.Uint64(ctx[16:]),
				}
				if got != w {
					t.Errorf("mem, src, r0 = %#x, %#x, %#x; want %#x, %#x, %#x", got.mem, got.src, got.r0, w.mem, w.src, w.r0)
				}
			})
		}
	}
}

func TestCallLocalRules(t *testing.T) {
	t.Run("r6-r9 survive the call, r1-r5 reach the callee", func(t *testing.T) {
		prog := build(
			mov(r1, 1), mov(r2, 2), mov(r3, 3), mov(r4, 4), mov(r5, 5),
			mov(r6, 6), mov(r7, 7), mov(r8, 8), mov(r9, 9),
			callLocal(9),
			// r0 = callee's sum (15) << 32 | r6 r7 r8 r9 as nibbles
			aluK(true, isa.ALULsh, r0, 32),
			aluK(true, isa.ALULsh, r6, 12), aluX(true, isa.ALUOr, r0, r6),
			aluK(true, isa.ALULsh, r7, 8), aluX(true, isa.ALUOr, r0, r7),
			aluK(true, isa.ALULsh, r8, 4), aluX(true, isa.ALUOr, r0, r8),
			aluX(true, isa.ALUOr, r0, r9),
			exit,
			// callee: r0 = r1+..+r5; clobber r6-r9
			movX(r0, r1), aluX(true, isa.ALUAdd, r0, r2), aluX(true, isa.ALUAdd, r0, r3),
			aluX(true, isa.ALUAdd, r0, r4), aluX(true, isa.ALUAdd, r0, r5),
			mov(r6, -1), mov(r7, -1), mov(r8, -1), mov(r9, -1), exit,
		)
		if got := runR0(t, prog, nil); got != 15<<32|0x6789 {
			t.Errorf("r0 = %#x, want %#x", got, uint64(15<<32|0x6789))
		}
	})
	t.Run("callee frame is 512 bytes below and separate", func(t *testing.T) {
		prog := build(
			st(isa.SizeDW, r10, -8, 0x11), movX(r1, r10), callLocal(2),
			ldx(isa.SizeDW, r0, r10, -8), exit,
			st(isa.SizeDW, r10, -8, 0x22), movX(r0, r1), aluX(true, isa.ALUSub, r0, r10), exit,
		)
		if got := runR0(t, prog, nil); got != 0x11 {
			t.Errorf("caller's slot = %#x, want 0x11", got)
		}
		diff := build(movX(r1, r10), callLocal(1), exit, movX(r0, r1), aluX(true, isa.ALUSub, r0, r10), exit)
		if got := runR0(t, diff, nil); got != interp.StackSize {
			t.Errorf("caller r10 - callee r10 = %d, want %d", got, interp.StackSize)
		}
	})
}
