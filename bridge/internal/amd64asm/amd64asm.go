// Package amd64asm is a tiny x86-64 encoder for the bridge's thunks and for
// hand-assembled test programs. It knows only the forms those need; every
// memory operand is [base+disp32], which keeps the encoder obvious.
package amd64asm

import (
	"encoding/binary"
	"fmt"
)

// Reg is a 64-bit general-purpose register.
type Reg uint8

// Registers in encoding order.
const (
	RAX Reg = iota
	RCX
	RDX
	RBX
	RSP
	RBP
	RSI
	RDI
	R8
	R9
	R10
	R11
	R12
	R13
	R14
	R15
)

// Cond is a condition code for Jcc.
type Cond uint8

// Condition codes.
const (
	CondE  Cond = 0x4
	CondNE Cond = 0x5
	CondAE Cond = 0x3 // unsigned >=
)

// Asm accumulates code; labels are resolved by Finish.
type Asm struct {
	b      []byte
	labels map[string]int
	fixups []fixup
	err    error
}

type fixup struct {
	at    int // offset of the rel32 field
	label string
}

// New returns an empty assembler.
func New() *Asm { return &Asm{labels: map[string]int{}} }

// Len returns the current code size.
func (a *Asm) Len() int { return len(a.b) }

func (a *Asm) emit(bs ...byte) { a.b = append(a.b, bs...) }

func (a *Asm) imm32(v int32) { a.b = binary.LittleEndian.AppendUint32(a.b, uint32(v)) }

func (a *Asm) fail(format string, args ...any) {
	if a.err == nil {
		a.err = fmt.Errorf("amd64asm: "+format, args...)
	}
}

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

// Align pads with int3 up to a multiple of n bytes.
func (a *Asm) Align(n int) {
	for len(a.b)%n != 0 {
		a.emit(0xcc)
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
		binary.LittleEndian.PutUint32(a.b[f.at:], uint32(int32(t-(f.at+4))))
	}
	return a.b, a.err
}

func (a *Asm) rel32(label string) {
	a.fixups = append(a.fixups, fixup{len(a.b), label})
	a.imm32(0)
}

// rex returns a REX.W prefix for reg field r and rm/base field b.
func rex(r, b Reg) byte { return 0x48 | byte(r>>3)<<2 | byte(b>>3) }

// mem emits ModRM (mod=10) [+SIB] + disp32 for [base+disp].
func (a *Asm) mem(reg byte, base Reg, disp int32) {
	a.emit(0x80 | (reg&7)<<3 | byte(base&7))
	if base&7 == 4 { // rsp and r12 bases need a SIB byte
		a.emit(0x24)
	}
	a.imm32(disp)
}

func (a *Asm) rr(op byte, dst, src Reg) { a.emit(rex(src, dst), op, 0xc0|byte(src&7)<<3|byte(dst&7)) }

// MovRR: mov dst, src.
func (a *Asm) MovRR(dst, src Reg) { a.rr(0x89, dst, src) }

// AddRR: add dst, src.
func (a *Asm) AddRR(dst, src Reg) { a.rr(0x01, dst, src) }

// XorRR: xor dst, src.
func (a *Asm) XorRR(dst, src Reg) { a.rr(0x31, dst, src) }

// CmpRR: cmp x, y (flags from x - y).
func (a *Asm) CmpRR(x, y Reg) { a.rr(0x39, x, y) }

// TestRR: test x, y.
func (a *Asm) TestRR(x, y Reg) { a.rr(0x85, x, y) }

// Load: mov dst, [base+disp].
func (a *Asm) Load(dst, base Reg, disp int32) {
	a.emit(rex(dst, base), 0x8b)
	a.mem(byte(dst), base, disp)
}

// Store: mov [base+disp], src.
func (a *Asm) Store(base Reg, disp int32, src Reg) {
	a.emit(rex(src, base), 0x89)
	a.mem(byte(src), base, disp)
}

// StoreImm: mov qword [base+disp], imm32 (sign-extended).
func (a *Asm) StoreImm(base Reg, disp int32, imm int32) {
	a.emit(rex(0, base), 0xc7)
	a.mem(0, base, disp)
	a.imm32(imm)
}

