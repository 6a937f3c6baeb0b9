//go:build linux && (amd64 || arm64)

package execmem

import (
	"sync"
	"sync/atomic"
	"time"
)

// A Runner is the retirement slot of one native execution context (in the
// bridge: one pooled native stack). It counts entries into native code
// (in) and exits from it (out): the runner may be executing native code
// while in != out. Only the owner writes the counts, retirement only reads
// them.
//
// Exit copies in to out instead of incrementing out, so the only value
// carried from one run to the next is in: back-to-back runs on the same
// runner are chained by one store-to-load round trip, not by two (enter
// then exit). The fast path (the bridge's entry stubs) changes the counts
// with plain stores rather than atomic read-modify-writes: the store that
// marks entry need not be ordered before the load of the image address by
// the runner, because retirement issues a process-wide membarrier between
// unpublishing an image and reading the slots. The store that marks exit
// must be a release (amd64 stores are; arm64 uses STLR) so that nothing the
// runner did inside the image is reordered after it.
type Runner struct {
	in  uint64 // must stay the first field: RunnerInOffset
	out uint64 // RunnerOutOffset
	_   [48]byte
}

// Offsets of the entry and exit counts in a Runner, for assembly that
// enters and exits without calling Enter and Exit: entry stores in+1 to
// in, exit stores in to out.
const (
	RunnerInOffset  = 0
	RunnerOutOffset = 8
)

var runners struct {
	mu  sync.Mutex
	set map[*Runner]struct{}
}

// NewRunner registers a new, idle runner slot.
func NewRunner() *Runner {
	r := new(Runner)
	RegisterRunner(r)
	return r
}

// RegisterRunner registers r, a zero Runner that is part of a larger
// object (the bridge embeds one in each Context so that its entry stub
// reaches the counts without loading a pointer). The registration keeps
// the enclosing object alive until Release.
func RegisterRunner(r *Runner) {
	runners.mu.Lock()
	if runners.set == nil {
		runners.set = make(map[*Runner]struct{})
	}
	runners.set[r] = struct{}{}
	runners.mu.Unlock()
}

// Release unregisters an idle runner. A runner that is inside native code
// must not be released.
func (r *Runner) Release() {
	runners.mu.Lock()
	delete(runners.set, r)
	runners.mu.Unlock()
}

// Enter marks the runner as possibly executing native code. It must be
// called before loading the address of the code to run.
func (r *Runner) Enter() { atomic.AddUint64(&r.in, 1) }

// Exit marks the runner as outside native code again.
func (r *Runner) Exit() { atomic.StoreUint64(&r.out, atomic.LoadUint64(&r.in)) }

// ForceExit marks the runner idle if it is recorded as inside native code.
// The bridge calls it when a run was abandoned by a panic or Goexit, whose
// unwinding skips the exit store of the entry stub.
func (r *Runner) ForceExit() {
	if in := atomic.LoadUint64(&r.in); atomic.LoadUint64(&r.out) != in {
		atomic.StoreUint64(&r.out, in)
	}
}

// Inside reports whether the runner is marked as inside native code.
func (r *Runner) Inside() bool { return atomic.LoadUint64(&r.in) != atomic.LoadUint64(&r.out) }

// Runners returns the number of registered runner slots.
func Runners() int {
	runners.mu.Lock()
	defer runners.mu.Unlock()
	return len(runners.set)
}

// waiter is a runner that was inside native code when a grace period began,
// with the entry count it had then. The grace period is over for it once
// that entry has been matched by an exit (out >= in); a later entry began
// after the grace period did, when the retired code was no longer
// reachable.
type waiter struct {
	r  *Runner
	in uint64
}

// left reports whether the run w waits for has exited.
func (w waiter) left() bool { return int64(atomic.LoadUint64(&w.r.out)-w.in) >= 0 }

// startGracePeriod must run after the retired images were unpublished. The
// membarrier makes every runner's entry store visible, or makes its later
// load of the image address see the unpublished state.
func startGracePeriod() ([]waiter, error) {
	if err := processFence(); err != nil {
		return nil, err
	}
	runners.mu.Lock()
	defer runners.mu.Unlock()
	var ws []waiter
	for r := range runners.set {
		// The latest entry is the one to wait for: until it has exited, it
		// may have begun before the fence (a later one cannot have).
		w := waiter{r, atomic.LoadUint64(&r.in)}
		if !w.left() {
			ws = append(ws, w)
		}
	}
	return ws, nil
}

// pollGracePeriod drops the waiters that have left and reports whether none
// remain.
func pollGracePeriod(ws []waiter) ([]waiter, bool) {
	out := ws[:0]
	for _, w := range ws {
		if !w.left() {
			out = append(out, w)
		}
	}
	return out, len(out) == 0
}

// GracePeriod tracks the runners that were inside native code when it
// started. Once Done, no code that was running then is still running, so
// anything unpublished before StartGracePeriod (a map element, a program
// in a tail-call array) is no longer reachable from native code and can be
// freed or reused. Image retirement uses the same mechanism.
type GracePeriod struct {
	mu      sync.Mutex
	waiters []waiter
}

// StartGracePeriod begins a grace period. Call it after unpublishing what
// is to be freed. It costs one process-wide membarrier and a scan of the
// runner slots, so callers batch what they free.
func StartGracePeriod() (*GracePeriod, error) {
	ws, err := startGracePeriod()
	if err != nil {
		return nil, err
	}
	return &GracePeriod{waiters: ws}, nil
}

// Done reports whether every runner that was inside native code at the
// start has left since. It never blocks.
func (g *GracePeriod) Done() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	var done bool
	g.waiters, done = pollGracePeriod(g.waiters)
	return done
}

// Wait blocks until Done.
func (g *GracePeriod) Wait() {
	delay := 20 * time.Microsecond
	for !g.Done() {
		time.Sleep(delay)
		delay = min(2*delay, time.Millisecond)
	}
}
