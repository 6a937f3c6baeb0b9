package bpfjit_test

import (
	"errors"
	"runtime"
	"testing"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/verifier"
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

func TestLoadRejectsNilAndEmptyPrograms(t *testing.T) {
	if _, err := bpfjit.Load(nil, bpfjit.Unverified()); !errors.Is(err, bpfjit.ErrNilProgram) {
		t.Errorf("Load(nil) = %v, want ErrNilProgram", err)
	}
	if _, err := bpfjit.LoadSpec(nil); !errors.Is(err, bpfjit.ErrNilProgram) {
		t.Errorf("LoadSpec(nil) = %v, want ErrNilProgram", err)
	}
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		return // no back end: Load stops at ErrUnsupportedArch
	}
	if _, err := bpfjit.LoadInstructions(nil, bpfjit.Unverified()); !errors.Is(err, isa.ErrEmpty) {
		t.Errorf("empty unverified program: err = %v, want isa.ErrEmpty", err)
	}
	if _, err := bpfjit.LoadInstructions(nil); !errors.Is(err, verifier.ErrInvalid) {
		t.Errorf("empty program: err = %v, want verifier.ErrInvalid", err)
	}
}
