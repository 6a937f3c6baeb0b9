// Package arm64asm is a tiny AArch64 encoder for the bridge's thunks and
// for hand-assembled test programs. It knows only the forms those need.
package arm64asm

import (
	"encoding/binary"
	"fmt"
)

// Reg is a 64-bit register number. 31 means SP or XZR depending on the
// instruction, as in the architecture.
type Reg uint32

// Special registers.
const (
	SP  Reg = 31
	XZR Reg = 31
	FP  Reg = 29
	LR  Reg = 30
)

// Cond is a condition code for B.cond.
type Cond uint32

// Condition codes.
const (
	EQ Cond = 0
	NE Cond = 1
	HS Cond = 2 // unsigned >=
	LO Cond = 3 // unsigned <
)

// Asm accumulates code; labels are resolved by Finish.
type Asm struct {
	b      []byte
	labels map[string]int
	fixups []fixup
	err    error
}

type fixKind int

const (
	fixImm26 fixKind = iota // B, BL
	fixImm19                // B.cond, CBZ, CBNZ
	fixADR
)

type fixup struct {
	at    int
	label string
	kind  fixKind
}

// New returns an empty assembler.
func New() *Asm { return &Asm{labels: map[string]int{}} }

// Len returns the current code size.
func (a *Asm) Len() int { return len(a.b) }

func (a *Asm) fail(format string, args ...any) {
	if a.err == nil {
		a.err = fmt.Errorf("arm64asm: "+format, args...)
	}
}

// Word emits one raw instruction.
func (a *Asm) Word(w uint32) { a.b = binary.LittleEndian.AppendUint32(a.b, w) }

// Label defines name at the current offset.
func (a *Asm) Label(name string) {
	if _, dup := a.labels[name]; dup {
		a.fail("label %q defined twice", name)
	}
	a.labels[name] = len(a.b)
}

// Offset returns the offset of a defined label.
func (a *Asm) Offset(name string) (int, bool) {
	o, ok := a.labels[name]
	return o, ok
}

// Align pads with BRK #0 to a multiple of n bytes.
func (a *Asm) Align(n int) {
	for len(a.b)%n != 0 {
		a.Brk()
	}
}

// Finish resolves label references and returns the code.
func (a *Asm) Finish() ([]byte, error) {
	for _, f := range a.fixups {
		t, ok := a.labels[f.label]
		if !ok {
			a.fail("undefined label %q", f.label)
			break
		}
		d := int32(t - f.at)
		w := binary.LittleEndian.Uint32(a.b[f.at:])
		switch f.kind {
		case fixImm26:
			if d/4 >= 1<<25 || d/4 < -(1<<25) {
				a.fail("branch to %q out of range", f.label)
			}
			w |= uint32(d/4) & 0x3ffffff
		case fixImm19:
			if d/4 >= 1<<18 || d/4 < -(1<<18) {
				a.fail("branch to %q out of range", f.label)
			}
			w |= (uint32(d/4) & 0x7ffff) << 5
		case fixADR:
			w |= (uint32(d)&3)<<29 | (uint32(d)>>2&0x7ffff)<<5
		}
		binary.LittleEndian.PutUint32(a.b[f.at:], w)
	}
	return a.b, a.err
}

func (a *Asm) ref(w uint32, label string, k fixKind) {
	a.fixups = append(a.fixups, fixup{len(a.b), label, k})
	a.Word(w)
}

// B: b label.
func (a *Asm) B(label string) { a.ref(0x14000000, label, fixImm26) }

// BL: bl label.
func (a *Asm) BL(label string) { a.ref(0x94000000, label, fixImm26) }

// Bcond: b.<c> label.
func (a *Asm) Bcond(c Cond, label string) { a.ref(0x54000000|uint32(c), label, fixImm19) }

// Cbz: cbz xt, label.
func (a *Asm) Cbz(t Reg, label string) { a.ref(0xb4000000|uint32(t), label, fixImm19) }

// Cbnz: cbnz xt, label.
func (a *Asm) Cbnz(t Reg, label string) { a.ref(0xb5000000|uint32(t), label, fixImm19) }

// Adr: adr xd, label.
func (a *Asm) Adr(d Reg, label string) { a.ref(0x10000000|uint32(d), label, fixADR) }

// Br: br xn.
func (a *Asm) Br(n Reg) { a.Word(0xd61f0000 | uint32(n)<<5) }

// Blr: blr xn.
func (a *Asm) Blr(n Reg) { a.Word(0xd63f0000 | uint32(n)<<5) }

// Ret: ret.
func (a *Asm) Ret() { a.Word(0xd65f03c0) }

// Brk: brk #0.
func (a *Asm) Brk() { a.Word(0xd4200000) }

// Mov: mov xd, xm (register form; 31 is XZR, not SP).
func (a *Asm) Mov(d, m Reg) { a.Word(0xaa0003e0 | uint32(m)<<16 | uint32(d)) }

