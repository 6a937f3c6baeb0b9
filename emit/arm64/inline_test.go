package arm64

import (
	"slices"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
)

// An inline array lookup is the bounds check against the header's max entries (read with
// the stride by one ldp) and one multiply-add of index, stride and base, with r0 (x7) cleared before the check so that a
// hit takes no branch. Only x7 and x10-x12 are written.
func TestInlineArrayLookupListing(t *testing.T) {
	img := compileText(t, tcBackend, "call 1\nexit", emit.Options{StackDepth: []int{0}, InlineArrayLookups: []int{0}})
	got := wordsText(img.Code, img.Slot(0), img.Slot(1))
	want := []string{
		"ldr w10, [x1]",
		"ldp w11, w12, [x0,#8]",
		"mov x7, xzr",
		"cmp w10, w11",
		"b.cs .+12",
		"ldr x11, [x0]",
		"madd x7, x10, x12, x11",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	// Without the option the same call goes through the helper gate.
	img = compileText(t, tcBackend, "call 1\nexit", emit.Options{StackDepth: []int{0}})
	if got := wordsText(img.Code, img.Slot(0), img.Slot(1)); !slices.Contains(got, "blr x16") {
		t.Errorf("helper call: %q", got)
	}
}
