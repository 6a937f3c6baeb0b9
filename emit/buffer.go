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
// computation of fixed size). Its bytes are not in Buffer.Code: it sits between
// Code[At-1] and Code[At] and is written by Link.
type Branch struct {
	At     int32 // offset in Code before which the branch is placed
	Target Label
	Kind   uint8 // architecture-defined
	Arg    uint8 // architecture-defined (condition code, register)
	Long   bool  // the long form is selected
}

// BranchEncoder is what an architecture tells Link about its branches.
type BranchEncoder interface {
	// BranchSize returns the size in bytes of a branch of kind k in its short or long form.
	BranchSize(k uint8, long bool) int
	// ShortReaches reports whether the short form of kind k placed at from reaches to
	// (both byte offsets in the final code).
	ShortReaches(k uint8, from, to int) bool
	// PutBranch writes the branch into dst (exactly BranchSize bytes).
	PutBranch(dst []byte, b Branch, from, to int) error
}

type labelPos struct {
	off int32 // offset in Code, -1 while unbound
	nbr int32 // number of branches placed before the label
}

// Buffer accumulates the fixed-size code of a compilation and the branches between it.
// Code is emitted once; Link then chooses branch sizes on the (much shorter) branch list
// and lays the final image out, so a size change never re-emits instructions.
type Buffer struct {
	Code     []byte
	Branches []Branch
	labels   []labelPos

	// After Link: the size of each branch and the final offset of each branch's start.
	sizes []int32
	pre   []int32 // pre[k] = total size of branches 0..k-1
}

// NewLabel returns a fresh unbound label.
func (b *Buffer) NewLabel() Label {
	b.labels = append(b.labels, labelPos{off: -1})
	return Label(len(b.labels) - 1)
}

// NewLabels allocates n consecutive labels and returns the first.
func (b *Buffer) NewLabels(n int) Label {
	first := Label(len(b.labels))
	b.labels = slices.Grow(b.labels, n)[:len(b.labels)+n]
	for i := int(first); i < len(b.labels); i++ {
		b.labels[i] = labelPos{off: -1}
	}
	return first
}

// reserveLabels allocates n consecutive labels without marking them unbound, for callers
// that bind every one of them before Link (the driver's slot labels): it spares a pass
// over the largest label block.
func (b *Buffer) reserveLabels(n int) Label {
	first := Label(len(b.labels))
	b.labels = slices.Grow(b.labels, n)[:len(b.labels)+n]
	return first
}

// Bind places l at the current end of the code.
func (b *Buffer) Bind(l Label) {
	b.labels[l] = labelPos{off: int32(len(b.Code)), nbr: int32(len(b.Branches))}
}

// Bound reports whether l has been bound.
func (b *Buffer) Bound(l Label) bool { return b.labels[l].off >= 0 }

// AddBranch places a branch of kind k at the current end of the code.
func (b *Buffer) AddBranch(k, arg uint8, target Label) {
	b.Branches = append(b.Branches, Branch{At: int32(len(b.Code)), Target: target, Kind: k, Arg: arg, Long: true})
}

// ErrUnboundLabel is returned by Link when a branch targets a label that was never bound.
var ErrUnboundLabel = errors.New("branch to unbound label")

// MaxRelaxPasses bounds the branch-shrinking iterations of Link. Every intermediate state
// is a valid layout (see Link), so stopping early costs only size, never correctness.
const MaxRelaxPasses = 16

// Link chooses the size of every branch and returns the final code.
//
// All branches start long. Each pass lays the code out with the current sizes and
// shrinks every long branch whose short form reaches its target in that layout.
// Shrinking only ever reduces distances, so a branch that fit stays fitting: the sizes
// decrease monotonically, the loop terminates (at the latest when nothing shrinks, and
// after MaxRelaxPasses passes regardless), and the state after any pass is a valid
// layout. No padding or re-growth is ever needed.
func (b *Buffer) Link(enc BranchEncoder) ([]byte, error) {
	n := len(b.Branches)
	b.sizes = grow(b.sizes, n)
	b.pre = grow(b.pre, n+1)
	for k := range b.Branches {
		br := &b.Branches[k]
		if b.labels[br.Target].off < 0 {
			return nil, fmt.Errorf("%w %d", ErrUnboundLabel, br.Target)
		}
		br.Long = true
		b.sizes[k] = int32(enc.BranchSize(br.Kind, true))
	}
	b.prefix()
	for pass := 0; pass < MaxRelaxPasses; pass++ {
		changed := false
		for k := range b.Branches {
			br := &b.Branches[k]
			if !br.Long {
				continue
			}
			short := int32(enc.BranchSize(br.Kind, false))
			if short == b.sizes[k] {
				continue // fixed-size kind (call, address): nothing to choose
			}
			from := int(br.At + b.pre[k])
			if enc.ShortReaches(br.Kind, from, b.LabelOffset(br.Target)) {
				br.Long = false
				b.sizes[k] = short
				changed = true
			}
		}
		b.prefix()
		if !changed {
			break
		}
	}
	out := make([]byte, len(b.Code)+int(b.pre[n]))
	src, dst := 0, 0
	for k, br := range b.Branches {
		dst += copy(out[dst:], b.Code[src:br.At])
		src = int(br.At)
		size := int(b.sizes[k])
		if err := enc.PutBranch(out[dst:dst+size], br, dst, b.LabelOffset(br.Target)); err != nil {
			return nil, err
		}
		dst += size
	}
	copy(out[dst:], b.Code[src:])
	return out, nil
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
	b.labels = b.labels[:0]
	b.sizes = b.sizes[:0]
	b.pre = b.pre[:0]
}

func (b *Buffer) prefix() {
	var s int32
	for k, sz := range b.sizes {
		b.pre[k] = s
		s += sz
	}
	b.pre[len(b.sizes)] = s
}

// LabelOffset returns the offset of a bound label in the linked code (valid during and
// after Link).
func (b *Buffer) LabelOffset(l Label) int {
	p := b.labels[l]
	return int(p.off + b.pre[p.nbr])
}
