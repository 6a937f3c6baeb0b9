package bpfjit_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
	"github.com/bpfjit/bpfjit/maps"
	"github.com/bpfjit/bpfjit/verifier"
)

// tcRefs is the map table of every tail-call test program: one program array.
var tcRefs = []isa.MapRef{{Name: "jt", Type: uint32(maps.ProgArray), KeySize: 4, ValueSize: 4, MaxEntries: 4}}

// tcType is the tail-call tests' program type: the context is one 4-byte counter (and a
// spare word), which tail-call targets receive as r1.
var tcType = &verifier.ProgType{
	Name: "tailcall-test",
	Ctx: &verifier.Context{Name: "counter", Size: 8, Fields: []verifier.Field{
		{Name: "n", Off: 0, Size: 4, Write: true},
		{Name: "spare", Off: 4, Size: 4, Write: true},
	}},
	Helpers: map[int32]*verifier.HelperProto{verifier.HelperTailCall: verifier.Helpers[verifier.HelperTailCall]},
}

// tcWorld is one program array per engine: JIT programs go into jit's, their interpreter
// twins into ip's, so each engine runs only its own code.
type tcWorld struct {
	t        *testing.T
	jit, ipt *maps.Table
}

func newTCWorld(t *testing.T) *tcWorld {
	t.Helper()
	w := &tcWorld{t: t}
	var err error
	if w.jit, err = maps.NewTable(tcRefs, nil); err != nil {
		t.Fatal(err)
	}
	if w.ipt, err = maps.NewTable(tcRefs, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.jit.Close(); w.ipt.Close() })
	return w
}

// tcProg is one program loaded in both engines.
type tcProg struct {
	jit *bpfjit.Program
	ip  *interp.Program
}

func (w *tcWorld) load(src string, opts ...bpfjit.Option) tcProg {
	w.t.Helper()
	prog, err := asm.AssembleProgram(src)
	if err != nil {
		w.t.Fatal(err)
	}
	prog.Maps = tcRefs
	opts = append([]bpfjit.Option{bpfjit.WithMaps(w.jit), bpfjit.WithVerifier(verifier.Options{Type: tcType})}, opts...)
	jp, err := bpfjit.Load(prog, opts...)
	if err != nil {
		w.t.Fatalf("load: %v\n%s", err, src)
	}
	w.t.Cleanup(func() { jp.Close() })
	ip, err := interp.New(prog, &interp.Options{Maps: w.ipt})
	if err != nil {
		w.t.Fatal(err)
	}
	return tcProg{jp, ip}
}

// set puts p in slot i of both engines' program arrays.
func (w *tcWorld) set(i uint32, p tcProg) {
	w.t.Helper()
	if err := w.jit.Map(0).SetProgram(i, p.jit); err != nil {
		w.t.Fatal(err)
	}
	if err := w.ipt.Map(0).SetProgram(i, maps.InterpOnly(p.ip)); err != nil {
		w.t.Fatal(err)
	}
}

// run runs p in both engines on an 8-byte counter starting at 0 and requires the same r0
// and counter; it returns them.
func (w *tcWorld) run(p tcProg) (r0 uint64, count uint32, tailCalls int) {
	w.t.Helper()
	jm, im := make([]byte, 8), make([]byte, 8)
	got, err := p.jit.Run(jm)
	if err != nil {
		w.t.Fatalf("jit: %v", err)
	}
	want, err := maps.RunInterp(p.ip, interp.Env{Context: im})
	if err != nil {
		w.t.Fatalf("interp: %v", err)
	}
	if got != want.R0 || string(jm) != string(im) {
		w.t.Fatalf("jit r0 %d mem %x; interp r0 %d mem %x", got, jm, want.R0, im)
	}
	return got, uint32(jm[0]) | uint32(jm[1])<<8, want.TailCalls
}

