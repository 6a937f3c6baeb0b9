// Package progen generates random, terminating, memory-safe BPF programs for differential
// tests of the JITs against the interpreter. Every opcode of the ISA appears (legacy
// packet access and tail calls excepted), with operand values biased towards edge cases
// (0, -1, INT_MIN, shift counts past the width), forward jumps of every length (so both
// branch sizes are exercised), bounded loops and BPF-to-BPF calls.
//
// Programs follow the conformance-suite environment: r1 points at MemSize writable bytes,
// r10 at a 512-byte stack. r1 and r10 are only ever used as memory bases, so no address
// (which differs between engines) reaches r0 or memory; the result is r0 plus the final
// memory contents.
package progen

import (
	"math/rand/v2"

	"github.com/bpfjit/bpfjit/isa"
)

// MemSize is the size of the memory r1 points to.
const MemSize = 128

// Options tune generation.
type Options struct {
	// Helpers lists helper ids the program may call (with r1–r5 as arguments); empty means
	// none. Callx calls draw from the same list.
	Helpers []int32
}

// Generator produces programs from a deterministic stream.
type Generator struct {
	r    *rand.Rand
	opts Options
	out  []isa.Instruction
}

// New returns a generator seeded with seed.
func New(seed uint64, opts Options) *Generator {
	return &Generator{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), opts: opts}
}

// Value registers: everything but r1 (memory base) and r10 (frame pointer).
var valueRegs = []isa.Register{isa.R0, isa.R2, isa.R3, isa.R4, isa.R5, isa.R6, isa.R7, isa.R8, isa.R9}

// interesting immediates: the edges of every operation's semantics.
var interesting = []int64{0, 1, -1, 2, 7, 8, 15, 16, 31, 32, 33, 63, 64, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
	0x7fffffff, -0x80000000, 0x80000000, 0xffffffff, 1 << 32, -1 << 63, 1<<63 - 1, 0x0123456789abcdef}

func (g *Generator) imm32() int32 {
	if g.r.IntN(3) == 0 {
		return int32(g.r.Uint32())
	}
	return int32(interesting[g.r.IntN(len(interesting))])
}

func (g *Generator) imm64() uint64 {
	if g.r.IntN(3) == 0 {
		return g.r.Uint64()
	}
	return uint64(interesting[g.r.IntN(len(interesting))])
}

func (g *Generator) emit(ins ...isa.Instruction) { g.out = append(g.out, ins...) }

func (g *Generator) pick(regs []isa.Register) isa.Register { return regs[g.r.IntN(len(regs))] }

// Program returns the next program.
func (g *Generator) Program() []isa.Instruction {
	g.out = g.out[:0]
	// Initialise every value register: a verified program cannot read uninitialised ones.
	for _, r := range valueRegs {
		if g.r.IntN(2) == 0 {
			ld := isa.LdImm64(r, 0, g.imm64())
			g.emit(ld[0], ld[1])
		} else {
			g.emit(isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: r, Imm: g.imm32()})
		}
	}
	// r1 is kept at [r10-72] so it can be restored after helper calls, which clobber r1–r5.
	g.emit(isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeMEM, isa.SizeDW), Dst: isa.R10, Src: isa.R1, Off: -72})
	// Initialise the stack area the program uses.
	for off := -64; off < 0; off += 8 {
		g.emit(isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeMEM, isa.SizeDW), Dst: isa.R10, Src: g.pick(valueRegs), Off: int16(off)})
	}
	var calls []int // slots of local calls, patched once the subprogram is placed
	n := 8 + g.r.IntN(40)
	for k := 0; k < n; k++ {
		switch p := g.r.IntN(100); {
		case p < 4:
			g.loop(valueRegs)
		case p < 8:
			g.forwardJump(valueRegs)
		case p < 11:
			calls = append(calls, len(g.out))
			g.emit(isa.Instruction{Opcode: isa.OpCall, Src: isa.PseudoCall})
		case p < 13 && len(g.opts.Helpers) > 0:
			g.helperCall()
		default:
			g.straight(valueRegs, true)
		}
	}
	// Fold every register into r0 and store it, so all state is observed.
	for _, r := range valueRegs[1:] {
		g.emit(isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUXor, isa.SourceX), Dst: isa.R0, Src: r},
			isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALULsh, isa.SourceK), Dst: isa.R0, Imm: 3},
			isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeMEM, isa.SizeDW), Dst: isa.R1, Src: r, Off: int16(8 * int(r))})
	}
	for off := -64; off < 0; off += 8 {
		g.emit(isa.Instruction{Opcode: isa.Mem(isa.ClassLDX, isa.ModeMEM, isa.SizeDW), Dst: isa.R2, Src: isa.R10, Off: int16(off)},
			isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUAdd, isa.SourceX), Dst: isa.R0, Src: isa.R2})
	}
	g.emit(isa.Instruction{Opcode: isa.OpExit})
	if len(calls) > 0 {
		sub := len(g.out)
		g.subprogram()
		for _, c := range calls {
			g.out[c].Imm = int32(sub - c - 1)
		}
	}
	return append([]isa.Instruction(nil), g.out...)
}

