package bpfjit_test

import (
	"errors"
	"runtime"
	"testing"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/isa"
)

// TestLoadOnThisArchitecture: amd64 and arm64 compile and run; other architectures refuse
// with ErrUnsupportedArch instead of failing later.
func TestLoadOnThisArchitecture(t *testing.T) {
	insns := []isa.Instruction{
		{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: isa.R0, Imm: 42},
		{Opcode: isa.OpExit},
	}
	p, err := bpfjit.LoadInstructions(insns, bpfjit.Unverified())
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		if !errors.Is(err, bpfjit.ErrUnsupportedArch) {
			t.Fatalf("err = %v, want ErrUnsupportedArch", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got, err := p.Run(nil); err != nil || got != 42 {
		t.Errorf("Run = %d, %v; want 42", got, err)
	}
}
