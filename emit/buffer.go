package emit

import (
	"errors"
	"fmt"
	"slices"
)

// Label names a position in the code that branches can target before it is known.
type Label int32

// NoLabel is the zero value of an unset label field.
const NoLabel Label = -1

// Branch is a pc-relative instruction whose size depends on the distance to its target
// (a jump with a short and a long form), or whose bytes depend on it (a call or an address
// computation of fixed size). Its short form's bytes are reserved in Buffer.Code from At
// on; Link grows it to the long form when the short one does not reach, and writes it.
type Branch struct {
	At     int32 // offset in Code (before Link) of the branch's reserved bytes
	Target Label
	Kind   uint8 // architecture-defined
	Arg    uint8 // architecture-defined (condition code, register)
	Long   bool  // the long form is selected (by Link)
}

// BranchEncoder is what an architecture tells Link about its branches.
type BranchEncoder interface {
	// BranchSize returns the size in bytes of a branch of kind k in its short or long form
	// (1 to 255 bytes; a fixed-size kind has equal sizes).
	BranchSize(k uint8, long bool) int
	// ShortReaches reports whether the short form of kind k placed at from reaches to
	// (both byte offsets in the final code). The offsets it accepts for to-from must form
	// one interval around 0.
	ShortReaches(k uint8, from, to int) bool
	// PutBranch writes the branch into dst (exactly BranchSize bytes).
	PutBranch(dst []byte, b Branch, from, to int) error
}

// Buffer accumulates the code of a compilation. Every branch is reserved in Code at its
// short size where it is emitted, so labels are plain offsets and a program whose branches
// all reach in their short form links with one copy and no layout pass. Link grows only
// the branches that do not reach.
type Buffer struct {
	Code     []byte
	Branches []Branch
	// Label l's offset in Code, -1 while unbound: slots[l] for the first len(slots)
	// labels (the driver's slot labels, see reserveSlots), then labels[l-len(slots)].
	slots  []int32
	labels []int32

	enc   BranchEncoder
	sizes [256]branchSizes // by kind, cached from enc; zero until asked

	// After Link: whether any branch grew, and then pre[k], the bytes branches 0..k-1 grew.
	grew bool
	pre  []int32
	tgt  []int32 // scratch of relax: the branch index at each branch's target
	cand []int32 // scratch of relax: the branches that may have to grow
}

type branchSizes struct{ short, long uint8 }

// Init empties the buffer for a compilation whose branches enc encodes: AddBranch needs
// it to know their short size, and Link must be given the same encoder.
func (b *Buffer) Init(enc BranchEncoder) {
	b.Reset()
	b.enc, b.sizes = enc, [256]branchSizes{}
}

// kindSizes returns the short and long sizes of branch kind k.
func (b *Buffer) kindSizes(k uint8) branchSizes {
	s := b.sizes[k]
	if s.short == 0 {
		s = branchSizes{uint8(b.enc.BranchSize(k, false)), uint8(b.enc.BranchSize(k, true))}
		b.sizes[k] = s
	}
	return s
}

// NewLabel returns a fresh unbound label.
func (b *Buffer) NewLabel() Label {
	b.labels = append(b.labels, -1)
	return Label(len(b.slots) + len(b.labels) - 1)
}

// NewLabels allocates n consecutive labels and returns the first.
func (b *Buffer) NewLabels(n int) Label {
	first := len(b.labels)
	b.labels = slices.Grow(b.labels, n)[:first+n]
	for i := first; i < len(b.labels); i++ {
		b.labels[i] = -1
	}
	return Label(len(b.slots) + first)
}

// reserveSlots makes labels 0..n-1 the slot labels, in an array that never moves during
// the compilation (so a backend may hold it, Compiler.SlotOffsets), and leaves them
// unmarked: the driver binds every one of them before Link. It must be called before any
// other label is allocated.
func (b *Buffer) reserveSlots(n int) Label {
	b.slots = grow(b.slots, n)
	return 0
}

// ref returns where label l's offset is kept.
func (b *Buffer) ref(l Label) *int32 {
	if int(l) < len(b.slots) {
		return &b.slots[l]
	}
	return &b.labels[int(l)-len(b.slots)]
}

// offset returns label l's offset in the emitted code (-1 when unbound).
func (b *Buffer) offset(l Label) int32 { return *b.ref(l) }

// Bind places l at the current end of the code.
func (b *Buffer) Bind(l Label) { *b.ref(l) = int32(len(b.Code)) }

// Bound reports whether l has been bound.
func (b *Buffer) Bound(l Label) bool { return b.offset(l) >= 0 }

// AddBranch places a branch of kind k at the current end of the code, reserving its
// short form's bytes.
func (b *Buffer) AddBranch(k, arg uint8, target Label) {
	at := len(b.Code)
	n := int(b.kindSizes(k).short)
	b.Code = slices.Grow(b.Code, n)[:at+n]
	clear(b.Code[at:])
	b.Branches = append(b.Branches, Branch{At: int32(at), Target: target, Kind: k, Arg: arg})
}

