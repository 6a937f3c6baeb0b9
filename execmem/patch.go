//go:build linux && (amd64 || arm64)

package execmem

import (
	"sync/atomic"
	"unsafe"
)

// Patch32 atomically replaces the naturally aligned 4-byte word at byte
// offset off of a patchable image (one arm64 instruction) and makes every
// thread see it; see PatchSync for the guarantee. The architecture allows
// an instruction to be replaced while other cores may execute it only when
// both the old and the new instruction are B, BL, NOP, BRK, SVC, HVC, SMC
// or ISB (Arm ARM, "concurrent modification and execution of
// instructions"); patch sites must be built from those.
func (img *Image) Patch32(off int, v uint32) error {
	return img.patch(off, 4, func(p unsafe.Pointer) { atomic.StoreUint32((*uint32)(p), v) })
}

// Patch64 atomically replaces the naturally aligned 8-byte word at byte
// offset off of a patchable image (on amd64 the word holding a patch site,
// e.g. a 5-byte call or jmp, or a 5-byte nop, padded into one aligned word)
// and makes every thread see it; see PatchSync for the guarantee. A thread
// decoding the site sees all 8 old or all 8 new bytes, so the site must
// hold whole instructions in both versions (TestPatchStress).
func (img *Image) Patch64(off int, v uint64) error {
	return img.patch(off, 8, func(p unsafe.Pointer) { atomic.StoreUint64((*uint64)(p), v) })
}

// patch stores one word under the arena lock, so the image cannot be freed
// (and its memory reused) between the retirement check and the store.
func (img *Image) patch(off, size int, store func(unsafe.Pointer)) error {
	a := img.arena
	a.mu.Lock()
	p, err := img.patchSite(off, size)
	if err != nil {
		a.mu.Unlock()
		return err
	}
	store(p)
	ch := img.ch
	syncInstructionCache(uintptr(p), uintptr(ch.rx.addr)+uintptr(img.off+off), size)
	a.mu.Unlock()
	// Every thread serialises its instruction stream before running more
	// user code: none keeps executing the word it fetched before the store.
	if err := processSyncCore(); err != nil {
		return err
	}
	if a.opts.PatchSync == SyncEmulator {
		a.mu.Lock()
		defer a.mu.Unlock()
		if img.state == stateFreed {
			return nil
		}
		return a.flipLocked(ch, img.off+off, size)
	}
	return nil
}

func (img *Image) patchSite(off, size int) (unsafe.Pointer, error) {
	if img.ch == nil {
		return nil, ErrNotPatchable
	}
	if off < 0 || off > img.size-size {
		return nil, &PatchError{Offset: off, Size: size, Reason: "outside the image"}
	}
	if (img.off+off)%size != 0 {
		return nil, &PatchError{Offset: off, Size: size, Reason: "not naturally aligned"}
	}
	if img.state != stateLive {
		return nil, ErrRetired
	}
	return unsafe.Add(img.ch.rw.addr, img.off+off), nil
}
