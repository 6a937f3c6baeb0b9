package execmem

import "sync"

// trapWord is BRK #0.
const trapWord = 0xd4200000

var (
	lineOnce       sync.Once
	dLine, iLine   uintptr
	idcBit, dicBit bool
)

func readCacheLines() {
	ctr := ctrEL0()
	dLine = 4 << ((ctr >> 16) & 0xf)
	iLine = 4 << (ctr & 0xf)
	idcBit = ctr&(1<<28) != 0
	dicBit = ctr&(1<<29) != 0
}

// syncInstructionCache makes code written through the alias rw visible to
// instruction fetch at rx (the same bytes, possibly another mapping):
// clean the data cache to the point of unification by rw, then invalidate
// the instruction cache by rx, with the barriers the architecture requires.
// The line sizes come from CTR_EL0; IDC/DIC let hardware skip either half.
// qemu-user treats all of this as no-ops (see PatchSync).
func syncInstructionCache(rw, rx uintptr, n int) {
	cleanDataCache(rw, n)
	invalidateInstructionCache(rx, n)
}

// cleanDataCache cleans [addr, addr+n) to the point of unification.
func cleanDataCache(addr uintptr, n int) {
	if n <= 0 {
		return
	}
	lineOnce.Do(readCacheLines)
	if !idcBit {
		for p := addr &^ (dLine - 1); p < addr+uintptr(n); p += dLine {
			dcCVAU(p)
		}
	}
	dsbISH()
}

// invalidateInstructionCache drops instruction-cache lines for
// [addr, addr+n) on every core of the inner-shareable domain.
func invalidateInstructionCache(addr uintptr, n int) {
	if n <= 0 {
		return
	}
	lineOnce.Do(readCacheLines)
	if !dicBit {
		for p := addr &^ (iLine - 1); p < addr+uintptr(n); p += iLine {
			icIVAU(p)
		}
	}
	dsbISH()
	isb()
}

// Implemented in cache_arm64.s.
func ctrEL0() uint64
func dcCVAU(addr uintptr)
func icIVAU(addr uintptr)
func dsbISH()
func isb()
