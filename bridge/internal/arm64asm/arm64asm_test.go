package arm64asm

import (
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/arch/arm64/arm64asm"
)

// Each encoding is pinned as a word and checked against the arm64asm
// decoder (GNU syntax).
func TestEncodings(t *testing.T) {
	tests := []struct {
		emit func(a *Asm)
		word uint32
		text string
	}{
		{func(a *Asm) { a.Mov(23, 0) }, 0xaa0003f7, "mov x23, x0"},
		{func(a *Asm) { a.MovSP(16, SP) }, 0x910003f0, "mov x16, sp"},
		{func(a *Asm) { a.MovSP(SP, 16) }, 0x9100021f, "mov sp, x16"},
		{func(a *Asm) { a.AddImm(9, SP, 64) }, 0x910103e9, "add x9, sp, #0x40"},
		{func(a *Asm) { a.SubImm(SP, SP, 64) }, 0xd10103ff, "sub sp, sp, #0x40"},
		{func(a *Asm) { a.SubsImm(9, 9, 1) }, 0xf1000529, "subs x9, x9, #0x1"},
		{func(a *Asm) { a.CmpImm(22, 0x515) }, 0xf11456df, "cmp x22, #0x515"},
		{func(a *Asm) { a.CmpReg(9, 16) }, 0xeb10013f, "cmp x9, x16"},
		{func(a *Asm) { a.AddReg(20, 20, 0) }, 0x8b000294, "add x20, x20, x0"},
		{func(a *Asm) { a.LsrImm(21, 0, 32) }, 0xd360fc15, "lsr x21, x0, #32"},
		{func(a *Asm) { a.MovW(19, 0) }, 0x2a0003f3, "mov w19, w0"},
		{func(a *Asm) { a.Movz(9, 7) }, 0xd28000e9, "mov x9, #0x7"},
		{func(a *Asm) { a.Movn(0, 0) }, 0x92800000, "mov x0, #0xffffffffffffffff"},
		{func(a *Asm) { a.Ldr(16, 23, 40) }, 0xf94016f0, "ldr x16, [x23,#40]"},
		{func(a *Asm) { a.Ldr(9, 25, -8) }, 0xf85f8329, "ldur x9, [x25,#-8]"},
		{func(a *Asm) { a.Str(29, 0, 8) }, 0xf900041d, "str x29, [x0,#8]"},
		{func(a *Asm) { a.LdrIdx8(26, 26, 9) }, 0xf8697b5a, "ldr x26, [x26,x9,lsl #3]"},
		{func(a *Asm) { a.StpPre(19, 20, SP, -64) }, 0xa9bc53f3, "stp x19, x20, [sp,#-64]!"},
		{func(a *Asm) { a.Stp(29, 30, SP, 48) }, 0xa9037bfd, "stp x29, x30, [sp,#48]"},
		{func(a *Asm) { a.Ldp(21, 22, SP, 16) }, 0xa9415bf5, "ldp x21, x22, [sp,#16]"},
		{func(a *Asm) { a.LdpPost(19, 20, SP, 64) }, 0xa8c453f3, "ldp x19, x20, [sp],#64"},
		{func(a *Asm) { a.Br(16) }, 0xd61f0200, "br x16"},
		{func(a *Asm) { a.Blr(16) }, 0xd63f0200, "blr x16"},
		{func(a *Asm) { a.Ret() }, 0xd65f03c0, "ret"},
		{func(a *Asm) { a.Brk() }, 0xd4200000, "brk #0x0"},
	}
	for _, tt := range tests {
		a := New()
		tt.emit(a)
		code, err := a.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if got := binary.LittleEndian.Uint32(code); got != tt.word || len(code) != 4 {
			t.Errorf("%s: encoded %x, want %08x", tt.text, code, tt.word)
			continue
		}
		inst, err := arm64asm.Decode(code)
		if err != nil {
			t.Errorf("%08x (%s): arm64asm cannot decode: %v", tt.word, tt.text, err)
			continue
		}
		if got := arm64asm.GNUSyntax(inst); got != tt.text {
			t.Errorf("%08x decodes as %q, want %q", tt.word, got, tt.text)
		}
	}
}

func TestBranchLabels(t *testing.T) {
	a := New()
	a.Label("top")
	a.SubsImm(9, 9, 1)
	a.Bcond(NE, "top")
	a.Cbz(9, "end")
	a.Adr(16, "end")
	a.BL("end")
	a.Label("end")
	a.Ret()
	code, err := a.Finish()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < len(code); i += 4 {
		inst, err := arm64asm.Decode(code[i:])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%08x", binary.LittleEndian.Uint32(code[i:])))
		_ = inst
	}
	want := []string{"f1000529", "54ffffe1", "b4000069", "10000050", "94000001", "d65f03c0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	b := New()
	b.B("nowhere")
	if _, err := b.Finish(); err == nil {
		t.Error("undefined label not reported")
	}
}
