package amd64

import (
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/isa"
)

// FuzzCompile feeds arbitrary bytecode to the compiler: it must return an error or code that
// decodes completely, never panic.
func FuzzCompile(f *testing.F) {
	g := progen.New(7, progen.Options{Helpers: []int32{1}})
	for i := 0; i < 8; i++ {
		f.Add(isa.EncodeAll(g.Program()), false)
	}
	f.Add([]byte{0x95, 0, 0, 0, 0, 0, 0, 0}, true)
	f.Fuzz(func(t *testing.T, code []byte, blind bool) {
		insns, err := isa.DecodeAll(code[:len(code)/8*8])
		if err != nil {
			t.Fatal(err)
		}
		img, err := emit.Compile(insns, emit.Options{Blind: blind, Budget: 100}, testBackend)
		if err != nil {
			return
		}
		decodeAll(t, img.Code)
	})
}
