//go:build linux

package execmem_test

import "encoding/binary"

// Hand-assembled arm64 snippets (checked with aarch64-linux-gnu-objdump).

func words(ws ...uint32) []byte {
	b := make([]byte, 4*len(ws))
	for i, w := range ws {
		binary.LittleEndian.PutUint32(b[4*i:], w)
	}
	return b
}

func movzW0(v uint32) uint32 { return 0x52800000 | (v&0xffff)<<5 } // movz w0, #v

const ret = 0xd65f03c0

// retConst: mov w0, #v; ret (v < 1<<16)
func retConst(v uint32) []byte { return words(movzW0(v), ret) }

// spinThenRet: loops arg times (arg >= 1), then returns v.
//
//	mov x9, x0; 1: subs x9, x9, #1; b.ne 1b; mov w0, #v; ret
func spinThenRet(v uint32) []byte {
	return words(0xaa0003e9, 0xf1000529, 0x54ffffe1, movzW0(v), ret)
}

// Patchable call layout: stp x29, x30, [sp, #-16]!; bl target; ldp x29,
// x30, [sp], #16; ret. The bl at offset 4 is the patch site.
const (
	callSite = 4
	siteSize = 4
	targetA  = 64
	targetB  = 128
)

func blWord(target int) uint32 {
	return 0x94000000 | uint32((target-callSite)/4)&0x3ffffff
}

func callerImage(a, b uint32) []byte {
	code := make([]byte, targetB+16)
	for i := 0; i < len(code); i += 4 {
		binary.LittleEndian.PutUint32(code[i:], 0xd4200000)
	}
	copy(code, words(0xa9bf7bfd, blWord(targetA), 0xa8c17bfd, ret))
	copy(code[targetA:], retConst(a))
	copy(code[targetB:], retConst(b))
	return code
}

func patchCallTo(img patcher, target int) error { return img.Patch32(callSite, blWord(target)) }
