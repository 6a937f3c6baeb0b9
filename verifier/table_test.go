package verifier

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/cilium/ebpf/btf"
)

// vcase is one program with the verdict the verifier must reach: accepted (err == "") or
// rejected with an error whose text contains err.
type vcase struct {
	name   string
	typ    *ProgType // nil: raw memory
	minMem int
	maps   []MapInfo
	funcs  []isa.FuncInfo
	opts   func(*Options)
	insns  []isa.Instruction
	err    string
	kind   error // when set, errors.Is(err, kind) must hold
	facts  func(t *testing.T, f *Facts)
	kernel bool // part of the kernel differential set
}

// hostType is a program type a host defines: its own context and helper set.
var hostType = &ProgType{
	Name: "host",
	Ctx: &Context{Name: "host_ctx", Size: 16, Fields: []Field{
		{Name: "in", Off: 0, Size: 8},
		{Name: "out", Off: 8, Size: 8, Write: true},
	}},
	Helpers: map[int32]*HelperProto{2000: {Name: "host_log", Args: [5]ArgType{ArgCtx, ArgScalar}}},
}

var (
	xdp    = XDPType
	socket = SocketFilterType
	trace  = TracingType
)

// Frequently used fragments.
var (
	ret0    = prog(mov(r0, 0), exit())
	ldAbsB  = isa.Instruction{Opcode: isa.Mem(isa.ClassLD, isa.ModeABS, isa.SizeB), Imm: 12}
	neverOK = []any{label("out"), mov(r0, 0), exit()}
)

// xdpPkt loads data into r2, data_end into r3 and r4 = data + n, the usual bounds check setup.
func xdpPkt(n int32) []isa.Instruction {
	return prog(ldx(4, r2, r1, 0), ldx(4, r3, r1, 4), movr(r4, r2), add(r4, n))
}

func intT() *btf.Int { return &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed} }

func globalFn(start int, name string, params ...btf.Type) isa.FuncInfo {
	var ps []btf.FuncParam
	for i, p := range params {
		ps = append(ps, btf.FuncParam{Name: string(rune('a' + i)), Type: p})
	}
	return isa.FuncInfo{Start: start, Name: name, BTF: &btf.Func{
		Name: name, Linkage: btf.GlobalFunc, Type: &btf.FuncProto{Return: intT(), Params: ps},
	}}
}

// seedJmp32 is the case from "bpf: Provide better register bounds after jmp32
// instructions": only the 32-bit bounds after `if w0 > 1` keep r6 in [0, 1].
func seedJmp32(check bool, use64 bool) []isa.Instruction {
	cmp := jmp32(isa.JumpGT, r0, 1, 0)
	if !check {
		cmp = jmp32(isa.JumpGT, r0, 2, 0) // one too many
	}
	idx := []any{mov32r(r6, r0), lsh(r6, 32), rsh(r6, 32)}
	if use64 {
		idx = []any{movr(r6, r0)}
	}
	return prog(
		lookup(0),
		to(jmp(isa.JumpEQ, r0, 0, 0), "out"),
		movr(r8, r0),
		call(HelperGetPrandomU32),
		to(cmp, "out"),
		idx,
		addr(r8, r6),
		ldx(1, r0, r8, 46),
		exit(),
		neverOK,
	)
}

func chain(frames int) []isa.Instruction {
	var parts []any
	for f := 0; f < frames-1; f++ {
		parts = append(parts, to(callLocal(0), "f"+string(rune('a'+f))), exit(), label("f"+string(rune('a'+f))))
	}
	parts = append(parts, mov(r0, 0), exit())
	return prog(parts...)
}

