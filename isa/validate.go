package isa

import (
	"errors"
	"fmt"
	"slices"
)

// Structural errors. Validate wraps them in an *InsnError naming the slot.
var (
	ErrEmpty            = errors.New("program has no instructions")
	ErrUnknownOpcode    = errors.New("unknown opcode")
	ErrBadRegister      = errors.New("invalid register")
	ErrReservedField    = errors.New("reserved field is not zero")
	ErrBadImmediate     = errors.New("invalid immediate")
	ErrTruncatedLdImm64 = errors.New("truncated ld_imm64")
	ErrJumpOutOfRange   = errors.New("jump out of range")
	ErrJumpIntoLdImm64  = errors.New("jump into the middle of ld_imm64")
	ErrFallThrough      = errors.New("last instruction of a function is not exit or unconditional jump")
	ErrTooLarge         = errors.New("program too large")
)

// MaxInsns is the largest program Validate accepts (the kernel's limit for privileged loads).
const MaxInsns = 1 << 20

// InsnError is an error at one instruction slot.
type InsnError struct {
	Index  int    // slot index
	Err    error  // one of the Err* values of this package (or a wrapped cause)
	Detail string // what exactly was wrong, for people
}

func (e *InsnError) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("insn %d: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("insn %d: %v: %s", e.Index, e.Err, e.Detail)
}

func (e *InsnError) Unwrap() error { return e.Err }

func insnErr(i int, err error, format string, args ...any) *InsnError {
	return &InsnError{Index: i, Err: err, Detail: fmt.Sprintf(format, args...)}
}

// validateSlow is Validate by the general checks, slot by slot: the reference that
// names the error of a program Shape.Scan rejects.
func validateSlow(insns []Instruction) error {
	n := len(insns)
	if n == 0 {
		return ErrEmpty
	}
	if n > MaxInsns {
		return fmt.Errorf("%w: %d instructions, limit %d", ErrTooLarge, n, MaxInsns)
	}
	// Pass 1: each slot on its own, collecting function starts on the way (as
	// SubprogramStarts would: out-of-range targets are reported by pass 2). Until a local
	// call or function address shows up the program may be a single function, whose jumps
	// are checked here already, saving pass 2; their first error is reported only once
	// every slot has passed pass 1, as if pass 2 had found it.
	var startBuf [16]int
	starts := append(startBuf[:0], 0)
	sorted := true
	local := false // a local call or function-address lddw was seen
	var jumpErr error
	for i := 0; i < n; i++ {
		in := &insns[i]
		if !fastValid(in) {
			if err := checkInsn(*in); err != nil {
				return &InsnError{Index: i, Err: err.err, Detail: err.detail}
			}
		}
		switch c := in.Opcode.Class(); {
		case in.Opcode == OpLdImm64:
			if i+1 >= n {
				return insnErr(i, ErrTruncatedLdImm64, "second slot missing at end of program")
			}
			hi := &insns[i+1]
			if hi.Opcode != 0 || hi.Dst != 0 || hi.Src != 0 || hi.Off != 0 {
				return insnErr(i+1, ErrTruncatedLdImm64, "second slot must have zero opcode, registers and offset")
			}
			switch in.Src {
			case PseudoMapFD, PseudoBTFID, PseudoFunc, PseudoMapIdx:
				if hi.Imm != 0 {
					return insnErr(i+1, ErrReservedField, "upper immediate must be 0 for pseudo source %d", in.Src)
				}
			}
			if in.Src == PseudoFunc {
				local = true
				starts, sorted = addStart(starts, sorted, i+1+int(in.Imm), n)
			}
			i++
		case c != ClassJMP && c != ClassJMP32:
		case in.Opcode == OpCall && in.Src == PseudoCall:
			local = true
			starts, sorted = addStart(starts, sorted, i+1+int(in.Imm), n)
		case !local && jumpErr == nil && in.IsJump():
			jumpErr = checkJumpTarget(insns, i, in, starts, 0, n)
		}
	}
	if !local {
		if jumpErr != nil {
			return jumpErr
		}
	} else {
		if !sorted {
			slices.Sort(starts)
			starts = slices.Compact(starts)
		}
		if err := checkControlFlow(insns, starts); err != nil {
			return err
		}
	}
	if f := fallsThrough(insns, starts); f >= 0 {
		last := lastSlot(insns, starts, f)
		return insnErr(last, ErrFallThrough, "function starting at %d ends with opcode %#02x", starts[f], uint8(insns[last].Opcode))
	}
	return nil
}

