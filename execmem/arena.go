//go:build linux && (amd64 || arm64)

// Package execmem owns every byte of native code the project runs.
//
// Memory is W^X at all times: no mapping is ever writable and executable at
// once (TestNoWritableExecutableMapping reads /proc/self/maps to check).
// There are two ways to hold code:
//
//   - Sealed images (Load, LoadBatch) are written into private anonymous
//     pages that are then made read-execute. They can never change. Small
//     images share a page: Load appends to it by sealing a modified copy and
//     mremapping the copy over the original, so the page is never writable;
//     a batch shares pages; freed regions are pooled and reused.
//   - Patchable images (LoadPatchable) live in a memfd mapped twice, a
//     read-write alias for stores and a read-execute alias for running.
//     Many small images share a page; Patch32/Patch64 replace one naturally
//     aligned instruction word while other threads run the code.
//
// Retirement: Retire unpublishes an image (Run refuses it from then on) and
// queues it; its memory is freed or reused only after every Runner that was
// inside native code when it was retired has left (an epoch-style grace
// period, see Runner). StartGracePeriod offers the same grace period for
// anything else native code may hold (map elements, tail-call targets).
// Stats reports mapped bytes, live images and images retired but not yet
// freed.
package execmem

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// PatchSync selects what a patch (and a load into reused patchable memory)
// does to make new code visible to instruction fetch.
type PatchSync int

const (
	// SyncHardware stores through the RW alias, does cache maintenance on
	// arm64 (clean D by the RW alias, invalidate I by the RX alias, line
	// sizes from CTR_EL0) and runs membarrier SYNC_CORE. Guarantee on real
	// CPUs: every thread executes either the old or the new word while the
	// patch is in flight, and only the new one after Patch returns. qemu-user
	// does not see stores made through another mapping and ignores cache
	// maintenance, so under qemu the old code may keep running.
	SyncHardware PatchSync = iota
	// SyncEmulator does everything SyncHardware does and then changes the
	// protection of the patched RX page (RX -> R -> RX), which makes
	// qemu-user drop its translations of that page. Guarantee under
	// qemu-user: code entered after Patch returns runs the new word. A thread
	// that needs to translate code on that page during the flip faults, so
	// this mode is for tests that patch code no other thread is running.
	SyncEmulator
)

// Options configure an Arena. The zero value is ready for production use.
type Options struct {
	// PatchSync: see PatchSync.
	PatchSync PatchSync
	// TrapFreed fills memory with trap instructions (int3, brk #0) when its
	// image is freed, so code that ran retired memory would trap instead of
	// running stale instructions. Tests turn it on.
	TrapFreed bool
	// ChunkSize is the size of each dual-mapped chunk for patchable images
	// (rounded up to the page size; 0 means 256 KiB).
	ChunkSize int
}

// Errors returned by the package.
var (
	ErrRetired      = errors.New("execmem: image retired")
	ErrNotPatchable = errors.New("execmem: image is sealed (not patchable)")
	ErrEmptyCode    = errors.New("execmem: empty code")
	ErrClosed       = errors.New("execmem: arena closed")
	ErrBusy         = errors.New("execmem: arena has live images")
	ErrForeignImage = errors.New("execmem: image belongs to another arena")
)

// PatchError reports a patch that was refused.
type PatchError struct {
	Offset int    // byte offset in the image
	Size   int    // word size in bytes
	Reason string // why
}

func (e *PatchError) Error() string {
	return fmt.Sprintf("execmem: patch of %d bytes at offset %d: %s", e.Size, e.Offset, e.Reason)
}

// Stats is a snapshot of an arena's accounting.
type Stats struct {
	MappedBytes   int64 // bytes of code memory mapped (a dual-mapped chunk counts once)
	LiveImages    int   // loaded and not retired
	RetiredImages int   // retired but not yet freed (waiting for a grace period)
	PooledBytes   int64 // mapped but free, kept for reuse
}

// alignment of every image (and so of every patchable word relative to the
// image start): one cache line.
const imageAlign = 64

const maxPooledRegions = 32

// Arena allocates executable memory. All methods are safe for concurrent use.
type Arena struct {
	opts Options
	page int

	mu         sync.Mutex
	closed     bool
	chunks     []*chunk
	sealedPool []mapping // free sealed regions, PROT_NONE
	open       *region   // one-page sealed region that small Loads append to
	pending    []*Image  // retired, no grace period started yet
	waiting    []*Image  // retired, grace period in progress
	waiters    []waiter
	mapped     int64
	pooled     int64
	live       int
	retired    int
}

