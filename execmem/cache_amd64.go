package execmem

// amd64 keeps instruction fetch coherent with data stores (including stores
// through another virtual alias of the same physical page), so new or
// patched code needs no cache maintenance; cross-thread serialisation for
// patches comes from membarrier SYNC_CORE.
func syncInstructionCache(rw, rx uintptr, n int) {}

func cleanDataCache(addr uintptr, n int) {}

func invalidateInstructionCache(addr uintptr, n int) {}

// trapWord is int3 repeated: executing any byte of filled memory traps.
const trapWord = 0xcccccccc
