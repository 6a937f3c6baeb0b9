package interp

import (
	"fmt"
	"sort"

	"github.com/bpfjit/bpfjit/isa"
)

// MapRef names the map an lddw pseudo source refers to.
type MapRef struct {
	ByIndex bool  // Ref indexes isa.Program.Maps (PseudoMapIdx*); otherwise Ref is a map fd/handle
	Ref     int32 // the lddw's immediate
}

// MapResolver resolves lddw pseudo sources; the loader that owns the maps provides it.
type MapResolver interface {
	// MapHandle returns the 64-bit value `lddw dst, map` loads (PseudoMapFD, PseudoMapIdx): the
	// handle the program then passes to map helpers.
	MapHandle(ref MapRef) (uint64, error)
	// MapValue returns the memory of the map's value (PseudoMapValue, PseudoMapIdxValue: the
	// single value of an array map). The lddw loads its address plus the offset in the second
	// slot. The memory is registered for every run of the program; readOnly makes it reject
	// stores (frozen maps).
	MapValue(ref MapRef) (value []byte, readOnly bool, err error)
}

// Options configure New.
type Options struct {
	Maps MapResolver // needed only when the program loads maps
}

// Program is a program decoded for the interpreter. It is immutable and may be run from
// many goroutines at once.
type Program struct {
	name    string
	code    []insn
	funcs   []int    // sorted first slots of the BPF functions (subprograms)
	regions []region // map values lddw refers to, registered in every run
}

func (p *Program) isFuncStart(slot int) bool {
	i := sort.SearchInts(p.funcs, slot)
	return i < len(p.funcs) && p.funcs[i] == slot
}

// FuncAddr is the value `lddw dst, func` (PseudoFunc) loads for the BPF function starting at
// slot. It is a tag, not an address: it only identifies the callback to helpers.
func FuncAddr(slot int) uint64 { return funcAddrTag | uint64(uint32(slot)) }

// FuncSlot inverts FuncAddr.
func FuncSlot(v uint64) (slot int, ok bool) {
	if v&^0xffffffff != funcAddrTag {
		return 0, false
	}
	return int(uint32(v)), true
}

const funcAddrTag = 0xbf00_0000_0000_0000 // a non-canonical address: never a real pointer

// New validates p with isa.Validate (returning its error unchanged), rejects writes to r10,
// resolves lddw pseudo sources and decodes the instructions into the form Run executes.
func New(p *isa.Program, opts *Options) (*Program, error) {
	if p == nil {
		return nil, isa.ErrEmpty
	}
	if err := isa.Validate(p.Insns); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &Options{}
	}
	prog := &Program{name: p.Name, code: make([]insn, len(p.Insns)), funcs: isa.SubprogramStarts(p.Insns)}
	for i := 0; i < len(p.Insns); i++ {
		in := p.Insns[i]
		if writesR10(in) {
			return nil, errAt(i, ErrFrameWrite, "opcode %#02x", uint8(in.Opcode))
		}
		if in.IsLdImm64() {
			v, err := prog.resolveLdImm64(i, in, p.Insns[i+1], opts)
			if err != nil {
				return nil, err
			}
			prog.code[i] = insn{op: opLdImm64, dst: uint8(in.Dst), k: v}
			prog.code[i+1] = insn{op: opInvalid}
			i++
			continue
		}
		prog.code[i] = decode(i, in)
	}
	return prog, nil
}

// Len is the number of instruction slots.
func (p *Program) Len() int { return len(p.code) }

// Name is the isa.Program's name.
func (p *Program) Name() string { return p.name }

func (p *Program) resolveLdImm64(i int, lo, hi isa.Instruction, opts *Options) (uint64, error) {
	switch lo.Src {
	case 0:
		return isa.Imm64(lo, hi), nil
	case isa.PseudoFunc:
		return FuncAddr(i + 1 + int(lo.Imm)), nil
	case isa.PseudoBTFID:
		return 0, errAt(i, ErrUnsupported, "lddw of BTF id %d (kernel symbol address)", lo.Imm)
	}
	if opts.Maps == nil {
		return 0, errAt(i, ErrUnresolved, "pseudo source %d with no MapResolver", lo.Src)
	}
	ref := MapRef{ByIndex: lo.Src == isa.PseudoMapIdx || lo.Src == isa.PseudoMapIdxValue, Ref: lo.Imm}
	switch lo.Src {
	case isa.PseudoMapFD, isa.PseudoMapIdx:
		h, err := opts.Maps.MapHandle(ref)
		if err != nil {
			return 0, &Error{Index: i, Err: fmt.Errorf("%w: %w", ErrUnresolved, err), Detail: fmt.Sprintf("map %+v", ref)}
		}
		return h, nil
	default: // PseudoMapValue, PseudoMapIdxValue
		val, ro, err := opts.Maps.MapValue(ref)
		if err != nil {
			return 0, &Error{Index: i, Err: fmt.Errorf("%w: %w", ErrUnresolved, err), Detail: fmt.Sprintf("map value %+v", ref)}
		}
		off := uint64(uint32(hi.Imm))
		if off >= uint64(len(val)) {
			return 0, errAt(i, ErrUnresolved, "offset %d outside map value of %d bytes", off, len(val))
		}
		base := addrOf(val)
		p.regions = append(p.regions, region{base: base, mem: val, readOnly: ro})
		return base + off, nil
	}
}

// writesR10 reports instructions that would change r10. isa.Validate accepts them (it checks
// encodings only); the kernel's verifier rejects them, and so does New, once, so that Run
// need not check at every instruction.
func writesR10(in isa.Instruction) bool {
	op := in.Opcode
	switch op.Class() {
	case isa.ClassALU, isa.ClassALU64, isa.ClassLDX:
		return in.Dst == isa.R10
	case isa.ClassLD:
		return in.IsLdImm64() && in.Dst == isa.R10
	case isa.ClassSTX:
		if op.Mode() == isa.ModeATOMIC && isa.AtomicOp(in.Imm)&isa.AtomicFetch != 0 {
			return in.Src == isa.R10 && isa.AtomicOp(in.Imm) != isa.AtomicCmpXchg
		}
	}
	return false
}
