package bpfjit

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/execmem"
	"github.com/bpfjit/bpfjit/maps"
	"github.com/bpfjit/bpfjit/verifier"
)

// Bridge context words of tail calls: the run's tail-call count (after the execution
// budget's word) and the native stack pointer at the run's entry.
const (
	tailCallCountDisp = bridge.CtxScratch + 8
	stackTopDisp      = bridge.CtxScratch + 16
)

// tailCallStackLimit is how much native stack a run may have used when a BPF-to-BPF callee
// makes a tail call (emit.TailCallBackend): what is left must hold the target's deepest
// call chain (the verifier bounds its BPF stack to MaxStackDepth bytes in all; each of at
// most MaxCallFrames frames adds saved registers and return addresses, under 128 bytes on
// both architectures), a helper call, and a margin. With the verifier's bound, 33 tail
// calls from the deepest callees stay under it; the check is the guarantee that does not
// rest on that arithmetic. A variable so that tests can lower it.
var tailCallStackLimit int32 = bridge.NativeStackSize - bridge.HelperCallStackBytes - emit.MaxStackDepth - emit.MaxCallFrames*128 - 1024

// A *Program is what program arrays (maps.ProgArray) hold: native tail calls jump to its
// TailCallEntry, and a slot retains it so its code outlives a Close until the slot lets go.
var (
	_ maps.Program  = (*Program)(nil)
	_ maps.Retainer = (*Program)(nil)
)

// TailCallEntry implements maps.Program: the address tail calls into p jump to, after the
// patchable entry and the run-wide initialisation (tail-call counter, budget) of its main
// function. A closed program keeps its entry while a slot holds it (its code lives until
// the last slot lets go); it is 0 once the code is retired.
func (p *Program) TailCallEntry() uintptr {
	if p.img.Retired() {
		return 0
	}
	off := p.lst.image.Funcs[0].TailEntry
	if off < 0 {
		return 0
	}
	return p.img.Addr() + uintptr(off)
}

// ErrBudgetTailCall refuses a program loaded WithBudget as a program-array entry: code
// entered by a tail call counts against the caller's budget, which a caller loaded
// without one never sets.
var ErrBudgetTailCall = errors.New("bpfjit: a program with an execution budget cannot be a tail-call target")

// Retain implements maps.Retainer: a program array calls it when p enters a slot. A
// closed program cannot enter one (ErrClosed), nor one loaded WithBudget
// (ErrBudgetTailCall).
func (p *Program) Retain() error {
	if p.budgeted {
		return ErrBudgetTailCall
	}
	return p.slots.retain()
}

// Release implements maps.Retainer: a program array calls it when p leaves a slot. The
// last release of a closed program retires its code.
func (p *Program) Release() {
	p.slots.release(func() error { return arena.Retire(p.img) })
}

// slotRefs counts the program-array slots holding a program, and whether the program is
// closed: its code is retired once both hold (retirement itself waits for running code).
type slotRefs struct {
	mu      sync.Mutex
	n       int
	closed  bool
	retired bool
}

func (s *slotRefs) retain() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.n++
	return nil
}

func (s *slotRefs) release(retire func() error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n > 0 {
		s.n--
	}
	s.retireIfDone(retire)
}

func (s *slotRefs) close(retire func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.retireIfDone(retire)
}

func (s *slotRefs) retireIfDone(retire func() error) error {
	if !s.closed || s.n > 0 || s.retired {
		return nil
	}
	s.retired = true
	return retire()
}

// directTailCalls returns the program slots of the tail calls to emit as patchable direct
// jumps: those whose map and key the verifier proved constant, into a program array of
// the bound table, with a key inside it. None with constant blinding (as in the kernel:
// the patched jumps would be unblinded constants), without a bound table, or when a
// WithMapResolver decides what r2 holds (the table's array might not be the one run).
func (c *config) directTailCalls() []int {
	if c.blind || c.table == nil || !c.tableResolves {
		return nil
	}
	var out []int
	for _, s := range c.tailCalls {
		if !s.Direct {
			continue
		}
		if m := c.table.Map(s.Map); m != nil && m.Type() == maps.ProgArray && s.Key < uint64(m.Spec().MaxEntries) {
			out = append(out, s.Insn)
		}
	}
	return out
}