// fallsThrough returns the first of the functions starting at starts (sorted) whose last
// instruction is neither exit nor an unconditional jump, -1 when there is none.
func fallsThrough(insns []Instruction, starts []int) int {
	for f := range starts {
		if in := insns[lastSlot(insns, starts, f)]; !in.IsExit() && !in.IsUnconditionalJump() {
			return f
		}
	}
	return -1
}

// lastSlot returns the slot of function f's last instruction (an lddw's first half).
func lastSlot(insns []Instruction, starts []int, f int) int {
	last := funcEnd(starts, f, len(insns)) - 1
	if secondHalf(insns, int64(last)) {
		last--
	}
	return last
}

// checkControlFlow is pass 2 of Validate for programs with local calls or function
// addresses, given their sorted function starts: every call target inside the program and
// not on the second half of an lddw, every jump target inside its own function.
func checkControlFlow(insns []Instruction, starts []int) error {
	n := len(insns)
	f, lo, hi := 0, 0, funcEnd(starts, 0, n) // the function [lo, hi) containing slot i
	for i := 0; i < n; i++ {
		in := &insns[i]
		if !flowSlot[in.Opcode] {
			continue // neither a jump, a call nor an lddw: the common case
		}
		for i >= hi {
			f++
			lo, hi = starts[f], funcEnd(starts, f, n)
		}
		switch {
		case in.IsLocalCall() || in.IsFuncAddr():
			t := int64(i) + 1 + int64(in.Imm)
			if t < 0 || t >= int64(n) {
				return insnErr(i, ErrJumpOutOfRange, "call target %d outside program of %d instructions", t, n)
			}
			if secondHalf(insns, t) {
				return insnErr(i, ErrJumpIntoLdImm64, "call target %d", t)
			}
		case in.IsJump():
			if err := checkJumpTarget(insns, i, in, starts, lo, hi); err != nil {
				return err
			}
		}
		if in.Opcode == OpLdImm64 {
			i++
		}
	}
	return nil
}

// flowSlot marks the opcodes checkControlFlow looks at: the JMP and JMP32 classes and
// lddw.
var flowSlot = func() (t [256]bool) {
	for op := range t {
		c := Opcode(op).Class()
		t[op] = c == ClassJMP || c == ClassJMP32 || Opcode(op) == OpLdImm64
	}
	return t
}()

// checkJumpTarget checks the target of the jump at slot i of the function [lo, hi).
func checkJumpTarget(insns []Instruction, i int, in *Instruction, starts []int, lo, hi int) error {
	t := int64(i) + 1 + in.JumpOffset()
	if t < 0 || t >= int64(len(insns)) {
		return insnErr(i, ErrJumpOutOfRange, "target %d outside program of %d instructions", t, len(insns))
	}
	if secondHalf(insns, t) {
		return insnErr(i, ErrJumpIntoLdImm64, "target %d", t)
	}
	if t < int64(lo) || t >= int64(hi) {
		g, _ := slices.BinarySearch(starts, int(t)+1) // starts[g-1] <= t < starts[g]
		return insnErr(i, ErrJumpOutOfRange, "target %d is in another function (starting at %d)", t, starts[g-1])
	}
	return nil
}

