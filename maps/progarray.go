package maps

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
)

// Program is what a program array slot holds. The JIT's program type implements it;
// tests use fakes.
type Program interface {
	// TailCallEntry is the native address a tail call into the program jumps to (after
	// the caller has torn down nothing: the kernel's tail-call entry, past the
	// prologue's stack setup), or 0 when the program has no native code. Native tail
	// calls treat a slot whose program has entry 0 as empty.
	TailCallEntry() uintptr
}

// Retainer is implemented by programs that count references. A program array calls
// Retain when a program enters a slot (an error, e.g. for a closed program, refuses the
// update) and Release when it leaves it, so a program in a slot stays alive until removed.
type Retainer interface {
	Retain() error
	Release()
}

// PokeOwner names the code a group of poke sites patches, so that UntrackPokes can remove
// them together; the JIT uses the address of the program's image. It is a key and not the
// program itself because the array outlives the programs that poke into it: holding them
// would keep a program dropped without Close reachable, so its finalizer (which untracks
// its sites and retires its code) would never run. For the same reason a PokeSite must
// not reference its program.
type PokeOwner uintptr

// PokeSite is one direct tail-call site: a patchable jump in some program's code to the
// program in one slot of one program array.
type PokeSite interface {
	// Retarget makes the site jump to new's tail-call entry, or fall through when new is
	// nil (or its TailCallEntry is 0). old is what the site targeted before (nil: it
	// fell through). It is called with the program array's lock held, so calls for one
	// array are serialized and never overlap an update of the slot; it must not call
	// back into the array. Patching must be safe while other threads run the code.
	Retarget(old, new Program)
}

type poke struct {
	owner PokeOwner
	key   uint32
	site  PokeSite
}

type slotEntry struct{ p Program }

// progArray keeps programs in Go (progs: what the interpreter and the Go API see) and
// their native tail-call entries in an mmap'd table (what native indirect tail calls
// read through the Header).
type progArray struct {
	m      *Map
	slab   *slab
	table  uintptr // max u64 entries
	progs  []atomic.Pointer[slotEntry]
	max    uint32
	n      int
	pokes  map[uint32][]*poke
	owners map[PokeOwner][]*poke
}

func newProgArray(m *Map) (*progArray, error) {
	max := m.spec.MaxEntries
	sl, err := newSlab(uint64(max) * 8)
	if err != nil {
		return nil, err
	}
	pa := &progArray{m: m, slab: sl, table: sl.addr(), progs: make([]atomic.Pointer[slotEntry], max),
		max: max, pokes: make(map[uint32][]*poke), owners: make(map[PokeOwner][]*poke)}
	m.setStride(pa.table, 8)
	return pa, nil
}

func (pa *progArray) entry(i uint32) *uint64 { return (*uint64)(ptr(pa.table + uintptr(i)*8)) }

func (pa *progArray) lookup([]byte) uintptr { return 0 }

func (pa *progArray) update([]byte, []byte, uint64) error {
	return pa.m.err("update", ErrNotSupported, "use SetProgram")
}

func (pa *progArray) delete(key []byte) error {
	i := binary.LittleEndian.Uint32(key)
	if i >= pa.max {
		return pa.m.err("delete", ErrOutOfRange, "index %d, max_entries %d", i, pa.max)
	}
	if pa.progs[i].Load() == nil {
		return pa.m.err("delete", ErrKeyNotExist, "slot %d is empty", i)
	}
	pa.set(i, nil)
	return nil
}

// set puts p (nil: nothing) in slot i and retargets the slot's poke sites. p is retained.
func (pa *progArray) set(i uint32, p Program) {
	var old Program
	if e := pa.progs[i].Load(); e != nil {
		old = e.p
	}
	var entry uint64
	if p != nil {
		entry = uint64(p.TailCallEntry())
		pa.progs[i].Store(&slotEntry{p})
	} else {
		pa.progs[i].Store(nil)
	}
	atomic.StoreUint64(pa.entry(i), entry)
	switch {
	case old == nil && p != nil:
		pa.n++
	case old != nil && p == nil:
		pa.n--
	}
	for _, pk := range pa.pokes[i] {
		pk.site.Retarget(old, p)
	}
	// The old program may still run (a thread that read the slot before the store);
	// its code stays valid because a closed program's image is retired through a grace
	// period (execmem), not freed at once.
	if r, ok := old.(Retainer); ok {
		r.Release()
	}
}

