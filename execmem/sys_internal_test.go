//go:build linux && (amd64 || arm64)

package execmem

import "testing"

// TestMembarrier: retirement needs the process-wide fence and patching the
// core-serialising form; both must be usable on the machines we run on.
func TestMembarrier(t *testing.T) {
	if err := processFence(); err != nil {
		t.Fatalf("process fence: %v", err)
	}
	if err := processSyncCore(); err != nil {
		t.Fatalf("process sync-core: %v", err)
	}
	if !mbSyncCore {
		t.Log("MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE unavailable: patches fall back to a plain fence")
	}
	t.Logf("membarrier: fence %v, sync-core %v", mbFence, mbSyncCore)
}

func TestFillTraps(t *testing.T) {
	b := make([]byte, 10)
	fillTraps(b)
	w := uint32(trapWord)
	for i, c := range b {
		if c != byte(w>>(8*(i&3))) {
			t.Fatalf("byte %d = %#x, want the trap word's byte %d", i, c, i&3)
		}
	}
}
