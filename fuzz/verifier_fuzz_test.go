package fuzz

import (
	"encoding/binary"
	"testing"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/verifier"
)

// verifierSeeds are small valid programs (raw bytecode) to mutate: loops, branches, calls,
// map lookups, stack spills and packet checks.
var verifierSeeds = [][]isa.Instruction{
	{ // r0 = 0; exit
		{Opcode: 0xb7}, {Opcode: isa.OpExit},
	},
	{ // bounded loop
		{Opcode: 0xb7, Dst: 3}, {Opcode: 0x07, Dst: 3, Imm: 1}, {Opcode: 0xa5, Dst: 3, Imm: 10, Off: -2},
		{Opcode: 0xb7}, {Opcode: isa.OpExit},
	},
	{ // length check, then a load from the region
		{Opcode: 0xb7}, {Opcode: 0xa5, Dst: 2, Imm: 8, Off: 1}, {Opcode: 0x79, Dst: 0, Src: 1}, {Opcode: isa.OpExit},
	},
	{ // map lookup with a null check
		{Opcode: 0x62, Dst: 10, Off: -4}, {Opcode: 0xbf, Dst: 2, Src: 10}, {Opcode: 0x07, Dst: 2, Imm: -4},
		{Opcode: isa.OpLdImm64, Dst: 1, Src: isa.PseudoMapIdx}, {}, {Opcode: isa.OpCall, Imm: 1},
		{Opcode: 0x15, Dst: 0, Off: 1}, {Opcode: 0x79, Dst: 0, Src: 0}, {Opcode: isa.OpExit},
	},
	{ // spill, fill, local call
		{Opcode: 0x7b, Dst: 10, Src: 1, Off: -8}, {Opcode: 0x79, Dst: 1, Src: 10, Off: -8},
		{Opcode: isa.OpCall, Src: isa.PseudoCall, Imm: 1}, {Opcode: isa.OpExit},
		{Opcode: 0x71, Dst: 0, Src: 1}, {Opcode: isa.OpExit},
	},
	{ // jmp32 and 32-bit ALU
		{Opcode: 0x61, Dst: 3, Src: 1}, {Opcode: 0xb7}, {Opcode: 0x26, Dst: 3, Imm: 7, Off: 2},
		{Opcode: 0xbc, Dst: 3, Src: 3}, {Opcode: 0x0f, Dst: 1, Src: 3}, {Opcode: 0x71, Dst: 0, Src: 1},
		{Opcode: isa.OpExit},
	},
}

var verifierFuzzMaps = []verifier.MapInfo{
	{Type: verifier.MapTypeHash, KeySize: 4, ValueSize: 8, MaxEntries: 4},
	{Type: verifier.MapTypeProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 4},
}

var verifierFuzzTypes = []*verifier.ProgType{verifier.RawMemoryType, verifier.XDPType, verifier.SocketFilterType, verifier.TracingType}

// checkNoPanic runs the verifier under every program type; any panic fails the fuzzer.
func verifierNoPanic(t *testing.T, code []byte, sel byte) {
	code = code[:len(code)/isa.InsnSize*isa.InsnSize]
	p, err := isa.NewProgram(code)
	if err != nil {
		t.Fatal(err)
	}
	typ := verifierFuzzTypes[int(sel)%len(verifierFuzzTypes)]
	f, err := verifier.Check(p, verifier.Options{Type: typ, Maps: verifierFuzzMaps, MinMem: int(sel), MaxProcessed: 20000, LogLevel: int(sel>>6) % 3})
	if err == nil && (f == nil || len(f.Dead) != len(p.Insns)) {
		t.Fatalf("accepted without complete facts: %+v", f)
	}
	if err != nil {
		if _, ok := err.(*verifier.Error); !ok {
			t.Fatalf("error %T is not *verifier.Error: %v", err, err)
		}
	}
}

// FuzzVerifierBytes feeds arbitrary bytes to the verifier as bytecode.
func FuzzVerifierBytes(f *testing.F) {
	for _, s := range verifierSeeds {
		f.Add(isa.EncodeAll(s), byte(0))
	}
	f.Add([]byte{}, byte(1))
	f.Fuzz(func(t *testing.T, code []byte, sel byte) {
		verifierNoPanic(t, code, sel)
	})
}

// FuzzVerifierMutated mutates valid programs one field at a time, so most inputs pass
// structural validation and reach the abstract interpreter.
func FuzzVerifierMutated(f *testing.F) {
	for i := range verifierSeeds {
		f.Add(uint8(i), uint16(0), uint8(0), uint32(0), byte(0))
	}
	f.Fuzz(func(t *testing.T, seed uint8, at uint16, field uint8, val uint32, sel byte) {
		insns := append([]isa.Instruction(nil), verifierSeeds[int(seed)%len(verifierSeeds)]...)
		code := isa.EncodeAll(insns)
		pos := int(at) % len(code)
		switch field % 4 {
		case 0:
			code[pos] = byte(val)
		case 1:
			slot := pos / 8 * 8
			binary.LittleEndian.PutUint32(code[slot+4:], val)
		case 2:
			slot := pos / 8 * 8
			binary.LittleEndian.PutUint16(code[slot+2:], uint16(val))
		case 3:
			code = append(code[:pos/8*8], code[pos/8*8+8:]...)
		}
		verifierNoPanic(t, code, sel)
	})
}
