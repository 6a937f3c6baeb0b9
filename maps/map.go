package maps

import (
	"iter"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Options configure New.
type Options struct {
	// Grace says when replaced or deleted hash elements may be reused. nil means every
	// execmem runner (JIT runs) and DefaultReaders (interpreter runs, Go readers).
	Grace GraceSource
	// Poison fills element memory with PoisonByte when it is reclaimed, so that a reader
	// that kept a pointer past its read-side section sees the pattern (tests).
	Poison bool
}

// Map is one BPF map. All methods are safe for concurrent use, including with programs
// running against the map.
//
// Go API methods copy keys and values in and out. Programs reach values through raw
// addresses (see the helpers and Header); those stay valid while the map is open and, for
// hash maps, until a grace period after the element was deleted or replaced.
type Map struct {
	spec   Spec
	hdr    *Header
	id     uint32
	grace  GraceSource
	poison bool

	mu     sync.Mutex // serializes writers and Go-side readers
	closed atomic.Bool
	frozen bool
	impl   impl
}

// impl is one map type. lookup runs without the lock (it is the program-side read path);
// the others run with Map.mu held.
type impl interface {
	lookup(key []byte) uintptr // value address, 0 when absent
	update(key, value []byte, flags uint64) error
	delete(key []byte) error
	nextKey(key []byte) ([]byte, error)
	count() int
	synchronize() // reclaim everything retired (blocks for a grace period), with mu held
	close()
}

// New creates a map.
func New(spec Spec, opts *Options) (*Map, error) {
	if err := spec.check(); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &Options{}
	}
	m := &Map{spec: spec, grace: opts.Grace, poison: opts.Poison}
	if m.grace == nil {
		m.grace = defaultGrace()
	}
	hdr, err := allocHeader()
	if err != nil {
		return nil, &Error{Op: "create", Map: spec.Name, Err: ErrNoMemory, Detail: err.Error()}
	}
	m.hdr = hdr
	switch spec.Type {
	case Array:
		m.impl, err = newArray(m)
	case ProgArray:
		m.impl, err = newProgArray(m)
	case Hash, LRUHash:
		m.impl, err = newHash(m, spec.Type == LRUHash)
	}
	if err != nil {
		freeHeader(hdr)
		return nil, &Error{Op: "create", Map: spec.Name, Err: ErrNoMemory, Detail: err.Error()}
	}
	hdr.MaxEntries = spec.MaxEntries
	hdr.Type = uint32(spec.Type)
	hdr.KeySize = spec.KeySize
	hdr.ValueSize = spec.ValueSize
	hdr.Flags = spec.Flags
	if hdr.Stride == 0 {
		hdr.StrideLog2 = NoLog2
	}
	m.id = register(m)
	hdr.ID = m.id
	atomic.StoreUint32(&hdr.Magic, HeaderMagic)
	return m, nil
}

// setStride records the element stride in the header.
func (m *Map) setStride(base uintptr, stride uint32) {
	m.hdr.Base = uint64(base)
	m.hdr.Stride = stride
	m.hdr.StrideLog2 = NoLog2
	if stride != 0 && stride&(stride-1) == 0 {
		m.hdr.StrideLog2 = uint32(bitsLen(stride) - 1)
	}
}

func bitsLen(x uint32) int {
	n := 0
	for ; x != 0; x >>= 1 {
		n++
	}
	return n
}

// Spec returns the map's spec.
func (m *Map) Spec() Spec { return m.spec }

// Type returns the map's type.
func (m *Map) Type() Type { return m.spec.Type }

// ID returns the map's registry ID, which `lddw` with src PseudoMapFD may name.
func (m *Map) ID() uint32 { return m.id }

// Handle returns the 64-bit value `lddw rX, map` loads: the address of the map's Header.
func (m *Map) Handle() uint64 { return uint64(uintptr(unsafe.Pointer(m.hdr))) }

// Header returns the map's header, which generated code reads at Handle.
func (m *Map) Header() *Header { return m.hdr }

func (m *Map) checkKey(op string, key []byte) error {
	if uint32(len(key)) != m.spec.KeySize {
		return m.err(op, ErrKeySize, "key of %d bytes, want %d", len(key), m.spec.KeySize)
	}
	return nil
}

func (m *Map) checkValue(op string, value []byte) error {
	if uint32(len(value)) != m.spec.ValueSize {
		return m.err(op, ErrValueSize, "value of %d bytes, want %d", len(value), m.spec.ValueSize)
	}
	return nil
}

// Lookup copies the value stored under key into a new slice. LRU maps count it as a use.
func (m *Map) Lookup(key []byte) ([]byte, error) {
	out := make([]byte, m.spec.ValueSize)
	if err := m.LookupInto(key, out); err != nil {
		return nil, err
	}
	return out, nil
}

