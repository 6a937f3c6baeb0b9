package bpfjit

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/execmem"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/maps"
)

// arena holds the code of every Program; images are retired on Close and their memory is
// reused once no run can still be inside them.
var arena = execmem.New(execmem.Options{})

// Program is a compiled, runnable BPF program. It is safe for concurrent use.
type Program struct {
	name    string
	lst     *Listing // the code as loaded (relocations applied), kept for Dump
	img     *execmem.Image
	helpers *bridge.Helpers
	runners *runnerPool // per-run helper tables (get_smp_processor_id), or nil
	table   *maps.Table
	// ownTable: Load created the table and Close closes it.
	ownTable bool
	closed   atomic.Bool
	slots    slotRefs    // program-array slots holding the program (tailcall.go)
	poked    []*maps.Map // program arrays tracking the program's direct tail calls
	pokes    []*pokeSite
	budgeted bool // loaded WithBudget: not a tail-call target (tailcall.go)
}

func load(p *isa.Program, c *config, be emit.Backend) (*Program, error) {
	lst, err := compileWith(p, c, runtime.GOARCH, be)
	if err != nil {
		return nil, err
	}
	if len(lst.image.Relocs) > 0 && c.maps == nil {
		return nil, &emit.Error{Index: lst.image.Relocs[0].Slot, Err: ErrUnresolvedMap}
	}
	var helpers *bridge.Helpers
	var runners *runnerPool
	maxID := int32(-1)
	for id := range c.helpers {
		if id < 0 || id >= bridge.MaxHelpers-1 {
			return nil, fmt.Errorf("bpfjit: helper id %d outside [0, %d)", id, bridge.MaxHelpers-1)
		}
		maxID = max(maxID, id)
	}
	// Code that calls no helper (bpf_tail_call included, so no tail-call target runs
	// under it either) and has no budget runs without a table: that is the bridge's
	// fast path, which takes no pooled stack and needs no panic guard.
	if c.budget > 0 || len(c.helpers) > 0 && callsHelper(p.Insns, anyHelper) {
		fns := make([]Helper, maxID+2)
		for id, h := range c.helpers {
			fns[id] = h
		}
		if c.budget > 0 {
			fns[c.budgetHelper()] = func(_, _, _, _, _ uint64) uint64 { panic(ErrBudgetExhausted) }
		}
		if helpers, err = bridge.NewHelpers(fns); err != nil {
			return nil, err
		}
		if c.perRunnerID && callsHelper(p.Insns, HelperGetSmpProcessorID) {
			runners = newRunnerPool(fns, helpers)
		}
	}
	load := arena.Load
	if len(lst.image.TailCalls) > 0 {
		load = arena.LoadPatchable // direct tail calls are patched while they run
	}
	img, err := load(lst.image.Code)
	if err != nil {
		return nil, fmt.Errorf("bpfjit: loading native code: %w", err)
	}
	prog := &Program{name: p.Name, lst: lst, img: img, helpers: helpers, runners: runners, table: c.table, ownTable: c.ownTable}
	prog.budgeted = c.budget > 0
	if err := prog.trackPokes(c, be); err != nil {
		prog.ownTable = false // Load closes the table it created when load fails
		prog.Close()
		return nil, err
	}
	// A Program dropped without Close must not leak executable memory.
	runtime.SetFinalizer(prog, func(p *Program) { p.Close() })
	return prog, nil
}

// Run executes the program with r1 pointing at mem (0 when mem is empty) and r2 = len(mem),
// and returns r0. mem must not be modified by other goroutines during the run.
func (p *Program) Run(mem []byte) (uint64, error) {
	var a bridge.Args
	if len(mem) > 0 {
		heap(unsafe.Pointer(&mem[0]))
		a[0], a[1] = uint64(uintptr(unsafe.Pointer(&mem[0]))), uint64(len(mem))
	}
	r0, err := p.run(&a)
	runtime.KeepAlive(mem)
	return r0, err
}

// RunArgs executes the program with r1–r5 = args and returns r0. Arguments that are
// addresses must point at memory that is not on a goroutine stack (goroutine stacks move
// while helpers run) and stays alive during the run.
func (p *Program) RunArgs(args [5]uint64) (uint64, error) { return p.run((*bridge.Args)(&args)) }

// run takes the arguments by address: see bridge.Run.
func (p *Program) run(a *bridge.Args) (uint64, error) {
	if p.closed.Load() {
		return 0, ErrClosed
	}
	var r0 uint64
	var err error
	if p.runners != nil {
		r := p.runners.get()
		r0, err = bridge.Run(p.img, r.helpers, a)
		p.runners.put(r)
	} else {
		r0, err = bridge.Run(p.img, p.helpers, a)
	}
	runtime.KeepAlive(p)
	switch {
	case err == nil:
	case errors.Is(err, bridge.ErrRetired):
		return 0, ErrClosed
	case errors.Is(err, ErrBudgetExhausted):
		return 0, ErrBudgetExhausted
	}
	return r0, err
}

// Close releases the native code, and the maps Load created for the program (which waits
// for runs in progress to finish). Runs in progress finish; later runs return ErrClosed.
func (p *Program) Close() error {
	if p.closed.Swap(true) {
		return ErrClosed
	}
	runtime.SetFinalizer(p, nil)
	p.untrackPokes() // before the code goes: no array patches it any more
	// A program still in a program-array slot keeps its code until the last slot lets go.
	err := p.slots.close(func() error { return arena.Retire(p.img) })
	if p.ownTable {
		p.table.Close()
	}
	return err
}

// Native returns a copy of the native code.
func (p *Program) Native() []byte { return p.lst.Native() }

// Range is a half-open byte range of native code.
type Range struct{ Start, End int }

// NativeRanges returns, for every instruction slot, the native code generated for it
// (empty for the second slot of an lddw). Prologues and epilogues belong to no slot; see
// Functions.
func (p *Program) NativeRanges() []Range { return p.lst.NativeRanges() }

// Function is where one BPF function landed in the native code.
type Function struct {
	Slot     int   // first instruction slot
	Prologue Range // patchable entry, frame set-up, saved registers
	Epilogue Range
}

// Functions lists the program's functions in slot order.
func (p *Program) Functions() []Function { return p.lst.Functions() }

var sink struct {
	on bool
	p  unsafe.Pointer
}

// heap forces what p points to onto the heap: escape analysis sees a store to a global.
// Native code holds raw addresses, and a goroutine stack moves when it grows (which can
// happen while a helper runs), a heap object never does.
//
//go:noinline
func heap(p unsafe.Pointer) {
	if sink.on {
		sink.p = p
	}
}
