//go:build linux

package verifier

import (
	"math/rand"
	"os"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/cilium/ebpf"
)

// genXDP builds a random XDP program: a bounds check of a random length, then packet loads
// and stores at random offsets, variable offsets (sometimes re-checked), ALU, forward
// branches and stack traffic.
func genXDP(rng *rand.Rand, n int) []isa.Instruction {
	regs := []r{r3, r4, r5, r7, r8, r9}
	reg := func() r { return regs[rng.Intn(len(regs))] }
	sizes := []int{1, 2, 4, 8}
	out := prog(mov(r9, 0), ldx(4, r2, r1, 0), ldx(4, r6, r1, 4), mov(r0, 2))
	if rng.Intn(3) == 0 {
		// Metadata: r9 = data_meta, checked against data, then read at a random offset.
		k := int32(rng.Intn(12))
		out = append(out, ldx(4, r9, r1, 8), movr(r3, r9), add(r3, k), jmpr(isa.JumpGT, r3, r2, 1),
			ldx(sizes[rng.Intn(4)], r4, r9, int16(rng.Intn(12)-2)))
	}
	for _, x := range regs {
		if x != r9 {
			out = append(out, mov(x, int32(rng.Intn(16))))
		}
	}
	out = append(out, movr(r3, r2), add(r3, int32(rng.Intn(40))), jmpr(isa.JumpGT, r3, r6, 0))
	chk := len(out) - 1
	for len(out) < n {
		left := n - len(out)
		switch rng.Intn(9) {
		case 0, 1:
			out = append(out, ldx(sizes[rng.Intn(4)], reg(), r2, int16(rng.Intn(40)-2)))
		case 2:
			ops := []isa.ALUOp{isa.ALUAdd, isa.ALUSub, isa.ALUMul, isa.ALUOr, isa.ALUAnd, isa.ALULsh, isa.ALURsh, isa.ALUXor, isa.ALUArsh}
			c := isa.ClassALU64
			if rng.Intn(3) == 0 {
				c = isa.ClassALU
			}
			out = append(out, aluImm(c, ops[rng.Intn(len(ops))], reg(), int32(rng.Intn(70)-3)))
		case 3:
			if left < 3 {
				continue
			}
			ops := []isa.JumpOp{isa.JumpEQ, isa.JumpNE, isa.JumpGT, isa.JumpGE, isa.JumpLT, isa.JumpLE, isa.JumpSGT, isa.JumpSLT, isa.JumpSET}
			cls := isa.ClassJMP
			if rng.Intn(3) == 0 {
				cls = isa.ClassJMP32
			}
			out = append(out, isa.Instruction{Opcode: isa.Jump(cls, ops[rng.Intn(len(ops))], isa.SourceK), Dst: reg(), Imm: int32(rng.Intn(40) - 4), Off: int16(1 + rng.Intn(min(left-2, 5)))})
		case 4:
			k, p, q := reg(), reg(), reg()
			out = append(out, and(k, int32(rng.Intn(64))), movr(p, r2), addr(p, k))
			if rng.Intn(2) == 0 && left > 6 {
				out = append(out, movr(q, p), add(q, int32(rng.Intn(10))), jmpr(isa.JumpGT, q, r6, 1), ldx(sizes[rng.Intn(4)], reg(), p, int16(rng.Intn(10))))
			} else {
				out = append(out, ldx(sizes[rng.Intn(4)], reg(), p, int16(rng.Intn(10))))
			}
		case 5:
			out = append(out, stx(8, fp, int16(-8*(1+rng.Intn(4))), reg()))
		case 6:
			out = append(out, ldx(8, reg(), fp, int16(-8*(1+rng.Intn(4)))))
		case 7:
			out = append(out, stx(sizes[rng.Intn(4)], r2, int16(rng.Intn(40)), reg()))
		case 8:
			out = append(out, movr(reg(), reg()))
		}
	}
	out = append(out, mov(r0, 2), exit())
	out[chk].Off = int16(len(out) - 2 - chk - 1)
	return out
}

