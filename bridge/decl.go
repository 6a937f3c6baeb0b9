//go:build linux && (amd64 || arm64)

package bridge

import (
	"sync"

	"github.com/bpfjit/bpfjit/execmem"
)

// Implemented in bridge_$GOARCH.s.

// enter marks c's runner inside, loads img's entry (ImageEntryOffset) and,
// unless it is 0 (retired: sets c.status), calls the entry thunk; then marks
// the runner outside. An ordinary frame with a frame pointer: while a helper
// runs, the gate appears to have been called from here.
func enter(c *Context, img *execmem.Image) uint64

// gate calls a helper closure from native code; see bridge_$GOARCH.s.
func gate()

// gateAddr returns the ABI0 address of gate.
func gateAddr() uintptr

// enterER and resumeER are the exit/re-enter baseline (see exitreenter.go).
func enterER(c *Context)
func resumeER(c *Context)

// thunks are the native pieces of the bridge, emitted once per process.
var thunks struct {
	once      sync.Once
	err       error
	img       *execmem.Image
	entry     uintptr // called by enter: switch to the native stack, run
	gateEntry uintptr // called by JIT code for a helper
	resume    uintptr // jumped to by gate after the helper returned
	gate      uintptr // Go-assembly gate
	exitEntry uintptr // exit/re-enter baseline gate entry
}

// entryThunk is read by enter (bridge_$GOARCH.s).
var entryThunk uintptr

var thunkArena = execmem.New(execmem.Options{})

func initThunks() error {
	thunks.once.Do(func() {
		code, offs, err := emitThunks()
		if err != nil {
			thunks.err = err
			return
		}
		img, err := thunkArena.Load(code)
		if err != nil {
			thunks.err = err
			return
		}
		base := img.Addr()
		thunks.img = img
		thunks.entry = base + uintptr(offs.entry)
		thunks.gateEntry = base + uintptr(offs.gateEntry)
		thunks.resume = base + uintptr(offs.resume)
		thunks.exitEntry = base + uintptr(offs.exitEntry)
		thunks.gate = gateAddr()
		entryThunk = thunks.entry
	})
	return thunks.err
}

// thunkOffsets are the offsets of the thunks in the emitted code.
type thunkOffsets struct {
	entry, gateEntry, resume, exitEntry int
}
