package interp_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
)

// runErr runs insns and returns the *interp.Error it must fail with.
func runErr(t *testing.T, insns []isa.Instruction, env *interp.Env) (*interp.Error, interp.Result) {
	t.Helper()
	p, err := interp.New(&isa.Program{Insns: insns}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	res, err := p.Run(env)
	var ie *interp.Error
	if !errors.As(err, &ie) {
		t.Fatalf("Run: want *interp.Error, got %v (r0 %#x)", err, res.R0)
	}
	return ie, res
}

func TestMemoryAccessOutsideRegionsFailsNamingTheSlot(t *testing.T) {
	ctx8 := func() *interp.Env { return &interp.Env{Context: make([]byte, 8)} }
	tests := []struct {
		name  string
		prog  []isa.Instruction
		env   *interp.Env
		index int
		err   error
	}{
		{"load past the end of the context", build(mov(r0, 0), ldx(isa.SizeW, r0, r1, 6), exit), ctx8(), 1, interp.ErrOutOfBounds},
		{"load before the context", build(ldx(isa.SizeB, r0, r1, -1), exit), ctx8(), 0, interp.ErrOutOfBounds},
		{"store past the end of the context", build(mov(r0, 0), st(isa.SizeDW, r1, 1, 0), exit), ctx8(), 1, interp.ErrOutOfBounds},
		{"store into a read-only context", build(st(isa.SizeB, r1, 0, 1), exit),
			&interp.Env{Context: make([]byte, 8), ContextReadOnly: true}, 0, interp.ErrReadOnly},
		{"atomic on a read-only context", build(mov(r2, 1), atomic(isa.SizeDW, isa.AtomicAdd, r1, r2, 0), exit),
			&interp.Env{Context: make([]byte, 8), ContextReadOnly: true}, 1, interp.ErrReadOnly},
		{"load through r1 = 0 when there is no context", build(ldx(isa.SizeDW, r0, r1, 0), exit), nil, 0, interp.ErrOutOfBounds},
		{"load below the 512-byte frame", build(ldx(isa.SizeDW, r0, r10, -520), exit), nil, 0, interp.ErrOutOfBounds},
		{"load straddling the frame's lower end", build(ldx(isa.SizeDW, r0, r10, -516), exit), nil, 0, interp.ErrOutOfBounds},
		{"load at r10 (above the stack)", build(ldx(isa.SizeB, r0, r10, 0), exit), nil, 0, interp.ErrOutOfBounds},
		{"store with address wrap-around", build(lddw(r1, ^uint64(0)), stx(isa.SizeDW, r1, r1, 0), exit), nil, 2, interp.ErrOutOfBounds},
		{"atomic outside the stack", build(mov(r1, 0), atomic(isa.SizeW, isa.AtomicXchg, r10, r1, 8), exit), nil, 1, interp.ErrOutOfBounds},
		{"the callee's frame is gone after it returns",
			build(callLocal(2), ldx(isa.SizeDW, r0, r0, 0), exit, movX(r0, r10), aluK(true, isa.ALUAdd, r0, -8), exit), nil, 1, interp.ErrOutOfBounds},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ie, _ := runErr(t, tt.prog, tt.env)
			if ie.Index != tt.index || !errors.Is(ie, tt.err) {
				t.Fatalf("got %v (index %d), want index %d and %v", ie, ie.Index, tt.index, tt.err)
			}
			if !strings.HasPrefix(ie.Error(), "insn ") {
				t.Errorf("message %q does not name the instruction", ie.Error())
			}
		})
	}
}

func TestBudgetTurnsAnEndlessLoopIntoAnError(t *testing.T) {
	ie, res := runErr(t, build(mov(r0, 0), aluK(true, isa.ALUAdd, r0, 1), ja(-2)), &interp.Env{Budget: 1000})
	if !errors.Is(ie, interp.ErrBudgetExhausted) {
		t.Fatalf("got %v", ie)
	}
	if res.Insns != 1000 {
		t.Errorf("executed %d instructions, want exactly the budget 1000", res.Insns)
	}
	// 1000 = mov + 499 × (add, ja) + one more add: the next slot, the ja at 2, was refused.
	if ie.Index != 2 {
		t.Errorf("index %d, want 2 (the first instruction not executed)", ie.Index)
	}
}

