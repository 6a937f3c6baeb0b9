// Package engine runs a program on a chosen engine (the interpreter or the JIT) in the
// environment the command-line tools and the conformance suite assume: r1 points at a
// writable copy of the input memory (0 when there is none), r2 holds its length, and
// helper 5 exists and returns normally.
package engine

import (
	"fmt"
	"sort"

	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/maps"
)

// Runner runs one prepared program. It is safe for concurrent use.
type Runner interface {
	// Run executes the program on a private copy of mem and returns r0.
	Run(mem []byte) (uint64, error)
	Close() error
}

// Options configure Prepare.
type Options struct {
	// Budget bounds the instructions one interpreted run may execute (0: the default).
	Budget uint64
	// Blinding turns on constant blinding (JIT only).
	Blinding bool
	// Unverified skips the verifier: the caller vouches that the program only touches the
	// memory it is given (JIT only; the interpreter checks every access anyway). Runs are
	// still bounded by Budget.
	Unverified bool
	// MemSize is the length of the memory runs will pass, which the verifier may assume.
	MemSize int
}

type factory func(p *isa.Program, o Options) (Runner, error)

var engines = map[string]factory{
	"interp": newInterp,
}

// Names lists the engines compiled in, sorted.
func Names() []string {
	var n []string
	for k := range engines {
		if k == "jit" && !jitAvailable() {
			continue
		}
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Prepare readies p for repeated runs on the named engine.
func Prepare(name string, p *isa.Program, o Options) (Runner, error) {
	f, ok := engines[name]
	if !ok {
		return nil, fmt.Errorf("unknown engine %q (have %v)", name, Names())
	}
	return f(p, o)
}

// HelperNop is the helper id the conformance suite calls and expects to return.
const HelperNop = 5

// interpRunner runs the interpreter with the program's maps (created from its map table,
// kept across runs as a loaded JIT program keeps them) and the map helpers.
type interpRunner struct {
	prog    *interp.Program
	budget  uint64
	table   *maps.Table
	helpers interp.HelperTable
}

func newInterp(p *isa.Program, o Options) (Runner, error) {
	r := &interpRunner{budget: o.Budget, helpers: maps.InterpHelpers()}
	r.helpers[HelperNop] = func(*interp.Memory, [5]uint64) (uint64, error) { return 0, nil }
	var iopts *interp.Options
	if len(p.Maps) > 0 {
		t, err := maps.NewTable(p.Maps, nil)
		if err != nil {
			return nil, err
		}
		r.table, iopts = t, &interp.Options{Maps: t}
	}
	ip, err := interp.New(p, iopts)
	if err != nil {
		r.Close()
		return nil, err
	}
	r.prog = ip
	return r, nil
}

func (r *interpRunner) Run(mem []byte) (uint64, error) {
	env := interp.Env{Helpers: r.helpers, Budget: r.budget}
	if len(mem) > 0 {
		env.Context = append([]byte(nil), mem...)
	}
	res, err := maps.RunInterp(r.prog, env)
	return res.R0, err
}

func (r *interpRunner) Close() error {
	if r.table != nil {
		r.table.Close()
	}
	return nil
}
