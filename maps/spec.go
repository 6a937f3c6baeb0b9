package maps

import (
	"fmt"

	"github.com/bpfjit/bpfjit/isa"
)

// Type is a map type in the kernel's BPF_MAP_TYPE_* numbering.
type Type uint32

// The map types this package implements.
const (
	Hash      Type = 1 // BPF_MAP_TYPE_HASH
	Array     Type = 2 // BPF_MAP_TYPE_ARRAY
	ProgArray Type = 3 // BPF_MAP_TYPE_PROG_ARRAY
	LRUHash   Type = 9 // BPF_MAP_TYPE_LRU_HASH
)

func (t Type) String() string {
	switch t {
	case Hash:
		return "hash"
	case Array:
		return "array"
	case ProgArray:
		return "prog_array"
	case LRUHash:
		return "lru_hash"
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// Map creation flags (BPF_F_*) the package understands. Others are rejected.
const (
	FlagNoPrealloc  = 1 << 0 // BPF_F_NO_PREALLOC: accepted; memory is reserved lazily anyway
	FlagNoCommonLRU = 1 << 1 // BPF_F_NO_COMMON_LRU: accepted; the LRU is one list
	FlagRdonly      = 1 << 3 // BPF_F_RDONLY: the Go API may not write
	FlagWronly      = 1 << 4 // BPF_F_WRONLY: the Go API may not read
	FlagRdonlyProg  = 1 << 7 // BPF_F_RDONLY_PROG: programs may not write (.rodata)
	FlagWronlyProg  = 1 << 8 // BPF_F_WRONLY_PROG: programs may not read
	FlagMmapable    = 1 << 10
)

const knownFlags = FlagNoPrealloc | FlagNoCommonLRU | FlagRdonly | FlagWronly | FlagRdonlyProg |
	FlagWronlyProg | FlagMmapable

// Update flags, as for bpf_map_update_elem.
const (
	UpdateAny     uint64 = 0 // BPF_ANY: create or replace
	UpdateNoExist uint64 = 1 // BPF_NOEXIST: create only
	UpdateExist   uint64 = 2 // BPF_EXIST: replace only
)

// MaxValueSize bounds a value (the kernel's KMALLOC_MAX_SIZE is larger; this keeps one
// element well inside a slab's address range).
const MaxValueSize = 1 << 20

// MaxKeySize bounds a key, as the kernel does (MAX_BPF_STACK).
const MaxKeySize = 512

// Spec describes a map to create: the fields of isa.MapRef that matter at run time.
type Spec struct {
	Name       string
	Type       Type
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
}

// SpecOf returns the spec of a program's map reference.
func SpecOf(r isa.MapRef) Spec {
	return Spec{Name: r.Name, Type: Type(r.Type), KeySize: r.KeySize, ValueSize: r.ValueSize,
		MaxEntries: r.MaxEntries, Flags: r.Flags}
}

// check validates a spec the way the kernel's map_alloc_check callbacks do.
func (s Spec) check() error {
	bad := func(format string, args ...any) error {
		return &Error{Op: "create", Map: s.Name, Err: ErrInvalidSpec, Detail: fmt.Sprintf(format, args...)}
	}
	if s.Flags&^knownFlags != 0 {
		return bad("unknown flags %#x", s.Flags&^knownFlags)
	}
	if s.MaxEntries == 0 {
		return bad("max_entries is 0")
	}
	if s.ValueSize == 0 || s.ValueSize > MaxValueSize {
		return bad("value size %d outside [1, %d]", s.ValueSize, MaxValueSize)
	}
	switch s.Type {
	case Array:
		if s.KeySize != 4 {
			return bad("array key size %d, want 4", s.KeySize)
		}
		if uint64(s.MaxEntries)*uint64(stride(s.ValueSize)) > maxSlab {
			return bad("array of %d values of %d bytes is too large", s.MaxEntries, s.ValueSize)
		}
	case ProgArray:
		if s.KeySize != 4 || s.ValueSize != 4 {
			return bad("prog_array key/value sizes %d/%d, want 4/4", s.KeySize, s.ValueSize)
		}
		if s.MaxEntries > 1<<24 {
			return bad("prog_array max_entries %d too large", s.MaxEntries)
		}
	case Hash, LRUHash:
		if s.KeySize == 0 || s.KeySize > MaxKeySize {
			return bad("key size %d outside [1, %d]", s.KeySize, MaxKeySize)
		}
		if s.MaxEntries > 1<<24 {
			return bad("hash max_entries %d too large", s.MaxEntries)
		}
		if s.Flags&FlagMmapable != 0 {
			return bad("hash maps cannot be mmapable")
		}
		slots := uint64(s.MaxEntries) + max(reserveSlots, uint64(s.MaxEntries))
		if slots*uint64(elemKeyOff+stride(s.KeySize)+stride(s.ValueSize)) > maxSlab {
			return bad("hash of %d elements of %d+%d bytes is too large", s.MaxEntries, s.KeySize, s.ValueSize)
		}
	default:
		return &Error{Op: "create", Map: s.Name, Err: ErrNotSupported, Detail: "map type " + s.Type.String()}
	}
	return nil
}

// stride is the distance between consecutive values: 8-byte aligned so that every value
// supports 64-bit atomics.
func stride(size uint32) uint32 { return (size + 7) &^ 7 }
