package arm64

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa/asm"
	"golang.org/x/arch/arm64/arm64asm"
)

// wordsText renders code[from:to] one instruction per line, arm64asm GNU syntax;
// words arm64asm cannot decode (LSE, relocation data) appear as ".word 0x...".
func wordsText(code []byte, from, to int) []string {
	var out []string
	for off := from; off < to; off += 4 {
		w := binary.LittleEndian.Uint32(code[off:])
		d, err := arm64asm.Decode(code[off : off+4])
		if err != nil {
			out = append(out, fmt.Sprintf(".word %#08x", w))
			continue
		}
		out = append(out, normalizeGNU(arm64asm.GNUSyntax(d)))
	}
	return out
}

func compileText(t *testing.T, be *Backend, src string, opts emit.Options) *emit.Image {
	t.Helper()
	insns, err := asm.Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	img, err := emit.Compile(insns, opts, be)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestPrologueAndEpilogueListings pins the frame: the patchable entry, the frame
// record, only the callee-saved registers the function writes (plus x25, BPF R10),
// the BPF stack, and the return of R0 in x0 from the main program.
func TestPrologueAndEpilogueListings(t *testing.T) {
	be := backends[0].be
	cases := []struct {
		name  string
		src   string
		depth []int
		want  []string
	}{
		{"no callee-saved writes, 512-byte stack", "mov %r0, 1\nexit", nil, []string{
			"mov x9, x30", "nop",
			"stp x29, x30, [sp,#-16]!", "mov x29, sp",
			"stp x25, xzr, [sp,#-16]!",
			"mov x25, sp", "sub sp, sp, #0x200",
			"mov x7, #0x1",
			"mov sp, x25",
			"ldp x25, xzr, [sp],#16",
			"ldp x29, x30, [sp],#16",
			"mov x0, x7", "ret",
		}},
		{"r6 and r8 written, no stack", "mov %r6, 1\nmov %r8, 2\nmov %r0, %r6\nexit", []int{0}, []string{
			"mov x9, x30", "nop",
			"stp x29, x30, [sp,#-16]!", "mov x29, sp",
			"stp x19, x21, [sp,#-16]!",
			"stp x25, xzr, [sp,#-16]!",
			"mov x25, sp",
			"mov x19, #0x1", "mov x21, #0x2", "mov x7, x19",
			"mov sp, x25",
			"ldp x25, xzr, [sp],#16",
			"ldp x19, x21, [sp],#16",
			"ldp x29, x30, [sp],#16",
			"mov x0, x7", "ret",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := compileText(t, be, c.src, emit.Options{StackDepth: c.depth})
			got := wordsText(img.Code, 0, len(img.Code))
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(c.want, "\n\t"))
			}
		})
	}
}

