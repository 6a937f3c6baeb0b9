package arm64

import (
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa"
)

// inlineArrayLookup lowers bpf_map_lookup_elem(r1 = array map handle, r2 = &index)
// (emit.Compiler.InlineArrayLookup) without leaving native code:
//
//	ldr  w10, [x1]               index
//	ldr  w11, [x0, #8]           max entries
//	mov  x7, #0
//	cmp  w10, w11
//	b.hs done
//	ldr  w11, [x0, #12]          stride
//	ldr  x12, [x0]               base
//	madd x7, x10, x11, x12
//	done:
func (l *lowerer) inlineArrayLookup() {
	c := l.c
	h, key := reg(isa.R1), reg(isa.R2)
	done := c.Buf.NewLabel()
	l.emit(LdStImm(LDRW, tmp, key, 0))
	l.emit(LdStImm(LDRW, tmp2, h, emit.HeaderMaxEntriesOffset))
	l.emit(Mov(W64, bpf0, XZR))
	l.emit(CmpReg(W32, tmp, tmp2))
	c.Buf.AddBranch(kindBCond, uint8(HS), done)
	l.emit(LdStImm(LDRW, tmp2, h, emit.HeaderStrideOffset))
	l.emit(LdStImm(LDRX, tmp3, h, emit.HeaderBaseOffset))
	l.emit(Madd(W64, bpf0, tmp, tmp2, tmp3))
	c.Buf.Bind(done)
}
