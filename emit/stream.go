package emit

import (
	crand "crypto/rand"
	"math/rand/v2"
	"slices"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/regalloc"
)

// Stream is the instruction sequence a backend lowers: the program's slots, possibly
// rewritten (constant blinding inserts instructions that use regalloc.AX). Control-flow
// targets are kept as stream indices in Target rather than in the 16-bit offset fields,
// so a rewrite can never overflow them.
type Stream struct {
	Insns []isa.Instruction
	// Orig is the program slot each stream slot came from.
	Orig []int32
	// Target is the stream index a jump, local call or function-address lddw refers to,
	// -1 for every other slot.
	Target []int32
	// sites lists, in order, the stream slots of local calls and function-address lddw.
	sites []int32
	// written is regalloc.Written of the whole stream, as reset computes it.
	written regalloc.Set
	// tailCall is the first program slot calling bpf_tail_call, -1 when there is none
	// (Compile accepts it only for a TailCallBackend).
	tailCall int32
	// ident is how many leading elements of Orig's array already hold their own index:
	// reset, reusing the array, writes only the rest. Likewise Target's first clean
	// elements are -1 but for the slots in set, where the last reset wrote a target.
	ident int
	clean int
	set   []int32
	// newIdx is blind's scratch: the blinded index of each slot of the stream it rewrites.
	newIdx []int32
}

// NewStream wraps a program's slots unchanged.
func NewStream(insns []isa.Instruction) *Stream {
	s := &Stream{}
	s.reset(insns)
	return s
}

// reset points s at insns, reusing its arrays, and returns the first slot the JIT cannot
// compile (nil when there is none). It is the driver's single scan over the program.
func (s *Stream) reset(insns []isa.Instruction) *Error {
	s.Insns = insns
	if cap(s.Orig) < len(insns) {
		s.Orig, s.ident = make([]int32, len(insns)), 0
	}
	s.Orig = s.Orig[:len(insns)]
	for i := s.ident; i < len(insns); i++ {
		s.Orig[i] = int32(i)
	}
	s.ident = max(s.ident, len(insns))
	// Target's array is kept at -1 except where the last scan wrote a target (s.set), so
	// only those and the control-flow slots are written, not every slot.
	if cap(s.Target) < len(insns) {
		s.Target, s.clean, s.set = make([]int32, len(insns)), 0, s.set[:0]
	}
	clean := s.Target[:s.clean] // the last scan's program may have been longer
	for _, j := range s.set {
		clean[j] = -1
	}
	s.Target, s.set = s.Target[:len(insns)], s.set[:0]
	for i := s.clean; i < len(insns); i++ {
		s.Target[i] = -1
	}
	s.clean = max(s.clean, len(insns))
	s.sites = s.sites[:0]
	s.tailCall = -1
	tgt := s.Target[:len(insns)]
	var bad *Error
	var w regalloc.Set
	for i := 0; ; i++ {
		if i, w = s.scanRun(insns, tgt, i, w); i >= len(insns) {
			break
		}
		in := &insns[i]
		if slotKinds[in.Opcode] == slotJump { // the set is full
			s.set = append(s.set, int32(i))
			tgt[i] = int32(int64(i) + 1 + in.JumpOffset())
			continue
		}
		if in.IsLdImm64() { // a function address, or a last slot
			w |= 1 << (in.Dst & 15)
			if in.Src == isa.PseudoFunc {
				tgt[i] = int32(i + 1 + int(in.Imm))
				s.set = append(s.set, int32(i))
				s.sites = append(s.sites, int32(i))
			}
			i++ // both halves at once
			continue
		}
		// Registers written by the rare slots, as regalloc.Written counts them.
		w |= regalloc.Written(insns[i : i+1])
		c := in.Opcode.Class()
		if !c.IsJump() && c != isa.ClassLD {
			continue
		}
		if t := target(insns, i); t != -1 {
			tgt[i] = t
			s.set = append(s.set, int32(i))
		}
		switch {
		case in.IsLocalCall():
			s.sites = append(s.sites, int32(i))
		case bad != nil:
		case c == isa.ClassLD:
			bad = Errorf(i, ErrUnsupported, "legacy packet access (ld_abs/ld_ind)")
		case in.Opcode == isa.OpCall && in.Src == isa.PseudoKfuncCall:
			bad = Errorf(i, ErrUnsupported, "kfunc call")
		case in.IsHelperCall() && in.Imm == HelperTailCall:
			if s.tailCall < 0 {
				s.tailCall = int32(i)
			}
		}
	}
	s.written = w
	return bad
}

