//go:build linux && (amd64 || arm64)

package bridge

import "github.com/bpfjit/bpfjit/execmem"

// ExitReenter exposes the exit/re-enter baseline to the benchmarks.
type ExitReenter struct{ e *exitReenterMachine }

func NewExitReenter() (*ExitReenter, error) {
	e, err := newExitReenterMachine()
	return &ExitReenter{e}, err
}

func (x *ExitReenter) Run(img *execmem.Image, h *Helpers, args *Args) uint64 {
	return x.e.run(img, h, *args)
}