// randomDifferences are the kinds of disagreement DIFFERENCES.md explains, by a phrase of
// our error (we reject, the kernel accepts) or of the kernel's (the other way round).
var randomDifferences = []struct{ ours, kernel, why string }{
	{ours: "never written", why: "uninitialized stack reads (privileged kernel allows them)"},
	{ours: "partly overwritten pointer", why: "address bits left in the stack"},
	{ours: "leaks a pointer", why: "pointers stored where the host reads numbers"},
	{ours: "32-bit arithmetic on a pointer", why: "truncated pointers are leaked addresses"},
	{ours: "atomic operand", why: "a pointer as an atomic operand writes address bits into memory"},
	{kernel: "invalid shift", why: "shift immediates at or past the width: RFC 9669 masks them, the kernel rejects them"},
}

// TestKernelDifferentialRandomXDP compares verdicts on random XDP programs. We must never
// accept what the kernel rejects except for a listed reason, and every program we reject
// while the kernel accepts must fall under a listed reason.
func TestKernelDifferentialRandomXDP(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for bpf()")
	}
	n := 3000
	if testing.Short() {
		n = 300
	}
	rng := rand.New(rand.NewSource(1))
	agree := 0
	byReason := map[string]int{}
	for iter := 0; iter < n; iter++ {
		insns := genXDP(rng, 20+rng.Intn(20))
		kacc, klog, ok := kernelLoad(t, insns, nil, ebpf.XDP)
		if !ok {
			t.Skip("bpf() not permitted here")
		}
		_, err := Check(&isa.Program{Insns: insns}, Options{Type: XDPType})
		if kacc == (err == nil) {
			agree++
			continue
		}
		explained := false
		for _, d := range randomDifferences {
			if d.ours != "" && err != nil && strings.Contains(err.Error(), d.ours) ||
				d.kernel != "" && err == nil && strings.Contains(klog, d.kernel) {
				byReason[d.why]++
				explained = true
				break
			}
		}
		if !explained {
			t.Errorf("unexplained difference: ours %v, kernel accepted=%v:\n%s\n%s", err, kacc, lastLine(klog), disasmAll(insns))
		}
	}
	t.Logf("random XDP programs: %d of %d verdicts agree", agree, n)
	for why, c := range byReason {
		t.Logf("difference (%d programs): %s", c, why)
	}
}

func lastLine(log string) string {
	last := ""
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		if l != "" && !strings.HasPrefix(l, "processed ") {
			last = l
		}
	}
	return last
}

