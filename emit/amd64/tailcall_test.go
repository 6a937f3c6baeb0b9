package amd64

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa/asm"
)

var tcBackend = &Backend{GateEntryDisp: 0x28, ScratchDisp: 176, TailCallCountDisp: 184, StackTopDisp: 192, TailCallStackLimit: 20000}

// decodeTC decodes code[from:to] in Intel syntax, one instruction per entry.
func decodeTC(t *testing.T, code []byte, from, to int) []string {
	t.Helper()
	var out []string
	for off := from; off < to; {
		in, err := x86asm.Decode(code[off:to], 64)
		if err != nil {
			t.Fatalf("%#x: %v (%x)", off, err, code[off:min(off+8, to)])
		}
		out = append(out, x86asm.IntelSyntax(in, 0, nil))
		off += in.Len
	}
	return out
}

func compileTC(t *testing.T, src string, direct []int) *emit.Image {
	t.Helper()
	insns, err := asm.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	img, err := emit.Compile(insns, emit.Options{StackDepth: []int{0}, Facts: &emit.Facts{}, DirectTailCalls: direct}, tcBackend)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Whatever the position of the site, the direct path is the count check, then the bypass
// and target words 8-byte aligned (one Patch64 each) with the count and the unwinding
// between them; the bypass starts out jumping to the indirect sequence, and the target
// word is a trap until set.
func TestDirectTailCallRegion(t *testing.T) {
	for pad := range 8 { // shift the site through every alignment
		src := strings.Repeat("mov %r4, 1\n", pad) + "mov %r3, 1\ncall 12\nmov %r0, 0\nexit"
		img := compileTC(t, src, []int{pad + 1})
		if len(img.TailCalls) != 1 {
			t.Fatalf("%d sites", len(img.TailCalls))
		}
		s := img.TailCalls[0]
		if s.Bypass%8 != 0 || s.Target%8 != 0 {
			t.Fatalf("pad %d: bypass at %#x, target at %#x: not 8-byte aligned", pad, s.Bypass, s.Target)
		}
		start := img.Slots[pad+1]
		check := strings.Join(decodeTC(t, img.Code, start, s.Bypass), "; ")
		wantCheck := "mov r10, qword ptr [r12+0xb8]; cmp r10, 0x21; jnb "
		if !strings.HasPrefix(check, wantCheck) || strings.Count(check, ";") > 3 {
			t.Errorf("pad %d: before the bypass\n\t%s\nwant\n\t%s<out>[; nop]", pad, check, wantCheck)
		}
		w := binary.LittleEndian.Uint64(img.Code[s.Bypass:])
		if want, _ := tcBackend.PokeJump(uint64(s.Bypass), uint64(s.Indirect)); w != want {
			t.Errorf("pad %d: bypass word %#x, want a jump to the indirect path %#x", pad, w, want)
		}
		if got := decodeTC(t, img.Code, s.Bypass, s.Bypass+5); got[0] != "jmp "+rel(s.Indirect-(s.Bypass+5)) {
			t.Errorf("pad %d: bypass decodes as %q", pad, got)
		}
		tail := strings.Join(decodeTC(t, img.Code, s.Bypass+8, s.Target), "; ")
		wantTail := "add r10, 0x1; mov qword ptr [r12+0xb8], r10; leave"
		if !strings.HasPrefix(tail, wantTail) || strings.Count(tail, ";") > 3 {
			t.Errorf("pad %d: between the words\n\t%s\nwant\n\t%s[; nop]", pad, tail, wantTail)
		}
		if got := binary.LittleEndian.Uint64(img.Code[s.Target:]); got != trapWord {
			t.Errorf("pad %d: target word %#x, want ud2 and traps", pad, got)
		}
		if s.Indirect <= s.Target || s.Out <= s.Indirect {
			t.Errorf("pad %d: target %#x, indirect %#x, out %#x out of order", pad, s.Target, s.Indirect, s.Out)
		}
	}
}

// The words the array patches in decode as one whole instruction of 8 bytes or less,
// padded with int3: a nop for a filled slot, jumps to anywhere within ±2 GiB.
func TestPokeWordsDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		word func() (uint64, bool)
		want string
	}{
		{"nop", func() (uint64, bool) { return tcBackend.PokeNop(), true }, "nop dword ptr [rax+rax], eax"},
		{"jump forward", func() (uint64, bool) { return tcBackend.PokeJump(0x1000, 0x1040) }, "jmp .+0x3b"},
		{"jump back", func() (uint64, bool) { return tcBackend.PokeJump(0x1000, 0x10) }, "jmp .-0xff5"},
		{"jump to the edge of rel32", func() (uint64, bool) { return tcBackend.PokeJump(0, 1<<31+4) }, "jmp .+0x7fffffff"},
	} {
		w, ok := tc.word()
		if !ok {
			t.Errorf("%s: no word", tc.name)
			continue
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], w)
		got := decodeTC(t, b[:], 0, 8)
		if got[0] != tc.want {
			t.Errorf("%s: %x decodes as %q, want %q", tc.name, b, got[0], tc.want)
		}
		for _, rest := range got[1:] {
			if rest != "int3" {
				t.Errorf("%s: %x: padding %q", tc.name, b, got[1:])
				break
			}
		}
	}
	if _, ok := tcBackend.PokeJump(0, 1<<31+5); ok {
		t.Error("a rel32 jump reaching past 2 GiB")
	}
}

// rel is how x86asm shows a relative branch.
func rel(n int) string { return fmt.Sprintf(".%+#x", n) }

// The main function zeroes the counter before its tail-call entry; subprograms and
// programs without tail calls do not.
func TestTailCallEntry(t *testing.T) {
	img := compileTC(t, "mov %r3, 1\ncall 12\nexit", nil)
	f := img.Funcs[0]
	if got := strings.Join(decodeTC(t, img.Code, f.Entry, f.TailEntry), "; "); got != "nop dword ptr [rax+rax], eax; mov qword ptr [r12+0xb8], 0x0; mov qword ptr [r12+0xc0], rsp" {
		t.Errorf("before the tail-call entry: %s", got)
	}
	img = compileTC(t, "mov %r0, 1\nexit", nil)
	if f := img.Funcs[0]; f.TailEntry != f.Entry+5 {
		t.Errorf("without tail calls the tail-call entry is at +%d, want +5", f.TailEntry-f.Entry)
	}
	if _, ok := tcBackend.PokeJump(0, 1<<32); ok {
		t.Error("a rel32 jump reaching 4 GiB")
	}
}

// Tail calls need verified code and a configured counter word.
func TestTailCallRefusals(t *testing.T) {
	insns, err := asm.Assemble("mov %r3, 1\ncall 12\nexit")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		be   *Backend
		f    *emit.Facts
	}{
		{"unverified", tcBackend, nil},
		{"no counter word", &Backend{GateEntryDisp: 0x28, ScratchDisp: 176}, &emit.Facts{}},
		{"counter on the budget word", &Backend{GateEntryDisp: 0x28, ScratchDisp: 176, TailCallCountDisp: 176, StackTopDisp: 192, TailCallStackLimit: 1}, &emit.Facts{}},
		{"no stack limit", &Backend{GateEntryDisp: 0x28, ScratchDisp: 176, TailCallCountDisp: 184, StackTopDisp: 192}, &emit.Facts{}},
	} {
		_, err := emit.Compile(insns, emit.Options{Facts: tc.f}, tc.be)
		var e *emit.Error
		if !errors.Is(err, emit.ErrTailCall) || !errors.As(err, &e) || e.Index != 1 {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
