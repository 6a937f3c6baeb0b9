package interp

import (
	"fmt"
	"unsafe"
)

// Pointer representation.
//
// BPF registers hold real addresses: the uintptr of the Go memory backing each region
// (context, stack, map values). That is what the JIT does too, so programs that compute on
// pointers (alignment tests, pointer differences, a pointer returned in r0) produce the same
// values under both engines. The interpreter never dereferences such a number, though: every
// access looks the address up in the run's list of regions [base, base+len) and then indexes
// the region's Go slice. Memory safety therefore rests on Go's own slice checks, holds for
// unverified programs, and does not depend on the memory staying where it was (the region
// keeps its slice alive; a stale address simply fails the lookup).

// StackSize is the stack of one call frame, in bytes.
const StackSize = 512

// MaxFrames is how many call frames may be live at once: the entry function plus seven
// nested BPF-to-BPF calls.
const MaxFrames = 8

type region struct {
	base     uint64
	mem      []byte
	readOnly bool
}

// Memory is the set of regions a run may access. Helpers receive it to read and write
// through the pointers a program passes them, and to hand out new regions (map values).
// It is valid only during the run that passed it.
type Memory struct {
	stack     [MaxFrames * StackSize]byte
	stackBase uint64 // address of stack[0]
	stackLo   uint64 // lowest live stack address: r10 of the deepest frame - StackSize
	live      []byte // stack[stackLo-stackBase:]: the live frames
	dirtyLo   uint64 // lowest stackLo of the run: release zeroes from here up
	stackEnd  uint64 // stackBase + len(stack): r10 of the entry frame
	regions   []region
	last      int // index of the region that served the last slow-path access

	// The region that served the last access outside the stack (initially the context),
	// checked inline by the hot loop before it falls back to the region list.
	hotBase uint64
	hot     []byte
	hotRO   bool

	st *state // the run this memory belongs to (for CallFunction)
}

func addrOf(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}

// init sets the stack's addresses once: the Memory lives in a heap-allocated state, and
// heap objects do not move.
func (m *Memory) init(st *state) {
	m.st = st
	m.stackBase = uint64(uintptr(unsafe.Pointer(&m.stack[0])))
	m.stackEnd = m.stackBase + uint64(len(m.stack))
	m.dirtyLo = m.stackEnd
}

// start opens the entry frame. The stack is all zeros here (release keeps it so), which is
// what programs that read the stack before writing it see.
func (m *Memory) start() {
	m.setStackLo(m.stackEnd - StackSize)
}

// release zeroes the part of the stack the run could have written (the frames it opened)
// and drops every reference to memory outside, so pooled state holds on to nothing.
func (m *Memory) release() {
	clear(m.stack[m.dirtyLo-m.stackBase:])
	m.dirtyLo = m.stackEnd
	clear(m.regions)
	m.regions = m.regions[:0]
	m.last = 0
	m.hotBase, m.hot, m.hotRO = 0, nil, false
}

// Register makes buf accessible to the running program and returns its address (0 for an
// empty buf). readOnly regions reject stores and atomics. The region stays registered until
// the run ends; the caller must not let buf be reused for anything else before then.
func (m *Memory) Register(buf []byte, readOnly bool) uint64 {
	a := addrOf(buf)
	if a == 0 {
		return 0
	}
	m.regions = append(m.regions, region{base: a, mem: buf, readOnly: readOnly})
	if m.hot == nil {
		m.setHot(&m.regions[len(m.regions)-1])
	}
	return a
}

// CallFunction runs a BPF function of the running program as a callback (bpf_loop,
// bpf_for_each_map_elem and the like): fn is the value `lddw dst, func` loaded (see
// FuncAddr), args become r1-r5. The callback gets its own frame, counts against the call
// depth and the run's instruction budget, and returns its r0; the caller's registers are
// untouched. Errors wrap ErrBadCallback, ErrCallDepth, or are the callback's *Error.
func (m *Memory) CallFunction(fn uint64, args [5]uint64) (uint64, error) {
	slot, ok := FuncSlot(fn)
	if !ok || m.st == nil || m.st.prog == nil {
		return 0, fmt.Errorf("%w: %#x is not a function address", ErrBadCallback, fn)
	}
	return m.st.callFunction(slot, args)
}

// Bytes returns the n bytes at addr as a slice aliasing the program's memory, checked
// against the regions of the run (write asks for a writable region). The error wraps
// ErrOutOfBounds or ErrReadOnly.
func (m *Memory) Bytes(addr, n uint64, write bool) ([]byte, error) {
	b, err := m.access(addr, n, write)
	if err != nil {
		return nil, fmt.Errorf("%w: %d bytes at %#x", err, n, addr)
	}
	return b, nil
}

// setStackLo moves the lower end of the live stack (calls open frames, exits close them), so
// that dead frames are out of bounds.
func (m *Memory) setStackLo(lo uint64) {
	m.stackLo = lo
	m.live = m.stack[lo-m.stackBase:]
	m.dirtyLo = min(m.dirtyLo, lo)
}

// stackBytes is the interpreter's fast path, small enough to inline: the n bytes at a when
// they lie in the live stack, else nil.
func (m *Memory) stackBytes(a, n uint64) []byte {
	if o := a - m.stackLo; o < uint64(len(m.live)) && n <= uint64(len(m.live))-o {
		return m.live[o : o+n : o+n]
	}
	return nil
}

// hotBytes is the second inline check: the n bytes at a in the hot region, else nil.
func (m *Memory) hotBytes(a, n uint64, write bool) []byte {
	if o := a - m.hotBase; o < uint64(len(m.hot)) && n <= uint64(len(m.hot))-o && !(write && m.hotRO) {
		return m.hot[o : o+n : o+n]
	}
	return nil
}

func (m *Memory) setHot(r *region) { m.hotBase, m.hot, m.hotRO = r.base, r.mem, r.readOnly }

// access returns the n bytes at a, or an error naming why not. The live stack is checked
// first, inline, because most accesses of most programs go there.
func (m *Memory) access(a, n uint64, write bool) ([]byte, error) {
	if a >= m.stackLo && a+n <= m.stackEnd && a+n >= a {
		o := a - m.stackBase
		return m.stack[o : o+n : o+n], nil
	}
	return m.accessSlow(a, n, write)
}

func (m *Memory) accessSlow(a, n uint64, write bool) ([]byte, error) {
	if m.last < len(m.regions) {
		if b, err, ok := m.regions[m.last].slice(a, n, write); ok {
			return b, err
		}
	}
	for i := range m.regions {
		if b, err, ok := m.regions[i].slice(a, n, write); ok {
			m.last = i
			if err == nil {
				m.setHot(&m.regions[i])
			}
			return b, err
		}
	}
	return nil, ErrOutOfBounds
}

// slice reports ok when [a, a+n) lies inside the region.
func (r *region) slice(a, n uint64, write bool) ([]byte, error, bool) {
	o := a - r.base // wraps to a huge value when a < base
	if a < r.base || o >= uint64(len(r.mem)) || n > uint64(len(r.mem))-o {
		return nil, nil, false
	}
	if write && r.readOnly {
		return nil, ErrReadOnly, true
	}
	return r.mem[o : o+n : o+n], nil, true
}
