package bpfjit

import (
	"fmt"
	"io"
	"runtime"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/x86/x86asm"
)

// decodeOne decodes the instruction at the start of b (at offset off in the image) and
// returns its length and text.
func decodeOne(b []byte, off int) (int, string, error) {
	switch runtime.GOARCH {
	case "amd64":
		in, err := x86asm.Decode(b, 64)
		if err != nil {
			return 0, "", err
		}
		return in.Len, x86asm.IntelSyntax(in, uint64(off), nil), nil
	case "arm64":
		in, err := arm64asm.Decode(b)
		if err != nil {
			return 0, "", err
		}
		return 4, arm64asm.GNUSyntax(in), nil
	}
	return 0, "", fmt.Errorf("bpfjit: no disassembler for %s", runtime.GOARCH)
}

// Dump writes every BPF instruction followed by the native instructions it became, with
// each function's prologue and epilogue (decoded with x86asm on amd64, arm64asm on arm64).
func (p *Program) Dump(w io.Writer) error {
	code := p.image.Code
	ranges := p.NativeRanges()
	native := func(r Range) error {
		for off := r.Start; off < r.End; {
			n, text, err := decodeOne(code[off:r.End], off)
			if err != nil {
				_, err := fmt.Fprintf(w, "\t%6x  %x\t(bad: %v)\n", off, code[off:r.End], err)
				return err
			}
			if _, err := fmt.Fprintf(w, "\t%6x  %-22x %s\n", off, code[off:off+n], text); err != nil {
				return err
			}
			off += n
		}
		return nil
	}
	funcs := p.Functions()
	for k, f := range funcs {
		last := len(p.insns)
		if k+1 < len(funcs) {
			last = funcs[k+1].Slot
		}
		if _, err := fmt.Fprintf(w, "function at slot %d:\n  prologue\n", f.Slot); err != nil {
			return err
		}
		if err := native(f.Prologue); err != nil {
			return err
		}
		for i := f.Slot; i < last; i++ {
			var next *isa.Instruction
			if i+1 < len(p.insns) {
				next = &p.insns[i+1]
			}
			if _, err := fmt.Fprintf(w, "%4d: %s\n", i, asm.Format(p.insns[i], next)); err != nil {
				return err
			}
			if err := native(ranges[i]); err != nil {
				return err
			}
			if n := asm.Slots(p.insns[i], next); n == 2 {
				i++
			}
		}
		if _, err := fmt.Fprintf(w, "  epilogue\n"); err != nil {
			return err
		}
		if err := native(f.Epilogue); err != nil {
			return err
		}
	}
	return nil
}