// CapacityRun is for a backend loop that writes up to room bytes a slot into Code's
// spare capacity without checking it: it grows the capacity to hold at least minRun
// such slots if it holds fewer, and returns the end of the run of slots from i (at most
// to) that the capacity holds. The loop then keeps no capacity check of its own.
func (b *Buffer) CapacityRun(i, to, room, minRun int) int {
	if cap(b.Code)-len(b.Code) < room*minRun {
		b.Code = slices.Grow(b.Code, room*minRun)
	}
	return min(to, i+(cap(b.Code)-len(b.Code))/room)
}

// PlaceBranch records a branch of kind k whose short form's bytes the backend has already
// reserved at Code[at:] (any content: Link overwrites them). It is AddBranch for backends
// that append to the code without going through the Buffer.
func (b *Buffer) PlaceBranch(at int, k, arg uint8, target Label) {
	b.Branches = append(b.Branches, Branch{At: int32(at), Target: target, Kind: k, Arg: arg})
}

// ErrUnboundLabel is returned by Link when a branch targets a label that was never bound.
var ErrUnboundLabel = errors.New("branch to unbound label")

// MaxRelaxPasses bounds the branch-growing iterations of Link; after them every branch
// that might not reach is made long at once (see Link).
const MaxRelaxPasses = 16

