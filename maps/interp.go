package maps

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/cilium/ebpf"
)

// ErrNotAMap is the error the interpreter helpers return for a map argument that is not
// a live map handle (it ends the run; a verified program cannot pass one).
var ErrNotAMap = errors.New("not a map handle")

// InterpHelpers returns the map helpers for the interpreter. They read keys and values
// through the run's Memory (so every pointer is checked) and register a looked-up value
// as a region of the run. The run must be inside a read-side section (see RunInterp).
func InterpHelpers() interp.HelperTable {
	return interp.HelperTable{
		HelperMapLookupElem: interpLookup,
		HelperMapUpdateElem: interpUpdate,
		HelperMapDeleteElem: interpDelete,
	}
}

func interpMap(mem *interp.Memory, handle, key uint64) (*Map, []byte, error) {
	m := FromHandle(handle)
	if m == nil {
		return nil, nil, fmt.Errorf("%w: %#x", ErrNotAMap, handle)
	}
	k, err := mem.Bytes(key, uint64(m.spec.KeySize), false)
	if err != nil {
		return nil, nil, fmt.Errorf("map %s key: %w", m.spec.Name, err)
	}
	return m, k, nil
}

func interpLookup(mem *interp.Memory, args [5]uint64) (uint64, error) {
	m, key, err := interpMap(mem, args[0], args[1])
	if err != nil {
		return 0, err
	}
	if m.spec.Flags&FlagWronlyProg != 0 {
		return 0, nil
	}
	a := m.impl.lookup(key)
	if a == 0 {
		return 0, nil
	}
	return mem.Register(raw(a, m.spec.ValueSize), m.spec.Flags&FlagRdonlyProg != 0), nil
}

func interpUpdate(mem *interp.Memory, args [5]uint64) (uint64, error) {
	m, key, err := interpMap(mem, args[0], args[1])
	if err != nil {
		return 0, err
	}
	v, err := mem.Bytes(args[2], uint64(m.spec.ValueSize), false)
	if err != nil {
		return 0, fmt.Errorf("map %s value: %w", m.spec.Name, err)
	}
	return uint64(Errno(m.progUpdate(key, v, args[3]))), nil
}

func interpDelete(mem *interp.Memory, args [5]uint64) (uint64, error) {
	m, key, err := interpMap(mem, args[0], args[1])
	if err != nil {
		return 0, err
	}
	return uint64(Errno(m.progDelete(key))), nil
}

// InterpProgram is implemented by program-array entries the interpreter can tail-call.
type InterpProgram interface {
	Program
	Interp() *interp.Program
}

// InterpOnly wraps an interpreter program for a program array: it has no native code,
// so native tail calls into its slot fall through.
func InterpOnly(p *interp.Program) InterpProgram { return interpOnly{p} }

type interpOnly struct{ p *interp.Program }

func (interpOnly) TailCallEntry() uintptr    { return 0 }
func (i interpOnly) Interp() *interp.Program { return i.p }

// TailCaller resolves the interpreter's bpf_tail_call through program arrays.
type TailCaller struct{}

// TailCall implements interp.TailCaller.
func (TailCaller) TailCall(_ *interp.Memory, handle, index uint64) *interp.Program {
	m := FromHandle(handle)
	if m == nil {
		return nil
	}
	// The index argument is a u32, as in the kernel: the upper half of r3 is ignored.
	if p, ok := m.Program(uint32(index)).(InterpProgram); ok {
		return p.Interp()
	}
	return nil
}

// RunInterp runs p inside a read-side section of DefaultReaders, with the map helpers
// (unless env.Helpers already provides them) and program-array tail calls.
func RunInterp(p *interp.Program, env interp.Env) (interp.Result, error) {
	if env.Helpers == nil {
		env.Helpers = InterpHelpers()
	}
	if env.TailCalls == nil {
		env.TailCalls = TailCaller{}
	}
	r := DefaultReaders.Acquire()
	r.Enter()
	defer func() {
		r.Exit()
		DefaultReaders.Put(r)
	}()
	return p.Run(&env)
}

// Table binds a program's map table (isa.Program.Maps) to maps and resolves its lddw
// pseudo sources for the interpreter (interp.MapResolver). PseudoMapFD immediates name
// maps by ID (Map.ID).
type Table struct {
	maps []*Map
}

// NewTable creates one map per reference, filled with the reference's initial contents
// when its Spec is a *ebpf.MapSpec (global variables in .data and .rodata).
func NewTable(refs []isa.MapRef, opts *Options) (*Table, error) {
	t := &Table{}
	for i, r := range refs {
		m, err := New(SpecOf(r), opts)
		if err == nil {
			err = fill(m, r.Spec)
		}
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("map %d (%s): %w", i, r.Name, err)
		}
		t.maps = append(t.maps, m)
	}
	return t, nil
}

