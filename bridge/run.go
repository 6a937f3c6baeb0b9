//go:build linux && (amd64 || arm64)

package bridge

import (
	"errors"
	"runtime"
	"runtime/debug"
	"unsafe"

	"github.com/bpfjit/bpfjit/execmem"
)

// Run executes img from its first byte on a pooled native stack with args
// in the argument registers and the helper table h (nil: no helpers), and
// returns the native result register. See the package documentation for
// the calling contract.
//
// Errors: ErrRetired if img was retired before the run entered it;
// *HelperPanicError if a helper panicked; *UnknownHelperError if the code
// called an id missing from h; *StackError if no native stack could be
// mapped. If a helper calls runtime.Goexit, the goroutine exits as usual
// and the native stack still goes back to the pool.
func Run(img *execmem.Image, h *Helpers, args Args) (r0 uint64, err error) {
	if img == nil {
		return 0, ErrNilImage
	}
	m, err := getMachine()
	if err != nil {
		return 0, err
	}
	defer m.finish(h, &err)
	c := m.prepare(h, &args)
	r0 = enter(c, img)
	runtime.KeepAlive(h)
	if r0 == 0 && c.status != 0 {
		c.status = 0
		return 0, ErrRetired
	}
	return r0, nil
}

// prepare sets up the Context for a run.
func (m *machine) prepare(h *Helpers, args *Args) *Context {
	c := m.ctx
	// Element-wise: a block copy of the caller's array reads it with wider
	// loads than the stores that wrote it, which stalls store forwarding.
	c.args[0], c.args[1], c.args[2], c.args[3], c.args[4] = args[0], args[1], args[2], args[3], args[4]
	if h != nil && len(h.fvs) > 0 {
		c.helperTab = uintptr(unsafe.Pointer(&h.fvs[0]))
		c.helperN = uint64(len(h.fvs))
	} else {
		c.helperTab, c.helperN = 0, 0
	}
	return c
}

// finish runs deferred at the end of every Run and returns the machine to
// the pool.
func (m *machine) finish(h *Helpers, err *error) {
	if c := m.ctx; c.runner.Inside() {
		// A panic or Goexit unwound through the native frames, so the entry
		// stub never marked the runner outside.
		c.runner.ForceExit()
		if p := recover(); p != nil {
			*err = helperError(c, h, p)
		}
	}
	putMachine(m)
}

// Machine is a native stack held by one goroutine across many runs, for
// loops that run native code back to back: Machine.Run skips the pool.
// A Machine must not be used by two goroutines at once; a helper that
// needs to run native code uses Run (which takes another stack), and
// Machine.Run called again from a helper of the same machine returns
// ErrMachineBusy. Release returns the stack to the pool; if the goroutine
// may exit through runtime.Goexit, defer the Release.
type Machine struct {
	m    *machine
	busy bool
}

// ErrMachineBusy is returned by Machine.Run when the machine is already
// running (re-entered from one of its helpers) or has been released.
var ErrMachineBusy = errors.New("bridge: machine busy or released")

// AcquireMachine takes a native stack from the pool.
func AcquireMachine() (*Machine, error) {
	m, err := getMachine()
	if err != nil {
		return nil, err
	}
	return &Machine{m: m}, nil
}

// Release returns the machine's stack to the pool. Further runs return
// ErrMachineBusy.
func (mc *Machine) Release() {
	if mc.m != nil && !mc.busy {
		putMachine(mc.m)
		mc.m = nil
	}
}

// Run is like the package-level Run, on this machine's stack.
func (mc *Machine) Run(img *execmem.Image, h *Helpers, args Args) (r0 uint64, err error) {
	if img == nil {
		return 0, ErrNilImage
	}
	m := mc.m
	if m == nil || mc.busy {
		return 0, ErrMachineBusy
	}
	mc.busy = true
	defer mc.finish(h, &err)
	c := m.prepare(h, &args)
	r0 = enter(c, img)
	runtime.KeepAlive(h)
	if r0 == 0 && c.status != 0 {
		c.status = 0
		return 0, ErrRetired
	}
	return r0, nil
}

func (mc *Machine) finish(h *Helpers, err *error) {
	mc.busy = false
	if c := mc.m.ctx; c.runner.Inside() {
		c.runner.ForceExit()
		if p := recover(); p != nil {
			*err = helperError(c, h, p)
		}
	}
}

func helperError(c *Context, h *Helpers, p any) error {
	if p == errUnknownHelper {
		n := 0
		if h != nil {
			n = h.Len()
		}
		return &UnknownHelperError{ID: c.helperID, Table: n}
	}
	return &HelperPanicError{Helper: c.helperID, Value: p, Stack: debug.Stack()}
}

// GateEntry returns the address of the gate-entry thunk (the value of the
// Context word at CtxGateEntry), fixed for the life of the process, for JIT
// code that prefers an absolute call.
func GateEntry() (uintptr, error) {
	if err := initThunks(); err != nil {
		return 0, err
	}
	return thunks.gateEntry, nil
}

// preemptPoint is called by the gate when SP is at or below g.stackguard0.
// Not being a leaf, it has a stack-check prologue, which sends it through
// morestack: that serves a pending preemption request or grows the stack,
// exactly as the prologue of an ordinary Go call would.
//
//go:noinline
func preemptPoint() { preemptNop() }

//go:noinline
func preemptNop() {}
