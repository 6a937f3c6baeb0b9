//go:build arm64 && linux

package arm64

import (
	"bytes"
	"encoding/hex"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/execmem"
	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
)

// These tests run the lowered code on the CPU (hardware or qemu) through the real
// bridge, and compare with the conformance suite and the interpreter.

var runArena = execmem.New(execmem.Options{TrapFreed: true})

// heapSink makes every buffer whose address native code gets escape to the heap.
// Without it the compiler may place a non-escaping buffer on the goroutine stack,
// which moves when a helper runs Go code, and native code would then write to a
// stale address (seen: a fault in swpal during the differential test).
var heapSink atomic.Pointer[byte]

// addrOf returns the address of b's first byte, forcing b onto the heap.
func addrOf(b []byte) uint64 {
	heapSink.Store(&b[0])
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}

// runJIT compiles insns with be and runs them with r1 = mem, r2 = len(mem).
func runJIT(t *testing.T, be *Backend, insns []isa.Instruction, opts emit.Options, mem []byte, h *bridge.Helpers) (uint64, error) {
	t.Helper()
	img, err := emit.Compile(insns, opts, be)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	code, err := runArena.Load(img.Code)
	if err != nil {
		t.Fatal(err)
	}
	defer runArena.Retire(code)
	var p uint64
	if len(mem) > 0 {
		p = addrOf(mem)
	}
	r0, err := bridge.Run(code, h, &bridge.Args{p, uint64(len(mem))})
	runtime.KeepAlive(mem)
	return r0, err
}

func helperTable(t *testing.T, fns map[int32]bridge.Helper) *bridge.Helpers {
	t.Helper()
	n := int32(0)
	for id := range fns {
		n = max(n, id+1)
	}
	tab := make([]bridge.Helper, n)
	for id, f := range fns {
		tab[id] = f
	}
	h, err := bridge.NewHelpers(tab)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestConformanceSuiteOnCPU(t *testing.T) {
	dir, ok := conformance.Dir()
	if !ok {
		t.Skip("conformance suite not found")
	}
	tests, err := conformance.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The suite's environment: helper 5 exists and returns normally.
	h := helperTable(t, map[int32]bridge.Helper{5: func(_, _, _, _, _ uint64) uint64 { return 0 }})
	for _, b := range backends {
		for _, blind := range []bool{false, true} {
			passed := 0
			for _, tc := range tests {
				insns, err := asm.Assemble(tc.Asm)
				if err != nil {
					t.Fatalf("%s: %v", tc.Name, err)
				}
				got, err := runJIT(t, b.be, insns, emit.Options{Blind: blind}, bytes.Clone(tc.Mem), h)
				switch {
				case err != nil:
					t.Errorf("%s (%s, blind=%v): %v", tc.Name, b.name, blind, err)
				case got != tc.Result:
					t.Errorf("%s (%s, blind=%v): r0 = %#x, want %#x", tc.Name, b.name, blind, got, tc.Result)
				default:
					passed++
				}
			}
			if passed != len(tests) {
				t.Errorf("%s blind=%v: %d of %d files pass", b.name, blind, passed, len(tests))
			}
		}
	}
}

// Helpers of the differential test: pure functions of r2–r5 (r1 is an address,
// which differs between the engines' buffers).
var diffHelpers = map[int32]func(a [5]uint64) uint64{
	1: func(a [5]uint64) uint64 { return a[1]*31 + a[2] ^ a[3]<<7 - a[4] },
	7: func(a [5]uint64) uint64 { return ^a[4] },
}

func TestDifferentialAgainstInterpreterOnCPU(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 300
	}
	jh := map[int32]bridge.Helper{}
	ih := interp.HelperTable{}
	for id, f := range diffHelpers {
		jh[id] = func(r1, r2, r3, r4, r5 uint64) uint64 { return f([5]uint64{r1, r2, r3, r4, r5}) }
		ih[id] = func(_ *interp.Memory, a [5]uint64) (uint64, error) { return f(a), nil }
	}
	h := helperTable(t, jh)
	g := progen.New(20261122, progen.Options{Helpers: []int32{1, 7}})
	for k := 0; k < n; k++ {
		insns := g.Program()
		ip, err := interp.New(&isa.Program{Insns: insns}, nil)
		if err != nil {
			t.Fatal(err)
		}
		imem := make([]byte, progen.MemSize)
		want, err := ip.Run(&interp.Env{Context: imem, Helpers: ih})
		if err != nil {
			t.Fatalf("program %d: interp: %v", k, err)
		}
		b := backends[k%2]
		blind := k%4 >= 2

		jmem := make([]byte, progen.MemSize)
		got, err := runJIT(t, b.be, insns, emit.Options{Blind: blind}, jmem, h)
		if err != nil || got != want.R0 || !bytes.Equal(imem, jmem) {
			text, _ := asm.Disassemble(insns)
			t.Fatalf("program %d (%s, blind=%v): jit r0 %#x err %v; interp r0 %#x\njit mem    %s\ninterp mem %s\n%s",
				k, b.name, blind, got, err, want.R0, hex.EncodeToString(jmem), hex.EncodeToString(imem), text)
		}
	}
}

