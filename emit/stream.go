package emit

import (
	crand "crypto/rand"
	"errors"
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
	// reset, reusing the array, writes only the rest.
	ident int
	// shape is the scan of the program reset was given; Target and sites are its arrays.
	shape isa.Shape
	// newIdx is blind's scratch: the blinded index of each slot of the stream it rewrites.
	newIdx []int32
}

// NewStream wraps a program's slots unchanged. The program must be valid (isa.Validate);
// otherwise the stream is empty.
func NewStream(insns []isa.Instruction) *Stream {
	s := &Stream{}
	if s.reset(insns) != nil {
		return &Stream{}
	}
	return s
}

// reset points s at insns, reusing its arrays, and returns the error of an invalid
// program (isa.Validate's, at its slot) or else of the first slot the JIT cannot compile.
// Its one pass over the program is isa.Shape.Scan, which validates and finds the jump
// targets, the calls and the registers written at once; reset then decodes only the slots
// the scan could not describe.
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
	s.tailCall = -1
	if err := s.shape.Scan(insns); err != nil {
		s.Insns, s.Target, s.sites = nil, nil, nil
		var ie *isa.InsnError
		if errors.As(err, &ie) {
			return &Error{Index: ie.Index, Err: err}
		}
		return &Error{Index: -1, Err: err}
	}
	s.Target, s.sites = s.shape.Target, s.shape.Calls
	w := regalloc.Set(s.shape.Dst)
	var bad *Error
	for _, i := range s.shape.Other {
		in := &insns[i]
		switch in.Opcode.Class() {
		case isa.ClassALU, isa.ClassALU64, isa.ClassLDX:
			continue // what they write is in the shape's Dst
		case isa.ClassLD:
			if in.IsLdImm64() {
				continue // likewise (a second half is never here: Scan rejects those it lists)
			}
		}
		w |= regalloc.WrittenBy(in)
		switch {
		case bad != nil:
		case in.Opcode.Class() == isa.ClassLD && !in.IsLdImm64():
			bad = Errorf(int(i), ErrUnsupported, "legacy packet access (ld_abs/ld_ind)")
		case in.Opcode == isa.OpCall && in.Src == isa.PseudoKfuncCall:
			bad = Errorf(int(i), ErrUnsupported, "kfunc call")
		case in.IsHelperCall() && in.Imm == HelperTailCall:
			if s.tailCall < 0 {
				s.tailCall = i
			}
		}
	}
	s.written = w & (1<<regalloc.NumRegs - 1)
	return bad
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
