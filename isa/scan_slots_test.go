package isa

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestScanSlotsMatchesTheGoLoop compares scanSlots (assembly on amd64) with scanSlotsGo
// on programs of random slots: random bytes, and valid opcodes with random fields, lddw
// pairs, stray and broken second halves among them. Every output must agree: the counts,
// the lists (as far as their counts go), the registers written and the pairing verdict.
func TestScanSlotsMatchesTheGoLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var ops []Opcode
	for op := range 256 {
		if fastFields[op] != 0 || op == int(OpLdImm64) {
			ops = append(ops, Opcode(op))
		}
	}
	field := func() uint8 { // mostly registers, sometimes anything
		if r.IntN(8) == 0 {
			return uint8(r.Uint32())
		}
		return uint8(r.IntN(12))
	}
	for k := range 5000 {
		n := 1 + r.IntN(64)
		p := make([]Instruction, n)
		for i := range p {
			switch c := r.IntN(10); {
			case c == 0: // any bytes
				p[i] = Instruction{Opcode: Opcode(r.Uint32()), Dst: Register(r.Uint32()), Src: Register(r.Uint32()), Off: int16(r.Uint32()), Imm: int32(r.Uint32())}
			case c <= 2 && i+1 < n: // an lddw pair, sometimes damaged
				p[i] = Instruction{Opcode: OpLdImm64, Dst: Register(field()), Imm: int32(r.Uint32())}
				if r.IntN(4) == 0 {
					p[i].Src = Register(r.IntN(7))
				}
				p[i+1] = Instruction{Imm: int32(r.Uint32())}
				if r.IntN(6) == 0 {
					p[i+1].Dst = Register(field())
				}
			case c == 3: // a second half on its own, or a stray lddw
				p[i] = Instruction{Opcode: []Opcode{0, OpLdImm64}[r.IntN(2)], Imm: int32(r.Uint32())}
			default:
				p[i] = Instruction{Opcode: ops[r.IntN(len(ops))], Dst: Register(field()), Src: Register(field()), Imm: int32(r.IntN(70) - 3)}
				if r.IntN(4) == 0 {
					p[i].Off = int16(r.IntN(40) - 4)
				}
			}
		}
		j1, o1 := make([]int32, n), make([]int32, n)
		j2, o2 := make([]int32, n), make([]int32, n)
		nj1, no1, d1, u1 := scanSlots(&p[0], n, &j1[0], &o1[0])
		nj2, no2, d2, u2 := scanSlotsGo(&p[0], n, &j2[0], &o2[0])
		if nj1 != nj2 || no1 != no2 || d1 != d2 || u1 != u2 ||
			!slices.Equal(j1[:nj1], j2[:nj2]) || !slices.Equal(o1[:no1], o2[:no2]) {
			t.Fatalf("program %d %v:\nscanSlots   %d %d %#x %v jumps %v other %v\nscanSlotsGo %d %d %#x %v jumps %v other %v",
				k, p, nj1, no1, d1, u1, j1[:nj1], o1[:no1], nj2, no2, d2, u2, j2[:nj2], o2[:no2])
		}
	}
}
