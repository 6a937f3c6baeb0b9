// Package bpfjit compiles BPF programs (RFC 9669, ISA v4 included) to native amd64 or arm64 code
// and runs them from Go, without cgo.
//
//	p, err := bpfjit.Load(prog, bpfjit.WithHelper(id, fn, proto))
//	if err != nil { ... }
//	defer p.Close()
//	r0, err := p.Run(packet)
//
// Load verifies the program (package verifier) and compiles it with what the verifier
// proved: code no path reaches and conditional jumps with a single outcome are not
// emitted as such, and explicit zero-extensions nobody reads are left out.
//
// # Maps and helpers
//
// A program's map table (isa.Program.Maps) is bound at load: to the maps of WithMaps, or
// to maps Load creates from the table's descriptions and closes with the Program
// (Program.Maps). Helpers are called by kernel id. Load provides the map helpers
// (lookup, update, delete: 1–3) when maps are bound, and ktime_get_ns (5), trace_printk
// (6, writing to WithTraceOutput), get_prandom_u32 (7) and get_smp_processor_id (8, an id
// no concurrent run of the program shares). A host adds its own helpers, or replaces
// these, with WithHelper, whose prototype the verifier checks calls against. Array
// lookups whose map is known at the call (an lddw of an array map in the same
// straight-line block) are compiled inline, without the helper.
//
// # Tail calls
//
// bpf_tail_call (helper 12) is compiled inline for verified programs with bound maps: a
// *Program is what a program array (maps.ProgArray) holds, and a tail call jumps to the
// slot's program, which replaces the running function (a BPF-to-BPF callee's caller gets
// its r0). Out-of-range indices, empty slots and the 34th tail call of a run fall
// through. Where the verifier proves map and key constant the call is a direct jump that
// the array patches on every change of the slot, while other goroutines run it; constant
// blinding keeps calls indirect. A program in a slot stays alive until removed, even
// after Close (Run then returns ErrClosed); a closed program cannot enter a slot. The
// target runs with the caller's helpers (those of the Program whose Run started).
//
// A loaded Program is immutable and may be run from any number of goroutines at once.
//
// Compile produces the native code for a named architecture (amd64 or arm64, whatever the
// host) without loading it, for inspection: Listing.Dump prints each BPF instruction
// followed by the native instructions it became.
//
// # Safety
//
// Native code runs without bounds checks: a program that reads or writes outside the memory
// it was given, or that never terminates, corrupts or hangs the process, and a fault in
// native code kills it (Go cannot recover from faults in foreign code). The verifier
// (package verifier) is what proves a program safe, and Load runs it by default
// (configured with WithVerifier); the stack depths it computes size the native frames.
// The Unverified option skips verification: with it the caller vouches for the program,
// that it only touches the memory Run passes it and its own stack (512 bytes per frame),
// and that it terminates.
package bpfjit

import (
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/ebpfimport"
	"github.com/bpfjit/bpfjit/maps"
	"github.com/bpfjit/bpfjit/verifier"
	"github.com/cilium/ebpf"
)

// Errors returned by Load and Run (besides *emit.Error for programs the JIT rejects, which
// names the slot, and the bridge's errors for helper failures).
var (
	// ErrUnsupportedArch is returned on architectures without a JIT back end.
	ErrUnsupportedArch = fmt.Errorf("bpfjit: no JIT for %s/%s", runtime.GOOS, runtime.GOARCH)
	// ErrClosed is returned by Run and Close on a closed Program.
	ErrClosed = errors.New("bpfjit: program closed")
	// ErrBudgetExhausted is returned by Run when a program loaded WithBudget used up its
	// budget of backward jumps and calls.
	ErrBudgetExhausted = errors.New("bpfjit: execution budget exhausted")
	// ErrUnresolvedMap is returned by Load when the program references a map that
	// nothing binds: no WithMaps or WithMapResolver, and no map table in the program to
	// create maps from (an fd reference, for example).
	ErrUnresolvedMap = errors.New("bpfjit: program references a map but no map resolver was given")
)

// Helper is a Go function BPF code calls by helper id: arguments r1–r5, result in r0.
// Pointers among the arguments are raw addresses of memory the program was given.
type Helper = bridge.Helper

// MapResolver returns the address a map-referencing lddw loads: the map (src 1 or 5) or
// a value address (src 2 or 6; imm2 is the offset into the value). The memory must stay
// valid and unmoved for the life of the Program.
type MapResolver func(src isa.Register, imm, imm2 int32) (uint64, error)

type config struct {
	unverified bool
	vopts      verifier.Options
	blind      bool
	blindSeed  *[32]byte
	helpers    map[int32]Helper // owned by the config (options merge into it)
	protos     map[int32]*verifier.HelperProto
	maps       MapResolver
	stack      []int
	budget     uint64
	facts      *emit.Facts             // what the verifier proved, for the JIT (nil when unverified)
	tailCalls  []verifier.TailCallSite // the verifier's tail-call sites (direct pokes)
	table      *maps.Table             // WithMaps, or created by Load (ownTable)
	ownTable   bool
	// tableResolves: lddw map references resolve through table (not a WithMapResolver).
	tableResolves bool
	trace         io.Writer // WithTraceOutput
	// perRunnerID: helper 8 is the standard get_smp_processor_id, bound per run.
	perRunnerID bool
}

