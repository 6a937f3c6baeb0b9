package isa

import (
	"slices"

	"github.com/cilium/ebpf/btf"
)

// Program is a sequence of instruction slots plus what is known about it beyond the bytes.
type Program struct {
	Name  string
	Insns []Instruction

	// Funcs names subprograms and, when available, carries their BTF. Entries are keyed by
	// their start slot; subprogram boundaries themselves are derived from the code
	// (Subprograms), so Funcs may be empty or partial.
	Funcs []FuncInfo
	// Lines is BTF line info, sorted by slot; may be empty.
	Lines []LineInfo
	// Maps is the table that lddw with PseudoMapIdx/PseudoMapIdxValue indexes into.
	// It is bound to real maps at load time.
	Maps []MapRef
}

// FuncInfo describes the function that starts at slot Start.
type FuncInfo struct {
	Start int
	Name  string
	BTF   *btf.Func // nil when the program came without BTF
}

// LineInfo maps a slot to a source line.
type LineInfo struct {
	Slot   int
	File   string
	Line   uint32
	Column uint32
	Source string
}

// MapRef is an entry of a program's map table: what the program expects of a map that
// the loader binds at load time.
type MapRef struct {
	Name       string
	Type       uint32 // kernel map type numbering (BPF_MAP_TYPE_*)
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	// Spec is the importer's original description (for example a *ebpf.MapSpec), kept for
	// loaders that need more than the fields above. May be nil.
	Spec any
}

// Subprogram is a half-open slot range [Start, End) of one BPF function.
// Subprogram 0 is the main program.
type Subprogram struct {
	Start, End int
	Name       string
	BTF        *btf.Func
}

// SubprogramStarts returns the sorted start slots of all functions: slot 0 and every
// in-range target of a local call or a function-address lddw. Out-of-range targets are
// ignored here; Validate reports them.
func SubprogramStarts(insns []Instruction) []int {
	out := []int{0}
	sorted := true // calls usually target later functions, in order: no sort needed then
	for i := 0; i < len(insns); i++ {
		in := insns[i]
		if in.IsLocalCall() || in.IsFuncAddr() {
			out, sorted = addStart(out, sorted, i+1+int(in.Imm), len(insns))
		}
		if in.IsLdImm64() {
			i++
		}
	}
	if !sorted {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out
}

// Subprograms returns the program's functions in slot order, named from Funcs where it
// has an entry for their start.
func (p *Program) Subprograms() []Subprogram {
	if len(p.Insns) == 0 {
		return nil
	}
	starts := SubprogramStarts(p.Insns)
	info := make(map[int]FuncInfo, len(p.Funcs))
	for _, f := range p.Funcs {
		info[f.Start] = f
	}
	subs := make([]Subprogram, len(starts))
	for i, s := range starts {
		end := len(p.Insns)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		subs[i] = Subprogram{Start: s, End: end, Name: info[s].Name, BTF: info[s].BTF}
	}
	return subs
}

// Bytes returns the raw little-endian bytecode.
func (p *Program) Bytes() []byte { return EncodeAll(p.Insns) }

// NewProgram decodes raw bytecode into a Program without validating it.
func NewProgram(code []byte) (*Program, error) {
	insns, err := DecodeAll(code)
	if err != nil {
		return nil, err
	}
	return &Program{Insns: insns}, nil
}