// TableOf binds existing maps, in the program's map-table order.
func TableOf(ms ...*Map) *Table { return &Table{maps: ms} }

func fill(m *Map, spec any) error {
	ms, ok := spec.(*ebpf.MapSpec)
	if !ok || ms == nil {
		return nil
	}
	for _, kv := range ms.Contents {
		k, err := toBytes(kv.Key)
		if err != nil {
			return err
		}
		v, err := toBytes(kv.Value)
		if err != nil {
			return err
		}
		if err := m.Update(k, v, UpdateAny); err != nil {
			return err
		}
	}
	if m.spec.Flags&FlagRdonlyProg != 0 {
		m.Freeze() // as loaders do for .rodata
	}
	return nil
}

func toBytes(v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	b, err := binary.Append(nil, binary.LittleEndian, v)
	if err != nil {
		return nil, fmt.Errorf("initial contents: %w", err)
	}
	return b, nil
}

// Map returns the i-th map, or nil.
func (t *Table) Map(i int) *Map {
	if i < 0 || i >= len(t.maps) {
		return nil
	}
	return t.maps[i]
}

// ByName returns the first map with the given name, or nil.
func (t *Table) ByName(name string) *Map {
	for _, m := range t.maps {
		if m.spec.Name == name {
			return m
		}
	}
	return nil
}

// Close closes every map of the table.
func (t *Table) Close() {
	for _, m := range t.maps {
		_ = m.Close()
	}
	t.maps = nil
}

func (t *Table) resolve(ref interp.MapRef) (*Map, error) {
	var m *Map
	if ref.ByIndex {
		m = t.Map(int(ref.Ref))
	} else if ref.Ref > 0 {
		m = FromID(uint32(ref.Ref))
	}
	if m == nil {
		return nil, fmt.Errorf("maps: no map %+v", ref)
	}
	return m, nil
}

// MapHandle implements interp.MapResolver.
func (t *Table) MapHandle(ref interp.MapRef) (uint64, error) {
	m, err := t.resolve(ref)
	if err != nil {
		return 0, err
	}
	return m.Handle(), nil
}

// MapValue implements interp.MapResolver: the value of element 0 of an array map with
// a single entry (the kernel's rule for direct value access).
func (t *Table) MapValue(ref interp.MapRef) ([]byte, bool, error) {
	m, err := t.resolve(ref)
	if err != nil {
		return nil, false, err
	}
	a, ok := m.impl.(*arrayMap)
	if !ok || a.max != 1 {
		return nil, false, fmt.Errorf("maps: direct value access needs an array with one entry, %s is %s with %d", m.spec.Name, m.spec.Type, m.spec.MaxEntries)
	}
	return a.valueAt(0), m.spec.Flags&FlagRdonlyProg != 0, nil
}

// Resolve is the JIT's map resolver (bpfjit.WithMapResolver(t.Resolve)): the 64-bit
// value an lddw with pseudo source src loads — a handle for PseudoMapFD/PseudoMapIdx, the
// address of element 0 plus imm2 for PseudoMapValue/PseudoMapIdxValue.
func (t *Table) Resolve(src isa.Register, imm, imm2 int32) (uint64, error) {
	ref := interp.MapRef{ByIndex: src == isa.PseudoMapIdx || src == isa.PseudoMapIdxValue, Ref: imm}
	switch src {
	case isa.PseudoMapFD, isa.PseudoMapIdx:
		return t.MapHandle(ref)
	case isa.PseudoMapValue, isa.PseudoMapIdxValue:
		m, err := t.resolve(ref)
		if err != nil {
			return 0, err
		}
		if imm2 < 0 || uint32(imm2) >= m.spec.ValueSize {
			return 0, fmt.Errorf("maps: offset %d outside the %d-byte value of %s", imm2, m.spec.ValueSize, m.spec.Name)
		}
		a, err := m.ValueAddr()
		return a + uint64(imm2), err
	}
	return 0, fmt.Errorf("maps: lddw source %d is not a map reference", src)
}

// ValueAddr resolves a PseudoMapValue/PseudoMapIdxValue reference to the address the
// JIT's lddw adds its offset to.
func (t *Table) ValueAddr(ref interp.MapRef) (uint64, error) {
	m, err := t.resolve(ref)
	if err != nil {
		return 0, err
	}
	return m.ValueAddr()
}

// ValueAddr returns the address of element 0 of a single-entry array map: what `lddw`
// with PseudoMapValue/PseudoMapIdxValue adds its offset to under the JIT.
func (m *Map) ValueAddr() (uint64, error) {
	a, ok := m.impl.(*arrayMap)
	if !ok || a.max != 1 {
		return 0, m.err("value_addr", ErrNotSupported, "direct value access needs an array with one entry")
	}
	return uint64(a.base), nil
}
