package arm64

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/internal/conformance/assembled"
	"github.com/bpfjit/bpfjit/isa"
)

var (
	_ emit.RangeBackend = (*Backend)(nil)
	_ emit.Backend      = reference{}
)

// rangeCorpus is every conformance program and a spread of generated ones (loops, calls,
// helpers, atomics, every ALU form), each a differently shaped run of slots.
func rangeCorpus(t *testing.T) map[string][]isa.Instruction {
	progs, ok, err := assembled.Programs()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		progs = map[string][]isa.Instruction{}
	}
	g := progen.New(3, progen.Options{Helpers: []int32{1, 2}})
	for i := range 300 {
		progs[fmt.Sprintf("generated %d", i)] = g.Program()
	}
	return progs
}

// The range lowering the driver uses and the per-slot Lower it falls back to are the
// same lowering: identical code, slot offsets, functions and relocations, with and
// without blinding and a budget, for both atomic lowerings.
func TestLowerRangeAndLowerProduceTheSameImage(t *testing.T) {
	seed := [32]byte{7}
	for name, insns := range rangeCorpus(t) {
		for _, b := range backends {
			for _, opts := range []emit.Options{{}, {Blind: true, BlindSeed: &seed}, {Budget: 1000, BudgetHelper: 9}} {
				want, werr := emit.Compile(insns, opts, referenceOf(b.be))
				got, gerr := emit.Compile(insns, opts, b.be)
				if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
					t.Fatalf("%s (%s, %+v): per slot %v, by range %v", name, b.name, opts, werr, gerr)
				}
				if werr != nil {
					continue
				}
				if !bytes.Equal(got.Code, want.Code) || !slices.Equal(got.Slots, want.Slots) ||
					!slices.Equal(got.Funcs, want.Funcs) || !slices.Equal(got.Relocs, want.Relocs) {
					t.Fatalf("%s (%s, %+v): the range lowering differs from the per-slot one", name, b.name, opts)
				}
			}
		}
	}
}

// An invalid slot is refused naming itself whichever way the backend lowers (the
// driver's scan validates every program),
// and a truncated lddw (its second half missing) is refused rather than read past the
// stream.
func TestInvalidSlotsAreRefusedNamingTheSlot(t *testing.T) {
	mov := isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: 1}
	exit := isa.Instruction{Opcode: isa.OpExit}
	tests := []struct {
		name  string
		insns []isa.Instruction
		index int
	}{
		{"bad alu op", []isa.Instruction{mov, {Opcode: isa.ALU(isa.ClassALU64, 0xe0, isa.SourceK)}, exit}, 1},
		{"bad movsx width", []isa.Instruction{mov, mov, {Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceX), Off: 24}, exit}, 2},
		{"bad atomic", []isa.Instruction{mov, {Opcode: isa.Mem(isa.ClassSTX, isa.ModeATOMIC, isa.SizeDW), Dst: 10, Off: -8, Imm: 0x70}, exit}, 1},
		{"truncated lddw", []isa.Instruction{mov, {Opcode: isa.OpLdImm64, Imm: 1}}, 1},
	}
	for _, tc := range tests {
		for _, be := range []emit.Backend{backends[0].be, referenceOf(backends[0].be)} {
			t.Run(fmt.Sprintf("%s/%T", tc.name, be), func(t *testing.T) {
				_, err := emit.Compile(tc.insns, emit.Options{}, be)
				var e *emit.Error
				var ie *isa.InsnError
				if !errors.As(err, &e) || e.Index != tc.index || !errors.As(err, &ie) {
					t.Fatalf("err = %v, want a validation error at slot %d", err, tc.index)
				}
			})
		}
	}
}
