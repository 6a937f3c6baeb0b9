// Package regalloc holds the fixed BPF→host register maps of each architecture
// (ARCHITECTURE-NOTES §3) and the analysis of which host callee-saved registers a
// function must save because it writes the BPF registers living in them.
//
// The maps are fixed rather than allocated: BPF has 11 registers and both hosts have more,
// and a fixed map keeps R1–R5 in the host argument registers, so helper calls and
// BPF-to-BPF calls need no shuffling.
package regalloc

import "github.com/bpfjit/bpfjit/isa"

// AX is the JIT-internal auxiliary register that constant blinding routes immediates
// through. It is not a BPF register: it only appears in instruction streams rewritten by
// the JIT, never in programs users load.
const AX = isa.Register(11)

// NumRegs is the number of mapped registers: R0–R10 and AX.
const NumRegs = 12

// Set is a set of BPF registers (bit i = Ri, bit 11 = AX).
type Set uint16

// Has reports whether r is in the set.
func (s Set) Has(r isa.Register) bool { return s&(1<<r) != 0 }

// Add returns the set with r added.
func (s Set) Add(r isa.Register) Set { return s | 1<<r }

// Map is one architecture's register assignment. Host registers are numbered as in the
// architecture's instruction encoding (amd64: rax=0 … r15=15; arm64: x0=0 … x30=30).
type Map struct {
	Arch string
	// Reg maps R0–R10 and AX to host registers.
	Reg [NumRegs]uint8
	// Scratch lists host registers the lowering may use freely inside one instruction's
	// sequence; no BPF value lives in them across instructions.
	Scratch []uint8
	// Context is the host register the bridge keeps its *Context in; never written.
	Context uint8
	// CalleeSaved is the set of BPF registers whose host registers a BPF function must
	// preserve for its caller: R6–R9 (R10 is the frame pointer, saved by every prologue).
	CalleeSaved Set
}

// AMD64 is the kernel's x86-64 map: R1–R5 are the SysV argument registers, R6–R9 and
// R10 are callee-saved, AX is r10, r9/r11 are scratch and r12 belongs to the bridge.
var AMD64 = Map{
	Arch: "amd64",
	//     R0 rax, R1 rdi, R2 rsi, R3 rdx, R4 rcx, R5 r8, R6 rbx, R7 r13, R8 r14, R9 r15, R10 rbp, AX r10
	Reg:         [NumRegs]uint8{0, 7, 6, 2, 1, 8, 3, 13, 14, 15, 5, 10},
	Scratch:     []uint8{11, 9},
	Context:     12,
	CalleeSaved: 1<<isa.R6 | 1<<isa.R7 | 1<<isa.R8 | 1<<isa.R9,
}

// ARM64 is the kernel's AArch64 map: R1–R5 in x0–x4, R0 in x7, R6–R9 in x19–x22, R10 in
// x25, AX in x9, scratch x10–x12; x23 is the bridge's context register; x18 and x28 are
// never used.
var ARM64 = Map{
	Arch:        "arm64",
	Reg:         [NumRegs]uint8{7, 0, 1, 2, 3, 4, 19, 20, 21, 22, 25, 9},
	Scratch:     []uint8{10, 11, 12},
	Context:     23,
	CalleeSaved: 1<<isa.R6 | 1<<isa.R7 | 1<<isa.R8 | 1<<isa.R9,
}

// Register effects of an opcode, for WrittenBy: writing dst (ALU, ALU64 and LDX), the
// lddw pair's dst, R0–R5 (calls and legacy packet loads), or what an atomic operation's
// immediate says.
const (
	effNone = iota
	effDst
	effLdImm64
	effCall
	effAtomic
)

// effects[op] is opcode op's register effect: one table load instead of a decode.
var effects = func() (t [256]uint8) {
	for op := range 256 {
		o := isa.Opcode(op)
		switch c := o.Class(); {
		case c == isa.ClassALU || c == isa.ClassALU64 || c == isa.ClassLDX:
			t[op] = effDst
		case o == isa.OpLdImm64:
			t[op] = effLdImm64
		case c == isa.ClassLD || (c == isa.ClassJMP && o.JumpOp() == isa.JumpCall):
			t[op] = effCall
		case c == isa.ClassSTX && o.Mode() == isa.ModeATOMIC:
			t[op] = effAtomic
		}
	}
	return t
}()

// callerSaved is R0–R5, the registers a call may clobber.
const callerSaved Set = 1<<isa.R0 | 1<<isa.R1 | 1<<isa.R2 | 1<<isa.R3 | 1<<isa.R4 | 1<<isa.R5

// Written returns the registers the instructions in insns may write. Calls count as
// writing R0–R5 (the caller-saved registers a callee may clobber).
func Written(insns []isa.Instruction) Set {
	var s Set
	for i := 0; i < len(insns); i++ {
		s |= WrittenBy(&insns[i])
		if insns[i].IsLdImm64() {
			i++ // its second half writes nothing
		}
	}
	return s & (1<<NumRegs - 1)
}

// WrittenBy is Written for one instruction (an lddw's first half for the pair), before
// Written's mask. It is small enough to inline into a caller's loop.
func WrittenBy(in *isa.Instruction) Set {
	switch effects[in.Opcode] {
	case effDst:
		return 1 << (in.Dst & 15)
	case effLdImm64:
		return Set(0).Add(in.Dst)
	case effCall:
		return callerSaved
	case effAtomic:
		if a := isa.AtomicOp(in.Imm); a == isa.AtomicCmpXchg {
			return 1 << isa.R0
		} else if a&isa.AtomicFetch != 0 {
			return Set(0).Add(in.Src)
		}
	}
	return 0
}

// SavedRegs returns, in push order, the host callee-saved registers a function whose
// instructions are insns must save: those holding R6–R9 that it writes.
func (m *Map) SavedRegs(insns []isa.Instruction) []uint8 { return m.SavedFor(Written(insns)) }

// SavedFor returns, in push order, the host callee-saved registers a function that writes
// the registers w must save (SavedRegs for a Written set computed elsewhere).
func (m *Map) SavedFor(w Set) []uint8 {
	var out []uint8
	for r := isa.R6; r <= isa.R9; r++ {
		if w.Has(r) && m.CalleeSaved.Has(r) {
			out = append(out, m.Reg[r])
		}
	}
	return out
}
