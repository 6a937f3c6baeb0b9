// Package maps implements BPF maps for bpfjit: array, hash, LRU hash and program array,
// usable from Go and from BPF programs run by the JIT (raw-address helpers) or by the
// interpreter (interp helpers, an interp.MapResolver and an interp.TailCaller).
//
// # Go API
//
// New creates a map from a Spec (the run-time fields of isa.MapRef, kernel type
// numbering). Lookup, Update (UpdateAny, UpdateNoExist, UpdateExist), Delete, NextKey and
// All work on byte keys and values and fail with *Error values wrapping ErrKeySize,
// ErrValueSize, ErrFull, ErrOutOfRange, ErrKeyNotExist, ErrKeyExist, ErrBadFlags,
// ErrNotSupported, ErrReadOnly, ErrClosed or ErrNoMemory; Errno gives the kernel's errno.
// Program arrays hold Programs: SetProgram, Program, Delete.
//
// # Memory
//
// Values live in mmap'd slabs (see mem.go for why, not the Go heap): they never move and
// hold no Go pointers, so native code may keep raw addresses into them. Array values and
// program-array slots live as long as the map. A hash element that is deleted or replaced
// is unlinked at once (an update links a fresh element in place of the old one, so a
// reader sees one whole value or the other) and its memory is reused only after a grace
// period: once every run that could have seen it has returned. Runs are read-side
// sections of a GraceSource: execmem runners (every JIT run; NativeRunners), Readers
// (interpreter runs through RunInterp, or any Go code that enters a Reader), or both
// (the default). Options.Poison fills reclaimed memory with PoisonByte for tests.
//
// # Handles
//
// The value `lddw rX, map` loads is Map.Handle, the address of a Header (layout and
// exported offsets in handle.go). JIT code inlines array lookups and indirect tail calls
// from it without calling Go; helpers turn it back into the *Map with FromHandle.
//
// # Helpers
//
// MapLookupElem, MapUpdateElem and MapDeleteElem have the bridge's helper shape
// func(r1, r2, r3, r4, r5 uint64) uint64 with raw addresses; InterpHelpers are the same
// for the interpreter, reading through interp.Memory.
//
// # Program arrays and direct tail calls
//
// A slot holds a Program (its TailCallEntry is written to the native slot table) and
// keeps it retained until the slot changes. The JIT registers each direct tail-call site
// with TrackPoke(owner, key, site), owner being a key for its code (never the program:
// the array must not keep a dropped program reachable); every change of slot key calls site.Retarget(old, new)
// under the array's lock, and registration itself retargets the site to the current
// program, so a site emitted in its fall-through state is never stale. A closed program
// calls UntrackPokes(owner) on each array it pokes into; closing the array empties every
// slot (retargeting the remaining sites to fall through).
//
// # Contract for the JIT
//
//   - Binding: bpfjit.WithMapResolver(table.Resolve) fills every lddw map reference at
//     load (handles; value addresses for direct value access). Maps must outlive the
//     programs loaded with them.
//   - Helpers 1-3: RawHelpers. Bridge runs are execmem runners, which the default grace
//     source waits for; nothing else is needed for reclamation.
//   - Inline array lookup: for a map whose Header.Type is Array, Base, MaxEntries,
//     Stride and StrideLog2 never change while the map is open, so where the verifier
//     proves the map constant the JIT may embed them as immediates; otherwise it loads
//     them from the handle at the Header*Offset constants.
//   - Indirect tail call: bounds-check against Header.MaxEntries, load the u64 at
//     Base+index*8, fall through on 0, else jump to it (the target's tail-call entry).
//   - Direct tail call: the JIT program implements Program (and Retainer, so that a
//     program in a slot is not closed under it), registers each patchable site with
//     TrackPoke after its image is live, and calls UntrackPokes on every array it
//     pokes into when it is closed, before its image is retired. Retarget runs under
//     the array's lock and must leave the site in a state every running thread can
//     execute at every instant (the kernel's bypass/target scheme).
package maps
