package maps

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// Header is what a map handle points to: the 64-bit value `lddw rX, map` loads is the
// address of a Header in mmap'd memory that stays at that address for the map's life.
// JIT code reads it directly (offsets below, pinned by a test); it holds no Go pointers.
//
// Inline array lookup (Type == Array), with key the u32 the key pointer points to:
//
//	if key < MaxEntries { r0 = Base + key*Stride } else { r0 = 0 }
//
// Stride is a multiple of 8; StrideLog2 is log2(Stride) when Stride is a power of two
// (then key<<StrideLog2 replaces the multiply) and NoLog2 otherwise. Array values never
// move and are never reclaimed while the map lives, so the address stays valid.
//
// Indirect tail call (Type == ProgArray): Base is the address of MaxEntries u64 slots,
// each the native tail-call entry of the program in that slot (Program.TailCallEntry),
// or 0 for an empty slot:
//
//	if index >= MaxEntries goto out; t = *(Base + index*8); if t == 0 goto out; jump t
//
// Slots are written with single 8-byte atomic stores.
type Header struct {
	Base       uint64 // array: value 0; prog_array: slot 0; hash maps: 0
	MaxEntries uint32
	Stride     uint32 // bytes between values (array) or slots (prog_array, 8)
	StrideLog2 uint32 // log2(Stride), or NoLog2
	Type       uint32 // Type
	KeySize    uint32
	ValueSize  uint32
	ID         uint32 // registry index; also what PseudoMapFD immediates name
	Flags      uint32
	Magic      uint32 // HeaderMagic while the map is open, 0 after Close
	_          [5]uint32
}

// Offsets into Header for generated code.
const (
	HeaderBaseOffset       = 0
	HeaderMaxEntriesOffset = 8
	HeaderStrideOffset     = 12
	HeaderStrideLog2Offset = 16
	HeaderTypeOffset       = 20
	HeaderKeySizeOffset    = 24
	HeaderValueSizeOffset  = 28
	HeaderIDOffset         = 32
	HeaderFlagsOffset      = 36
	HeaderMagicOffset      = 40
	HeaderSize             = 64 // one cache line
)

// HeaderMagic marks a live header.
const HeaderMagic = 0x4d504a42 // "BJPM"

// NoLog2 is Header.StrideLog2 when the stride is not a power of two.
const NoLog2 = 0xffffffff

// registry maps IDs to maps for helpers, which get only a handle. Readers load the table
// without locks; writers copy it.
var registry struct {
	mu    sync.Mutex
	table atomic.Pointer[[]*Map]
	free  []uint32
}

func register(m *Map) uint32 {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	var old []*Map
	if t := registry.table.Load(); t != nil {
		old = *t
	}
	t := make([]*Map, len(old), max(len(old)+1, 2*len(old)))
	copy(t, old)
	var id uint32
	if n := len(registry.free); n > 0 {
		id = registry.free[n-1]
		registry.free = registry.free[:n-1]
	} else {
		if len(t) == 0 {
			t = append(t, nil) // ID 0 is never a map
		}
		id = uint32(len(t))
		t = append(t, nil)
	}
	t[id] = m
	registry.table.Store(&t)
	return id
}

func unregister(id uint32) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	old := *registry.table.Load()
	t := make([]*Map, len(old))
	copy(t, old)
	t[id] = nil
	registry.table.Store(&t)
	registry.free = append(registry.free, id)
}

// FromID returns the open map with the given ID (Map.ID), or nil.
func FromID(id uint32) *Map {
	t := registry.table.Load()
	if t == nil || uint64(id) >= uint64(len(*t)) {
		return nil
	}
	return (*t)[id]
}

// FromHandle returns the open map whose handle is h, or nil when h is not one: h must
// lie in a header slab, and the ID stored there must name a map whose handle is h.
func FromHandle(h uint64) *Map {
	if h == 0 || h&7 != 0 {
		return nil
	}
	// A forged handle could point anywhere; only addresses inside a header slab are read.
	if !inHeaderSlab(uintptr(h)) {
		return nil
	}
	m := FromID((*Header)(ptr(uintptr(h))).ID)
	if m == nil || m.Handle() != h {
		return nil
	}
	return m
}

// Headers live in shared slabs so that FromHandle can check an address before reading it.
var headers struct {
	mu    sync.Mutex
	slabs atomic.Pointer[[]uintptr] // base addresses of headerSlabSize-byte slabs
	free  []uintptr
	keep  []*slab
}

const headerSlabSize = 1 << 16

func inHeaderSlab(a uintptr) bool {
	s := headers.slabs.Load()
	if s == nil {
		return false
	}
	for _, b := range *s {
		if a >= b && a+HeaderSize <= b+headerSlabSize {
			return true
		}
	}
	return false
}

func allocHeader() (*Header, error) {
	headers.mu.Lock()
	defer headers.mu.Unlock()
	if len(headers.free) == 0 {
		s, err := newSlab(headerSlabSize)
		if err != nil {
			return nil, err
		}
		headers.keep = append(headers.keep, s)
		var old []uintptr
		if p := headers.slabs.Load(); p != nil {
			old = *p
		}
		n := append(append([]uintptr(nil), old...), s.addr())
		headers.slabs.Store(&n)
		for off := uintptr(headerSlabSize - HeaderSize); ; off -= HeaderSize {
			headers.free = append(headers.free, s.addr()+off)
			if off == 0 {
				break
			}
		}
	}
	a := headers.free[len(headers.free)-1]
	headers.free = headers.free[:len(headers.free)-1]
	h := (*Header)(ptr(a))
	*h = Header{}
	return h, nil
}

// freeHeader returns a header once no program can hold the handle (after a grace period).
func freeHeader(h *Header) {
	headers.mu.Lock()
	*h = Header{}
	headers.free = append(headers.free, uintptr(unsafe.Pointer(h)))
	headers.mu.Unlock()
}
