package interp_test

import (
	"errors"
	"testing"

	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
)

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
