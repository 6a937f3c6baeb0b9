//go:build linux && (amd64 || arm64)

package execmem

import (
	"sync/atomic"
	"unsafe"
)

// Patch32 atomically replaces the naturally aligned 4-byte word at byte
// offset off of a patchable image (one arm64 instruction) and makes every
// thread see it; see PatchSync for the guarantee.
func (img *Image) Patch32(off int, v uint32) error {
	p, err := img.patchSite(off, 4)
	if err != nil {
		return err
	}
	atomic.StoreUint32((*uint32)(p), v)
	return img.publishPatch(off, 4)
}

// Patch64 atomically replaces the naturally aligned 8-byte word at byte
// offset off of a patchable image (on amd64 the word holding a patch site,
// e.g. a 5-byte call padded into one aligned word) and makes every thread
// see it; see PatchSync for the guarantee.
func (img *Image) Patch64(off int, v uint64) error {
	p, err := img.patchSite(off, 8)
	if err != nil {
		return err
	}
	atomic.StoreUint64((*uint64)(p), v)
	return img.publishPatch(off, 8)
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
	if img.Retired() {
		return nil, ErrRetired
	}
	return unsafe.Add(img.ch.rw.addr, img.off+off), nil
}

func (img *Image) publishPatch(off, size int) error {
	ch := img.ch
	syncInstructionCache(uintptr(ch.rw.addr)+uintptr(img.off+off), uintptr(ch.rx.addr)+uintptr(img.off+off), size)
	if err := processSyncCore(); err != nil {
		return err
	}
	a := img.arena
	if a.opts.PatchSync == SyncEmulator {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.flipLocked(ch, img.off+off, size)
	}
	return nil
}