// LookupInto copies the value stored under key into value (ValueSize bytes).
func (m *Map) LookupInto(key, value []byte) error {
	if err := m.checkKey("lookup", key); err != nil {
		return err
	}
	if err := m.checkValue("lookup", value); err != nil {
		return err
	}
	if m.spec.Type == ProgArray {
		return m.err("lookup", ErrNotSupported, "program arrays hold programs: use Program")
	}
	if m.spec.Flags&FlagWronly != 0 {
		return m.err("lookup", ErrReadOnly, "map is write-only from Go")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Load() {
		return m.err("lookup", ErrClosed, "")
	}
	a := m.impl.lookup(key)
	if a == 0 {
		return m.err("lookup", ErrKeyNotExist, "")
	}
	copy(value, raw(a, m.spec.ValueSize))
	return nil
}

// Update stores value under key. flags is UpdateAny, UpdateNoExist or UpdateExist.
func (m *Map) Update(key, value []byte, flags uint64) error {
	if err := m.checkKey("update", key); err != nil {
		return err
	}
	if err := m.checkValue("update", value); err != nil {
		return err
	}
	if flags > UpdateExist {
		return m.err("update", ErrBadFlags, "flags %#x", flags)
	}
	if m.spec.Flags&FlagRdonly != 0 {
		return m.err("update", ErrReadOnly, "map is read-only from Go")
	}
	if m.spec.Type == ProgArray {
		return m.err("update", ErrNotSupported, "program arrays hold programs: use SetProgram")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Load() {
		return m.err("update", ErrClosed, "")
	}
	if m.frozen {
		return m.err("update", ErrReadOnly, "map is frozen")
	}
	return m.impl.update(key, value, flags)
}

// Delete removes key.
func (m *Map) Delete(key []byte) error {
	if err := m.checkKey("delete", key); err != nil {
		return err
	}
	if m.spec.Flags&FlagRdonly != 0 {
		return m.err("delete", ErrReadOnly, "map is read-only from Go")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Load() {
		return m.err("delete", ErrClosed, "")
	}
	if m.frozen {
		return m.err("delete", ErrReadOnly, "map is frozen")
	}
	return m.impl.delete(key)
}

// NextKey returns the key after key in the map's iteration order, or the first key when
// key is nil or not in the map (as BPF_MAP_GET_NEXT_KEY). After the last key the error
// wraps ErrKeyNotExist.
func (m *Map) NextKey(key []byte) ([]byte, error) {
	if key != nil {
		if err := m.checkKey("next_key", key); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed.Load() {
		return nil, m.err("next_key", ErrClosed, "")
	}
	return m.impl.nextKey(key)
}

// All iterates over keys and copies of their values, as successive NextKey and Lookup
// calls do: concurrent updates may or may not be seen, and if the current key is deleted
// between two steps the walk restarts from the first key, as with the kernel's
// GET_NEXT_KEY (so a busy map may yield a key twice). For program arrays the values are
// empty.
func (m *Map) All() iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		var key []byte
		for {
			next, err := m.NextKey(key)
			if err != nil {
				return
			}
			key = next
			var v []byte
			if m.spec.Type != ProgArray {
				if v, err = m.Lookup(key); err != nil {
					continue
				}
			}
			if !yield(key, v) {
				return
			}
		}
	}
}

// Len returns the number of elements (for arrays: MaxEntries; for program arrays: the
// occupied slots).
func (m *Map) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.impl.count()
}

// Freeze makes the map read-only for the Go API (BPF_MAP_FREEZE). Programs still write
// unless the map has FlagRdonlyProg.
func (m *Map) Freeze() {
	m.mu.Lock()
	m.frozen = true
	m.mu.Unlock()
}

// Synchronize waits for a grace period and reclaims every element deleted or replaced
// before the call. It must not be called from inside a read-side section.
func (m *Map) Synchronize() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed.Load() {
		m.impl.synchronize()
	}
}

// Close releases the map. Programs that were loaded with it must be closed first: the
// memory is unmapped after a grace period, which Close waits for. A program array
// releases its programs and retargets every tracked poke site to fall through.
func (m *Map) Close() error {
	m.mu.Lock()
	if m.closed.Swap(true) {
		m.mu.Unlock()
		return m.err("close", ErrClosed, "")
	}
	atomic.StoreUint32(&m.hdr.Magic, 0)
	unregister(m.id)
	m.mu.Unlock()
	// No new run can find the map now (it is unregistered and its programs are closed);
	// wait for runs that may still hold its memory.
	Wait(m.grace.Start())
	m.mu.Lock()
	m.impl.close()
	m.mu.Unlock()
	freeHeader(m.hdr)
	return nil
}