var cases = []vcase{
	// Structure.
	{name: "structure/minimal program accepted", insns: ret0, kernel: true},
	{name: "structure/empty program rejected", insns: nil, err: "no instructions", kind: ErrInvalid},
	{name: "structure/code after exit is unreachable", insns: prog(mov(r0, 0), exit(), mov(r0, 1), exit()), err: "unreachable insn 2", kind: ErrUnreachable, kernel: true},
	{name: "structure/code jumped over is unreachable", insns: prog(ja(1), mov(r0, 1), mov(r0, 0), exit()), err: "unreachable insn 1", kind: ErrUnreachable, kernel: true},
	{name: "structure/jump out of range", insns: prog(ja(5), exit()), err: "jump out of range", kind: ErrInvalid, kernel: true},
	{name: "structure/falling off the end", insns: prog(mov(r0, 0)), err: "last instruction", kind: ErrInvalid, kernel: true},
	{name: "structure/unknown opcode", insns: prog(isa.Instruction{Opcode: 0xff}, exit()), err: "unknown opcode", kind: ErrInvalid, kernel: true},
	{name: "structure/recursion rejected", insns: prog(to(callLocal(0), "f"), exit(), label("f"), to(callLocal(0), "f"), exit()), err: "recursive call", kind: ErrRecursion, kernel: true},
	{name: "structure/8 frames accepted", insns: chain(8), kernel: true},
	{name: "structure/9 frames rejected", insns: chain(9), err: "frames deep", kind: ErrCallDepth, kernel: true},
	{name: "structure/512-byte frame accepted", insns: prog(st(8, fp, -512, 0), mov(r0, 0), exit()), kernel: true},
	{name: "structure/stack below 512 bytes rejected", insns: prog(st(8, fp, -520, 0), mov(r0, 0), exit()), err: "invalid stack access", kind: ErrMemAccess, kernel: true},
	{name: "structure/stack along call chain over 512 rejected", insns: prog(st(8, fp, -512, 0), to(callLocal(0), "f"), exit(), label("f"), st(8, fp, -8, 0), mov(r0, 0), exit()), err: "combined stack size", kind: ErrStackDepth, kernel: true},
	{name: "structure/stack along call chain within 512 accepted", insns: prog(st(8, fp, -256, 0), to(callLocal(0), "f"), exit(), label("f"), st(8, fp, -256, 0), mov(r0, 0), exit()), kernel: true},

	// Loops and budget.
	{name: "loop/bounded loop accepted", insns: prog(mov(r3, 0), label("l"), add(r3, 1), to(jmp(isa.JumpLT, r3, 10, 0), "l"), mov(r0, 0), exit()), kernel: true},
	{name: "loop/loop with unchanged state is infinite", insns: prog(mov(r0, 0), label("l"), to(jmp(isa.JumpEQ, r0, 0, 0), "l"), exit()), err: "infinite loop", kind: ErrInfiniteLoop, kernel: true},
	{name: "loop/self loop on unknown value is infinite", insns: prog(call(HelperGetPrandomU32), label("l"), to(jmp(isa.JumpGT, r0, 10, 0), "l"), exit()), err: "infinite loop", kind: ErrInfiniteLoop, kernel: true},
	{name: "loop/non-terminating counter exhausts the budget", kernel: true, opts: func(o *Options) { o.MaxProcessed = 5000 },
		insns: prog(mov(r3, 0), label("l"), add(r3, 1), to(jmp(isa.JumpNE, r3, 0, 0), "l"), mov(r0, 0), exit()), err: "program too complex", kind: ErrTooComplex},
	{name: "loop/loop bounded by a 32-bit counter accepted", insns: prog(mov32(r3, 0), label("l"), alu32(isa.ALUAdd, r3, 2), to(jmp32(isa.JumpLT, r3, 100, 0), "l"), mov(r0, 0), exit()), kernel: true},
	{name: "loop/diamonds inside a loop are pruned", insns: prog(mov(r6, 0), label("l"), call(HelperGetPrandomU32), to(jmp(isa.JumpEQ, r0, 0, 0), "a"), mov(r7, 1), label("a"), add(r6, 1), to(jmp(isa.JumpLT, r6, 20, 0), "l"), mov(r0, 0), exit()), kernel: true},

	// Registers.
	{name: "regs/uninitialized r0 at exit", insns: prog(exit()), err: "R0 is read before", kind: ErrUninit, kernel: true},
	{name: "regs/uninitialized source operand", insns: prog(mov(r0, 0), addr(r0, r3), exit()), err: "R3 is read before", kind: ErrUninit, kernel: true},
	{name: "regs/frame pointer is read only", insns: prog(mov(fp, 0), mov(r0, 0), exit()), err: "frame pointer", kernel: true},
	{name: "regs/helper call clobbers r1", insns: prog(call(HelperGetPrandomU32), movr(r0, r1), exit()), err: "R1 is read before", kind: ErrUninit, kernel: true},
	{name: "regs/r6 survives a helper call", insns: prog(mov(r6, 1), call(HelperGetPrandomU32), movr(r0, r6), exit()), kernel: true},
	{name: "regs/uninitialized jump operand", kernel: true, insns: prog(mov(r0, 0), to(jmp(isa.JumpEQ, r5, 0, 0), "x"), label("x"), exit()), err: "R5 is read before", kind: ErrUninit},

	// Scalar bounds through ALU operations (raw memory, MinMem bytes guaranteed).
	{name: "bounds/and mask bounds an index", minMem: 64, insns: prog(ldx(8, r3, r1, 0), and(r3, 63), addr(r1, r3), ldx(1, r0, r1, 0), exit())},
	{name: "bounds/and mask too wide", minMem: 64, insns: prog(ldx(8, r3, r1, 0), and(r3, 127), addr(r1, r3), ldx(1, r0, r1, 0), exit()), err: "invalid access to memory region", kind: ErrMemAccess},
	{name: "bounds/rsh bounds an index", minMem: 64, insns: prog(ldx(8, r3, r1, 0), rsh(r3, 58), addr(r1, r3), ldx(1, r0, r1, 0), exit())},
	{name: "bounds/rsh by too little", minMem: 64, insns: prog(ldx(8, r3, r1, 0), rsh(r3, 57), addr(r1, r3), ldx(1, r0, r1, 0), exit()), err: "invalid access"},
	{name: "bounds/jgt check bounds an index", minMem: 64, insns: prog(ldx(8, r3, r1, 0), mov(r0, 0), to(jmp(isa.JumpGT, r3, 63, 0), "x"), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit())},
	{name: "bounds/jgt check off by one", minMem: 64, insns: prog(ldx(8, r3, r1, 0), mov(r0, 0), to(jmp(isa.JumpGT, r3, 64, 0), "x"), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit()), err: "invalid access"},
	{name: "bounds/jge check", minMem: 64, insns: prog(ldx(8, r3, r1, 0), mov(r0, 0), to(jmp(isa.JumpGE, r3, 64, 0), "x"), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit())},
	{name: "bounds/jlt check on the taken branch", minMem: 64, insns: prog(ldx(8, r3, r1, 0), mov(r0, 0), to(jmp(isa.JumpLT, r3, 64, 0), "use"), exit(), label("use"), addr(r1, r3), ldx(1, r0, r1, 0), exit())},
	{name: "bounds/jle check on the wrong branch", minMem: 64, insns: prog(ldx(8, r3, r1, 0), mov(r0, 0), to(jmp(isa.JumpLE, r3, 63, 0), "x"), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit()), err: "unbounded"},
	{name: "bounds/signed upper bound alone leaves negatives", minMem: 64, insns: prog(ldx(8, r3, r1, 0), mov(r0, 0), to(jmp(isa.JumpSGT, r3, 63, 0), "x"), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit()), err: "unbounded"},
	{name: "bounds/signed checks on both sides", minMem: 64, insns: prog(ldx(8, r3, r1, 0), mov(r0, 0), to(jmp(isa.JumpSGT, r3, 63, 0), "x"), to(jmp(isa.JumpSLT, r3, 0, 0), "x"), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit())},
	{name: "bounds/signed checks with jsge and jsle", minMem: 64, insns: prog(ldx(8, r3, r1, 0), mov(r0, 0), to(jmp(isa.JumpSGE, r3, 64, 0), "x"), to(jmp(isa.JumpSLE, r3, -1, 0), "x"), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit())},
	{name: "bounds/register-register compare", minMem: 64, insns: prog(ldx(8, r3, r1, 0), mov(r4, 63), mov(r0, 0), to(jmpr(isa.JumpGT, r3, r4, 0), "x"), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit())},
	{name: "bounds/32-bit move zero-extends", minMem: 64, insns: prog(ldx(8, r3, r1, 0), mov32r(r3, r3), rsh(r3, 26), addr(r1, r3), ldx(1, r0, r1, 0), exit())},
	{name: "bounds/multiply keeps bounds", minMem: 64, insns: prog(ldx(8, r3, r1, 0), and(r3, 7), alu(isa.ALUMul, r3, 8), addr(r1, r3), ldx(8, r0, r1, 0), exit())},
	{name: "bounds/multiply past the end", minMem: 64, insns: prog(ldx(8, r3, r1, 0), and(r3, 7), alu(isa.ALUMul, r3, 9), addr(r1, r3), ldx(8, r0, r1, 0), exit()), err: "invalid access"},
	{name: "bounds/modulo bounds", minMem: 64, insns: prog(ldx(8, r3, r1, 0), alu(isa.ALUMod, r3, 60), addr(r1, r3), ldx(4, r0, r1, 0), exit())},
	{name: "bounds/division bounds", minMem: 64, insns: prog(ldx(1, r3, r1, 0), alu(isa.ALUDiv, r3, 4), addr(r1, r3), ldx(1, r0, r1, 0), exit())},
	{name: "bounds/byte load is at most 255", minMem: 256, insns: prog(ldx(1, r3, r1, 0), addr(r1, r3), ldx(1, r0, r1, 0), exit())},
	{name: "bounds/byte load is at most 255, region of 255", minMem: 255, insns: prog(ldx(1, r3, r1, 0), addr(r1, r3), ldx(1, r0, r1, 0), exit()), err: "invalid access"},
	{name: "bounds/half-word load is at most 65535", minMem: 65536, insns: prog(ldx(2, r3, r1, 0), addr(r1, r3), ldx(1, r0, r1, 0), exit())},
	{name: "bounds/sign-extending load may be negative", minMem: 256, insns: prog(ldxs(1, r3, r1, 0), addr(r1, r3), ldx(1, r0, r1, 0), exit()), err: "min value is negative"},
	{name: "bounds/movsx of a small value", minMem: 128, insns: prog(ldx(1, r3, r1, 0), and(r3, 0x7f), isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceX), Dst: r3, Src: r3, Off: 8}, addr(r1, r3), ldx(1, r0, r1, 0), exit())},
	{name: "bounds/neg of a constant", minMem: 8, insns: prog(mov(r3, -5), alu(isa.ALUNeg, r3, 0), addr(r1, r3), ldx(1, r0, r1, 0), exit())},
	{name: "bounds/arsh of a constant", minMem: 8, insns: prog(mov(r3, -64), alu(isa.ALUArsh, r3, 3), add(r3, 8), addr(r1, r3), ldx(1, r0, r1, 0), exit())},
	{name: "bounds/xor folds constants", minMem: 8, insns: prog(mov(r3, 0x55), alu(isa.ALUXor, r3, 0x55), addr(r1, r3), ldx(8, r0, r1, 0), exit())},
	{name: "bounds/subtraction may underflow", minMem: 256, insns: prog(ldx(1, r3, r1, 0), add(r3, -10), addr(r1, r3), ldx(1, r0, r1, 0), exit()), err: "min value is negative"},
	{name: "bounds/or keeps the larger minimum", minMem: 64, insns: prog(ldx(8, r3, r1, 0), and(r3, 0x0f), alu(isa.ALUOr, r3, 0x20), addr(r1, r3), ldx(1, r0, r1, 0), exit())},
	{name: "bounds/left shift keeps a mask", minMem: 64, insns: prog(ldx(8, r3, r1, 0), and(r3, 7), lsh(r3, 3), addr(r1, r3), ldx(8, r0, r1, 0), exit())},
	{name: "bounds/jset false branch clears the bit", minMem: 128, insns: prog(ldx(1, r3, r1, 0), mov(r0, 0), to(jmp(isa.JumpSET, r3, 0x80, 0), "x"), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit())},
	{name: "bounds/jset taken branch keeps the bit", minMem: 128, insns: prog(ldx(1, r3, r1, 0), mov(r0, 0), to(jmp(isa.JumpSET, r3, 0x80, 0), "use"), exit(), label("use"), addr(r1, r3), ldx(1, r0, r1, 0), exit()), err: "invalid access"},
	{name: "bounds/jeq makes a constant", minMem: 8, insns: prog(ldx(8, r3, r1, 0), mov(r0, 0), to(jmp(isa.JumpEQ, r3, 7, 0), "use"), exit(), label("use"), addr(r1, r3), ldx(1, r0, r1, 0), exit())},
	{name: "bounds/jne trims the bound it excludes", minMem: 255, insns: prog(ldx(1, r3, r1, 0), mov(r0, 0), to(jmp(isa.JumpEQ, r3, 255, 0), "x"), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit())},
	{name: "bounds/comparison refines linked copies", minMem: 64, insns: prog(ldx(8, r3, r1, 0), movr(r4, r3), mov(r0, 0), to(jmp(isa.JumpGT, r4, 63, 0), "x"), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit())},
	{name: "bounds/a modified copy is not linked", minMem: 64, insns: prog(ldx(8, r3, r1, 0), movr(r4, r3), add(r4, 1), mov(r0, 0), to(jmp(isa.JumpGT, r4, 63, 0), "x"), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit()), err: "unbounded"},
	{name: "bounds/spilled scalar keeps its bounds", minMem: 64, insns: prog(ldx(8, r3, r1, 0), and(r3, 63), stx(8, fp, -8, r3), ldx(8, r4, fp, -8), addr(r1, r4), ldx(1, r0, r1, 0), exit())},
	{name: "bounds/constant branch: the other side is dead", kernel: true, insns: prog(mov(r3, 0), to(jmp(isa.JumpNE, r3, 0, 0), "bad"), mov(r0, 0), exit(), label("bad"), ldx(8, r0, r3, 0), exit()),
		facts: func(t *testing.T, f *Facts) {
			if !f.Dead[4] || !f.Dead[5] || f.Dead[2] {
				t.Errorf("Dead = %v, want slots 4 and 5 dead", f.Dead)
			}
			if f.Branch[1] != BranchFallThrough {
				t.Errorf("Branch[1] = %b, want fall-through only", f.Branch[1])
			}
		}},
	{name: "bounds/jmp32 bounds the low half", minMem: 64, insns: prog(ldx(8, r3, r1, 0), mov(r0, 0), to(jmp32(isa.JumpGT, r3, 63, 0), "x"), mov32r(r3, r3), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit())},
	{name: "bounds/jmp32 does not bound the upper half", minMem: 64, insns: prog(ldx(8, r3, r1, 0), mov(r0, 0), to(jmp32(isa.JumpGT, r3, 63, 0), "x"), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit()), err: "unbounded"},
	{name: "bounds/jmp32 signed checks", minMem: 64, insns: prog(ldx(8, r3, r1, 0), mov(r0, 0), to(jmp32(isa.JumpSGT, r3, 63, 0), "x"), to(jmp32(isa.JumpSLT, r3, 0, 0), "x"), mov32r(r3, r3), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit())},
	{name: "bounds/jmp32 register compare", minMem: 64, insns: prog(ldx(8, r3, r1, 0), mov32(r4, 64), mov(r0, 0), to(jmp32r(isa.JumpGE, r3, r4, 0), "x"), mov32r(r3, r3), addr(r1, r3), ldx(1, r0, r1, 0), label("x"), exit())},
	{name: "bounds/seed jmp32 case accepted", maps: []MapInfo{array48}, insns: seedJmp32(true, false), kernel: true},
	{name: "bounds/seed jmp32 case with a weak check rejected", maps: []MapInfo{array48}, insns: seedJmp32(false, false), err: "invalid access to map value", kernel: true},
	{name: "bounds/seed jmp32 case using all 64 bits rejected", maps: []MapInfo{array48}, insns: seedJmp32(true, true), err: "unbounded", kernel: true},
	{name: "bounds/32-bit add wraps inside the low half", minMem: 64, insns: prog(ldx(1, r3, r1, 0), alu32(isa.ALUAdd, r3, 1), alu32(isa.ALUAnd, r3, 63), addr(r1, r3), ldx(1, r0, r1, 0), exit())},

	// The raw memory region.
	{name: "mem/read within the guaranteed size", minMem: 8, insns: prog(ldx(8, r0, r1, 0), exit())},
	{name: "mem/read past the guaranteed size", minMem: 4, insns: prog(ldx(8, r0, r1, 0), exit()), err: "invalid access to memory region", kind: ErrMemAccess},
	{name: "mem/length check proves the region", insns: prog(mov(r0, 0), to(jmp(isa.JumpLT, r2, 8, 0), "x"), ldx(8, r0, r1, 0), label("x"), exit())},
	{name: "mem/length check through a copy", insns: prog(movr(r3, r2), mov(r0, 0), to(jmp(isa.JumpLT, r3, 16, 0), "x"), ldx(8, r0, r1, 8), label("x"), exit())},
	{name: "mem/length check in the wrong direction", insns: prog(mov(r0, 0), to(jmp(isa.JumpGT, r2, 8, 0), "x"), ldx(8, r0, r1, 0), label("x"), exit()), err: "prove the length first"},
	{name: "mem/modified length proves nothing", insns: prog(add(r2, 0), mov(r0, 0), to(jmp(isa.JumpLT, r2, 8, 0), "x"), ldx(8, r0, r1, 0), label("x"), exit()), err: "invalid access"},
	{name: "mem/negative offset", minMem: 8, insns: prog(ldx(1, r0, r1, -1), exit()), err: "invalid access to memory region"},
	{name: "mem/store within the region", minMem: 8, insns: prog(st(8, r1, 0, 1), mov(r0, 0), exit())},
	{name: "mem/pointer stored into the region leaks", minMem: 8, insns: prog(stx(8, r1, 0, r1), mov(r0, 0), exit()), err: "leaks a pointer", kind: ErrPointerLeak},
	{name: "mem/pointer returned leaks", insns: prog(movr(r0, r1), exit()), err: "R0 leaks a pointer", kind: ErrPointerLeak},
	{name: "mem/variable offset after a length check", insns: prog(mov(r0, 0), to(jmp(isa.JumpLT, r2, 64, 0), "x"), ldx(1, r3, r1, 0), and(r3, 31), addr(r1, r3), ldx(8, r0, r1, 8), label("x"), exit())},

	{name: "mem/index below the length", insns: prog(movr(r6, r1), movr(r7, r2), call(HelperGetPrandomU32), mov(r3, 0), to(jmpr(isa.JumpGE, r0, r7, 0), "x"), addr(r6, r0), ldx(1, r3, r6, 0), label("x"), movr(r0, r3), exit())},
	{name: "mem/index at most the length", insns: prog(movr(r6, r1), movr(r7, r2), call(HelperGetPrandomU32), mov(r3, 0), to(jmpr(isa.JumpGT, r0, r7, 0), "x"), addr(r6, r0), ldx(1, r3, r6, 0), label("x"), movr(r0, r3), exit()), err: "invalid access to memory region"},
	{name: "mem/length on the left of the comparison", insns: prog(movr(r6, r1), movr(r7, r2), call(HelperGetPrandomU32), mov(r3, 0), to(jmpr(isa.JumpLE, r7, r0, 0), "x"), addr(r6, r0), ldx(1, r3, r6, 0), label("x"), movr(r0, r3), exit())},
	{name: "mem/index below the length minus 4", minMem: 4, insns: prog(movr(r6, r1), movr(r8, r2), add(r8, -4), call(HelperGetPrandomU32), mov(r3, 0), to(jmpr(isa.JumpGE, r0, r8, 0), "x"), addr(r6, r0), ldx(4, r3, r6, 1), label("x"), movr(r0, r3), exit())},
	{name: "mem/index below the length minus 4, read past it", minMem: 4, insns: prog(movr(r6, r1), movr(r8, r2), add(r8, -4), call(HelperGetPrandomU32), mov(r3, 0), to(jmpr(isa.JumpGE, r0, r8, 0), "x"), addr(r6, r0), ldx(4, r3, r6, 2), label("x"), movr(r0, r3), exit()), err: "invalid access to memory region"},
	{name: "mem/length minus 4 may wrap without a minimum", insns: prog(movr(r6, r1), movr(r8, r2), add(r8, -4), call(HelperGetPrandomU32), mov(r3, 0), to(jmpr(isa.JumpGE, r0, r8, 0), "x"), addr(r6, r0), ldx(1, r3, r6, 0), label("x"), movr(r0, r3), exit()), err: "unbounded"},
	{name: "mem/signed comparison with the length needs a non-negative index", insns: prog(movr(r6, r1), movr(r7, r2), call(HelperGetPrandomU32), mov(r3, 0), to(jmpr(isa.JumpSGE, r0, r7, 0), "x"), addr(r6, r0), ldx(1, r3, r6, 0), label("x"), movr(r0, r3), exit()), err: "unbounded"},
	{name: "mem/fixed-bound loop that also checks the length", insns: prog(mov(r0, 0), mov(r3, 0), label("l"), to(jmp(isa.JumpGE, r3, 64, 0), "x"), to(jmpr(isa.JumpGE, r3, r2, 0), "x"), movr(r4, r1), addr(r4, r3), ldx(1, r5, r4, 0), addr(r0, r5), add(r3, 1), to(ja(0), "l"), label("x"), exit())},

	// The stack.
	{name: "stack/read of never-written stack", insns: prog(ldx(8, r0, fp, -8), exit()), err: "invalid read from stack", kind: ErrMemAccess, kernel: true},
	{name: "stack/spill and fill keep a pointer", minMem: 8, insns: prog(stx(8, fp, -8, r1), ldx(8, r3, fp, -8), ldx(8, r0, r3, 0), exit())},
	{name: "stack/partial fill of a spilled pointer", insns: prog(stx(8, fp, -8, r1), ldx(4, r0, fp, -8), exit()), err: "partial read of spilled pointer", kind: ErrPointerLeak},
	{name: "stack/misaligned pointer spill", insns: prog(stx(8, fp, -12, r1), mov(r0, 0), exit()), err: "misaligned stack access"},
	{name: "stack/misaligned narrow access", insns: prog(st(4, fp, -8, 0), st(4, fp, -4, 0), ldx(4, r0, fp, -6), exit()), err: "misaligned stack access", kernel: true},
	{name: "stack/narrow pointer spill", insns: prog(stx(4, fp, -8, r1), mov(r0, 0), exit()), err: "invalid register spill"},
	{name: "stack/overwritten pointer spill is no longer a pointer", insns: prog(stx(8, fp, -8, r1), st(1, fp, -8, 0), ldx(8, r3, fp, -8), ldx(1, r0, r3, 0), exit()), err: "partly overwritten pointer"},
	{name: "stack/overwritten scalar spill is data", minMem: 8, insns: prog(mov(r3, 0), stx(8, fp, -8, r3), st(1, fp, -8, 0), ldx(8, r3, fp, -8), ldx(1, r0, r3, 0), exit()), err: "scalar, not a pointer"},
	{name: "stack/bytes left of an overwritten pointer", insns: prog(stx(8, fp, -8, r1), st(1, fp, -8, 0), ldx(1, r0, fp, -7), exit()), err: "partly overwritten pointer", kind: ErrPointerLeak},
	{name: "stack/bytes left of an overwritten pointer where leaks are allowed", typ: trace, insns: prog(stx(8, fp, -8, r1), st(1, fp, -8, 0), ldx(1, r0, fp, -7), exit())},
	{name: "stack/partly written slot", insns: prog(st(4, fp, -8, 0), ldx(8, r0, fp, -8), exit()), err: "invalid read from stack", kernel: true},
	{name: "stack/narrow write then narrow read", insns: prog(st(4, fp, -8, 0), ldx(4, r0, fp, -8), exit()), kernel: true},
	{name: "stack/access at or above the frame pointer", insns: prog(ldx(8, r0, fp, 0), exit()), err: "invalid stack access", kernel: true},
	{name: "stack/variable offset read inside written bytes", minMem: 1, insns: prog(st(8, fp, -8, 0), st(8, fp, -16, 0), ldx(1, r3, r1, 0), and(r3, 7), movr(r4, fp), add(r4, -16), addr(r4, r3), ldx(8, r0, r4, 0), exit())},
	{name: "stack/variable offset read over unwritten bytes", minMem: 1, insns: prog(st(8, fp, -8, 0), ldx(1, r3, r1, 0), and(r3, 7), movr(r4, fp), add(r4, -16), addr(r4, r3), ldx(8, r0, r4, 0), exit()), err: "variable-offset read"},
	{name: "stack/pointer moved out of the frame", insns: prog(movr(r3, fp), add(r3, -520), ldx(8, r0, r3, 0), exit()), err: "invalid stack access"},
	{name: "stack/constant stack pointer arithmetic", insns: prog(movr(r3, fp), add(r3, -8), st(8, r3, 0, 5), ldx(8, r0, fp, -8), exit()), kernel: true},
	{name: "stack/stored constant keeps its value", minMem: 24, insns: prog(st(8, fp, -8, 16), ldx(8, r3, fp, -8), addr(r1, r3), ldx(8, r0, r1, 0), exit())},
	{name: "stack/variable-offset write breaks spills", minMem: 8, insns: prog(stx(8, fp, -8, r1), ldx(1, r3, r1, 0), and(r3, 4), movr(r4, fp), add(r4, -8), addr(r4, r3), st(4, r4, 0, 0), ldx(8, r5, fp, -8), ldx(8, r0, r5, 0), exit()), err: "partly overwritten pointer"},

	// XDP context and packets.
	{name: "xdp/read ingress_ifindex", typ: xdp, insns: prog(ldx(4, r0, r1, 12), exit()), kernel: true},
	{name: "xdp/narrow read of rx_queue_index", typ: xdp, insns: prog(ldx(2, r0, r1, 16), exit()), err: "must be accessed with size 4", kernel: true},
	{name: "xdp/context is read only", typ: xdp, insns: prog(st(4, r1, 12, 0), mov(r0, 0), exit()), err: "read only", kernel: true},
	{name: "xdp/access past the context", typ: xdp, insns: prog(ldx(4, r0, r1, 24), exit()), err: "not a field", kernel: true},
	{name: "xdp/data must be read with 4 bytes", typ: xdp, insns: prog(ldx(8, r0, r1, 0), exit()), err: "crosses the end of field", kernel: true},
	{name: "xdp/variable context offset", typ: xdp, insns: prog(movr(r6, r1), call(HelperGetPrandomU32), and(r0, 4), addr(r6, r0), ldx(4, r0, r6, 12), exit()), err: "variable ctx access", kernel: true},
	{name: "xdp/packet read without a bounds check", typ: xdp, insns: prog(ldx(4, r2, r1, 0), ldx(1, r0, r2, 0), exit()), err: "invalid access to packet", kernel: true},
	{name: "xdp/packet read after a bounds check", typ: xdp, insns: prog(xdpPkt(14), mov(r0, 2), to(jmpr(isa.JumpGT, r4, r3, 0), "x"), ldx(1, r0, r2, 13), label("x"), exit()), kernel: true},
	{name: "xdp/packet read one past the checked range", typ: xdp, insns: prog(xdpPkt(14), mov(r0, 2), to(jmpr(isa.JumpGT, r4, r3, 0), "x"), ldx(1, r0, r2, 14), label("x"), exit()), err: "invalid access to packet", kernel: true},
	{name: "xdp/bounds check with data_end on the left", typ: xdp, insns: prog(xdpPkt(8), mov(r0, 2), to(jmpr(isa.JumpLT, r3, r4, 0), "x"), ldx(8, r0, r2, 0), label("x"), exit()), kernel: true},
	{name: "xdp/bounds check proves the other branch", typ: xdp, insns: prog(xdpPkt(8), mov(r0, 2), to(jmpr(isa.JumpLE, r4, r3, 0), "x"), ldx(8, r0, r2, 0), label("x"), exit()), err: "invalid access to packet", kernel: true},
	{name: "xdp/bounds check on the taken branch", typ: xdp, insns: prog(xdpPkt(8), mov(r0, 2), to(jmpr(isa.JumpLE, r4, r3, 0), "use"), exit(), label("use"), ldx(8, r0, r2, 0), exit()), kernel: true},
	{name: "xdp/bounds check covers copies", typ: xdp, insns: prog(xdpPkt(8), movr(r5, r2), mov(r0, 2), to(jmpr(isa.JumpGT, r4, r3, 0), "x"), ldx(4, r0, r5, 4), label("x"), exit()), kernel: true},
	{name: "xdp/packet write after a check", typ: xdp, insns: prog(xdpPkt(1), mov(r0, 2), to(jmpr(isa.JumpGT, r4, r3, 0), "x"), st(1, r2, 0, 0), label("x"), exit()), kernel: true},
	{name: "xdp/arithmetic on data_end", typ: xdp, insns: prog(ldx(4, r3, r1, 4), add(r3, 1), mov(r0, 0), exit()), err: "pointer arithmetic on pkt_end", kernel: true},
	{name: "xdp/data_meta checked against data", typ: xdp, insns: prog(ldx(4, r2, r1, 8), ldx(4, r3, r1, 0), movr(r4, r2), add(r4, 4), mov(r0, 2), to(jmpr(isa.JumpGT, r4, r3, 0), "x"), ldx(4, r0, r2, 0), label("x"), exit()), kernel: true},
	{name: "xdp/read before data_meta", typ: xdp, insns: prog(ldx(4, r2, r1, 8), ldx(4, r3, r1, 0), movr(r4, r2), add(r4, 4), mov(r0, 2), to(jmpr(isa.JumpGT, r4, r3, 0), "x"), ldx(1, r0, r2, -1), label("x"), exit()), err: "invalid access to packet", kernel: true},
	{name: "xdp/read before data", typ: xdp, insns: prog(xdpPkt(8), mov(r0, 2), to(jmpr(isa.JumpGT, r4, r3, 0), "x"), ldx(1, r0, r2, -1), label("x"), exit()), err: "invalid access to packet", kernel: true},
	{name: "xdp/variable offset needs a new check", typ: xdp, insns: prog(xdpPkt(8), mov(r0, 2), to(jmpr(isa.JumpGT, r4, r3, 0), "x"), ldx(1, r5, r2, 0), and(r5, 3), addr(r2, r5), ldx(1, r0, r2, 0), label("x"), exit()), err: "invalid access to packet", kernel: true},
	{name: "xdp/variable offset rechecked", typ: xdp, insns: prog(xdpPkt(8), mov(r0, 2), to(jmpr(isa.JumpGT, r4, r3, 0), "x"), ldx(1, r5, r2, 0), and(r5, 3), addr(r2, r5), movr(r4, r2), add(r4, 1), to(jmpr(isa.JumpGT, r4, r3, 0), "x"), ldx(1, r0, r2, 0), label("x"), exit()), kernel: true},
	{name: "xdp/returning the context leaks", typ: xdp, insns: prog(movr(r0, r1), exit()), err: "R0 leaks", kernel: true},
	{name: "xdp/unmodified context for tail calls", typ: xdp, maps: []MapInfo{progArray}, insns: prog(add(r1, 4), ldmap(r2, 0), mov(r3, 0), call(HelperTailCall), mov(r0, 0), exit()), err: "unmodified context", kernel: true},
	{name: "xdp/tail call with a constant index is direct", typ: xdp, maps: []MapInfo{progArray}, insns: prog(ldmap(r2, 0), mov(r3, 2), call(HelperTailCall), mov(r0, 0), exit()), kernel: true,
		facts: func(t *testing.T, f *Facts) {
			want := []TailCallSite{{Insn: 3, Map: 0, Key: 2, Direct: true}}
			if len(f.TailCalls) != 1 || f.TailCalls[0] != want[0] {
				t.Errorf("TailCalls = %+v, want %+v", f.TailCalls, want)
			}
		}},
	{name: "xdp/tail call with two indexes is poisoned", typ: xdp, maps: []MapInfo{progArray}, insns: prog(movr(r6, r1), call(HelperGetPrandomU32), mov(r3, 1), to(jmp(isa.JumpEQ, r0, 0, 0), "c"), mov(r3, 2), label("c"), movr(r1, r6), ldmap(r2, 0), call(HelperTailCall), mov(r0, 0), exit()), kernel: true,
		facts: func(t *testing.T, f *Facts) {
			if len(f.TailCalls) != 1 || f.TailCalls[0].Direct {
				t.Errorf("TailCalls = %+v, want one poisoned site", f.TailCalls)
			}
		}},
	{name: "xdp/tail call needs a program array", typ: xdp, maps: []MapInfo{hashMap8}, insns: prog(ldmap(r2, 0), mov(r3, 0), call(HelperTailCall), mov(r0, 0), exit()), err: "cannot be passed", kind: ErrHelper, kernel: true},
	{name: "raw/tail call not allowed for the raw type", maps: []MapInfo{progArray}, insns: prog(ldmap(r2, 0), mov(r3, 0), call(HelperTailCall), mov(r0, 0), exit()), err: "may not call helper tail_call"},

	// Socket filters.
	{name: "socket/LD_ABS with the context in r6", typ: socket, insns: prog(movr(r6, r1), ldAbsB, exit()), kernel: true},
	{name: "socket/LD_ABS without the context in r6", typ: socket, insns: prog(mov(r6, 0), ldAbsB, exit()), err: "need the context in R6", kernel: true},
	{name: "socket/LD_ABS clobbers r1", typ: socket, insns: prog(movr(r6, r1), ldAbsB, movr(r0, r1), exit()), err: "R1 is read before", kernel: true},
	{name: "raw/LD_ABS not allowed", insns: prog(movr(r6, r1), ldAbsB, exit()), err: "LD_ABS/LD_IND are not allowed"},
	{name: "socket/write to cb", typ: socket, insns: prog(st(4, r1, 48, 0), mov(r0, 0), exit()), kernel: true},
	{name: "socket/write to mark rejected", typ: socket, insns: prog(st(4, r1, 8, 0), mov(r0, 0), exit()), err: "read only", kernel: true},
	{name: "socket/data is not readable", typ: socket, insns: prog(ldx(4, r0, r1, 76), exit()), err: "not a field", kernel: true},
	{name: "socket/narrow read of len", typ: socket, insns: prog(ldx(1, r0, r1, 0), exit()), kernel: true},

	// Tracing programs: a read-only array of u64 arguments.
	{name: "tracing/read arg0", typ: trace, insns: prog(ldx(8, r0, r1, 0), exit())},
	{name: "tracing/narrow argument read", typ: trace, insns: prog(ldx(4, r0, r1, 0), exit()), err: "must be accessed with size 8"},
	{name: "tracing/argument write", typ: trace, insns: prog(st(8, r1, 0, 0), mov(r0, 0), exit()), err: "read only"},
	{name: "tracing/argument past the last", typ: trace, insns: prog(ldx(8, r0, r1, 48), exit()), err: "not a field"},
	{name: "tracing/pointers may be returned", typ: trace, insns: prog(movr(r0, r1), exit())},
	{name: "tracing/probe_read fills the stack", typ: trace, insns: prog(ldx(8, r3, r1, 0), movr(r1, fp), add(r1, -8), mov(r2, 8), call(HelperProbeRead), ldx(8, r0, fp, -8), exit())},
	{name: "tracing/probe_read past the stack", typ: trace, insns: prog(ldx(8, r3, r1, 0), movr(r1, fp), add(r1, -8), mov(r2, 16), call(HelperProbeRead), mov(r0, 0), exit()), err: "outside the frame"},

	// Maps.
	{name: "map/lookup result used without a null check", maps: []MapInfo{hashMap8}, insns: prog(lookup(0), ldx(8, r0, r0, 0), exit()), err: "null-check", kernel: true},
	{name: "map/lookup result used after a null check", maps: []MapInfo{hashMap8}, insns: prog(lookup(0), to(jmp(isa.JumpEQ, r0, 0, 0), "x"), ldx(8, r0, r0, 0), label("x"), exit()), kernel: true},
	{name: "map/null check with jne", maps: []MapInfo{hashMap8}, insns: prog(lookup(0), to(jmp(isa.JumpNE, r0, 0, 0), "use"), exit(), label("use"), ldx(8, r0, r0, 0), exit()), kernel: true},
	{name: "map/null check covers copies", maps: []MapInfo{hashMap8}, insns: prog(lookup(0), movr(r6, r0), to(jmp(isa.JumpEQ, r0, 0, 0), "x"), ldx(8, r0, r6, 0), label("x"), exit()), kernel: true},
	{name: "map/null branch sees zero", maps: []MapInfo{hashMap8}, insns: prog(lookup(0), to(jmp(isa.JumpNE, r0, 0, 0), "x"), ldx(8, r0, r0, 0), label("x"), mov(r0, 0), exit()), err: "scalar, not a pointer", kernel: true},
	{name: "map/value access past the end", maps: []MapInfo{array48}, insns: prog(lookup(0), to(jmp(isa.JumpEQ, r0, 0, 0), "x"), ldx(8, r0, r0, 48), label("x"), exit()), err: "invalid access to map value", kernel: true},
	{name: "map/value access at the last word", maps: []MapInfo{array48}, insns: prog(lookup(0), to(jmp(isa.JumpEQ, r0, 0, 0), "x"), ldx(8, r0, r0, 40), label("x"), exit()), kernel: true},
	{name: "map/value with a masked index", maps: []MapInfo{array48}, insns: prog(lookup(0), to(jmp(isa.JumpEQ, r0, 0, 0), "x"), movr(r6, r0), call(HelperGetPrandomU32), and(r0, 31), addr(r6, r0), ldx(8, r0, r6, 0), label("x"), exit()), kernel: true},
	{name: "map/value with a too wide index", maps: []MapInfo{array48}, insns: prog(lookup(0), to(jmp(isa.JumpEQ, r0, 0, 0), "x"), movr(r6, r0), call(HelperGetPrandomU32), and(r0, 63), addr(r6, r0), ldx(8, r0, r6, 0), label("x"), exit()), err: "invalid access to map value", kernel: true},
	{name: "map/value with a signed index", maps: []MapInfo{array48}, insns: prog(lookup(0), to(jmp(isa.JumpEQ, r0, 0, 0), "x"), movr(r6, r0), call(HelperGetPrandomU32), to(jmp(isa.JumpSGT, r0, 8, 0), "x"), addr(r6, r0), ldx(8, r0, r6, 0), label("x"), exit()), err: "unbounded", kernel: true},
	{name: "map/uninitialized key", maps: []MapInfo{hashMap8}, insns: prog(movr(r2, fp), add(r2, -4), ldmap(r1, 0), call(HelperMapLookupElem), mov(r0, 0), exit()), err: "invalid indirect read from stack", kernel: true},
	{name: "map/key larger than what was written", maps: []MapInfo{{Type: MapTypeHash, KeySize: 8, ValueSize: 8, MaxEntries: 1}}, insns: prog(st(4, fp, -8, 0), movr(r2, fp), add(r2, -8), ldmap(r1, 0), call(HelperMapLookupElem), mov(r0, 0), exit()), err: "invalid indirect read from stack", kernel: true},
	{name: "map/update from the stack", maps: []MapInfo{hashMap8}, insns: prog(st(4, fp, -4, 0), st(8, fp, -16, 0), movr(r2, fp), add(r2, -4), movr(r3, fp), add(r3, -16), mov(r4, 0), ldmap(r1, 0), call(HelperMapUpdateElem), exit()), kernel: true},
	{name: "map/update with an uninitialized value", maps: []MapInfo{hashMap8}, insns: prog(st(4, fp, -4, 0), movr(r2, fp), add(r2, -4), movr(r3, fp), add(r3, -16), mov(r4, 0), ldmap(r1, 0), call(HelperMapUpdateElem), exit()), err: "invalid indirect read from stack", kernel: true},
	{name: "map/update with a map value as the value", maps: []MapInfo{hashMap8}, insns: prog(lookup(0), to(jmp(isa.JumpEQ, r0, 0, 0), "x"), movr(r3, r0), movr(r2, fp), add(r2, -4), mov(r4, 0), ldmap(r1, 0), call(HelperMapUpdateElem), label("x"), exit()), kernel: true},
	{name: "map/update with a spilled pointer as the value leaks it", maps: []MapInfo{hashMap8}, insns: prog(st(4, fp, -4, 0), stx(8, fp, -16, r1), movr(r2, fp), add(r2, -4), movr(r3, fp), add(r3, -16), mov(r4, 0), ldmap(r1, 0), call(HelperMapUpdateElem), exit()), err: "holds a spilled pointer", kind: ErrPointerLeak},
	{name: "map/arithmetic on a map pointer", maps: []MapInfo{hashMap8}, insns: prog(ldmap(r1, 0), add(r1, 8), mov(r0, 0), exit()), err: "pointer arithmetic on map_ptr", kernel: true},
	{name: "map/dereference of a map pointer", maps: []MapInfo{hashMap8}, insns: prog(ldmap(r1, 0), ldx(8, r0, r1, 0), exit()), err: "invalid mem access 'map_ptr'", kernel: true},
	{name: "map/index out of range", maps: []MapInfo{hashMap8}, insns: prog(ldmap(r1, 3), mov(r0, 0), exit()), err: "map index 3 out of range"},
	{name: "map/direct value access", maps: []MapInfo{global48}, insns: prog(ldmapValue(r1, 0, 8), ldx(8, r0, r1, 32), exit()), kernel: true},
	{name: "map/direct value access past the end", maps: []MapInfo{global48}, insns: prog(ldmapValue(r1, 0, 8), ldx(8, r0, r1, 36), exit()), err: "invalid access to map value", kernel: true},
	{name: "map/direct value access on a hash map", maps: []MapInfo{hashMap8}, insns: prog(ldmapValue(r1, 0, 0), mov(r0, 0), exit()), err: "needs an array map", kernel: true},
	{name: "map/direct value access on a multi-entry array", maps: []MapInfo{array48}, insns: prog(ldmapValue(r1, 0, 8), mov(r0, 0), exit()), err: "one entry", kernel: true},
	{name: "map/lookup in a program array", maps: []MapInfo{progArray}, insns: prog(lookup(0), mov(r0, 0), exit()), err: "cannot be passed"},
	{name: "map/lddw by fd unsupported", insns: prog(isa.LdImm64(r1, isa.PseudoMapFD, 3), mov(r0, 0), exit()), err: "bind maps by index", kind: ErrUnsupported},
	{name: "map/arithmetic before the null check", maps: []MapInfo{hashMap8}, insns: prog(lookup(0), add(r0, 8), mov(r0, 0), exit()), err: "null-check it first", kernel: true},
	{name: "map/pointer stored into a map value leaks", maps: []MapInfo{hashMap8}, insns: prog(lookup(0), to(jmp(isa.JumpEQ, r0, 0, 0), "x"), stx(8, r0, 0, r0), label("x"), mov(r0, 0), exit()), err: "leaks a pointer"},
	{name: "map/helper needs a map", insns: prog(mov(r1, 0), movr(r2, fp), call(HelperMapDeleteElem), exit()), err: "must be a map"},

	// Helpers.
	{name: "helper/unknown id", insns: prog(call(9999), exit()), err: "unknown helper #9999", kind: ErrHelper, kernel: true},
	{name: "helper/host helper with a prototype", opts: func(o *Options) {
		o.Helpers = map[int32]*HelperProto{1000: {Name: "host_add", Args: [5]ArgType{ArgScalar, ArgScalar}}}
	}, insns: prog(mov(r1, 1), mov(r2, 2), call(1000), exit())},
	{name: "helper/host helper argument type checked", opts: func(o *Options) {
		o.Helpers = map[int32]*HelperProto{1000: {Name: "host_add", Args: [5]ArgType{ArgScalar, ArgScalar}}}
	}, insns: prog(mov(r2, 2), call(1000), exit()), err: "must be a scalar", kind: ErrHelper},
	{name: "helper/host helper reading memory", minMem: 16, opts: func(o *Options) {
		o.Helpers = map[int32]*HelperProto{1001: {Name: "host_sum", Args: [5]ArgType{ArgMem, ArgSize}}}
	}, insns: prog(mov(r2, 16), call(1001), exit())},
	{name: "helper/host helper reading past the region", minMem: 16, opts: func(o *Options) {
		o.Helpers = map[int32]*HelperProto{1001: {Name: "host_sum", Args: [5]ArgType{ArgMem, ArgSize}}}
	}, insns: prog(mov(r2, 17), call(1001), exit()), err: "invalid access to memory region"},
	{name: "helper/host helper returning a map value", maps: []MapInfo{hashMap8}, opts: func(o *Options) {
		o.Helpers = map[int32]*HelperProto{1002: {Name: "host_get", Args: [5]ArgType{ArgMapPtr, ArgScalar}, Ret: RetMapValueOrNull}}
	}, insns: prog(ldmap(r1, 0), mov(r2, 0), call(1002), ldx(8, r0, r0, 0), exit()), err: "null-check"},
	{name: "helper/trace_printk with a stack buffer", insns: prog(st(8, fp, -8, 0x41), movr(r1, fp), add(r1, -8), mov(r2, 8), mov(r3, 0), mov(r4, 0), mov(r5, 0), call(HelperTracePrintk), exit()), kernel: true},
	{name: "helper/trace_printk with an unbounded size", minMem: 8, insns: prog(ldx(8, r2, r1, 0), st(8, fp, -8, 0x41), movr(r1, fp), add(r1, -8), mov(r3, 0), mov(r4, 0), mov(r5, 0), call(HelperTracePrintk), exit()), err: "unbounded memory size"},
	{name: "helper/trace_printk with size 0", insns: prog(st(8, fp, -8, 0x41), movr(r1, fp), add(r1, -8), mov(r2, 0), mov(r3, 0), mov(r4, 0), mov(r5, 0), call(HelperTracePrintk), exit()), err: "zero-sized", kernel: true},
	{name: "helper/trace_printk reading unwritten stack", insns: prog(st(4, fp, -8, 0x41), movr(r1, fp), add(r1, -8), mov(r2, 8), mov(r3, 0), mov(r4, 0), mov(r5, 0), call(HelperTracePrintk), exit()), err: "invalid indirect read", kernel: true},
	{name: "helper/helper returns a scalar", insns: prog(call(HelperKtimeGetNs), exit()), kernel: true,
		facts: func(t *testing.T, f *Facts) {
			if len(f.Helpers) != 1 || f.Helpers[0] != HelperKtimeGetNs {
				t.Errorf("Helpers = %v, want [5]", f.Helpers)
			}
		}},

	// BPF-to-BPF calls.
	{name: "call/static function reads the caller's stack", insns: prog(st(8, fp, -8, 7), movr(r1, fp), add(r1, -8), to(callLocal(0), "f"), exit(), label("f"), ldx(8, r0, r1, 0), exit()), kernel: true},
	{name: "call/callee cannot read the caller's r6", insns: prog(mov(r6, 1), to(callLocal(0), "f"), exit(), label("f"), movr(r0, r6), exit()), err: "R6 is read before", kernel: true},
	{name: "call/returning a pointer to the callee's stack", insns: prog(to(callLocal(0), "f"), mov(r0, 0), exit(), label("f"), movr(r0, fp), exit()), err: "callee's own stack", kernel: true},
	{name: "call/callee must set r0", insns: prog(to(callLocal(0), "f"), exit(), label("f"), exit()), err: "R0 is read before", kernel: true},
	{name: "call/caller's r6 survives", insns: prog(mov(r6, 5), to(callLocal(0), "f"), movr(r0, r6), exit(), label("f"), mov(r0, 0), exit()), kernel: true},
	{name: "call/r1 is clobbered by a call", insns: prog(to(callLocal(0), "f"), movr(r0, r1), exit(), label("f"), mov(r0, 0), exit()), err: "R1 is read before", kernel: true},
	{name: "call/static function verified with the caller's pointer", minMem: 8, insns: prog(to(callLocal(0), "f"), exit(), label("f"), ldx(8, r0, r1, 0), exit())},
	{name: "call/static function verified with the caller's scalar", minMem: 8, insns: prog(mov(r1, 0), to(callLocal(0), "f"), exit(), label("f"), ldx(8, r0, r1, 0), exit()), err: "scalar, not a pointer"},
	{name: "call/callee writes through the caller's stack pointer", insns: prog(movr(r1, fp), add(r1, -8), to(callLocal(0), "f"), ldx(8, r0, fp, -8), exit(), label("f"), st(8, r1, 0, 1), mov(r0, 0), exit()), kernel: true},
	{name: "call/callee cannot leave its stack pointer in the caller's stack", insns: prog(movr(r1, fp), add(r1, -8), to(callLocal(0), "f"), mov(r0, 0), exit(), label("f"), stx(8, r1, 0, fp), mov(r0, 0), exit()), err: "cannot spill a pointer to frame 1", kernel: true},
	{name: "call/stack depth per subprogram", insns: prog(st(8, fp, -16, 0), to(callLocal(0), "f"), exit(), label("f"), st(8, fp, -40, 0), mov(r0, 0), exit()), kernel: true,
		facts: func(t *testing.T, f *Facts) {
			if len(f.Subprogs) != 2 || f.Subprogs[0].StackDepth != 16 || f.Subprogs[1].StackDepth != 40 || f.MaxStackDepth != 56 {
				t.Errorf("Subprogs = %+v, MaxStackDepth = %d", f.Subprogs, f.MaxStackDepth)
			}
		}},

	// Global functions: checked once, against their BTF prototype.
	{name: "global/scalar argument", funcs: []isa.FuncInfo{globalFn(3, "g", intT())}, insns: prog(mov(r1, 5), to(callLocal(0), "g"), exit(), label("g"), movr(r0, r1), exit())},
	{name: "global/pointer passed for an int", funcs: []isa.FuncInfo{globalFn(3, "g", intT())}, insns: prog(movr(r1, fp), to(callLocal(0), "g"), exit(), label("g"), mov(r0, 0), exit()), err: "must be a scalar", kind: ErrFuncSignature},
	{name: "global/body sees only the prototype", minMem: 8, funcs: []isa.FuncInfo{globalFn(3, "g", intT())}, insns: prog(mov(r1, 0), to(callLocal(0), "g"), exit(), label("g"), ldx(8, r0, r1, 0), exit()), err: "scalar, not a pointer"},
	{name: "global/pointer parameter must be null-checked", funcs: []isa.FuncInfo{globalFn(5, "g", &btf.Pointer{Target: &btf.Int{Name: "u64", Size: 8}})}, insns: prog(st(8, fp, -8, 0), movr(r1, fp), add(r1, -8), to(callLocal(0), "g"), exit(), label("g"), ldx(8, r0, r1, 0), exit()), err: "null-check"},
	{name: "global/pointer parameter after a null check", funcs: []isa.FuncInfo{globalFn(5, "g", &btf.Pointer{Target: &btf.Int{Name: "u64", Size: 8}})}, insns: prog(st(8, fp, -8, 0), movr(r1, fp), add(r1, -8), to(callLocal(0), "g"), exit(), label("g"), mov(r0, 0), to(jmp(isa.JumpEQ, r1, 0, 0), "x"), ldx(8, r0, r1, 0), label("x"), exit())},
	{name: "global/pointer parameter bounded by its type", funcs: []isa.FuncInfo{globalFn(5, "g", &btf.Pointer{Target: &btf.Int{Name: "u64", Size: 8}})}, insns: prog(st(8, fp, -8, 0), movr(r1, fp), add(r1, -8), to(callLocal(0), "g"), exit(), label("g"), mov(r0, 0), to(jmp(isa.JumpEQ, r1, 0, 0), "x"), ldx(8, r0, r1, 8), label("x"), exit()), err: "invalid access to buffer"},
	{name: "global/caller must pass initialized memory", funcs: []isa.FuncInfo{globalFn(4, "g", &btf.Pointer{Target: &btf.Int{Name: "u64", Size: 8}})}, insns: prog(movr(r1, fp), add(r1, -8), to(callLocal(0), "g"), exit(), label("g"), mov(r0, 0), exit()), err: "invalid indirect read from stack"},
	{name: "global/null may be passed", funcs: []isa.FuncInfo{globalFn(3, "g", &btf.Pointer{Target: &btf.Int{Name: "u64", Size: 8}})}, insns: prog(mov(r1, 0), to(callLocal(0), "g"), exit(), label("g"), mov(r0, 0), exit())},
	{name: "global/context parameter", typ: xdp, funcs: []isa.FuncInfo{globalFn(2, "g", &btf.Pointer{Target: &btf.Struct{Name: "xdp_md", Size: 24}})}, insns: prog(to(callLocal(0), "g"), exit(), label("g"), ldx(4, r0, r1, 12), exit())},
	{name: "global/r0 after the call is a scalar", funcs: []isa.FuncInfo{globalFn(3, "g", intT())}, insns: prog(mov(r1, 5), to(callLocal(0), "g"), exit(), label("g"), mov(r0, 1), exit())},

	// Atomics.
	{name: "atomic/add on the stack", insns: prog(st(8, fp, -8, 0), mov(r3, 1), atomic(8, isa.AtomicAdd, fp, -8, r3), mov(r0, 0), exit()), kernel: true},
	{name: "atomic/add on unwritten stack", insns: prog(mov(r3, 1), atomic(8, isa.AtomicAdd, fp, -8, r3), mov(r0, 0), exit()), err: "invalid read from stack", kernel: true},
	{name: "atomic/fetch-add returns a scalar", insns: prog(st(8, fp, -8, 0), mov(r3, 1), atomic(8, isa.AtomicAdd|isa.AtomicFetch, fp, -8, r3), movr(r0, r3), exit()), kernel: true},
	{name: "atomic/32-bit fetch is zero-extended", minMem: 64, insns: prog(st(4, fp, -8, 0), mov(r3, 1), atomic(4, isa.AtomicXchg, fp, -8, r3), rsh(r3, 26), addr(r1, r3), ldx(1, r0, r1, 0), exit())},
	{name: "atomic/on the context", typ: xdp, insns: prog(mov(r3, 1), atomic(4, isa.AtomicAdd, r1, 12, r3), mov(r0, 0), exit()), err: "atomic operation on R1 (ctx)", kernel: true},
	{name: "atomic/with a pointer operand", insns: prog(st(8, fp, -8, 0), atomic(8, isa.AtomicAdd, fp, -8, r1), mov(r0, 0), exit()), err: "must be a scalar"},
	{name: "atomic/cmpxchg reads r0", insns: prog(st(8, fp, -8, 0), mov(r3, 1), atomic(8, isa.AtomicCmpXchg, fp, -8, r3), exit()), err: "R0 is read before", kernel: true},
	{name: "atomic/on a spilled pointer", insns: prog(stx(8, fp, -8, r1), mov(r3, 1), atomic(8, isa.AtomicAdd, fp, -8, r3), mov(r0, 0), exit()), err: "spilled pointer"},
	{name: "atomic/on a map value", maps: []MapInfo{array48}, insns: prog(lookup(0), to(jmp(isa.JumpEQ, r0, 0, 0), "x"), mov(r3, 1), atomic(8, isa.AtomicAdd, r0, 40, r3), label("x"), mov(r0, 0), exit()), kernel: true},

	// Pointer arithmetic.
	{name: "ptr/multiplying a pointer", insns: prog(alu(isa.ALUMul, r1, 2), mov(r0, 0), exit()), err: "prohibited", kind: ErrPointerArith},
	{name: "ptr/32-bit arithmetic on a pointer", insns: prog(alu32(isa.ALUAdd, r1, 2), mov(r0, 0), exit()), err: "32-bit arithmetic on a pointer prohibited"},
	{name: "ptr/pointer minus pointer is a scalar", insns: prog(movr(r3, r1), add(r3, 8), alur(isa.ALUSub, r3, r1), movr(r0, r3), exit())},
	{name: "ptr/scalar minus pointer", insns: prog(mov(r3, 8), alur(isa.ALUSub, r3, r1), mov(r0, 0), exit()), err: "subtracting a pointer"},
	{name: "ptr/scalar plus pointer is a pointer", minMem: 16, insns: prog(mov(r3, 8), addr(r3, r1), ldx(8, r0, r3, 0), exit())},
	{name: "ptr/adding an unbounded scalar", minMem: 16, insns: prog(ldx(8, r3, r1, 0), addr(r1, r3), mov(r0, 0), exit()), err: "unbounded"},
	{name: "ptr/partial copy of a pointer", insns: prog(mov32r(r3, r1), mov(r0, 0), exit()), err: "partial copy", kind: ErrPointerLeak},
	{name: "ptr/partial copy allowed where leaks are", typ: trace, insns: prog(mov32r(r0, r1), exit())},
	{name: "ptr/pointers of different kinds", maps: []MapInfo{array48}, insns: prog(lookup(0), to(jmp(isa.JumpEQ, r0, 0, 0), "x"), alur(isa.ALUSub, r0, fp), label("x"), mov(r0, 0), exit()), err: "arithmetic between pointers"},
	{name: "ptr/byte swap of a pointer", insns: prog(isa.Instruction{Opcode: isa.ALU(isa.ClassALU, isa.ALUEnd, isa.SourceX), Dst: r1, Imm: 32}, mov(r0, 0), exit()), err: "byte swap of pointer"},

	// Host-defined program types.
	{name: "hosttype/read an input field", typ: hostType, insns: prog(ldx(8, r0, r1, 0), exit())},
	{name: "hosttype/write the output field", typ: hostType, insns: prog(st(8, r1, 8, 1), mov(r0, 0), exit())},
	{name: "hosttype/write the input field", typ: hostType, insns: prog(st(8, r1, 0, 1), mov(r0, 0), exit()), err: "field in is read only"},
	{name: "hosttype/pointer into the output field leaks", typ: hostType, insns: prog(stx(8, r1, 8, r1), mov(r0, 0), exit()), err: "leaks a pointer"},
	{name: "hosttype/the type's own helper", typ: hostType, insns: prog(mov(r2, 1), call(2000), exit())},
	{name: "hosttype/a helper outside the type's set", typ: hostType, insns: prog(call(HelperKtimeGetNs), exit()), err: "may not call helper ktime_get_ns#5"},

	// Facts for the JIT.
	{name: "facts/zero extension needed when the upper half is read", kernel: true, insns: prog(mov32(r0, -1), lsh(r0, 1), exit()),
		facts: func(t *testing.T, f *Facts) {
			if !f.ZeroExtend[0] {
				t.Errorf("ZeroExtend[0] = false, want true")
			}
		}},
	{name: "facts/no zero extension when only the low half is read", kernel: true, insns: prog(mov32(r0, -1), alu32(isa.ALUAdd, r0, 1), exit()),
		facts: func(t *testing.T, f *Facts) {
			if f.ZeroExtend[0] || !f.ZeroExtend[1] {
				t.Errorf("ZeroExtend = %v, want [false true false]", f.ZeroExtend)
			}
		}},
	{name: "facts/le64 in the 32-bit class reads the whole register", insns: prog(mov32(r0, -1),
		isa.Instruction{Opcode: isa.ALU(isa.ClassALU, isa.ALUEnd, isa.SourceK), Dst: r0, Imm: 64}, exit()),
		facts: func(t *testing.T, f *Facts) {
			if !f.ZeroExtend[0] || f.ZeroExtend[1] {
				t.Errorf("ZeroExtend = %v, want [true false false]: le64 reads and writes 64 bits", f.ZeroExtend)
			}
		}},
	{name: "facts/processed count", kernel: true, insns: prog(mov(r0, 0), exit()),
		facts: func(t *testing.T, f *Facts) {
			if f.Processed != 2 {
				t.Errorf("Processed = %d, want 2", f.Processed)
			}
		}},
	{name: "facts/context fields for the JIT", typ: xdp, insns: prog(ldx(4, r2, r1, 0), ldx(4, r0, r1, 16), exit()),
		facts: func(t *testing.T, f *Facts) {
			if f.CtxFields[0].Name != "data" || f.CtxFields[1].Name != "rx_queue_index" {
				t.Errorf("CtxFields = %+v", f.CtxFields)
			}
		}},
	{name: "callx/constant helper id", kernel: true, insns: prog(mov(r2, int32(HelperKtimeGetNs)), isa.Instruction{Opcode: isa.OpCallX, Dst: r2}, exit()),
		facts: func(t *testing.T, f *Facts) {
			if f.CallX[1] != HelperKtimeGetNs {
				t.Errorf("CallX = %v, want slot 1 -> 5", f.CallX)
			}
		}},
	{name: "callx/unknown helper id", minMem: 8, insns: prog(ldx(8, r2, r1, 0), isa.Instruction{Opcode: isa.OpCallX, Dst: r2}, exit()), err: "must be a known constant", kind: ErrUnsupported},
	{name: "callx/different ids on different paths", insns: prog(mov(r6, int32(HelperKtimeGetNs)), call(HelperGetPrandomU32), to(jmp(isa.JumpEQ, r0, 0, 0), "c"), mov(r6, int32(HelperGetPrandomU32)), label("c"), isa.Instruction{Opcode: isa.OpCallX, Dst: r6}, exit()), err: "different paths"},
	{name: "unsupported/kfunc call", kernel: true, insns: prog(isa.Instruction{Opcode: isa.OpCall, Src: isa.PseudoKfuncCall, Imm: 5}, exit()), err: "kfunc", kind: ErrUnsupported},
	{name: "unsupported/callback address", kernel: true, insns: prog(isa.LdImm64(r1, isa.PseudoFunc, 3), mov(r0, 0), exit(), mov(r0, 0), exit()), err: "function pointers"},
}

