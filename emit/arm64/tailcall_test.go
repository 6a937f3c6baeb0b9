package arm64

import (
	"errors"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa/asm"
)

var tcBackend = &Backend{GateEntryDisp: 40, TailCallCountDisp: 184, StackTopDisp: 192, TailCallStackLimit: 20000}

// The direct site of a main function: the count check, the bypass (a b to the indirect
// sequence as emitted), the count, the frame word (a nop as emitted), the unwinding, and
// the brk that becomes the target's b, in front of the indirect sequence; the tail-call
// entry follows the run init.
func TestTailCallListings(t *testing.T) {
	src := "mov %r3, 1\ncall 12\nmov %r0, 0\nexit"
	img := compileText(t, tcBackend, src, emit.Options{StackDepth: []int{0}, Facts: &emit.Facts{}, DirectTailCalls: []int{1}})
	if len(img.TailCalls) != 1 {
		t.Fatalf("%d direct sites", len(img.TailCalls))
	}
	s := img.TailCalls[0]
	f := img.Funcs[0]
	if got := wordsText(img.Code, f.Entry, f.TailEntry); strings.Join(got, "; ") != "mov x9, x30; nop; str xzr, [x23,#184]; mov x16, sp; str x16, [x23,#192]" {
		t.Errorf("entry before the tail-call entry: %q", got)
	}
	want := []string{
		"ldr x11, [x23,#184]", "cmp x11, #0x21", "b.cs .+104", // → out
		"b .+32", // bypass → indirect, as emitted
		"add x11, x11, #0x1", "str x11, [x23,#184]",
		"nop", // frame word
		"mov sp, x25", "ldp x25, xzr, [sp],#16", "ldp x29, x30, [sp],#16",
		"brk #0x7ca1", // target
		// indirect
		"ldr w10, [x1,#8]", "cmp w2, w10", "b.cs .+60",
		"ldr x11, [x23,#184]", "cmp x11, #0x21", "b.cs .+48",
		"ldr x12, [x1]", "mov w10, w2", "add x12, x12, x10, lsl #3", "ldr x12, [x12]", "cbz x12, .+28",
		"add x11, x11, #0x1", "str x11, [x23,#184]",
		"mov sp, x25", "ldp x25, xzr, [sp],#16", "ldp x29, x30, [sp],#16", "br x12",
	}
	got := wordsText(img.Code, img.Slot(1), s.Out)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	if s.Bypass != img.Slot(1)+3*4 || s.Frame != s.Bypass+3*4 || s.Target != s.Bypass+7*4 || s.Indirect != s.Target+4 {
		t.Errorf("site offsets %+v", s)
	}
	for _, p := range []struct{ from, to int }{{s.Bypass, s.Out}, {s.Bypass, s.Indirect}, {s.Target, f.Entry}, {s.Frame, f.Body}} {
		w, ok := tcBackend.PokeJump(uint64(p.from), uint64(p.to))
		if !ok || Inst(w).Kind() != KindB {
			t.Errorf("poke %#x -> %#x: %#x, %v", p.from, p.to, w, ok)
		}
	}
	if w := tcBackend.PokeNop(); Inst(w) != InstNop {
		t.Errorf("PokeNop %#x", w)
	}
	if _, ok := tcBackend.PokeJump(0, 1<<28); ok {
		t.Error("a b reaching 256 MiB")
	}
}

// A callee's direct site has no frame word: its tail calls always unwind.
func TestCalleeTailCallHasNoFrameWord(t *testing.T) {
	src := "call local +1\nexit\nmov %r3, 1\ncall 12\nmov %r0, 0\nexit"
	img := compileText(t, tcBackend, src, emit.Options{StackDepth: []int{0, 0}, Facts: &emit.Facts{}, DirectTailCalls: []int{3}})
	if len(img.TailCalls) != 1 {
		t.Fatalf("%d direct sites", len(img.TailCalls))
	}
	if s := img.TailCalls[0]; s.Frame != -1 {
		t.Errorf("frame word at %#x, want none (-1)", s.Frame)
	}
}

