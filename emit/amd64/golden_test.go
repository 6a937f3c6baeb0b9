package amd64

import (
	"encoding/hex"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

// goldenEncodings pins one encoding of every instruction form. The hex column was produced
// by llvm-mc (an assembler independent of this encoder) from the Intel-syntax source the
// test name spells; the text column is how x86asm decodes those bytes.
var goldenEncodings = []struct {
	name string
	emit func(c *Code)
	hex  string
	text string
}{
	{"ALU(ADD, W64, RAX, RCX)", func(c *Code) { c.ALU(ADD, W64, RAX, RCX) }, "4801c8", "add rax, rcx"},
	{"ALU(ADD, W32, R8, R15)", func(c *Code) { c.ALU(ADD, W32, R8, R15) }, "4501f8", "add r8d, r15d"},
	{"ALU(SUB, W64, R13, RBX)", func(c *Code) { c.ALU(SUB, W64, R13, RBX) }, "4929dd", "sub r13, rbx"},
	{"ALU(AND, W32, RDI, RSI)", func(c *Code) { c.ALU(AND, W32, RDI, RSI) }, "21f7", "and edi, esi"},
	{"ALU(OR, W64, R10, R11)", func(c *Code) { c.ALU(OR, W64, R10, R11) }, "4d09da", "or r10, r11"},
	{"ALU(XOR, W32, RAX, RAX)", func(c *Code) { c.ALU(XOR, W32, RAX, RAX) }, "31c0", "xor eax, eax"},
	{"ALU(CMP, W64, RBP, R9)", func(c *Code) { c.ALU(CMP, W64, RBP, R9) }, "4c39cd", "cmp rbp, r9"},
	{"ALU(CMP, W32, R14, RDX)", func(c *Code) { c.ALU(CMP, W32, R14, RDX) }, "4139d6", "cmp r14d, edx"},
	{"ALUImm(ADD, W64, RAX, 1)", func(c *Code) { c.ALUImm(ADD, W64, RAX, 1) }, "4883c001", "add rax, 0x1"},
	{"ALUImm(ADD, W64, RSP, -128)", func(c *Code) { c.ALUImm(ADD, W64, RSP, -128) }, "4883c480", "add rsp, -0x80"},
	{"ALUImm(SUB, W64, RSP, 512)", func(c *Code) { c.ALUImm(SUB, W64, RSP, 512) }, "4881ec00020000", "sub rsp, 0x200"},
	{"ALUImm(AND, W32, R15, 127)", func(c *Code) { c.ALUImm(AND, W32, R15, 127) }, "4183e77f", "and r15d, 0x7f"},
	{"ALUImm(OR, W32, RCX, -129)", func(c *Code) { c.ALUImm(OR, W32, RCX, -129) }, "81c97fffffff", "or ecx, -0x81"},
	{"ALUImm(XOR, W64, R12, 0x7fffffff)", func(c *Code) { c.ALUImm(XOR, W64, R12, 0x7fffffff) }, "4981f4ffffff7f", "xor r12, 0x7fffffff"},
	{"ALUImm(CMP, W64, RDI, -2147483648)", func(c *Code) { c.ALUImm(CMP, W64, RDI, -2147483648) }, "4881ff00000080", "cmp rdi, -0x80000000"},
	{"ALUImm(CMP, W32, R11, -1)", func(c *Code) { c.ALUImm(CMP, W32, R11, -1) }, "4183fbff", "cmp r11d, -0x1"},
	{"Test(W64, RAX, RAX)", func(c *Code) { c.Test(W64, RAX, RAX) }, "4885c0", "test rax, rax"},
	{"Test(W32, R9, RSI)", func(c *Code) { c.Test(W32, R9, RSI) }, "4185f1", "test r9d, esi"},
	{"TestImm(W64, RBX, 0x100)", func(c *Code) { c.TestImm(W64, RBX, 0x100) }, "48f7c300010000", "test rbx, 0x100"},
	{"TestImm(W32, R13, -1)", func(c *Code) { c.TestImm(W32, R13, -1) }, "41f7c5ffffffff", "test r13d, -0x1"},
	{"Imul(W64, RAX, R15)", func(c *Code) { c.Imul(W64, RAX, R15) }, "490fafc7", "imul rax, r15"},
	{"Imul(W32, R8, RCX)", func(c *Code) { c.Imul(W32, R8, RCX) }, "440fafc1", "imul r8d, ecx"},
	{"ImulImm(W64, RDI, RDI, 3)", func(c *Code) { c.ImulImm(W64, RDI, RDI, 3) }, "486bff03", "imul rdi, rdi, 0x3"},
	{"ImulImm(W32, R14, R14, 100000)", func(c *Code) { c.ImulImm(W32, R14, R14, 100000) }, "4569f6a0860100", "imul r14d, r14d, 0x186a0"},
	{"Neg(W64, R13)", func(c *Code) { c.Neg(W64, R13) }, "49f7dd", "neg r13"},
	{"Neg(W32, RAX)", func(c *Code) { c.Neg(W32, RAX) }, "f7d8", "neg eax"},
	{"Not(W64, RDX)", func(c *Code) { c.Not(W64, RDX) }, "48f7d2", "not rdx"},
	{"Mul(W64, R11)", func(c *Code) { c.Mul(W64, R11) }, "49f7e3", "mul r11"},
	{"Div(W64, R11)", func(c *Code) { c.Div(W64, R11) }, "49f7f3", "div r11"},
	{"Div(W32, R11)", func(c *Code) { c.Div(W32, R11) }, "41f7f3", "div r11d"},
	{"Idiv(W64, R11)", func(c *Code) { c.Idiv(W64, R11) }, "49f7fb", "idiv r11"},
	{"Idiv(W32, RCX)", func(c *Code) { c.Idiv(W32, RCX) }, "f7f9", "idiv ecx"},
	{"Cdq()", func(c *Code) { c.Cdq() }, "99", "cdq"},
	{"Cqo()", func(c *Code) { c.Cqo() }, "4899", "cqo"},
	{"Shift(SHL, W64, RDI)", func(c *Code) { c.Shift(SHL, W64, RDI) }, "48d3e7", "shl rdi, cl"},
	{"Shift(SHR, W32, R8)", func(c *Code) { c.Shift(SHR, W32, R8) }, "41d3e8", "shr r8d, cl"},
	{"Shift(SAR, W64, R15)", func(c *Code) { c.Shift(SAR, W64, R15) }, "49d3ff", "sar r15, cl"},
	{"ShiftImm(SHL, W64, RAX, 1)", func(c *Code) { c.ShiftImm(SHL, W64, RAX, 1) }, "48d1e0", "shl rax, 0x1"},
	{"ShiftImm(SHR, W32, RSI, 31)", func(c *Code) { c.ShiftImm(SHR, W32, RSI, 31) }, "c1ee1f", "shr esi, 0x1f"},
	{"ShiftImm(SAR, W64, R9, 63)", func(c *Code) { c.ShiftImm(SAR, W64, R9, 63) }, "49c1f93f", "sar r9, 0x3f"},
	{"ShiftImm(ROL, W16, RDI, 8)", func(c *Code) { c.ShiftImm(ROL, W16, RDI, 8) }, "66c1c708", "rol di, 0x8"},
	{"ShiftImm(ROL, W16, R13, 8)", func(c *Code) { c.ShiftImm(ROL, W16, R13, 8) }, "6641c1c508", "rol r13w, 0x8"},
	{"Bswap(W32, RAX)", func(c *Code) { c.Bswap(W32, RAX) }, "0fc8", "bswap eax"},
	{"Bswap(W64, R14)", func(c *Code) { c.Bswap(W64, R14) }, "490fce", "bswap r14"},
	{"Bswap(W32, R9)", func(c *Code) { c.Bswap(W32, R9) }, "410fc9", "bswap r9d"},
	{"Mov(W64, RAX, RDI)", func(c *Code) { c.Mov(W64, RAX, RDI) }, "4889f8", "mov rax, rdi"},
	{"Mov(W32, R15, RBP)", func(c *Code) { c.Mov(W32, R15, RBP) }, "4189ef", "mov r15d, ebp"},
	{"Mov(W64, R11, R10)", func(c *Code) { c.Mov(W64, R11, R10) }, "4d89d3", "mov r11, r10"},
	{"MovImm32(RAX, 0)", func(c *Code) { c.MovImm32(RAX, 0) }, "b800000000", "mov eax, 0x0"},
	{"MovImm32(R12, 0xffffffff)", func(c *Code) { c.MovImm32(R12, 0xffffffff) }, "41bcffffffff", "mov r12d, -0x1"},
	{"MovImmSX(RCX, -1)", func(c *Code) { c.MovImmSX(RCX, -1) }, "48c7c1ffffffff", "mov rcx, -0x1"},
	{"MovImmSX(R8, -2147483648)", func(c *Code) { c.MovImmSX(R8, -2147483648) }, "49c7c000000080", "mov r8, -0x80000000"},
	{"MovImm64(RDX, 0x123456789abcdef0)", func(c *Code) { c.MovImm64(RDX, 0x123456789abcdef0) }, "48baf0debc9a78563412", "mov rdx, 0x123456789abcdef0"},
	{"MovImm64(R15, 0xffffffff00000000)", func(c *Code) { c.MovImm64(R15, 0xffffffff00000000) }, "49bf00000000ffffffff", "mov r15, 0xffffffff00000000"},
	{"Movzx(RAX, RSI, W8)", func(c *Code) { c.Movzx(RAX, RSI, W8) }, "400fb6c6", "movzx eax, sil"},
	{"Movzx(RBX, RDI, W8)", func(c *Code) { c.Movzx(RBX, RDI, W8) }, "400fb6df", "movzx ebx, dil"},
	{"Movzx(R9, RAX, W8)", func(c *Code) { c.Movzx(R9, RAX, W8) }, "440fb6c8", "movzx r9d, al"},
	{"Movzx(RCX, R13, W16)", func(c *Code) { c.Movzx(RCX, R13, W16) }, "410fb7cd", "movzx ecx, r13w"},
	{"Movsx(W64, RAX, RBP, W8)", func(c *Code) { c.Movsx(W64, RAX, RBP, W8) }, "480fbec5", "movsx rax, bpl"},
	{"Movsx(W32, RDX, RSP, W8)", func(c *Code) { c.Movsx(W32, RDX, RSP, W8) }, "400fbed4", "movsx edx, spl"},
	{"Movsx(W64, R10, R11, W16)", func(c *Code) { c.Movsx(W64, R10, R11, W16) }, "4d0fbfd3", "movsx r10, r11w"},
	{"Movsx(W32, RSI, RCX, W16)", func(c *Code) { c.Movsx(W32, RSI, RCX, W16) }, "0fbff1", "movsx esi, cx"},
	{"Movsx(W64, RDI, R15, W32)", func(c *Code) { c.Movsx(W64, RDI, R15, W32) }, "4963ff", "movsxd rdi, r15d"},
	{"Load(W8, RAX, Mem{RDI, 0})", func(c *Code) { c.Load(W8, RAX, Mem{RDI, 0}) }, "0fb607", "movzx eax, byte ptr [rdi]"},
	{"Load(W16, R8, Mem{RSP, 2})", func(c *Code) { c.Load(W16, R8, Mem{RSP, 2}) }, "440fb7442402", "movzx r8d, word ptr [rsp+0x2]"},
	{"Load(W32, RBX, Mem{RBP, -4})", func(c *Code) { c.Load(W32, RBX, Mem{RBP, -4}) }, "8b5dfc", "mov ebx, dword ptr [rbp-0x4]"},
	{"Load(W64, R14, Mem{R13, 0})", func(c *Code) { c.Load(W64, R14, Mem{R13, 0}) }, "4d8b7500", "mov r14, qword ptr [r13]"},
	{"Load(W64, RCX, Mem{R12, -512})", func(c *Code) { c.Load(W64, RCX, Mem{R12, -512}) }, "498b8c2400feffff", "mov rcx, qword ptr [r12+0xfffffe00]"},
	{"Load(W32, RSI, Mem{R10, 0x7fff})", func(c *Code) { c.Load(W32, RSI, Mem{R10, 0x7fff}) }, "418bb2ff7f0000", "mov esi, dword ptr [r10+0x7fff]"},
	{"Load(W8, R15, Mem{RBP, 0})", func(c *Code) { c.Load(W8, R15, Mem{RBP, 0}) }, "440fb67d00", "movzx r15d, byte ptr [rbp]"},
	{"Load(W16, RDX, Mem{R12, 0})", func(c *Code) { c.Load(W16, RDX, Mem{R12, 0}) }, "410fb71424", "movzx edx, word ptr [r12]"},
	{"LoadSX(W8, RAX, Mem{RSI, 1})", func(c *Code) { c.LoadSX(W8, RAX, Mem{RSI, 1}) }, "480fbe4601", "movsx rax, byte ptr [rsi+0x1]"},
	{"LoadSX(W16, R9, Mem{RBP, -128})", func(c *Code) { c.LoadSX(W16, R9, Mem{RBP, -128}) }, "4c0fbf4d80", "movsx r9, word ptr [rbp-0x80]"},
	{"LoadSX(W32, RDI, Mem{R12, -129})", func(c *Code) { c.LoadSX(W32, RDI, Mem{R12, -129}) }, "4963bc247fffffff", "movsxd rdi, dword ptr [r12+0xffffff7f]"},
	{"Store(W8, Mem{RDI, 0}, RSI)", func(c *Code) { c.Store(W8, Mem{RDI, 0}, RSI) }, "408837", "mov byte ptr [rdi], sil"},
	{"Store(W8, Mem{RBP, -1}, RAX)", func(c *Code) { c.Store(W8, Mem{RBP, -1}, RAX) }, "8845ff", "mov byte ptr [rbp-0x1], al"},
	{"Store(W8, Mem{R13, 0}, R14)", func(c *Code) { c.Store(W8, Mem{R13, 0}, R14) }, "45887500", "mov byte ptr [r13], r14b"},
	{"Store(W16, Mem{RSP, 8}, RBX)", func(c *Code) { c.Store(W16, Mem{RSP, 8}, RBX) }, "66895c2408", "mov word ptr [rsp+0x8], bx"},
	{"Store(W32, Mem{R8, -300}, R9)", func(c *Code) { c.Store(W32, Mem{R8, -300}, R9) }, "458988d4feffff", "mov dword ptr [r8+0xfffffed4], r9d"},
	{"Store(W64, Mem{RBP, -8}, RDI)", func(c *Code) { c.Store(W64, Mem{RBP, -8}, RDI) }, "48897df8", "mov qword ptr [rbp-0x8], rdi"},
	{"Store(W64, Mem{R12, 0}, R15)", func(c *Code) { c.Store(W64, Mem{R12, 0}, R15) }, "4d893c24", "mov qword ptr [r12], r15"},
	{"StoreImm(W8, Mem{RDI, 3}, -1)", func(c *Code) { c.StoreImm(W8, Mem{RDI, 3}, -1) }, "c64703ff", "mov byte ptr [rdi+0x3], 0xff"},
	{"StoreImm(W16, Mem{RBP, -2}, 0x1234)", func(c *Code) { c.StoreImm(W16, Mem{RBP, -2}, 0x1234) }, "66c745fe3412", "mov word ptr [rbp-0x2], 0x1234"},
	{"StoreImm(W32, Mem{R13, 0}, 7)", func(c *Code) { c.StoreImm(W32, Mem{R13, 0}, 7) }, "41c7450007000000", "mov dword ptr [r13], 0x7"},
	{"StoreImm(W64, Mem{RSP, 512}, -2)", func(c *Code) { c.StoreImm(W64, Mem{RSP, 512}, -2) }, "48c7842400020000feffffff", "mov qword ptr [rsp+0x200], -0x2"},
	{"Lea(RAX, Mem{RBP, -16})", func(c *Code) { c.Lea(RAX, Mem{RBP, -16}) }, "488d45f0", "lea rax, ptr [rbp-0x10]"},
	{"Lea(R11, Mem{R12, 0x100})", func(c *Code) { c.Lea(R11, Mem{R12, 0x100}) }, "4d8d9c2400010000", "lea r11, ptr [r12+0x100]"},
	{"LeaRIP(R10, 0x10)", func(c *Code) { c.LeaRIP(R10, 0x10) }, "4c8d1510000000", "lea r10, ptr [rip+0x10]"},
	{"LockALU(ADD, W64, Mem{RDI, 8}, RSI)", func(c *Code) { c.LockALU(ADD, W64, Mem{RDI, 8}, RSI) }, "f048017708", "lock add qword ptr [rdi+0x8], rsi"},
	{"LockALU(OR, W32, Mem{RBP, -4}, R9)", func(c *Code) { c.LockALU(OR, W32, Mem{RBP, -4}, R9) }, "f044094dfc", "lock or dword ptr [rbp-0x4], r9d"},
	{"LockALU(AND, W64, Mem{R12, 0}, RAX)", func(c *Code) { c.LockALU(AND, W64, Mem{R12, 0}, RAX) }, "f049210424", "lock and qword ptr [r12], rax"},
	{"LockALU(XOR, W32, Mem{R13, 0}, RCX)", func(c *Code) { c.LockALU(XOR, W32, Mem{R13, 0}, RCX) }, "f041314d00", "lock xor dword ptr [r13], ecx"},
	{"LockXadd(W64, Mem{RDX, 0}, RBX)", func(c *Code) { c.LockXadd(W64, Mem{RDX, 0}, RBX) }, "f0480fc11a", "lock xadd qword ptr [rdx], rbx"},
	{"LockXadd(W32, Mem{RSP, -8}, R15)", func(c *Code) { c.LockXadd(W32, Mem{RSP, -8}, R15) }, "f0440fc17c24f8", "lock xadd dword ptr [rsp-0x8], r15d"},
	{"Xchg(W64, Mem{RDI, 16}, R8)", func(c *Code) { c.Xchg(W64, Mem{RDI, 16}, R8) }, "4c874710", "xchg qword ptr [rdi+0x10], r8"},
	{"Xchg(W32, Mem{RBP, -200}, RSI)", func(c *Code) { c.Xchg(W32, Mem{RBP, -200}, RSI) }, "87b538ffffff", "xchg dword ptr [rbp+0xffffff38], esi"},
	{"LockCmpxchg(W64, Mem{RCX, 0}, RDX)", func(c *Code) { c.LockCmpxchg(W64, Mem{RCX, 0}, RDX) }, "f0480fb111", "lock cmpxchg qword ptr [rcx], rdx"},
	{"LockCmpxchg(W32, Mem{R13, -129}, RSI)", func(c *Code) { c.LockCmpxchg(W32, Mem{R13, -129}, RSI) }, "f0410fb1b57fffffff", "lock cmpxchg dword ptr [r13+0xffffff7f], esi"},
	{"Push(RBP)", func(c *Code) { c.Push(RBP) }, "55", "push rbp"},
	{"Push(R13)", func(c *Code) { c.Push(R13) }, "4155", "push r13"},
	{"Pop(RBX)", func(c *Code) { c.Pop(RBX) }, "5b", "pop rbx"},
	{"Pop(R15)", func(c *Code) { c.Pop(R15) }, "415f", "pop r15"},
	{"CallReg(R11)", func(c *Code) { c.CallReg(R11) }, "41ffd3", "call r11"},
	{"CallMem(Mem{R12, 0x40})", func(c *Code) { c.CallMem(Mem{R12, 0x40}) }, "41ff542440", "call qword ptr [r12+0x40]"},
	{"Ret()", func(c *Code) { c.Ret() }, "c3", "ret"},
	{"Leave()", func(c *Code) { c.Leave() }, "c9", "leave"},
	{"Nop5()", func(c *Code) { c.Nop5() }, "0f1f440000", "nop dword ptr [rax+rax], eax"}, // the canonical 5-byte nop (disp8 0),
	{"Int3()", func(c *Code) { c.Int3() }, "cc", "int3"},
	{"Ud2()", func(c *Code) { c.Ud2() }, "0f0b", "ud2"},
	{"ALUMemImm(SUB, W64, Mem{R12, 176}, 1)", func(c *Code) { c.ALUMemImm(SUB, W64, Mem{R12, 176}, 1) }, "4983ac24b000000001", "sub qword ptr [r12+0xb0], 0x1"},
	{"ALUMemImm(ADD, W32, Mem{RBP, -8}, 1000)", func(c *Code) { c.ALUMemImm(ADD, W32, Mem{RBP, -8}, 1000) }, "8145f8e8030000", "add dword ptr [rbp-0x8], 0x3e8"},
	{"Jcc8(CondE, 0x10)", func(c *Code) { c.Jcc8(CondE, 0x10) }, "7410", "jz .+0x10"},
	{"Jcc8(CondG, -2)", func(c *Code) { c.Jcc8(CondG, -2) }, "7ffe", "jnle .-0x2"},
	{"Jcc32(CondNE, 0x100)", func(c *Code) { c.Jcc32(CondNE, 0x100) }, "0f8500010000", "jnz .+0x100"},
	{"Jcc32(CondBE, -0x1000)", func(c *Code) { c.Jcc32(CondBE, -0x1000) }, "0f8600f0ffff", "jbe .-0x1000"},
	{"Jmp8(5)", func(c *Code) { c.Jmp8(5) }, "eb05", "jmp .+0x5"},
	{"Jmp32(0x12345)", func(c *Code) { c.Jmp32(0x12345) }, "e945230100", "jmp .+0x12345"},
	{"CallRel32(-5)", func(c *Code) { c.CallRel32(-5) }, "e8fbffffff", "call .-0x5"},
}

func TestGoldenEncodings(t *testing.T) {
	for _, tc := range goldenEncodings {
		t.Run(tc.name, func(t *testing.T) {
			var c Code
			tc.emit(&c)
			if got := hex.EncodeToString(c); got != tc.hex {
				t.Errorf("bytes = %s, want %s", got, tc.hex)
			}
			in, err := x86asm.Decode(c, 64)
			if err != nil {
				t.Fatalf("x86asm cannot decode %x: %v", []byte(c), err)
			}
			if in.Len != len(c) {
				t.Errorf("decoded %d of %d bytes", in.Len, len(c))
			}
			if got := x86asm.IntelSyntax(in, 0, nil); got != tc.text {
				t.Errorf("decodes as %q, want %q", got, tc.text)
			}
		})
	}
}
