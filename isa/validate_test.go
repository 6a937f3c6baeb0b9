package isa

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// Validate is Shape.Scan, a branch-free pass with its own tables; validateSlow is the
// general slot-by-slot checks. They must agree on every program: the same verdict and,
// for an invalid one, the same error naming the same slot. These tests sweep every
// opcode against field values at and around the boundaries the checks care about, and
// then whole generated programs with random damage.

var (
	sweepRegs = []Register{0, 10, 11, 16, 255}
	sweepOffs = []int16{0, 1, -1, -2, 8, 16, 32, 64, 0x7fff, -0x8000}
	sweepImms = []int32{0, 1, -1, -2, 16, 32, 64, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe0, 0xe1, 0xf0, 0xf1, 0x100, 0x101, 1 << 20, -1 << 31}
)

// agree fails the test unless Validate and validateSlow judge prog alike.
func agree(t *testing.T, prog []Instruction) {
	t.Helper()
	fast, slow := Validate(prog), validateSlow(prog)
	if (fast == nil) != (slow == nil) || (fast != nil && fast.Error() != slow.Error()) {
		t.Fatalf("%+v:\nValidate     = %v\nvalidateSlow = %v", prog, fast, slow)
	}
}

func TestValidateAgreesWithTheGeneralChecksOnEverySlotForm(t *testing.T) {
	exit := Instruction{Opcode: OpExit}
	for op := range 256 {
		for _, dst := range sweepRegs {
			for _, src := range sweepRegs {
				for _, off := range sweepOffs {
					for _, imm := range sweepImms {
						in := Instruction{Opcode: Opcode(op), Dst: dst, Src: src, Off: off, Imm: imm}
						// In front of an exit (jumps of offset 0 and -1 stay inside), and
						// behind one, where it is its function's last slot.
						agree(t, []Instruction{in, exit})
						agree(t, []Instruction{exit, in})
					}
				}
			}
		}
	}
}

func TestValidateAgreesOnLdImm64Pairs(t *testing.T) {
	exit := Instruction{Opcode: OpExit}
	for src := Register(0); src < 16; src++ {
		for _, dst := range sweepRegs {
			for _, off := range sweepOffs[:3] {
				for _, hi := range []Instruction{{}, {Imm: 7}, {Opcode: 1}, {Opcode: OpLdImm64}, {Dst: 1}, {Src: 1}, {Off: 1}} {
					lo := Instruction{Opcode: OpLdImm64, Dst: dst, Src: src, Off: off, Imm: 3}
					agree(t, []Instruction{lo, hi, exit})
					agree(t, []Instruction{exit, lo, hi})         // the pair ends the function
					agree(t, []Instruction{lo, hi, lo, hi, exit}) // back to back
				}
			}
		}
	}
}

func TestValidateNamesStructuralErrors(t *testing.T) {
	lddw := Instruction{Opcode: OpLdImm64, Dst: 1}
	exit := Instruction{Opcode: OpExit}
	ja := func(off int16) Instruction { return Instruction{Opcode: OpJa, Off: off} }
	call := func(imm int32) Instruction { return Instruction{Opcode: OpCall, Src: PseudoCall, Imm: imm} }
	fn := func(imm int32) Instruction { return Instruction{Opcode: OpLdImm64, Dst: 2, Src: PseudoFunc, Imm: imm} }
	for _, tc := range []struct {
		name string
		prog []Instruction
		err  error // nil: valid
		slot int
	}{
		{"a jump into the second half of an lddw", []Instruction{ja(1), lddw, {}, exit}, ErrJumpIntoLdImm64, 0},
		{"a jump past the end", []Instruction{ja(5), exit}, ErrJumpOutOfRange, 0},
		{"a jump before the start", []Instruction{exit, ja(-3)}, ErrJumpOutOfRange, 1},
		{"gotol past the end", []Instruction{{Opcode: OpJa32, Imm: 9}, exit}, ErrJumpOutOfRange, 0},
		{"gotol to the exit", []Instruction{{Opcode: OpJa32, Imm: 0}, exit}, nil, 0},
		{"a jump onto an lddw's first half", []Instruction{ja(0), lddw, {}, exit}, nil, 0},
		{"an lddw as the last slot", []Instruction{exit, lddw}, ErrTruncatedLdImm64, 1},
		{"a second half on its own", []Instruction{{}, exit}, ErrUnknownOpcode, 0},
		{"an lddw followed by an instruction", []Instruction{lddw, exit, exit}, ErrTruncatedLdImm64, 1},
		{"a map fd with an upper immediate", []Instruction{{Opcode: OpLdImm64, Src: PseudoMapFD}, {Imm: 1}, exit}, ErrReservedField, 1},
		{"a map value with an offset", []Instruction{{Opcode: OpLdImm64, Src: PseudoMapValue}, {Imm: 1}, exit}, nil, 0},
		{"a function address", []Instruction{fn(2), {}, exit, exit}, nil, 0},
		{"a function address into a second half", []Instruction{fn(0), {}, exit}, ErrJumpIntoLdImm64, 0},
		{"a local call past the end", []Instruction{call(5), exit}, ErrJumpOutOfRange, 0},
		{"a jump into the previous function", []Instruction{call(1), exit, ja(-3), exit}, ErrJumpOutOfRange, 2},
		{"a jump into the next function", []Instruction{ja(2), call(1), exit, exit}, ErrJumpOutOfRange, 0},
		{"a jump within its function", []Instruction{call(1), exit, ja(0), exit}, nil, 0},
		{"a function that falls through", []Instruction{call(2), exit, {Opcode: 0xb7, Dst: 1}, exit}, ErrFallThrough, 2},
		{"calls into two functions", []Instruction{call(3), call(3), exit, exit, exit, exit}, nil, 0},
		{"a register above r10", []Instruction{{Opcode: 0xb7, Dst: 11}, exit}, ErrBadRegister, 0},
		{"signed division", []Instruction{{Opcode: 0x37, Dst: 1, Off: 1, Imm: 3}, exit}, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			agree(t, tc.prog)
			err := Validate(tc.prog)
			if tc.err == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			var ie *InsnError
			if !errors.Is(err, tc.err) || !errors.As(err, &ie) || ie.Index != tc.slot {
				t.Fatalf("Validate = %v, want %v at slot %d", err, tc.err, tc.slot)
			}
		})
	}
}

