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
// helpers of a non-nil image on a P that has its own machine happens right
// there: runOwn finds the machine through g.m.p.id itself, with no
// procPin (see the assembly for why that is sound). Anything else is a
// tail call with the same arguments to run, and a run that ended early one
// to ownEnded.
//
//go:noescape
func runOwn(img *execmem.Image, h *Helpers, args *Args) (uint64, error)

// curG returns the running goroutine's g (for validateRuntimeLayout).
func curG() unsafe.Pointer

// pCacheShift is log2 of the size of a pCache, by which runOwn scales p.id.
const pCacheShift = 6

// The assembly indexes pcaches with a shift: pCache must be 1<<pCacheShift
// bytes (either array length is negative otherwise).
var (
	_ [unsafe.Sizeof(pCache{}) - 1<<pCacheShift]struct{}
	_ [1<<pCacheShift - unsafe.Sizeof(pCache{})]struct{}
)

// The Runner counts the assembly writes (go_asm.h has only this package's
// constants).
const (
	runnerIn  = execmem.RunnerInOffset
	runnerOut = execmem.RunnerOutOffset
)

var (
	// ownLimit bounds the P ids runOwn serves: 0 until the runtime layout
	// it relies on has been validated (and for good if validation fails:
	// Run then pins with procPin instead), len(pcaches) after. runOwn reads
	// it with a plain load, atomic for an aligned word on amd64 and arm64.
	ownLimit     atomic.Uint64
	validateOnce sync.Once
)

// enableOwnDirect validates the runtime layout once and turns the fast path
// on if it holds. It runs when the first own machine is created, not at
// package initialisation: the validation starts OS threads.
func enableOwnDirect() {
	validateOnce.Do(func() {
		if rtLayoutKnown && validateRuntimeLayout(builtLayout, 4) {
			ownLimit.Store(uint64(len(pcaches)))
		}
	})
}

// rtLayout holds the runtime offsets runOwn's assembly is built with.
type rtLayout struct {
	gStackLo, gStackHi, gM, mG0, mCurg, mP, pID, pM uintptr
}

var builtLayout = rtLayout{rtGStackLo, rtGStackHi, rtGM, rtMG0, rtMCurg, rtMP, rtPID, rtPM}

// validateRuntimeLayout checks l against what the runtime itself reports,
// on goroutines that are each locked to their own OS thread at the same
// time (so each sees a different m): g.stack holds the goroutine's own
// stack, m.curg points back at g and m.g0.m at m, and, pinned, m.p is a P
// whose id is procPin's and whose m is this m. Any mismatch (an unexpected
// runtime build) leaves the fast path off.
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
	pid := procPin()
	p := word(m, l.mP)
	ok = p != nil && int(*(*int32)(unsafe.Add(p, l.pID))) == pid && word(p, l.pM) == m
	procUnpin()
	return m, ok
}
