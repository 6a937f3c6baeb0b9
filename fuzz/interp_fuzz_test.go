package fuzz

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
)

// fuzzMaps resolves every map reference to one 64-byte array-map value.
type fuzzMaps struct{ value []byte }

func (m *fuzzMaps) MapHandle(interp.MapRef) (uint64, error) { return 0x1000, nil }
func (m *fuzzMaps) MapValue(interp.MapRef) ([]byte, bool, error) {
	return m.value, false, nil
}

// selfTail makes every bpf_tail_call with an even index restart the same program, so the
// fuzzer reaches the tail-call path and its limit.
type selfTail struct{ p *interp.Program }

func (s *selfTail) TailCall(_ *interp.Memory, _, index uint64) *interp.Program {
	if index%2 == 0 {
		return s.p
	}
	return nil
}

var fuzzHelpers = interp.HelperTable{
	1: func(_ *interp.Memory, a [5]uint64) (uint64, error) { return a[0] ^ a[1], nil },
	// 2 writes through its pointer arguments, exercising Memory checks from a helper.
	2: func(m *interp.Memory, a [5]uint64) (uint64, error) {
		b, err := m.Bytes(a[0], a[1]&63, true)
		if err != nil {
			return 0, err
		}
		clear(b)
		return uint64(len(b)), nil
	},
	5: func(*interp.Memory, [5]uint64) (uint64, error) { return 0, nil },
}

// FuzzDecodeValidateInterpret feeds arbitrary bytes through isa.DecodeAll, isa.Validate
// (inside interp.New) and the interpreter with a small budget. Nothing may panic, and every
// failure of a run must be an *interp.Error naming a slot of the program.
func FuzzDecodeValidateInterpret(f *testing.F) {
	if dir, ok := conformance.Dir(); ok {
		if progs, err := conformance.LoadPrograms(dir); err == nil {
			for _, p := range progs {
				f.Add(p.Program)
			}
		}
	}
	// The project's semantic tests reach atomics, calls and byte swaps the suite barely uses.
	if files, err := filepath.Glob(filepath.Join("..", "testdata", "semantics", "*.data")); err == nil {
		for _, file := range files {
			if tc, err := conformance.ParseFile(file); err == nil {
				if insns, err := asm.Assemble(tc.Asm); err == nil {
					f.Add(isa.EncodeAll(insns))
				}
			}
		}
	}
	// A few seeds that do not depend on the suite: an endless loop, a call chain, a tail call.
	for _, insns := range [][]isa.Instruction{
		{{Opcode: isa.OpJa, Off: -1}},
		{{Opcode: isa.OpCall, Src: isa.PseudoCall, Imm: 1}, {Opcode: isa.OpExit}, {Opcode: isa.OpCall, Src: isa.PseudoCall, Imm: -1}, {Opcode: isa.OpExit}},
		{{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: isa.R3}, {Opcode: isa.OpCall, Imm: interp.HelperTailCall}, {Opcode: isa.OpExit}},
	} {
		f.Add(isa.EncodeAll(insns))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		insns, err := isa.DecodeAll(data[:len(data)/isa.InsnSize*isa.InsnSize])
		if err != nil {
			t.Fatalf("DecodeAll of whole slots: %v", err)
		}
		p, err := interp.New(&isa.Program{Insns: insns}, &interp.Options{Maps: &fuzzMaps{value: make([]byte, 64)}})
		if err != nil {
			return // rejected by isa.Validate or New: fine, as long as nothing panicked
		}
		ctx := make([]byte, 64)
		for i := range ctx {
			ctx[i] = byte(i)
		}
		_, err = p.Run(&interp.Env{Context: ctx, Helpers: fuzzHelpers, TailCalls: &selfTail{p}, Budget: 4096})
		if err == nil {
			return
		}
		var ie *interp.Error
		if !errors.As(err, &ie) {
			t.Fatalf("Run error %v (%T) is not an *interp.Error", err, err)
		}
		if ie.Index < 0 || ie.Index >= len(insns) {
			t.Fatalf("error names slot %d of a %d-slot program: %v", ie.Index, len(insns), err)
		}
	})
}
