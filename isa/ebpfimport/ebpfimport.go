// Package ebpfimport turns programs described with github.com/cilium/ebpf — an
// asm.Instructions stream or a program of a BPF ELF object parsed by
// ebpf.LoadCollectionSpec — into an isa.Program.
//
// Only parsing happens here: nothing is loaded into a kernel and no bpf() system call is
// made. Symbolic references are resolved as follows:
//
//   - BPF-to-BPF calls and function-address loads (asm.Instruction.Reference naming a
//     Symbol of the same stream) become pc-relative offsets, as the kernel expects.
//   - Map loads (lddw referring to a map by name) become entries of isa.Program.Maps,
//     addressed by index: src = isa.PseudoMapIdx for the map itself, and
//     isa.PseudoMapIdxValue with the value offset in the second slot's imm for direct
//     value accesses (global variables in .data, .rodata, .bss).
//   - Function symbols and BTF function info become isa.Program.Funcs; BTF line info
//     becomes isa.Program.Lines.
//
// References that need a running kernel (kfunc calls, __ksym variables, .kconfig
// values) are reported as ErrUnsupported.
package ebpfimport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"

	"github.com/bpfjit/bpfjit/isa"
)

// Reasons an import fails.
var (
	ErrNoProgram           = errors.New("no such program")
	ErrUnresolvedReference = errors.New("unresolved reference")
	ErrUnsupported         = errors.New("unsupported reference")
	ErrEncode              = errors.New("instruction cannot be encoded")
	ErrParse               = errors.New("cannot parse ELF object")
)

// InsnError is an error at one instruction of the imported stream.
type InsnError struct {
	Index  int    // index in the asm.Instructions slice
	Slot   int    // slot offset (an lddw counts two)
	Err    error  // one of the Err* values of this package
	Detail string // what exactly was wrong, for people
}

func (e *InsnError) Error() string {
	return fmt.Sprintf("instruction %d (slot %d): %v: %s", e.Index, e.Slot, e.Err, e.Detail)
}

func (e *InsnError) Unwrap() error { return e.Err }

// FromInstructions converts an instruction stream. Every map it references by name gets
// an entry of Program.Maps carrying only the name (there is no MapSpec to describe it);
// a map already bound to a file descriptor (Instruction.Map) is kept as the entry's Spec.
func FromInstructions(insns asm.Instructions) (*isa.Program, error) {
	return convert(insns, func(name string) (isa.MapRef, bool) {
		return isa.MapRef{Name: name}, true
	})
}

// FromCollectionSpec converts the program named progName of a parsed collection: a key
// of spec.Programs (the function name) or, when unambiguous, an ELF section name. Map
// references are described from spec.Maps, with the *ebpf.MapSpec kept as Spec.
func FromCollectionSpec(spec *ebpf.CollectionSpec, progName string) (*isa.Program, error) {
	if spec == nil {
		return nil, fmt.Errorf("%w: nil collection", ErrNoProgram)
	}
	ps, err := findProgram(spec, progName)
	if err != nil {
		return nil, err
	}
	p, err := convert(ps.Instructions, func(name string) (isa.MapRef, bool) {
		ms, ok := spec.Maps[name]
		if !ok || ms == nil {
			return isa.MapRef{}, false
		}
		return isa.MapRef{
			Name:       name,
			Type:       uint32(ms.Type),
			KeySize:    ms.KeySize,
			ValueSize:  ms.ValueSize,
			MaxEntries: ms.MaxEntries,
			Flags:      ms.Flags,
			Spec:       ms,
		}, true
	})
	if err != nil {
		return nil, fmt.Errorf("program %s: %w", ps.Name, err)
	}
	p.Name = ps.Name
	return p, nil
}

// FromELF parses a BPF ELF object and converts its program progName (see
// FromCollectionSpec for how the name is matched).
func FromELF(r io.ReaderAt, progName string) (*isa.Program, error) {
	spec, err := ebpf.LoadCollectionSpecFromReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrParse, err)
	}
	return FromCollectionSpec(spec, progName)
}

// FromELFFile is FromELF for a file name.
func FromELFFile(path, progName string) (*isa.Program, error) {
	spec, err := ebpf.LoadCollectionSpec(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrParse, err)
	}
	return FromCollectionSpec(spec, progName)
}

