//go:build linux && (amd64 || arm64)

package bridge_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/execmem"
)

var testArena = execmem.New(execmem.Options{TrapFreed: true})

func load(t testing.TB, code []byte) *execmem.Image {
	t.Helper()
	img, err := testArena.Load(code)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { testArena.Retire(img) })
	return img
}

func helpers(t testing.TB, fns ...bridge.Helper) *bridge.Helpers {
	t.Helper()
	h, err := bridge.NewHelpers(fns)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestRunPassesArgumentsAndResult(t *testing.T) {
	ret, sum := load(t, progReturnArg()), load(t, progSumArgs())
	tests := []struct {
		name string
		img  *execmem.Image
		args bridge.Args
		want uint64
	}{
		{"R1 comes back", ret, bridge.Args{42}, 42},
		{"all 64 bits of R1", ret, bridge.Args{0xfedcba9876543210}, 0xfedcba9876543210},
		{"five arguments", sum, bridge.Args{1, 20, 300, 4000, 50000}, 54321},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bridge.Run(tt.img, nil, &tt.args)
			if err != nil || got != tt.want {
				t.Fatalf("Run = %#x, %v; want %#x", got, err, tt.want)
			}
		})
	}
}

func TestHelperCallRoundTrip(t *testing.T) {
	var seen [5]uint64
	h := helpers(t, nil, func(r1, r2, r3, r4, r5 uint64) uint64 {
		seen = [5]uint64{r1, r2, r3, r4, r5}
		return r1*10 + r5
	})
	img := load(t, progCallHelper(1))
	got, err := bridge.Run(img, h, &bridge.Args{7, 8, 9, 10, 11})
	if err != nil || got != 81 {
		t.Fatalf("Run = %d, %v; want 81", got, err)
	}
	if seen != [5]uint64{7, 8, 9, 10, 11} {
		t.Errorf("helper saw %v, want 7..11", seen)
	}
}

func TestHelperLoopPreservesRegisters(t *testing.T) {
	h := helpers(t, nil, nil, func(r1, r2, r3, r4, r5 uint64) uint64 { return r1 + r2 + r3 + r4 + r5 })
	img := load(t, progHelperLoop())
	for _, n := range []uint64{0, 1, 2, 100, 10000} {
		got, err := bridge.Run(img, h, &bridge.Args{n, 2, 1000})
		want := n*(n+1) + n*1009 // sum of (i + 1000 + i + 4 + 5)
		if err != nil || got != want {
			t.Fatalf("n=%d: Run = %d, %v; want %d", n, got, err, want)
		}
	}
}

func TestUnknownHelperIsAnError(t *testing.T) {
	h := helpers(t, nil, func(_, _, _, _, _ uint64) uint64 { return 0 })
	tests := []struct {
		name string
		id   int32
		h    *bridge.Helpers
	}{
		{"past the end", 7, h},
		{"hole in the table", 0, h},
		{"no table", 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := bridge.Stats()
			_, err := bridge.Run(load(t, progCallHelper(tt.id)), tt.h, &bridge.Args{})
			var ue *bridge.UnknownHelperError
			if !errors.As(err, &ue) || ue.ID != uint64(tt.id) {
				t.Fatalf("error %v, want UnknownHelperError for id %d", err, tt.id)
			}
			if after := bridge.Stats(); after.InUse != before.InUse {
				t.Errorf("native stacks in use %d -> %d", before.InUse, after.InUse)
			}
		})
	}
}

func TestHelperPanicIsAnError(t *testing.T) {
	boom := errors.New("boom")
	h := helpers(t, nil, nil, func(r1, _, _, _, _ uint64) uint64 {
		if r1 == 3 {
			panic(boom)
		}
		return 1
	})
	img := load(t, progHelperLoop())
	before := bridge.Stats()
	_, err := bridge.Run(img, h, &bridge.Args{5, 2})
	var pe *bridge.HelperPanicError
	if !errors.As(err, &pe) || pe.Helper != 2 || !errors.Is(err, boom) {
		t.Fatalf("error %v, want HelperPanicError from helper 2 wrapping boom", err)
	}
	if after := bridge.Stats(); after.InUse != before.InUse {
		t.Errorf("native stacks in use %d -> %d", before.InUse, after.InUse)
	}
	// The stack and context are reusable.
	got, err := bridge.Run(img, h, &bridge.Args{2, 2})
	if err != nil || got != 2 {
		t.Fatalf("run after a panic = %d, %v; want 2", got, err)
	}
}

func TestRetiredImageIsRefused(t *testing.T) {
	img, err := testArena.Load(progReturnArg())
	if err != nil {
		t.Fatal(err)
	}
	testArena.Retire(img)
	if got, err := bridge.Run(img, nil, &bridge.Args{5}); !errors.Is(err, bridge.ErrRetired) || got != 0 {
		t.Fatalf("Run of a retired image = %d, %v; want ErrRetired", got, err)
	}
}

