package engine

import (
	"errors"
	"sync"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/verifier"
)

func init() { engines["jit"] = newJIT }

var jitHelpers = map[int32]bpfjit.Helper{
	HelperNop: func(_, _, _, _, _ uint64) uint64 { return 0 },
}

// jitAvailable reports whether this build has a JIT for the host (probed once).
var jitAvailable = sync.OnceValue(func() bool {
	p, err := bpfjit.LoadInstructions([]isa.Instruction{{Opcode: isa.OpExit}}, bpfjit.Unverified())
	if err != nil {
		return !errors.Is(err, bpfjit.ErrUnsupportedArch)
	}
	p.Close()
	return true
})

type jitRunner struct{ prog *bpfjit.Program }

func newJIT(p *isa.Program, o Options) (Runner, error) {
	opts := []bpfjit.Option{bpfjit.WithHelpers(jitHelpers)}
	if o.Blinding {
		opts = append(opts, bpfjit.WithConstantBlinding())
	}
	if o.Unverified {
		// The caller vouches for memory safety; the budget still bounds the run.
		budget := o.Budget
		if budget == 0 {
			budget = DefaultJITBudget
		}
		opts = append(opts, bpfjit.Unverified(), bpfjit.WithBudget(budget))
	} else {
		opts = append(opts, bpfjit.WithVerifier(verifier.Options{MinMem: o.MemSize}))
	}
	jp, err := bpfjit.Load(p, opts...)
	if err != nil {
		return nil, err
	}
	return &jitRunner{prog: jp}, nil
}

// DefaultJITBudget bounds unverified JIT runs: backward jumps plus calls.
const DefaultJITBudget = 1 << 24

func (r *jitRunner) Run(mem []byte) (uint64, error) {
	if len(mem) > 0 {
		mem = append([]byte(nil), mem...)
	}
	return r.prog.Run(mem)
}

func (r *jitRunner) Close() error { return r.prog.Close() }
