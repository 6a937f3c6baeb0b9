package isa

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"unsafe"
)

// Shape is what one pass over a program's slots finds: where its jumps, local calls and
// function addresses go, which slots need a closer look than their opcode gives, and
// which registers are written as a destination. Scan validates a program and fills a
// Shape at once; a JIT needs both, and one pass reads the slots once. A Shape's arrays
// are reused from one Scan to the next.
type Shape struct {
	// Target[i] is the slot that jump, local call or function-address lddw i refers to,
	// -1 for every other slot.
	Target []int32
	// Jumps lists the jump slots (ja, gotol and the conditional jumps), in order.
	Jumps []int32
	// Calls lists the slots of local calls and function-address lddw, in order.
	Calls []int32
	// Other lists, in order, the slots whose effect the rest of the Shape does not
	// describe: every call, lddw of a pseudo source, atomic operation and
	// legacy packet load, and every slot not in the plain form of its opcode
	// (sign-extending moves, byte swaps, ...; signed division counts as plain).
	Other []int32
	// Dst has bit r set when an ALU, ALU64 or LDX slot or an lddw writes register r.
	Dst uint16
	// Starts are the slots where functions begin, sorted: 0 and every call target.
	Starts []int

	// clean is how many leading elements of Target's array are -1 but for the slots
	// in Jumps and Calls (see resetTarget).
	clean int
}

// Scan validates insns as Validate does, returning the same error for an invalid
// program, and fills s for a valid one. The Shape's arrays are its own: a caller reads
// them and must not write them.
//
// The common slots are judged by a loop without data-dependent branches: every
// per-slot decision (is the form plain, is it a jump, is its target inside the program
// and not the second half of an lddw, does it pair with its neighbour) is arithmetic on
// one table entry, so a random mix of opcodes costs no branch mispredictions. Whatever
// it cannot settle lands in Other and is checked afterwards; whatever it finds wrong
// is named by the general checks (validateSlow), which also fix the reported error.
func (s *Shape) Scan(insns []Instruction) error {
	n := len(insns)
	if n == 0 {
		return ErrEmpty
	}
	if n > MaxInsns {
		return fmt.Errorf("%w: %d instructions, limit %d", ErrTooLarge, n, MaxInsns)
	}
	s.resetTarget(n)
	s.Jumps, s.Other = sized(s.Jumps, n), sized(s.Other, n)
	if s.scan(insns) {
		return s.fail(insns)
	}
	s.Calls, s.Starts = s.Calls[:0], append(s.Starts[:0], 0)
	sorted := true
	for _, i := range s.Other {
		in := &insns[i]
		switch {
		case in.Opcode == 0:
			// A second half (scan has paired every opcode-0 slot with an lddw) with
			// a field other than the immediate set.
			return s.fail(insns)
		case in.Opcode == OpLdImm64:
			// checkInsn's rules for it, and its second half: the next slot, opcode 0
			// and otherwise zero but for the immediate, which must be zero where the
			// source has no use for it.
			if in.Dst > R10 || in.Src > PseudoMapIdxValue || in.Off != 0 || i+1 >= int32(n) ||
				insns[i+1] != (Instruction{Imm: insns[i+1].Imm}) ||
				(insns[i+1].Imm != 0 && ldImm64HiZero>>in.Src&1 != 0) {
				return s.fail(insns)
			}
			if in.Src != PseudoFunc {
				continue
			}
		case !fastValid(in) && !atomicValid(in) && checkInsn(*in) != nil:
			return s.fail(insns)
		case !in.IsLocalCall():
			continue
		}
		// Second halves are the slots of opcode 0 once every pair is checked; a program
		// where they are not is rejected by the checks of its opcode-0 slots.
		t := int64(i) + 1 + int64(in.Imm)
		if t < 0 || t >= int64(n) || insns[t].Opcode == 0 {
			return s.fail(insns)
		}
		s.Target[i] = int32(t)
		s.Calls = append(s.Calls, i)
		s.Starts, sorted = addStart(s.Starts, sorted, int(t), n)
	}
	if !sorted {
		slices.Sort(s.Starts)
		s.Starts = slices.Compact(s.Starts)
	}
	if len(s.Starts) > 1 && !s.jumpsStayInTheirFunctions() {
		return s.fail(insns)
	}
	if fallsThrough(insns, s.Starts) >= 0 {
		return s.fail(insns)
	}
	return nil
}

// resetTarget makes s.Target n long and -1 throughout. The array is kept at -1 but for
// the slots the last scan set (its Jumps and Calls), so that only those are rewritten,
// not every slot.
func (s *Shape) resetTarget(n int) {
	if cap(s.Target) < n {
		s.Target, s.clean = make([]int32, n), 0
	} else {
		t := s.Target[:s.clean]
		for _, j := range s.Jumps {
			t[j] = -1
		}
		for _, j := range s.Calls {
			t[j] = -1
		}
	}
	s.Target = s.Target[:n]
	for i := s.clean; i < n; i++ {
		s.Target[i] = -1
	}
	s.clean = max(s.clean, n)
}

