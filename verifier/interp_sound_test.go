package verifier

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"testing"

	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
)

// genProgram builds a random forward-branching program over the raw memory region: loads
// and stores through r1 with computed offsets, ALU on the loaded values, comparisons, stack
// traffic. Most are unsafe; the verifier must reject every one that is.
func genProgram(rng *rand.Rand, n int) []isa.Instruction {
	regs := []r{r3, r4, r5, r6, r7, r8, r9}
	reg := func() r { return regs[rng.Intn(len(regs))] }
	sizes := []int{1, 2, 4, 8}
	var out []isa.Instruction
	// Initialize the scratch registers so that most programs get past uninit checks.
	for _, x := range regs {
		out = append(out, mov(x, int32(rng.Intn(16))))
	}
	out = append(out, mov(r0, 0))
	if rng.Intn(4) != 0 {
		for k := int16(1); k <= 5; k++ {
			out = append(out, st(8, fp, -8*k, 0))
		}
	}
	if rng.Intn(2) == 0 {
		// A length check, so that larger offsets become provable.
		out = append(out, jmp(isa.JumpGE, r2, int32(rng.Intn(40)), 1), exit())
	}
	body := len(out)
	for len(out) < body+n {
		left := body + n - len(out)
		switch rng.Intn(14) {
		case 12, 13:
			// An index compared with the length (or the length minus a constant), then
			// used: the length relation at work.
			k, p, l := reg(), reg(), reg()
			ops := []isa.JumpOp{isa.JumpGE, isa.JumpGT, isa.JumpSGE}
			out = append(out, movr(l, r2), add(l, -int32(rng.Intn(6))),
				isa.Instruction{Opcode: isa.Jump(isa.ClassJMP, ops[rng.Intn(len(ops))], isa.SourceX), Dst: k, Src: l, Off: 3},
				movr(p, r1), addr(p, k), ldx(sizes[rng.Intn(4)], reg(), p, int16(rng.Intn(6)-1)))
		case 0, 1:
			out = append(out, ldx(sizes[rng.Intn(4)], reg(), r1, int16(rng.Intn(24)-4)))
		case 2:
			out = append(out, stx(sizes[rng.Intn(4)], r1, int16(rng.Intn(24)-4), reg()))
		case 3:
			ops := []isa.ALUOp{isa.ALUAdd, isa.ALUSub, isa.ALUMul, isa.ALUDiv, isa.ALUOr, isa.ALUAnd, isa.ALULsh, isa.ALURsh, isa.ALUMod, isa.ALUXor, isa.ALUArsh}
			c := isa.ClassALU64
			if rng.Intn(3) == 0 {
				c = isa.ClassALU
			}
			if rng.Intn(2) == 0 {
				out = append(out, aluImm(c, ops[rng.Intn(len(ops))], reg(), int32(rng.Intn(70)-3)))
			} else {
				out = append(out, aluReg(c, ops[rng.Intn(len(ops))], reg(), reg()))
			}
		case 4:
			// Pointer plus a scalar, then an access through it.
			p, k := reg(), reg()
			if rng.Intn(2) == 0 {
				out = append(out, and(k, int32(rng.Intn(32))))
			}
			out = append(out, movr(p, r1), addr(p, k), ldx(sizes[rng.Intn(4)], reg(), p, int16(rng.Intn(8))))
		case 5, 6:
			if left < 3 {
				continue
			}
			ops := []isa.JumpOp{isa.JumpEQ, isa.JumpNE, isa.JumpGT, isa.JumpGE, isa.JumpLT, isa.JumpLE, isa.JumpSGT, isa.JumpSGE, isa.JumpSLT, isa.JumpSLE, isa.JumpSET}
			off := int16(1 + rng.Intn(min(left-1, 6)))
			cls := isa.ClassJMP
			if rng.Intn(3) == 0 {
				cls = isa.ClassJMP32
			}
			a := reg()
			if rng.Intn(4) == 0 {
				a = r2
			}
			if rng.Intn(2) == 0 {
				out = append(out, isa.Instruction{Opcode: isa.Jump(cls, ops[rng.Intn(len(ops))], isa.SourceK), Dst: a, Imm: int32(rng.Intn(40) - 4), Off: off})
			} else {
				out = append(out, isa.Instruction{Opcode: isa.Jump(cls, ops[rng.Intn(len(ops))], isa.SourceX), Dst: a, Src: reg(), Off: off})
			}
		case 7:
			out = append(out, stx(8, fp, int16(-8*(1+rng.Intn(4))), reg()))
		case 8:
			out = append(out, ldx(sizes[rng.Intn(4)], reg(), fp, int16(-8*(1+rng.Intn(4))+rng.Intn(8))))
		case 9:
			out = append(out, movr(reg(), reg()))
		case 10:
			out = append(out, ldxs(sizes[rng.Intn(3)], reg(), r1, int16(rng.Intn(16))))
		case 11:
			// Stack pointer with a computed offset.
			p, k := reg(), reg()
			out = append(out, movr(p, fp), add(p, -32), addr(p, k), ldx(sizes[rng.Intn(4)], reg(), p, 0))
		}
	}
	return append(out, movr(r0, reg()), exit())
}

// TestAcceptedProgramsStayInBounds is a soundness check against the reference
// interpreter: every random program the verifier accepts must run on random memory without
// touching a byte outside its region or stack.
func TestAcceptedProgramsStayInBounds(t *testing.T) {
	seed, n := int64(7), 60000
	if testing.Short() {
		n = 3000
	}
	// VERIFIER_SOUND=seed,count runs a longer search.
	if s := os.Getenv("VERIFIER_SOUND"); s != "" {
		if _, err := fmt.Sscanf(s, "%d,%d", &seed, &n); err != nil {
			t.Fatalf("VERIFIER_SOUND=%q: %v", s, err)
		}
	}
	rng := rand.New(rand.NewSource(seed))
	accepted := 0
	for iter := 0; iter < n; iter++ {
		insns := genProgram(rng, 4+rng.Intn(20))
		minMem := []int{0, 4, 8, 16, 24}[rng.Intn(5)]
		p := &isa.Program{Insns: insns}
		if _, err := Check(p, Options{MinMem: minMem}); err != nil {
			var ve *Error
			if !errors.As(err, &ve) {
				t.Fatalf("error %T: %v", err, err)
			}
			continue
		}
		accepted++
		ip, err := interp.New(p, nil)
		if err != nil {
			t.Fatalf("interp.New: %v", err)
		}
		for k := 0; k < 8; k++ {
			mem := make([]byte, minMem+rng.Intn(4)*rng.Intn(8))
			for j := range mem {
				mem[j] = byte(rng.Intn(256))
				if rng.Intn(3) == 0 {
					mem[j] = 0xff
				}
			}
			if _, err := ip.Run(&interp.Env{Context: mem}); err != nil {
				t.Fatalf("accepted program failed at run time on %d bytes: %v\n%s", len(mem), err, disasmAll(insns))
			}
		}
	}
	t.Logf("%d of %d random programs accepted, all ran in bounds", accepted, n)
	if accepted < n/50 {
		t.Errorf("only %d accepted: the generator no longer exercises the interesting cases", accepted)
	}
}

func disasmAll(insns []isa.Instruction) string {
	s := ""
	for i := 0; i < len(insns); i++ {
		var next isa.Instruction
		if i+1 < len(insns) {
			next = insns[i+1]
		}
		s += itoa(i) + ": " + Disasm(insns[i], next) + "\n"
		if insns[i].IsLdImm64() {
			i++
		}
	}
	return s
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
