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

func TestHelpers(t *testing.T) {
	errBoom := errors.New("boom")
	helpers := interp.HelperTable{
		1: func(_ *interp.Memory, a [5]uint64) (uint64, error) { return a[0] + a[1] + a[2] + a[3] + a[4], nil },
		2: func(*interp.Memory, [5]uint64) (uint64, error) { return 0, errBoom },
		3: func(*interp.Memory, [5]uint64) (uint64, error) { panic("helper bug") },
		// 4 reads the 8 bytes at r1 and writes their double at r2, through Memory.
		4: func(m *interp.Memory, a [5]uint64) (uint64, error) {
			in, err := m.Bytes(a[0], 8, false)
			if err != nil {
				return 0, err
			}
			out, err := m.Bytes(a[1], 8, true)
			if err != nil {
				return 0, err
			}
			for i := range out {
				out[i] = in[i] * 2
			}
			return 0, nil
		},
	}
	env := func() *interp.Env { return &interp.Env{Helpers: helpers} }
	t.Run("arguments r1-r5 and result r0", func(t *testing.T) {
		prog := build(mov(r1, 1), mov(r2, 2), mov(r3, 3), mov(r4, 4), mov(r5, 5), call(1), exit)
		if got := runR0(t, prog, env()); got != 15 {
			t.Errorf("r0 = %d, want 15", got)
		}
	})
	t.Run("callx calls the helper whose id is in dst", func(t *testing.T) {
		prog := build(mov(r1, 40), mov(r2, 2), mov(r3, 0), mov(r4, 0), mov(r5, 0), mov(r7, 1), callX(r7), exit)
		if got := runR0(t, prog, env()); got != 42 {
			t.Errorf("r0 = %d, want 42", got)
		}
	})
	t.Run("helpers read and write through pointers", func(t *testing.T) {
		prog := build(st(isa.SizeDW, r10, -8, 0x0102), movX(r1, r10), aluK(true, isa.ALUAdd, r1, -8),
			movX(r2, r10), aluK(true, isa.ALUAdd, r2, -16), call(4), ldx(isa.SizeDW, r0, r10, -16), exit)
		if got := runR0(t, prog, env()); got != 0x0204 {
			t.Errorf("r0 = %#x, want 0x204", got)
		}
	})
	failures := []struct {
		name  string
		prog  []isa.Instruction
		index int
		err   error
	}{
		{"unknown helper id", build(mov(r0, 0), call(99), exit), 1, interp.ErrUnknownHelper},
		{"callx with a value that is no helper id", build(lddw(r3, 1<<40), callX(r3), exit), 2, interp.ErrUnknownHelper},
		{"helper error", build(call(2), exit), 0, errBoom},
		{"helper panic", build(mov(r0, 0), call(3), exit), 1, interp.ErrHelper},
		{"helper given a bad pointer", build(mov(r1, 0), mov(r2, 0), call(4), exit), 2, interp.ErrOutOfBounds},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			ie, _ := runErr(t, tt.prog, env())
			if ie.Index != tt.index || !errors.Is(ie, tt.err) {
				t.Fatalf("got %v (index %d), want index %d and %v", ie, ie.Index, tt.index, tt.err)
			}
		})
	}
	t.Run("no helpers at all", func(t *testing.T) {
		ie, _ := runErr(t, build(call(1), exit), nil)
		if !errors.Is(ie, interp.ErrUnknownHelper) {
			t.Fatalf("got %v", ie)
		}
	})
}

// tailCaller serves bpf_tail_call from a table indexed by r3, counting calls.
type tailCaller struct {
	progs map[uint64]*interp.Program
	calls int
}

func (tc *tailCaller) TailCall(_ *interp.Memory, _, index uint64) *interp.Program {
	tc.calls++
	return tc.progs[index]
}

