package bpfjit

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/x86/x86asm"
)

// Dump writes every BPF instruction followed by the native instructions it became, with
// each function's prologue and epilogue, decoded with x86asm on amd64 and arm64asm on
// arm64 (see Listing.Dump).
func (p *Program) Dump(w io.Writer) error { return p.lst.Dump(w) }

// Dump writes every BPF instruction followed by the native instructions it became, with
// each function's prologue and epilogue (the last one also holds the budget stub, if
// any). Native code is decoded for the listing's architecture whatever the host:
// x86asm (Intel syntax) for amd64, arm64asm (GNU syntax) for arm64, plus the LSE
// atomics and "ic ivau" that arm64asm does not know. The 8-byte address of a map
// reference that arm64 code loads from a literal is shown as ".quad". Bytes that still
// do not decode are shown with "(bad: reason)" and do not stop the listing.
func (l *Listing) Dump(w io.Writer) error {
	d := &dumper{w: w, l: l, relocs: make(map[int]int, len(l.image.Relocs))}
	for _, r := range l.image.Relocs {
		d.relocs[r.Off] = r.Slot
	}
	insns := l.insns
	ranges := l.NativeRanges()
	funcs := l.Functions()
	for k, f := range funcs {
		last := len(insns)
		if k+1 < len(funcs) {
			last = funcs[k+1].Slot
		}
		d.printf("function at slot %d:\n  prologue\n", f.Slot)
		d.native(f.Prologue)
		for i := f.Slot; i < last; i++ {
			var next *isa.Instruction
			if i+1 < len(insns) {
				next = &insns[i+1]
			}
			d.printf("%4d: %s\n", i, asm.Format(insns[i], next))
			d.native(ranges[i])
			if asm.Slots(insns[i], next) == 2 {
				i++
			}
		}
		d.printf("  epilogue\n")
		d.native(f.Epilogue)
	}
	return d.err
}

// dumper writes a listing, keeping the first write error.
type dumper struct {
	w      io.Writer
	l      *Listing
	relocs map[int]int // offset of a map-reference hole -> program slot
	err    error
}

func (d *dumper) printf(format string, args ...any) {
	if d.err == nil {
		_, d.err = fmt.Fprintf(d.w, format, args...)
	}
}

// native writes one line per native instruction of r.
func (d *dumper) native(r Range) {
	code := d.l.image.Code
	for off := r.Start; off < r.End && d.err == nil; {
		if slot, ok := d.relocs[off]; ok && off+8 <= r.End {
			d.printf("\t%6x  %-22x .quad %#x\t; map reference of slot %d\n", off, code[off:off+8],
				binary.LittleEndian.Uint64(code[off:]), slot)
			off += 8
			continue
		}
		n, text, err := decodeOne(d.l.arch, code[off:r.End], off)
		switch {
		case err == nil:
			for k := off + 1; k < off+n; k++ { // amd64: the address is the movabs immediate
				if slot, ok := d.relocs[k]; ok {
					text += fmt.Sprintf("\t; map reference of slot %d", slot)
				}
			}
			d.printf("\t%6x  %-22s %s\n", off, d.raw(code[off:off+n]), text)
		case n > 0: // fixed-width: skip the one word
			d.printf("\t%6x  %-22s (bad: %v)\n", off, d.raw(code[off:off+n]), err)
		default: // variable-width: the rest of the range cannot be delimited
			d.printf("\t%6x  %x\t(bad: %v)\n", off, code[off:r.End], err)
			n = r.End - off
		}
		off += n
	}
}

// raw renders an instruction's bytes: in memory order on amd64, as the 32-bit word on
// arm64 (how the architecture manual and objdump write it).
func (d *dumper) raw(b []byte) string {
	if d.l.arch == ArchARM64 && len(b) == 4 {
		return fmt.Sprintf("%08x", binary.LittleEndian.Uint32(b))
	}
	return fmt.Sprintf("%x", b)
}

