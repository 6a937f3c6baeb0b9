package asm

import (
	"math"
	"sort"
	"strings"

	"github.com/bpfjit/bpfjit/isa"
)

// Assemble translates program text into instruction slots. Errors are *Error values
// naming the 1-based line and the reason; the first error stops the assembly.
func Assemble(text string) ([]isa.Instruction, error) {
	a, err := assemble(text)
	if err != nil {
		return nil, err
	}
	return a.insns, nil
}

// AssembleProgram is Assemble returning an isa.Program whose Funcs name every function
// that a "call local" or "lddw ..., func" reaches through a label, by that label.
func AssembleProgram(text string) (*isa.Program, error) {
	a, err := assemble(text)
	if err != nil {
		return nil, err
	}
	p := &isa.Program{Insns: a.insns}
	seen := map[int]bool{}
	for _, f := range a.funcs {
		if !seen[f.Start] {
			seen[f.Start] = true
			p.Funcs = append(p.Funcs, f)
		}
	}
	sort.Slice(p.Funcs, func(i, j int) bool { return p.Funcs[i].Start < p.Funcs[j].Start })
	return p, nil
}

// fixKind says which field a label reference patches.
type fixKind uint8

const (
	fixOff  fixKind = iota // Off, int16 (jumps)
	fixImm                 // Imm, int32 (ja32, call local, lddw func)
	fixFunc                // Imm, and the label names a function
)

type fixup struct {
	slot  int
	line  int
	label string
	kind  fixKind
}

type assembler struct {
	insns     []isa.Instruction
	labels    map[string]int
	fixups    []fixup
	firstExit int // slot of the first exit instruction, -1 if none
	funcs     []isa.FuncInfo
}

func assemble(text string) (*assembler, error) {
	a := &assembler{labels: map[string]int{}, firstExit: -1}
	for n, line := range strings.Split(text, "\n") {
		if err := a.line(n+1, line); err != nil {
			return nil, &Error{Line: n + 1, Err: err.err, Detail: err.detail}
		}
	}
	if err := a.resolve(); err != nil {
		return nil, err
	}
	return a, nil
}

// line assembles one line of text, recording label definitions and references.
func (a *assembler) line(lineNo int, line string) *lineErr {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	line = strings.TrimSpace(line)
	for line != "" {
		n := identLen(line)
		if n == 0 || n >= len(line) || line[n] != ':' {
			break
		}
		name := line[:n]
		if _, dup := a.labels[name]; dup {
			return fail(ErrDuplicateLabel, "%q", name)
		}
		a.labels[name] = len(a.insns)
		line = strings.TrimSpace(line[n+1:])
	}
	if line == "" {
		return nil
	}
	ins, ref, err := parseInsn(line)
	if err != nil {
		return err
	}
	slot := len(a.insns)
	if ref != nil {
		ref.slot, ref.line = slot, lineNo
		a.fixups = append(a.fixups, *ref)
	}
	if ins[0].IsExit() && a.firstExit < 0 {
		a.firstExit = slot
	}
	a.insns = append(a.insns, ins...)
	return nil
}

// resolve patches label references now that every label is known.
func (a *assembler) resolve() error {
	for _, f := range a.fixups {
		target, ok := a.labels[f.label]
		if !ok && f.label == "exit" && a.firstExit >= 0 {
			target, ok = a.firstExit, true
		}
		if !ok {
			return &Error{Line: f.line, Err: ErrUndefinedLabel, Detail: f.label}
		}
		d := int64(target) - int64(f.slot) - 1
		in := &a.insns[f.slot]
		switch f.kind {
		case fixOff:
			if d < math.MinInt16 || d > math.MaxInt16 {
				return &Error{Line: f.line, Err: ErrRange, Detail: "jump to " + f.label + " does not fit a 16-bit offset"}
			}
			in.Off = int16(d)
		default:
			if d < math.MinInt32 || d > math.MaxInt32 {
				return &Error{Line: f.line, Err: ErrRange, Detail: "target " + f.label + " does not fit a 32-bit offset"}
			}
			in.Imm = int32(d)
			if f.kind == fixFunc {
				a.funcs = append(a.funcs, isa.FuncInfo{Start: target, Name: f.label})
			}
		}
	}
	return nil
}

// identLen returns the length of the label-like identifier at the start of s.
func identLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return i
		}
	}
	return len(s)
}

