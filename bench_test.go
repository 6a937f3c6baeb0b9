//go:build linux && amd64

package bpfjit_test

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
)

// Figures from a shared machine are provisional; recorded numbers come from a quiet one.

// checksumText is an Internet-style checksum over r2 bytes at r1 (16-bit words, folded).
const checksumText = `
	mov %r0, 0
	mov %r3, 0
loop:
	jge %r3, %r2, fold
	mov %r4, %r1
	add %r4, %r3
	ldxh %r5, [%r4]
	add %r0, %r5
	add %r3, 2
	ja loop
fold:
	mov %r4, %r0
	rsh %r4, 16
	and %r0, 0xffff
	add %r0, %r4
	mov %r4, %r0
	rsh %r4, 16
	and %r0, 0xffff
	add %r0, %r4
	exit`

func checksumGo(b []byte) uint64 {
	var s uint64
	for i := 0; i+1 < len(b); i += 2 {
		s += uint64(binary.LittleEndian.Uint16(b[i:]))
	}
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return s
}

// aluText is a 32-bit ALU-heavy loop (an xorshift/multiply hash); the iteration count is
// the 32-bit word r1 points at.
const aluText = `
	ldxw %r1, [%r1]
	mov32 %r0, 0x12345678
	mov32 %r2, 0
loop:
	mov32 %r3, %r0
	lsh32 %r3, 13
	xor32 %r0, %r3
	mov32 %r3, %r0
	rsh32 %r3, 17
	xor32 %r0, %r3
	mov32 %r3, %r0
	lsh32 %r3, 5
	xor32 %r0, %r3
	mul32 %r0, 0x9e3779b1
	add32 %r0, %r2
	add32 %r2, 1
	jlt %r2, %r1, loop
	exit`

func aluGo(n uint32) uint64 {
	x := uint32(0x12345678)
	for i := uint32(0); i < n; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		x *= 0x9e3779b1
		x += i
	}
	return uint64(x)
}

// aluLanesText is the same xorshift-multiply hash on four independent 32-bit lanes (r0, r4,
// r5, r6), combined at the end, the way multi-word hashes (xxHash, SipHash) are organised.
// The single-lane loop above is one serial dependency chain of about 10 cycles per
// iteration on any compiler, so it measures the CPU's latencies more than the code; with
// four lanes the loop is bound by how many instructions the code issues, which is what a
// JIT controls. The iteration count is the 32-bit word r1 points at.
var aluLanesText = `
	ldxw %r1, [%r1]
	mov32 %r0, 0x12345678
	mov32 %r4, 0x9abcdef0
	mov32 %r5, 0x0badf00d
	mov32 %r6, 0x7f4a7c15
	mov32 %r2, 0
loop:
` + lane("r0") + lane("r4") + lane("r5") + lane("r6") + `	add32 %r2, 1
	jlt %r2, %r1, loop
	xor32 %r0, %r4
	xor32 %r0, %r5
	xor32 %r0, %r6
	exit`

// lane is one xorshift-multiply step of aluLanesText on register r, with r3 as scratch.
func lane(r string) string {
	return strings.NewReplacer("X", r).Replace(`	mov32 %r3, %X
	lsh32 %r3, 13
	xor32 %X, %r3
	mov32 %r3, %X
	rsh32 %r3, 17
	xor32 %X, %r3
	mov32 %r3, %X
	lsh32 %r3, 5
	xor32 %X, %r3
	mul32 %X, 0x9e3779b1
	add32 %X, %r2
`)
}

func aluLanesGo(n uint32) uint64 {
	a, b, c, d := uint32(0x12345678), uint32(0x9abcdef0), uint32(0x0badf00d), uint32(0x7f4a7c15)
	for i := uint32(0); i < n; i++ {
		a, b, c, d = aluStep(a, i), aluStep(b, i), aluStep(c, i), aluStep(d, i)
	}
	return uint64(a ^ b ^ c ^ d)
}

// aluStep is one lane step of aluLanesGo (inlined by the Go compiler).
func aluStep(x, i uint32) uint32 {
	x ^= x << 13
	x ^= x >> 17
	x ^= x << 5
	return x*0x9e3779b1 + i
}

// benchEngines runs the same computation three ways — the JIT, the interpreter and plain Go —
// as sub-benchmarks jit, interp and go, each checking its result against want.
func benchEngines(b *testing.B, text string, mem []byte, want uint64, goFn func() uint64) {
	insns := mustAssemble(b, text)
	b.Run("jit", func(b *testing.B) {
		p, err := bpfjit.LoadInstructions(insns, bpfjit.Unverified())
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		for b.Loop() {
			if got, err := p.Run(mem); err != nil || got != want {
				b.Fatalf("got %#x, %v; want %#x", got, err, want)
			}
		}
	})
	b.Run("interp", func(b *testing.B) {
		p, err := interp.New(&isa.Program{Insns: insns}, nil)
		if err != nil {
			b.Fatal(err)
		}
		env := &interp.Env{Context: mem}
		for b.Loop() {
			if res, err := p.Run(env); err != nil || res.R0 != want {
				b.Fatalf("got %#x, %v; want %#x", res.R0, err, want)
			}
		}
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			if got := goFn(); got != want {
				b.Fatalf("got %#x; want %#x", got, want)
			}
		}
	})
}

func BenchmarkChecksum1500(b *testing.B) {
	buf := make([]byte, 1500)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	benchEngines(b, checksumText, buf, checksumGo(buf), func() uint64 { return checksumGo(buf) })
}

func BenchmarkALULoop32(b *testing.B) {
	const n = 1000
	benchEngines(b, aluText, binary.LittleEndian.AppendUint32(nil, n), aluGo(n), func() uint64 { return aluGo(n) })
}

// BenchmarkALULanes32 is the ALU loop on four independent lanes (see aluLanesText).
func BenchmarkALULanes32(b *testing.B) {
	const n = 1000
	benchEngines(b, aluLanesText, binary.LittleEndian.AppendUint32(nil, n), aluLanesGo(n), func() uint64 { return aluLanesGo(n) })
}

// BenchmarkLoadFixedCost is the end-to-end cost of Load + Close for a 2-instruction program
// (compile, executable memory, retire), unverified and verified.
func BenchmarkLoadFixedCost(b *testing.B) {
	insns := []isa.Instruction{{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: 1}, {Opcode: isa.OpExit}}
	for _, verified := range []bool{false, true} {
		b.Run(fmt.Sprintf("verified=%v", verified), func(b *testing.B) {
			var opts []bpfjit.Option
			if !verified {
				opts = append(opts, bpfjit.Unverified())
			}
			for b.Loop() {
				p, err := bpfjit.LoadInstructions(insns, opts...)
				if err != nil {
					b.Fatal(err)
				}
				p.Close()
			}
		})
	}
}

// BenchmarkProgramRunEmpty is Program.Run of a program that returns its r2 (the length of
// mem) at once: the whole cost a caller pays per run besides the program itself.
func BenchmarkProgramRunEmpty(b *testing.B) {
	insns := []isa.Instruction{{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceX), Src: 2}, {Opcode: isa.OpExit}}
	p, err := bpfjit.Load(&isa.Program{Insns: insns}, bpfjit.Unverified())
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	mem := make([]byte, 64)
	for i := 0; b.Loop(); i++ {
		m := mem[:1+i&63]
		if r, err := p.Run(m); err != nil || r != uint64(len(m)) {
			b.Fatal(r, err)
		}
	}
}
