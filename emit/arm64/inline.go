package arm64

import (
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa"
)

// inlineArrayLookup lowers bpf_map_lookup_elem(r1 = array map handle, r2 = &index)
// (emit.Compiler.InlineArrayLookup) without leaving native code. Max entries and stride
// are adjacent in the header, so one ldp reads both; a hit takes no branch:
//
//	ldr  w10, [x1]               index
//	ldp  w11, w12, [x0, #8]      max entries, stride
//	mov  x7, xzr                 NULL unless the index is in range
//	cmp  w10, w11
//	b.hs done
//	ldr  x11, [x0]               base
//	madd x7, x10, x12, x11
//	done:
func (l *lowerer) inlineArrayLookup() {
	c := l.c
	h, key := reg(isa.R1), reg(isa.R2)
	done := c.Buf.NewLabel()
	l.emit(LdStImm(LDRW, tmp, key, 0))
	l.emit(Ldp(W32, PairOffset, tmp2, tmp3, h, emit.HeaderMaxEntriesOffset))
	l.emit(Mov(W64, bpf0, XZR))
	l.emit(CmpReg(W32, tmp, tmp2))
	c.Buf.AddBranch(kindBCond, uint8(HS), done)
	l.emit(LdStImm(LDRX, tmp2, h, emit.HeaderBaseOffset))
	l.emit(Madd(W64, bpf0, tmp, tmp3, tmp2))
	c.Buf.Bind(done)
}