// countAndTailCall counts one execution in the memory's first word and tail-calls slot
// %d; after a failed tail call it returns the count plus %d.
const countAndTailCall = `
	mov %%r6, %%r1
	ldxw %%r7, [%%r6]
	add %%r7, 1
	stxw [%%r6], %%r7
	mov %%r1, %%r6
	lddw %%r2, map_idx 0
	mov %%r3, %d
	call 12
	ldxw %%r0, [%%r6]
	add %%r0, %d
	exit
`

// A program that tail-calls itself runs 1 + 33 times: the 34th tail call falls through.
func TestTailCallChainStopsAt33(t *testing.T) {
	requireJIT(t)
	w := newTCWorld(t)
	self := w.load(fmtSrc(countAndTailCall, 0, 1000))
	w.set(0, self)
	r0, count, tc := w.run(self)
	if count != 1+emit.MaxTailCalls || tc != emit.MaxTailCalls || r0 != 1000+1+emit.MaxTailCalls {
		t.Fatalf("count %d, tail calls %d, r0 %d; want %d executions, %d tail calls", count, tc, r0, 1+emit.MaxTailCalls, emit.MaxTailCalls)
	}
	// The counter belongs to the run: a second run starts again from 0.
	if _, count, _ := w.run(self); count != 1+emit.MaxTailCalls {
		t.Fatalf("second run: %d executions", count)
	}
}

// Two programs tail-calling each other share one limit.
func TestTailCallPingPongSharesTheLimit(t *testing.T) {
	requireJIT(t)
	w := newTCWorld(t)
	a := w.load(fmtSrc(countAndTailCall, 1, 100))
	b := w.load(fmtSrc(countAndTailCall, 0, 200))
	w.set(0, a)
	w.set(1, b)
	r0, count, _ := w.run(a)
	// 34 executions alternate a, b, a, ...: the 34th is b's.
	if count != 34 || r0 != 200+34 {
		t.Fatalf("count %d, r0 %d", count, r0)
	}
}

// An empty slot and an index past max entries fall through with registers intact.
func TestTailCallEmptyOrOutOfRangeFallsThrough(t *testing.T) {
	requireJIT(t)
	for _, tc := range []struct {
		name  string
		index int
	}{{"empty slot", 2}, {"index = max entries", 4}, {"index past max entries", 1000}, {"negative index as u32", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newTCWorld(t)
			other := w.load(fmtSrc(countAndTailCall, 3, 500))
			w.set(0, other) // a full slot that is not the one called
			p := w.load(fmtSrc(countAndTailCall, tc.index, 7))
			r0, count, _ := w.run(p)
			if count != 1 || r0 != 8 {
				t.Fatalf("count %d, r0 %d: want one execution returning 8", count, r0)
			}
		})
	}
}

// A tail call from a BPF-to-BPF callee replaces the callee: its caller gets the target's
// r0 and continues, and the chain through callees still stops at 33.
func TestTailCallFromCalleeReturnsToCaller(t *testing.T) {
	requireJIT(t)
	for _, kind := range []struct{ name, index string }{
		{"direct", "mov %r3, 1"},
		{"indirect", "ldxw %r3, [%r6+4]\nadd %r3, 1"},
	} {
		t.Run(kind.name, func(t *testing.T) { testTailCallFromCallee(t, kind.index) })
	}
}

