package progen

import (
	"testing"

	"github.com/bpfjit/bpfjit/isa"
)

func TestStraightIsAValidSingleFunctionOfExactlyNSlots(t *testing.T) {
	for _, n := range []int{2, 3, 1000, 10000} {
		p := Straight(n)
		if len(p) != n {
			t.Fatalf("n=%d: got %d slots", n, len(p))
		}
		if err := isa.Validate(p); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if s := isa.SubprogramStarts(p); len(s) != 1 {
			t.Fatalf("n=%d: %d functions", n, len(s))
		}
	}
}
