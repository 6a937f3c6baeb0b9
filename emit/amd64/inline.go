package amd64

import "github.com/bpfjit/bpfjit/emit"

// inlineArrayLookup lowers bpf_map_lookup_elem(r1 = array map handle, r2 = &index)
// (emit.Compiler.InlineArrayLookup) without leaving native code. A hit takes no branch:
//
//	mov   r11d, [rsi]            index
//	xor   eax, eax               NULL unless the index is in range
//	cmp   r11d, [rdi+8]          max entries
//	jae   done
//	mov   eax, [rdi+12]          stride
//	imul  rax, r11               64-bit: an array may exceed 4 GiB
//	add   rax, [rdi]             base
//	done:
//
// The header fields are loads, not immediates, because the map is bound after compiling
// (emit.Options carries no map constants); they sit in one cache line next to nothing
// that is written.
func (b *Backend) inlineArrayLookup(c *emit.Compiler) {
	a := code(c)
	done := c.Buf.NewLabel()
	a.Load(W32, tmp, Mem{RSI, 0})
	a.ALU(XOR, W32, RAX, RAX)
	a.aluLoad(CMP, W32, tmp, Mem{RDI, emit.HeaderMaxEntriesOffset})
	c.Buf.AddBranch(kindJcc, uint8(CondAE), done)
	a.Load(W32, RAX, Mem{RDI, emit.HeaderStrideOffset})
	a.Imul(W64, RAX, tmp)
	a.aluLoad(ADD, W64, RAX, Mem{RDI, emit.HeaderBaseOffset})
	c.Buf.Bind(done)
}