func testTailCallFromCallee(t *testing.T, index string) {
	w := newTCWorld(t)
	// main calls f; f counts and tail-calls slot 1; the caller adds 10000 to what comes back.
	caller := w.load(`
		mov %r9, %r1
		mov %r8, 77
		call local f
		jne %r8, 77, +2
		add %r0, 10000
		exit
		mov %r0, 0
		exit
	f:
		mov %r6, %r1
		ldxw %r7, [%r6]
		add %r7, 1
		stxw [%r6], %r7
		mov %r1, %r6
		lddw %r2, map_idx 0
		` + index + `
		call 12
		mov %r0, 99
		exit
	`)
	// The target itself calls a function before tail-calling itself.
	target := w.load(`
		mov %r6, %r1
		call local g
		mov %r1, %r6
		lddw %r2, map_idx 0
		` + index + `
		call 12
		ldxw %r0, [%r6]
		exit
	g:
		ldxw %r2, [%r1]
		add %r2, 1
		stxw [%r1], %r2
		mov %r0, 0
		exit
	`)
	direct := !strings.Contains(index, "ldxw")
	for _, p := range []tcProg{caller, target} {
		if n := bpfjit.DirectTailCallSites(p.jit); (n == 1) != direct {
			t.Fatalf("%d direct sites (direct: %v)", n, direct)
		}
	}
	w.set(1, target)
	r0, count, tc := w.run(caller)
	if tc != emit.MaxTailCalls || count != 1+emit.MaxTailCalls || r0 != 10000+1+emit.MaxTailCalls {
		t.Fatalf("count %d, tail calls %d, r0 %d", count, tc, r0)
	}
}

// A program in a slot outlives its Close: Run refuses it, tail calls still reach it, and
// a closed program cannot enter a slot.
func TestClosedProgramInSlotStaysCallable(t *testing.T) {
	requireJIT(t)
	w := newTCWorld(t)
	target := w.load(fmtSrc(countAndTailCall, 3, 40))
	w.set(0, target)
	caller := w.load(fmtSrc(countAndTailCall, 0, 7))
	if err := target.jit.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := target.jit.Run(make([]byte, 8)); !errors.Is(err, bpfjit.ErrClosed) {
		t.Fatalf("Run of a closed program: %v", err)
	}
	runtime.GC()
	if r0, count, _ := w.run(caller); count != 2 || r0 != 42 {
		t.Fatalf("count %d, r0 %d", count, r0)
	}
	if err := w.jit.Map(0).SetProgram(1, target.jit); !errors.Is(err, maps.ErrBadProgram) {
		t.Fatalf("SetProgram of a closed program: %v", err)
	}
}

func fmtSrc(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// requireJIT skips where Load cannot run native code.
func requireJIT(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skip("no JIT on", runtime.GOOS, runtime.GOARCH)
	}
}

// countAndTailCallIndirect is countAndTailCall with an index the verifier cannot know (the
// context's spare word, zero in these runs, plus %d), so the call stays indirect.
const countAndTailCallIndirect = `
	mov %%r6, %%r1
	ldxw %%r7, [%%r6]
	add %%r7, 1
	stxw [%%r6], %%r7
	ldxw %%r3, [%%r6+4]
	add %%r3, %d
	mov %%r1, %%r6
	lddw %%r2, map_idx 0
	call 12
	ldxw %%r0, [%%r6]
	add %%r0, %d
	exit
`

// Direct, indirect and mixed chains all stop after 33 tail calls, and a constant key
// (and only a constant key) gives a direct site.
func TestDirectIndirectAndMixedChainsStopAt33(t *testing.T) {
	requireJIT(t)
	for _, tc := range []struct {
		name           string
		a, b           string // programs in slots 0 and 1; runs start at a
		directA, dirB  int
		wantR0, wantCt uint64
	}{
		{"direct", fmtSrc(countAndTailCall, 1, 100), fmtSrc(countAndTailCall, 0, 200), 1, 1, 200 + 34, 34},
		{"indirect", fmtSrc(countAndTailCallIndirect, 1, 100), fmtSrc(countAndTailCallIndirect, 0, 200), 0, 0, 200 + 34, 34},
		{"direct then indirect", fmtSrc(countAndTailCall, 1, 100), fmtSrc(countAndTailCallIndirect, 0, 200), 1, 0, 200 + 34, 34},
		{"indirect then direct", fmtSrc(countAndTailCallIndirect, 1, 100), fmtSrc(countAndTailCall, 0, 200), 0, 1, 200 + 34, 34},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newTCWorld(t)
			a, b := w.load(tc.a), w.load(tc.b)
			if n := bpfjit.DirectTailCallSites(a.jit); n != tc.directA {
				t.Errorf("a has %d direct sites, want %d", n, tc.directA)
			}
			if n := bpfjit.DirectTailCallSites(b.jit); n != tc.dirB {
				t.Errorf("b has %d direct sites, want %d", n, tc.dirB)
			}
			w.set(0, a)
			w.set(1, b)
			r0, count, tcs := w.run(a)
			if r0 != tc.wantR0 || uint64(count) != tc.wantCt || tcs != emit.MaxTailCalls {
				t.Fatalf("r0 %d, count %d, tail calls %d", r0, count, tcs)
			}
			for _, p := range []tcProg{a, b} {
				if errs := bpfjit.PokeErrors(p.jit); len(errs) > 0 {
					t.Fatal(errs)
				}
			}
		})
	}
}

