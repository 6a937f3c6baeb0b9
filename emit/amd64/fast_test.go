package amd64

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/internal/fasttest"
	"github.com/bpfjit/bpfjit/emit/progen"
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
		opts := fasttest.Options(k, r, insns)
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

// TestFastLoopMakesNoCall reads lowerRun as the compiler builds it: Go keeps the loop's
// state in registers only while it makes no call, so the only calls allowed are
// putMovConst (the lddw of a wide constant, which costs less as a call than as an exit
// from the loop) and the runtime's bounds, stack and write-barrier paths. It is skipped
// when the toolchain or its output is unavailable.
func TestFastLoopMakesNoCall(t *testing.T) {
	for _, name := range fasttest.Calls(t, "github.com/bpfjit/bpfjit/emit/amd64.lowerRun") {
		if !fasttest.RuntimeCheck(name) && name != "github.com/bpfjit/bpfjit/emit/amd64.putMovConst" {
			t.Errorf("lowerRun calls %s", name)
		}
	}
}