func isIdent(s string) bool { return s != "" && identLen(s) == len(s) }

// form describes what a mnemonic assembles to.
type form struct {
	kind formKind
	op   isa.Opcode // full opcode, without the source bit where the operand decides it
	off  int16
	imm  int32
}

type formKind uint8

const (
	fALU   formKind = iota // dst, imm|src
	fNeg                   // dst
	fMovsx                 // dst, src (off fixed)
	fEnd                   // dst (imm fixed)
	fJa                    // target in off
	fJa32                  // target in imm
	fJcc                   // dst, imm|src, target
	fExit
	fLdx   // dst, [src+off]
	fSt    // [dst+off], imm
	fStx   // [dst+off], src
	fLdAbs // imm
	fLdInd // src, imm
)

var forms = buildForms()

// operandCount is how many comma-separated operands each form takes.
var operandCount = [...]int{fALU: 2, fNeg: 1, fMovsx: 2, fEnd: 1, fJa: 1, fJa32: 1, fJcc: 3,
	fExit: 0, fLdx: 2, fSt: 2, fStx: 2, fLdAbs: 1, fLdInd: 2}

var sizeNames = []struct {
	name string
	size isa.Size
}{{"b", isa.SizeB}, {"h", isa.SizeH}, {"w", isa.SizeW}, {"dw", isa.SizeDW}}

var aluNames = []struct {
	name string
	op   isa.ALUOp
	off  int16
}{
	{"add", isa.ALUAdd, 0}, {"sub", isa.ALUSub, 0}, {"mul", isa.ALUMul, 0},
	{"div", isa.ALUDiv, 0}, {"sdiv", isa.ALUDiv, 1}, {"mod", isa.ALUMod, 0},
	{"smod", isa.ALUMod, 1}, {"or", isa.ALUOr, 0}, {"and", isa.ALUAnd, 0},
	{"lsh", isa.ALULsh, 0}, {"rsh", isa.ALURsh, 0}, {"arsh", isa.ALUArsh, 0},
	{"xor", isa.ALUXor, 0}, {"mov", isa.ALUMov, 0},
}

var jumpNames = []struct {
	name string
	op   isa.JumpOp
}{
	{"jeq", isa.JumpEQ}, {"jgt", isa.JumpGT}, {"jge", isa.JumpGE}, {"jset", isa.JumpSET},
	{"jne", isa.JumpNE}, {"jsgt", isa.JumpSGT}, {"jsge", isa.JumpSGE}, {"jlt", isa.JumpLT},
	{"jle", isa.JumpLE}, {"jslt", isa.JumpSLT}, {"jsle", isa.JumpSLE},
}

var atomicNames = []struct {
	name string
	op   isa.AtomicOp
}{
	{"add", isa.AtomicAdd}, {"or", isa.AtomicOr}, {"and", isa.AtomicAnd}, {"xor", isa.AtomicXor},
}