// New returns an empty arena.
func New(opts Options) *Arena {
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 256 << 10
	}
	page := os.Getpagesize()
	opts.ChunkSize = roundUp(opts.ChunkSize, page)
	return &Arena{opts: opts, page: page}
}

func roundUp(n, to int) int { return (n + to - 1) / to * to }

// Image is one piece of loaded code.
type Image struct {
	// entry is the RX address while the image is live and 0 once retired.
	// It must stay the first field: the bridge's entry stub loads it after
	// marking its Runner inside (ImageEntryOffset).
	entry atomic.Uintptr
	base  unsafe.Pointer // RX address, kept after retirement
	size  int
	arena *Arena
	state int // guarded by arena.mu

	// sealed images
	reg *region
	// patchable images
	ch  *chunk
	off int // offset in ch
}

// ImageEntryOffset is the offset of the entry word in an Image (see Entry).
const ImageEntryOffset = 0

const (
	stateLive = iota
	stateRetired
	stateFreed
)

// Entry returns the address to run, or 0 once the image has been retired.
func (img *Image) Entry() uintptr { return img.entry.Load() }

// Addr returns the address of the first byte of the image in its executable
// mapping. Unlike Entry it keeps its value after retirement, for reporting.
func (img *Image) Addr() uintptr { return uintptr(img.base) }

// Size returns the length of the code in bytes.
func (img *Image) Size() int { return img.size }

// Patchable reports whether the image was loaded with LoadPatchable.
func (img *Image) Patchable() bool { return img.ch != nil }

// Retired reports whether Retire was called.
func (img *Image) Retired() bool { return img.entry.Load() == 0 }

// Code returns a copy of the image's current bytes, or nil once the image
// has been freed (its memory may belong to other code by then).
func (img *Image) Code() []byte {
	img.arena.mu.Lock()
	defer img.arena.mu.Unlock()
	if img.state == stateFreed {
		return nil
	}
	out := make([]byte, img.size)
	if img.ch != nil {
		copy(out, unsafe.Slice((*byte)(unsafe.Add(img.ch.rw.addr, img.off)), img.size))
	} else {
		copy(out, unsafe.Slice((*byte)(img.base), img.size))
	}
	return out
}

// region is one sealed mapping shared by the images of a batch, or by
// small images appended one by one.
type region struct {
	m    mapping
	refs int
	used int // bytes in use from the start (appends go after them)
}

// Load copies code into a sealed image. Small images share pages: an image
// that fits in the free tail of the current open page is appended to it
// (see appendSealedLocked); others get their own pages.
func (a *Arena) Load(code []byte) (*Image, error) {
	if len(code) > 0 && len(code) <= a.page/2 {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.closed {
			return nil, ErrClosed
		}
		a.reclaimLocked()
		if reg := a.open; reg != nil && roundUp(reg.used, imageAlign)+len(code) <= reg.m.size {
			return a.appendSealedLocked(reg, code)
		}
		imgs, err := a.loadSealedLocked([][]byte{code})
		if err != nil {
			return nil, err
		}
		a.open = imgs[0].reg
		return imgs[0], nil
	}
	imgs, err := a.LoadBatch([][]byte{code})
	if err != nil {
		return nil, err
	}
	return imgs[0], nil
}

// appendSealedLocked adds code to a sealed page that may be running other
// images, without ever making it writable: it builds a copy of the page
// with the new image in a fresh private mapping, seals the copy and
// mremaps it over the original in one step. Every byte a thread could be
// executing is identical in both pages, so running code cannot tell.
func (a *Arena) appendSealedLocked(reg *region, code []byte) (*Image, error) {
	off := roundUp(reg.used, imageAlign)
	stage, err := mmapAnon(reg.m.size, protRW)
	if err != nil {
		return nil, err
	}
	buf := stage.bytes()
	copy(buf, reg.m.bytes())
	copy(buf[off:], code)
	if err := mprotect(stage.addr, stage.size, protRX); err != nil {
		munmap(stage)
		return nil, err
	}
	// The whole copy is new physical memory: all of it, not just the new
	// image, must reach the point of unification before any thread can
	// fetch from it, and no stale line may survive for any of its addresses.
	cleanDataCache(uintptr(stage.addr), stage.size)
	if err := mremapOver(stage, reg.m); err != nil {
		munmap(stage)
		return nil, err
	}
	invalidateInstructionCache(uintptr(reg.m.addr), reg.m.size)
	reg.used = off + len(code)
	reg.refs++
	img := &Image{base: unsafe.Add(reg.m.addr, off), size: len(code), arena: a, reg: reg}
	img.entry.Store(uintptr(img.base))
	a.live++
	return img, nil
}

