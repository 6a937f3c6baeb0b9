package amd64

import (
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa/asm"
	"golang.org/x/arch/x86/x86asm"
)

// loweringGolden pins the native sequence of each instruction form, in the order the
// lowering emits it (x86asm Intel syntax; branch targets are offsets from the slot's first
// byte, the exit that follows each instruction falls into the epilogue). Read it as the
// specification of the lowering: div/mod check for zero (and -1 when signed) before
// dividing and park rax/rdx in r9/r10; shifts by register borrow cl through r11; 32-bit
// forms zero-extend; helper calls go through the bridge gate at [r12+disp].
var loweringGolden = []struct{ bpf, native string }{
	{"mov %r0, %r1", "mov rax, rdi"},
	{"mov32 %r0, %r0", "mov eax, eax"},
	{"mov %r6, -1", "mov rbx, -0x1"},
	{"mov32 %r2, -1", "mov esi, -0x1"},
	{"mov %r3, 0", "mov edx, 0x0"},
	{"add %r0, %r1", "add rax, rdi"},
	{"add32 %r7, 1000", "add r13d, 0x3e8"},
	{"sub %r9, %r10", "sub r15, rbp"},
	{"and %r0, 0xff", "and rax, 0xff"},
	{"mul %r2, %r3", "imul rsi, rdx"},
	{"mul32 %r4, 10", "imul ecx, ecx, 0xa"},
	{"div %r0, %r1", "test rdi, rdi; jnz 0x9; xor eax, eax; jmp 0x23; mov r11, rdi; mov r9, rax; mov r10, rdx; xor edx, edx; div r11; mov r11, rax; mov rax, r9; mov rdx, r10; mov rax, r11"},
	{"div32 %r3, %r4", "test ecx, ecx; jnz 0x8; xor edx, edx; jmp 0x25; mov r11, rcx; mov r9, rax; mov r10, rdx; mov rax, rdx; xor edx, edx; div r11d; mov r11d, eax; mov rax, r9; mov rdx, r10; mov rdx, r11"},
	{"mod %r0, %r3", "test rdx, rdx; jnz 0x7; jmp 0x21; mov r11, rdx; mov r9, rax; mov r10, rdx; xor edx, edx; div r11; mov r11, rdx; mov rax, r9; mov rdx, r10; mov rax, r11"},
	{"sdiv %r1, %r2", "test rsi, rsi; jnz 0x9; xor edi, edi; jmp 0x31; cmp rsi, -0x1; jnz 0x14; neg rdi; jmp 0x31; mov r11, rsi; mov r9, rax; mov r10, rdx; mov rax, rdi; cqo; idiv r11; mov r11, rax; mov rax, r9; mov rdx, r10; mov rdi, r11"},
	{"smod32 %r5, %r0", "test eax, eax; jnz 0x9; mov r8d, r8d; jmp 0x2f; cmp eax, -0x1; jnz 0x13; xor r8d, r8d; jmp 0x2f; mov r11, rax; mov r9, rax; mov r10, rdx; mov rax, r8; cdq; idiv r11d; mov r11d, edx; mov rax, r9; mov rdx, r10; mov r8, r11"},
	{"div %r0, 0", "xor eax, eax"},
	{"mod32 %r6, 0", "mov ebx, ebx"},
	{"sdiv %r6, -1", "neg rbx"},
	{"smod %r6, -1", "xor ebx, ebx"},
	{"div %r6, 7", "mov r11d, 0x7; mov r9, rax; mov r10, rdx; mov rax, rbx; xor edx, edx; div r11; mov r11, rax; mov rax, r9; mov rdx, r10; mov rbx, r11"},
	{"lsh %r0, %r4", "shl rax, cl"},
	{"rsh32 %r1, %r2", "mov r11, rcx; mov rcx, rsi; shr edi, cl; mov rcx, r11; mov edi, edi"},
	{"arsh %r4, %r1", "mov r11, rcx; mov rcx, rdi; sar r11, cl; mov rcx, r11"},
	{"lsh %r2, 70", "shl rsi, 0x6"},
	{"rsh32 %r3, 0", "mov edx, edx"},
	{"neg %r0", "neg rax"},
	{"neg32 %r8", "neg r14d"},
	{"movsx1632 %r1, %r2", "movsx edi, si"},
	{"movsx864 %r4, %r6", "movsx rcx, bl"},
	{"movsx3264 %r0, %r9", "movsxd rax, r15d"},
	{"le16 %r0", "movzx eax, ax"},
	{"le32 %r0", "mov eax, eax"},
	{"le64 %r0", ""},
	{"be16 %r1", "rol di, 0x8; movzx edi, di"},
	{"be32 %r1", "bswap edi"},
	{"be64 %r1", "bswap rdi"},
	{"bswap16 %r2", "rol si, 0x8; movzx esi, si"},
	{"ldxb %r0, [%r1+3]", "movzx eax, byte ptr [rdi+0x3]"},
	{"ldxsh %r0, [%r10-2]", "movsx rax, word ptr [rbp-0x2]"},
	{"ldxw %r7, [%r6]", "mov r13d, dword ptr [rbx]"},
	{"ldxdw %r0, [%r10-512]", "mov rax, qword ptr [rbp+0xfffffe00]"},
	{"stb [%r1+1], 5", "mov byte ptr [rdi+0x1], 0x5"},
	{"stdw [%r10-8], -1", "mov qword ptr [rbp-0x8], -0x1"},
	{"stxh [%r1+2], %r6", "mov word ptr [rdi+0x2], bx"},
	{"stxdw [%r10-16], %r0", "mov qword ptr [rbp-0x10], rax"},
	{"lock add [%r1+0], %r2", "lock add qword ptr [rdi], rsi"},
	{"lock fetch add32 [%r1+0], %r2", "lock xadd dword ptr [rdi], esi"},
	{"lock xchg [%r1+8], %r3", "xchg qword ptr [rdi+0x8], rdx"},
	{"lock cmpxchg32 [%r1+0], %r2", "lock cmpxchg dword ptr [rdi], esi; mov eax, eax"},
	{"lock fetch or [%r0+8], %r0", "mov r10, rax; mov r9, rax; mov rax, qword ptr [r10+0x8]; mov r11, rax; or r11, r9; lock cmpxchg qword ptr [r10+0x8], r11; jnz 0xa"},
	{"jeq %r1, 0, +0", "test rdi, rdi; jz 0x5"},
	{"jsgt32 %r1, %r2, +0", "cmp edi, esi; jnle 0x4"},
	{"jset %r3, 0x80, +0", "test rdx, 0x80; jnz 0x9"},
	{"jlt %r1, -5, +0", "cmp rdi, -0x5; jb 0x6"},
	{"call 7", "mov r11d, 0x7; call qword ptr [r12+0x40]"},
	{"call %r5", "mov r11, r8; call qword ptr [r12+0x40]"},
	{"lddw %r0, 0x100000000", "mov rax, 0x100000000"},
	{"lddw %r1, 0xffffffffffffff80", "mov rdi, -0x80"},
	{"lddw %r2, 5", "mov esi, 0x5"},
}

func TestLoweringGolden(t *testing.T) {
	for _, tc := range loweringGolden {
		t.Run(tc.bpf, func(t *testing.T) {
			insns, err := asm.Assemble(tc.bpf + "\nexit")
			if err != nil {
				t.Fatal(err)
			}
			img, err := emit.Compile(insns, emit.Options{}, testBackend)
			if err != nil {
				t.Fatal(err)
			}
			code := img.Code[img.Slot(0):img.Funcs[0].Exit]
			var lines []string
			for off := 0; off < len(code); {
				in, err := x86asm.Decode(code[off:], 64)
				if err != nil {
					t.Fatalf("offset %d: %v", off, err)
				}
				lines = append(lines, x86asm.IntelSyntax(in, uint64(off), nil))
				off += in.Len
			}
			if got := strings.Join(lines, "; "); got != tc.native {
				t.Errorf("lowered to\n\t%s\nwant\n\t%s", got, tc.native)
			}
		})
	}
}
