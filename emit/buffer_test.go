package emit

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// toyEncoder: a 1-byte short branch reaching ±reach bytes from its start, a 4-byte long one;
// the bytes written are the branch index and its target offset, so the test can read them.
type toyEncoder struct{ reach int }

func (toyEncoder) BranchSize(k uint8, long bool) int {
	if k == 1 { // fixed-size kind
		return 3
	}
	if long {
		return 4
	}
	return 1
}

func (e toyEncoder) ShortReaches(k uint8, from, to int) bool {
	d := to - from
	return d >= -e.reach && d <= e.reach
}

func (e toyEncoder) PutBranch(dst []byte, b Branch, from, to int) error {
	if !b.Long && b.Kind != 1 && !e.ShortReaches(b.Kind, from, to) {
		return errors.New("short branch out of reach")
	}
	for i := range dst {
		dst[i] = 0xbb
	}
	return nil
}

func TestLinkPlacesEveryBranchWithinReachAndKeepsLabelsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	shortened, relaxable := 0, 0
	for trial := 0; trial < 200; trial++ {
		var b Buffer
		enc := toyEncoder{reach: 40}
		b.Init(enc)
		const nLabels = 40
		first := b.NewLabels(nLabels)
		type mark struct {
			label Label
			byte  byte
		}
		var marks []mark
		bound := 0
		for bound < nLabels {
			switch r.IntN(4) {
			case 0:
				l := first + Label(bound)
				b.Bind(l)
				// A marker byte right after each label lets the test find it in the output.
				mb := byte(0x10 + bound)
				b.Code = append(b.Code, mb)
				marks = append(marks, mark{l, mb})
				bound++
			case 1:
				b.AddBranch(uint8(r.IntN(2)), 0, first+Label(r.IntN(nLabels)))
			default:
				for k := r.IntN(30); k > 0; k-- {
					b.Code = append(b.Code, 0)
				}
			}
		}
		out, err := b.Link(enc)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		for _, m := range marks {
			if off := b.LabelOffset(m.label); out[off] != m.byte {
				t.Fatalf("trial %d: label %d at %d holds %#x, want marker %#x", trial, m.label, off, out[off], m.byte)
			}
		}
		for _, br := range b.Branches {
			if br.Kind == 0 {
				relaxable++
				if !br.Long {
					shortened++
				}
			}
		}
	}
	// Both forms must occur for the test to mean anything.
	if shortened == 0 || shortened == relaxable {
		t.Errorf("%d of %d relaxable branches shortened", shortened, relaxable)
	}
}

func TestLinkRejectsUnboundLabels(t *testing.T) {
	var b Buffer
	b.Init(toyEncoder{reach: 10})
	l := b.NewLabel()
	b.AddBranch(0, 0, l)
	if _, err := b.Link(toyEncoder{reach: 10}); !errors.Is(err, ErrUnboundLabel) {
		t.Errorf("err = %v, want ErrUnboundLabel", err)
	}
}

// recordingEncoder is toyEncoder that also records, by Branch.Arg, where each branch was
// written and where it jumps.
type recordingEncoder struct {
	toyEncoder
	put map[uint8][2]int
}

func (e *recordingEncoder) PutBranch(dst []byte, b Branch, from, to int) error {
	e.put[b.Arg] = [2]int{from, to}
	return e.toyEncoder.PutBranch(dst, b, from, to)
}

