package maps

import (
	"sync"
	"sync/atomic"
	"time"
)

// A GraceSource says when memory unpublished earlier can no longer be seen by any
// running program. Maps call Start after unlinking elements and free them once the
// returned period is Done. Implementations: *Readers (runs that enter a Reader, e.g.
// interpreter hosts), NativeRunners (execmem runners, i.e. JIT runs through the bridge),
// and Combine of several.
type GraceSource interface {
	// Start begins a grace period. Everything the caller unpublished before Start may
	// be reclaimed once the period is Done.
	Start() GracePeriod
}

// A GracePeriod is one started grace period.
type GracePeriod interface {
	// Done reports, without blocking, whether every read-side section that was active
	// at Start has ended. Once true it stays true.
	Done() bool
}

// Wait blocks until gp is done, polling with a growing sleep. It must not be called
// from inside a read-side section of the same source (it would wait for itself).
func Wait(gp GracePeriod) {
	delay := 10 * time.Microsecond
	for !gp.Done() {
		time.Sleep(delay)
		delay = min(2*delay, time.Millisecond)
	}
}

// Readers is a set of read-side slots, the grace-period source for runs the execmem
// runners do not see (interpreter runs, Go code holding value pointers). Each
// concurrently running reader uses its own *Reader.
type Readers struct {
	mu   sync.Mutex
	set  map[*Reader]struct{}
	idle []*Reader // for Acquire
}

// DefaultReaders is the Readers that maps created without Options.Grace wait for,
// together with the native runners.
var DefaultReaders = new(Readers)

// A Reader is one read-side slot. Its sequence is odd inside a section. Only one
// goroutine at a time may use a Reader.
type Reader struct {
	seq atomic.Uint64
	_   [56]byte // own cache line: readers on different cores do not share it
	rs  *Readers
}

// NewReader registers an idle reader.
func (rs *Readers) NewReader() *Reader {
	r := &Reader{rs: rs}
	rs.mu.Lock()
	if rs.set == nil {
		rs.set = make(map[*Reader]struct{})
	}
	rs.set[r] = struct{}{}
	rs.mu.Unlock()
	return r
}

// Acquire returns an idle registered reader, reusing one given back with Put, so that
// hosts need not keep a reader per goroutine.
func (rs *Readers) Acquire() *Reader {
	rs.mu.Lock()
	if n := len(rs.idle); n > 0 {
		r := rs.idle[n-1]
		rs.idle = rs.idle[:n-1]
		rs.mu.Unlock()
		return r
	}
	rs.mu.Unlock()
	return rs.NewReader()
}

// Put gives an idle reader back for Acquire.
func (rs *Readers) Put(r *Reader) {
	rs.mu.Lock()
	rs.idle = append(rs.idle, r)
	rs.mu.Unlock()
}

// Enter begins a read-side section: element memory seen from now on stays valid until
// Exit. Sections do not nest.
func (r *Reader) Enter() { r.seq.Add(1) }

// Exit ends the section.
func (r *Reader) Exit() { r.seq.Add(1) }

// Release unregisters an idle reader.
func (r *Reader) Release() {
	r.rs.mu.Lock()
	delete(r.rs.set, r)
	r.rs.mu.Unlock()
}

type readerWait struct {
	r   *Reader
	seq uint64
}

type readersPeriod struct {
	mu   sync.Mutex
	wait []readerWait
}

// Start implements GraceSource. The sequence updates are sequentially consistent
// atomics, so a reader that entered after the scan sees everything unpublished before it.
func (rs *Readers) Start() GracePeriod {
	p := new(readersPeriod)
	rs.mu.Lock()
	for r := range rs.set {
		if s := r.seq.Load(); s&1 == 1 {
			p.wait = append(p.wait, readerWait{r, s})
		}
	}
	rs.mu.Unlock()
	return p
}

func (p *readersPeriod) Done() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.wait[:0]
	for _, w := range p.wait {
		if w.r.seq.Load() == w.seq {
			out = append(out, w)
		}
	}
	p.wait = out
	return len(out) == 0
}

// Combine returns a source whose periods are done when those of every source are.
func Combine(srcs ...GraceSource) GraceSource { return combined(srcs) }

type combined []GraceSource

func (c combined) Start() GracePeriod {
	ps := make(combinedPeriod, len(c))
	for i, s := range c {
		ps[i] = s.Start()
	}
	return ps
}

type combinedPeriod []GracePeriod

func (ps combinedPeriod) Done() bool {
	for _, p := range ps {
		if !p.Done() {
			return false
		}
	}
	return true
}

// Immediate is a source whose periods are over at once: for maps no program ever reads
// concurrently (tests of the Go API, single-threaded tools).
var Immediate GraceSource = immediate{}

type immediate struct{}

func (immediate) Start() GracePeriod { return immediate{} }
func (immediate) Done() bool         { return true }