// CmpRM: cmp r, [base+disp].
func (a *Asm) CmpRM(r, base Reg, disp int32) {
	a.emit(rex(r, base), 0x3b)
	a.mem(byte(r), base, disp)
}

// CmpMI: cmp qword [base+disp], imm32.
func (a *Asm) CmpMI(base Reg, disp int32, imm int32) {
	a.emit(rex(0, base), 0x81)
	a.mem(7, base, disp)
	a.imm32(imm)
}

// LoadIdx8: mov dst, [base + index*8]. base must not be rbp or r13.
func (a *Asm) LoadIdx8(dst, base, index Reg) {
	if base&7 == 5 {
		a.fail("LoadIdx8: base %d needs a displacement", base)
	}
	if index == RSP {
		a.fail("LoadIdx8: rsp cannot be an index")
	}
	a.emit(0x48|byte(dst>>3)<<2|byte(index>>3)<<1|byte(base>>3), 0x8b,
		0x04|byte(dst&7)<<3, 0xc0|byte(index&7)<<3|byte(base&7))
}

// MovImm: mov dst, imm32 (sign-extended to 64 bits).
func (a *Asm) MovImm(dst Reg, imm int32) {
	a.emit(rex(0, dst), 0xc7, 0xc0|byte(dst&7))
	a.imm32(imm)
}

func (a *Asm) aluImm(ext byte, dst Reg, imm int32) {
	a.emit(rex(0, dst), 0x81, 0xc0|ext<<3|byte(dst&7))
	a.imm32(imm)
}

// AddImm: add dst, imm32.
func (a *Asm) AddImm(dst Reg, imm int32) { a.aluImm(0, dst, imm) }

// SubImm: sub dst, imm32.
func (a *Asm) SubImm(dst Reg, imm int32) { a.aluImm(5, dst, imm) }

// AndImm: and dst, imm32.
func (a *Asm) AndImm(dst Reg, imm int32) { a.aluImm(4, dst, imm) }

// CmpImm: cmp dst, imm32.
func (a *Asm) CmpImm(dst Reg, imm int32) { a.aluImm(7, dst, imm) }

// ShrImm: shr r, n.
func (a *Asm) ShrImm(r Reg, n uint8) { a.emit(rex(0, r), 0xc1, 0xe8|byte(r&7), n) }

// Dec: dec r.
func (a *Asm) Dec(r Reg) { a.emit(rex(0, r), 0xff, 0xc8|byte(r&7)) }

// Push: push r.
func (a *Asm) Push(r Reg) {
	if r >= R8 {
		a.emit(0x41)
	}
	a.emit(0x50 | byte(r&7))
}

// Pop: pop r.
func (a *Asm) Pop(r Reg) {
	if r >= R8 {
		a.emit(0x41)
	}
	a.emit(0x58 | byte(r&7))
}

// Ret: ret.
func (a *Asm) Ret() { a.emit(0xc3) }

// Int3: int3.
func (a *Asm) Int3() { a.emit(0xcc) }

func (a *Asm) indirect(ext byte, base Reg, disp int32) {
	if base >= R8 {
		a.emit(0x41)
	}
	a.emit(0xff)
	a.mem(ext, base, disp)
}

// CallMem: call qword [base+disp].
func (a *Asm) CallMem(base Reg, disp int32) { a.indirect(2, base, disp) }

// JmpMem: jmp qword [base+disp].
func (a *Asm) JmpMem(base Reg, disp int32) { a.indirect(4, base, disp) }

// CallReg: call r.
func (a *Asm) CallReg(r Reg) {
	if r >= R8 {
		a.emit(0x41)
	}
	a.emit(0xff, 0xd0|byte(r&7))
}

// Call: call label (rel32).
func (a *Asm) Call(label string) { a.emit(0xe8); a.rel32(label) }

// Jmp: jmp label (rel32).
func (a *Asm) Jmp(label string) { a.emit(0xe9); a.rel32(label) }

// Jcc: j<cond> label (rel32).
func (a *Asm) Jcc(c Cond, label string) { a.emit(0x0f, 0x80|byte(c)); a.rel32(label) }

// LeaRIP: lea dst, [rip+label].
func (a *Asm) LeaRIP(dst Reg, label string) {
	a.emit(rex(dst, 0), 0x8d, 0x05|byte(dst&7)<<3)
	a.rel32(label)
}