// LoadBatch copies several pieces of code into sealed images that share
// pages (each starts on a 64-byte boundary). The region is freed when the
// last of them has been retired and its grace period is over.
func (a *Arena) LoadBatch(codes [][]byte) ([]*Image, error) {
	total := 0
	for i, c := range codes {
		if len(c) == 0 {
			return nil, fmt.Errorf("execmem: batch entry %d: %w", i, ErrEmptyCode)
		}
		total = roundUp(total, imageAlign) + len(c)
	}
	if total == 0 {
		return nil, ErrEmptyCode
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, ErrClosed
	}
	a.reclaimLocked()
	return a.loadSealedLocked(codes)
}

func (a *Arena) loadSealedLocked(codes [][]byte) ([]*Image, error) {
	total := 0
	for _, c := range codes {
		total = roundUp(total, imageAlign) + len(c)
	}
	size := roundUp(total, a.page)
	m, err := a.sealedRegionLocked(size)
	if err != nil {
		return nil, err
	}
	buf := m.bytes()
	fillTraps(buf)
	reg := &region{m: m, refs: len(codes), used: total}
	imgs := make([]*Image, len(codes))
	off := 0
	for i, c := range codes {
		off = roundUp(off, imageAlign)
		copy(buf[off:], c)
		img := &Image{base: unsafe.Add(m.addr, off), size: len(c), arena: a, reg: reg}
		imgs[i] = img
		off += len(c)
	}
	if err := mprotect(m.addr, m.size, protRX); err != nil {
		munmap(m)
		a.mapped -= int64(m.size)
		return nil, err
	}
	syncInstructionCache(uintptr(m.addr), uintptr(m.addr), m.size)
	for _, img := range imgs {
		img.entry.Store(uintptr(img.base))
	}
	a.live += len(imgs)
	return imgs, nil
}

// sealedRegionLocked returns a writable region of exactly size bytes, from
// the pool if one fits.
func (a *Arena) sealedRegionLocked(size int) (mapping, error) {
	for i, m := range a.sealedPool {
		if m.size == size {
			a.sealedPool = append(a.sealedPool[:i], a.sealedPool[i+1:]...)
			a.pooled -= int64(size)
			if err := mprotect(m.addr, m.size, protRW); err != nil {
				munmap(m)
				a.mapped -= int64(size)
				return mapping{}, err
			}
			return m, nil
		}
	}
	m, err := mmapAnon(size, protRW)
	if err != nil {
		return mapping{}, err
	}
	a.mapped += int64(size)
	return m, nil
}

// chunk is one dual-mapped memfd holding patchable images.
type chunk struct {
	rw, rx mapping
	free   []span // sorted by offset, coalesced
	used   int
	// Emulator mode only: pageRefs counts the images (live or retired, not
	// yet freed) on each page; freed spans wait in quarantine until every
	// page they touch is empty, then the pages get the protection flip that
	// drops qemu's stale translations before the span is reused. The flip
	// cannot fault a running thread because nothing runs on those pages.
	pageRefs   []int32
	quarantine []span
}

type span struct{ off, n int }

func (c *chunk) alloc(n int) (int, bool) {
	for i, s := range c.free {
		if s.n >= n {
			off := s.off
			if s.n == n {
				c.free = append(c.free[:i], c.free[i+1:]...)
			} else {
				c.free[i] = span{s.off + n, s.n - n}
			}
			c.used += n
			return off, true
		}
	}
	return 0, false
}

func (c *chunk) release(off, n int) {
	c.used -= n
	i := sort.Search(len(c.free), func(i int) bool { return c.free[i].off > off })
	c.free = append(c.free, span{})
	copy(c.free[i+1:], c.free[i:])
	c.free[i] = span{off, n}
	// Coalesce with the neighbours.
	if i+1 < len(c.free) && c.free[i].off+c.free[i].n == c.free[i+1].off {
		c.free[i].n += c.free[i+1].n
		c.free = append(c.free[:i+1], c.free[i+2:]...)
	}
	if i > 0 && c.free[i-1].off+c.free[i-1].n == c.free[i].off {
		c.free[i-1].n += c.free[i].n
		c.free = append(c.free[:i], c.free[i+1:]...)
	}
}