// scanRun is reset's loop over the common slots, from i on: it adds the registers they
// write to w, records jump targets while s.set has room and steps over lddw of anything
// but a function address. It returns at the first other slot (or the end), with w. The
// loop makes no call, so Go keeps its state in registers.
func (s *Stream) scanRun(insns []isa.Instruction, tgt []int32, i int, w regalloc.Set) (int, regalloc.Set) {
	set := s.set
loop:
	for ; i < len(insns); i++ {
		in := &insns[i]
		switch slotKinds[in.Opcode] {
		case slotWritesDst:
			w |= 1 << (in.Dst & 15)
		case slotPlain:
		case slotJump:
			if len(set) == cap(set) {
				break loop
			}
			set = set[:len(set)+1]
			set[len(set)-1] = int32(i)
			tgt[i] = int32(int64(i) + 1 + in.JumpOffset())
		case slotLdImm64 | slotWritesDst:
			if in.Src == isa.PseudoFunc || i+1 >= len(insns) {
				break loop
			}
			w |= 1 << (in.Dst & 15)
			i++ // the second half is part of the first
		default:
			break loop
		}
	}
	s.set = s.set[:len(set)] // the same array: only the length changes
	return i, w
}

// Slot kinds for reset's scan, one table load per slot: whether the slot writes its dst
// register (ALU, ALU64, LDX, lddw), or'ed with what else it is: plain (no control flow,
// no other register effect: those, ST, STX other than atomics, exit), a jump, an lddw,
// or other (calls, atomics, legacy loads, invalid forms), which reset decodes.
const (
	slotWritesDst = 1 << iota
	slotJump
	slotLdImm64
	slotOther

	slotPlain = 0
)

var slotKinds = func() (t [256]uint8) {
	for op := range 256 {
		o := isa.Opcode(op)
		switch o.Class() {
		case isa.ClassALU, isa.ClassALU64, isa.ClassLDX:
			t[op] = slotWritesDst
		case isa.ClassST:
			t[op] = slotPlain
		case isa.ClassJMP, isa.ClassJMP32:
			switch o.JumpOp() {
			case isa.JumpCall:
				t[op] = slotOther
			case isa.JumpExit:
				t[op] = slotOther
				if o.Class() == isa.ClassJMP {
					t[op] = slotPlain
				}
			default:
				t[op] = slotJump
			}
		case isa.ClassLD:
			t[op] = slotOther
			if o == isa.OpLdImm64 {
				t[op] = slotLdImm64 | slotWritesDst
			}
		case isa.ClassSTX:
			t[op] = slotOther
			if o.Mode() != isa.ModeATOMIC {
				t[op] = slotPlain
			}
		default:
			t[op] = slotOther
		}
	}
	return t
}()

// target returns the slot a control-flow slot refers to in the original numbering.
func target(insns []isa.Instruction, i int) int32 {
	in := &insns[i]
	// Fast exit for the common case: neither a jump/call class nor an lddw.
	if c := in.Opcode.Class(); !c.IsJump() && in.Opcode != isa.OpLdImm64 {
		return -1
	}
	switch {
	case in.IsJump():
		return int32(int64(i) + 1 + in.JumpOffset())
	case in.IsLocalCall() || in.IsFuncAddr():
		return int32(i + 1 + int(in.Imm))
	}
	return -1
}

// push appends one slot; tgt is still in the numbering of the stream being rewritten
// (blind remaps it at the end).
func (out *Stream) push(x isa.Instruction, orig, tgt int32) {
	out.Insns = append(out.Insns, x)
	out.Orig = append(out.Orig, orig)
	out.Target = append(out.Target, tgt)
}

// alu returns an ALU instruction (blinding's building block).
func alu(c isa.Class, op isa.ALUOp, src isa.Source, dst, srcReg isa.Register, imm int32) isa.Instruction {
	return isa.Instruction{Opcode: isa.ALU(c, op, src), Dst: dst, Src: srcReg, Imm: imm}
}

// blindable reports whether slot in carries a user immediate that blinding must hide.
func blindable(in isa.Instruction) bool {
	op := in.Opcode
	switch op.Class() {
	case isa.ClassALU, isa.ClassALU64:
		switch op.ALUOp() {
		case isa.ALUNeg, isa.ALUEnd:
			return false // no operand / the immediate is a width, not data
		}
		return op.Source() == isa.SourceK
	case isa.ClassJMP, isa.ClassJMP32:
		switch op.JumpOp() {
		case isa.JumpA, isa.JumpCall, isa.JumpExit:
			return false
		}
		return op.Source() == isa.SourceK
	case isa.ClassST:
		return op.Mode() == isa.ModeMEM
	case isa.ClassLD:
		return in.IsLdImm64() && in.Src == 0
	}
	return false
}

// BlindKeys returns a generator of blinding keys: a ChaCha8 stream seeded from seed, or
// from crypto/rand when seed is nil (a fresh random key sequence per program).
func BlindKeys(seed *[32]byte) func() uint32 {
	var s [32]byte
	if seed != nil {
		s = *seed
	} else {
		crand.Read(s[:]) // never fails on supported platforms (Go 1.24+ panics otherwise)
	}
	r := rand.New(rand.NewChaCha8(s))
	return r.Uint32
}