// TestLinkMovesOnlyWhatGrowsAndKeepsEveryByte lays out random code, labels and branches
// (some placed by the caller with PlaceBranch), links it and checks that the code between
// branches survives in order, each branch is written where the layout puts it, at the size
// chosen, towards its target label's final offset.
func TestLinkMovesOnlyWhatGrowsAndKeepsEveryByte(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	grown := 0
	for trial := 0; trial < 300; trial++ {
		enc := &recordingEncoder{toyEncoder{reach: 30}, map[uint8][2]int{}}
		var b Buffer
		b.Init(enc)
		const nLabels = 20
		first := b.NewLabels(nLabels)
		var plain []byte // the code without branches, as emitted
		bound, nb := 0, 0
		for bound < nLabels || nb == 0 {
			switch r.IntN(5) {
			case 0:
				if bound < nLabels {
					b.Bind(first + Label(bound))
					bound++
				}
			case 1:
				if nb < 200 {
					b.AddBranch(uint8(r.IntN(2)), uint8(nb), first+Label(r.IntN(nLabels)))
					nb++
				}
			case 2:
				if nb < 200 { // the caller reserves the short form itself
					b.PlaceBranch(len(b.Code), 0, uint8(nb), first+Label(r.IntN(nLabels)))
					b.Code = append(b.Code, 0xee)
					nb++
				}
			default:
				for k := r.IntN(12); k > 0; k-- {
					c := byte(r.IntN(0x80))
					b.Code = append(b.Code, c)
					plain = append(plain, c)
				}
			}
		}
		out, err := b.Link(enc)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		// Strip the branches from the output, in order: what is left is the plain code.
		var rest []byte
		at := 0
		for k, x := range b.Branches {
			p, ok := enc.put[x.Arg]
			if !ok {
				t.Fatalf("trial %d: branch %d never written", trial, k)
			}
			size := enc.BranchSize(x.Kind, x.Long)
			if p[0] < at || p[0]+size > len(out) {
				t.Fatalf("trial %d: branch %d written at %d, overlapping what precedes it (%d)", trial, k, p[0], at)
			}
			if want := b.LabelOffset(x.Target); p[1] != want {
				t.Fatalf("trial %d: branch %d jumps to %d, its label is at %d", trial, k, p[1], want)
			}
			rest = append(rest, out[at:p[0]]...)
			at = p[0] + size
			if x.Long && x.Kind == 0 {
				grown++
			}
		}
		rest = append(rest, out[at:]...)
		if !bytes.Equal(rest, plain) {
			t.Fatalf("trial %d: code between branches changed:\n got %x\nwant %x", trial, rest, plain)
		}
	}
	if grown == 0 {
		t.Error("no branch grew: the test does not cover moving code")
	}
}

// TestLinkSettlesAChainOfGrowthsPastThePassLimit builds branches that each reach exactly
// over the next one, the last just out of reach: every pass can grow only one more, so
// the pass limit is hit and the remaining ones must be grown at once, still valid.
func TestLinkSettlesAChainOfGrowthsPastThePassLimit(t *testing.T) {
	const reach, spacing = 40, 30 // branch k at 30k spans branch k+1 only
	n := MaxRelaxPasses + 8
	enc := &recordingEncoder{toyEncoder{reach: reach}, map[uint8][2]int{}}
	var b Buffer
	b.Init(enc)
	targets := b.NewLabels(n)
	target := func(k int) int {
		if k == n-1 {
			return spacing*k + reach + 1 // the one that starts the chain
		}
		return spacing*k + reach
	}
	for off := 0; off <= target(n-1); off++ {
		for k := 0; k < n; k++ {
			if target(k) == off {
				b.Bind(targets + Label(k))
			}
		}
		if off%spacing == 0 && off/spacing < n {
			b.AddBranch(0, uint8(off/spacing), targets+Label(off/spacing))
		} else {
			b.Code = append(b.Code, 0x90)
		}
	}
	out, err := b.Link(enc)
	if err != nil {
		t.Fatal(err)
	}
	for k, x := range b.Branches {
		if !x.Long {
			t.Errorf("branch %d stayed short although the one it spans grew", k)
		}
		if p := enc.put[x.Arg]; p[1] != b.LabelOffset(x.Target) || p[1] > len(out) {
			t.Errorf("branch %d: written towards %d, label at %d", k, p[1], b.LabelOffset(x.Target))
		}
	}
}

// CapacityRun grows the spare capacity to minRun slots when it holds fewer, and bounds
// the run by what the capacity holds at room bytes a slot, never past to.
func TestCapacityRunBoundsTheRunByTheCapacity(t *testing.T) {
	for _, tc := range []struct {
		name             string
		len, cap, i, to  int
		room, minRun     int
		wantStop, minCap int
	}{
		{"room for all", 0, 1000, 0, 10, 16, 4, 10, 1000},
		{"room for some", 0, 160, 5, 100, 16, 4, 15, 160},
		{"too little grows", 100, 110, 0, 100, 16, 4, 4, 164},
	} {
		b := Buffer{Code: make([]byte, tc.len, tc.cap)}
		stop := b.CapacityRun(tc.i, tc.to, tc.room, tc.minRun)
		if spare := cap(b.Code) - len(b.Code); stop < min(tc.to, tc.i+tc.minRun) || (stop-tc.i)*tc.room > spare || cap(b.Code) < tc.minCap {
			t.Errorf("%s: stop %d with %d spare bytes (cap %d)", tc.name, stop, spare, cap(b.Code))
		}
		if tc.wantStop != 0 && tc.cap-tc.len >= tc.room*tc.minRun && stop != tc.wantStop {
			t.Errorf("%s: stop %d, want %d", tc.name, stop, tc.wantStop)
		}
		if len(b.Code) != tc.len {
			t.Errorf("%s: length changed to %d", tc.name, len(b.Code))
		}
	}
}
