//go:build linux

package interp_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	bpfasm "github.com/bpfjit/bpfjit/isa/asm"
	"github.com/cilium/ebpf"
	ciliumasm "github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
)

// kernelR0 runs body under the kernel (BPF_PROG_TEST_RUN of a syscall program, whose
// context is a copy of mem) and returns its 64-bit r0. The body becomes a subprogram of a
// wrapper that sets r2 = len(mem) as the conformance protocol does and returns half of r0
// (test runs report 32 bits), so each half is one load and run. ok is false when the kernel
// rejects the program (reason in why); skip is true when bpf() is not permitted at all.
func kernelR0(body []isa.Instruction, mem []byte) (r0 uint64, ok bool, why string, skip bool) {
	for _, shift := range []int32{0, 32} {
		wrapper := []isa.Instruction{
			{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: isa.R2, Imm: int32(len(mem))},
			{Opcode: isa.OpCall, Src: isa.PseudoCall, Imm: 2},
			{Opcode: isa.ALU(isa.ClassALU64, isa.ALURsh, isa.SourceK), Dst: isa.R0, Imm: shift},
			{Opcode: isa.OpExit},
		}
		code := append(wrapper, body...)
		insns, err := ciliumasm.AppendInstructions(nil, bytes.NewReader(isa.EncodeAll(code)), binary.LittleEndian, "linux")
		if err != nil {
			return 0, false, "cilium decode: " + err.Error(), false
		}
		prog, err := ebpf.NewProgramWithOptions(&ebpf.ProgramSpec{Type: ebpf.Syscall, Flags: unix.BPF_F_SLEEPABLE, Instructions: insns, License: "GPL"},
			ebpf.ProgramOptions{LogLevel: ebpf.LogLevelBranch, LogSizeStart: 1 << 20})
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) {
			return 0, false, "", true
		}
		if err != nil {
			var ve *ebpf.VerifierError
			if errors.As(err, &ve) {
				for _, l := range ve.Log {
					if l != "" && !strings.HasPrefix(l, "processed ") && !strings.HasPrefix(l, "verification time") &&
						!strings.HasPrefix(l, "stack depth") {
						why = l // the kernel's reason is the last line before its statistics
					}
				}
				return 0, false, why, false
			}
			return 0, false, err.Error(), false
		}
		opts := &ebpf.RunOptions{}
		if len(mem) > 0 {
			opts.Context = bytes.Clone(mem)
		}
		ret, err := prog.Run(opts)
		prog.Close()
		if err != nil {
			return 0, false, "test run: " + err.Error(), false
		}
		r0 |= uint64(ret) << shift
	}
	return r0, true, "", false
}

// TestKernelAgrees runs the semantic tests and the conformance suite under the kernel too,
// where the kernel's verifier accepts them (it rejects, among others, division by a zero
// immediate, out-of-range shift immediates, recursion, pointer arithmetic on the context and
// more than eight frames once the wrapper adds one). Every accepted program must give the
// kernel's r0, which must also be the file's expected result: the kernel is a second oracle
// for the expectations written by hand. (Choices of this interpreter that the kernel does not
// share — a zeroed stack, frames exactly StackSize apart — are pinned by Go tests instead,
// not by testdata/semantics, which every engine must pass.)
func TestKernelAgrees(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for bpf()")
	}
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "semantics", "*.data"))
	if dir, ok := conformance.Dir(); ok {
		suite, _ := conformance.Files(dir)
		files = append(files, suite...)
	}
	agreed, rejected := 0, 0
	for _, f := range files {
		tc, err := conformance.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		insns, err := bpfasm.Assemble(tc.Asm)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		kr0, ok, why, skip := kernelR0(insns, tc.Mem)
		if skip {
			t.Skip("bpf() not permitted here")
		}
		if !ok {
			rejected++
			t.Logf("%s: kernel rejects: %s", filepath.Base(f), why)
			continue
		}
		p, err := interp.New(&isa.Program{Insns: insns}, nil)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		res, err := p.Run(&interp.Env{Context: bytes.Clone(tc.Mem), Helpers: conformanceHelpers})
		if err != nil {
			t.Errorf("%s: interp: %v", filepath.Base(f), err)
			continue
		}
		if res.R0 != kr0 || kr0 != tc.Result {
			t.Errorf("%s: interp r0 %#x, kernel r0 %#x, file expects %#x", filepath.Base(f), res.R0, kr0, tc.Result)
			continue
		}
		agreed++
	}
	t.Logf("%d programs agree with the kernel; the kernel rejects %d", agreed, rejected)
}
