package arm64

import "fmt"

// Reg is an A64 general-purpose register operand. Register number 31 means either
// the zero register or the stack pointer depending on the instruction; the two are
// distinct values here so that the encoder can reject the one an operand slot
// cannot hold instead of silently encoding the other.
type Reg uint8

// General-purpose registers. XZR and SP both encode as 31.
const (
	X0 Reg = iota
	X1
	X2
	X3
	X4
	X5
	X6
	X7
	X8
	X9
	X10
	X11
	X12
	X13
	X14
	X15
	X16
	X17
	X18
	X19
	X20
	X21
	X22
	X23
	X24
	X25
	X26
	X27
	X28
	X29
	X30
	XZR // zero register (reads 0, writes discarded)
	SP  // stack pointer

	// FP and LR are the AAPCS64 names of x29 and x30.
	FP = X29
	LR = X30
)

func (r Reg) String() string {
	switch {
	case r <= X30:
		return fmt.Sprintf("x%d", uint8(r))
	case r == XZR:
		return "xzr"
	case r == SP:
		return "sp"
	}
	return fmt.Sprintf("Reg(%d)", uint8(r))
}

// Width selects the 32-bit (W registers) or 64-bit (X registers) form of an
// instruction. Its value is the sf bit.
type Width uint8

const (
	W32 Width = 0
	W64 Width = 1
)

func (w Width) String() string {
	switch w {
	case W32:
		return "w32"
	case W64:
		return "w64"
	}
	return fmt.Sprintf("Width(%d)", uint8(w))
}

// bits returns the operand width in bits.
func (w Width) bits() uint { return 32 << w }

// Cond is an A64 condition code, as used by b.cond and csel.
type Cond uint8

const (
	EQ Cond = iota // equal (Z)
	NE             // not equal
	HS             // unsigned higher or same (C), a.k.a. CS
	LO             // unsigned lower, a.k.a. CC
	MI             // negative
	PL             // positive or zero
	VS             // overflow
	VC             // no overflow
	HI             // unsigned higher
	LS             // unsigned lower or same
	GE             // signed greater or equal
	LT             // signed less than
	GT             // signed greater than
	LE             // signed less or equal
	AL             // always
	NV             // always (reserved encoding)
)

var condNames = [16]string{"eq", "ne", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "nv"}

func (c Cond) String() string {
	if c < 16 {
		return condNames[c]
	}
	return fmt.Sprintf("Cond(%d)", uint8(c))
}

// Invert returns the condition that holds exactly when c does not. AL and NV
// have no inverse (both always hold); Invert returns them unchanged.
func (c Cond) Invert() Cond {
	if c >= AL {
		return c
	}
	return c ^ 1
}

// Shift is the shift applied to the last register operand of add/sub and logical
// shifted-register instructions. ROR is valid only for logical instructions.
type Shift uint8

const (
	LSL Shift = iota
	LSR
	ASR
	ROR
)

var shiftNames = [4]string{"lsl", "lsr", "asr", "ror"}

func (s Shift) String() string {
	if s < 4 {
		return shiftNames[s]
	}
	return fmt.Sprintf("Shift(%d)", uint8(s))
}

// operand checks: each returns the 5-bit field value.

// rz accepts x0–x30 and XZR (register 31 read as zero).
func rz(op string, r Reg) (uint32, error) {
	if r <= XZR {
		return uint32(r) & 31, nil
	}
	return 0, regError(op, r, "x0-x30 or xzr")
}

// rsp accepts x0–x30 and SP (register 31 read as the stack pointer).
func rsp(op string, r Reg) (uint32, error) {
	if r <= X30 {
		return uint32(r), nil
	}
	if r == SP {
		return 31, nil
	}
	return 0, regError(op, r, "x0-x30 or sp")
}

// regError is kept out of line so that the operand checks inline.
//
//go:noinline
func regError(op string, r Reg, want string) error {
	return &EncodeError{Op: op, Reason: fmt.Sprintf("register %v not allowed (want %s)", r, want)}
}

func checkWidth(op string, w Width) error {
	if w > W64 {
		return &EncodeError{Op: op, Reason: fmt.Sprintf("invalid width %v", w)}
	}
	return nil
}
