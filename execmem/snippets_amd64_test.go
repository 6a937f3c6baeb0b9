//go:build linux

package execmem_test

import "encoding/binary"

// Hand-assembled amd64 snippets (checked with objdump).

// retConst: mov eax, v; ret
func retConst(v uint32) []byte {
	b := []byte{0xb8, 0, 0, 0, 0, 0xc3}
	binary.LittleEndian.PutUint32(b[1:], v)
	return b
}

// spinThenRet: loops arg times (arg >= 1), then returns v.
//
//	mov rcx, rdi; 1: dec rcx; jnz 1b; mov eax, v; ret
func spinThenRet(v uint32) []byte {
	return append([]byte{0x48, 0x89, 0xf9, 0x48, 0xff, 0xc9, 0x75, 0xfb}, retConst(v)...)
}

// Patchable call layout: offset 0 holds an 8-byte aligned word with
// "call rel32; nop3", followed by ret. Targets sit at targetA / targetB.
const (
	callSite = 0
	siteSize = 8
	targetA  = 64
	targetB  = 128
)

// callWord returns the 8-byte word at callSite that calls target.
func callWord(target int) uint64 {
	var w [8]byte
	w[0] = 0xe8
	binary.LittleEndian.PutUint32(w[1:], uint32(int32(target-(callSite+5))))
	w[5], w[6], w[7] = 0x0f, 0x1f, 0x00
	return binary.LittleEndian.Uint64(w[:])
}

// callerImage: call targetA; ret; ... targetA: return a; targetB: return b.
func callerImage(a, b uint32) []byte {
	code := make([]byte, targetB+16)
	for i := range code {
		code[i] = 0xcc
	}
	binary.LittleEndian.PutUint64(code[callSite:], callWord(targetA))
	code[8] = 0xc3
	copy(code[targetA:], retConst(a))
	copy(code[targetB:], retConst(b))
	return code
}

// patchCallTo rewrites the call site to call target.
func patchCallTo(img patcher, target int) error { return img.Patch64(callSite, callWord(target)) }