// secondHalf reports whether slot t is the second half of an lddw. It relies on pass 1
// of Validate having accepted every slot: then each slot holding the lddw opcode is the
// first half of a pair (second halves have opcode 0).
func secondHalf(insns []Instruction, t int64) bool {
	return t > 0 && insns[t-1].Opcode == OpLdImm64
}

// addStart appends the function start t when it lies inside a program of n slots,
// tracking whether starts is still sorted without duplicates.
func addStart(starts []int, sorted bool, t, n int) ([]int, bool) {
	if t < 0 || t >= n {
		return starts, sorted
	}
	last := starts[len(starts)-1]
	if t == last {
		return starts, sorted
	}
	return append(starts, t), sorted && t > last
}

// funcEnd returns the end of function f given the sorted function starts.
func funcEnd(starts []int, f, n int) int {
	if f+1 < len(starts) {
		return starts[f+1]
	}
	return n
}

// Validate validates the program's instructions.
func (p *Program) Validate() error { return Validate(p.Insns) }

type fieldErr struct {
	err    error
	detail string
}

func bad(err error, format string, args ...any) *fieldErr {
	return &fieldErr{err, fmt.Sprintf(format, args...)}
}

func unknown(in Instruction) *fieldErr {
	return bad(ErrUnknownOpcode, "%#02x", uint8(in.Opcode))
}

// fields lists which fields an instruction form uses; unused ones must be zero.
type fields uint8

const (
	fDst fields = 1 << iota
	fSrc
	fOff
	fImm
	fJump  = 1 << 6 // fastFields only: a jump (Shape.Scan records its target)
	fPlain = 1 << 7 // fastFields only: see there
)

func checkFields(in Instruction, use fields) *fieldErr {
	if in.Dst > R10 {
		return bad(ErrBadRegister, "dst r%d", in.Dst)
	}
	if in.Src > R10 {
		return bad(ErrBadRegister, "src r%d", in.Src)
	}
	if use&fDst == 0 && in.Dst != 0 {
		return bad(ErrReservedField, "dst must be 0, is r%d", in.Dst)
	}
	if use&fSrc == 0 && in.Src != 0 {
		return bad(ErrReservedField, "src must be 0, is r%d", in.Src)
	}
	if use&fOff == 0 && in.Off != 0 {
		return bad(ErrReservedField, "offset must be 0, is %d", in.Off)
	}
	if use&fImm == 0 && in.Imm != 0 {
		return bad(ErrReservedField, "immediate must be 0, is %d", in.Imm)
	}
	return nil
}

// operand returns the fields used by the second operand of an ALU/JMP instruction.
func operand(in Instruction) fields {
	if in.Opcode.Source() == SourceX {
		return fSrc
	}
	return fImm
}

// fastFields[op] lists, for opcodes with a plain form, the fields that form uses: an
// instruction of such an opcode whose registers are valid and whose other fields are zero
// is valid (checkInsn would accept it). Zero means no plain form: checkInsn decides. It
// spares the common instructions the general check and is never the only judge: a slot
// the fast path does not accept still goes through checkInsn, which names the error.
// fPlain marks an entry with a plain form (its mask may be empty, as exit's is).
var fastFields = func() (t [256]fields) {
	const plain = fPlain
	for op := range 256 {
		o := Opcode(op)
		operand := fImm
		if o.Source() == SourceX {
			operand = fSrc
		}
		var m fields
		switch o.Class() {
		case ClassALU, ClassALU64:
			switch o.ALUOp() {
			case ALUAdd, ALUSub, ALUMul, ALUDiv, ALUOr, ALUAnd, ALULsh, ALURsh, ALUMod, ALUXor, ALUMov, ALUArsh:
				m = plain | fDst | operand // div/mod/mov with a non-zero offset take the slow path
			case ALUNeg:
				if o.Source() == SourceK {
					m = plain | fDst
				}
			}
		case ClassJMP, ClassJMP32:
			switch o.JumpOp() {
			case JumpA:
				if o == OpJa {
					m = plain | fJump | fOff
				} else if o == OpJa32 {
					m = plain | fJump | fImm
				}
			case JumpEQ, JumpGT, JumpGE, JumpSET, JumpNE, JumpSGT, JumpSGE, JumpLT, JumpLE, JumpSLT, JumpSLE:
				m = plain | fJump | fDst | fOff | operand
			case JumpCall:
				if o == OpCall {
					m = plain | fImm // helper call (src 0); pseudo sources take the slow path
				}
			case JumpExit:
				if o == OpExit {
					m = plain
				}
			}
		case ClassLDX:
			if o.Mode() == ModeMEM || (o.Mode() == ModeMEMSX && o.Size() != SizeDW) {
				m = plain | fDst | fSrc | fOff
			}
		case ClassST:
			if o.Mode() == ModeMEM {
				m = plain | fDst | fOff | fImm
			}
		case ClassSTX:
			if o.Mode() == ModeMEM {
				m = plain | fDst | fSrc | fOff
			}
		}
		t[op] = m
	}
	return t
}()

