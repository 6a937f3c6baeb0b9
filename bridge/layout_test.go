//go:build linux && (amd64 || arm64)

package bridge

import (
	"testing"
	"unsafe"

	"github.com/bpfjit/bpfjit/execmem"
)

// TestContextLayout pins the offsets JIT code and the assembly rely on.
func TestContextLayout(t *testing.T) {
	var c Context
	tests := []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"CtxGateEntry", unsafe.Offsetof(c.gateEntry), CtxGateEntry},
		{"CtxArgs", unsafe.Offsetof(c.args), CtxArgs},
		{"CtxScratch", unsafe.Offsetof(c.scratch), CtxScratch},
		{"scratch words", unsafe.Sizeof(c.scratch) / 8, CtxScratchWords},
		{"execmem.RunnerInOffset", 0, execmem.RunnerInOffset},
		{"execmem.RunnerOutOffset", 8, execmem.RunnerOutOffset},
		{"execmem.ImageEntryOffset", 0, execmem.ImageEntryOffset},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: offset %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	// Everything native code writes is an integer word; arm64 ldp/stp need
	// the argument block 8-byte aligned and within ±512 of the base.
	if o := unsafe.Offsetof(c.args); o%8 != 0 || o+40 > 504 {
		t.Errorf("args at %d cannot be reached with ldp/stp", o)
	}
}
