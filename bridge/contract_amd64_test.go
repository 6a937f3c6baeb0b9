//go:build linux

package bridge_test

import (
	"testing"

	"github.com/bpfjit/bpfjit/bridge"
)

// TestDocumentedCallSequence runs the helper-call bytes quoted in doc.go,
// verbatim, so the documentation cannot drift from the implementation.
func TestDocumentedCallSequence(t *testing.T) {
	if bridge.CtxGateEntry != 0x28 {
		t.Fatalf("doc.go quotes CtxGateEntry = 0x28; it is %#x", bridge.CtxGateEntry)
	}
	code := []byte{
		0x41, 0xbb, 0x03, 0x00, 0x00, 0x00, // mov r11d, 3
		0x41, 0xff, 0x54, 0x24, 0x28, // call qword ptr [r12+0x28]
		0xc3, // ret
	}
	h := helpers(t, nil, nil, nil, func(r1, r2, r3, r4, r5 uint64) uint64 { return r1 - r5 })
	got, err := bridge.Run(load(t, code), h, &bridge.Args{50, 0, 0, 0, 8})
	if err != nil || got != 42 {
		t.Fatalf("Run = %d, %v; want 42", got, err)
	}
}
