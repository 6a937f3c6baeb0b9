package amd64

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/isa"
)

// slotBySlot hides LowerRange, so the driver lowers every slot through Lower: the
// reference the fast path must match byte for byte.
type slotBySlot struct {
	emit.Backend
	emit.BudgetBackend
}

// TestFastPathMatchesLowerByteForByte compiles generated programs (every opcode, both
// jump sizes, calls) with LowerRange and with Lower alone, plain, blinded, under a budget
// and with facts that drop slots (so runs are split), and requires identical images.
func TestFastPathMatchesLowerByteForByte(t *testing.T) {
	be := &Backend{GateEntryDisp: 0x40, ScratchDisp: 0x48}
	ref := slotBySlot{be, be}
	if _, ok := emit.Backend(ref).(emit.RangeBackend); ok {
		t.Fatal("the reference backend must not have LowerRange")
	}
	g := progen.New(7, progen.Options{Helpers: []int32{1, 2}})
	r := rand.New(rand.NewPCG(7, 8))
	n := 2000
	if testing.Short() {
		n = 300
	}
	for k := range n {
		insns := g.Program()
		var opts emit.Options
		switch k % 4 {
		case 1:
			opts.Blind, opts.BlindSeed = true, &[32]byte{byte(k)}
		case 2:
			opts.Budget, opts.BudgetHelper = 1000, 99
		case 3:
			opts.Facts = randomFacts(r, insns)
		}
		want, err := emit.Compile(insns, opts, ref)
		if err != nil {
			t.Fatalf("program %d: Lower: %v", k, err)
		}
		got, err := emit.Compile(insns, opts, be)
		if err != nil {
			t.Fatalf("program %d: LowerRange: %v", k, err)
		}
		if !bytes.Equal(got.Code, want.Code) {
			t.Fatalf("program %d (%+v): code differs\nfast %x\nref  %x", k, opts, got.Code, want.Code)
		}
		if !reflect.DeepEqual(got.Slots, want.Slots) || !reflect.DeepEqual(got.Funcs, want.Funcs) ||
			!reflect.DeepEqual(got.Relocs, want.Relocs) {
			t.Fatalf("program %d: slots, functions or relocations differ", k)
		}
	}
}

// randomFacts marks about one slot in eight dead and one jump in four with a single
// outcome, and clears every zero-extension flag.
func randomFacts(r *rand.Rand, insns []isa.Instruction) *emit.Facts {
	f := &emit.Facts{Dead: make([]bool, len(insns)), Branch: make([]uint8, len(insns)), ZeroExtend: make([]bool, len(insns))}
	for i, in := range insns {
		f.Dead[i] = i > 0 && r.IntN(8) == 0
		if in.IsJump() && !in.IsUnconditionalJump() && r.IntN(4) == 0 {
			f.Branch[i] = emit.BranchFallThrough << r.IntN(2)
		}
	}
	return f
}

// TestFastLoopMakesNoCall disassembles lowerRun as the compiler builds it: Go keeps the
// loop's state in registers only while it makes no call, so the only calls allowed are
// putMovConst (the lddw of a wide constant, which costs less as a call than as an exit
// from the loop) and the runtime's bounds, stack and write-barrier paths. It reads the
// call relocations of the package archive (a test binary has no symbols) and is skipped
// when the toolchain or its output is unavailable.
func TestFastLoopMakesNoCall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the package")
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	archive := filepath.Join(t.TempDir(), "amd64.a")
	if out, err := exec.Command(gotool, "build", "-o", archive, ".").CombinedOutput(); err != nil {
		t.Skipf("go build: %v: %.200s", err, out)
	}
	out, err := exec.Command(gotool, "tool", "objdump", "-s", `^github.com/bpfjit/bpfjit/emit/amd64\.lowerRun$`, archive).CombinedOutput()
	if err != nil {
		t.Skipf("go tool objdump: %v: %.200s", err, out)
	}
	target := regexp.MustCompile(`R_CALL\w*:(\S+)`)
	calls := 0
	for line := range strings.Lines(string(out)) {
		m := target.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		calls++
		switch name := m[1]; {
		case strings.HasPrefix(name, "runtime.panic"), strings.HasPrefix(name, "runtime.morestack"),
			strings.HasPrefix(name, "runtime.gcWriteBarrier"), name == "github.com/bpfjit/bpfjit/emit/amd64.putMovConst":
		default:
			t.Errorf("lowerRun calls %s", name)
		}
	}
	if calls == 0 {
		t.Skip("no call relocation in the disassembly of lowerRun: its format may have changed")
	}
}