// Option configures Load.
type Option func(*config)

// Unverified loads the program without verification: the caller vouches that it is safe
// (see the package documentation).
func Unverified() Option { return func(c *config) { c.unverified = true } }

// WithVerifier sets the options of the verification Load performs (program type, helper
// prototypes, guaranteed memory size, maps).
func WithVerifier(o verifier.Options) Option { return func(c *config) { c.vopts = o } }

// WithConstantBlinding rewrites every immediate of the program through a scratch register
// with a random key per program, so that no user-chosen constant appears in executable
// memory (a JIT-spraying defence). Code gets larger and slower.
func WithConstantBlinding() Option { return func(c *config) { c.blind = true } }

// WithBlindingSeed turns on constant blinding with a fixed key stream (reproducible
// images for tests and debugging; never for untrusted code).
func WithBlindingSeed(seed [32]byte) Option {
	return func(c *config) { c.blind, c.blindSeed = true, &seed }
}

// WithHelpers gives the helpers the program may call, by id (added to those of earlier
// options; an id given again replaces the earlier helper). Calling an id that is not
// present makes Run fail with *bridge.UnknownHelperError.
//
// WithHelpers gives no prototypes: the verifier accepts calls of these ids only when the
// program type (or WithVerifier's Options.Helpers) already knows them, so a host helper
// of its own either goes through WithHelper or is used with Unverified.
func WithHelpers(h map[int32]Helper) Option {
	return func(c *config) {
		for id, fn := range h {
			c.addHelper(id, fn)
		}
	}
}

// WithMapResolver resolves the program's map references.
func WithMapResolver(r MapResolver) Option { return func(c *config) { c.maps = r } }

// WithStackDepths gives the stack size of each subprogram in slot order (as the verifier
// computes them); the default is 512 bytes for each.
func WithStackDepths(d []int) Option {
	return func(c *config) { c.stack = append([]int(nil), d...) }
}

// WithBudget bounds every run to n backward jumps and BPF-to-BPF calls (each costs a
// decrement and a branch); a run that exceeds it stops with ErrBudgetExhausted. Use it to
// bound programs that are not verified to terminate. The budget is implemented as a
// helper with the id one above the largest helper id registered (the host's and the
// standard ones), which the program therefore must not call itself.
func WithBudget(n uint64) Option { return func(c *config) { c.budget = n } }

// ErrNilProgram is returned by Load and LoadSpec for a nil program.
var ErrNilProgram = errors.New("bpfjit: nil program")

// Load compiles p for this machine and makes it runnable.
func Load(p *isa.Program, opts ...Option) (*Program, error) {
	if p == nil {
		return nil, ErrNilProgram
	}
	be, err := hostBackend()
	if err != nil {
		return nil, err
	}
	c, err := prepare(p, opts, true)
	if err != nil {
		return nil, err
	}
	prog, err := load(p, c, be)
	if err != nil && c.ownTable {
		c.table.Close()
	}
	return prog, err
}

// hostBackend returns the emitter for the machine Load runs code on.
func hostBackend() (emit.Backend, error) {
	if runtime.GOOS != "linux" {
		return nil, ErrUnsupportedArch
	}
	be, err := backendFor(runtime.GOARCH)
	if err != nil {
		return nil, ErrUnsupportedArch
	}
	return be, nil
}

// verifiedDepths returns the verifier's stack depth of each function, or nil (full
// 512-byte frames) when its function list is not exactly the JIT's.
func verifiedDepths(p *isa.Program, facts *verifier.Facts) []int {
	starts := isa.SubprogramStarts(p.Insns)
	if len(starts) != len(facts.Subprogs) {
		return nil
	}
	d := make([]int, len(starts))
	for i, sp := range facts.Subprogs {
		if sp.Start != starts[i] {
			return nil
		}
		d[i] = sp.StackDepth
	}
	return d
}

// LoadInstructions is Load for a bare instruction slice.
func LoadInstructions(insns []isa.Instruction, opts ...Option) (*Program, error) {
	return Load(&isa.Program{Insns: insns}, opts...)
}

// budgetHelper is the helper id the budget stub calls: one above every user helper.
func (c *config) budgetHelper() int32 {
	id := int32(0)
	for h := range c.helpers {
		id = max(id, h+1)
	}
	return id
}

// LoadSpec compiles a program described with github.com/cilium/ebpf (for example one
// found in an ELF object by ebpf.LoadCollectionSpec). Its maps become the program's map
// table, bound as Load binds it (WithMaps, WithMapResolver with src isa.PseudoMapIdx or
// isa.PseudoMapIdxValue and imm = index into the table, or maps Load creates).
func LoadSpec(spec *ebpf.ProgramSpec, opts ...Option) (*Program, error) {
	if spec == nil {
		return nil, ErrNilProgram
	}
	p, err := ebpfimport.FromInstructions(spec.Instructions)
	if err != nil {
		return nil, err
	}
	p.Name = spec.Name
	return Load(p, opts...)
}
