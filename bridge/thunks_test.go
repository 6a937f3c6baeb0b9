//go:build linux && (amd64 || arm64)

package bridge

import (
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/x86/x86asm"
)

// TestThunksDecode disassembles every emitted thunk instruction. On arm64
// it also checks that no instruction names x18 (platform register) or x28
// (Go's g, read by signal handlers at any instruction).
func TestThunksDecode(t *testing.T) {
	code, offs, err := emitThunks()
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]int{"entry": offs.entry, "gateEntry": offs.gateEntry, "resume": offs.resume, "exitEntry": offs.exitEntry} {
		if o < 0 || o >= len(code) || o%16 != 0 {
			t.Errorf("thunk %s at offset %d: outside the code or not 16-byte aligned", name, o)
		}
	}
	var listing []string
	for pc := 0; pc < len(code); {
		switch goarch {
		case "amd64":
			if code[pc] == 0xcc { // alignment padding
				pc++
				continue
			}
			inst, err := x86asm.Decode(code[pc:], 64)
			if err != nil {
				t.Fatalf("offset %d: %x does not decode: %v", pc, code[pc:min(pc+8, len(code))], err)
			}
			listing = append(listing, x86asm.IntelSyntax(inst, uint64(pc), nil))
			pc += inst.Len
		case "arm64":
			w := binary.LittleEndian.Uint32(code[pc:])
			pc += 4
			if w == 0xd4200000 { // brk #0 padding
				continue
			}
			inst, err := arm64asm.Decode(code[pc-4:])
			if err != nil {
				t.Fatalf("offset %d: %08x does not decode: %v", pc-4, w, err)
			}
			text := arm64asm.GNUSyntax(inst)
			listing = append(listing, text)
			for _, a := range inst.Args {
				if a == nil {
					continue
				}
				switch s := a.String(); {
				case strings.Contains(s, "X18"), strings.Contains(s, "W18"), strings.Contains(s, "X28"), strings.Contains(s, "W28"):
					t.Errorf("offset %d: %s touches x18 or x28", pc-4, text)
				}
			}
		}
	}
	if len(listing) < 20 {
		t.Fatalf("only %d instructions decoded", len(listing))
	}
}