// TestLoweringListings pins the instruction selection of single BPF instructions:
// which immediate forms are used and what each edge case costs.
func TestLoweringListings(t *testing.T) {
	cases := []struct {
		src  string
		want []string
		be   *Backend
	}{
		{"add %r1, 4095", []string{"add x0, x0, #0xfff"}, nil},
		{"add %r1, -1", []string{"sub x0, x0, #0x1"}, nil},
		{"sub32 %r1, -4096", []string{"add w0, w0, #0x1, lsl #12"}, nil},
		{"add %r1, 0x12345", []string{"mov x10, #0x2345", "movk x10, #0x1, lsl #16", "add x0, x0, x10"}, nil},
		{"add32 %r1, -0x80000000", []string{"mov w10, #0x80000000", "add w0, w0, w10"}, nil},
		{"and %r1, 0xff", []string{"and x0, x0, #0xff"}, nil},
		{"and32 %r1, -1", []string{"mov w0, w0"}, nil},
		{"and %r1, 0", []string{"mov x0, #0x0"}, nil},
		{"or %r1, 0", nil, nil},
		{"xor %r1, -1", []string{"mvn x0, x0"}, nil},
		{"or %r1, 0x12345", []string{"mov x10, #0x2345", "movk x10, #0x1, lsl #16", "orr x0, x0, x10"}, nil},
		{"mov %r1, -2", []string{"mov x0, #0xfffffffffffffffe"}, nil},
		{"mov32 %r1, -2", []string{"mov w0, #0xfffffffe"}, nil},
		{"mov32 %r1, %r1", []string{"mov w0, w0"}, nil},
		{"mov %r1, %r1", nil, nil},
		{"movsx832 %r1, %r2", []string{"sxtb w0, w1"}, nil},
		{"movsx3264 %r1, %r2", []string{"sxtw x0, w1"}, nil},
		{"lddw %r1, 0x5555555555555555", []string{"mov x0, #0x5555555555555555"}, nil},
		{"mul %r1, 3", []string{"mov x10, #0x3", "mul x0, x0, x10"}, nil},
		{"mul %r1, 8", []string{"lsl x0, x0, #3"}, nil},
		{"mul32 %r1, -0x80000000", []string{"lsl w0, w0, #31"}, nil},
		{"div32 %r1, 16", []string{"lsr w0, w0, #4"}, nil},
		{"div %r1, 1", nil, nil},
		{"div32 %r1, 1", []string{"mov w0, w0"}, nil},
		{"mod %r1, 64", []string{"and x0, x0, #0x3f"}, nil},
		{"mod32 %r1, 1", []string{"mov w0, #0x0"}, nil},
		{"sdiv %r1, 8", []string{"mov x10, #0x8", "sdiv x0, x0, x10"}, nil},
		{"div %r1, %r2", []string{"udiv x0, x0, x1"}, nil},
		{"sdiv32 %r1, %r2", []string{"sdiv w0, w0, w1"}, nil},
		{"mod %r1, %r2", []string{"udiv x11, x0, x1", "msub x0, x11, x1, x0"}, nil},
		{"smod32 %r1, -3", []string{"mov w10, #0xfffffffd", "sdiv w11, w0, w10", "msub w0, w11, w10, w0"}, nil},
		{"lsh %r1, 65", []string{"lsl x0, x0, #1"}, nil},
		{"lsh %r1, 0", nil, nil},
		{"rsh32 %r1, 32", []string{"mov w0, w0"}, nil},
		{"arsh %r1, %r2", []string{"asr x0, x0, x1"}, nil},
		{"neg32 %r1", []string{"neg w0, w0"}, nil},
		{"le16 %r1", []string{"uxth w0, w0"}, nil},
		{"le32 %r1", []string{"mov w0, w0"}, nil},
		{"le64 %r1", nil, nil},
		{"be16 %r1", []string{"rev16 w0, w0", "uxth w0, w0"}, nil},
		{"be32 %r1", []string{"rev w0, w0"}, nil},
		{"swap64 %r1", []string{"rev x0, x0"}, nil},
		{"ldxb %r0, [%r1+4095]", []string{"ldrb w7, [x0,#4095]"}, nil},
		{"ldxdw %r0, [%r10-8]", []string{"ldur x7, [x25,#-8]"}, nil},
		{"ldxw %r0, [%r1-1000]", []string{"mov x10, #0xfffffffffffffc18", "ldr w7, [x0,x10]"}, nil},
		{"ldxsh %r0, [%r1+2]", []string{"ldrsh x7, [x0,#2]"}, nil},
		{"stb [%r1+1], 0", []string{"strb wzr, [x0,#1]"}, nil},
		{"stdw [%r10-16], -1", []string{"mov x11, #0xffffffffffffffff", "stur x11, [x25,#-16]"}, nil},
		{"stxh [%r1+6], %r2", []string{"strh w1, [x0,#6]"}, nil},
		{"call 5", []string{"mov w9, #0x5", "ldr x16, [x23,#40]", "blr x16", "mov x7, x0"}, nil},
		{"call %r3", []string{"mov x9, x2", "ldr x16, [x23,#40]", "blr x16", "mov x7, x0"}, nil},
		{"lddw %r1, map_fd 3", []string{"ldr x0, .+8", "b .+12", ".word 0x00000000", ".word 0x00000000"}, nil},
		// arm64asm has no LSE: per llvm-mc, 0xf8e1015f is ldaddal x1, xzr, [x10]
		// (relaxed acquire, as BPF's non-fetch atomics allow), 0xb8ec1001 is
		// ldclral w12, w1, [x0] and 0xc8e7fc01 is casal x7, x1, [x0].
		{"lock add [%r1+8], %r2", []string{"add x10, x0, #0x8", ".word 0xf8e1015f"}, backends[0].be},
		{"lock fetch and32 [%r1], %r2", []string{"mvn w12, w1", ".word 0xb8ec1001"}, backends[0].be},
		{"lock cmpxchg [%r1], %r2", []string{".word 0xc8e7fc01"}, backends[0].be},
		{"lock fetch xor [%r1-8], %r2", []string{
			"sub x10, x0, #0x8",
			"ldaxr x11, [x10]", "eor x12, x11, x1", "stlxr w16, x12, [x10]", "cbnz w16, .-12",
			"dmb ish", "mov x1, x11"}, backends[1].be},
		{"lock cmpxchg32 [%r1], %r2", []string{
			"ldaxr w11, [x0]", "cmp w11, w7", "b.ne .+16", "stlxr w16, w1, [x0]", "cbnz w16, .-16",
			"dmb ish", "mov w7, w11"}, backends[1].be},
		{"lock xchg [%r1], %r2", []string{
			"ldaxr x11, [x0]", "stlxr w16, x1, [x0]", "cbnz w16, .-8", "dmb ish", "mov x1, x11"}, backends[1].be},
	}
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			be := c.be
			if be == nil {
				be = backends[0].be
			}
			img := compileText(t, be, c.src+"\nexit", emit.Options{StackDepth: []int{0}})
			f := img.Funcs[0]
			got := wordsText(img.Code, f.Body, f.Exit)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(c.want, "\n\t"))
			}
		})
	}
}