// Link chooses the size of every branch and returns the final code.
//
// Branches start short, as emitted. A pass lays the code out with the current sizes and
// grows every short branch that does not reach its target there. Growing only lengthens
// distances, so a grown branch never needs to shrink again: the sizes only increase,
// and the loop stops at the smallest layout in which every branch reaches. Should it
// not settle within MaxRelaxPasses, one last pass grows every branch that would not
// reach if all branches were long: the remaining ones reach in any layout, so that is
// a valid one too.
func (b *Buffer) Link(enc BranchEncoder) ([]byte, error) {
	if b.enc == nil { // a buffer without branches may skip Init
		b.enc = enc
	}
	br := b.Branches
	b.grew = false
	for k := range br {
		x := &br[k]
		to := b.offset(x.Target)
		if to < 0 {
			return nil, fmt.Errorf("%w %d", ErrUnboundLabel, x.Target)
		}
		// A fixed-size kind counts as long (its only form), as encoders expect.
		s := b.kindSizes(x.Kind)
		x.Long = s.short == s.long
		if !x.Long && !enc.ShortReaches(x.Kind, int(x.At), int(to)) {
			x.Long, b.grew = true, true
		}
	}
	extra := 0
	if b.grew {
		extra = b.relax(enc)
	}
	if !b.grew {
		out := append([]byte(nil), b.Code...) // appending to nil does not clear the array first
		for k := range br {
			x := &br[k]
			n := int(b.kindSizes(x.Kind).short)
			if err := enc.PutBranch(out[x.At:int(x.At)+n], *x, int(x.At), int(b.offset(x.Target))); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	// Code moves only at the grown branches. The code is copied as it is (appending to
	// nil does not clear the new array first, and its size class usually leaves room
	// for the growth), then each stretch after a grown branch moves up by the growth
	// up to it, the last stretch first so that none overwrites one still to move.
	out := append([]byte(nil), b.Code...)
	if cap(out) >= len(b.Code)+extra {
		out = out[:len(b.Code)+extra]
	} else {
		out = append(out, make([]byte, extra)...)
	}
	end := len(b.Code)
	for k := len(br) - 1; k >= 0; k-- {
		if x := &br[k]; x.Long {
			s := b.sizes[x.Kind]
			from := int(x.At) + int(s.short)
			copy(out[from+int(b.pre[k+1]):], b.Code[from:end])
			end = int(x.At)
		}
	}
	for k := range br {
		x := &br[k]
		s := b.sizes[x.Kind]
		n := int(s.short)
		if x.Long {
			n = int(s.long)
		}
		at := int(x.At + b.pre[k])
		to := int(b.offset(x.Target) + b.pre[b.tgt[k]])
		if err := enc.PutBranch(out[at:at+n], *x, at, to); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// relax runs the growing passes of Link after the first one grew some branch, leaves
// b.pre set for the final layout and returns the total growth. Only the short branches
// that would not reach with every branch long can ever need to grow; the passes visit
// just those.
func (b *Buffer) relax(enc BranchEncoder) int {
	br := b.Branches
	n := len(br)
	b.pre = grow(b.pre, n+1)
	b.tgt = grow(b.tgt, n)
	for k := range br {
		b.tgt[k] = int32(b.branchesBeforeNear(b.offset(br[k].Target), k))
	}
	b.prefix(true)
	cand := b.cand[:0]
	for k := range br {
		if !br[k].Long && !b.reaches(enc, k) {
			cand = append(cand, int32(k))
		}
	}
	b.cand = cand
	for pass := 1; len(cand) > 0; pass++ {
		b.prefix(false)
		if pass == MaxRelaxPasses {
			// Give up on the smallest layout: those that may not reach grow at once.
			for _, k := range cand {
				br[k].Long = true
			}
			break
		}
		rest := cand[:0]
		for _, k := range cand {
			if b.reaches(enc, int(k)) {
				rest = append(rest, k)
			} else {
				br[k].Long = true
			}
		}
		if len(rest) == len(cand) {
			break
		}
		cand = rest
	}
	b.prefix(false)
	return int(b.pre[n])
}

// reaches reports whether the short form of branch k reaches its target in the layout
// b.pre describes.
func (b *Buffer) reaches(enc BranchEncoder, k int) bool {
	x := &b.Branches[k]
	from := int(x.At + b.pre[k])
	to := int(b.offset(x.Target) + b.pre[b.tgt[k]])
	return enc.ShortReaches(x.Kind, from, to)
}

// prefix sets b.pre[k] to the growth of branches 0..k-1: of the long ones, or with
// allLong of every branch that has two sizes.
func (b *Buffer) prefix(allLong bool) {
	var sum int32
	for k := range b.Branches {
		x := &b.Branches[k]
		b.pre[k] = sum
		if x.Long || allLong { // fixed-size kinds add 0
			s := b.sizes[x.Kind] // cached by Link's first pass
			sum += int32(s.long) - int32(s.short)
		}
	}
	b.pre[len(b.Branches)] = sum
}

// branchesBefore returns how many branches start before offset off of the emitted code.
func (b *Buffer) branchesBefore(off int32) int {
	return b.searchBranches(off, 0, len(b.Branches))
}

// searchBranches is branchesBefore for an answer known to lie in [lo, hi].
func (b *Buffer) searchBranches(off int32, lo, hi int) int {
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if b.Branches[m].At < off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// branchesBeforeNear is branchesBefore for an offset near branch k: most branches target
// code close by, so it widens the search from k in growing steps.
func (b *Buffer) branchesBeforeNear(off int32, k int) int {
	br := b.Branches
	if br[k].At < off { // forward: the answer is above k
		lo, step := k+1, 1
		for lo+step <= len(br) && br[lo+step-1].At < off {
			lo += step
			step *= 2
		}
		return b.searchBranches(off, lo, min(lo+step, len(br)))
	}
	hi, step := k, 1
	for hi-step >= 0 && br[hi-step].At >= off {
		hi -= step
		step *= 2
	}
	return b.searchBranches(off, max(hi-step+1, 0), hi)
}

// grow returns s resized to n elements, reusing its array when large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// Reset empties the buffer, keeping its memory for the next compilation.
func (b *Buffer) Reset() {
	b.Code = b.Code[:0]
	b.Branches = b.Branches[:0]
	b.slots = b.slots[:0]
	b.labels = b.labels[:0]
	b.pre = b.pre[:0]
	b.grew = false
}

// LabelOffset returns the offset of a bound label in the linked code (valid during and
// after Link).
func (b *Buffer) LabelOffset(l Label) int {
	off := b.offset(l)
	if !b.grew {
		return int(off)
	}
	return int(off + b.pre[b.branchesBefore(off)])
}

// appendSlotOffsets returns a new array, with room for one more, holding the linked
// offsets of the first n slot labels. Appending to nil allocates it without clearing it
// first.
func (b *Buffer) appendSlotOffsets(n int) []int32 {
	out := append([]int32(nil), b.slots[:n]...)
	b.slotOffsets(out)
	return out
}

// slotOffsets writes the linked offsets of the first len(out) slot labels into out. The
// driver binds them in increasing order, so one walk beside the branches places them all.
func (b *Buffer) slotOffsets(out []int32) {
	offs := b.slots[:len(out)]
	if !b.grew {
		copy(out, offs) // nothing moved (and nothing to do when out is a copy of offs)
		return
	}
	i := 0
	for k, x := range b.Branches {
		if !x.Long {
			continue // the growth changes only after a long branch
		}
		// Labels up to the branch's start precede it: they moved by the growth before it.
		e := i + searchOffsets(offs[i:], x.At)
		addOffsets(out[i:e], offs[i:e], b.pre[k])
		i = e
	}
	addOffsets(out[i:], offs[i:], b.pre[len(b.Branches)])
}

// searchOffsets returns how many of the increasing offsets offs are at most at.
func searchOffsets(offs []int32, at int32) int {
	lo, hi := 0, len(offs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if offs[m] <= at {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// addOffsets sets out[i] = offs[i] + d.
func addOffsets(out, offs []int32, d int32) {
	offs = offs[:len(out)]
	for i := range out {
		out[i] = offs[i] + d
	}
}
