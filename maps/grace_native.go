//go:build linux && (amd64 || arm64)

package maps

import (
	"sync"

	"github.com/bpfjit/bpfjit/execmem"
)

// NativeRunners returns the grace-period source for code running through execmem
// runners (every JIT run through the bridge).
//
// execmem exports no package-level grace period: its mechanism is reachable only through
// image retirement. So a period here is a one-byte image of a private arena, retired at
// Start; the period is done once the arena has freed it, which happens only after every
// runner that was inside native code at the retirement has left. Start costs a load and a
// retirement (a few system calls plus a process-wide membarrier), so maps start periods
// for batches of elements, not for each one.
func NativeRunners() GraceSource {
	nativeOnce.Do(func() { nativeArena = execmem.New(execmem.Options{}) })
	return nativeSource{nativeArena}
}

var (
	nativeOnce  sync.Once
	nativeArena *execmem.Arena
)

type nativeSource struct{ a *execmem.Arena }

type nativePeriod struct {
	a   *execmem.Arena
	img *execmem.Image
}

func (s nativeSource) Start() GracePeriod {
	img, err := s.a.Load([]byte{0xcc})
	if err != nil {
		return never{}
	}
	if err := s.a.Retire(img); err != nil {
		return never{}
	}
	return &nativePeriod{s.a, img}
}

func (p *nativePeriod) Done() bool {
	if p.img == nil {
		return true
	}
	p.a.Reclaim()
	if p.img.Code() != nil {
		return false
	}
	p.img = nil
	return true
}

// never is a period that cannot be proven over (no memory to build one on): the elements
// are leaked, never freed early.
type never struct{}

func (never) Done() bool { return false }

func defaultGrace() GraceSource { return Combine(NativeRunners(), DefaultReaders) }