// LoadPatchable copies code into a patchable image in dual-mapped memory.
// Like every image it starts on a 64-byte boundary, so a patch site that is
// naturally aligned within the code is naturally aligned in memory.
func (a *Arena) LoadPatchable(code []byte) (*Image, error) {
	if len(code) == 0 {
		return nil, ErrEmptyCode
	}
	n := roundUp(len(code), imageAlign)

	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, ErrClosed
	}
	a.reclaimLocked()
	var ch *chunk
	off := 0
	for _, c := range a.chunks {
		if o, ok := c.alloc(n); ok {
			ch, off = c, o
			break
		}
	}
	if ch == nil {
		size := max(a.opts.ChunkSize, roundUp(n, a.page))
		rw, rx, err := mmapDual(size)
		if err != nil {
			return nil, err
		}
		fillTraps(rw.bytes())
		ch = &chunk{rw: rw, rx: rx, free: []span{{0, size}}}
		if a.opts.PatchSync == SyncEmulator {
			ch.pageRefs = make([]int32, size/a.page)
		}
		a.chunks = append(a.chunks, ch)
		a.mapped += int64(size)
		a.pooled += int64(size)
		off, _ = ch.alloc(n)
	}
	a.pooled -= int64(n)
	dst := unsafe.Slice((*byte)(unsafe.Add(ch.rw.addr, off)), n)
	copy(dst, code)
	fillTraps(dst[len(code):])
	syncInstructionCache(uintptr(ch.rw.addr)+uintptr(off), uintptr(ch.rx.addr)+uintptr(off), n)
	a.addPageRefs(ch, off, n, 1)
	img := &Image{base: unsafe.Add(ch.rx.addr, off), size: len(code), arena: a, ch: ch, off: off}
	img.entry.Store(uintptr(img.base))
	a.live++
	return img, nil
}

// flipLocked changes the protection of the RX pages covering [off, off+n)
// of ch to read-only and back, the event qemu-user takes as a reason to drop
// translated code for those pages.
func (a *Arena) flipLocked(ch *chunk, off, n int) error {
	start := off / a.page * a.page
	end := roundUp(off+n, a.page)
	p := unsafe.Add(ch.rx.addr, start)
	if err := mprotect(p, end-start, protRead); err != nil {
		return err
	}
	return mprotect(p, end-start, protRX)
}

func (a *Arena) addPageRefs(ch *chunk, off, n int, d int32) {
	if ch.pageRefs == nil {
		return
	}
	for p := off / a.page; p < (off+n+a.page-1)/a.page; p++ {
		ch.pageRefs[p] += d
	}
}

// drainQuarantineLocked releases the quarantined spans whose pages are all
// empty, after flipping those pages.
func (a *Arena) drainQuarantineLocked(ch *chunk) {
	keep := ch.quarantine[:0]
	for _, s := range ch.quarantine {
		empty := true
		for p := s.off / a.page; p < (s.off+s.n+a.page-1)/a.page; p++ {
			empty = empty && ch.pageRefs[p] == 0
		}
		if !empty {
			keep = append(keep, s)
			continue
		}
		if err := a.flipLocked(ch, s.off, s.n); err != nil {
			keep = append(keep, s) // never reuse memory that may run stale code
			continue
		}
		ch.release(s.off, s.n)
		a.pooled += int64(s.n)
	}
	ch.quarantine = keep
}