func buildForms() map[string]form {
	m := map[string]form{}
	for _, c := range []struct {
		suffix string
		class  isa.Class
		jclass isa.Class
	}{{"", isa.ClassALU64, isa.ClassJMP}, {"32", isa.ClassALU, isa.ClassJMP32}} {
		for _, a := range aluNames {
			m[a.name+c.suffix] = form{kind: fALU, op: isa.ALU(c.class, a.op, isa.SourceK), off: a.off}
		}
		m["neg"+c.suffix] = form{kind: fNeg, op: isa.ALU(c.class, isa.ALUNeg, isa.SourceK)}
		for _, j := range jumpNames {
			m[j.name+c.suffix] = form{kind: fJcc, op: isa.Jump(c.jclass, j.op, isa.SourceK)}
		}
	}
	for _, w := range []int32{16, 32, 64} {
		ws := itoa(int64(w))
		m["le"+ws] = form{kind: fEnd, op: isa.ALU(isa.ClassALU, isa.ALUEnd, isa.SourceK), imm: w}
		m["be"+ws] = form{kind: fEnd, op: isa.ALU(isa.ClassALU, isa.ALUEnd, isa.SourceX), imm: w}
		m["swap"+ws] = form{kind: fEnd, op: isa.ALU(isa.ClassALU64, isa.ALUEnd, isa.SourceK), imm: w}
		m["bswap"+ws] = m["swap"+ws]
	}
	m["movsx832"] = form{kind: fMovsx, op: isa.ALU(isa.ClassALU, isa.ALUMov, isa.SourceX), off: 8}
	m["movsx1632"] = form{kind: fMovsx, op: isa.ALU(isa.ClassALU, isa.ALUMov, isa.SourceX), off: 16}
	m["movsx864"] = form{kind: fMovsx, op: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceX), off: 8}
	m["movsx1664"] = form{kind: fMovsx, op: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceX), off: 16}
	m["movsx3264"] = form{kind: fMovsx, op: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceX), off: 32}
	m["ja"] = form{kind: fJa, op: isa.OpJa}
	m["ja32"] = form{kind: fJa32, op: isa.OpJa32}
	m["exit"] = form{kind: fExit, op: isa.OpExit}
	for _, s := range sizeNames {
		m["ldx"+s.name] = form{kind: fLdx, op: isa.Mem(isa.ClassLDX, isa.ModeMEM, s.size)}
		m["st"+s.name] = form{kind: fSt, op: isa.Mem(isa.ClassST, isa.ModeMEM, s.size)}
		m["stx"+s.name] = form{kind: fStx, op: isa.Mem(isa.ClassSTX, isa.ModeMEM, s.size)}
		if s.size != isa.SizeDW {
			m["ldxs"+s.name] = form{kind: fLdx, op: isa.Mem(isa.ClassLDX, isa.ModeMEMSX, s.size)}
			m["ldabs"+s.name] = form{kind: fLdAbs, op: isa.Mem(isa.ClassLD, isa.ModeABS, s.size)}
			m["ldind"+s.name] = form{kind: fLdInd, op: isa.Mem(isa.ClassLD, isa.ModeIND, s.size)}
		}
	}
	return m
}

// parseInsn assembles the instruction text of one line (labels and comments removed).
// ref, when not nil, is a label reference still to be resolved (slot not yet set).
func parseInsn(text string) ([]isa.Instruction, *fixup, *lineErr) {
	mn, rest := cutWord(text)
	mn = strings.ToLower(mn)
	switch mn {
	case "lock":
		in, err := parseAtomic(rest)
		if err != nil {
			return nil, nil, err
		}
		return []isa.Instruction{in}, nil, nil
	case "call":
		return parseCall(rest)
	case "lddw":
		return parseLddw(rest)
	case ".insn":
		in, err := parseRawSlot(rest)
		if err != nil {
			return nil, nil, err
		}
		return []isa.Instruction{in}, nil, nil
	}
	f, ok := forms[mn]
	if !ok {
		return nil, nil, fail(ErrUnknownMnemonic, "%q", mn)
	}
	ops, err := splitOperands(rest)
	if err != nil {
		return nil, nil, err
	}
	in := isa.Instruction{Opcode: f.op, Off: f.off, Imm: f.imm}
	var ref *fixup
	if want := operandCount[f.kind]; len(ops) != want {
		return nil, nil, fail(ErrOperands, "%s takes %d operands, got %d", mn, operandCount[f.kind], len(ops))
	}
	switch f.kind {
	case fALU, fJcc:
		if in.Dst, err = parseReg(ops[0]); err != nil {
			return nil, nil, err
		}
		if looksLikeReg(ops[1]) {
			if in.Src, err = parseReg(ops[1]); err != nil {
				return nil, nil, err
			}
			in.Opcode |= isa.Opcode(isa.SourceX)
		} else if in.Imm, err = parseImm32(ops[1]); err != nil {
			return nil, nil, err
		}
		if f.kind == fJcc {
			if ref, err = parseTarget(ops[2], &in, fixOff); err != nil {
				return nil, nil, err
			}
		}
	case fNeg, fEnd:
		if in.Dst, err = parseReg(ops[0]); err != nil {
			return nil, nil, err
		}
	case fMovsx:
		if in.Dst, err = parseReg(ops[0]); err != nil {
			return nil, nil, err
		}
		if in.Src, err = parseReg(ops[1]); err != nil {
			return nil, nil, err
		}
	case fJa:
		if ref, err = parseTarget(ops[0], &in, fixOff); err != nil {
			return nil, nil, err
		}
	case fJa32:
		if ref, err = parseTarget(ops[0], &in, fixImm); err != nil {
			return nil, nil, err
		}
	case fLdx:
		if in.Dst, err = parseReg(ops[0]); err != nil {
			return nil, nil, err
		}
		if in.Src, in.Off, err = parseMem(ops[1]); err != nil {
			return nil, nil, err
		}
	case fSt:
		if in.Dst, in.Off, err = parseMem(ops[0]); err != nil {
			return nil, nil, err
		}
		if in.Imm, err = parseImm32(ops[1]); err != nil {
			return nil, nil, err
		}
	case fStx:
		if in.Dst, in.Off, err = parseMem(ops[0]); err != nil {
			return nil, nil, err
		}
		if in.Src, err = parseReg(ops[1]); err != nil {
			return nil, nil, err
		}
	case fLdAbs:
		if in.Imm, err = parseImm32(ops[0]); err != nil {
			return nil, nil, err
		}
	case fLdInd:
		if in.Src, err = parseReg(ops[0]); err != nil {
			return nil, nil, err
		}
		if in.Imm, err = parseImm32(ops[1]); err != nil {
			return nil, nil, err
		}
	}
	return []isa.Instruction{in}, ref, nil
}

