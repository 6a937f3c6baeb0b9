//go:build linux && (amd64 || arm64)

package bridge

import (
	"errors"
	"runtime"
	"runtime/debug"
	"unsafe"

	"github.com/bpfjit/bpfjit/execmem"
)

// Run executes img from its first byte on a pooled native stack with *args
// in the argument registers (nil: all zero) and the helper table h (nil: no
// helpers), and returns the native result register. See the package
// documentation for the calling contract.
//
// The arguments are passed by address because a caller that fills an Args
// word by word and then passes it by value makes the compiler copy it with
// 16-byte moves, whose loads cannot be served from the narrower stores
// still in flight: that stall cost about 5 ns a run, as much as the run.
//
// Errors: ErrRetired if img was retired before the run entered it;
// *HelperPanicError if a helper panicked; *UnknownHelperError if the code
// called an id missing from h; *StackError if no native stack could be
// mapped. If a helper calls runtime.Goexit, the goroutine exits as usual
// and the native stack still goes back to the pool.
func Run(img *execmem.Image, h *Helpers, args *Args) (uint64, error) {
	// Small enough to be inlined (the nil test folds away for a caller's
	// &Args{...}): args goes straight to runOwn, which runs code without
	// helpers and tail-calls run for everything else.
	if args == nil {
		args = &noArgs
	}
	if raceEnabled {
		return run(img, h, args)
	}
	return runOwn(img, h, args)
}

// noArgs stands for a nil *Args (native code never writes its arguments).
var noArgs Args

// ownEnded is runOwn's tail call for a run that ended early: st says why
// (statusRetired, or statusUnknownHelper with id the helper id).
func ownEnded(st, id uint64, _ *Args) (uint64, error) {
	if st == statusRetired {
		return 0, ErrRetired
	}
	return 0, &UnknownHelperError{ID: id}
}

// run is Run past runOwn: this M has no own machine yet (or the fast path
// is off), or the run has helpers. args must not escape: runOwn, which
// tail-calls run, promises so (go:noescape).
func run(img *execmem.Image, h *Helpers, args *Args) (uint64, error) {
	if img == nil {
		return 0, ErrNilImage
	}
	if h.Len() == 0 && !raceEnabled {
		installOwn() // for this M's next runs
		if r0, ran, err := runPinned(img, args); ran {
			return r0, err
		}
	}
	m, err := getMachine()
	if err != nil {
		return 0, err
	}
	if h.Len() == 0 {
		// Without helpers no Go code runs inside the call, so nothing can
		// panic or Goexit through it: no defer needed.
		c := m.prepare(nil, args)
		r0, err := c.outcome(enter(c, img), nil)
		putMachine(m) // last: the machine is someone else's from here on
		return r0, err
	}
	return m.runWithHelpers(img, h, args)
}

func (m *machine) runWithHelpers(img *execmem.Image, h *Helpers, args *Args) (r0 uint64, err error) {
	defer m.finish(h, &err)
	c := m.prepare(h, args)
	r0 = enter(c, img)
	runtime.KeepAlive(h)
	return c.outcome(r0, h)
}

// prepare sets up the Context for a run. With no helpers, helperN = 0
// makes every helper id unknown and helperTab is never read.
func (m *machine) prepare(h *Helpers, args *Args) *Context {
	c := m.ctx
	// Element-wise: a block copy of the caller's array reads it with wider
	// loads than the stores that wrote it, which stalls store forwarding.
	c.args[0], c.args[1], c.args[2], c.args[3], c.args[4] = args[0], args[1], args[2], args[3], args[4]
	c.helperN = 0
	if h != nil && len(h.fvs) > 0 {
		c.helperTab = uintptr(unsafe.Pointer(&h.fvs[0]))
		c.helperN = uint64(len(h.fvs))
	}
	return c
}

// outcome turns the result of enter into Run's results: a run that ended
// early returns 0 and records why in c.status.
func (c *Context) outcome(r0 uint64, h *Helpers) (uint64, error) {
	if r0 != 0 || c.status == 0 {
		return r0, nil
	}
	s := c.status
	c.status = 0
	if s == statusRetired {
		return 0, ErrRetired
	}
	return 0, &UnknownHelperError{ID: c.helperID, Table: h.Len()}
}

// finish runs deferred at the end of every run with helpers and returns
// the machine to the pool.
func (m *machine) finish(h *Helpers, err *error) {
	if c := m.ctx; c.runner.Inside() {
		// A panic or Goexit unwound through the native frames, so the entry
		// stub never marked the runner outside.
		c.runner.ForceExit()
		if p := recover(); p != nil {
			*err = &HelperPanicError{Helper: c.helperID, Value: p, Stack: debug.Stack()}
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
func (mc *Machine) Run(img *execmem.Image, h *Helpers, args *Args) (uint64, error) {
	if args == nil {
		args = &noArgs
	}
	if img == nil {
		return 0, ErrNilImage
	}
	m := mc.m
	if m == nil || mc.busy {
		return 0, ErrMachineBusy
	}
	if h.Len() == 0 {
		// An earlier run with helpers may have left its table: without
		// helpers every id must be unknown (runOn must never reach Go).
		m.ctx.helperN = 0
		return runOn(m.ctx, img, args)
	}
	return mc.runWithHelpers(img, h, args)
}

// runWithHelpers is Machine.Run's path with helpers, kept out of Run so
// that the helper-less path pays nothing for the deferred finish.
func (mc *Machine) runWithHelpers(img *execmem.Image, h *Helpers, args *Args) (r0 uint64, err error) {
	mc.busy = true
	defer mc.finish(h, &err)
	c := mc.m.prepare(h, args)
	r0 = enter(c, img)
	runtime.KeepAlive(h)
	return c.outcome(r0, h)
}

func (mc *Machine) finish(h *Helpers, err *error) {
	mc.busy = false
	if c := mc.m.ctx; c.runner.Inside() {
		c.runner.ForceExit()
		if p := recover(); p != nil {
			*err = &HelperPanicError{Helper: c.helperID, Value: p, Stack: debug.Stack()}
		}
	}
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
