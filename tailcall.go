package bpfjit

import (
	"sync"

	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/maps"
)

// tailCallCountDisp is the bridge context word where JIT code counts a run's tail calls:
// the scratch word after the execution budget's.
const tailCallCountDisp = bridge.CtxScratch + 8

// A *Program is what program arrays (maps.ProgArray) hold: native tail calls jump to its
// TailCallEntry, and a slot retains it so its code outlives a Close until the slot lets go.
var (
	_ maps.Program  = (*Program)(nil)
	_ maps.Retainer = (*Program)(nil)
)

// TailCallEntry implements maps.Program: the address tail calls into p jump to, after the
// patchable entry and the run-wide initialisation (tail-call counter, budget) of its main
// function. It is 0 for a closed program or one whose backend has no tail-call entry.
func (p *Program) TailCallEntry() uintptr {
	if p.closed.Load() {
		return 0
	}
	off := p.lst.image.Funcs[0].TailEntry
	if off < 0 {
		return 0
	}
	return p.img.Addr() + uintptr(off)
}

// Retain implements maps.Retainer: a program array calls it when p enters a slot. A
// closed program cannot enter one (ErrClosed).
func (p *Program) Retain() error { return p.slots.retain() }

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