// A target fits in a caller's frame exactly when it saves the same registers and its BPF
// stack is no deeper: the set-ups compared are those Prologue emits.
func TestFrameFits(t *testing.T) {
	// set-up compiles a main function of depth bytes that writes the registers in regs
	// and makes a tail call, direct when direct is set, and returns its frame set-up.
	setupTail := func(depth int, regs string, direct bool) []byte {
		t.Helper()
		src := "mov %r0, 0\n"
		for _, r := range strings.Fields(regs) {
			src += "mov %" + r + ", 1\n"
		}
		opts := emit.Options{StackDepth: []int{depth}, Facts: &emit.Facts{}}
		if direct {
			opts.DirectTailCalls = []int{1 + len(strings.Fields(regs)) + 1}
		}
		img := compileText(t, tcBackend, src+"mov %r3, 1\ncall 12\nexit", opts)
		if direct && len(img.TailCalls) != 1 {
			t.Fatalf("%d direct sites, want 1", len(img.TailCalls))
		}
		f := img.Funcs[0]
		return img.Code[f.TailEntry:f.Body]
	}
	setup := func(depth int, regs string) []byte {
		t.Helper()
		src := "mov %r0, 0\n"
		for _, r := range strings.Fields(regs) {
			src += "mov %" + r + ", 1\n"
		}
		img := compileText(t, tcBackend, src+"exit", emit.Options{StackDepth: []int{depth}, Facts: &emit.Facts{}})
		f := img.Funcs[0]
		return img.Code[f.TailEntry:f.Body]
	}
	for _, tc := range []struct {
		name           string
		caller, target []byte
		want           bool
	}{
		{"same shape", setup(64, "r6"), setup(64, "r6"), true},
		{"shallower target", setup(64, "r6 r7"), setup(16, "r6 r7"), true},
		{"target without BPF stack", setup(512, ""), setup(0, ""), true},
		{"deeper target", setup(16, "r6"), setup(64, "r6"), false},
		{"caller without BPF stack", setup(0, "r6"), setup(16, "r6"), false},
		{"other saved registers", setup(64, "r6"), setup(64, "r8"), false},
		{"more saved registers", setup(64, "r6"), setup(64, "r6 r7 r8"), false},
		{"caller with direct tail calls takes the deepest frame", setupTail(0, "", true), setup(512, ""), true},
		{"and any target saving the same", setupTail(0, "r9", true), setupTail(128, "r9", true), true},
		{"one with indirect calls only keeps its depth", setupTail(0, "", false), setup(16, ""), false},
		{"not a set-up", []byte{0x1f, 0x20, 0x03, 0xd5}, setup(0, ""), false},
		{"empty target", setup(0, ""), nil, false},
	} {
		if got := emit.FrameFits(tcBackend, tc.caller, tc.target); got != tc.want {
			t.Errorf("%s: FrameFits(% x, % x) = %v, want %v", tc.name, tc.caller, tc.target, got, tc.want)
		}
	}
}

// Tail calls need verified code and a configured counter.
func TestTailCallRefusals(t *testing.T) {
	src := "mov %r3, 1\ncall 12\nexit"
	for _, tc := range []struct {
		name string
		be   *Backend
		f    *emit.Facts
	}{
		{"unverified", tcBackend, nil},
		{"no counter word", &Backend{GateEntryDisp: 40}, &emit.Facts{}},
	} {
		insns, err := asm.Assemble(src)
		if err != nil {
			t.Fatal(err)
		}
		_, err = emit.Compile(insns, emit.Options{Facts: tc.f}, tc.be)
		var e *emit.Error
		if !errors.Is(err, emit.ErrTailCall) || !errors.As(err, &e) || e.Index != 1 {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
