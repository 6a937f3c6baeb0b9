package amd64

import (
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa/asm"
)

// An inline array lookup is the bounds check against the header's max entries, the index
// scaled by the stride and the base added, with r0 cleared up front so that a hit takes
// no branch; a miss jumps over the address computation. Only r0 and r11 are written.
func TestInlineArrayLookupListing(t *testing.T) {
	insns, err := asm.Assemble("call 1\nexit")
	if err != nil {
		t.Fatal(err)
	}
	img, err := emit.Compile(insns, emit.Options{StackDepth: []int{0}, InlineArrayLookups: []int{0}}, tcBackend)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeTC(t, img.Code, img.Slot(0), img.Slot(1))
	want := []string{
		"mov r11d, dword ptr [rsi]",
		"xor eax, eax",
		"cmp r11d, dword ptr [rdi+0x8]",
		"jnb .+0xa",
		"mov eax, dword ptr [rdi+0xc]",
		"imul rax, r11",
		"add rax, qword ptr [rdi]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	// Without the option the same call goes through the helper gate.
	img, err = emit.Compile(insns, emit.Options{StackDepth: []int{0}}, tcBackend)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeTC(t, img.Code, img.Slot(0), img.Slot(1)); !strings.HasPrefix(got[len(got)-1], "call qword ptr [r12+0x28]") {
		t.Errorf("helper call: %q", got)
	}
}