// subprogram emits a callee: it computes on r0–r5 (r1 stays a memory base), writes some
// of r6–r9 (which the JIT must save and restore) and uses its own stack frame.
func (g *Generator) subprogram() {
	regs := []isa.Register{isa.R0, isa.R2, isa.R3, isa.R4, isa.R5}
	g.emit(isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: isa.R0, Imm: g.imm32()})
	for off := -64; off < 0; off += 8 {
		g.emit(isa.Instruction{Opcode: isa.Mem(isa.ClassST, isa.ModeMEM, isa.SizeDW), Dst: isa.R10, Off: int16(off), Imm: g.imm32()})
	}
	for _, r := range []isa.Register{isa.R6, isa.R7, isa.R8, isa.R9} {
		if g.r.IntN(2) == 0 {
			g.emit(isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: r, Imm: g.imm32()})
		}
	}
	for k := 2 + g.r.IntN(10); k > 0; k-- {
		if g.r.IntN(8) == 0 {
			g.forwardJump(regs)
		} else {
			g.straight(regs, false)
		}
	}
	g.emit(isa.Instruction{Opcode: isa.OpExit})
}

// helperCall calls a helper (directly or through callx) with r2–r5 as arguments, then
// restores r1 and gives r2–r5 defined values again: a helper call clobbers r1–r5.
func (g *Generator) helperCall() {
	id := g.opts.Helpers[g.r.IntN(len(g.opts.Helpers))]
	if g.r.IntN(3) == 0 {
		g.emit(isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: isa.R4, Imm: id},
			isa.Instruction{Opcode: isa.OpCallX, Dst: isa.R4})
	} else {
		g.emit(isa.Instruction{Opcode: isa.OpCall, Imm: id})
	}
	g.emit(isa.Instruction{Opcode: isa.Mem(isa.ClassLDX, isa.ModeMEM, isa.SizeDW), Dst: isa.R1, Src: isa.R10, Off: -72})
	for r := isa.R2; r <= isa.R5; r++ {
		g.emit(isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: r, Imm: g.imm32()})
	}
}

// loop emits a counted loop of straight-line code: the counter lives in a register the body
// does not touch.
func (g *Generator) loop(regs []isa.Register) {
	ctr := g.pick(regs)
	var body []isa.Register
	for _, r := range regs {
		if r != ctr && r != isa.R0 { // r0 is cmpxchg's implicit operand
			body = append(body, r)
		}
	}
	g.emit(isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: ctr, Imm: int32(1 + g.r.IntN(5))})
	start := len(g.out)
	for k := 1 + g.r.IntN(6); k > 0; k-- {
		g.straight(body, false)
	}
	g.emit(isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUSub, isa.SourceK), Dst: ctr, Imm: 1})
	g.emit(isa.Instruction{Opcode: isa.Jump(isa.ClassJMP, isa.JumpNE, isa.SourceK), Dst: ctr, Imm: 0,
		Off: int16(start - len(g.out) - 1)})
}

var jumpOps = []isa.JumpOp{isa.JumpEQ, isa.JumpGT, isa.JumpGE, isa.JumpSET, isa.JumpNE, isa.JumpSGT,
	isa.JumpSGE, isa.JumpLT, isa.JumpLE, isa.JumpSLT, isa.JumpSLE}

// forwardJump emits a conditional (or unconditional) jump over a block of straight code;
// some blocks are long enough that the jump needs its 32-bit form.
func (g *Generator) forwardJump(regs []isa.Register) {
	at := len(g.out)
	cls := isa.ClassJMP
	if g.r.IntN(2) == 0 {
		cls = isa.ClassJMP32
	}
	in := isa.Instruction{Opcode: isa.Jump(cls, jumpOps[g.r.IntN(len(jumpOps))], isa.SourceK), Dst: g.pick(regs), Imm: g.imm32()}
	switch g.r.IntN(5) {
	case 0:
		in.Opcode, in.Src, in.Imm = isa.Jump(cls, in.Opcode.JumpOp(), isa.SourceX), g.pick(regs), 0
	case 1:
		in = isa.Instruction{Opcode: isa.OpJa}
		if g.r.IntN(2) == 0 {
			in.Opcode = isa.OpJa32
		}
	}
	g.emit(in)
	n := 1 + g.r.IntN(6)
	if g.r.IntN(6) == 0 {
		n = 30 + g.r.IntN(40) // well past the rel8 reach
	}
	for k := 0; k < n; k++ {
		g.straight(regs, false)
	}
	off := len(g.out) - at - 1
	if in.Opcode == isa.OpJa32 {
		g.out[at].Imm = int32(off)
	} else {
		g.out[at].Off = int16(off)
	}
}

