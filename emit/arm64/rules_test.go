package arm64

import (
	"encoding/binary"
	"regexp"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
)

var (
	forbiddenReg = regexp.MustCompile(`\b[wx](18|28)\b`) // platform register, Go's g
	contextReg   = regexp.MustCompile(`\b[wx]23\b`)      // bridge context: read only
)

// checkRegisterRules enforces ARCHITECTURE-NOTES §3 and the bridge contract on
// compiled code: x18 and x28 never appear, x23 is only the base of the gate-address
// load, and every function starts with the patchable entry.
func checkRegisterRules(t *testing.T, name string, img *emit.Image) {
	t.Helper()
	data := map[int]bool{}
	for _, r := range img.Relocs {
		data[r.Off], data[r.Off+4] = true, true
	}
	for i, text := range wordsText(img.Code, 0, len(img.Code)) {
		off := 4 * i
		if data[off] {
			continue
		}
		w := binary.LittleEndian.Uint32(img.Code[off:])
		if isLSEWord(w) {
			for _, f := range []uint32{w & 31, w >> 5 & 31, w >> 16 & 31} {
				if f == 18 || f == 28 || f == 23 {
					t.Fatalf("%s: LSE word %#08x at %#x uses register %d", name, w, off, f)
				}
			}
			continue
		}
		if forbiddenReg.MatchString(text) {
			t.Fatalf("%s: %q at %#x touches x18 or x28", name, text, off)
		}
		if contextReg.MatchString(text) && text != "ldr x16, [x23,#40]" {
			t.Fatalf("%s: %q at %#x uses the context register other than to load the gate", name, text, off)
		}
	}
	for _, f := range img.Funcs {
		if got := wordsText(img.Code, f.Entry, f.Entry+8); got[0] != "mov x9, x30" || got[1] != "nop" {
			t.Errorf("%s: function at %#x starts with %q, want the patchable entry", name, f.Entry, got)
		}
	}
}

func TestRegisterRulesHoldForAllCode(t *testing.T) {
	var progs [][]isa.Instruction
	if dir, ok := conformance.Dir(); ok {
		tests, err := conformance.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range tests {
			insns, err := asm.Assemble(tc.Asm)
			if err != nil {
				t.Fatal(err)
			}
			progs = append(progs, insns)
		}
	}
	g := progen.New(7, progen.Options{Helpers: []int32{1, 2}})
	n := 600
	if testing.Short() {
		n = 100
	}
	for k := 0; k < n; k++ {
		progs = append(progs, g.Program())
	}
	for k, insns := range progs {
		for _, b := range backends {
			img, err := emit.Compile(insns, emit.Options{Blind: k%2 == 1}, b.be)
			if err != nil {
				t.Fatalf("program %d: %v", k, err)
			}
			checkRegisterRules(t, b.name, img)
			checkImage(t, b.name, img)
		}
	}
}