// TestJumpListings pins compare selection: imm12, negative imm12 through cmn,
// bitmask tst, and the register fallback.
func TestJumpListings(t *testing.T) {
	cases := []struct {
		src  string
		want []string
	}{
		{"jeq %r1, 5, +0", []string{"cmp x0, #0x5", "b.eq .+4"}},
		{"jeq %r1, 0, +0", []string{"cbz x0, .+4"}},
		{"jne32 %r1, 0, +0", []string{"cbnz w0, .+4"}},
		{"jgt %r1, 0, +0", []string{"cbnz x0, .+4"}},
		{"jle32 %r1, 0, +0", []string{"cbz w0, .+4"}},
		{"jsgt %r1, 0, +0", []string{"cmp x0, #0x0", "b.gt .+4"}},
		{"jset %r1, 0, +0", nil},
		{"jgt %r1, -5, +0", []string{"cmn x0, #0x5", "b.hi .+4"}},
		{"jslt32 %r1, 0x12345, +0", []string{"mov w10, #0x2345", "movk w10, #0x1, lsl #16", "cmp w0, w10", "b.lt .+4"}},
		{"jset %r1, 0x80, +0", []string{"tst x0, #0x80", "b.ne .+4"}},
		{"jset32 %r1, 0x12345, +0", []string{"mov w10, #0x2345", "movk w10, #0x1, lsl #16", "tst w0, w10", "b.ne .+4"}},
		{"jle %r1, %r2, +0", []string{"cmp x0, x1", "b.ls .+4"}},
		{"jsge32 %r1, %r2, +0", []string{"cmp w0, w1", "b.ge .+4"}},
		{"ja +0", []string{"b .+4"}},
	}
	for _, c := range cases {
		t.Run(c.src, func(t *testing.T) {
			img := compileText(t, backends[0].be, c.src+"\nexit", emit.Options{StackDepth: []int{0}})
			f := img.Funcs[0]
			got := wordsText(img.Code, f.Body, f.Exit)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(c.want, "\n\t"))
			}
		})
	}
}

// TestBudgetListing pins the execution-budget code: the main prologue loads the
// budget into x24, a backward jump charges it with two instructions before its
// compare, and the exhausted stub calls the budget helper and traps.
func TestBudgetListing(t *testing.T) {
	src := "mov %r0, 3\nL: sub %r0, 1\njne %r0, 0, L\nexit"
	img := compileText(t, backends[0].be, src, emit.Options{StackDepth: []int{0}, Budget: 1000, BudgetHelper: 99})
	f := img.Funcs[0]
	body := wordsText(img.Code, f.Entry, len(img.Code))
	want := []string{
		"mov x9, x30", "nop",
		"mov x24, #0x3e8", // before the tail-call entry: one budget per run
		"stp x29, x30, [sp,#-16]!", "mov x29, sp",
		"stp x25, xzr, [sp,#-16]!",
		"mov x25, sp",
		"mov x7, #0x3",
		"sub x7, x7, #0x1",
		"subs x24, x24, #0x1", "b.eq .+28",
		"cbnz x7, .-12",
		"mov sp, x25", "ldp x25, xzr, [sp],#16", "ldp x29, x30, [sp],#16", "mov x0, x7", "ret",
		"mov w9, #0x63", "ldr x16, [x23,#40]", "blr x16", "mov x7, x0", "brk #0xb0d",
	}
	if strings.Join(body, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n\t%s\nwant\n\t%s", strings.Join(body, "\n\t"), strings.Join(want, "\n\t"))
	}
}