func TestMachineRunsBackToBack(t *testing.T) {
	sum := load(t, progSumArgs())
	call := load(t, progCallHelper(1))
	m, err := bridge.AcquireMachine()
	if err != nil {
		t.Fatal(err)
	}
	before := bridge.Stats()
	for i := range uint64(100) {
		if got, err := m.Run(sum, nil, &bridge.Args{i, 1}); err != nil || got != i+1 {
			t.Fatalf("run %d = %d, %v", i, got, err)
		}
	}
	// Re-entering the machine from its own helper is refused; Run works.
	var inner error
	h := helpers(t, nil, func(r1, _, _, _, _ uint64) uint64 {
		_, inner = m.Run(sum, nil, &bridge.Args{})
		v, err := bridge.Run(sum, nil, &bridge.Args{r1, 1})
		if err != nil {
			panic(err)
		}
		return v
	})
	if got, err := m.Run(call, h, &bridge.Args{41}); err != nil || got != 42 {
		t.Fatalf("run with a nested Run = %d, %v; want 42", got, err)
	}
	if !errors.Is(inner, bridge.ErrMachineBusy) {
		t.Errorf("re-entrant Machine.Run error = %v, want ErrMachineBusy", inner)
	}
	// A helper panic leaves the machine usable.
	boom := helpers(t, nil, func(_, _, _, _, _ uint64) uint64 { panic("boom") })
	var pe *bridge.HelperPanicError
	if _, err := m.Run(call, boom, &bridge.Args{}); !errors.As(err, &pe) {
		t.Fatalf("error %v, want HelperPanicError", err)
	}
	if got, err := m.Run(sum, nil, &bridge.Args{2, 3}); err != nil || got != 5 {
		t.Fatalf("run after a panic = %d, %v", got, err)
	}
	// A run without helpers after one with them calls no helper: the id
	// is unknown, whatever table the machine ran with before; a retired
	// image is refused.
	if got, err := m.Run(call, h, &bridge.Args{1}); err != nil || got != 2 {
		t.Fatalf("run with helpers = %d, %v; want 2", got, err)
	}
	var ue *bridge.UnknownHelperError
	if got, err := m.Run(call, nil, &bridge.Args{1}); !errors.As(err, &ue) || ue.ID != 1 || got != 0 {
		t.Fatalf("helper call without helpers = %d, %v; want UnknownHelperError for id 1", got, err)
	}
	retired, err := testArena.Load(progSumArgs())
	if err != nil {
		t.Fatal(err)
	}
	testArena.Retire(retired)
	if got, err := m.Run(retired, nil, &bridge.Args{1}); !errors.Is(err, bridge.ErrRetired) || got != 0 {
		t.Fatalf("run of a retired image = %d, %v; want ErrRetired", got, err)
	}
	m.Release()
	if _, err := m.Run(sum, nil, &bridge.Args{}); !errors.Is(err, bridge.ErrMachineBusy) {
		t.Errorf("run after Release: error %v, want ErrMachineBusy", err)
	}
	if after := bridge.Stats(); after.InUse != before.InUse-1 {
		t.Errorf("stacks in use %d -> %d, want one fewer after Release", before.InUse, after.InUse)
	}
}

func TestHelperTables(t *testing.T) {
	if _, err := bridge.NewHelpers(make([]bridge.Helper, bridge.MaxHelpers+1)); err == nil {
		t.Error("a table larger than MaxHelpers was accepted")
	}
	var nilTable *bridge.Helpers
	if nilTable.Len() != 0 {
		t.Error("a nil table has entries")
	}
	// The table is a copy: changing the caller's slice changes nothing.
	fns := []bridge.Helper{func(_, _, _, _, _ uint64) uint64 { return 1 }}
	h := helpers(t, fns...)
	fns[0] = func(_, _, _, _, _ uint64) uint64 { return 2 }
	if got, err := bridge.Run(load(t, progCallHelper(0)), h, &bridge.Args{}); err != nil || got != 1 {
		t.Errorf("Run = %d, %v; want the helper from construction time (1)", got, err)
	}
}

func TestHelperPanicErrorCarriesTheStack(t *testing.T) {
	h := helpers(t, nil, func(_, _, _, _, _ uint64) uint64 { panic("with a stack") })
	_, err := bridge.Run(load(t, progCallHelper(1)), h, &bridge.Args{})
	var pe *bridge.HelperPanicError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v, want HelperPanicError", err)
	}
	if !strings.Contains(string(pe.Stack), "TestHelperPanicErrorCarriesTheStack") {
		t.Errorf("panic stack does not show the helper:\n%s", pe.Stack)
	}
	if want := "bridge: helper 1 panicked: with a stack"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
}
