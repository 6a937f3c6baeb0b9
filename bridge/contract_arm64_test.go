//go:build linux

package bridge_test

import (
	"encoding/binary"
	"testing"

	"github.com/bpfjit/bpfjit/bridge"
)

// TestDocumentedCallSequence runs the helper-call words quoted in doc.go,
// verbatim, so the documentation cannot drift from the implementation.
func TestDocumentedCallSequence(t *testing.T) {
	if bridge.CtxGateEntry != 40 {
		t.Fatalf("doc.go's ldr encoding assumes CtxGateEntry = 40; it is %d", bridge.CtxGateEntry)
	}
	words := []uint32{
		0xa9bf7bfd,        // stp x29, x30, [sp, #-16]!
		0x52800009 | 3<<5, // mov w9, #3
		0xf94016f0,        // ldr x16, [x23, #40]
		0xd63f0200,        // blr x16
		0xa8c17bfd,        // ldp x29, x30, [sp], #16
		0xd65f03c0,        // ret
	}
	code := make([]byte, 4*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint32(code[4*i:], w)
	}
	h := helpers(t, nil, nil, nil, func(r1, r2, r3, r4, r5 uint64) uint64 { return r1 - r5 })
	got, err := bridge.Run(load(t, code), h, &bridge.Args{50, 0, 0, 0, 8})
	if err != nil || got != 42 {
		t.Fatalf("Run = %d, %v; want 42", got, err)
	}
}
