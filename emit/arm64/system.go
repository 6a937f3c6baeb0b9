package arm64

// Fixed-form system and hint instructions.
const (
	InstNop    Inst = 0xd503201f
	InstDmbIsh Inst = 0xd5033bbf // data memory barrier, inner shareable
	InstDsbIsh Inst = 0xd5033b9f // data synchronization barrier, inner shareable
	InstIsb    Inst = 0xd5033fdf // instruction synchronization barrier
	InstRet    Inst = 0xd65f03c0 // ret (x30)
)

const (
	dcCvauBase = 0xd50b7b20 // dc cvau, xt: clean data cache line to point of unification
	icIvauBase = 0xd50b7520 // ic ivau, xt: invalidate instruction cache line
	mrsCtrEl0  = 0xd53b0020 // mrs xt, ctr_el0: cache line sizes
	brkBase    = 0xd4200000 // brk #imm16
)

// Nop encodes nop.
func Nop() (Inst, error) { return InstNop, nil }

// DmbIsh encodes dmb ish.
func DmbIsh() (Inst, error) { return InstDmbIsh, nil }

// DsbIsh encodes dsb ish.
func DsbIsh() (Inst, error) { return InstDsbIsh, nil }

// Isb encodes isb.
func Isb() (Inst, error) { return InstIsb, nil }

func sysReg(name string, base uint32, rt Reg) (Inst, error) {
	t, err := rz(name, rt)
	if err != nil {
		return 0, err
	}
	return Inst(base | t), nil
}

// DcCvau encodes dc cvau, xt (clean the data cache line holding address xt).
func DcCvau(rt Reg) (Inst, error) { return sysReg("dc cvau", dcCvauBase, rt) }

// IcIvau encodes ic ivau, xt (invalidate the instruction cache line holding xt).
func IcIvau(rt Reg) (Inst, error) { return sysReg("ic ivau", icIvauBase, rt) }

// MrsCtrEl0 encodes mrs xt, ctr_el0 (cache type register: line sizes).
func MrsCtrEl0(rt Reg) (Inst, error) { return sysReg("mrs", mrsCtrEl0, rt) }

// Brk encodes brk #imm (a trap that is never expected to execute).
func Brk(imm uint16) (Inst, error) { return Inst(brkBase | uint32(imm)<<5), nil }

// PatchableEntry returns the two instructions every program and subprogram
// starts with, "mov x9, x30; nop": a trampoline can replace the nop with a bl
// while x9 keeps the caller's return address (the kernel's arm64 convention).
func PatchableEntry() [2]Inst {
	mov, _ := Mov(W64, X9, LR)
	return [2]Inst{mov, InstNop}
}