// parseAtomic parses what follows "lock": [fetch] op[32] [dst+off], src.
func parseAtomic(rest string) (isa.Instruction, *lineErr) {
	word, rest := cutWord(rest)
	word = strings.ToLower(word)
	fetch := false
	if word == "fetch" {
		fetch = true
		word, rest = cutWord(rest)
		word = strings.ToLower(word)
	}
	size := isa.SizeDW
	if name, ok := strings.CutSuffix(word, "32"); ok {
		word, size = name, isa.SizeW
	}
	var op isa.AtomicOp
	found := false
	switch word {
	case "xchg":
		op, found = isa.AtomicXchg, !fetch
	case "cmpxchg":
		op, found = isa.AtomicCmpXchg, !fetch
	default:
		for _, a := range atomicNames {
			if a.name == word {
				op, found = a.op, true
				if fetch {
					op |= isa.AtomicFetch
				}
			}
		}
	}
	if !found {
		return isa.Instruction{}, fail(ErrUnknownMnemonic, "lock %s", strings.TrimSpace(map[bool]string{true: "fetch "}[fetch]+word))
	}
	ops, err := splitOperands(rest)
	if err != nil {
		return isa.Instruction{}, err
	}
	if len(ops) != 2 {
		return isa.Instruction{}, fail(ErrOperands, "lock %s takes 2 operands, got %d", word, len(ops))
	}
	in := isa.Instruction{Opcode: isa.Mem(isa.ClassSTX, isa.ModeATOMIC, size), Imm: int32(op)}
	if in.Dst, in.Off, err = parseMem(ops[0]); err != nil {
		return in, err
	}
	if in.Src, err = parseReg(ops[1]); err != nil {
		return in, err
	}
	return in, nil
}