func findProgram(spec *ebpf.CollectionSpec, name string) (*ebpf.ProgramSpec, error) {
	if ps, ok := spec.Programs[name]; ok && ps != nil {
		return ps, nil
	}
	var bySection []*ebpf.ProgramSpec
	names := make([]string, 0, len(spec.Programs))
	for n, ps := range spec.Programs {
		names = append(names, n)
		if ps != nil && ps.SectionName == name {
			bySection = append(bySection, ps)
		}
	}
	if len(bySection) == 1 {
		return bySection[0], nil
	}
	sort.Strings(names)
	if len(bySection) > 1 {
		return nil, fmt.Errorf("%w: section %q holds %d programs; name one of %s", ErrNoProgram, name, len(bySection), strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("%w: %q (the collection has %s)", ErrNoProgram, name, strings.Join(names, ", "))
}

// convert does the work of the From* functions; describe returns the map table entry for
// a referenced map name, or false when no such map exists.
func convert(in asm.Instructions, describe func(name string) (isa.MapRef, bool)) (*isa.Program, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: empty instruction stream", ErrNoProgram)
	}
	// Work on a copy: Marshal writes resolved offsets into the instructions.
	insns := make(asm.Instructions, len(in))
	copy(insns, in)

	p := &isa.Program{Name: in.Name()}
	symbols := map[string]int{}
	// Function starts: where BTF says a function begins, plus slot 0 and every target
	// of a call or function-address load. Other symbols are jump labels.
	funcs := map[int]isa.FuncInfo{}
	slots := make([]int, len(insns)) // slot offset of each instruction
	slot := 0
	for i := range insns {
		ins := &insns[i]
		slots[i] = slot
		if sym := ins.Symbol(); sym != "" {
			if _, dup := symbols[sym]; dup {
				return nil, &InsnError{Index: i, Slot: slot, Err: ErrUnresolvedReference, Detail: fmt.Sprintf("symbol %q defined twice", sym)}
			}
			symbols[sym] = slot
		}
		if fn := btf.FuncMetadata(ins); fn != nil {
			funcs[slot] = isa.FuncInfo{Start: slot, Name: fn.Name, BTF: fn}
		}
		if line, ok := ins.Source().(*btf.Line); ok && line != nil {
			p.Lines = append(p.Lines, isa.LineInfo{
				Slot:   slot,
				File:   line.FileName(),
				Line:   line.LineNumber(),
				Column: line.LineColumn(),
				Source: line.Line(),
			})
		}
		slot += int(ins.Width())
	}

	mapIndex := map[string]int{}
	for i := range insns {
		ins := &insns[i]
		ref := ins.Reference()
		// cilium keeps an atomic operation in OpCode, but Marshal writes the imm field
		// from Constant, which only decoded instructions fill in: built ones such as
		// asm.FetchAdd.Mem(...) would lose their operation. Derive it from OpCode.
		if a := ins.OpCode.AtomicOp(); a != asm.InvalidAtomic {
			ins.Constant = int64(a >> 8)
		}
		fail := func(err error, format string, args ...any) error {
			return &InsnError{Index: i, Slot: slots[i], Err: err, Detail: fmt.Sprintf(format, args...)}
		}
		switch {
		case ins.IsLoadFromMap() && (ref != "" || ins.Map() != nil):
			key, ref2 := "name:"+ref, isa.MapRef{}
			if ref == "" {
				// Bound to an existing map: keep it (one entry per descriptor), there is
				// no name to look up.
				m := ins.Map()
				key = fmt.Sprintf("fd:%d", m.FD())
				ref2 = isa.MapRef{Name: fmt.Sprintf("%v", m), Spec: m}
			} else {
				var ok bool
				if ref2, ok = describe(ref); !ok {
					return nil, fail(ErrUnresolvedReference, "map %q is not in the collection", ref)
				}
			}
			idx, seen := mapIndex[key]
			if !seen {
				idx = len(p.Maps)
				mapIndex[key] = idx
				p.Maps = append(p.Maps, ref2)
			}
			offset := uint64(0)
			src := asm.Register(isa.PseudoMapIdx)
			if ins.Src == asm.PseudoMapValue {
				offset = uint64(ins.Constant) >> 32
				src = isa.PseudoMapIdxValue
			}
			ins.Src = src
			// With src no longer a map fd, Marshal neither encodes a descriptor nor
			// treats the reference as a function.
			ins.Constant = int64(offset<<32 | uint64(uint32(idx)))
		case ins.IsKfuncCall():
			return nil, fail(ErrUnsupported, "kfunc call %q needs kernel BTF", ref)
		case ref == "":
		case ins.IsFunctionReference() || ins.OpCode.Class().IsJump():
			target, ok := symbols[ref]
			if !ok {
				return nil, fail(ErrUnresolvedReference, "function or label %q is not part of the program", ref)
			}
			if _, known := funcs[target]; ins.IsFunctionReference() && !known {
				funcs[target] = isa.FuncInfo{Start: target, Name: ref}
			}
		default:
			return nil, fail(ErrUnsupported, "reference %q of a %v instruction (ksym or kconfig?)", ref, ins.OpCode)
		}
	}

	if _, ok := funcs[0]; !ok && p.Name != "" {
		funcs[0] = isa.FuncInfo{Start: 0, Name: p.Name}
	}
	for _, f := range funcs {
		p.Funcs = append(p.Funcs, f)
	}
	sort.Slice(p.Funcs, func(i, j int) bool { return p.Funcs[i].Start < p.Funcs[j].Start })

	var buf bytes.Buffer
	if err := insns.Marshal(&buf, binary.LittleEndian); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncode, err)
	}
	out, err := isa.DecodeAll(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncode, err)
	}
	if len(out) != slot {
		return nil, fmt.Errorf("%w: %d slots encoded, %d expected", ErrEncode, len(out), slot)
	}
	p.Insns = out
	return p, nil
}
