package verifier

import (
	"fmt"
	"strings"

	"github.com/bpfjit/bpfjit/isa"
)

var jumpNames = map[isa.JumpOp]string{
	isa.JumpEQ: "==", isa.JumpGT: ">", isa.JumpGE: ">=", isa.JumpSET: "&", isa.JumpNE: "!=",
	isa.JumpSGT: "s>", isa.JumpSGE: "s>=", isa.JumpLT: "<", isa.JumpLE: "<=", isa.JumpSLT: "s<", isa.JumpSLE: "s<=",
}

var sizeNames = map[isa.Size]string{isa.SizeB: "u8", isa.SizeH: "u16", isa.SizeW: "u32", isa.SizeDW: "u64"}

// Disasm renders one instruction (next is the following slot, for lddw) in the kernel log's
// C-like syntax.
func Disasm(in, next isa.Instruction) string {
	op := in.Opcode
	reg := func(r isa.Register, is64 bool) string {
		if is64 {
			return fmt.Sprintf("r%d", r)
		}
		return fmt.Sprintf("w%d", r)
	}
	switch c := op.Class(); c {
	case isa.ClassALU, isa.ClassALU64:
		is64 := c == isa.ClassALU64
		d := reg(in.Dst, is64)
		src := fmt.Sprintf("%d", in.Imm)
		if op.Source() == isa.SourceX {
			src = reg(in.Src, is64)
		}
		switch op.ALUOp() {
		case isa.ALUNeg:
			return fmt.Sprintf("(%02x) %s = -%s", uint8(op), d, d)
		case isa.ALUEnd:
			kind := "le"
			if is64 {
				kind = "bswap"
			} else if op.Source() == isa.SourceX {
				kind = "be"
			}
			return fmt.Sprintf("(%02x) r%d = %s%d r%d", uint8(op), in.Dst, kind, in.Imm, in.Dst)
		case isa.ALUMov:
			if in.Off != 0 {
				return fmt.Sprintf("(%02x) %s = (s%d)%s", uint8(op), d, in.Off, src)
			}
		case isa.ALUDiv, isa.ALUMod:
			if in.Off == 1 {
				return fmt.Sprintf("(%02x) %s s%s %s", uint8(op), d, aluNames[op.ALUOp()], src)
			}
		}
		return fmt.Sprintf("(%02x) %s %s %s", uint8(op), d, aluNames[op.ALUOp()], src)
	case isa.ClassLDX:
		sx := ""
		if op.Mode() == isa.ModeMEMSX {
			sx = "s"
		}
		return fmt.Sprintf("(%02x) r%d = *(%s%s *)(r%d %+d)", uint8(op), in.Dst, sx, sizeNames[op.Size()], in.Src, in.Off)
	case isa.ClassST:
		return fmt.Sprintf("(%02x) *(%s *)(r%d %+d) = %d", uint8(op), sizeNames[op.Size()], in.Dst, in.Off, in.Imm)
	case isa.ClassSTX:
		if op.Mode() == isa.ModeATOMIC {
			return fmt.Sprintf("(%02x) atomic(%#x) *(%s *)(r%d %+d), r%d", uint8(op), in.Imm, sizeNames[op.Size()], in.Dst, in.Off, in.Src)
		}
		return fmt.Sprintf("(%02x) *(%s *)(r%d %+d) = r%d", uint8(op), sizeNames[op.Size()], in.Dst, in.Off, in.Src)
	case isa.ClassLD:
		if in.IsLdImm64() {
			switch in.Src {
			case 0:
				return fmt.Sprintf("(18) r%d = %#x", in.Dst, isa.Imm64(in, next))
			case isa.PseudoMapIdx:
				return fmt.Sprintf("(18) r%d = map[%d]", in.Dst, in.Imm)
			case isa.PseudoMapIdxValue:
				return fmt.Sprintf("(18) r%d = map[%d] value + %d", in.Dst, in.Imm, next.Imm)
			}
			return fmt.Sprintf("(18) r%d = pseudo%d(%#x)", in.Dst, in.Src, isa.Imm64(in, next))
		}
		if op.Mode() == isa.ModeIND {
			return fmt.Sprintf("(%02x) r0 = ntoh(*(%s *)(skb + r%d + %d))", uint8(op), sizeNames[op.Size()], in.Src, in.Imm)
		}
		return fmt.Sprintf("(%02x) r0 = ntoh(*(%s *)(skb + %d))", uint8(op), sizeNames[op.Size()], in.Imm)
	case isa.ClassJMP, isa.ClassJMP32:
		switch {
		case in.IsExit():
			return "(95) exit"
		case in.IsHelperCall():
			name := "?"
			if p := Helpers[in.Imm]; p != nil {
				name = p.Name
			}
			return fmt.Sprintf("(85) call %s#%d", name, in.Imm)
		case in.IsLocalCall():
			return fmt.Sprintf("(85) call pc%+d", in.Imm)
		case op.JumpOp() == isa.JumpCall:
			return fmt.Sprintf("(%02x) call src=%d imm=%d", uint8(op), in.Src, in.Imm)
		case in.IsUnconditionalJump():
			return fmt.Sprintf("(%02x) goto pc%+d", uint8(op), in.JumpOffset())
		}
		is64 := c == isa.ClassJMP
		src := fmt.Sprintf("%#x", in.Imm)
		if op.Source() == isa.SourceX {
			src = reg(in.Src, is64)
		}
		return fmt.Sprintf("(%02x) if %s %s %s goto pc%+d", uint8(op), reg(in.Dst, is64), jumpNames[op.JumpOp()], src, in.Off)
	}
	return fmt.Sprintf("(%02x) ?", uint8(op))
}

func (v *verifier) disasm(i int) string {
	var next isa.Instruction
	if i+1 < len(v.insns) {
		next = v.insns[i+1]
	}
	return Disasm(v.insns[i], next)
}

// stateString renders the registers and stack of every frame, as the kernel log does.
func (v *verifier) stateString(st *state) string {
	var b strings.Builder
	for fi, f := range st.frames {
		if fi > 0 {
			fmt.Fprintf(&b, " | frame%d:", fi)
		}
		sep := ""
		for r, reg := range f.regs {
			if reg.Type == NotInit {
				continue
			}
			fmt.Fprintf(&b, "%sR%d=%v", sep, r, reg)
			sep = " "
		}
		for si := range f.stack {
			s := &f.stack[si]
			off := -8 * (si + 1)
			if s.isSpill() {
				fmt.Fprintf(&b, " fp%d=%v", off, s.spill)
				continue
			}
			var k strings.Builder
			any := false
			for j := 7; j >= 0; j-- {
				switch s.kind[j] {
				case SlotInvalid:
					k.WriteByte('?')
				case SlotMisc:
					k.WriteByte('m')
					any = true
				case SlotPtrBits:
					k.WriteByte('p')
					any = true
				default:
					k.WriteByte('s')
					any = true
				}
			}
			if any {
				fmt.Fprintf(&b, " fp%d=%s", off, k.String())
			}
		}
	}
	if v.pt.RawMemory {
		fmt.Fprintf(&b, " mem_range=%d", st.memRange)
	}
	return b.String()
}