// sized returns a of length n, reusing its array when it is large enough. Its elements
// are not cleared: scan writes every one it keeps.
func sized(a []int32, n int) []int32 {
	if cap(a) < n {
		return make([]int32, n)
	}
	return a[:n]
}

// jumpsStayInTheirFunctions reports whether every jump targets a slot of its own
// function, given s.Starts.
func (s *Shape) jumpsStayInTheirFunctions() bool {
	f, lo, hi := 0, 0, funcEnd(s.Starts, 0, len(s.Target))
	for _, i := range s.Jumps {
		for int(i) >= hi {
			f++
			lo, hi = s.Starts[f], funcEnd(s.Starts, f, len(s.Target))
		}
		if t := int(s.Target[i]); t < lo || t >= hi {
			return false
		}
	}
	return true
}

// fail returns the error the general checks find in insns, which scan or Scan found
// invalid. Every condition that brings Scan here is one the general checks reject; the
// fallback error only keeps a disagreement (a bug) from accepting the program.
func (s *Shape) fail(insns []Instruction) error {
	if err := validateSlow(insns); err != nil {
		return err
	}
	return errScanDisagrees
}

var errScanDisagrees = errors.New("isa: internal error: the slot scan rejects a program the general checks accept")

// A slot as scan reads it: word, its first eight bytes (opcode, dst, src, offset and
// padding), and its immediate.
const (
	wordDst    = 0x0000_0000_0000_ff00
	wordSrc    = 0x0000_0000_00ff_0000
	wordOff    = 0x0000_ffff_0000_0000
	wordPad    = 0xffff_0000_ff00_0000
	wordRegHi  = 0x0000_0000_00f0_f000 // dst or src above 15
	dstInvalid = 0xf800                // bit r: dst r is no register (11–15)
)

// slotWord returns the first eight bytes of a slot as one little-endian word. On a
// little-endian host it is one load, padding included: scan wants the padding zero and
// sends a slot with stray bits there the general way.
func slotWord(in *Instruction) uint64 {
	if littleEndian {
		return *(*uint64)(unsafe.Pointer(in))
	}
	return uint64(in.Opcode) | uint64(in.Dst)<<8 | uint64(in.Src)<<16 | uint64(uint16(in.Off))<<32
}

// scanForm is an opcode's entry in scanForms. zero has the bits of a slot's word that
// the opcode's plain form requires to be zero: padding, the fields it does not use,
// register fields above 15, and the opcode itself for an opcode without a plain form
// (every opcode but 0 is non-zero).
// zeroImm has the bits of the immediate it requires to be zero. noWrite is 0 when the
// slot writes dst and 16 otherwise (it moves dst's bit out of Shape.Dst's 16). jump is 1
// for a jump. lddw is non-zero (32) for an lddw, whose plain form is a constant (source
// 0); second is 32 for opcode 0, which is plain only as the all-zero second half right
// after an lddw: the two differ between neighbours when a pair is broken (32 is where
// scanSlots on amd64 wants that verdict). The layout is scan_amd64.s's.
type scanForm struct {
	zero    uint64
	zeroImm uint32
	noWrite uint8
	lddw    uint8
	jump    uint8
	second  uint8
}

// regsPlus5 added to a slot's word carries into a register field's high nibble exactly
// when the register is above r10 (for fields below 16, which zero checks).
const regsPlus5 = 0x05_0500

var scanForms = func() (t [256]scanForm) {
	for op, k := range fastFields {
		o := Opcode(op)
		f := scanForm{zero: wordPad | wordRegHi, noWrite: 16}
		if k&fPlain == 0 || o == OpCall {
			// Calls are plain, but their effects need a decode.
			f.zero |= 0xff
		}
		if k&fDst == 0 {
			f.zero |= wordDst
		}
		if k&fSrc == 0 {
			f.zero |= wordSrc
		}
		if k&fOff == 0 {
			f.zero |= wordOff
		}
		if k&fImm == 0 {
			f.zeroImm = 0xffff_ffff
		}
		c := o.Class()
		if (c == ClassALU || c == ClassALU64) && (o.ALUOp() == ALUDiv || o.ALUOp() == ALUMod) {
			f.zero &^= 1 << 32 // offset 1: the signed division
		}
		switch {
		case o == OpLdImm64:
			// A constant, the common case: a pseudo source (an address, a map) needs
			// a decode. The pairing is judged at the next slot.
			f = scanForm{zero: wordPad | wordRegHi | wordSrc | wordOff, lddw: 32}
		case c == ClassALU || c == ClassALU64 || c == ClassLDX:
			f.noWrite = 0
		case k&fJump != 0:
			f.jump = 1
		case op == 0:
			// Valid only as an lddw's second half, and then zero but for the
			// immediate; the hi-word rules of pseudo sources are checked with them.
			f = scanForm{zero: ^uint64(0), noWrite: 16, second: 32}
		}
		t[op] = f
	}
	return t
}()