// TestFarConditionalBranchRuns executes the program whose conditional jump spans
// more than 1 MiB, taking the jump and falling through.
func TestFarConditionalBranchRuns(t *testing.T) {
	insns, _ := farBranchProgram()
	be := &Backend{GateEntryDisp: bridge.CtxGateEntry, Atomics: AtomicExclusive}
	mem := make([]byte, 8192)
	img, err := emit.Compile(insns, emit.Options{}, be)
	if err != nil {
		t.Fatal(err)
	}
	code, err := runArena.Load(img.Code)
	if err != nil {
		t.Fatal(err)
	}
	defer runArena.Retire(code)
	base := addrOf(mem) + 8 + 4104 // r1 - 4104 = &mem[8], 8-byte aligned
	taken, err := bridge.Run(code, nil, &bridge.Args{base, 0, 5})
	if err != nil || taken != 1000 {
		t.Errorf("r2 == 0 (jump taken): r0 = %d, %v; want 1000", taken, err)
	}
	// Fall-through: the first cmpxchg finds 0 == r0 and stores r3 = 5; the rest see
	// 5 != 0 and only load it into r0, so r0 = 5 + 1000 at the end.
	fell, err := bridge.Run(code, nil, &bridge.Args{base, 1, 5})
	if err != nil || fell != 1005 {
		t.Errorf("r2 != 0 (fall through): r0 = %d, %v; want 1005", fell, err)
	}
	runtime.KeepAlive(mem)
}

// TestHelpersAndLocalCallsKeepState checks the calling conventions end to end: R6–R9
// and R10 survive helper and BPF-to-BPF calls, helper arguments arrive in order and
// callx reaches the same helper.
func TestHelpersAndLocalCallsKeepState(t *testing.T) {
	var seen [5]uint64
	h := helperTable(t, map[int32]bridge.Helper{3: func(r1, r2, r3, r4, r5 uint64) uint64 {
		seen = [5]uint64{r1, r2, r3, r4, r5}
		return r1 + r2 + r3 + r4 + r5
	}})
	src := `
		mov %r6, 100
		mov %r7, 200
		mov %r8, 300
		mov %r9, 400
		stxdw [%r10-8], %r6
		mov %r1, 1
		mov %r2, 2
		mov %r3, 3
		mov %r4, 4
		mov %r5, 5
		call 3
		mov %r6, %r0
		mov %r1, 10
		call local sub
		add %r6, %r0
		mov %r1, 3
		mov %r2, 2
		mov %r3, 3
		mov %r4, 4
		mov %r5, 5
		call %r1
		add %r6, %r0
		ldxdw %r0, [%r10-8]
		add %r0, %r6
		add %r0, %r7
		add %r0, %r8
		add %r0, %r9
		exit
	sub:
		mov %r6, 7
		mov %r9, 9
		stxdw [%r10-8], %r9
		ldxdw %r0, [%r10-8]
		add %r0, %r6
		mul %r0, %r1
		exit`
	insns, err := asm.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range backends {
		got, err := runJIT(t, b.be, insns, emit.Options{}, nil, h)
		// r0 = 100 (stack) + 15 + 160 + 17 (r6) + 200 + 300 + 400 (r7-r9): the
		// interpreter computes the same.
		ip, _ := interp.New(&isa.Program{Insns: insns}, nil)
		want, ierr := ip.Run(&interp.Env{Helpers: interp.HelperTable{3: func(_ *interp.Memory, a [5]uint64) (uint64, error) {
			return a[0] + a[1] + a[2] + a[3] + a[4], nil
		}}})
		if err != nil || ierr != nil || got != want.R0 || got != 1192 {
			t.Errorf("%s: r0 = %d (%v), interpreter %d (%v)", b.name, got, err, want.R0, ierr)
		}
		if seen[0] != 3 {
			t.Errorf("%s: last helper call saw r1 = %d, want 3 (callx)", b.name, seen[0])
		}
	}
}

// TestBudgetStopsEndlessLoopsOnCPU runs an endless loop and endless recursion-free
// calls under a budget: the budget helper (which panics, as the root package's
// does) ends the run with an error, and a loop within the budget finishes.
func TestBudgetStopsEndlessLoopsOnCPU(t *testing.T) {
	type exhausted struct{}
	h := helperTable(t, map[int32]bridge.Helper{9: func(_, _, _, _, _ uint64) uint64 { panic(exhausted{}) }})
	cases := []struct {
		name    string
		src     string
		stopped bool
		r0      uint64
	}{
		{"endless loop", "L: ja L\nexit", true, 0},
		{"endless calls", "L: call local f\nja L\nexit\nf: exit", true, 0},
		{"bounded loop", "mov %r0, 100\nL: sub %r0, 1\njne %r0, 0, L\nmov %r0, 7\nexit", false, 7},
	}
	for _, b := range backends {
		for _, c := range cases {
			insns, err := asm.Assemble(c.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := runJIT(t, b.be, insns, emit.Options{Budget: 10000, BudgetHelper: 9}, nil, h)
			if c.stopped {
				var hp *bridge.HelperPanicError
				if !errors.As(err, &hp) {
					t.Errorf("%s/%s: r0 = %d, err = %v; want the budget helper's panic", b.name, c.name, got, err)
				}
				continue
			}
			if err != nil || got != c.r0 {
				t.Errorf("%s/%s: r0 = %d, %v; want %d", b.name, c.name, got, err, c.r0)
			}
		}
	}
}
