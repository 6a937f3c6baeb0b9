package maps

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Element memory is mmap'd, not Go heap:
//   - it never moves and holds no Go pointers, so native code may keep raw addresses
//     into it and the GC never scans it;
//   - it is outside the Go heap, so turning a raw address from BPF back into a pointer
//     is legal even under -race's checkptr;
//   - its lifetime is ours: an element is reused only after a grace period (reclaim.go),
//     never when the GC decides.
// Slabs are reserved with MAP_NORESERVE, so pages cost memory only once touched.

// maxSlab bounds one slab (64 GiB of address space).
const maxSlab = 1 << 36

type slab struct {
	mem []byte
}

func newSlab(size uint64) (*slab, error) {
	if size == 0 {
		size = 1
	}
	if size > maxSlab {
		return nil, fmt.Errorf("slab of %d bytes too large", size)
	}
	mem, err := unix.Mmap(-1, 0, int(size), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, err
	}
	return &slab{mem: mem}, nil
}

func (s *slab) free() {
	if s != nil && s.mem != nil {
		_ = unix.Munmap(s.mem)
		s.mem = nil
	}
}

func (s *slab) addr() uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(s.mem))) }

// ptr turns a raw address into a pointer without a uintptr conversion that vet or
// checkptr would question: the addresses handled here point into mmap'd memory or into a
// native stack, never into the Go heap.
func ptr(a uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&a)) }

// raw returns the n bytes at address a.
func raw(a uintptr, n uint32) []byte { return unsafe.Slice((*byte)(ptr(a)), n) }

// PoisonByte fills reclaimed element memory when poisoning is on (Options.Poison).
const PoisonByte = 0xdb

func poison(b []byte) {
	for i := range b {
		b[i] = PoisonByte
	}
}