// MovSP: mov xd|sp, xn|sp (add #0 form; 31 is SP).
func (a *Asm) MovSP(d, n Reg) { a.AddImm(d, n, 0) }

func (a *Asm) imm12(op uint32, d, n Reg, imm uint32) {
	if imm > 4095 {
		a.fail("immediate %d does not fit in 12 bits", imm)
	}
	a.Word(op | imm<<10 | uint32(n)<<5 | uint32(d))
}

// AddImm: add xd|sp, xn|sp, #imm.
func (a *Asm) AddImm(d, n Reg, imm uint32) { a.imm12(0x91000000, d, n, imm) }

// SubImm: sub xd|sp, xn|sp, #imm.
func (a *Asm) SubImm(d, n Reg, imm uint32) { a.imm12(0xd1000000, d, n, imm) }

// SubsImm: subs xd, xn|sp, #imm.
func (a *Asm) SubsImm(d, n Reg, imm uint32) { a.imm12(0xf1000000, d, n, imm) }

// CmpImm: cmp xn|sp, #imm.
func (a *Asm) CmpImm(n Reg, imm uint32) { a.SubsImm(XZR, n, imm) }

// CmpReg: cmp xn, xm.
func (a *Asm) CmpReg(n, m Reg) { a.Word(0xeb000000 | uint32(m)<<16 | uint32(n)<<5 | 31) }

// AddReg: add xd, xn, xm.
func (a *Asm) AddReg(d, n, m Reg) { a.Word(0x8b000000 | uint32(m)<<16 | uint32(n)<<5 | uint32(d)) }

// LsrImm: lsr xd, xn, #sh.
func (a *Asm) LsrImm(d, n Reg, sh uint32) {
	a.Word(0xd340fc00 | (sh&63)<<16 | uint32(n)<<5 | uint32(d))
}

// MovW: mov wd, wm (zero-extends into xd).
func (a *Asm) MovW(d, m Reg) { a.Word(0x2a0003e0 | uint32(m)<<16 | uint32(d)) }

// Movz: movz xd, #imm16.
func (a *Asm) Movz(d Reg, imm uint16) { a.Word(0xd2800000 | uint32(imm)<<5 | uint32(d)) }

// Movn: movn xd, #imm16 (xd = ^imm).
func (a *Asm) Movn(d Reg, imm uint16) { a.Word(0x92800000 | uint32(imm)<<5 | uint32(d)) }

// Ldr: ldr xt, [xn|sp, #off]. Non-negative multiples of 8 use the scaled
// form, small other offsets the unscaled one (ldur).
func (a *Asm) Ldr(t, n Reg, off int32) { a.ldst(0xf9400000, 0xf8400000, t, n, off) }

// Str: str xt, [xn|sp, #off] (stur for small unaligned or negative offsets).
func (a *Asm) Str(t, n Reg, off int32) { a.ldst(0xf9000000, 0xf8000000, t, n, off) }

func (a *Asm) ldst(scaled, unscaled uint32, t, n Reg, off int32) {
	switch {
	case off >= 0 && off%8 == 0 && off < 8*4096:
		a.Word(scaled | uint32(off/8)<<10 | uint32(n)<<5 | uint32(t))
	case off >= -256 && off < 256:
		a.Word(unscaled | (uint32(off)&0x1ff)<<12 | uint32(n)<<5 | uint32(t))
	default:
		a.fail("load/store offset %d out of range", off)
	}
}

// LdrIdx8: ldr xt, [xn, xm, lsl #3].
func (a *Asm) LdrIdx8(t, n, m Reg) { a.Word(0xf8607800 | uint32(m)<<16 | uint32(n)<<5 | uint32(t)) }

func (a *Asm) pair(op uint32, t1, t2, n Reg, off int32) {
	if off%8 != 0 || off < -512 || off > 504 {
		a.fail("pair offset %d out of range", off)
	}
	a.Word(op | (uint32(off/8)&0x7f)<<15 | uint32(t2)<<10 | uint32(n)<<5 | uint32(t1))
}

// Stp: stp xt1, xt2, [xn|sp, #off].
func (a *Asm) Stp(t1, t2, n Reg, off int32) { a.pair(0xa9000000, t1, t2, n, off) }

// StpPre: stp xt1, xt2, [xn|sp, #off]!.
func (a *Asm) StpPre(t1, t2, n Reg, off int32) { a.pair(0xa9800000, t1, t2, n, off) }

// Ldp: ldp xt1, xt2, [xn|sp, #off].
func (a *Asm) Ldp(t1, t2, n Reg, off int32) { a.pair(0xa9400000, t1, t2, n, off) }

// LdpPost: ldp xt1, xt2, [xn|sp], #off.
func (a *Asm) LdpPost(t1, t2, n Reg, off int32) { a.pair(0xa8c00000, t1, t2, n, off) }
