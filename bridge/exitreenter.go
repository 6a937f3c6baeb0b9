//go:build linux && (amd64 || arm64)

package bridge

import (
	"unsafe"

	"github.com/bpfjit/bpfjit/execmem"
)

// The exit/re-enter design (wazero's, and the previous prototype's) is kept
// as the baseline the gate is measured against: a helper call returns all
// the way out of native code to a Go loop, which runs the helper and
// re-enters through an SP-writing stub. It is unexported, supports no
// panics, and exists for BenchmarkHelperExitReenter.

// exitReenterMachine is a native stack whose Context routes helper calls to
// the exit thunk.
type exitReenterMachine struct {
	m *machine
}

func newExitReenterMachine() (*exitReenterMachine, error) {
	m, err := newMachine()
	if err != nil {
		return nil, err
	}
	m.ctx.gateEntry = thunks.exitEntry
	return &exitReenterMachine{m}, nil
}

// run executes img with h, servicing helper calls from a Go loop.
func (e *exitReenterMachine) run(img *execmem.Image, h *Helpers, args Args) uint64 {
	c := e.m.ctx
	c.args = args
	c.code = img.Entry()
	c.helperTab = uintptr(unsafe.Pointer(&h.fvs[0]))
	c.helperN = uint64(len(h.fvs))
	enterER(c)
	for c.exitCode != 0 {
		c.ret = h.fns[c.helperID](c.args[0], c.args[1], c.args[2], c.args[3], c.args[4])
		resumeER(c)
	}
	return c.ret
}