func TestBudgetCountsLddwOnce(t *testing.T) {
	p, err := interp.New(&isa.Program{Insns: build(lddw(r0, 1), exit)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Run(&interp.Env{Budget: 2})
	if err != nil || res.Insns != 2 {
		t.Fatalf("got %+v, %v; want 2 instructions and no error", res, err)
	}
}

func TestNinthCallFrameIsRejected(t *testing.T) {
	// f calls itself forever: frames 1 (entry) .. 8 are fine, opening the 9th fails.
	ie, _ := runErr(t, build(callLocal(1), exit, aluK(true, isa.ALUAdd, r6, 1), callLocal(-2), exit), nil)
	if !errors.Is(ie, interp.ErrCallDepth) || ie.Index != 3 {
		t.Fatalf("got %v (index %d), want ErrCallDepth at slot 3", ie, ie.Index)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name  string
		prog  []isa.Instruction
		index int
		err   error
	}{
		{"mov to r10", build(mov(r10, 0), exit), 0, interp.ErrFrameWrite},
		{"add to r10", build(aluK(true, isa.ALUAdd, r10, 8), exit), 0, interp.ErrFrameWrite},
		{"load into r10", build(mov(r0, 0), ldx(isa.SizeDW, r10, r10, -8), exit), 1, interp.ErrFrameWrite},
		{"lddw into r10", build(lddw(r10, 1), exit), 0, interp.ErrFrameWrite},
		{"atomic fetch into r10", build(atomic(isa.SizeDW, isa.AtomicXchg, r1, r10, 0), exit), 0, interp.ErrFrameWrite},
		{"map load without a resolver", build(ldPseudo(r1, isa.PseudoMapFD, 3), exit), 0, interp.ErrUnresolved},
		{"BTF id load", build(ldPseudo(r1, isa.PseudoBTFID, 3), exit), 0, interp.ErrUnsupported},
		{"unknown opcode (isa.Validate's error)", build(ins(0xff, 0, 0, 0, 0), exit), 0, isa.ErrUnknownOpcode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := interp.New(&isa.Program{Insns: tt.prog}, nil)
			if !errors.Is(err, tt.err) {
				t.Fatalf("got %v, want %v", err, tt.err)
			}
			var ie *interp.Error
			var ve *isa.InsnError
			switch {
			case errors.As(err, &ie):
				if ie.Index != tt.index {
					t.Errorf("index %d, want %d", ie.Index, tt.index)
				}
			case errors.As(err, &ve):
				if ve.Index != tt.index {
					t.Errorf("index %d, want %d", ve.Index, tt.index)
				}
			default:
				t.Errorf("%T names no slot", err)
			}
		})
	}
	if _, err := interp.New(&isa.Program{}, nil); !errors.Is(err, isa.ErrEmpty) {
		t.Errorf("empty program: got %v", err)
	}
	if _, err := interp.New(nil, nil); !errors.Is(err, isa.ErrEmpty) {
		t.Errorf("nil program: got %v", err)
	}
}

func TestUnsupportedInstructionsFailWhenExecuted(t *testing.T) {
	ldAbsW := ins(isa.Mem(isa.ClassLD, isa.ModeABS, isa.SizeW), 0, 0, 0, 4)
	kfunc := ins(isa.OpCall, 0, isa.PseudoKfuncCall, 0, 77)
	for name, prog := range map[string][]isa.Instruction{
		"LD ABS": build(mov(r6, 0), ldAbsW, exit),
		"kfunc":  build(mov(r6, 0), kfunc, exit),
	} {
		t.Run(name, func(t *testing.T) {
			ie, _ := runErr(t, prog, nil)
			if !errors.Is(ie, interp.ErrUnsupported) || ie.Index != 1 {
				t.Fatalf("got %v (index %d)", ie, ie.Index)
			}
		})
	}
}

func TestEveryRunStartsWithAZeroedStack(t *testing.T) {
	// The dirty programs leave data in the entry frame and in a callee's frame; runs reuse
	// pooled state, so a later run must still see zeros everywhere.
	dirty := build(st(isa.SizeDW, r10, -8, -1), st(isa.SizeDW, r10, -512, -1), mov(r0, 0), exit)
	dirtyCallee := build(callLocal(1), exit, st(isa.SizeDW, r10, -8, -1), st(isa.SizeDW, r10, -512, -1), mov(r0, 0), exit)
	read := build(ldx(isa.SizeDW, r0, r10, -8), ldx(isa.SizeDW, r1, r10, -512), aluX(true, isa.ALUOr, r0, r1), exit)
	readCallee := build(callLocal(1), exit,
		ldx(isa.SizeDW, r0, r10, -8), ldx(isa.SizeDW, r1, r10, -512), aluX(true, isa.ALUOr, r0, r1), exit)
	for range 10 {
		runR0(t, dirty, nil)
		runR0(t, dirtyCallee, nil)
		if got := runR0(t, read, nil); got != 0 {
			t.Fatalf("entry frame read %#x after an earlier run", got)
		}
		if got := runR0(t, readCallee, nil); got != 0 {
			t.Fatalf("callee frame read %#x after an earlier run", got)
		}
	}
}

func TestConcurrentRunsShareAProgram(t *testing.T) {
	// Each run sums 1..1000 on its own stack; a data race or shared stack would show.
	p, err := interp.New(&isa.Program{Insns: build(
		mov(r0, 0), mov(r1, 0), st(isa.SizeDW, r10, -8, 0),
		aluK(true, isa.ALUAdd, r1, 1), ldx(isa.SizeDW, r2, r10, -8), aluX(true, isa.ALUAdd, r2, r1),
		stx(isa.SizeDW, r10, r2, -8), jmpK(false, isa.JumpLT, r1, 1000, -5),
		ldx(isa.SizeDW, r0, r10, -8), exit)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if res, err := p.Run(nil); err != nil || res.R0 != 500500 {
					t.Errorf("got %+v, %v", res, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