// parseCall parses what follows "call": a helper id, a register, "local target" or
// "kfunc id".
func parseCall(rest string) ([]isa.Instruction, *fixup, *lineErr) {
	rest = strings.TrimSpace(rest)
	word, arg := cutWord(rest)
	in := isa.Instruction{Opcode: isa.OpCall}
	var ref *fixup
	var err *lineErr
	switch strings.ToLower(word) {
	case "":
		return nil, nil, fail(ErrOperands, "call needs a target")
	case "local":
		in.Src = isa.PseudoCall
		ref, err = parseTarget(strings.TrimSpace(arg), &in, fixFunc)
	case "kfunc":
		in.Src = isa.PseudoKfuncCall
		in.Imm, err = parseImm32(strings.TrimSpace(arg))
	default:
		if looksLikeReg(rest) {
			in.Opcode = isa.OpCallX
			in.Dst, err = parseReg(rest)
		} else {
			in.Imm, err = parseImm32(rest)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	return []isa.Instruction{in}, ref, nil
}

// lddw pseudo-source keywords (extension syntax).
var pseudoNames = []string{
	isa.PseudoMapFD:       "map_fd",
	isa.PseudoMapValue:    "map_value",
	isa.PseudoBTFID:       "btf_id",
	isa.PseudoFunc:        "func",
	isa.PseudoMapIdx:      "map_idx",
	isa.PseudoMapIdxValue: "map_idx_value",
}

func parseLddw(rest string) ([]isa.Instruction, *fixup, *lineErr) {
	ops, err := splitOperands(rest)
	if err != nil {
		return nil, nil, err
	}
	if len(ops) < 2 || len(ops) > 3 {
		return nil, nil, fail(ErrOperands, "lddw takes a register and a value")
	}
	dst, err := parseReg(ops[0])
	if err != nil {
		return nil, nil, err
	}
	kw, arg := cutWord(ops[1])
	src := -1
	for s, name := range pseudoNames {
		if name != "" && strings.EqualFold(kw, name) {
			src = s
		}
	}
	if src < 0 {
		if len(ops) != 2 {
			return nil, nil, fail(ErrOperands, "lddw takes a register and a value")
		}
		v, err := parseImm64(ops[1])
		if err != nil {
			return nil, nil, err
		}
		s := isa.LdImm64(dst, 0, v)
		return s[:], nil, nil
	}
	hasOff := src == isa.PseudoMapValue || src == isa.PseudoMapIdxValue
	if hasOff != (len(ops) == 3) {
		if hasOff {
			return nil, nil, fail(ErrOperands, "lddw %s takes a map and a value offset", kw)
		}
		return nil, nil, fail(ErrOperands, "lddw %s takes one argument", kw)
	}
	s := isa.LdImm64(dst, isa.Register(src), 0)
	var ref *fixup
	arg = strings.TrimSpace(arg)
	if src == isa.PseudoFunc {
		ref, err = parseTarget(arg, &s[0], fixFunc)
	} else {
		s[0].Imm, err = parseImm32(arg)
	}
	if err != nil {
		return nil, nil, err
	}
	if hasOff {
		if s[1].Imm, err = parseImm32(ops[2]); err != nil {
			return nil, nil, err
		}
	}
	return s[:], ref, nil
}

// parseRawSlot parses ".insn opcode, dst, src, off, imm".
func parseRawSlot(rest string) (isa.Instruction, *lineErr) {
	ops, err := splitOperands(rest)
	if err != nil {
		return isa.Instruction{}, err
	}
	if len(ops) != 5 {
		return isa.Instruction{}, fail(ErrOperands, ".insn takes opcode, dst, src, off, imm")
	}
	var v [4]int64
	limits := [4][2]int64{{0, 255}, {0, 15}, {0, 15}, {math.MinInt16, math.MaxInt16}}
	names := [4]string{"opcode", "dst", "src", "off"}
	for i := range v {
		x, err := parseInt(ops[i], limits[i][0], limits[i][1])
		if err != nil {
			return isa.Instruction{}, fail(err.err, "%s: %s", names[i], err.detail)
		}
		v[i] = x
	}
	imm, err := parseImm32(ops[4])
	if err != nil {
		return isa.Instruction{}, err
	}
	return isa.Instruction{Opcode: isa.Opcode(v[0]), Dst: isa.Register(v[1]), Src: isa.Register(v[2]), Off: int16(v[3]), Imm: imm}, nil
}

// cutWord splits s into its first white-space separated word and the rest.
func cutWord(s string) (word, rest string) {
	s = strings.TrimLeft(s, " \t\r")
	i := strings.IndexAny(s, " \t\r")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

func splitOperands(s string) ([]string, *lineErr) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	ops := strings.Split(s, ",")
	for i := range ops {
		ops[i] = strings.TrimSpace(ops[i])
		if ops[i] == "" {
			return nil, fail(ErrSyntax, "empty operand in %q", s)
		}
	}
	return ops, nil
}

func looksLikeReg(s string) bool {
	s = strings.TrimSpace(s)
	return strings.HasPrefix(s, "%") || len(s) >= 2 && (s[0] == 'r' || s[0] == 'R') && s[1] >= '0' && s[1] <= '9'
}

func parseReg(s string) (isa.Register, *lineErr) {
	s = strings.TrimSpace(s)
	name := strings.TrimPrefix(s, "%")
	if len(name) < 2 || (name[0] != 'r' && name[0] != 'R') {
		return 0, fail(ErrOperands, "%q is not a register", s)
	}
	n := 0
	for _, c := range name[1:] {
		if c < '0' || c > '9' || n > isa.NumRegisters {
			return 0, fail(ErrOperands, "%q is not a register", s)
		}
		n = n*10 + int(c-'0')
	}
	if n >= isa.NumRegisters || len(name) > 2 && name[1] == '0' {
		return 0, fail(ErrOperands, "%q is not a register (r0–r10)", s)
	}
	return isa.Register(n), nil
}

// parseMem parses [%rN], [%rN+off] or [%rN-off].
func parseMem(s string) (isa.Register, int16, *lineErr) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return 0, 0, fail(ErrOperands, "%q is not a memory operand [reg+off]", s)
	}
	body := strings.TrimSpace(s[1 : len(s)-1])
	i := strings.IndexAny(body, "+-")
	regText, offText := body, ""
	if i >= 0 {
		regText, offText = body[:i], body[i:]
	}
	r, err := parseReg(regText)
	if err != nil {
		return 0, 0, err
	}
	if i < 0 {
		return r, 0, nil
	}
	off, err := parseInt(strings.ReplaceAll(offText, " ", ""), math.MinInt16, math.MaxInt16)
	if err != nil {
		return 0, 0, fail(err.err, "offset in %q: %s", s, err.detail)
	}
	return r, int16(off), nil
}

