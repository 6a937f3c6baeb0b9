package amd64

import "github.com/bpfjit/bpfjit/emit"

// inlineArrayLookup lowers bpf_map_lookup_elem(r1 = array map handle, r2 = &index)
// (emit.Compiler.InlineArrayLookup) without leaving native code:
//
//	mov   eax, [rsi]             index
//	mov   r11d, [rdi+8]          max entries
//	cmp   eax, r11d
//	jae   null
//	mov   r11d, [rdi+12]         stride
//	imul  rax, r11
//	add   rax, [rdi]             base
//	jmp   done
//	null: xor eax, eax
//	done:
func (b *Backend) inlineArrayLookup(c *emit.Compiler) {
	a := code(c)
	null, done := c.Buf.NewLabel(), c.Buf.NewLabel()
	a.Load(W32, RAX, Mem{RSI, 0})
	a.Load(W32, tmp, Mem{RDI, emit.HeaderMaxEntriesOffset})
	a.ALU(CMP, W32, RAX, tmp)
	c.Buf.AddBranch(kindJcc, uint8(CondAE), null)
	a.Load(W32, tmp, Mem{RDI, emit.HeaderStrideOffset})
	a.Imul(W64, RAX, tmp)
	a.Load(W64, tmp, Mem{RDI, emit.HeaderBaseOffset})
	a.ALU(ADD, W64, RAX, tmp)
	c.Buf.AddBranch(kindJmp, 0, done)
	c.Buf.Bind(null)
	a.ALU(XOR, W32, RAX, RAX)
	c.Buf.Bind(done)
}
