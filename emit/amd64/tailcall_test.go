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
	return compileTCDepths(t, src, direct, []int{0})
}

// compileTCDepths compiles src with the stack depths of its functions.
func compileTCDepths(t *testing.T, src string, direct, depths []int) *emit.Image {
	t.Helper()
	insns, err := asm.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	img, err := emit.Compile(insns, emit.Options{StackDepth: depths, Facts: &emit.Facts{}, DirectTailCalls: direct}, tcBackend)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Whatever the position of the site, the direct path is the count check, then the bypass,
// frame (main function only) and target words 8-byte aligned (one Patch64 each) with the
// unwinding before the target word; the bypass starts out jumping to the indirect sequence
// and its filled state increments the count, the frame word is a nop and the target word
// a trap until set. No nop runs on the way to the frame word but the bypass's alignment.
func TestDirectTailCallRegion(t *testing.T) {
	const unwind = "leave"
	for _, tc := range []struct {
		name      string
		prefix    string // before the site, in the function that makes the call
		site      int    // its slot past the prefix
		wantFrame bool
		between   []string // from the bypass to the target word, between the words
	}{
		{"main function", "", 1, true, []string{"", unwind}},
		{"callee", "call local +1\nexit\n", 3, false, []string{unwind}},
	} {
		for pad := range 8 { // shift the site through every alignment
			src := tc.prefix + strings.Repeat("mov %r4, 1\n", pad) + "mov %r3, 1\ncall 12\nmov %r0, 0\nexit"
			depths := []int{0}
			if tc.prefix != "" {
				depths = []int{0, 0}
			}
			img := compileTCDepths(t, src, []int{pad + tc.site}, depths)
			if len(img.TailCalls) != 1 {
				t.Fatalf("%s: %d sites", tc.name, len(img.TailCalls))
			}
			s := img.TailCalls[0]
			words := []int{s.Bypass, s.Target}
			if tc.wantFrame {
				if s.Frame < 0 {
					t.Fatalf("%s pad %d: no frame word", tc.name, pad)
				}
				words = []int{s.Bypass, s.Frame, s.Target}
			} else if s.Frame != -1 {
				t.Fatalf("%s pad %d: frame word at %#x, want none (-1)", tc.name, pad, s.Frame)
			}
			for _, w := range words {
				if w%8 != 0 {
					t.Fatalf("%s pad %d: word at %#x not 8-byte aligned", tc.name, pad, w)
				}
			}
			start := img.Slot(pad + tc.site)
			// The count check, then in a callee the stack check, then one nop at most.
			check := decodeTC(t, img.Code, start, s.Bypass)
			want := []string{"cmp qword ptr [r12+0xb8], 0x21", "jnb "}
			if !tc.wantFrame {
				want = append(want, "mov r11, qword ptr [r12+0xc0]", "sub r11, rsp", "cmp r11, 0x4e20", "jnbe ")
			}
			ok := len(check) >= len(want) && len(check) <= len(want)+1
			for k := 0; ok && k < len(check); k++ {
				if k < len(want) {
					ok = strings.HasPrefix(check[k], want[k])
				} else {
					ok = strings.Contains(check[k], "nop") // x86asm shows 66 90 as "data16 nop"
				}
			}
			if !ok {
				t.Errorf("%s pad %d: before the bypass\n\t%s\nwant\n\t%s[; nop]", tc.name, pad, strings.Join(check, "; "), strings.Join(want, "; "))
			}
			var fill [8]byte
			binary.LittleEndian.PutUint64(fill[:], s.Fill)
			if got := decodeTC(t, fill[:], 0, 8); len(got) != 1 || got[0] != "inc qword ptr [r12+0xb8]" {
				t.Errorf("%s pad %d: the filled bypass decodes as %q, want the count's increment", tc.name, pad, got)
			}
			w := binary.LittleEndian.Uint64(img.Code[s.Bypass:])
			if want, _ := tcBackend.PokeJump(uint64(s.Bypass), uint64(s.Indirect)); w != want {
				t.Errorf("%s pad %d: bypass word %#x, want a jump to the indirect path %#x", tc.name, pad, w, want)
			}
			if got := decodeTC(t, img.Code, s.Bypass, s.Bypass+5); got[0] != "jmp "+rel(s.Indirect-(s.Bypass+5)) {
				t.Errorf("%s pad %d: bypass decodes as %q", tc.name, pad, got)
			}
			for k, want := range tc.between {
				got := strings.Join(decodeTC(t, img.Code, words[k]+8, words[k+1]), "; ")
				if got != want && !strings.HasPrefix(got, want+"; nop") || want == "" && words[k]+8 != words[k+1] {
					t.Errorf("%s pad %d: between words %d and %d\n\t%s\nwant\n\t%s[; nop]", tc.name, pad, k, k+1, got, want)
				}
			}
			if tc.wantFrame {
				if got := binary.LittleEndian.Uint64(img.Code[s.Frame:]); got != tcBackend.PokeNop() {
					t.Errorf("%s pad %d: frame word %#x, want the nop", tc.name, pad, got)
				}
			}
			if got := binary.LittleEndian.Uint64(img.Code[s.Target:]); got != trapWord {
				t.Errorf("%s pad %d: target word %#x, want ud2 and traps", tc.name, pad, got)
			}
			if s.Indirect <= s.Target || s.Out <= s.Indirect {
				t.Errorf("%s pad %d: target %#x, indirect %#x, out %#x out of order", tc.name, pad, s.Target, s.Indirect, s.Out)
			}
		}
	}
}

// mainSetup returns the frame set-up of img's main function.
func mainSetup(img *emit.Image) []byte {
	f := img.Funcs[0]
	return img.Code[f.TailEntry:f.Body]
}

// With a count whose displacement fits in 8 bits, the increment is shorter than a word: the
// filled bypass is the nop and the increment follows it.
func TestDirectTailCallShortCountDisplacement(t *testing.T) {
	be := *tcBackend
	be.TailCallCountDisp, be.StackTopDisp = 0x10, 0x18
	insns, err := asm.Assemble("mov %r3, 1\ncall 12\nmov %r0, 0\nexit")
	if err != nil {
		t.Fatal(err)
	}
	img, err := emit.Compile(insns, emit.Options{StackDepth: []int{0}, Facts: &emit.Facts{}, DirectTailCalls: []int{1}}, &be)
	if err != nil {
		t.Fatal(err)
	}
	s := img.TailCalls[0]
	if s.Fill != be.PokeNop() {
		t.Errorf("filled bypass %#x, want the nop", s.Fill)
	}
	if got := decodeTC(t, img.Code, s.Bypass+8, s.Frame); got[0] != "inc qword ptr [r12+0x10]" {
		t.Errorf("after the bypass: %q, want the increment", got)
	}
}

// A target fits in a caller's frame exactly when it pushes the same registers and its BPF
// stack is no deeper: the set-ups compared are those Prologue emits.
func TestFrameFits(t *testing.T) {
	// setup compiles a main function of depth bytes that writes the registers in regs
	// (and makes a direct tail call when tail is set) and returns its frame set-up.
	setup := func(depth int, regs string, tail bool) []byte {
		t.Helper()
		src := "mov %r0, 0\n"
		for _, r := range strings.Fields(regs) {
			src += "mov %" + r + ", 1\n"
		}
		var direct []int
		if tail {
			direct = []int{1 + len(strings.Fields(regs)) + 1}
			src += "mov %r3, 1\ncall 12\n"
		}
		img := compileTCDepths(t, src+"exit", direct, []int{depth})
		if tail && len(img.TailCalls) != 1 {
			t.Fatalf("%d direct sites, want 1", len(img.TailCalls))
		}
		return mainSetup(img)
	}
	for _, tc := range []struct {
		name           string
		caller, target []byte
		want           bool
	}{
		{"same program shape", setup(64, "r6", false), setup(64, "r6", false), true},
		{"shallower target", setup(64, "r6", false), setup(16, "r6", false), true},
		{"target without BPF stack", setup(64, "r6 r7", false), setup(0, "r6 r7", false), true},
		{"deeper target", setup(16, "r6", false), setup(64, "r6", false), false},
		{"large depths (imm32)", setup(256, "r6", false), setup(512, "r6", false), false},
		{"other saved registers", setup(64, "r6", false), setup(64, "r7", false), false},
		{"fewer saved registers", setup(64, "r6 r7", false), setup(64, "r6", false), false},
		{"caller with direct tail calls takes the deepest frame", setup(0, "", true), setup(512, "", false), true},
		{"one with indirect calls only keeps its depth", mainSetup(compileTC(t, "mov %r3, 1\ncall 12\nexit", nil)), setup(16, "", false), false},
		{"and any target saving the same", setup(0, "r9", true), setup(128, "r9", true), true},
		{"not a set-up", []byte{0x90}, setup(0, "", false), false},
		{"empty target", setup(0, "", false), nil, false},
	} {
		if got := emit.FrameFits(tcBackend, tc.caller, tc.target); got != tc.want {
			t.Errorf("%s: FrameFits(% x, % x) = %v, want %v", tc.name, tc.caller, tc.target, got, tc.want)
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
