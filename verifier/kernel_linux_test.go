//go:build linux

package verifier

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
)

// knownDifferences lists the table cases where the kernel's verdict differs from ours, with
// the reason; verifier/DIFFERENCES.md explains each at length.
var knownDifferences = map[string]string{
	"stack/read of never-written stack":           uninitStack,
	"stack/partly written slot":                   uninitStack,
	"map/uninitialized key":                       uninitStack,
	"map/key larger than what was written":        uninitStack,
	"map/update with an uninitialized value":      uninitStack,
	"helper/trace_printk reading unwritten stack": uninitStack,
	"atomic/add on unwritten stack":               uninitStack,
	"xdp/returning the context leaks":             "privileged kernel loads may return pointers; we never let a program hand the host an address as its result",
	"map/dereference of a map pointer":            "the kernel lets privileged programs read struct bpf_map fields through BTF; host maps have no such struct",
	"callx/constant helper id":                    "callx (call through a register) is not a kernel instruction; the conformance suite has it, and we accept it when the register holds one known helper id",
}

const uninitStack = "privileged kernel loads may read uninitialized stack (allow_uninit_stack); we reject it so no stale host data is ever observed"

// kernelLoad loads insns into the kernel verifier under kt and reports its verdict.
// ok is false when the kernel cannot be asked (no permission, no bpf()).
func kernelLoad(t *testing.T, insns []isa.Instruction, maps []MapInfo, kt ebpf.ProgramType) (accepted bool, log string, ok bool) {
	code := append([]isa.Instruction(nil), insns...)
	var opened []*ebpf.Map
	defer func() {
		for _, m := range opened {
			m.Close()
		}
	}()
	fds := make([]int, len(maps))
	for i, m := range maps {
		em, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.MapType(m.Type), KeySize: m.KeySize, ValueSize: m.ValueSize, MaxEntries: m.MaxEntries})
		if err != nil {
			if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) {
				return false, "", false
			}
			t.Fatalf("creating map %d: %v", i, err)
		}
		opened = append(opened, em)
		fds[i] = em.FD()
	}
	for i := 0; i < len(code); i++ {
		in := &code[i]
		if !in.IsLdImm64() {
			continue
		}
		if (in.Src == isa.PseudoMapIdx || in.Src == isa.PseudoMapIdxValue) && int(in.Imm) >= 0 && int(in.Imm) < len(fds) {
			in.Imm = int32(fds[in.Imm])
			if in.Src == isa.PseudoMapIdx {
				in.Src = isa.PseudoMapFD
			} else {
				in.Src = isa.PseudoMapValue
			}
		}
		i++
	}
	ai, err := asm.AppendInstructions(nil, bytes.NewReader(isa.EncodeAll(code)), binary.LittleEndian, "linux")
	if err != nil {
		return false, "decode: " + err.Error(), true
	}
	prog, err := ebpf.NewProgramWithOptions(&ebpf.ProgramSpec{Type: kt, Instructions: ai, License: "GPL"},
		ebpf.ProgramOptions{LogLevel: ebpf.LogLevelBranch, LogSizeStart: 1 << 20})
	if err == nil {
		prog.Close()
		return true, "", true
	}
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) {
		return false, "", false
	}
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return false, strings.Join(ve.Log, "\n"), true
	}
	return false, err.Error(), true
}

// TestKernelDifferential loads the table's kernel-comparable programs into the kernel
// verifier and compares verdicts. Programs of the raw memory type that do not touch r1/r2
// load as socket filters.
func TestKernelDifferential(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for bpf()")
	}
	agree, total := 0, 0
	var disagreements []string
	for _, c := range cases {
		if !c.kernel || len(c.insns) == 0 {
			continue
		}
		if testing.Short() && c.kind == ErrTooComplex {
			continue // the kernel spends seconds reaching its own budget
		}
		kt := ebpf.SocketFilter
		if c.typ != nil && c.typ.KernelType != 0 {
			kt = ebpf.ProgramType(c.typ.KernelType)
		}
		kacc, klog, ok := kernelLoad(t, c.insns, c.maps, kt)
		if !ok {
			t.Skip("bpf() not permitted here")
		}
		total++
		_, err := Check(&isa.Program{Insns: c.insns, Funcs: c.funcs}, c.options())
		ours := err == nil
		if ours == kacc {
			agree++
			if why, known := knownDifferences[c.name]; known {
				t.Errorf("%s: listed as a difference (%s) but the verdicts now agree", c.name, why)
			}
			continue
		}
		last := klog
		for _, l := range strings.Split(strings.TrimSpace(klog), "\n") {
			if l != "" && !strings.HasPrefix(l, "processed ") {
				last = l // the kernel's reason is the last line before its statistics
			}
		}
		d := c.name + ": ours accepted=" + boolStr(ours) + ", kernel accepted=" + boolStr(kacc)
		if err != nil {
			d += "; ours: " + err.Error()
		}
		if !kacc {
			d += "; kernel: " + last
		}
		disagreements = append(disagreements, d)
		if _, known := knownDifferences[c.name]; !known {
			t.Errorf("unexplained difference: %s", d)
		}
	}
	t.Logf("kernel differential: %d of %d programs agree", agree, total)
	for _, d := range disagreements {
		t.Logf("difference: %s", d)
	}
}

func boolStr(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// TestKernelDifferentialClang loads the clang-built objects into the kernel as well: both
// verifiers must accept them.
func TestKernelDifferentialClang(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for bpf()")
	}
	for _, c := range clangPrograms {
		spec, err := ebpf.LoadCollectionSpec("testdata/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		coll, err := ebpf.NewCollection(spec)
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSYS) {
			t.Skip("bpf() not permitted here")
		}
		kacc := err == nil
		if coll != nil {
			coll.Close()
		}
		_, ours := Check(loadClang(t, c.file, c.prog), Options{Type: c.typ})
		t.Logf("%s: kernel accepted=%v (%v), ours accepted=%v", c.prog, kacc, err, ours == nil)
		if kacc != (ours == nil) {
			t.Errorf("%s: verdicts differ", c.prog)
		}
	}
}