func TestTailCalls(t *testing.T) {
	newProg := func(insns ...any) *interp.Program {
		p, err := interp.New(&isa.Program{Insns: build(insns...)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("at most 33 per run, then the call fails and execution goes on", func(t *testing.T) {
		// Every run of the program adds 1 to r0 and tail-calls itself.
		self := newProg(aluK(true, isa.ALUAdd, r0, 1), mov(r3, 0), call(interp.HelperTailCall), aluK(true, isa.ALUAdd, r0, 0x100), exit)
		tc := &tailCaller{progs: map[uint64]*interp.Program{0: self}}
		res, err := self.Run(&interp.Env{TailCalls: tc})
		if err != nil {
			t.Fatal(err)
		}
		if res.TailCalls != interp.MaxTailCalls || res.R0 != 34+0x100 {
			t.Errorf("tail calls %d, r0 %#x; want %d and %#x", res.TailCalls, res.R0, interp.MaxTailCalls, 34+0x100)
		}
		if tc.calls != interp.MaxTailCalls {
			t.Errorf("hook asked %d times, want %d (the 34th is refused before asking)", tc.calls, interp.MaxTailCalls)
		}
	})
	t.Run("a missing entry continues with registers unchanged", func(t *testing.T) {
		p := newProg(mov(r0, 7), mov(r3, 5), call(interp.HelperTailCall), exit)
		res, err := p.Run(&interp.Env{TailCalls: &tailCaller{}})
		if err != nil || res.R0 != 7 || res.TailCalls != 0 {
			t.Fatalf("got %+v, %v; want r0 7 and no tail call", res, err)
		}
	})
	t.Run("the target replaces the program and keeps r1 and the stack", func(t *testing.T) {
		target := newProg(ldx(isa.SizeDW, r0, r10, -8), ldx(isa.SizeB, r2, r1, 0), aluX(true, isa.ALUAdd, r0, r2), exit)
		main := newProg(st(isa.SizeDW, r10, -8, 0x100), mov(r3, 1), call(interp.HelperTailCall), mov(r0, -1), exit)
		res, err := main.Run(&interp.Env{Context: []byte{0x23}, TailCalls: &tailCaller{progs: map[uint64]*interp.Program{1: target}}})
		if err != nil || res.R0 != 0x123 {
			t.Fatalf("got %+v, %v; want r0 0x123", res, err)
		}
	})
	t.Run("from a subprogram, the target returns to the caller's frame", func(t *testing.T) {
		target := newProg(mov(r0, 0x20), exit)
		main := newProg(mov(r6, 0x1000), callLocal(2), aluX(true, isa.ALUAdd, r0, r6), exit,
			mov(r3, 0), call(interp.HelperTailCall), exit)
		res, err := main.Run(&interp.Env{TailCalls: &tailCaller{progs: map[uint64]*interp.Program{0: target}}})
		if err != nil || res.R0 != 0x1020 {
			t.Fatalf("got %+v, %v; want r0 0x1020", res, err)
		}
	})
	t.Run("errors in the target name its slots", func(t *testing.T) {
		target := newProg(mov(r0, 0), ldx(isa.SizeDW, r0, r0, 0), exit)
		main := newProg(mov(r3, 0), call(interp.HelperTailCall), exit)
		_, err := main.Run(&interp.Env{TailCalls: &tailCaller{progs: map[uint64]*interp.Program{0: target}}})
		var ie *interp.Error
		if !errors.As(err, &ie) || ie.Index != 1 || !errors.Is(err, interp.ErrOutOfBounds) {
			t.Fatalf("got %v, want ErrOutOfBounds at the target's slot 1", err)
		}
	})
	t.Run("without a hook, helper 12 is an ordinary helper", func(t *testing.T) {
		p := newProg(call(interp.HelperTailCall), exit)
		ie, _ := runErr(t, build(call(interp.HelperTailCall), exit), nil)
		if !errors.Is(ie, interp.ErrUnknownHelper) {
			t.Fatalf("got %v", ie)
		}
		h := interp.HelperTable{12: func(*interp.Memory, [5]uint64) (uint64, error) { return 9, nil }}
		if res, err := p.Run(&interp.Env{Helpers: h}); err != nil || res.R0 != 9 {
			t.Fatalf("got %+v, %v", res, err)
		}
	})
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

// maps is a MapResolver with one array map (fd 3, index 0) whose value is value.
type maps struct {
	value    []byte
	readOnly bool
}

func (m *maps) MapHandle(ref interp.MapRef) (uint64, error) {
	if ref.Ref != 3 && !(ref.ByIndex && ref.Ref == 0) {
		return 0, errors.New("no such map")
	}
	return 0xabc, nil
}

func (m *maps) MapValue(ref interp.MapRef) ([]byte, bool, error) {
	if _, err := m.MapHandle(ref); err != nil {
		return nil, false, err
	}
	return m.value, m.readOnly, nil
}

func TestLddwPseudoSources(t *testing.T) {
	newProg := func(m *maps, insns ...any) (*interp.Program, error) {
		return interp.New(&isa.Program{Insns: build(insns...)}, &interp.Options{Maps: m})
	}
	t.Run("map by fd and by index load the resolver's handle", func(t *testing.T) {
		for _, src := range []isa.Register{isa.PseudoMapFD, isa.PseudoMapIdx} {
			ref := int32(3)
			if src == isa.PseudoMapIdx {
				ref = 0
			}
			p, err := newProg(&maps{}, ldPseudo(r0, src, uint64(ref)), exit)
			if err != nil {
				t.Fatal(err)
			}
			if res, err := p.Run(nil); err != nil || res.R0 != 0xabc {
				t.Errorf("src %d: got %+v, %v", src, res, err)
			}
		}
	})
	t.Run("map value is addressable memory at the given offset", func(t *testing.T) {
		m := &maps{value: make([]byte, 16)}
		for _, src := range []isa.Register{isa.PseudoMapValue, isa.PseudoMapIdxValue} {
			ref := uint64(3)
			if src == isa.PseudoMapIdxValue {
				ref = 0
			}
			p, err := newProg(m, ldPseudo(r1, src, 8<<32|ref), st(isa.SizeDW, r1, 0, 0x77),
				ldx(isa.SizeDW, r0, r1, 0), exit)
			if err != nil {
				t.Fatal(err)
			}
			if res, err := p.Run(nil); err != nil || res.R0 != 0x77 || m.value[8] != 0x77 {
				t.Errorf("src %d: got %+v, %v, value %x", src, res, err, m.value)
			}
		}
	})
	t.Run("a read-only map value rejects stores", func(t *testing.T) {
		p, err := newProg(&maps{value: make([]byte, 8), readOnly: true}, ldPseudo(r1, isa.PseudoMapValue, 3),
			st(isa.SizeB, r1, 0, 1), exit)
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Run(nil)
		if !errors.Is(err, interp.ErrReadOnly) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("unknown map and offset outside the value fail in New", func(t *testing.T) {
		if _, err := newProg(&maps{}, ldPseudo(r1, isa.PseudoMapFD, 4), exit); !errors.Is(err, interp.ErrUnresolved) {
			t.Errorf("unknown map: got %v", err)
		}
		if _, err := newProg(&maps{value: make([]byte, 8)}, ldPseudo(r1, isa.PseudoMapValue, 8<<32|3), exit); !errors.Is(err, interp.ErrUnresolved) {
			t.Errorf("offset 8 in an 8-byte value: got %v", err)
		}
	})
	t.Run("function address identifies the callback's slot", func(t *testing.T) {
		p, err := newProg(nil, ldPseudo(r0, isa.PseudoFunc, 2), exit, mov(r0, 0), exit)
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Run(nil)
		if slot, ok := interp.FuncSlot(res.R0); err != nil || !ok || slot != 3 {
			t.Fatalf("got %#x (slot %d, %v), %v; want the address of slot 3", res.R0, slot, ok, err)
		}
	})
}

func TestHelperRegisteredRegionIsAccessible(t *testing.T) {
	buf := []byte{1, 2, 3, 4}
	h := interp.HelperTable{1: func(m *interp.Memory, _ [5]uint64) (uint64, error) { return m.Register(buf, false), nil }}
	prog := build(call(1), ldx(isa.SizeW, r1, r0, 0), st(isa.SizeB, r0, 0, 9), movX(r0, r1), exit)
	if got := runR0(t, prog, &interp.Env{Helpers: h}); got != 0x04030201 || buf[0] != 9 {
		t.Fatalf("r0 = %#x, buf %v", got, buf)
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

// bpfLoop is the kernel's bpf_loop(nr, callback, ctx, flags): it calls callback(i, ctx) for
// i = 0..nr-1 until the callback returns 1, and returns the number of calls made.
func bpfLoop(m *interp.Memory, a [5]uint64) (uint64, error) {
	var i uint64
	for i < a[0] {
		ret, err := m.CallFunction(a[1], [5]uint64{i, a[2]})
		i++
		if err != nil {
			return 0, err
		}
		if ret == 1 {
			break
		}
	}
	return i, nil
}

func TestHelperCallbacks(t *testing.T) {
	const loopID = 181
	env := func() *interp.Env { return &interp.Env{Helpers: interp.HelperTable{loopID: bpfLoop}, Budget: 10000} }
	// main: *(r10-8) = 0; bpf_loop(5, cb, r10-8, 0); r0 = calls << 32 | *(r10-8) << 8 | r6
	main := build(
		st(isa.SizeDW, r10, -8, 0), mov(r6, 7),
		mov(r1, 5), ldPseudo(r2, isa.PseudoFunc, 11), movX(r3, r10), aluK(true, isa.ALUAdd, r3, -8), mov(r4, 0),
		call(loopID),
		aluK(true, isa.ALULsh, r0, 32), ldx(isa.SizeDW, r1, r10, -8), aluK(true, isa.ALULsh, r1, 8),
		aluX(true, isa.ALUOr, r0, r1), aluX(true, isa.ALUOr, r0, r6), exit,
	)
	t.Run("callback runs in its own frame and leaves r6-r9 alone", func(t *testing.T) {
		// cb(i, ctx): *ctx += i; clobber r6; use own stack; return 0 (keep going)
		cb := build(ldx(isa.SizeDW, r3, r2, 0), aluX(true, isa.ALUAdd, r3, r1), stx(isa.SizeDW, r2, r3, 0),
			mov(r6, -1), st(isa.SizeDW, r10, -8, -1), mov(r0, 0), exit)
		got := runR0(t, build(main, cb), env())
		if want := uint64(5)<<32 | (0+1+2+3+4)<<8 | 7; got != want {
			t.Errorf("r0 = %#x, want %#x", got, want)
		}
	})
	t.Run("callback returning 1 stops the loop", func(t *testing.T) {
		cb := build(mov(r0, 0), jmpK(false, isa.JumpNE, r1, 2, 1), mov(r0, 1), exit)
		if got := runR0(t, build(main, cb), env()); got>>32 != 3 {
			t.Errorf("calls = %d, want 3", got>>32)
		}
	})
	t.Run("an endless callback exhausts the run's budget", func(t *testing.T) {
		cb := build(ja(-1))
		ie, res := runErr(t, build(main, cb), env())
		if !errors.Is(ie, interp.ErrBudgetExhausted) || !errors.Is(ie, interp.ErrHelper) || res.Insns != 10000 {
			t.Fatalf("got %v after %d instructions", ie, res.Insns)
		}
	})
	t.Run("a value that is no function address is refused", func(t *testing.T) {
		prog := build(mov(r1, 1), mov(r2, 0), call(loopID), exit)
		ie, _ := runErr(t, prog, env())
		if !errors.Is(ie, interp.ErrBadCallback) || ie.Index != 2 {
			t.Fatalf("got %v (index %d)", ie, ie.Index)
		}
	})
}

type panickyTail struct{}

func (panickyTail) TailCall(*interp.Memory, uint64, uint64) *interp.Program { panic("hook bug") }

func TestTailCallHookPanicIsAnError(t *testing.T) {
	ie, _ := runErr(t, build(mov(r3, 0), call(interp.HelperTailCall), exit), &interp.Env{TailCalls: panickyTail{}})
	if !errors.Is(ie, interp.ErrHelper) || ie.Index != 1 {
		t.Fatalf("got %v (index %d)", ie, ie.Index)
	}
}
