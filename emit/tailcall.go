package emit

import (
	"bytes"

	"github.com/bpfjit/bpfjit/isa"
)

// MaxTailCalls is how many tail calls one run may make (the kernel's MAX_TAIL_CALL_CNT,
// checked as `count >= 33` since Linux 5.17); the next one falls through.
const MaxTailCalls = 33

// TailCallBackend is implemented by backends that lower bpf_tail_call (helper 12) inline.
//
// The contract, shared by every backend: the main function's prologue zeroes a run-wide
// counter before Func.TailEntry; the call site checks index < max entries (the program
// array's maps.Header), count < MaxTailCalls and a non-zero slot entry (in that order,
// falling through with every BPF register unchanged when one fails), then counts the call,
// tears down the current frame as its epilogue would and jumps to the slot's entry — the
// target's TailEntry. The target runs in the frame slot of the function that made the
// call (a BPF-to-BPF callee's caller gets the target's r0), as the kernel does. A direct
// call from a main function may instead keep its frame and jump to the target's Body when
// the target's frame fits in it (FrameFits): the same end state, without the teardown
// and set-up.
//
// A tail call from a BPF-to-BPF callee keeps the frames below it, so a chain of them grows
// the native stack by up to 33 times a program's deepest call chain. The main function
// therefore also records the stack pointer at entry, and such a call falls through when
// the run has used more than the backend's limit of native stack: a tail call that could
// overflow the stack fails as one past the count limit does.
type TailCallBackend interface {
	// TailCalls reports whether this backend instance can lower tail calls (it may need
	// configuration, such as where the counter lives).
	TailCalls() bool
}

// checkTailCalls refuses bpf_tail_call for backends that cannot lower it, and for code the
// verifier has not checked: the call site trusts r2 to be a program array's handle.
func checkTailCalls(s *Stream, opts Options, be Backend) *Error {
	if s.tailCall < 0 {
		return nil
	}
	if tb, ok := be.(TailCallBackend); !ok || !tb.TailCalls() {
		return Errorf(int(s.tailCall), ErrTailCall, "bpf_tail_call (helper %d): backend has no tail calls", HelperTailCall)
	}
	if opts.Facts == nil {
		return Errorf(int(s.tailCall), ErrTailCall, "bpf_tail_call (helper %d) needs verified code (Options.Facts): r2 must be a program array", HelperTailCall)
	}
	return nil
}

// HasTailCalls reports whether the program being compiled calls bpf_tail_call (so its
// main function must initialise the tail-call counter).
func (c *Compiler) HasTailCalls() bool { return c.plain.tailCall >= 0 }

// IsTailCall reports whether in is a call of bpf_tail_call.
func IsTailCall(in *isa.Instruction) bool { return in.IsHelperCall() && in.Imm == HelperTailCall }

// Where tail-call code reads a program array's maps.Header (the map handle r2 holds);
// the root package's tests pin them to maps.HeaderBaseOffset and maps.HeaderMaxEntriesOffset.
const (
	HeaderBaseOffset       = 0 // u64: the slot table, one native entry (or 0) per slot
	HeaderMaxEntriesOffset = 8 // u32
)

// TailCallSite is one direct tail call in an image. Its code checks the run's tail-call
// count (and, in a BPF-to-BPF callee, the native stack), falling through to Out when the
// call is not allowed, then reaches the bypass word, which is one of
//
//	jump to Indirect   the indirect sequence, correct for any slot content: the state the
//	                   code is emitted in, and the one for a target out of a jump's reach
//	jump to Out        empty slot: fall through, nothing counted
//	Fill               the slot's program: go on to count the call, unwind the frame and
//	                   take the target word's jump
//
// and the target word jumps straight to the slot program's tail-call entry. So a call to a
// filled slot costs the count check, the frame work every tail call does, and one direct
// jump. The target word is reachable only through a nop bypass: it is rewritten only from
// one valid target to another, or while the bypass leads elsewhere. Every state change is
// one aligned word store (PokeEncoder), so a running thread executes a whole old or a
// whole new word.
//
// A site in a main function may also have a frame word, between counting and unwinding
// (FrameEncoder, FrameFits). It is a nop, on to the unwinding and the target word, or a jump to the
// body of a slot program whose frame fits in the caller's: the call then keeps the frame
// and costs the count check and one jump. Like the target word, it only ever holds one of
// its valid states.
type TailCallSite struct {
	Slot     int // program slot of the call
	Bypass   int // offset of the bypass word
	Target   int // offset of the target word
	Out      int // where a call that is not made continues
	Indirect int // the indirect sequence
	Frame    int // offset of the frame word, or -1 when the site has none
	// Fill is the bypass word for a filled slot: PokeNop, or an instruction of the
	// call's own that runs only when the call is made (0: PokeNop).
	Fill uint64
}

