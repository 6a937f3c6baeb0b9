package bpfjit

import (
	"runtime"
	"sync"

	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/maps"
	"github.com/bpfjit/bpfjit/verifier"
)

// WithMaps binds the program's map table (isa.Program.Maps, in order) to the maps of t:
// every lddw map reference resolves through t (handles, and value addresses for direct
// value access), the map helpers lookup, update and delete (ids 1–3, maps.RawHelpers)
// are registered unless the host gives those ids itself, and the verifier checks the
// program against t's maps (their types and key and value sizes) unless WithVerifier
// names maps of its own. t's maps must outlive the Program: close the Program first.
//
// Without WithMaps or WithMapResolver, Load creates the maps the program's table
// describes (maps.NewTable: .data and .rodata start with their initial contents) and
// closes them with the Program; Program.Maps returns them.
func WithMaps(t *maps.Table) Option { return func(c *config) { c.table = t } }

// Maps returns the maps the program's map references are bound to: the table given to
// WithMaps or the one Load created, nil when the program was loaded with a MapResolver
// or has no maps.
func (p *Program) Maps() *maps.Table { return p.table }

// bindMaps sets up the map table for Load: the one WithMaps gave, or a new one for a
// program with maps and no resolver (owned: the caller closes it if loading fails).
func (c *config) bindMaps(p *isa.Program) error {
	if c.table == nil && c.maps == nil && len(p.Maps) > 0 {
		t, err := maps.NewTable(p.Maps, nil)
		if err != nil {
			return err
		}
		c.table, c.ownTable = t, true
	}
	c.useTable()
	return nil
}

// useTable points the resolver, the map helpers and the verifier at c.table.
func (c *config) useTable() {
	t := c.table
	if t == nil {
		return
	}
	if c.maps == nil {
		c.maps = t.Resolve
		c.tableResolves = true
	}
	for id, fn := range maps.RawHelpers() {
		if _, ok := c.helpers[id]; !ok {
			c.addHelper(id, fn)
		}
	}
	if c.vopts.Maps == nil {
		var infos []verifier.MapInfo
		for i := 0; t.Map(i) != nil; i++ {
			s := t.Map(i).Spec()
			infos = append(infos, verifier.MapInfo{Type: uint32(s.Type), KeySize: s.KeySize, ValueSize: s.ValueSize, MaxEntries: s.MaxEntries})
		}
		c.vopts.Maps = infos
	}
}

// runnerPool hands each concurrent run of a program calling get_smp_processor_id its own
// helper table whose helper 8 returns a small id no other run holds at the same time: the
// stand-in for a CPU number (per-CPU data indexed by it is not shared by concurrent
// runs). Tables come from a sync.Pool, whose per-P caches keep ids mostly P-affine; the
// ids of tables the pool drops are reused.
type runnerPool struct {
	fns    []Helper
	shared *bridge.Helpers
	pool   sync.Pool
	mu     sync.Mutex
	free   []uint64 // ids of dropped runners
	next   uint64
}

type runner struct {
	id      uint64
	helpers *bridge.Helpers
}

func newRunnerPool(fns []Helper, shared *bridge.Helpers) *runnerPool {
	rp := &runnerPool{fns: fns, shared: shared}
	rp.pool.New = func() any { return rp.newRunner() }
	return rp
}

func (rp *runnerPool) newRunner() *runner {
	rp.mu.Lock()
	var id uint64
	if n := len(rp.free); n > 0 {
		id, rp.free = rp.free[n-1], rp.free[:n-1]
	} else {
		id, rp.next = rp.next, rp.next+1
	}
	rp.mu.Unlock()
	fns := append([]Helper(nil), rp.fns...)
	fns[HelperGetSmpProcessorID] = func(_, _, _, _, _ uint64) uint64 { return id }
	// The same shape as the shared table, which NewHelpers accepted, so this cannot fail;
	// should it, the run still gets the shared table (whose helper 8 returns 0).
	h, err := bridge.NewHelpers(fns)
	if err != nil {
		h = rp.shared
	}
	r := &runner{id: id, helpers: h}
	runtime.AddCleanup(r, rp.release, id)
	return r
}

func (rp *runnerPool) release(id uint64) {
	rp.mu.Lock()
	rp.free = append(rp.free, id)
	rp.mu.Unlock()
}

func (rp *runnerPool) get() *runner  { return rp.pool.Get().(*runner) }
func (rp *runnerPool) put(r *runner) { rp.pool.Put(r) }
