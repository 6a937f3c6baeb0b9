//go:build linux && (amd64 || arm64)

package execmem

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	protRW   = unix.PROT_READ | unix.PROT_WRITE
	protRX   = unix.PROT_READ | unix.PROT_EXEC
	protNone = unix.PROT_NONE
	protRead = unix.PROT_READ
)

// mapping is one mmap'd range, referred to by address so that pointers into
// it never look like Go pointers to the GC.
type mapping struct {
	addr unsafe.Pointer // outside the Go heap: the GC ignores it
	size int
}

func (m mapping) bytes() []byte { return unsafe.Slice((*byte)(m.addr), m.size) }

func mmapAnon(size int, prot int) (mapping, error) {
	b, err := unix.Mmap(-1, 0, size, prot, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return mapping{}, fmt.Errorf("execmem: mmap %d bytes: %w", size, err)
	}
	return mapping{unsafe.Pointer(&b[0]), size}, nil
}

// mmapDual maps one memfd twice: a read-write alias for stores and a
// read-execute alias for running. Neither mapping is ever writable and
// executable at once.
func mmapDual(size int) (rw, rx mapping, err error) {
	fd, err := unix.MemfdCreate("bpfjit-code", unix.MFD_CLOEXEC)
	if err != nil {
		return rw, rx, fmt.Errorf("execmem: memfd_create: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return rw, rx, fmt.Errorf("execmem: ftruncate memfd: %w", err)
	}
	w, err := unix.Mmap(fd, 0, size, protRW, unix.MAP_SHARED)
	if err != nil {
		return rw, rx, fmt.Errorf("execmem: mmap RW alias: %w", err)
	}
	x, err := unix.Mmap(fd, 0, size, protRX, unix.MAP_SHARED)
	if err != nil {
		unix.Munmap(w)
		return rw, rx, fmt.Errorf("execmem: mmap RX alias: %w", err)
	}
	return mapping{unsafe.Pointer(&w[0]), size}, mapping{unsafe.Pointer(&x[0]), size}, nil
}

func munmap(m mapping) error {
	if m.size == 0 {
		return nil
	}
	if err := unix.Munmap(m.bytes()); err != nil {
		return fmt.Errorf("execmem: munmap: %w", err)
	}
	return nil
}

// mremapOver atomically replaces the pages at dst with the mapping src (of
// the same size), which disappears from its old address. Threads running
// code at dst see either the old or the new pages, never a hole.
func mremapOver(src, dst mapping) error {
	_, _, e := unix.Syscall6(unix.SYS_MREMAP, uintptr(src.addr), uintptr(src.size), uintptr(dst.size),
		unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, uintptr(dst.addr), 0)
	if e != 0 {
		return fmt.Errorf("execmem: mremap over %p: %w", dst.addr, e)
	}
	return nil
}

func mprotect(addr unsafe.Pointer, size int, prot int) error {
	if err := unix.Mprotect(unsafe.Slice((*byte)(addr), size), prot); err != nil {
		return fmt.Errorf("execmem: mprotect %p+%d: %w", addr, size, err)
	}
	return nil
}

// membarrier commands (linux/membarrier.h).
const (
	mbPrivateExpedited                 = 1 << 3
	mbRegisterPrivateExpedited         = 1 << 4
	mbPrivateExpeditedSyncCore         = 1 << 5
	mbRegisterPrivateExpeditedSyncCore = 1 << 6
)

var (
	mbOnce     sync.Once
	mbFence    bool // PRIVATE_EXPEDITED registered
	mbSyncCore bool // PRIVATE_EXPEDITED_SYNC_CORE registered
	mbErr      error
)

func membarrier(cmd int) error {
	_, _, e := unix.Syscall(unix.SYS_MEMBARRIER, uintptr(cmd), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

func registerMembarrier() {
	mbOnce.Do(func() {
		if err := membarrier(mbRegisterPrivateExpedited); err == nil {
			mbFence = true
		} else {
			mbErr = fmt.Errorf("execmem: membarrier register private expedited: %w", err)
		}
		if err := membarrier(mbRegisterPrivateExpeditedSyncCore); err == nil {
			mbSyncCore = true
		}
	})
}

// errNoMembarrier reports a kernel without private expedited membarrier.
var errNoMembarrier = errors.New("execmem: membarrier(PRIVATE_EXPEDITED) unavailable")

// processFence executes a full memory barrier on every thread of the process
// that is running now (the others get one when they are next scheduled).
func processFence() error {
	registerMembarrier()
	if !mbFence {
		if mbErr != nil {
			return mbErr
		}
		return errNoMembarrier
	}
	return membarrier(mbPrivateExpedited)
}

// processSyncCore makes every thread of the process execute a
// core-serialising instruction before it runs any more user code, so no
// thread keeps executing instructions it fetched before a patch. Without
// SYNC_CORE support it falls back to a plain process-wide fence, which on
// amd64 still orders the patch store (instruction fetch is coherent with
// stores there) but is not a serialisation guarantee; on arm64 the cache
// maintenance done by the caller broadcasts the invalidation either way.
func processSyncCore() error {
	registerMembarrier()
	if mbSyncCore {
		return membarrier(mbPrivateExpeditedSyncCore)
	}
	return processFence()
}