// PokeEncoder is implemented by backends that emit direct tail calls.
type PokeEncoder interface {
	// PokeWordSize is the size of a bypass or target word (Image.Patch64 or Patch32).
	PokeWordSize() int
	// PokeJump returns the word that jumps from code address from to address to, or
	// false when the jump cannot reach.
	PokeJump(from, to uint64) (uint64, bool)
	// PokeNop returns the word that falls through to the next one.
	PokeNop() uint64
}

// FrameEncoder is implemented by backends whose direct tail calls from a main function can
// keep the caller's frame (TailCallSite.Frame).
type FrameEncoder interface {
	// SplitFrame splits a main function's frame set-up (the code from its TailEntry to
	// its Body) into the BPF stack depth it reserves and the rest, which saves registers
	// and aligns; ok is false for code that is not such a set-up.
	SplitFrame(setup []byte) (depth int, rest []byte, ok bool)
}

// FrameFits reports whether a main function whose frame set-up is target can run in the
// frame that the set-up caller built in another main function, so that a tail call may
// jump from the one's frame word to the other's Body: it saves the same registers the same
// way, so its epilogue restores what the caller's would, and its BPF stack is no deeper,
// so it lies above them.
func FrameFits(e FrameEncoder, caller, target []byte) bool {
	cd, cs, ok := e.SplitFrame(caller)
	if !ok {
		return false
	}
	td, ts, ok := e.SplitFrame(target)
	return ok && td <= cd && bytes.Equal(cs, ts)
}

// tailState is a compilation's direct tail-call bookkeeping.
type tailState struct {
	direct []bool // by program slot; nil when there are none
	any    bool   // some slot of direct is set
	inline []bool // Options.InlineArrayLookups by program slot; nil when there are none
	sites  []tailSiteLabels
}

type tailSiteLabels struct {
	slot                          int
	bypass, target, out, indirect Label
	fixup                         func(code []byte, s *TailCallSite) error
}

func (t *tailState) reset(opts Options, n int) {
	t.direct, t.sites, t.any = t.direct[:0], t.sites[:0], false
	t.inline = slotSet(t.inline, opts.InlineArrayLookups, n)
	if opts.Blind || len(opts.DirectTailCalls) == 0 {
		t.direct = nil
		return
	}
	t.direct = grow(t.direct, n)
	clear(t.direct)
	for _, i := range opts.DirectTailCalls {
		if i >= 0 && i < n {
			t.direct[i], t.any = true, true
		}
	}
}

// HasDirectTailCalls reports whether the program has tail calls to emit direct
// (Options.DirectTailCalls): some call of bpf_tail_call will be a TailCallSite.
func (c *Compiler) HasDirectTailCalls() bool { return c.tail.any && c.HasTailCalls() }

// FrameDepth returns the BPF stack f's frame reserves below R10: the verifier's depth,
// but the most any program may use (MaxStackDepth) for a main function with direct tail
// calls and no subprograms, so that every program saving the same registers fits in
// its frame and those calls keep it (FrameFits). Not with subprograms: a callee's tail
// call keeps the frames below it, and the stack limit of such chains (TailCallBackend)
// assumes the verifier's depths. Nor for indirect calls only: they always rebuild the
// frame.
func (c *Compiler) FrameDepth(f *Func) int {
	if f.Index == 0 && len(c.Funcs) == 1 && c.HasDirectTailCalls() {
		return MaxStackDepth
	}
	return f.StackDepth
}

// DirectTailCall reports whether the tail call at stream slot i is to be emitted direct.
func (c *Compiler) DirectTailCall(i int) bool {
	d := c.tail.direct
	if d == nil {
		return false
	}
	o := int(c.S.Orig[i])
	return o < len(d) && d[o]
}

// AddTailCallSite records a direct site of stream slot i; the labels must be bound by the
// end of the compilation. fixup, when non-nil, runs on the linked code with the labels
// resolved into s, to write (and record in s) what depends on final positions, such as
// aligned patch words.
func (c *Compiler) AddTailCallSite(i int, bypass, target, out, indirect Label, fixup func(code []byte, s *TailCallSite) error) {
	c.tail.sites = append(c.tail.sites, tailSiteLabels{int(c.S.Orig[i]), bypass, target, out, indirect, fixup})
}

// finish runs the fixups and resolves the sites' labels in the linked code.
func (t *tailState) finish(c *Compiler, code []byte) ([]TailCallSite, error) {
	if len(t.sites) == 0 {
		return nil, nil
	}
	out := make([]TailCallSite, len(t.sites))
	for k, s := range t.sites {
		out[k] = TailCallSite{Slot: s.slot, Bypass: c.Buf.LabelOffset(s.bypass), Target: c.Buf.LabelOffset(s.target),
			Out: c.Buf.LabelOffset(s.out), Indirect: c.Buf.LabelOffset(s.indirect), Frame: -1}
		if s.fixup != nil {
			if err := s.fixup(code, &out[k]); err != nil {
				return nil, &Error{Index: s.slot, Err: err}
			}
		}
	}
	return out, nil
}
