package bpfjit

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/amd64"
	"github.com/bpfjit/bpfjit/emit/arm64"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/verifier"
)

// The architectures Compile accepts, named as GOARCH names them.
const (
	ArchAMD64 = "amd64"
	ArchARM64 = "arm64"
)

// Archs lists the architectures Compile accepts.
func Archs() []string { return []string{ArchAMD64, ArchARM64} }

// UnknownArchError is returned by Compile for an architecture it has no back end for.
type UnknownArchError struct{ Arch string }

func (e *UnknownArchError) Error() string {
	return fmt.Sprintf("bpfjit: no JIT back end for architecture %q (have %s)", e.Arch, strings.Join(Archs(), ", "))
}

// backendFor returns the emitter of arch. Emitters only produce bytes, so every back end
// works on every host; only Load needs the host's.
func backendFor(arch string) (emit.Backend, error) {
	switch arch {
	case ArchAMD64:
		return &amd64.Backend{GateEntryDisp: bridge.CtxGateEntry, ScratchDisp: bridge.CtxScratch,
			TailCallCountDisp: tailCallCountDisp, StackTopDisp: stackTopDisp, TailCallStackLimit: tailCallStackLimit}, nil
	case ArchARM64:
		// AtomicAuto: LSE where the host is an arm64 CPU that has it, exclusive-monitor
		// loops otherwise (always when cross-compiling, the target CPU being unknown).
		return &arm64.Backend{GateEntryDisp: bridge.CtxGateEntry,
			TailCallCountDisp: tailCallCountDisp, StackTopDisp: stackTopDisp, TailCallStackLimit: tailCallStackLimit}, nil
	}
	return nil, &UnknownArchError{Arch: arch}
}

// Listing is a program compiled for one architecture but not loaded: its native code and
// where each BPF instruction landed, for inspection (Dump). It never becomes executable.
type Listing struct {
	arch  string
	insns []isa.Instruction
	image *emit.Image
	// inlined lists the slots of array lookups lowered inline.
	inlined []int
}

// Compile compiles p for arch (ArchAMD64 or ArchARM64, on any host) without making it
// executable. It does what Load does up to that point: it verifies p unless Unverified is
// given, blinds constants when asked, and sizes frames by the verifier's stack depths or
// WithStackDepths; WithBudget adds the budget checks. Map references are resolved through
// WithMaps or WithMapResolver when given and otherwise left as zero addresses (Compile
// creates no maps). Helpers are not needed: calls go through the bridge by id.
//
// For arm64, atomics use LSE instructions only when the host itself is an arm64 CPU with
// LSE (as Load would); compiled elsewhere they use exclusive-monitor loops.
func Compile(p *isa.Program, arch string, opts ...Option) (*Listing, error) {
	if p == nil {
		return nil, ErrNilProgram
	}
	be, err := backendFor(arch)
	if err != nil {
		return nil, err
	}
	c, err := prepare(p, opts, false)
	if err != nil {
		return nil, err
	}
	return compileWith(p, c, arch, be)
}

// prepare applies opts, binds the maps and helpers (for Load: creating the program's maps
// when nothing else binds them) and runs the verifier when asked to.
func prepare(p *isa.Program, opts []Option, load bool) (*config, error) {
	c := new(config)
	for _, o := range opts {
		o(c)
	}
	if load {
		if err := c.bindMaps(p); err != nil {
			return nil, err
		}
		c.addStandardHelpers()
	} else {
		c.useTable()
	}
	if !c.unverified {
		facts, err := verifier.Check(p, c.verifierOptions())
		if err != nil {
			if c.ownTable {
				c.table.Close()
			}
			return nil, err
		}
		if c.stack == nil {
			c.stack = verifiedDepths(p, facts)
		}
		c.facts = &emit.Facts{Dead: facts.Dead, Branch: facts.Branch, ZeroExtend: facts.ZeroExtend}
		c.tailCalls = facts.TailCalls
	}
	return c, nil
}

// compileWith runs the emitter and fills the map references the resolver knows.
func compileWith(p *isa.Program, c *config, arch string, be emit.Backend) (*Listing, error) {
	inlined := c.inlineArrayLookups(p.Insns)
	img, err := emit.Compile(p.Insns, emit.Options{Blind: c.blind, BlindSeed: c.blindSeed, StackDepth: c.stack,
		Budget: c.budget, BudgetHelper: c.budgetHelper(), Facts: c.facts,
		DirectTailCalls: c.directTailCalls(), InlineArrayLookups: inlined}, be)
	if err != nil {
		return nil, err
	}
	if c.maps != nil {
		for _, r := range img.Relocs {
			v, err := c.maps(r.Src, r.Imm, r.Imm2)
			if err != nil {
				return nil, &emit.Error{Index: r.Slot, Err: err, Detail: "resolving map reference"}
			}
			binary.LittleEndian.PutUint64(img.Code[r.Off:], v)
		}
	}
	return &Listing{arch: arch, insns: p.Insns, image: img, inlined: inlined}, nil
}

// Arch returns the architecture the code is for.
func (l *Listing) Arch() string { return l.arch }

// Native returns a copy of the native code.
func (l *Listing) Native() []byte { return append([]byte(nil), l.image.Code...) }

// NativeRanges returns, for every instruction slot, the native code generated for it
// (empty for the second slot of an lddw). Prologues and epilogues belong to no slot; see
// Functions.
func (l *Listing) NativeRanges() []Range {
	img := l.image
	out := make([]Range, len(l.insns))
	for k, f := range img.Funcs {
		last := len(l.insns)
		if k+1 < len(img.Funcs) {
			last = img.Funcs[k+1].Start
		}
		for i := f.Start; i < last; i++ {
			end := int(img.Slots[i+1])
			if i+1 == last {
				end = f.Exit
			}
			out[i] = Range{int(img.Slots[i]), end}
		}
	}
	return out
}

// Functions lists the program's functions in slot order.
func (l *Listing) Functions() []Function {
	out := make([]Function, 0, len(l.image.Funcs))
	for _, f := range l.image.Funcs {
		out = append(out, Function{Slot: f.Start, Prologue: Range{f.Entry, f.Body}, Epilogue: Range{f.Exit, f.End}})
	}
	return out
}