// del empties slot i in both engines.
func (w *tcWorld) del(i uint32) {
	w.t.Helper()
	key := []byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)}
	if err := w.jit.Map(0).Delete(key); err != nil {
		w.t.Fatal(err)
	}
	if err := w.ipt.Map(0).Delete(key); err != nil {
		w.t.Fatal(err)
	}
}

// A direct site follows every change of its slot: filled before or after the caller is
// loaded, replaced, emptied and refilled.
func TestDirectTailCallFollowsSlotChanges(t *testing.T) {
	requireJIT(t)
	w := newTCWorld(t)
	b := w.load("mov %r0, 100\nexit")
	c := w.load("mov %r0, 200\nexit")
	w.set(1, b)
	early := w.load(fmtSrc(countAndTailCall, 1, 7)) // registered while the slot is full
	for _, step := range []struct {
		name string
		do   func()
		want uint64
	}{
		{"filled before load", func() {}, 100},
		{"replaced", func() { w.set(1, c) }, 200},
		{"emptied", func() { w.del(1) }, 8},
		{"refilled", func() { w.set(1, b) }, 100},
		{"replaced by itself", func() { w.set(1, b) }, 100},
	} {
		step.do()
		if r0, _, _ := w.run(early); r0 != step.want {
			t.Fatalf("%s: r0 %d, want %d", step.name, r0, step.want)
		}
	}
	w.del(1)
	late := w.load(fmtSrc(countAndTailCall, 1, 7)) // registered while the slot is empty
	if r0, _, _ := w.run(late); r0 != 8 {
		t.Fatalf("empty: r0 %d", r0)
	}
	w.set(1, c)
	if r0, _, _ := w.run(late); r0 != 200 {
		t.Fatalf("filled after load: r0 %d", r0)
	}
	if n := w.jit.Map(0).TrackedPokes(1); n != 2 {
		t.Fatalf("%d tracked sites, want 2", n)
	}
	// Closing a caller untracks its site; the array never patches its code again.
	if err := early.jit.Close(); err != nil {
		t.Fatal(err)
	}
	if n := w.jit.Map(0).TrackedPokes(1); n != 1 {
		t.Fatalf("after Close: %d tracked sites, want 1", n)
	}
	w.set(1, b)
	if r0, _, _ := w.run(late); r0 != 100 {
		t.Fatalf("after the other caller closed: r0 %d", r0)
	}
	for _, p := range []tcProg{early, late} {
		if errs := bpfjit.PokeErrors(p.jit); len(errs) > 0 {
			t.Fatal(errs)
		}
	}
}

// Constant blinding turns direct pokes off: the same program keeps an indirect call.
func TestBlindingKeepsTailCallsIndirect(t *testing.T) {
	requireJIT(t)
	w := newTCWorld(t)
	self := w.load(fmtSrc(countAndTailCall, 0, 1000), bpfjit.WithConstantBlinding())
	if n := bpfjit.DirectTailCallSites(self.jit); n != 0 {
		t.Fatalf("%d direct sites with blinding", n)
	}
	w.set(0, self)
	if r0, count, _ := w.run(self); count != 34 || r0 != 1034 {
		t.Fatalf("count %d, r0 %d", count, r0)
	}
}