func (pa *progArray) nextKey(key []byte) ([]byte, error) { return arrayNextKey(pa.m, key, pa.max) }

func (pa *progArray) count() int   { return pa.n }
func (pa *progArray) synchronize() {}

func (pa *progArray) close() {
	for i := range pa.max {
		if pa.progs[i].Load() != nil {
			pa.set(i, nil)
		}
	}
	pa.pokes, pa.owners = nil, nil
	pa.slab.free()
}

func (m *Map) progArray(op string) (*progArray, error) {
	pa, ok := m.impl.(*progArray)
	if !ok {
		return nil, m.err(op, ErrNotSupported, "not a program array")
	}
	if m.closed.Load() {
		return nil, m.err(op, ErrClosed, "")
	}
	return pa, nil
}

// SetProgram puts p in slot i of a program array (BPF_ANY semantics), retargeting every
// poke site tracked for the slot. p must be non-nil; use Delete to empty a slot.
func (m *Map) SetProgram(i uint32, p Program) error {
	if p == nil {
		return m.err("update", ErrBadProgram, "nil program")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	pa, err := m.progArray("update")
	if err != nil {
		return err
	}
	if m.frozen || m.spec.Flags&FlagRdonly != 0 {
		return m.err("update", ErrReadOnly, "")
	}
	if i >= pa.max {
		return m.err("update", ErrOutOfRange, "index %d, max_entries %d", i, pa.max)
	}
	if r, ok := p.(Retainer); ok {
		if err := r.Retain(); err != nil {
			// Both causes stay matchable: errors.Is(err, ErrBadProgram) and the program's own.
			return &Error{Op: "update", Map: m.spec.Name, Err: fmt.Errorf("%w: %w", ErrBadProgram, err)}
		}
	}
	pa.set(i, p)
	return nil
}

// Program returns the program in slot i, or nil. It takes no lock: programs running a
// tail call use it too.
func (m *Map) Program(i uint32) Program {
	pa, ok := m.impl.(*progArray)
	if !ok || i >= pa.max {
		return nil
	}
	if e := pa.progs[i].Load(); e != nil {
		return e.p
	}
	return nil
}

// TrackPoke registers a direct tail-call site of the code owner that jumps to slot key.
// Before TrackPoke returns, the site is retargeted to the slot's current program (if
// any), under the same lock as later updates, so no update can be missed: the site's
// code starts out falling through. Every later SetProgram or Delete of the slot, and
// Close of the array, retargets it. UntrackPokes(owner) removes the owner's sites.
func (m *Map) TrackPoke(owner PokeOwner, key uint32, site PokeSite) error {
	if owner == 0 || site == nil {
		return m.err("track_poke", ErrBadProgram, "zero owner or nil site")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	pa, err := m.progArray("track_poke")
	if err != nil {
		return err
	}
	if key >= pa.max {
		return m.err("track_poke", ErrOutOfRange, "index %d, max_entries %d", key, pa.max)
	}
	pk := &poke{owner: owner, key: key, site: site}
	pa.pokes[key] = append(pa.pokes[key], pk)
	pa.owners[owner] = append(pa.owners[owner], pk)
	if cur := m.Program(key); cur != nil {
		site.Retarget(nil, cur)
	}
	return nil
}

// UntrackPokes removes every site owner registered (a program being closed, or
// finalized, calls it for each program array it pokes into) and returns how many there
// were. The sites are not retargeted: the owner's code is going away.
func (m *Map) UntrackPokes(owner PokeOwner) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	pa, err := m.progArray("untrack_pokes")
	if err != nil {
		return 0
	}
	mine := pa.owners[owner]
	delete(pa.owners, owner)
	for _, pk := range mine {
		list := pa.pokes[pk.key]
		for j, q := range list {
			if q == pk {
				list = append(list[:j], list[j+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(pa.pokes, pk.key)
		} else {
			pa.pokes[pk.key] = list
		}
	}
	return len(mine)
}

// TrackedPokes returns how many poke sites are tracked for slot key.
func (m *Map) TrackedPokes(key uint32) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	pa, err := m.progArray("tracked_pokes")
	if err != nil {
		return 0
	}
	return len(pa.pokes[key])
}
