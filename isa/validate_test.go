package isa

import (
	"errors"
	"testing"
)

// The fast scan (plainRun) may only ever accept slots the general checks accept: it is a
// shortcut, never a second judge. These tests sweep every opcode against field values at
// and around the boundaries the checks care about.

var (
	sweepRegs = []Register{0, 1, 9, 10, 11, 15, 16, 255}
	sweepOffs = []int16{0, 1, -1, 8, 16, 32, 64, 0x7fff, -0x8000}
	sweepImms = []int32{0, 1, -1, 16, 32, 64, 0x40, 0x41, 0xe1, 0xf1, 1 << 20, -1 << 31}
)

func TestPlainRunAcceptsOnlyWhatCheckInsnAccepts(t *testing.T) {
	for op := range 256 {
		if Opcode(op) == OpLdImm64 {
			continue // a pair: see the lddw test
		}
		for _, dst := range sweepRegs {
			for _, src := range sweepRegs {
				for _, off := range sweepOffs {
					for _, imm := range sweepImms {
						in := Instruction{Opcode: Opcode(op), Dst: dst, Src: src, Off: off, Imm: imm}
						// A one-slot program whose jumps may target only slot 0.
						prog := []Instruction{in}
						if plainRun(prog, 0) == 0 {
							continue // stopped: the general code decides
						}
						if err := checkInsn(in); err != nil {
							t.Fatalf("plainRun accepted %+v, checkInsn says %v", in, err.err)
						}
						if in.IsJump() && in.JumpOffset() != -1 {
							t.Fatalf("plainRun accepted %+v whose target is outside the program", in)
						}
					}
				}
			}
		}
	}
}

func TestPlainRunAcceptsLdImm64PairsOnlyWhenValid(t *testing.T) {
	for src := Register(0); src < 16; src++ {
		for _, dst := range sweepRegs {
			for _, off := range sweepOffs[:3] {
				for _, hi := range []Instruction{{}, {Imm: 7}, {Opcode: 1}, {Dst: 1}, {Src: 1}, {Off: 1}} {
					lo := Instruction{Opcode: OpLdImm64, Dst: dst, Src: src, Off: off, Imm: 3}
					prog := []Instruction{lo, hi, {Opcode: OpExit}}
					if plainRun(prog, 0) == 0 {
						continue
					}
					if err := slowValidate(prog); err != nil {
						t.Fatalf("plainRun accepted %+v %+v, Validate without it says %v", lo, hi, err)
					}
				}
			}
		}
	}
	// A truncated pair stops the scan, and Validate names it.
	prog := []Instruction{{Opcode: OpExit}, {Opcode: OpLdImm64}}
	if got := plainRun(prog, 0); got != 1 {
		t.Fatalf("plainRun ran past a truncated lddw: stopped at %d", got)
	}
	if err := Validate(prog); !errors.Is(err, ErrTruncatedLdImm64) {
		t.Fatalf("Validate = %v, want ErrTruncatedLdImm64", err)
	}
}

// slowValidate is Validate without the fast scan.
func slowValidate(insns []Instruction) error {
	fastScan = false
	defer func() { fastScan = true }()
	return Validate(insns)
}

// Validate gives the same verdict, naming the same slot, with and without the fast scan.
func TestValidateVerdictIndependentOfFastScan(t *testing.T) {
	lddw := func(src Register, hiImm int32) []Instruction {
		return []Instruction{{Opcode: OpLdImm64, Dst: 2, Src: src, Imm: 1}, {Imm: hiImm}}
	}
	exit := Instruction{Opcode: OpExit}
	progs := [][]Instruction{
		append(lddw(0, 5), exit),
		append(lddw(PseudoMapFD, 5), exit),
		append(lddw(PseudoMapValue, 5), exit),
		append(append(lddw(PseudoMapIdx, 0), Instruction{Opcode: OpJa, Off: -2}), exit),
		{{Opcode: 0x07, Dst: 1, Off: 1}, exit},
		{{Opcode: 0x07, Dst: 11, Imm: 1}, exit},
		{{Opcode: OpJa, Off: 1}, {Opcode: 0x3c, Dst: 1, Src: 2, Off: 1}, exit},
		{{Opcode: OpJa, Off: 3}, exit, {Opcode: OpCall, Src: PseudoCall, Imm: -3}, exit},
		{{Opcode: OpCall, Src: PseudoCall, Imm: 1}, exit, {Opcode: OpJa, Off: -3}, exit},
	}
	for k, p := range progs {
		fast, slow := Validate(p), slowValidate(p)
		if (fast == nil) != (slow == nil) || (fast != nil && fast.Error() != slow.Error()) {
			t.Errorf("program %d: Validate = %v, without the fast scan %v", k, fast, slow)
		}
	}
}

func TestPlainRunStopsAtJumpsItCannotProve(t *testing.T) {
	lddw := Instruction{Opcode: OpLdImm64, Dst: 1}
	ja := func(off int16) Instruction { return Instruction{Opcode: OpJa, Off: off} }
	for _, tc := range []struct {
		name string
		prog []Instruction
		stop int
	}{
		{"into the second half of an lddw", []Instruction{ja(1), lddw, {}, {Opcode: OpExit}}, 0},
		{"past the end", []Instruction{ja(5), {Opcode: OpExit}}, 0},
		{"before the start", []Instruction{{Opcode: OpExit}, ja(-3)}, 1},
		{"ja32 past the end", []Instruction{{Opcode: OpJa32, Imm: 9}, {Opcode: OpExit}}, 0},
		{"onto an lddw's first half", []Instruction{ja(0), lddw, {}, {Opcode: OpExit}}, 4},
		{"a function address (starts are the caller's)", []Instruction{{Opcode: OpLdImm64, Src: PseudoFunc, Imm: 1}, {}, {Opcode: OpExit}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := plainRun(tc.prog, 0); got != tc.stop {
				t.Errorf("plainRun stopped at %d, want %d", got, tc.stop)
			}
		})
	}
}