// ldImm64HiZero has bit s set for the lddw sources s whose second slot's immediate must
// be 0.
const ldImm64HiZero = 1<<PseudoMapFD | 1<<PseudoBTFID | 1<<PseudoFunc | 1<<PseudoMapIdx

// fastValid reports whether in is valid by the plain form of its opcode (see fastFields).
func fastValid(in *Instruction) bool {
	k := fastFields[in.Opcode]
	if k&fPlain == 0 || in.Dst > R10 || in.Src > R10 {
		return false
	}
	var set fields
	if in.Dst != 0 {
		set |= fDst
	}
	if in.Src != 0 {
		set |= fSrc
	}
	if in.Off != 0 {
		set |= fOff
	}
	if in.Imm != 0 {
		set |= fImm
	}
	return set&^(k&(fDst|fSrc|fOff|fImm)) == 0
}

// atomicValid reports whether in is a valid atomic operation: checkInsn's verdict for
// them, without its generality (atomics are a common slot outside the plain forms).
// Both read the operations from atomicOps.
func atomicValid(in *Instruction) bool {
	return (in.Opcode == atomicW || in.Opcode == atomicDW) && uint32(in.Imm) <= 0xff &&
		atomicOps[uint8(in.Imm)] && in.Dst <= R10 && in.Src <= R10
}

var (
	atomicW, atomicDW = Mem(ClassSTX, ModeATOMIC, SizeW), Mem(ClassSTX, ModeATOMIC, SizeDW)
	// atomicOps[op] is true for the atomic operations there are.
	atomicOps = func() (t [256]bool) {
		for _, op := range []AtomicOp{AtomicAdd, AtomicOr, AtomicAnd, AtomicXor, AtomicXchg, AtomicCmpXchg} {
			t[op] = true
			if op != AtomicXchg && op != AtomicCmpXchg { // those two always fetch
				t[op|AtomicFetch] = true
			}
		}
		return t
	}()
)

