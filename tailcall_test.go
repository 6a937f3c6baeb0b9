package bpfjit_test

import (
	"errors"
	"fmt"
	"runtime"
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
		mov %r3, 1
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
		mov %r3, 1
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