// damage returns prog with a few random slots altered: fields overwritten with values the
// checks care about, opcodes replaced, slots swapped.
func damage(r *rand.Rand, prog []Instruction) []Instruction {
	p := slices.Clone(prog)
	for range 1 + r.IntN(3) {
		i := r.IntN(len(p))
		switch r.IntN(6) {
		case 0:
			p[i].Opcode = Opcode(r.IntN(256))
		case 1:
			p[i].Dst = sweepRegs[r.IntN(len(sweepRegs))]
		case 2:
			p[i].Src = sweepRegs[r.IntN(len(sweepRegs))]
		case 3:
			p[i].Off = sweepOffs[r.IntN(len(sweepOffs))]
		case 4:
			p[i].Imm = sweepImms[r.IntN(len(sweepImms))]
		case 5:
			j := r.IntN(len(p))
			p[i], p[j] = p[j], p[i]
		}
	}
	return p
}

// generated returns a valid program of a few functions: straight-line ALU and memory
// slots, lddw of each kind, forward and backward jumps within each function, local
// calls and function addresses between them.
func generated(r *rand.Rand) []Instruction {
	nf := 1 + r.IntN(3)
	var p []Instruction
	var callSites []int // slots whose Imm must become the offset to a function start
	var starts []int
	for range nf {
		starts = append(starts, len(p))
		lo := len(p)
		for range 3 + r.IntN(20) {
			switch r.IntN(8) {
			case 0:
				p = append(p, Instruction{Opcode: OpLdImm64, Dst: Register(r.IntN(11)), Src: Register([]uint8{0, 1, 2, 5, 6}[r.IntN(5)])}, Instruction{})
			case 1:
				p = append(p, Instruction{Opcode: OpLdImm64, Dst: Register(r.IntN(11)), Src: PseudoFunc}, Instruction{})
				callSites = append(callSites, len(p)-2)
			case 2:
				p = append(p, Instruction{Opcode: OpCall, Src: PseudoCall})
				callSites = append(callSites, len(p)-1)
			case 3:
				p = append(p, Instruction{Opcode: Jump(ClassJMP, JumpGT, SourceX), Dst: Register(r.IntN(11)), Src: Register(r.IntN(11))})
			case 4:
				p = append(p, Instruction{Opcode: OpCall, Imm: int32(r.IntN(200))})
			case 5:
				p = append(p, Instruction{Opcode: Mem(ClassSTX, ModeATOMIC, SizeDW), Dst: 10, Src: Register(r.IntN(11)), Off: -8, Imm: int32(AtomicAdd | AtomicFetch)})
			case 6: // division, signed or not
				p = append(p, Instruction{Opcode: ALU([]Class{ClassALU, ClassALU64}[r.IntN(2)], []ALUOp{ALUDiv, ALUMod}[r.IntN(2)], SourceX),
					Dst: Register(r.IntN(11)), Src: Register(r.IntN(11)), Off: int16(r.IntN(2))})
			default:
				p = append(p, Instruction{Opcode: ALU(ClassALU64, ALUAdd, SourceK), Dst: Register(r.IntN(11)), Imm: int32(r.IntN(100))})
			}
		}
		p = append(p, Instruction{Opcode: OpExit})
		// Point each jump of this function at one of its non-second-half slots.
		for i := lo; i < len(p); i++ {
			if p[i].IsJump() {
				for {
					t := lo + r.IntN(len(p)-lo)
					if t == lo || p[t-1].Opcode != OpLdImm64 {
						p[i].Off = int16(t - i - 1)
						break
					}
				}
			}
		}
	}
	for _, i := range callSites {
		p[i].Imm = int32(starts[r.IntN(len(starts))] - i - 1)
	}
	return p
}

