package fuzz

import (
	"testing"

	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
)

// FuzzAsmRoundTrip decodes arbitrary bytes as a program; whenever the program is
// structurally valid, its disassembly must assemble back to exactly the same slots.
// Disassemble promises that for every slot sequence, so the fuzzer checks invalid
// programs too. The same bytes read as text must never make Assemble panic.
func FuzzAsmRoundTrip(f *testing.F) {
	seeds := []string{
		"mov %r0, 1\nexit",
		"lddw %r1, 0x1122334455667788\njeq %r1, 0, +1\nja -3\nexit",
		"call local fn\nexit\nfn: lock fetch add32 [%r10-4], %r1\nmovsx1664 %r0, %r1\nexit",
		"lddw %r1, map_idx_value 0, 8\nldxw %r0, [%r1+0]\nexit",
		"ja32 +0\nbe16 %r0\nexit",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
		if insns, err := asm.Assemble(s); err == nil {
			f.Add(isa.EncodeAll(insns))
		}
	}
	// The conformance programs, as bytes and as text, when the suite is present.
	if dir, ok := conformance.Dir(); ok {
		if progs, err := conformance.LoadPrograms(dir); err == nil {
			for _, p := range progs {
				f.Add(p.Program)
			}
		}
		if tests, err := conformance.Load(dir); err == nil {
			for _, tc := range tests {
				f.Add([]byte(tc.Asm))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// Text: any outcome but a panic is fine.
		if insns, err := asm.Assemble(string(data)); err == nil {
			if _, err := asm.Disassemble(insns); err != nil {
				t.Fatalf("Disassemble of assembled text: %v", err)
			}
		}

		// Bytes: round trip through text.
		code := data[:len(data)/isa.InsnSize*isa.InsnSize]
		insns, err := isa.DecodeAll(code)
		if err != nil {
			t.Fatal(err)
		}
		valid := isa.Validate(insns) == nil
		text, err := asm.Disassemble(insns)
		if err != nil {
			t.Fatalf("Disassemble: %v", err)
		}
		back, err := asm.Assemble(text)
		if err != nil {
			t.Fatalf("Assemble(Disassemble(p)) (valid=%v): %v\n%s", valid, err, text)
		}
		if len(back) != len(insns) {
			t.Fatalf("round trip has %d slots, want %d (valid=%v)\n%s", len(back), len(insns), valid, text)
		}
		for i := range back {
			if back[i] != insns[i] {
				t.Fatalf("slot %d: got %+v, want %+v (valid=%v)\n%s", i, back[i], insns[i], valid, text)
			}
		}
	})
}
