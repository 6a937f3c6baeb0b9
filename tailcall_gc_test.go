package bpfjit_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/maps"
)

// loadDropped loads src against tab's program array without keeping any reference to the
// program but the slot's, when put in one (put: the slot; -1: none). It returns nothing so
// that the caller's frame holds no pointer to the program.
func loadDropped(t *testing.T, tab *maps.Table, src string, put int) {
	t.Helper()
	p := loadTC(t, tab, src)
	if n := bpfjit.DirectTailCallSites(p); n != 1 {
		t.Fatalf("%d direct sites, want 1", n)
	}
	if put >= 0 {
		if err := tab.Map(0).SetProgram(uint32(put), p); err != nil {
			t.Fatal(err)
		}
	}
}

// trackedAfterGC collects garbage (and lets finalizers run) until slot key of arr has
// want tracked sites or a few seconds have passed, and returns the last count.
func trackedAfterGC(arr *maps.Map, key uint32, want int) int {
	n := arr.TrackedPokes(key)
	for deadline := time.Now().Add(5 * time.Second); n != want && time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(time.Millisecond)
		n = arr.TrackedPokes(key)
	}
	return n
}

// A program with direct tail-call sites that is dropped without Close is not kept alive
// by the program array it pokes into: it is finalized and its sites are untracked. One
// that sits in a slot stays alive (and tracked) until the slot lets it go.
func TestDroppedProgramWithDirectSitesIsCollectedAndUntracked(t *testing.T) {
	requireJIT(t)
	tab, err := maps.NewTable(tcRefs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	arr := tab.Map(0)
	const self = "mov %r3, 0\nlddw %r2, map_idx 0\ncall 12\nmov %r0, 0\nexit" // tail-calls slot 0

	for range 3 {
		loadDropped(t, tab, self, -1)
	}
	if n := trackedAfterGC(arr, 0, 0); n != 0 {
		t.Fatalf("%d sites still tracked after the programs were dropped, want 0", n)
	}

	loadDropped(t, tab, self, 0) // the slot holds it
	loadDropped(t, tab, self, -1)
	if n := trackedAfterGC(arr, 0, 1); n != 1 {
		t.Fatalf("%d sites tracked, want only the slot's program's", n)
	}
	// Stays 1: the slot keeps its program (and so its site) alive.
	for range 3 {
		runtime.GC()
	}
	if n := arr.TrackedPokes(0); n != 1 {
		t.Fatalf("a program held by a slot lost its site: %d tracked", n)
	}
	if err := arr.Delete([]byte{0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if n := trackedAfterGC(arr, 0, 0); n != 0 {
		t.Fatalf("%d sites tracked after the slot let its program go, want 0", n)
	}
}