// naiveShape is the Shape of a valid program by the definitions, slot by slot.
func naiveShape(p []Instruction) (tgt []int32, jumps, calls, other []int32, dst uint16) {
	for i := 0; i < len(p); i++ {
		in := p[i]
		tgt = append(tgt, -1)
		switch c := in.Opcode.Class(); {
		case in.IsJump():
			tgt[i] = int32(int64(i) + 1 + in.JumpOffset())
			jumps = append(jumps, int32(i))
		case in.IsLocalCall() || in.IsFuncAddr():
			tgt[i] = int32(i + 1 + int(in.Imm))
			calls = append(calls, int32(i))
		case c == ClassALU || c == ClassALU64 || c == ClassLDX || in.IsLdImm64():
			dst |= 1 << in.Dst
		}
		if in.IsLdImm64() { // a constant is plain, a pseudo source Other; a second half never
			dst |= 1 << in.Dst
			if in.Src != 0 {
				other = append(other, int32(i))
			}
			i++
			tgt = append(tgt, -1)
			continue
		}
		plain := in
		if c := in.Opcode.Class(); (c == ClassALU || c == ClassALU64) && (in.Opcode.ALUOp() == ALUDiv || in.Opcode.ALUOp() == ALUMod) && in.Off == 1 {
			plain.Off = 0 // signed division is as plain as the unsigned one
		}
		if in.Opcode == OpCall || !fastValid(&plain) {
			other = append(other, int32(i))
		}
	}
	return
}

func TestValidateAgreesOnDamagedGeneratedPrograms(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var s Shape
	valid := 0
	for k := range 20000 {
		p := generated(r)
		if err := s.Scan(p); err != nil {
			t.Fatalf("program %d: generated program rejected: %v", k, err)
		}
		tgt, jumps, calls, other, dst := naiveShape(p)
		if !slices.Equal(s.Target, tgt) || !slices.Equal(s.Jumps, jumps) || !slices.Equal(s.Calls, calls) ||
			!slices.Equal(s.Other, other) || s.Dst != dst {
			t.Fatalf("program %d: shape %+v\nwant targets %v jumps %v calls %v other %v dst %#x", k, s, tgt, jumps, calls, other, dst)
		}
		d := damage(r, p)
		agree(t, d)
		if Validate(d) == nil {
			valid++
		}
	}
	if valid == 0 {
		t.Fatal("no damaged program stayed valid: the comparison never covered a valid Shape after damage")
	}
}

// FuzzValidateAgreesWithTheGeneralChecks decodes arbitrary bytes as slots and compares
// the two validators.
func FuzzValidateAgreesWithTheGeneralChecks(f *testing.F) {
	f.Add([]byte{0x18, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x05, 0, 0xff, 0xff, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var p []Instruction
		for len(b) >= 8 {
			p = append(p, Instruction{Opcode: Opcode(b[0]), Dst: Register(b[1] & 15), Src: Register(b[1] >> 4),
				Off: int16(uint16(b[2]) | uint16(b[3])<<8), Imm: int32(uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24)})
			b = b[8:]
		}
		agree(t, p)
	})
}

// The atomic operations are exactly RFC 9669's: add, or, and, xor, each with or without
// fetch, xchg and cmpxchg, on 32 and 64 bits. Written out here, apart from the table
// both checks read.
func TestValidateAcceptsExactlyTheAtomicOperations(t *testing.T) {
	want := map[int32]bool{0x00: true, 0x01: true, 0x40: true, 0x41: true, 0x50: true, 0x51: true,
		0xa0: true, 0xa1: true, 0xe1: true, 0xf1: true}
	exit := Instruction{Opcode: OpExit}
	for _, size := range []Size{SizeB, SizeH, SizeW, SizeDW} {
		for imm := int32(-1); imm <= 0x200; imm++ {
			in := Instruction{Opcode: Mem(ClassSTX, ModeATOMIC, size), Dst: R10, Src: R1, Off: -8, Imm: imm}
			err := Validate([]Instruction{in, exit})
			if ok := want[imm] && (size == SizeW || size == SizeDW); (err == nil) != ok {
				t.Errorf("size %v, operation %#x: Validate = %v, want valid %v", size, imm, err, ok)
			}
		}
	}
}
