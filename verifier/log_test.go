package verifier

import (
	"errors"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/isa"
)

// A rejection names the instruction and its index, shows the register state of the
// failing path and says what to do.
func TestRejectionLog(t *testing.T) {
	p := &isa.Program{Insns: prog(ldx(8, r3, r1, 0), and(r3, 127), addr(r1, r3), ldx(1, r0, r1, 0), exit())}
	_, err := Check(p, Options{MinMem: 64})
	var ve *Error
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if ve.Insn != 3 {
		t.Errorf("Insn = %d, want 3", ve.Insn)
	}
	for _, want := range []string{
		"3: (71) r0 = *(u8 *)(r1 +0)",   // the failing instruction and its index
		"R1=mem(var=scalar(umax=0x7f))", // register state on the failing path
		"R3=scalar(umax=0x7f)",
		"only 64 bytes are valid", // the reason
		"prove the length first",  // what to do about it
	} {
		if !strings.Contains(ve.Log, want) {
			t.Errorf("log lacks %q:\n%s", want, ve.Log)
		}
	}
}

func TestVerboseLogLevels(t *testing.T) {
	p := &isa.Program{Insns: prog(mov(r0, 0), to(jmp(isa.JumpLT, r2, 8, 0), "x"), ldx(8, r0, r1, 0), label("x"), exit())}
	quiet, err := Check(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(quiet.Log, "(b7)") || !strings.Contains(quiet.Log, "processed 5 insns") {
		t.Errorf("level 0 log should hold only the summary:\n%s", quiet.Log)
	}
	l1, _ := Check(p, Options{LogLevel: 1})
	if !strings.Contains(l1.Log, "1: (a5) if r2 < 0x8 goto pc+1") || strings.Contains(l1.Log, "    R0=0x0") {
		t.Errorf("level 1 log should list instructions without states:\n%s", l1.Log)
	}
	l2, _ := Check(p, Options{LogLevel: 2})
	if !strings.Contains(l2.Log, "    R0=0x0 R1=mem R2=scalar(umax=0xffffffff,len-0)#1 R10=fp0 mem_range=0") ||
		!strings.Contains(l2.Log, "mem_range=8") {
		t.Errorf("level 2 log should show the state after each instruction:\n%s", l2.Log)
	}
}