// parseTarget parses a jump or call target: a label or a signed slot offset. A numeric
// offset is stored into in now; a label becomes a fixup.
func parseTarget(s string, in *isa.Instruction, kind fixKind) (*fixup, *lineErr) {
	s = strings.TrimSpace(s)
	if isIdent(s) {
		return &fixup{label: s, kind: kind}, nil
	}
	if kind == fixOff {
		v, err := parseInt(s, math.MinInt16, math.MaxInt16)
		if err != nil {
			return nil, fail(err.err, "jump offset: %s", err.detail)
		}
		in.Off = int16(v)
		return nil, nil
	}
	v, err := parseInt(s, math.MinInt32, math.MaxInt32)
	if err != nil {
		return nil, fail(err.err, "target offset: %s", err.detail)
	}
	in.Imm = int32(v)
	return nil, nil
}

// parseImm32 accepts anything that fits 32 bits, signed or unsigned; 0xffffffff is -1.
func parseImm32(s string) (int32, *lineErr) {
	v, err := parseInt(s, math.MinInt32, math.MaxUint32)
	if err != nil {
		return 0, err
	}
	return int32(uint32(v)), nil
}

// parseImm64 accepts any 64-bit value, signed or unsigned.
func parseImm64(s string) (uint64, *lineErr) {
	mag, neg, err := parseMagnitude(s)
	if err != nil {
		return 0, err
	}
	if neg {
		if mag > 1<<63 {
			return 0, fail(ErrRange, "%q does not fit 64 bits", s)
		}
		return -mag, nil
	}
	return mag, nil
}

// parseInt parses a signed decimal or 0x-hexadecimal number within [lo, hi].
func parseInt(s string, lo, hi int64) (int64, *lineErr) {
	mag, neg, err := parseMagnitude(s)
	if err != nil {
		return 0, err
	}
	var v int64
	switch {
	case !neg && mag <= math.MaxInt64:
		v = int64(mag)
	case neg && mag <= 1<<63:
		v = -int64(mag-1) - 1
	default:
		return 0, fail(ErrRange, "%q is not in [%d, %d]", s, lo, hi)
	}
	if v < lo || v > hi {
		return 0, fail(ErrRange, "%q is not in [%d, %d]", s, lo, hi)
	}
	return v, nil
}

func parseMagnitude(s string) (mag uint64, neg bool, err *lineErr) {
	t := strings.TrimSpace(s)
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	base := uint64(10)
	if len(t) > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') {
		base, t = 16, t[2:]
	}
	if t == "" {
		return 0, false, fail(ErrOperands, "%q is not a number", s)
	}
	for i := 0; i < len(t); i++ {
		d := uint64(255)
		switch c := t[i]; {
		case c >= '0' && c <= '9':
			d = uint64(c - '0')
		case c >= 'a' && c <= 'f':
			d = uint64(c-'a') + 10
		case c >= 'A' && c <= 'F':
			d = uint64(c-'A') + 10
		}
		if d >= base {
			return 0, false, fail(ErrOperands, "%q is not a number", s)
		}
		if mag > (math.MaxUint64-d)/base {
			return 0, false, fail(ErrRange, "%q does not fit 64 bits", s)
		}
		mag = mag*base + d
	}
	return mag, neg, nil
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	u := uint64(v)
	if neg {
		u = -u
	}
	var b [24]byte
	i := len(b)
	for u > 0 {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
