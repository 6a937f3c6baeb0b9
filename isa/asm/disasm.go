package asm

import (
	"fmt"
	"sort"
	"strings"

	"github.com/bpfjit/bpfjit/isa"
)

// Format returns the text of one instruction with numeric jump and call targets
// ("+3", "-1"). next is the following slot, or nil at the end of the program; an lddw
// whose second slot is next is written as one line covering both (Slots tells how many
// slots a line covers). A slot the symbolic syntax cannot reproduce exactly is written in
// the .insn form, so assembling the text always gives back the same slots.
func Format(in isa.Instruction, next *isa.Instruction) string {
	l := formatLine(in, next)
	return l.text
}

// Slots returns how many slots Format(in, next) covers: 2 for an lddw written with its
// second slot, 1 otherwise.
func Slots(in isa.Instruction, next *isa.Instruction) int {
	return formatLine(in, next).slots
}

// Disassemble writes a program as text that Assemble turns back into exactly the same
// slots. Jump and call targets that start a line get generated labels (L<slot> for jump
// targets, f<slot> for functions); other targets, such as the middle of an lddw or a
// slot outside the program, stay numeric offsets. The error is reserved for future
// use: every slot sequence has a text form today.
func Disassemble(insns []isa.Instruction) (string, error) {
	lines := make([]line, 0, len(insns))
	starts := make(map[int]bool, len(insns))
	for i := 0; i < len(insns); {
		var next *isa.Instruction
		if i+1 < len(insns) {
			next = &insns[i+1]
		}
		l := formatLine(insns[i], next)
		l.slot = i
		starts[i] = true
		lines = append(lines, l)
		i += l.slots
	}
	// Name every target that begins a line.
	labels := map[int]string{}
	for _, l := range lines {
		if l.target < 0 {
			continue
		}
		t := l.slot + 1 + int(l.rel)
		if !starts[t] {
			continue
		}
		if l.isFunc {
			labels[t] = fmt.Sprintf("f%d", t)
		} else if _, ok := labels[t]; !ok {
			labels[t] = fmt.Sprintf("L%d", t)
		}
	}
	var b strings.Builder
	for _, l := range lines {
		if name, ok := labels[l.slot]; ok {
			b.WriteString(name)
			b.WriteString(":\n")
		}
		text := l.text
		if l.target >= 0 {
			if name, ok := labels[l.slot+1+int(l.rel)]; ok {
				text = text[:l.target] + name
			}
		}
		b.WriteString(text)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// DisassembleProgram is Disassemble with the program's function names, where they are
// usable as labels, in place of generated ones.
func DisassembleProgram(p *isa.Program) (string, error) {
	text, err := Disassemble(p.Insns)
	if err != nil || len(p.Funcs) == 0 {
		return text, err
	}
	// Rename f<slot> labels to function names that are valid, unique identifiers and do
	// not collide with generated names.
	rename := map[string]string{}
	used := map[string]bool{}
	funcs := append([]isa.FuncInfo(nil), p.Funcs...)
	sort.Slice(funcs, func(i, j int) bool { return funcs[i].Start < funcs[j].Start })
	for _, f := range funcs {
		if !isIdent(f.Name) || used[f.Name] || generatedName(f.Name) || f.Name == "exit" {
			continue
		}
		if _, ok := forms[strings.ToLower(f.Name)]; ok {
			continue
		}
		used[f.Name] = true
		rename[fmt.Sprintf("f%d", f.Start)] = f.Name
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if name, ok := strings.CutSuffix(l, ":"); ok {
			if r, ok := rename[name]; ok {
				lines[i] = r + ":"
			}
			continue
		}
		if j := strings.LastIndexAny(l, " ,"); j >= 0 {
			if r, ok := rename[l[j+1:]]; ok && isTargetLine(l) {
				lines[i] = l[:j+1] + r
			}
		}
	}
	return strings.Join(lines, "\n"), nil
}

func isTargetLine(l string) bool {
	return strings.HasPrefix(l, "call local ") || strings.HasPrefix(l, "lddw ")
}

// generatedName reports whether s has the shape of a label Disassemble makes up.
func generatedName(s string) bool {
	if len(s) < 2 || (s[0] != 'L' && s[0] != 'f') {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// line is the text of one instruction (one or two slots).
type line struct {
	slot   int
	slots  int
	text   string
	target int   // byte index in text where a numeric target starts, -1 if none
	rel    int64 // the target's slot offset relative to the next slot
	isFunc bool  // the target is a function (call local, lddw func)
}

// formatLine writes the instruction symbolically and checks that the text assembles
// back to the same slots; if not, it falls back to the raw .insn form.
func formatLine(in isa.Instruction, next *isa.Instruction) line {
	l, ok := symbolic(in, next)
	if ok {
		got, _, err := parseInsn(l.text)
		if err == nil && len(got) == l.slots && got[0] == in && (l.slots == 1 || got[1] == *next) {
			return l
		}
	}
	return line{slots: 1, text: rawText(in), target: -1}
}

func rawText(in isa.Instruction) string {
	return fmt.Sprintf(".insn 0x%02x, %d, %d, %d, %s", uint8(in.Opcode), in.Dst, in.Src, in.Off, imm(in.Imm))
}

var sizeSuffix = map[isa.Size]string{isa.SizeB: "b", isa.SizeH: "h", isa.SizeW: "w", isa.SizeDW: "dw"}

// symbolic writes the instruction in the suite's syntax (or an extension) without
// checking reserved fields; formatLine does that by assembling the result.
func symbolic(in isa.Instruction, next *isa.Instruction) (line, bool) {
	l := line{slots: 1, target: -1}
	op := in.Opcode
	withTarget := func(prefix string, rel int64, isFunc bool) (line, bool) {
		l.text = prefix + offset(rel)
		l.target = len(prefix)
		l.rel = rel
		l.isFunc = isFunc
		return l, true
	}
	switch c := op.Class(); c {
	case isa.ClassALU, isa.ClassALU64:
		sfx := ""
		if c == isa.ClassALU {
			sfx = "32"
		}
		aop := op.ALUOp()
		switch {
		case aop == isa.ALUNeg:
			l.text = fmt.Sprintf("neg%s %s", sfx, reg(in.Dst))
		case aop == isa.ALUEnd:
			name := "le"
			if op.Source() == isa.SourceX {
				name = "be"
			}
			if c == isa.ClassALU64 {
				name = "swap"
			}
			l.text = fmt.Sprintf("%s%d %s", name, in.Imm, reg(in.Dst))
		case aop == isa.ALUMov && op.Source() == isa.SourceX && in.Off != 0:
			w := "64"
			if c == isa.ClassALU {
				w = "32"
			}
			l.text = fmt.Sprintf("movsx%d%s %s, %s", in.Off, w, reg(in.Dst), reg(in.Src))
		default:
			name := ""
			for _, a := range aluNames {
				if a.op == aop && a.off == in.Off {
					name = a.name
				}
			}
			if name == "" {
				return l, false
			}
			l.text = fmt.Sprintf("%s%s %s, %s", name, sfx, reg(in.Dst), operand(in))
		}
		return l, true
	case isa.ClassJMP, isa.ClassJMP32:
		sfx := ""
		if c == isa.ClassJMP32 {
			sfx = "32"
		}
		switch jop := op.JumpOp(); jop {
		case isa.JumpA:
			if c == isa.ClassJMP32 {
				return withTarget("ja32 ", int64(in.Imm), false)
			}
			return withTarget("ja ", int64(in.Off), false)
		case isa.JumpExit:
			l.text = "exit"
			return l, true
		case isa.JumpCall:
			switch {
			case op.Source() == isa.SourceX:
				l.text = "call " + reg(in.Dst)
			case in.Src == isa.PseudoCall:
				return withTarget("call local ", int64(in.Imm), true)
			case in.Src == isa.PseudoKfuncCall:
				l.text = "call kfunc " + imm(in.Imm)
			default:
				l.text = "call " + imm(in.Imm)
			}
			return l, true
		default:
			for _, j := range jumpNames {
				if j.op == jop {
					return withTarget(fmt.Sprintf("%s%s %s, %s, ", j.name, sfx, reg(in.Dst), operand(in)), int64(in.Off), false)
				}
			}
		}
		return l, false
	case isa.ClassLD:
		sz := sizeSuffix[op.Size()]
		switch op.Mode() {
		case isa.ModeIMM:
			if op != isa.OpLdImm64 || next == nil {
				return l, false
			}
			l.slots = 2
			prefix := "lddw " + reg(in.Dst) + ", "
			switch in.Src {
			case 0:
				l.text = fmt.Sprintf("%s0x%x", prefix, isa.Imm64(in, *next))
			case isa.PseudoFunc:
				return withTarget(prefix+"func ", int64(in.Imm), true)
			case isa.PseudoMapValue, isa.PseudoMapIdxValue:
				l.text = fmt.Sprintf("%s%s %s, %s", prefix, pseudoNames[in.Src], imm(in.Imm), imm(next.Imm))
			case isa.PseudoMapFD, isa.PseudoBTFID, isa.PseudoMapIdx:
				l.text = fmt.Sprintf("%s%s %s", prefix, pseudoNames[in.Src], imm(in.Imm))
			default:
				return l, false
			}
			return l, true
		case isa.ModeABS:
			l.text = fmt.Sprintf("ldabs%s %s", sz, imm(in.Imm))
			return l, true
		case isa.ModeIND:
			l.text = fmt.Sprintf("ldind%s %s, %s", sz, reg(in.Src), imm(in.Imm))
			return l, true
		}
		return l, false
	case isa.ClassLDX:
		s := ""
		switch op.Mode() {
		case isa.ModeMEM:
		case isa.ModeMEMSX:
			s = "s"
		default:
			return l, false
		}
		l.text = fmt.Sprintf("ldx%s%s %s, %s", s, sizeSuffix[op.Size()], reg(in.Dst), mem(in.Src, in.Off))
		return l, true
	case isa.ClassST:
		if op.Mode() != isa.ModeMEM {
			return l, false
		}
		l.text = fmt.Sprintf("st%s %s, %s", sizeSuffix[op.Size()], mem(in.Dst, in.Off), imm(in.Imm))
		return l, true
	case isa.ClassSTX:
		switch op.Mode() {
		case isa.ModeMEM:
			l.text = fmt.Sprintf("stx%s %s, %s", sizeSuffix[op.Size()], mem(in.Dst, in.Off), reg(in.Src))
			return l, true
		case isa.ModeATOMIC:
			w := ""
			if op.Size() == isa.SizeW {
				w = "32"
			}
			var name string
			switch a := isa.AtomicOp(in.Imm); a {
			case isa.AtomicXchg:
				name = "xchg"
			case isa.AtomicCmpXchg:
				name = "cmpxchg"
			default:
				for _, n := range atomicNames {
					if n.op == a&^isa.AtomicFetch {
						name = n.name
					}
				}
				if name == "" {
					return l, false
				}
				if a&isa.AtomicFetch != 0 {
					name = "fetch " + name
				}
			}
			l.text = fmt.Sprintf("lock %s%s %s, %s", name, w, mem(in.Dst, in.Off), reg(in.Src))
			return l, true
		}
	}
	return l, false
}

// reg writes a register; nibbles above r10 cannot be written symbolically and make
// formatLine fall back to .insn when the parse fails.
func reg(r isa.Register) string { return fmt.Sprintf("%%r%d", r) }

func operand(in isa.Instruction) string {
	if in.Opcode.Source() == isa.SourceX {
		return reg(in.Src)
	}
	return imm(in.Imm)
}

func mem(r isa.Register, off int16) string {
	if off < 0 {
		return fmt.Sprintf("[%s-%d]", reg(r), -int(off))
	}
	return fmt.Sprintf("[%s+%d]", reg(r), off)
}

// imm writes small immediates in decimal and large ones in signed hexadecimal.
func imm(v int32) string {
	switch {
	case v >= -0x10000 && v <= 0x10000:
		return itoa(int64(v))
	case v < 0:
		return fmt.Sprintf("-0x%x", -int64(v))
	}
	return fmt.Sprintf("0x%x", v)
}

func offset(v int64) string {
	if v < 0 {
		return itoa(v)
	}
	return "+" + itoa(v)
}