var aluOps = []isa.ALUOp{isa.ALUAdd, isa.ALUSub, isa.ALUMul, isa.ALUDiv, isa.ALUOr, isa.ALUAnd, isa.ALULsh,
	isa.ALURsh, isa.ALUNeg, isa.ALUMod, isa.ALUXor, isa.ALUMov, isa.ALUArsh, isa.ALUEnd}

var sizes = []isa.Size{isa.SizeB, isa.SizeH, isa.SizeW, isa.SizeDW}

// mem returns a base register and an in-bounds offset aligned to size bytes: r1's memory
// or the initialised part of the stack.
func (g *Generator) mem(size int) (isa.Register, int16) {
	if g.r.IntN(2) == 0 {
		return isa.R1, int16(g.r.IntN(MemSize/size) * size)
	}
	return isa.R10, int16(-64 + g.r.IntN(64/size)*size)
}

// straight emits one non-branching instruction on regs. atomicsOnR0 allows cmpxchg,
// which writes r0.
func (g *Generator) straight(regs []isa.Register, atomicsOnR0 bool) {
	d, s := g.pick(regs), g.pick(regs)
	switch p := g.r.IntN(100); {
	case p < 55:
		cls := isa.ClassALU64
		if g.r.IntN(2) == 0 {
			cls = isa.ClassALU
		}
		op := aluOps[g.r.IntN(len(aluOps))]
		src := isa.SourceK
		if g.r.IntN(2) == 0 {
			src = isa.SourceX
		}
		in := isa.Instruction{Opcode: isa.ALU(cls, op, src), Dst: d}
		if src == isa.SourceX {
			in.Src = s
		} else {
			in.Imm = g.imm32()
		}
		switch op {
		case isa.ALUNeg:
			in.Opcode, in.Src, in.Imm = isa.ALU(cls, op, isa.SourceK), 0, 0
		case isa.ALUDiv, isa.ALUMod:
			in.Off = int16(g.r.IntN(2)) // unsigned or signed
		case isa.ALUMov:
			if src == isa.SourceX && g.r.IntN(2) == 0 {
				w := []int16{8, 16, 32}
				if cls == isa.ClassALU {
					w = w[:2]
				}
				in.Off = w[g.r.IntN(len(w))]
			}
		case isa.ALUEnd:
			in.Imm = []int32{16, 32, 64}[g.r.IntN(3)]
			in.Src = 0
			if cls == isa.ClassALU64 {
				in.Opcode = isa.ALU(cls, op, isa.SourceK) // bswap
			}
		}
		g.emit(in)
	case p < 60:
		ld := isa.LdImm64(d, 0, g.imm64())
		g.emit(ld[0], ld[1])
	case p < 72:
		size := sizes[g.r.IntN(4)]
		base, off := g.mem(size.Bytes())
		mode := isa.ModeMEM
		if size != isa.SizeDW && g.r.IntN(3) == 0 {
			mode = isa.ModeMEMSX
		}
		g.emit(isa.Instruction{Opcode: isa.Mem(isa.ClassLDX, mode, size), Dst: d, Src: base, Off: off})
	case p < 80:
		size := sizes[g.r.IntN(4)]
		base, off := g.mem(size.Bytes())
		g.emit(isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeMEM, size), Dst: base, Src: s, Off: off})
	case p < 86:
		size := sizes[g.r.IntN(4)]
		base, off := g.mem(size.Bytes())
		g.emit(isa.Instruction{Opcode: isa.Mem(isa.ClassST, isa.ModeMEM, size), Dst: base, Off: off, Imm: g.imm32()})
	default:
		size := isa.SizeW
		if g.r.IntN(2) == 0 {
			size = isa.SizeDW
		}
		base, off := g.mem(size.Bytes())
		ops := []isa.AtomicOp{isa.AtomicAdd, isa.AtomicOr, isa.AtomicAnd, isa.AtomicXor,
			isa.AtomicAdd | isa.AtomicFetch, isa.AtomicOr | isa.AtomicFetch, isa.AtomicAnd | isa.AtomicFetch,
			isa.AtomicXor | isa.AtomicFetch, isa.AtomicXchg}
		if atomicsOnR0 {
			ops = append(ops, isa.AtomicCmpXchg)
		}
		g.emit(isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeATOMIC, size), Dst: base, Src: s, Off: off,
			Imm: int32(ops[g.r.IntN(len(ops))])})
	}
}
