//go:build linux && (amd64 || arm64)

package bridge

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/bpfjit/bpfjit/execmem"
)

// runOwn is Run outside race builds (bridge_$GOARCH.s). A run without
// helpers of a non-nil image on an M (OS thread) that has its own machine
// happens right there: runOwn finds the machine from g.m itself, with no
// procPin (see the assembly for why that is sound). Anything else is a
// tail call with the same arguments to run, and a run that ended early one
// to ownEnded.
//
//go:noescape
func runOwn(img *execmem.Image, h *Helpers, args *Args) (uint64, error)

// curG returns the running goroutine's g.
func curG() unsafe.Pointer

// The Runner counts the assembly writes (go_asm.h has only this package's
// constants).
const (
	runnerIn  = execmem.RunnerInOffset
	runnerOut = execmem.RunnerOutOffset
)

// Own machines: each M (OS thread) that runs helper-less code gets one
// machine of its own, in the slot of ownTab its m address hashes to. A
// goroutine in runOwn keeps its M until runOwn returns, so a machine whose
// ownerM is the current m is used by one run at a time. Keying by M rather
// than by P keeps the lookup to g.m and one table load: every dependent
// load on that chain delays the stack switch, and it showed (about 1 ns a
// load). Two Ms that hash to the same slot share nothing: the second finds
// the slot owned by the first and takes the pinned path (runPinned), so
// the table bounds the machines it holds at ownSlots.
//
// The slot is bits 11..16 of the m address: the runtime allocates Ms from
// the heap, 1824 bytes each in go1.26 (size class 2048), so Ms allocated
// together land in different slots, and two instructions compute it (a
// multiplicative hash cost twice as long on the chain above).
const (
	ownSlotBits  = 6
	ownSlots     = 1 << ownSlotBits
	ownSlotShift = 11
)

var (
	// ownTab holds a machine's Context per slot, or noOwn. runOwn reads
	// the slots with plain loads (atomic for aligned words on amd64 and
	// arm64; the Context's ownerM is ordered after the slot by the address
	// dependency).
	ownTab [ownSlots]atomic.Pointer[Context]
	// noOwn fills empty slots, so runOwn needs no nil check: its ownerM, 0,
	// is no m's address.
	noOwn Context

	// ownValid is set once the runtime layout runOwn relies on has been
	// validated; until then (and for good if validation fails) no slot is
	// filled and helper-less runs take the pinned path.
	ownValid     atomic.Bool
	validateOnce sync.Once
)

func init() {
	for i := range ownTab {
		ownTab[i].Store(&noOwn)
	}
}

// ownSlot is the slot of the M at address m (as runOwn computes it).
func ownSlot(m uintptr) *atomic.Pointer[Context] {
	return &ownTab[(m>>ownSlotShift)%ownSlots]
}

// curM returns the address of the current M. The goroutine may be on
// another M by the time the caller uses it, which is harmless for
// installOwn: a machine only ever serves the M it was installed for.
func curM() uintptr {
	return uintptr(*(*unsafe.Pointer)(unsafe.Add(curG(), rtGM)))
}

// installOwn gives the current M its own machine if its slot is free, once
// the runtime layout has been validated (the first call validates it: that
// starts OS threads, so it is not done at package initialisation).
func installOwn() {
	if !rtLayoutKnown {
		return
	}
	validateOnce.Do(func() { ownValid.Store(validateRuntimeLayout(builtLayout, 4)) })
	if !ownValid.Load() {
		return
	}
	m := curM()
	slot := ownSlot(m)
	if slot.Load() != &noOwn {
		return // ours already, or another M's
	}
	mc, err := newMachine()
	if err != nil {
		return // the pool path reports the error
	}
	mc.ctx.ownerM = m
	if !slot.CompareAndSwap(&noOwn, mc.ctx) {
		putFree(mc)
	}
}

// rtLayout holds the runtime offsets runOwn's assembly is built with (g.m)
// and those validateRuntimeLayout checks it with.
type rtLayout struct {
	gStackLo, gStackHi, gM, mG0, mCurg uintptr
}

var builtLayout = rtLayout{rtGStackLo, rtGStackHi, rtGM, rtMG0, rtMCurg}

// validateRuntimeLayout checks l against what the runtime itself reports,
// on goroutines that are each locked to their own OS thread at the same
// time: g.stack holds the goroutine's own stack, m.curg points back at g,
// m.g0.m at m, and every thread has a different m. Any mismatch (an
// unexpected runtime build) leaves the fast path off.
func validateRuntimeLayout(l rtLayout, threads int) bool {
	var (
		wg      sync.WaitGroup
		release = make(chan struct{})
		mu      sync.Mutex
		ms      = map[unsafe.Pointer]bool{}
		ok      = true
	)
	for range threads {
		wg.Add(1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			m, good := l.holdsHere()
			mu.Lock()
			ok = ok && good && !ms[m]
			ms[m] = true
			mu.Unlock()
			wg.Done()
			<-release // stay locked until every goroutine has checked: distinct threads
		}()
	}
	wg.Wait()
	close(release)
	return ok
}

// holdsHere checks the layout from the calling goroutine and returns its m.
// Each pointer it follows has been checked before as far as the runtime
// allows (g from the TLS slot, m confirmed by curg before its g0 is read).
func (l rtLayout) holdsHere() (m unsafe.Pointer, ok bool) {
	word := func(p unsafe.Pointer, off uintptr) unsafe.Pointer {
		return *(*unsafe.Pointer)(unsafe.Add(p, off))
	}
	var probe uintptr
	sp := uintptr(unsafe.Pointer(&probe))
	g := curG()
	if g == nil {
		return nil, false
	}
	// The bounds are read as integers: hi points one past the stack.
	lo, hi := *(*uintptr)(unsafe.Add(g, l.gStackLo)), *(*uintptr)(unsafe.Add(g, l.gStackHi))
	if sp < lo || sp >= hi {
		return nil, false
	}
	m = word(g, l.gM)
	if m == nil || word(m, l.mCurg) != g {
		return m, false
	}
	if g0 := word(m, l.mG0); g0 == nil || word(g0, l.gM) != m {
		return m, false
	}
	return m, true
}

// runOn is Machine.Run without helpers (bridge_$GOARCH.s): it runs img (not
// nil) on c's machine as runOwn runs it on the thread's own machine, and
// tail-calls ownEnded for a run that ended early.
//
//go:noescape
func runOn(c *Context, img *execmem.Image, args *Args) (uint64, error)
