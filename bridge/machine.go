//go:build linux && (amd64 || arm64)

package bridge

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/bpfjit/bpfjit/execmem"
)

const (
	// NativeStackSize is the usable size of each native stack.
	NativeStackSize = 32 << 10
	// HelperCallStackBytes is the most native stack a helper call uses
	// (saved registers and the return address).
	HelperCallStackBytes = 64
)

// machine is one native stack with its Context. A machine runs one native
// call at a time; a nested Run takes another. Machines are never freed:
// their number is the peak number of concurrent runs.
type machine struct {
	ctx *Context
	mem []byte // the stack mapping, guard page first
}

// The pool has a per-P cache of one machine in front of a mutex-protected
// free list. The cache is what keeps Run within a few nanoseconds: pinned
// to its P, a goroutine takes or returns the cached machine with plain
// loads and stores, no lock and no atomic read-modify-write (sync.Pool
// costs several times more here). Race-detector builds skip the cache,
// whose cross-goroutine hand-offs the detector cannot see.
type pCache struct {
	m          *machine
	gets, puts uint64 // written only by the owning P, while pinned
	// own is the Context of the machine that runs helper-less code while
	// its P stays pinned for the whole call (see runPinned), where runOwn
	// cannot: its M has no slot in ownTab, or the runtime layout did not
	// validate. The machine never leaves this cache.
	own *Context
	_   [32]byte
}

var (
	pcaches = make([]pCache, runtime.GOMAXPROCS(0))

	freeMu    sync.Mutex
	freeList  []*machine
	slowGets  atomic.Int64
	slowPuts  atomic.Int64
	allocated atomic.Int64
)

//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// PoolStats describes the native stack pool.
type PoolStats struct {
	Mapped int64 // native stacks mapped (in use or idle)
	InUse  int64 // native stacks handed out to runs in progress
}

// Stats returns the native stack pool counters. Once every Run has
// returned, InUse is back to its earlier value whatever the helpers did
// (panics, Goexit). The per-P counters are read without synchronisation,
// so the value is exact only while no Run is starting or ending.
func Stats() PoolStats {
	in := slowGets.Load() - slowPuts.Load()
	for i := range pcaches {
		c := &pcaches[i]
		in += int64(atomic.LoadUint64(&c.gets) - atomic.LoadUint64(&c.puts))
	}
	return PoolStats{Mapped: allocated.Load(), InUse: in}
}

func getMachine() (*machine, error) {
	if !raceEnabled {
		pid := procPin()
		if pid < len(pcaches) {
			c := &pcaches[pid]
			if m := c.m; m != nil {
				c.m = nil
				c.gets++
				procUnpin()
				return m, nil
			}
		}
		procUnpin()
	}
	slowGets.Add(1)
	freeMu.Lock()
	if n := len(freeList); n > 0 {
		m := freeList[n-1]
		freeList = freeList[:n-1]
		freeMu.Unlock()
		return m, nil
	}
	freeMu.Unlock()
	m, err := newMachine()
	if err != nil {
		slowGets.Add(-1)
	}
	return m, err
}

func putMachine(m *machine) {
	if !raceEnabled {
		pid := procPin()
		if pid < len(pcaches) {
			c := &pcaches[pid]
			if c.m == nil {
				c.m = m
				c.puts++
				procUnpin()
				return
			}
		}
		procUnpin()
	}
	slowPuts.Add(1)
	putFree(m)
}

// runPinned runs helper-less code on the current P's own machine, with the
// goroutine pinned to its P for the whole call: one pin instead of a
// pool round trip. Pinning across native code is sound only because no Go
// code runs inside a call without helpers: the goroutine cannot block,
// yield or be preempted there (native code is never preempted anyway), so
// nothing else can run on this P and reach its machine. ran is false when
// the P has no machine yet; the caller then takes the pool path. Run gets
// here only where runOwn cannot run: the thread's slot in ownTab belongs
// to another thread, or the runtime layout did not validate.
func runPinned(img *execmem.Image, args *Args) (r0 uint64, ran bool, err error) {
	pid := procPin()
	if pid < len(pcaches) {
		if c := pcaches[pid].own; c != nil {
			// helperN stays 0: see Run. Element-wise, as in prepare.
			c.args[0], c.args[1], c.args[2], c.args[3], c.args[4] = args[0], args[1], args[2], args[3], args[4]
			r0, err = c.outcome(enter(c, img), nil)
			procUnpin()
			return r0, true, err
		}
	}
	procUnpin()
	// Give this P (or whichever P the goroutine is on now) its machine for
	// the next helper-less run; the mapping is done unpinned.
	m, err := newMachine()
	if err != nil {
		return 0, false, nil // the pool path reports the error
	}
	pid = procPin()
	if pid < len(pcaches) && pcaches[pid].own == nil {
		pcaches[pid].own = m.ctx
		m = nil
	}
	procUnpin()
	if m != nil {
		putFree(m)
	}
	return 0, false, nil
}

func putFree(m *machine) {
	freeMu.Lock()
	freeList = append(freeList, m)
	freeMu.Unlock()
}

func newMachine() (*machine, error) {
	if err := initThunks(); err != nil {
		return nil, err
	}
	guard := os.Getpagesize()
	mem, err := unix.Mmap(-1, 0, guard+NativeStackSize, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_STACK)
	if err != nil {
		return nil, &StackError{err}
	}
	// The lowest page is the guard: overflowing the stack faults instead of
	// corrupting whatever is mapped below.
	if err := unix.Mprotect(mem[:guard], unix.PROT_NONE); err != nil {
		unix.Munmap(mem)
		return nil, &StackError{err}
	}
	c := &Context{
		stackTop:  uintptr(unsafe.Pointer(&mem[0])) + uintptr(len(mem)),
		gateEntry: thunks.gateEntry,
		gateFn:    thunks.gate,
		resumeFn:  thunks.resume,
	}
	execmem.RegisterRunner(&c.runner)
	allocated.Add(1)
	return &machine{ctx: c, mem: mem}, nil
}