// A closed program still in a slot is a valid target for sites registered later, direct
// or indirect alike.
func TestClosedProgramInSlotReachedByLaterDirectSites(t *testing.T) {
	requireJIT(t)
	w := newTCWorld(t)
	target := w.load("mov %r0, 55\nexit")
	w.set(2, target)
	if err := target.jit.Close(); err != nil {
		t.Fatal(err)
	}
	direct := w.load(fmtSrc(countAndTailCall, 2, 7))
	indirect := w.load(fmtSrc(countAndTailCallIndirect, 2, 7))
	for _, p := range []tcProg{direct, indirect} {
		if r0, _, _ := w.run(p); r0 != 55 {
			t.Fatalf("r0 %d, want the closed target's 55", r0)
		}
	}
	w.del(2) // the last reference: the code is retired after running calls return
	for _, p := range []tcProg{direct, indirect} {
		if r0, _, _ := w.run(p); r0 != 8 {
			t.Fatalf("after delete: r0 %d, want fall-through 8", r0)
		}
	}
}

// The tail-call code reads the program array's header at the offsets package maps
// documents.
func TestTailCallHeaderOffsetsMatchMaps(t *testing.T) {
	if emit.HeaderBaseOffset != maps.HeaderBaseOffset || emit.HeaderMaxEntriesOffset != maps.HeaderMaxEntriesOffset {
		t.Fatalf("emit reads base at %d and max entries at %d; maps puts them at %d and %d",
			emit.HeaderBaseOffset, emit.HeaderMaxEntriesOffset, maps.HeaderBaseOffset, maps.HeaderMaxEntriesOffset)
	}
}

// Tail calls from BPF-to-BPF callees keep the frames below them, so a chain of them grows
// the native stack; the JIT lets such a call fall through once the run has used more than
// a limit of native stack. With the verifier's 512-byte bound per call chain, 33 tail calls
// from the deepest callees fit under the default limit; a lowered limit shows the guard.
// (The interpreter caps frames across tail calls at interp.MaxFrames and would fail these
// runs instead, so the JIT alone is checked.)
func TestTailCallsFromDeepCalleesStopBeforeTheStackOverflows(t *testing.T) {
	requireJIT(t)
	// main → f1 → … → f<depth>, each with a 64-byte frame (the verifier allows 512 bytes
	// along a call chain) and all of r6-r9 saved; the last counts and tail-calls slot 0
	// (the program itself), then returns the count.
	program := func(depth int) string {
		const frame = "mov %r7, 0\nmov %r8, 0\nmov %r9, 0\nstdw [%r10-64], 0\n"
		var b strings.Builder
		b.WriteString("mov %r6, %r1\n" + frame + "call local f1\nexit\n")
		for k := 1; k < depth; k++ {
			fmt.Fprintf(&b, "f%d:\nmov %%r6, %%r1\n%scall local f%d\nexit\n", k, frame, k+1)
		}
		fmt.Fprintf(&b, "f%d:\nmov %%r6, %%r1\n%s", depth, frame)
		b.WriteString("ldxw %r7, [%r6]\nadd %r7, 1\nstxw [%r6], %r7\nmov %r1, %r6\nlddw %r2, map_idx 0\nmov %r3, 0\ncall 12\nldxw %r0, [%r6]\nexit\n")
		return b.String()
	}
	for _, tc := range []struct {
		depth    int
		limit    int32 // 0: the default
		complete bool  // all 33 tail calls fit
	}{{1, 0, true}, {7, 0, true}, {7, 6000, false}} {
		t.Run(fmt.Sprintf("depth %d limit %d", tc.depth, tc.limit), func(t *testing.T) {
			if tc.limit > 0 {
				defer bpfjit.SetTailCallStackLimit(tc.limit)()
			}
			w := newTCWorld(t)
			p := w.load(program(tc.depth))
			w.set(0, p)
			mem := make([]byte, 8)
			r0, err := p.jit.Run(mem)
			if err != nil {
				t.Fatal(err)
			}
			if tc.complete && r0 != 34 || !tc.complete && (r0 < 2 || r0 >= 34) {
				t.Fatalf("%d executions (complete: %v)", r0, tc.complete)
			}
			t.Logf("%d executions", r0)
		})
	}
}

