package arm64

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/isa"
)

// BenchmarkBufMix emits a mix shaped like lowered BPF code (moves, ALU with
// immediates and registers, loads/stores off the frame pointer, compares and
// branches, a helper call) and reports the cost per emitted instruction.
func BenchmarkBufMix(b *testing.B) {
	buf := NewBuf(1 << 16)
	const perIter = 20
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		for k := 0; k < 100; k++ {
			buf.Emit(Mov(W64, X7, X0))
			buf.Emit(AddSubImm(ADD, W64, X7, X7, 16))
			buf.Emit(AddSubReg(SUB, W32, X1, X1, X2))
			buf.Emit(LogicImm(AND, W64, X3, X3, 0xff))
			buf.Emit(LogicReg(EOR, W64, X4, X4, X19))
			buf.Emit(LdStImm(LDRX, X9, X25, -8))
			buf.Emit(LdStImm(STRW, X9, X1, 4))
			buf.Emit(LdStImm(LDRB, X10, X2, 14))
			buf.Emit(LslImm(W64, X0, X0, 3))
			buf.Emit(DP2(LSRV, W64, X1, X1, X2))
			buf.Emit(Mul(W64, X7, X7, X1))
			buf.Emit(DP2(UDIV, W64, X9, X7, X1))
			buf.Emit(CmpImm(W64, X0, 42))
			buf.Emit(BCond(NE, 64))
			buf.Emit(CmpReg(W32, X0, X1))
			buf.Emit(Cbz(false, W64, X9, -32))
			buf.Emit(Blr(X10))
			buf.Emit(B(1024))
			buf.Emit(Stp(W64, PairPreIndex, FP, LR, SP, -16))
			buf.Emit(Ret(LR))
		}
	}
	if buf.Err() != nil {
		b.Fatal(buf.Err())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100*perIter), "ns/inst")
}

func BenchmarkMovImm64(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	vs := interestingConstants(r, 1024)
	total := 0
	i := 0
	for b.Loop() {
		s, err := MovImm(W64, X7, vs[i&1023])
		if err != nil {
			b.Fatal(err)
		}
		total += s.Len()
		i++
	}
	b.ReportMetric(float64(total)/float64(i), "insts/const")
}

func BenchmarkEncodeBitmask(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 10))
	vs := make([]uint64, 1024)
	for i := range vs {
		if i%2 == 0 {
			vs[i] = randomBitmask(r)
		} else {
			vs[i] = r.Uint64()
		}
	}
	i := 0
	for b.Loop() {
		EncodeBitmask(W64, vs[i&1023])
		i++
	}
}

// BenchmarkCompile lowers 200 generated programs (every instruction form, calls,
// loops) per iteration and reports the compile cost and the code size per BPF
// instruction slot.
func BenchmarkCompile(b *testing.B) {
	g := progen.New(99, progen.Options{Helpers: []int32{1, 2}})
	progs := make([][]isa.Instruction, 200)
	slots := 0
	for i := range progs {
		progs[i] = g.Program()
		slots += len(progs[i])
	}
	for _, mode := range []struct {
		name  string
		be    *Backend
		blind bool
	}{
		{"lse", &Backend{GateEntryDisp: 40, Atomics: AtomicLSE}, false},
		{"exclusive", &Backend{GateEntryDisp: 40, Atomics: AtomicExclusive}, false},
		{"lse-blinded", &Backend{GateEntryDisp: 40, Atomics: AtomicLSE}, true},
	} {
		b.Run(mode.name, func(b *testing.B) {
			bytes := 0
			b.ReportAllocs()
			for b.Loop() {
				bytes = 0
				for _, p := range progs {
					img, err := emit.Compile(p, emit.Options{Blind: mode.blind}, mode.be)
					if err != nil {
						b.Fatal(err)
					}
					bytes += len(img.Code)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*slots), "ns/slot")
			b.ReportMetric(float64(bytes)/float64(slots), "bytes/slot")
		})
	}
}

// straightProgram returns an n-slot program made of the main bodies of generated
// programs (local calls replaced by moves, jumps past the end sent to the final
// exit), the same shape emit/amd64's BenchmarkCompile uses, so the two back ends'
// figures compare.
func straightProgram(n int) []isa.Instruction {
	g := progen.New(1, progen.Options{})
	var out []isa.Instruction
	mov := func(imm int32) isa.Instruction {
		return isa.Instruction{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: imm}
	}
	for len(out) < n {
		for _, in := range g.Program() {
			if in.IsExit() {
				break
			}
			if in.IsLocalCall() {
				in = mov(1)
			}
			out = append(out, in)
		}
	}
	out = out[:n-1]
	if out[n-2].IsLdImm64() { // do not cut an lddw in half
		out[n-2] = mov(2)
	}
	out = append(out, isa.Instruction{Opcode: isa.OpExit})
	last := len(out) - 1
	for i := range out {
		if !out[i].IsJump() || i+1+int(out[i].JumpOffset()) <= last {
			continue
		}
		if out[i].Opcode == isa.OpJa32 {
			out[i].Imm = int32(last - 1 - i)
		} else {
			out[i].Off = int16(last - 1 - i)
		}
	}
	return out
}

// BenchmarkCompileSizes reports compile time and code size per BPF instruction for
// programs of 2 (the fixed cost) to 100,000 slots.
func BenchmarkCompileSizes(b *testing.B) {
	be := &Backend{GateEntryDisp: 40, Atomics: AtomicLSE}
	for _, n := range []int{2, 1000, 10000, 100000} {
		insns := straightProgram(max(n, 3))
		if n == 2 {
			insns = []isa.Instruction{{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: 1}, {Opcode: isa.OpExit}}
		}
		if err := isa.Validate(insns); err != nil {
			b.Fatal(err)
		}
		for _, mode := range []struct {
			name string
			opts emit.Options
		}{
			{"plain", emit.Options{}},
			{"blind", emit.Options{Blind: true}},
		} {
			b.Run(fmt.Sprintf("insns=%d/%s", n, mode.name), func(b *testing.B) {
				size := 0
				b.ReportAllocs()
				for b.Loop() {
					img, err := emit.Compile(insns, mode.opts, be)
					if err != nil {
						b.Fatal(err)
					}
					size = len(img.Code)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/insn")
				b.ReportMetric(float64(size)/float64(n), "bytes/insn")
			})
		}
	}
}
