//go:build linux && (amd64 || arm64)

package bridge_test

import (
	"fmt"

	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/execmem"
)

// A JIT loads its output into executable memory and runs it with a helper
// table. progCallHelper(1) stands in for JIT output: it calls helper 1 with
// its own arguments and returns the result.
func Example() {
	arena := execmem.New(execmem.Options{})
	img, err := arena.Load(progCallHelper(1))
	if err != nil {
		panic(err)
	}
	h, err := bridge.NewHelpers([]bridge.Helper{
		1: func(r1, r2, r3, r4, r5 uint64) uint64 { return r1 + r2 },
	})
	if err != nil {
		panic(err)
	}
	r0, err := bridge.Run(img, h, &bridge.Args{40, 2})
	fmt.Println(r0, err)

	// Retired code is never entered again; its memory is freed once no run
	// can be inside it.
	arena.Retire(img)
	_, err = bridge.Run(img, h, &bridge.Args{40, 2})
	fmt.Println(err)
	// Output:
	// 42 <nil>
	// bridge: image retired
}