// trackPokes registers every direct tail-call site of p with its program array, which
// retargets it to the slot's current program at once and on every later change.
func (p *Program) trackPokes(c *config, be emit.Backend) error {
	sites := p.lst.image.TailCalls
	if len(sites) == 0 {
		return nil
	}
	enc, ok := be.(emit.PokeEncoder)
	if !ok {
		return fmt.Errorf("bpfjit: %w: back end emitted direct tail calls it cannot patch", emit.ErrTailCall)
	}
	bySlot := make(map[int]verifier.TailCallSite, len(c.tailCalls))
	for _, s := range c.tailCalls {
		bySlot[s.Insn] = s
	}
	for _, s := range sites {
		v := bySlot[s.Slot]
		m := c.table.Map(v.Map)
		ps := &pokeSite{img: p.img, enc: enc, site: s, bypass: toIndirect}
		if fe, ok := be.(emit.FrameEncoder); ok && s.Frame >= 0 {
			ps.fits = func(caller, target []byte) bool { return emit.FrameFits(fe, caller, target) }
			ps.setup = p.frameSetup()
		}
		p.pokes = append(p.pokes, ps)
		if err := m.TrackPoke(p.pokeOwner(), uint32(v.Key), ps); err != nil {
			return &emit.Error{Index: s.Slot, Err: err, Detail: "tracking direct tail call"}
		}
		if !slices.Contains(p.poked, m) {
			p.poked = append(p.poked, m)
		}
	}
	return nil
}

// untrackPokes stops every program array from patching p's code.
func (p *Program) untrackPokes() {
	for _, m := range p.poked {
		m.UntrackPokes(p.pokeOwner())
	}
	p.poked = nil
}

// pokeOwner is the key p's sites are tracked under: its image's address, unique among
// live images (p untracks before its image is retired). Not p itself: a program array
// holding p would keep a program dropped without Close from ever being finalized.
func (p *Program) pokeOwner() maps.PokeOwner { return maps.PokeOwner(p.img.Addr()) }

// framed is a program whose main function a tail call may enter with the caller's frame
// (emit.FrameEncoder): *Program, and fakes in tests.
type framed interface {
	// frameBody returns the main function's frame set-up and the address of its body;
	// setup is nil when it has none.
	frameBody() (setup []byte, body uint64)
}

func (p *Program) frameBody() ([]byte, uint64) {
	return p.frameSetup(), uint64(p.img.Addr()) + uint64(p.lst.image.Funcs[0].Body)
}

// frameSetup returns the frame set-up of p's main function, or nil when it has none.
func (p *Program) frameSetup() []byte {
	f := p.lst.image.Funcs[0]
	if f.TailEntry < 0 || f.Body < f.TailEntry {
		return nil
	}
	return p.lst.image.Code[f.TailEntry:f.Body]
}

