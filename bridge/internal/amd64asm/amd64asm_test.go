package amd64asm

import (
	"encoding/hex"
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// Each encoding is pinned as hex and checked against the x86asm decoder.
func TestEncodings(t *testing.T) {
	tests := []struct {
		emit func(a *Asm)
		hex  string
		text string // Intel syntax from x86asm
	}{
		{func(a *Asm) { a.MovRR(RAX, RDI) }, "4889f8", "mov rax, rdi"},
		{func(a *Asm) { a.MovRR(R12, RDI) }, "4989fc", "mov r12, rdi"},
		{func(a *Asm) { a.AddRR(R13, RAX) }, "4901c5", "add r13, rax"},
		{func(a *Asm) { a.XorRR(R13, R13) }, "4d31ed", "xor r13, r13"},
		{func(a *Asm) { a.CmpRR(RAX, RBP) }, "4839e8", "cmp rax, rbp"},
		{func(a *Asm) { a.TestRR(RBX, RBX) }, "4885db", "test rbx, rbx"},
		{func(a *Asm) { a.Load(RSP, R12, 8) }, "498ba42408000000", "mov rsp, qword ptr [r12+0x8]"},
		{func(a *Asm) { a.Store(RDI, 0, RSP) }, "4889a700000000", "mov qword ptr [rdi], rsp"},
		{func(a *Asm) { a.StoreImm(R12, 16, 1) }, "49c784241000000001000000", "mov qword ptr [r12+0x10], 0x1"},
		{func(a *Asm) { a.CmpRM(R11, R12, 72) }, "4d3b9c2448000000", "cmp r11, qword ptr [r12+0x48]"},
		{func(a *Asm) { a.CmpMI(RBP, -8, 5) }, "4881bdf8ffffff05000000", "cmp qword ptr [rbp+0xfffffff8], 0x5"},
		{func(a *Asm) { a.LoadIdx8(RDX, RDX, R11) }, "4a8b14da", "mov rdx, qword ptr [rdx+8*r11]"},
		{func(a *Asm) { a.MovImm(RSI, -1) }, "48c7c6ffffffff", "mov rsi, -0x1"},
		{func(a *Asm) { a.AddImm(RAX, 64) }, "4881c040000000", "add rax, 0x40"},
		{func(a *Asm) { a.SubImm(RSP, 64) }, "4881ec40000000", "sub rsp, 0x40"},
		{func(a *Asm) { a.CmpImm(R15, 0x1515) }, "4981ff15150000", "cmp r15, 0x1515"},
		{func(a *Asm) { a.ShrImm(R14, 32) }, "49c1ee20", "shr r14, 0x20"},
		{func(a *Asm) { a.Dec(RBX) }, "48ffcb", "dec rbx"},
		{func(a *Asm) { a.Push(R15) }, "4157", "push r15"},
		{func(a *Asm) { a.Pop(RBX) }, "5b", "pop rbx"},
		{func(a *Asm) { a.CallMem(R12, 40) }, "41ff942428000000", "call qword ptr [r12+0x28]"},
		{func(a *Asm) { a.JmpMem(R12, 48) }, "41ffa42430000000", "jmp qword ptr [r12+0x30]"},
		{func(a *Asm) { a.CallReg(RAX) }, "ffd0", "call rax"},
		{func(a *Asm) { a.Ret() }, "c3", "ret"},
	}
	for _, tt := range tests {
		a := New()
		tt.emit(a)
		code, err := a.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(code); got != tt.hex {
			t.Errorf("%s: encoded %s, want %s", tt.text, got, tt.hex)
			continue
		}
		inst, err := x86asm.Decode(code, 64)
		if err != nil || inst.Len != len(code) {
			t.Errorf("%s: x86asm cannot decode %x: %v", tt.hex, code, err)
			continue
		}
		if tt.text != "" {
			if got := strings.ToLower(x86asm.IntelSyntax(inst, 0, nil)); got != tt.text {
				t.Errorf("%s decodes as %q, want %q", tt.hex, got, tt.text)
			}
		}
	}
}

func TestLabels(t *testing.T) {
	a := New()
	a.Label("top")
	a.Dec(RCX)
	a.Jcc(CondNE, "top")
	a.Call("end")
	a.Label("end")
	a.Ret()
	code, err := a.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(code), "48ffc9"+"0f85f7ffffff"+"e800000000"+"c3"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	b := New()
	b.Jmp("nowhere")
	if _, err := b.Finish(); err == nil {
		t.Error("undefined label not reported")
	}
}
