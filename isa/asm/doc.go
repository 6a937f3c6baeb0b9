// Package asm is a text assembler and disassembler for BPF in the syntax of the
// bpf_conformance suite (the "-- asm" sections of its .data files), extended so that
// every structurally valid program, and indeed any sequence of slots, can be written
// down and read back bit for bit.
//
// # Syntax
//
// One instruction per line. A '#' starts a comment that runs to the end of the line.
// A line may begin with one or more labels, "name:"; a label names the slot of the
// next instruction. Names are letters, digits, '_' and '.', not starting with a digit;
// they are case-sensitive, mnemonics and keywords are not.
// Registers are written %r0–%r10 (r0–r10 is accepted too). Numbers are decimal or
// 0x-prefixed hexadecimal, optionally signed. Memory operands are [%rN], [%rN+off] or
// [%rN-off].
//
//	mov %r0, 1            ALU64 with immediate; mov32 %r0, 1 is the 32-bit form
//	add32 %r1, %r2        ALU with register: add sub mul div sdiv mod smod or and xor
//	                      lsh rsh arsh mov, each with a 32 suffix for the ALU class
//	neg %r1 / neg32 %r1
//	movsx832 %r1, %r2     sign-extending moves: movsx832 movsx1632 (ALU),
//	                      movsx864 movsx1664 movsx3264 (ALU64)
//	le16 %r1 / be32 %r1   byte swaps to little/big endian (16, 32, 64)
//	swap16 %r1            unconditional byte swap (bswap16/32/64 is accepted too)
//	ldxw %r0, [%r1+4]     loads: ldxb ldxh ldxw ldxdw; ldxsb ldxsh ldxsw sign-extend
//	stxdw [%r10-8], %r1   stores of a register: stxb stxh stxw stxdw
//	stb [%r1+2], 0x11     stores of an immediate: stb sth stw stdw
//	lock add [%r1+0], %r2 atomics: lock [fetch] add|or|and|xor, lock xchg,
//	                      lock cmpxchg; a 32 suffix on the operation selects the
//	                      32-bit form (lock fetch add32 ...)
//	lddw %r0, 0x1122334455667788   64-bit immediate load (two slots)
//	ja L2 / ja +3         unconditional jump; ja32 is the long form (gotol, imm)
//	jeq %r1, 0, +3        conditional jumps: jeq jne jgt jge jlt jle jset jsgt jsge
//	jne32 %r1, %r2, done  jslt jsle, each with a 32 suffix for the JMP32 class
//	call 5                helper call by id
//	call %r2              call the helper whose id is in a register (callx)
//	call local name       BPF-to-BPF call; call local +N with a slot offset works too
//	exit
//
// A jump or call target is a label or a signed slot offset relative to the next slot
// ("+0" is the next instruction). If no label named "exit" is defined, the target
// "exit" means the first exit instruction of the program, as the suite's assembler has it.
//
// # Extensions
//
// The suite has no syntax for some valid encodings; these forms cover them:
//
//	call kfunc 1234                     kernel function call (src = 2), imm = BTF id
//	lddw %r1, map_fd 3                  lddw with src = 1 (map by fd)
//	lddw %r1, map_value 3, 16           src = 2: map fd 3, value offset 16
//	lddw %r1, btf_id 77                 src = 3
//	lddw %r1, func name                 src = 4: address of a BPF function (or +N)
//	lddw %r1, map_idx 0                 src = 5: entry 0 of the program's map table
//	lddw %r1, map_idx_value 0, 8        src = 6: entry 0's value, offset 8
//	ldabsw 0x10                         legacy packet loads: ldabsb ldabsh ldabsw
//	ldindw %r2, 0x10                    and ldindb ldindh ldindw
//	.insn 0x95, 0, 0, 0, 0              one raw slot: opcode, dst, src, off, imm
//
// The .insn form writes any slot whatsoever (registers are the 4-bit nibbles 0–15).
// The disassembler uses it for every slot whose fields the symbolic form would not
// reproduce exactly — nonzero reserved fields, unknown opcodes, a lone or malformed
// half of an lddw — so that Assemble(Disassemble(p)) == p holds for every program.
package asm