// pokeSite is one direct tail call of a loaded program (emit.TailCallSite). Its states,
// by what the bypass word does:
//
//	jump to indirect   emitted state; also for a target out of the jump's reach
//	jump to out        empty slot: fall through
//	fill (a nop)       on to the frame word, if any, and the target word
//
// A frame word (sites of a main function) is a nop, on to the unwinding and the target
// word, or a jump to the body of a slot program whose frame fits (FrameFits); the target
// word jumps to the slot program's tail-call entry.
//
// Every transition is one to three aligned word stores. A word that a thread can reach
// is only ever changed from one valid state to another: the target word is written before
// the frame word or the bypass can lead to it, and never back to its trap; a frame word
// jump is valid for the program it names whatever the rest holds. A thread that passed
// the bypass thus enters the old or the new program, and the old one stays alive until
// every run that could be inside it has returned (the slot's Release and the arena's grace
// period). Unlike the kernel's scheme, no state sends a thread into a nop after the frame
// is unwound, so no grace wait is needed between the stores.
type pokeSite struct {
	img    *execmem.Image
	enc    emit.PokeEncoder
	site   emit.TailCallSite
	bypass bypassState // what the bypass word does now
	target uint64      // address the target word jumps to (0: never set)
	frame  uint64      // address the frame word jumps to (0: it is a nop)
	err    error       // the first patch failure (tests)

	// With a frame word: emit.FrameFits for the backend, and the calling main function's
	// set-up.
	fits  func(caller, target []byte) bool
	setup []byte
}

type bypassState uint8

const (
	toIndirect bypassState = iota
	toOut
	toTarget
)

// Retarget implements maps.PokeSite. It runs under the program array's lock.
func (s *pokeSite) Retarget(_, next maps.Program) {
	var entry uint64
	if next != nil {
		entry = uint64(next.TailCallEntry())
	}
	if entry == 0 {
		s.setBypass(toOut)
		return
	}
	if body := s.sameFrameBody(next); body != 0 {
		if w, ok := s.enc.PokeJump(uint64(s.img.Addr())+uint64(s.site.Frame), body); ok {
			if s.setFrame(body, w) {
				s.setBypass(toTarget)
			}
			return
		}
	}
	w, ok := s.enc.PokeJump(uint64(s.img.Addr())+uint64(s.site.Target), entry)
	if !ok {
		s.setBypass(toIndirect)
		return
	}
	if entry != s.target {
		if !s.patch(s.site.Target, w) {
			return
		}
		s.target = entry
	}
	if s.setFrame(0, s.enc.PokeNop()) {
		s.setBypass(toTarget)
	}
}

// sameFrameBody returns the address of next's main-function body when the site has a
// frame word and next's frame fits in the caller's, else 0.
func (s *pokeSite) sameFrameBody(next maps.Program) uint64 {
	p, ok := next.(framed)
	if s.fits == nil || !ok {
		return 0
	}
	if t, body := p.frameBody(); t != nil && s.fits(s.setup, t) {
		return body
	}
	return 0
}

// setFrame makes the frame word w, which jumps to body (0: w is the nop), and reports
// whether it holds it. Sites without a frame word hold the nop already.
func (s *pokeSite) setFrame(body, w uint64) bool {
	if s.fits == nil || s.frame == body {
		return true
	}
	if !s.patch(s.site.Frame, w) {
		return false
	}
	s.frame = body
	return true
}

func (s *pokeSite) setBypass(to bypassState) {
	if s.bypass == to {
		return
	}
	w := s.site.Fill
	if w == 0 {
		w = s.enc.PokeNop()
	}
	if to != toTarget {
		dest := s.site.Out
		if to == toIndirect {
			dest = s.site.Indirect
		}
		base := uint64(s.img.Addr())
		var ok bool
		if w, ok = s.enc.PokeJump(base+uint64(s.site.Bypass), base+uint64(dest)); !ok { // same image: always in reach
			s.fail(fmt.Errorf("bypass jump %#x -> %#x out of reach", s.site.Bypass, dest))
			return
		}
	}
	if s.patch(s.site.Bypass, w) {
		s.bypass = to
	}
}

// patch stores w at off and reports whether it did.
func (s *pokeSite) patch(off int, w uint64) bool {
	var err error
	if s.enc.PokeWordSize() == 8 {
		err = s.img.Patch64(off, w)
	} else {
		err = s.img.Patch32(off, uint32(w))
	}
	if err != nil {
		s.fail(err)
		return false
	}
	return true
}

func (s *pokeSite) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}