// A program loaded with an execution budget cannot enter a program array.
func TestBudgetedProgramIsNoTailCallTarget(t *testing.T) {
	requireJIT(t)
	w := newTCWorld(t)
	p := w.load("mov %r0, 1\nexit", bpfjit.WithBudget(100))
	if err := w.jit.Map(0).SetProgram(0, p.jit); !errors.Is(err, maps.ErrBadProgram) {
		t.Fatalf("SetProgram: %v", err)
	}
	if w.jit.Map(0).Program(0) != nil {
		t.Fatal("the slot holds the budgeted program")
	}
}

// Random program arrays (programs tail-calling fixed or computed slots, empty slots,
// out-of-range keys) changed between runs: the JIT agrees with the interpreter on r0 and
// the context after every run.
func TestTailCallsDifferentialAgainstInterpreter(t *testing.T) {
	requireJIT(t)
	rounds := 200
	if testing.Short() {
		rounds = 50
	}
	r := rand.New(rand.NewPCG(7, 11))
	for round := range rounds / 10 {
		w := newTCWorld(t)
		var progs []tcProg
		for id := range 4 {
			key := r.IntN(6) // 4 and 5 are out of range
			src := fmtSrc(`
				mov %%r6, %%r1
				ldxw %%r7, [%%r6]
				mul %%r7, 3
				add %%r7, %d
				stxw [%%r6], %%r7
				mov %%r1, %%r6
				lddw %%r2, map_idx 0
				%s
				call 12
				ldxw %%r0, [%%r6]
				add %%r0, %d
				exit`, id+1, map[bool]string{
				true:  fmtSrc("mov %%r3, %d", key),
				false: fmtSrc("ldxw %%r3, [%%r6+4]\nadd %%r3, %d", key),
			}[r.IntN(2) == 0], 100*id)
			progs = append(progs, w.load(src))
		}
		for run := range 10 {
			for slot := range uint32(4) {
				switch k := r.IntN(6); {
				case k < 4:
					w.set(slot, progs[k])
				case k == 4 && w.jit.Map(0).Program(slot) != nil:
					w.del(slot)
				}
			}
			start := progs[r.IntN(4)]
			if _, _, _ = w.run(start); t.Failed() {
				t.Fatalf("round %d run %d", round, run)
			}
		}
	}
}

// The index is a u32, as in the kernel (both its interpreter and its JITs truncate r3):
// 2^32+1 selects slot 1. maps.TailCaller makes the interpreter fail such a call instead,
// so the JIT alone is checked here.
func TestTailCallIndexIsTruncatedToU32(t *testing.T) {
	requireJIT(t)
	w := newTCWorld(t)
	target := w.load("mov %r0, 55\nexit")
	w.set(1, target)
	for _, index := range []string{"lddw %r3, 0x100000001", "ldxw %r3, [%r6+4]\nlddw %r4, 0x100000001\nadd %r3, %r4"} {
		p := w.load(`
			mov %r6, %r1
			mov %r1, %r6
			lddw %r2, map_idx 0
			` + index + `
			call 12
			mov %r0, 7
			exit`)
		if r0, err := p.jit.Run(make([]byte, 8)); err != nil || r0 != 55 {
			t.Errorf("%q: r0 %d, %v; want the program in slot 1", index, r0, err)
		}
	}
}