// Blind returns s rewritten so that no user immediate appears in an instruction: each
// `op imm` becomes `AX = imm^k; AX ^= k; op AX` with a fresh random k, as the kernel does
// (bpf_jit_blind_constants). A 64-bit immediate load becomes two such halves joined by a
// shift and an or. Stores of an immediate become register stores of AX.
func Blind(s *Stream, key func() uint32) *Stream {
	out := &Stream{}
	out.blind(s, key)
	return out
}

// blind makes out the blinded s (Blind), reusing out's arrays.
func (out *Stream) blind(s *Stream, key func() uint32) {
	n := len(s.Insns)
	out.Insns = slices.Grow(out.Insns[:0], n*2)
	out.Orig = slices.Grow(out.Orig[:0], n*2)
	out.Target = slices.Grow(out.Target[:0], n*2)
	out.sites, out.ident, out.tailCall = out.sites[:0], 0, s.tailCall
	out.newIdx = grow(out.newIdx, n+1)
	newIdx := out.newIdx
	const ax = regalloc.AX
	for i := 0; i < n; i++ {
		newIdx[i] = int32(len(out.Insns))
		in := s.Insns[i]
		orig := s.Orig[i]
		emit := func(x isa.Instruction, tgt int32) { out.push(x, orig, tgt) }
		if !blindable(in) {
			if in.IsLocalCall() || in.IsFuncAddr() {
				out.sites = append(out.sites, int32(len(out.Insns)))
			}
			emit(in, s.Target[i])
			if in.IsLdImm64() && i+1 < n {
				i++
				newIdx[i] = int32(len(out.Insns))
				emit(s.Insns[i], -1)
			}
			continue
		}
		k := int32(key())
		op := in.Opcode
		switch op.Class() {
		case isa.ClassALU, isa.ClassALU64:
			c := op.Class()
			emit(alu(c, isa.ALUMov, isa.SourceK, ax, 0, in.Imm^k), -1)
			emit(alu(c, isa.ALUXor, isa.SourceK, ax, 0, k), -1)
			x := in
			x.Opcode = isa.ALU(c, op.ALUOp(), isa.SourceX)
			x.Src, x.Imm = ax, 0
			emit(x, -1)
		case isa.ClassJMP, isa.ClassJMP32:
			// ALU64 mov/xor of sign-extended immediates rebuild the sign-extended imm, which is
			// what a 64-bit compare uses; a 32-bit compare reads only the low half.
			emit(alu(isa.ClassALU64, isa.ALUMov, isa.SourceK, ax, 0, in.Imm^k), -1)
			emit(alu(isa.ClassALU64, isa.ALUXor, isa.SourceK, ax, 0, k), -1)
			x := in
			x.Opcode = isa.Jump(op.Class(), op.JumpOp(), isa.SourceX)
			x.Src, x.Imm = ax, 0
			emit(x, s.Target[i])
		case isa.ClassST:
			emit(alu(isa.ClassALU64, isa.ALUMov, isa.SourceK, ax, 0, in.Imm^k), -1)
			emit(alu(isa.ClassALU64, isa.ALUXor, isa.SourceK, ax, 0, k), -1)
			emit(isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeMEM, op.Size()), Dst: in.Dst, Src: ax, Off: in.Off}, -1)
		case isa.ClassLD: // lddw dst, imm64 (plain constant)
			hi := s.Insns[i+1].Imm
			k2 := int32(key())
			emit(alu(isa.ClassALU64, isa.ALUMov, isa.SourceK, ax, 0, hi^k), -1)
			emit(alu(isa.ClassALU64, isa.ALUXor, isa.SourceK, ax, 0, k), -1)
			emit(alu(isa.ClassALU64, isa.ALULsh, isa.SourceK, ax, 0, 32), -1)
			emit(alu(isa.ClassALU64, isa.ALUMov, isa.SourceX, in.Dst, ax, 0), -1)
			emit(alu(isa.ClassALU, isa.ALUMov, isa.SourceK, ax, 0, in.Imm^k2), -1)
			emit(alu(isa.ClassALU, isa.ALUXor, isa.SourceK, ax, 0, k2), -1)
			emit(alu(isa.ClassALU64, isa.ALUOr, isa.SourceX, in.Dst, ax, 0), -1)
			i++
			newIdx[i] = int32(len(out.Insns)) // the second half produced no slot of its own
		}
	}
	newIdx[n] = int32(len(out.Insns))
	for j, t := range out.Target {
		if t >= 0 {
			out.Target[j] = newIdx[t]
		}
	}
}
