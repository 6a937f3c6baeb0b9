//go:build linux && (amd64 || arm64)

package bridge_test

import (
	"testing"

	"github.com/bpfjit/bpfjit/bridge"
)

// Benchmarks for the acceptance ratios; run them together:
//
//	go test -run '^$' -bench . -count 10 ./bridge/
//
// Helper round trips are measured inside one run of progHelperLoop making
// b.N calls, so they exclude the Run overhead.

func sum5(r1, r2, r3, r4, r5 uint64) uint64 { return r1 + r2 + r3 + r4 + r5 }

// BenchmarkRunEmpty: a full Run of a function that returns at once (native
// stack from the pool, context set up, returned).
func BenchmarkRunEmpty(b *testing.B) {
	img := load(b, progReturnArg())
	for i := 0; b.Loop(); i++ {
		if r, err := bridge.Run(img, nil, &bridge.Args{uint64(i)}); err != nil || r != uint64(i) {
			b.Fatal(r, err)
		}
	}
}

// BenchmarkHelperGate: one helper call with five arguments through the gate.
func BenchmarkHelperGate(b *testing.B) {
	img := load(b, progHelperLoop())
	h := helpers(b, nil, nil, sum5)
	b.ResetTimer()
	r, err := bridge.Run(img, h, &bridge.Args{uint64(b.N), 2})
	if err != nil || r == badResult {
		b.Fatal(r, err)
	}
}

// BenchmarkHelperExitReenter: the same call through the exit/re-enter
// baseline.
func BenchmarkHelperExitReenter(b *testing.B) {
	img := load(b, progHelperLoop())
	h := helpers(b, nil, nil, sum5)
	x, err := bridge.NewExitReenter()
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if r := x.Run(img, h, &bridge.Args{uint64(b.N), 2}); r == badResult {
		b.Fatal(r)
	}
}

var (
	sink     uint64
	indirect bridge.Helper = sum5 // a variable: the compiler cannot devirtualise the call
)

// BenchmarkGoIndirectCall: the helper called through a Go func value.
func BenchmarkGoIndirectCall(b *testing.B) {
	var s uint64
	for i := 0; b.Loop(); i++ {
		s += indirect(uint64(i), 2, uint64(i), 4, 5)
	}
	sink = s
}

// BenchmarkMachineRunEmpty: the same run on a stack held across runs
// (AcquireMachine), without the pool.
func BenchmarkMachineRunEmpty(b *testing.B) {
	img := load(b, progReturnArg())
	m, err := bridge.AcquireMachine()
	if err != nil {
		b.Fatal(err)
	}
	defer m.Release()
	for i := 0; b.Loop(); i++ {
		if r, err := m.Run(img, nil, &bridge.Args{uint64(i)}); err != nil || r != uint64(i) {
			b.Fatal(r, err)
		}
	}
}

// BenchmarkRunOneHelperCall: a full Run whose code makes one helper call
// (the pool path with the panic guard, plus one gate round trip).
func BenchmarkRunOneHelperCall(b *testing.B) {
	img := load(b, progCallHelper(2))
	h := helpers(b, nil, nil, sum5)
	for i := 0; b.Loop(); i++ {
		if r, err := bridge.Run(img, h, &bridge.Args{uint64(i), 1, 1, 1, 1}); err != nil || r != uint64(i)+4 {
			b.Fatal(r, err)
		}
	}
}