// Retire unpublishes img: Entry returns 0 from now on and runs that have not
// started refuse it. Its memory is freed once every runner that may be
// executing it has left native code. Retiring twice returns ErrRetired.
func (a *Arena) Retire(img *Image) error {
	if img == nil || img.arena != a {
		return ErrForeignImage
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if img.state != stateLive {
		return ErrRetired
	}
	img.state = stateRetired
	img.entry.Store(0)
	a.live--
	a.retired++
	a.pending = append(a.pending, img)
	a.reclaimLocked()
	return nil
}

// Reclaim frees retired images whose grace period is over and starts a new
// grace period for the others. It never blocks on runners. Loads and
// retirements call it too.
func (a *Arena) Reclaim() {
	a.mu.Lock()
	a.reclaimLocked()
	a.mu.Unlock()
}

func (a *Arena) reclaimLocked() {
	if len(a.waiting) > 0 {
		var done bool
		a.waiters, done = pollGracePeriod(a.waiters)
		if !done {
			return
		}
		a.freeLocked(a.waiting)
		a.waiting = nil
	}
	if len(a.pending) == 0 {
		return
	}
	ws, err := startGracePeriod()
	if err != nil {
		// Without membarrier there is no safe grace period: keep the
		// images (a leak, never a use-after-free).
		return
	}
	a.waiting, a.pending, a.waiters = a.pending, nil, ws
	if len(ws) == 0 {
		a.freeLocked(a.waiting)
		a.waiting = nil
	}
}

// Synchronize blocks until every image retired before the call has been
// freed. It waits for runners inside native code to leave.
func (a *Arena) Synchronize() {
	delay := 20 * time.Microsecond
	for {
		a.mu.Lock()
		a.reclaimLocked()
		done := len(a.pending) == 0 && len(a.waiting) == 0
		a.mu.Unlock()
		if done {
			return
		}
		time.Sleep(delay)
		delay = min(2*delay, time.Millisecond)
	}
}

func (a *Arena) freeLocked(imgs []*Image) {
	for _, img := range imgs {
		img.state = stateFreed
		a.retired--
		if img.ch != nil {
			a.freePatchableLocked(img)
		} else {
			a.freeSealedLocked(img)
		}
	}
}

func (a *Arena) freePatchableLocked(img *Image) {
	ch := img.ch
	n := roundUp(img.size, imageAlign)
	if a.opts.TrapFreed {
		fillTraps(unsafe.Slice((*byte)(unsafe.Add(ch.rw.addr, img.off)), n))
		syncInstructionCache(uintptr(ch.rw.addr)+uintptr(img.off), uintptr(ch.rx.addr)+uintptr(img.off), n)
	}
	if ch.pageRefs == nil {
		ch.release(img.off, n)
		a.pooled += int64(n)
	} else {
		a.addPageRefs(ch, img.off, n, -1)
		ch.quarantine = append(ch.quarantine, span{img.off, n})
		a.drainQuarantineLocked(ch)
	}
	if ch.used > 0 {
		return
	}
	// Keep one empty chunk for reuse; unmap the others.
	empty := 0
	for _, c := range a.chunks {
		if c.used == 0 {
			empty++
		}
	}
	if empty <= 1 {
		return
	}
	for i, c := range a.chunks {
		if c == ch {
			a.chunks = append(a.chunks[:i], a.chunks[i+1:]...)
			break
		}
	}
	munmap(ch.rx)
	munmap(ch.rw)
	a.mapped -= int64(ch.rw.size)
	a.pooled -= int64(ch.rw.size)
}

func (a *Arena) freeSealedLocked(img *Image) {
	reg := img.reg
	reg.refs--
	if reg.refs > 0 {
		return
	}
	if a.open == reg {
		a.open = nil
	}
	m := reg.m
	if a.opts.TrapFreed {
		if mprotect(m.addr, m.size, protRW) == nil {
			fillTraps(m.bytes())
		}
	}
	if len(a.sealedPool) >= maxPooledRegions || mprotect(m.addr, m.size, protNone) != nil {
		munmap(m)
		a.mapped -= int64(m.size)
		return
	}
	a.sealedPool = append(a.sealedPool, m)
	a.pooled += int64(m.size)
}

// Stats returns the arena's accounting.
func (a *Arena) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return Stats{MappedBytes: a.mapped, LiveImages: a.live, RetiredImages: a.retired, PooledBytes: a.pooled}
}

// Close waits for retired images and unmaps everything. It fails with
// ErrBusy while live images remain.
func (a *Arena) Close() error {
	a.mu.Lock()
	if a.live > 0 {
		a.mu.Unlock()
		return ErrBusy
	}
	a.closed = true
	a.mu.Unlock()
	a.Synchronize()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.chunks {
		munmap(c.rx)
		munmap(c.rw)
	}
	for _, m := range a.sealedPool {
		munmap(m)
	}
	a.chunks, a.sealedPool, a.open = nil, nil, nil
	a.mapped, a.pooled = 0, 0
	return nil
}

// fillTraps fills b with trap instructions (whole words; a trailing partial
// word gets the low bytes).
func fillTraps(b []byte) {
	w := uint32(trapWord)
	for i := range b {
		b[i] = byte(w >> (8 * (i & 3)))
	}
}