// scan is Scan's pass over every slot. It fills s.Jumps, s.Other and s.Dst, sets the
// jumps' Target, and reports whether the program is certainly invalid: a jump out of
// the program or into the second half of an lddw, or a broken lddw pair. Scan checks the
// rest (every lddw but a plain constant's, and every opcode-0 slot but a well-formed
// second half, is in Other; the lddw checks its second half). The pass over all slots is
// scanSlots; the jumps' targets are checked by a second loop over the jumps alone.
func (s *Shape) scan(insns []Instruction) (bad bool) {
	n := len(insns)
	jumps, other := s.Jumps[:n], s.Other[:n]
	nj, no, dsts, unpaired := scanSlots(&insns[0], n, &jumps[0], &other[0])
	s.Jumps, s.Other, s.Dst = jumps[:nj], other[:no], dsts
	if unpaired {
		return true
	}
	for _, j := range s.Jumps {
		in := &insns[j]
		d := int(in.Off)
		if in.Opcode == OpJa32 {
			d = int(in.Imm)
		}
		// Once Scan has checked the pairs, the second halves are exactly the slots of
		// opcode 0; before, a program this accepts is rejected there.
		t := int(j) + 1 + d
		if uint(t) >= uint(n) || insns[t].Opcode == 0 {
			return true
		}
		s.Target[j] = int32(t)
	}
	return false
}

// scanSlotsGo is scanSlots in Go: it judges the n slots at insns, appends the index of
// every jump to the array at jumps and of every slot that needs a closer look to the
// array at other (both hold n), and returns their counts, the registers written, and
// whether the lddw pairs are broken: an lddw not followed by opcode 0 (at the end of the
// program too), or opcode 0 anywhere but right after an lddw.
//
// A second half with every field but the immediate zero needs no closer look (the
// lddw's hi-word rules need only pseudo sources, which are in other themselves).
//
// The loop has no branch but its own: each slot's verdicts are added and or-ed in with
// table masks, so that a mix of opcodes costs no mispredictions. Both lists are written
// through their arrays' base: each slot stores into both, keeping an entry only by
// advancing that list's length, and a length never passes the slot index.
func scanSlotsGo(insns *Instruction, n int, jumps, other *int32) (nj, no int, dsts uint16, unpaired bool) {
	jp, op := unsafe.Pointer(jumps), unsafe.Pointer(other)
	// d collects the registers written in bits 0..15, the opcodes that write none in
	// 16..31, and a broken lddw pair (prev and second differ) anywhere above.
	var d uint64
	var prev uint8 // the slot before is an lddw (32)
	for i, in := range unsafe.Slice(insns, n) {
		w := slotWord(&in)
		f := &scanForms[uint8(w)]
		o := w&f.zero | (w+regsPlus5)&wordRegHi | uint64(uint32(in.Imm)&f.zeroImm)
		d |= 1 << ((uint8(w>>8)&15 | f.noWrite | (prev ^ f.second)) & 63)
		prev = f.lddw
		*(*int32)(unsafe.Add(op, no*4)) = int32(i)
		no += int(b2u(o != 0))
		*(*int32)(unsafe.Add(jp, nj*4)) = int32(i)
		nj += int(f.jump)
	}
	return nj, no, uint16(d), d>>32|uint64(prev) != 0
}

// b2u is 1 for true and 0 for false; Go compiles it to a flag move, not a branch.
func b2u(b bool) uint32 {
	var u uint32
	if b {
		u = 1
	}
	return u
}

// shapes pools the Shapes Validate scans with.
var shapes = sync.Pool{New: func() any { return new(Shape) }}

// Validate checks a program's structure: every opcode known and its fields well formed,
// ld_imm64 pairs complete, every jump and call target inside the program, inside its own
// function and not on the second half of an ld_imm64, and no function falling through its
// end. It does not check data flow; that is the verifier's job.
//
// It is Shape.Scan with a pooled Shape: one pass over the slots, and no allocation once
// the pool is warm.
func Validate(insns []Instruction) error {
	s := shapes.Get().(*Shape)
	err := s.Scan(insns)
	if cap(s.Target) <= 1<<17 { // a huge program's arrays are not kept
		shapes.Put(s)
	}
	return err
}
