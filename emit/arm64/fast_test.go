package arm64

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/internal/fasttest"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/isa"
)

// reference hides LowerRange (and with it the fast loop), so the driver lowers every
// slot through Lower: the reference the fast loop must match byte for byte. (An embedded
// *Backend would promote LowerRange.)
type reference struct {
	emit.Backend
	emit.BudgetBackend
	emit.TailCallBackend
}

func referenceOf(b *Backend) reference { return reference{b, b, b} }

// compileBoth compiles insns with the fast loop and with the reference and fails the test
// unless both give the same image (or the same error). It reports whether they compiled.
func compileBoth(t *testing.T, name string, b *Backend, insns []isa.Instruction, opts emit.Options) bool {
	t.Helper()
	want, werr := emit.Compile(insns, opts, referenceOf(b))
	got, gerr := emit.Compile(insns, opts, b)
	if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
		t.Fatalf("%s: reference %v, fast loop %v", name, werr, gerr)
	}
	if werr != nil {
		return false
	}
	if !bytes.Equal(got.Code, want.Code) || !slices.Equal(got.Slots, want.Slots) {
		// Name the first slot whose offset or bytes differ.
		for k := range len(insns) {
			if k+1 < len(got.Slots) && k+1 < len(want.Slots) && got.Slots[k+1] == want.Slots[k+1] &&
				got.Slots[k] == want.Slots[k] && bytes.Equal(got.Code[got.Slots[k]:got.Slots[k+1]], want.Code[want.Slots[k]:want.Slots[k+1]]) {
				continue
			}
			t.Fatalf("%s: slot %d (%+v) differs:\nfast %x at %d\nref  %x at %d", name, k, insns[k],
				got.Code[got.Slots[k]:got.Slots[min(k+1, len(got.Slots)-1)]], got.Slots[k],
				want.Code[want.Slots[k]:want.Slots[min(k+1, len(want.Slots)-1)]], want.Slots[k])
		}
		t.Fatalf("%s: code differs outside the slots", name)
	}
	if !slices.Equal(got.Funcs, want.Funcs) || !slices.Equal(got.Relocs, want.Relocs) {
		t.Fatalf("%s: functions or relocations differ", name)
	}
	return true
}

func TestReferenceHidesTheFastLoop(t *testing.T) {
	if _, ok := emit.Backend(referenceOf(&Backend{})).(emit.RangeBackend); ok {
		t.Fatal("the reference backend must not have LowerRange")
	}
}

// Generated programs (every opcode, loops, calls, helpers, atomics) compile to the same
// image with the fast loop as slot by slot through Lower: plain, blinded, under a budget
// (branches leave the loop) and with facts that drop slots and zero-extensions, for both
// atomic lowerings.
func TestFastLoopMatchesTheReferenceOnGeneratedPrograms(t *testing.T) {
	g := progen.New(11, progen.Options{Helpers: []int32{1, 2}})
	r := rand.New(rand.NewPCG(11, 12))
	n := 600
	if testing.Short() {
		n = 150
	}
	for k := range n {
		insns := g.Program()
		opts := fasttest.Options(k, r, insns)
		for _, b := range backends {
			if !compileBoth(t, fmt.Sprintf("program %d (%s, %+v)", k, b.name, opts), b.be, insns, opts) {
				t.Fatalf("program %d does not compile", k)
			}
		}
	}
	// A long straight-line program grows the branch array mid-run, and exclusive-monitor
	// atomics (seven words a slot) outgrow the code the driver sizes up front, so the
	// loop stops short of the capacity and resumes after the reference appended.
	compileBoth(t, "straight 20000", backends[0].be, progen.Straight(20000), emit.Options{})
	atomics := []isa.Instruction{{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK)}}
	for k := range 3000 {
		atomics = append(atomics, isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeATOMIC, isa.SizeDW),
			Dst: isa.R10, Src: isa.R1, Off: int16(-8 * (1 + k%8)), Imm: int32(isa.AtomicCmpXchg)})
	}
	atomics = append(atomics, isa.Instruction{Opcode: isa.OpExit})
	for _, b := range backends {
		if !compileBoth(t, "atomics "+b.name, b.be, atomics, emit.Options{}) {
			t.Fatal("the atomics do not compile")
		}
	}
}

// TestFastLoopCallsOnlyOnItsRarePaths reads the compiler's assembly of lowerRun: Go keeps
// the loop's state in registers only while its common paths make no call, so the only
// calls allowed are the encoders of the long forms (constants of several words, logical
// immediates, atomic sequences), the growth of a full branch array and the runtime's
// bounds and stack checks. It is skipped when the toolchain or its output is unavailable.
func TestFastLoopCallsOnlyOnItsRarePaths(t *testing.T) {
	allowed := map[string]bool{"putMovImm": true, "logicImm": true, "atomicWords": true}
	for _, name := range fasttest.Calls(t, "github.com/bpfjit/bpfjit/emit/arm64.lowerRun") {
		if !fasttest.RuntimeCheck(name) && name != "runtime.growslice" &&
			!allowed[strings.TrimPrefix(name, "github.com/bpfjit/bpfjit/emit/arm64.")] {
			t.Errorf("lowerRun calls %s", name)
		}
	}
}