func (c *vcase) options() Options {
	o := Options{Type: c.typ, Maps: c.maps, MinMem: c.minMem}
	if o.Maps == nil {
		o.Maps = []MapInfo{}
	}
	if c.opts != nil {
		c.opts(&o)
	}
	return o
}

func TestVerifierTable(t *testing.T) {
	if len(cases) < 150 {
		t.Errorf("the table has %d programs, want at least 150", len(cases))
	}
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.name] {
			t.Errorf("duplicate case name %q", c.name)
		}
		names[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			p := &isa.Program{Insns: c.insns, Funcs: c.funcs}
			facts, err := Check(p, c.options())
			if c.err == "" {
				if err != nil {
					var ve *Error
					if errors.As(err, &ve) {
						t.Fatalf("rejected: %v\n%s", err, ve.Log)
					}
					t.Fatalf("rejected: %v", err)
				}
				if c.facts != nil {
					c.facts(t, facts)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted, want error containing %q", c.err)
			}
			if !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %q, want it to contain %q\n%s", err, c.err, logOf(err))
			}
			if c.kind != nil && !errors.Is(err, c.kind) {
				t.Errorf("error %v is not %v", err, c.kind)
			}
			var ve *Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not *Error", err)
			}
			if !strings.Contains(ve.Log, ve.Reason) {
				t.Errorf("log does not contain the reason:\n%s", ve.Log)
			}
		})
	}
}

