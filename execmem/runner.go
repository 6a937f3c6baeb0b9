//go:build linux && (amd64 || arm64)

package execmem

import (
	"sync"
	"sync/atomic"
	"time"
)

// A Runner is the retirement slot of one native execution context (in the
// bridge: one pooled native stack). Its sequence number is odd while code
// may be running in native memory and even otherwise; only the owner
// changes it, retirement only reads it.
//
// The fast path (the bridge's entry stub) changes the sequence with plain
// stores rather than atomic read-modify-writes: the store that marks entry
// need not be ordered before the load of the image address by the runner,
// because retirement issues a process-wide membarrier between unpublishing
// an image and reading the slots. The store that marks exit must be a
// release (amd64 stores are; arm64 uses STLR) so that nothing the runner
// did inside the image is reordered after it.
type Runner struct {
	seq uint64 // must stay the first field: RunnerSeqOffset
	_   [56]byte
}

// RunnerSeqOffset is the offset of the sequence word in a Runner, for
// assembly that enters and exits without calling Enter and Exit.
const RunnerSeqOffset = 0

var runners struct {
	mu  sync.Mutex
	set map[*Runner]struct{}
}

// NewRunner registers a new, idle runner slot.
func NewRunner() *Runner {
	r := new(Runner)
	runners.mu.Lock()
	if runners.set == nil {
		runners.set = make(map[*Runner]struct{})
	}
	runners.set[r] = struct{}{}
	runners.mu.Unlock()
	return r
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
func (r *Runner) Enter() { atomic.AddUint64(&r.seq, 1) }

// Exit marks the runner as outside native code again.
func (r *Runner) Exit() { atomic.AddUint64(&r.seq, 1) }

// ForceExit marks the runner idle if it is recorded as inside native code.
// The bridge calls it when a run was abandoned by a panic or Goexit, whose
// unwinding skips the exit store of the entry stub.
func (r *Runner) ForceExit() {
	if s := atomic.LoadUint64(&r.seq); s&1 == 1 {
		atomic.StoreUint64(&r.seq, s+1)
	}
}

// Inside reports whether the runner is marked as inside native code.
func (r *Runner) Inside() bool { return atomic.LoadUint64(&r.seq)&1 == 1 }

// Runners returns the number of registered runner slots.
func Runners() int {
	runners.mu.Lock()
	defer runners.mu.Unlock()
	return len(runners.set)
}

// waiter is a runner that was inside native code when a grace period began,
// with the sequence it had then. The grace period is over for it once the
// sequence has changed (it left, and possibly re-entered later, when the
// retired code was no longer reachable).
type waiter struct {
	r   *Runner
	seq uint64
}

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
		if s := atomic.LoadUint64(&r.seq); s&1 == 1 {
			ws = append(ws, waiter{r, s})
		}
	}
	return ws, nil
}

// pollGracePeriod drops the waiters that have left and reports whether none
// remain.
func pollGracePeriod(ws []waiter) ([]waiter, bool) {
	out := ws[:0]
	for _, w := range ws {
		if atomic.LoadUint64(&w.r.seq) == w.seq {
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
