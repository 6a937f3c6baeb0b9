package emit

import (
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