func logOf(err error) string {
	var ve *Error
	if errors.As(err, &ve) {
		return ve.Log
	}
	return ""
}

// A loop that runs for the whole budget must end in "too complex" quickly: explored states
// per instruction are capped, so the cost stays linear in the budget.
func TestLongLoopHitsBudgetQuickly(t *testing.T) {
	p := &isa.Program{Insns: prog(mov(r3, 0), label("l"), add(r3, 1), to(jmp(isa.JumpNE, r3, 0, 0), "l"), mov(r0, 0), exit())}
	start := time.Now()
	_, err := Check(p, Options{})
	if !errors.Is(err, ErrTooComplex) {
		t.Fatalf("err = %v, want ErrTooComplex", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to exhaust the budget", d)
	}
}

// Each undecided branch leaves one state waiting; their number is capped, so memory is too.
func TestLongJumpSequenceIsTooComplex(t *testing.T) {
	var parts []any
	parts = append(parts, call(HelperGetPrandomU32), movr(r6, r0), call(HelperGetPrandomU32), movr(r7, r0))
	for k := 0; k < maxPending+10; k++ {
		// Undecided every time: r7 stays unknown, so both outcomes remain possible.
		parts = append(parts, jmpr(isa.JumpGT, r6, r7, 0), add(r7, 1))
	}
	parts = append(parts, mov(r0, 0), exit())
	_, err := Check(&isa.Program{Insns: prog(parts...)}, Options{})
	if !errors.Is(err, ErrTooComplex) || !strings.Contains(err.Error(), "sequence of") {
		t.Fatalf("err = %v, want the jump sequence limit", err)
	}
}