// genMapsCalls builds random programs around a map lookup: null checks (or none), value
// loads, stores and atomics at random offsets, masked variable offsets, spills and fills of
// the value pointer, and a static subprogram that reads through a pointer argument.
func genMapsCalls(rng *rand.Rand, n int) []isa.Instruction {
	regs := []r{r3, r4, r5, r8, r9}
	reg := func() r { return regs[rng.Intn(len(regs))] }
	sizes := []int{1, 2, 4, 8}
	var items []item
	put := func(in ...isa.Instruction) { items = append(items, item{insns: in, jumpTo: -1}) }
	for _, x := range append(regs, r6, r7) {
		put(mov(x, int32(rng.Intn(16))))
	}
	put(st(8, fp, -16, 0), st(8, fp, -24, 0))
	for len(items) < n {
		switch rng.Intn(9) {
		case 0, 1:
			dst := []r{r6, r7}[rng.Intn(2)]
			items = append(items, item{insns: prog(st(4, fp, -4, int32(rng.Intn(4))), movr(r2, fp), add(r2, -4), ldmap(r1, 0), call(HelperMapLookupElem), movr(dst, r0), mov(r0, 0)), jumpTo: -1})
			if rng.Intn(4) != 0 {
				items = append(items, item{insns: []isa.Instruction{jmp(isa.JumpEQ, dst, 0, 0)}, jumpTo: len(items) + 1 + rng.Intn(4)})
			}
		case 2:
			put(ldx(sizes[rng.Intn(4)], reg(), []r{r6, r7}[rng.Intn(2)], int16(rng.Intn(20)-2)))
		case 3:
			put(stx(sizes[rng.Intn(4)], []r{r6, r7}[rng.Intn(2)], int16(rng.Intn(20)-2), reg()))
		case 4:
			k, p := reg(), reg()
			put(and(k, int32(rng.Intn(16))), movr(p, []r{r6, r7}[rng.Intn(2)]), addr(p, k), ldx(sizes[rng.Intn(4)], reg(), p, 0))
		case 5:
			items = append(items, item{insns: []isa.Instruction{jmp([]isa.JumpOp{isa.JumpEQ, isa.JumpGT, isa.JumpSLT, isa.JumpSET}[rng.Intn(4)], reg(), int32(rng.Intn(8)), 0)}, jumpTo: len(items) + 1 + rng.Intn(4)})
		case 6:
			put(atomic([]int{4, 8}[rng.Intn(2)], []isa.AtomicOp{isa.AtomicAdd, isa.AtomicAdd | isa.AtomicFetch, isa.AtomicXchg}[rng.Intn(3)], []r{fp, r6, r7}[rng.Intn(3)], int16(-8*rng.Intn(3)), reg()))
		case 7:
			items = append(items, item{insns: []isa.Instruction{movr(r1, []r{r6, r7, fp}[rng.Intn(3)]), callLocal(0)}, jumpTo: -1, call: true})
		case 8:
			if rng.Intn(2) == 0 {
				put(stx(8, fp, -16, []r{r6, r7}[rng.Intn(2)]))
			} else {
				put(ldx(8, []r{r6, r7}[rng.Intn(2)], fp, -16))
			}
		}
	}
	put(mov(r0, 2), exit())
	last := len(items) - 1
	start := make([]int, len(items)+1)
	for i, it := range items {
		start[i+1] = start[i] + len(it.insns)
	}
	sub := start[len(items)]
	called := false
	var out []isa.Instruction
	for i, it := range items {
		ins := append([]isa.Instruction(nil), it.insns...)
		if it.jumpTo >= 0 {
			ins[0].Off = int16(start[min(it.jumpTo, last)] - start[i] - 1)
		}
		if it.call {
			called = true
			ins[1].Imm = int32(sub - (start[i] + 1) - 1)
		}
		out = append(out, ins...)
	}
	if !called {
		return out
	}
	return append(out, ldx(sizes[rng.Intn(4)], r0, r1, int16(rng.Intn(24)-16)), exit())
}

// TestKernelDifferentialRandomMaps is the random differential for maps and static calls.
func TestKernelDifferentialRandomMaps(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for bpf()")
	}
	n := 3000
	if testing.Short() {
		n = 300
	}
	rng := rand.New(rand.NewSource(2))
	maps := []MapInfo{{Type: MapTypeHash, KeySize: 4, ValueSize: 16, MaxEntries: 4}}
	agree := 0
	byReason := map[string]int{}
	for iter := 0; iter < n; iter++ {
		insns := genMapsCalls(rng, 8+rng.Intn(14))
		kacc, klog, ok := kernelLoad(t, insns, maps, ebpf.XDP)
		if !ok {
			t.Skip("bpf() not permitted here")
		}
		_, err := Check(&isa.Program{Insns: insns}, Options{Type: XDPType, Maps: maps})
		if kacc == (err == nil) {
			agree++
			continue
		}
		explained := false
		for _, d := range randomDifferences {
			if d.ours != "" && err != nil && strings.Contains(err.Error(), d.ours) ||
				d.kernel != "" && err == nil && strings.Contains(klog, d.kernel) {
				byReason[d.why]++
				explained = true
				break
			}
		}
		if !explained {
			t.Errorf("unexplained difference: ours %v, kernel accepted=%v: %s\n%s", err, kacc, lastLine(klog), disasmAll(insns))
		}
	}
	t.Logf("random map/call programs: %d of %d verdicts agree", agree, n)
	for why, c := range byReason {
		t.Logf("difference (%d programs): %s", c, why)
	}
}
