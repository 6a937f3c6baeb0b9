package bpfjit

import (
	"os"

	"github.com/bpfjit/bpfjit/execmem"
)

// The arm64 tests run under qemu-user, which does not see stores made through the RW
// alias of patchable code (ARCHITECTURE-NOTES §5): patch with SyncEmulator there, which
// flips the page's protection so qemu drops its translations. On real arm64 hardware set
// BPFJIT_PATCH_SYNC=hardware (SyncEmulator faults a thread translating code on the page
// during the flip).
func init() {
	if os.Getenv("BPFJIT_PATCH_SYNC") != "hardware" {
		arena = execmem.New(execmem.Options{PatchSync: execmem.SyncEmulator})
	}
}
