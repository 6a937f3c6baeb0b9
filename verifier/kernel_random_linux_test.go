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
	out := prog(ldx(4, r2, r1, 0), ldx(4, r6, r1, 4), mov(r0, 2))
	for _, x := range regs {
		out = append(out, mov(x, int32(rng.Intn(16))))
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
