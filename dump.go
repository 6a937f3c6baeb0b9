package bpfjit

import (
	"fmt"
	"io"
	"runtime"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
	"golang.org/x/arch/x86/x86asm"
)

// Dump writes every BPF instruction followed by the native instructions it became, with
// each function's prologue and epilogue, decoded with x86asm (amd64 code only).
func (p *Program) Dump(w io.Writer) error {
	if runtime.GOARCH != "amd64" {
		return fmt.Errorf("bpfjit: Dump decodes amd64 code only, not %s", runtime.GOARCH)
	}
	code := p.image.Code
	ranges := p.NativeRanges()
	native := func(r Range) error {
		for off := r.Start; off < r.End; {
			in, err := x86asm.Decode(code[off:r.End], 64)
			if err != nil {
				_, err := fmt.Fprintf(w, "\t%6x  %x\t(bad: %v)\n", off, code[off:r.End], err)
				return err
			}
			text := x86asm.IntelSyntax(in, uint64(off), nil)
			if _, err := fmt.Fprintf(w, "\t%6x  %-22x %s\n", off, code[off:off+in.Len], text); err != nil {
				return err
			}
			off += in.Len
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