// decodeOne decodes the instruction at the start of b (at offset off in the image) and
// returns its length and text. On failure the length is the bytes to skip, 0 when the
// architecture cannot tell.
func decodeOne(arch string, b []byte, off int) (int, string, error) {
	switch arch {
	case ArchAMD64:
		in, err := x86asm.Decode(b, 64)
		if err != nil {
			return 0, "", err
		}
		return in.Len, x86asm.IntelSyntax(in, uint64(off), nil), nil
	case ArchARM64:
		if len(b) < 4 {
			return 0, "", fmt.Errorf("truncated instruction (%d bytes)", len(b))
		}
		in, err := arm64asm.Decode(b)
		if err != nil {
			if text, ok := arm64Extra(binary.LittleEndian.Uint32(b)); ok {
				return 4, text, nil
			}
			return 4, "", err
		}
		return 4, arm64Text(arm64asm.GNUSyntax(in), off), nil
	}
	return 0, "", &UnknownArchError{Arch: arch}
}

// arm64Text tidies arm64asm's GNU text: no trailing blank ("nop "), and the absolute
// target after pc-relative operands (".+0x10"), which x86asm shows by itself.
func arm64Text(text string, off int) string {
	text = strings.TrimRight(text, " ")
	i := strings.Index(text, ".+0x")
	if i < 0 {
		i = strings.Index(text, ".-0x")
	}
	if i < 0 {
		return text
	}
	end := i + 4
	for end < len(text) && strings.ContainsRune("0123456789abcdef", rune(text[end])) {
		end++
	}
	rel, err := strconv.ParseInt(text[i+1:end], 0, 64)
	if err != nil {
		return text
	}
	return fmt.Sprintf("%s\t// %#x", text, int64(off)+rel)
}

// arm64Extra renders the A64 instructions the JIT emits that arm64asm cannot decode: the
// Armv8.1 LSE atomics (LDADD, LDCLR, LDEOR, LDSET and friends, SWP, CAS, in all orderings
// and sizes) and "ic ivau" (the SYS form that invalidates an instruction cache line).
func arm64Extra(w uint32) (string, bool) {
	rt, rn, rs := w&31, w>>5&31, w>>16&31
	size := w >> 30
	order := func(acq, rel bool) string {
		switch {
		case acq && rel:
			return "al"
		case acq:
			return "a"
		case rel:
			return "l"
		}
		return ""
	}
	sizeSuffix := [4]string{"b", "h", "", ""}[size]
	reg := func(r uint32) string {
		if size == 3 {
			if r == 31 {
				return "xzr"
			}
			return fmt.Sprintf("x%d", r)
		}
		if r == 31 {
			return "wzr"
		}
		return fmt.Sprintf("w%d", r)
	}
	base := "sp"
	if rn != 31 {
		base = fmt.Sprintf("x%d", rn)
	}
	switch {
	case w&0x3f200c00 == 0x38200000: // atomic memory operations: size 111000 A R 1 Rs o3 opc 00 Rn Rt
		acq, rel := w>>23&1 == 1, w>>22&1 == 1
		o3, opc := w>>15&1, w>>12&7
		var op string
		if o3 == 0 {
			op = [8]string{"add", "clr", "eor", "set", "smax", "smin", "umax", "umin"}[opc]
		} else if opc == 0 {
			op = "swp"
		} else {
			return "", false // RCpc loads and others the JIT does not emit
		}
		if op != "swp" && !acq && rt == 31 { // the ST<op> alias: no result wanted
			return fmt.Sprintf("st%s%s%s %s, [%s]", op, order(false, rel), sizeSuffix, reg(rs), base), true
		}
		prefix := "ld"
		if op == "swp" {
			prefix = ""
		}
		return fmt.Sprintf("%s%s%s%s %s, %s, [%s]", prefix, op, order(acq, rel), sizeSuffix, reg(rs), reg(rt), base), true
	case w&0x3fa07c00 == 0x08a07c00: // compare and swap: size 0010001 L 1 Rs o0 11111 Rn Rt
		return fmt.Sprintf("cas%s%s %s, %s, [%s]", order(w>>22&1 == 1, w>>15&1 == 1), sizeSuffix, reg(rs), reg(rt), base), true
	case w&^31 == 0xd50b7520: // SYS #3, C7, C5, #1, Xt
		size = 3
		return "ic ivau, " + reg(rt), true
	}
	return "", false
}