func checkInsn(in Instruction) *fieldErr {
	op := in.Opcode
	switch op.Class() {
	case ClassALU, ClassALU64:
		return checkALU(in)
	case ClassJMP, ClassJMP32:
		return checkJump(in)
	case ClassLD:
		switch {
		case op == OpLdImm64:
			if in.Src > PseudoMapIdxValue {
				return bad(ErrReservedField, "unknown ld_imm64 pseudo source %d", in.Src)
			}
			if in.Off != 0 {
				return bad(ErrReservedField, "offset must be 0, is %d", in.Off)
			}
			return checkFields(in, fDst|fSrc|fImm)
		case (op.Mode() == ModeABS || op.Mode() == ModeIND) && op.Size() != SizeDW:
			// Legacy packet access: r0 = ntoh(*(skb->data + imm [+ src])).
			if op.Mode() == ModeABS {
				return checkFields(in, fImm)
			}
			return checkFields(in, fSrc|fImm)
		}
		return unknown(in)
	case ClassLDX:
		switch op.Mode() {
		case ModeMEM:
			return checkFields(in, fDst|fSrc|fOff)
		case ModeMEMSX:
			if op.Size() == SizeDW {
				return unknown(in)
			}
			return checkFields(in, fDst|fSrc|fOff)
		}
		return unknown(in)
	case ClassST:
		if op.Mode() != ModeMEM {
			return unknown(in)
		}
		return checkFields(in, fDst|fOff|fImm)
	case ClassSTX:
		switch op.Mode() {
		case ModeMEM:
			return checkFields(in, fDst|fSrc|fOff)
		case ModeATOMIC:
			if op.Size() != SizeW && op.Size() != SizeDW {
				return unknown(in)
			}
			if uint32(in.Imm) <= 0xff && atomicOps[uint8(in.Imm)] {
				return checkFields(in, fDst|fSrc|fOff|fImm)
			}
			return bad(ErrBadImmediate, "unknown atomic operation %#x", in.Imm)
		}
		return unknown(in)
	}
	return unknown(in)
}

func checkALU(in Instruction) *fieldErr {
	op := in.Opcode
	is64 := op.Class() == ClassALU64
	switch op.ALUOp() {
	case ALUAdd, ALUSub, ALUMul, ALUOr, ALUAnd, ALULsh, ALURsh, ALUXor, ALUArsh:
		return checkFields(in, fDst|operand(in))
	case ALUDiv, ALUMod:
		if in.Off != 0 && in.Off != 1 {
			return bad(ErrReservedField, "offset must be 0 (unsigned) or 1 (signed), is %d", in.Off)
		}
		return checkFields(in, fDst|fOff|operand(in))
	case ALUNeg:
		if op.Source() != SourceK {
			return unknown(in)
		}
		return checkFields(in, fDst)
	case ALUMov:
		if op.Source() == SourceX && in.Off != 0 {
			ok := in.Off == 8 || in.Off == 16 || (is64 && in.Off == 32)
			if !ok {
				return bad(ErrReservedField, "movsx offset must be 8, 16%s, is %d", map[bool]string{true: " or 32", false: ""}[is64], in.Off)
			}
			return checkFields(in, fDst|fSrc|fOff)
		}
		return checkFields(in, fDst|operand(in))
	case ALUEnd:
		if is64 && op.Source() != SourceK {
			return unknown(in)
		}
		if in.Imm != 16 && in.Imm != 32 && in.Imm != 64 {
			return bad(ErrBadImmediate, "byte swap width must be 16, 32 or 64, is %d", in.Imm)
		}
		return checkFields(in, fDst|fImm)
	}
	return unknown(in)
}

func checkJump(in Instruction) *fieldErr {
	op := in.Opcode
	is32 := op.Class() == ClassJMP32
	switch op.JumpOp() {
	case JumpA:
		if op.Source() != SourceK {
			return unknown(in)
		}
		if is32 {
			return checkFields(in, fImm)
		}
		return checkFields(in, fOff)
	case JumpEQ, JumpGT, JumpGE, JumpSET, JumpNE, JumpSGT, JumpSGE, JumpLT, JumpLE, JumpSLT, JumpSLE:
		return checkFields(in, fDst|fOff|operand(in))
	case JumpCall:
		if is32 {
			return unknown(in)
		}
		if op.Source() == SourceX {
			return checkFields(in, fDst)
		}
		if in.Src > PseudoKfuncCall {
			return bad(ErrReservedField, "unknown call source %d", in.Src)
		}
		return checkFields(in, fSrc|fImm)
	case JumpExit:
		if is32 || op.Source() != SourceK {
			return unknown(in)
		}
		return checkFields(in, 0)
	}
	return unknown(in)
}
