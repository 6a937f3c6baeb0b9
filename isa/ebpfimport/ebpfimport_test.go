package ebpfimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/bpfjit/bpfjit/isa"
	bpfasm "github.com/bpfjit/bpfjit/isa/asm"
)

const elfDir = "../../testdata/elf"

// Kernel map type numbers (BPF_MAP_TYPE_*).
const (
	mapHash  = 1
	mapArray = 2
)

// Each object of testdata/elf imports into a valid program of the expected shape.
func TestFromELFFileImportsTestdataObjects(t *testing.T) {
	type fn struct {
		name  string
		start int
	}
	cases := []struct {
		object, program string
		slots           int
		funcs           []fn
		maps            []isa.MapRef     // Spec is not compared
		mapLoads        map[int][2]int32 // slot -> src, imm of an lddw referring to the table
		noBTF           bool             // built without -g: no func or line info
	}{
		{object: "csum.o", program: "csum", slots: 161, funcs: []fn{{"csum", 0}}},
		{object: "calls.o", program: "calls", slots: 35,
			funcs: []fn{{"calls", 0}, {"combine", 3}, {"fib", 12}, {"gcd", 25}}},
		{object: "calls_nobtf.o", program: "calls", slots: 35, noBTF: true,
			funcs: []fn{{"calls", 0}, {"combine", 3}, {"fib", 12}, {"gcd", 25}}},
		{object: "global_func.o", program: "global_entry", slots: 23,
			funcs: []fn{{"global_entry", 0}, {"parse_decimal", 2}}},
		{object: "v4ops.o", program: "v4ops", slots: 16, funcs: []fn{{"v4ops", 0}}},
		{object: "maps.o", program: "count", slots: 65, funcs: []fn{{"count", 0}},
			maps: []isa.MapRef{
				{Name: ".bss", Type: mapArray, KeySize: 4, ValueSize: 8, MaxEntries: 1},
				{Name: ".data", Type: mapArray, KeySize: 4, ValueSize: 8, MaxEntries: 1},
				{Name: ".rodata", Type: mapArray, KeySize: 4, ValueSize: 4, MaxEntries: 1, Flags: 0x80}, // BPF_F_RDONLY_PROG
				{Name: "src_bytes", Type: mapHash, KeySize: 4, ValueSize: 8, MaxEntries: 1024},
				{Name: "proto_count", Type: mapArray, KeySize: 4, ValueSize: 8, MaxEntries: 256},
			},
			mapLoads: map[int][2]int32{
				0:  {isa.PseudoMapIdxValue, 0}, // frames_seen++ (.bss)
				37: {isa.PseudoMapIdx, 3},      // &src_bytes for bpf_map_lookup_elem
				55: {isa.PseudoMapIdx, 4},      // &proto_count
			}},
	}
	for _, c := range cases {
		t.Run(c.object, func(t *testing.T) {
			p, err := FromELFFile(filepath.Join(elfDir, c.object), c.program)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Validate(); err != nil {
				t.Fatalf("imported program does not validate: %v", err)
			}
			if p.Name != c.program || len(p.Insns) != c.slots {
				t.Errorf("got %q with %d slots, want %q with %d", p.Name, len(p.Insns), c.program, c.slots)
			}
			var got []fn
			for _, f := range p.Funcs {
				got = append(got, fn{f.Name, f.Start})
				if c.noBTF != (f.BTF == nil) || f.BTF != nil && f.BTF.Name != f.Name {
					t.Errorf("func %s has BTF %v", f.Name, f.BTF)
				}
			}
			if len(got) != len(c.funcs) {
				t.Fatalf("funcs %v, want %v", got, c.funcs)
			}
			for i := range got {
				if got[i] != c.funcs[i] {
					t.Errorf("funcs %v, want %v", got, c.funcs)
				}
			}
			// Every function start the code implies has a name.
			for _, s := range p.Subprograms() {
				if s.Name == "" {
					t.Errorf("subprogram at %d has no name", s.Start)
				}
			}
			if len(p.Maps) != len(c.maps) {
				t.Fatalf("%d maps, want %d: %+v", len(p.Maps), len(c.maps), p.Maps)
			}
			for i, m := range p.Maps {
				spec, ok := m.Spec.(*ebpf.MapSpec)
				if !ok || spec.Name != m.Name {
					t.Errorf("map %d: Spec %T does not describe %s", i, m.Spec, m.Name)
				}
				m.Spec = nil
				if m != c.maps[i] {
					t.Errorf("map %d = %+v, want %+v", i, m, c.maps[i])
				}
			}
			for slot, want := range c.mapLoads {
				in := p.Insns[slot]
				if !in.IsLdImm64() || int32(in.Src) != want[0] || in.Imm != want[1] {
					t.Errorf("slot %d = %+v, want lddw src %d imm %d", slot, in, want[0], want[1])
				}
			}
			// No map load is left referring to a file descriptor.
			for i, in := range p.Insns {
				if in.IsLdImm64() && (in.Src == isa.PseudoMapFD || in.Src == isa.PseudoMapValue) {
					t.Errorf("slot %d still loads a map by fd", i)
				}
			}
			if c.noBTF {
				if len(p.Lines) != 0 {
					t.Errorf("line info without BTF: %+v", p.Lines)
				}
			} else if len(p.Lines) == 0 || !strings.HasSuffix(p.Lines[0].File, "/"+strings.TrimSuffix(c.object, ".o")+".c") || p.Lines[0].Line == 0 {
				t.Errorf("line info missing or wrong: %+v", p.Lines)
			}
			text, err := bpfasm.DisassembleProgram(p)
			if err != nil {
				t.Fatal(err)
			}
			back, err := bpfasm.Assemble(text)
			if err != nil || !bytes.Equal(isa.EncodeAll(back), p.Bytes()) {
				t.Errorf("disassembly does not round-trip (%v):\n%s", err, text)
			}
		})
	}
}

// samples.json names an object and program for every sample input; they must import.
func TestSamplesNameImportablePrograms(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(elfDir, "samples.json"))
	if err != nil {
		t.Fatal(err)
	}
	var samples []struct{ Object, Program, Input, Result string }
	if err := json.Unmarshal(b, &samples); err != nil {
		t.Fatal(err)
	}
	if len(samples) == 0 {
		t.Fatal("no samples")
	}
	for _, s := range samples {
		if _, err := FromELFFile(filepath.Join(elfDir, s.Object), s.Program); err != nil {
			t.Errorf("%s/%s: %v", s.Object, s.Program, err)
		}
		if _, err := os.Stat(filepath.Join(elfDir, s.Input)); err != nil {
			t.Errorf("input %s: %v", s.Input, err)
		}
	}
}

// v4ops.o was built with -mcpu=v4; its v4 instructions survive the import intact.
func TestFromELFKeepsV4Instructions(t *testing.T) {
	p, err := FromELFFile(filepath.Join(elfDir, "v4ops.o"), "v4ops")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := bpfasm.Disassemble(p.Insns)
	for _, want := range []string{"ldxsb ", "movsx1632 ", "sdiv32 ", "swap32 ", "smod32 "} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
}

// Programs are found by function name or, when unambiguous, by ELF section name.
func TestFromELFFindsProgramsBySectionName(t *testing.T) {
	f, err := os.Open(filepath.Join(elfDir, "csum.o"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := FromELF(f, "raw/csum")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "csum" {
		t.Errorf("name %q", p.Name)
	}
	_, err = FromELF(f, "nope")
	if !errors.Is(err, ErrNoProgram) || !strings.Contains(err.Error(), "csum") {
		t.Errorf("got %v, want ErrNoProgram listing the programs", err)
	}
}

func TestFromELFRejectsNonELF(t *testing.T) {
	_, err := FromELF(bytes.NewReader([]byte("not an ELF object at all")), "x")
	if !errors.Is(err, ErrParse) {
		t.Fatalf("got %v, want ErrParse", err)
	}
	_, err = FromELFFile(filepath.Join(elfDir, "missing.o"), "x")
	if !errors.Is(err, ErrParse) {
		t.Fatalf("got %v, want ErrParse", err)
	}
}

// A hand-built cilium program imports to the same slots as the equivalent text.
func TestFromInstructionsMatchesAssembler(t *testing.T) {
	insns := asm.Instructions{
		asm.LoadMapPtr(asm.R1, 0).WithReference("counters"),
		asm.LoadMapValue(asm.R2, 0, 12).WithReference(".data"),
		asm.LoadMapPtr(asm.R3, 0).WithReference("counters"),
		asm.Call.Label("sub"),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.SDiv.Imm(asm.R0, 3),
		asm.Mov.Imm(asm.R0, 1).WithSymbol("out"),
		asm.Return(),
		asm.FetchAdd.Mem(asm.R10, asm.R1, asm.Word, -4).WithSymbol("sub"),
		asm.LoadImm(asm.R0, 0x1122334455667788, asm.DWord),
		asm.FnKtimeGetNs.Call(),
		asm.Return(),
	}
	want, err := bpfasm.Assemble(`
		lddw %r1, map_idx 0
		lddw %r2, map_idx_value 1, 12
		lddw %r3, map_idx 0
		call local sub
		jeq %r0, 0, out
		sdiv %r0, 3
	out:	mov %r0, 1
		exit
	sub:	lock fetch add32 [%r10-4], %r1
		lddw %r0, 0x1122334455667788
		call 5
		exit`)
	if err != nil {
		t.Fatal(err)
	}
	p, err := FromInstructions(insns)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Bytes(), isa.EncodeAll(want)) {
		got, _ := bpfasm.Disassemble(p.Insns)
		t.Fatalf("imported program differs from the assembled one:\n%s", got)
	}
	if len(p.Maps) != 2 || p.Maps[0].Name != "counters" || p.Maps[1].Name != ".data" {
		t.Errorf("maps %+v, want counters then .data", p.Maps)
	}
	if len(p.Funcs) != 1 || p.Funcs[0] != (isa.FuncInfo{Start: 11, Name: "sub"}) {
		t.Errorf("funcs %+v, want sub at 11", p.Funcs)
	}
	// The caller's instructions are left symbolic.
	if insns[3].Constant != -1 || insns[0].Src != asm.PseudoMapFD {
		t.Errorf("FromInstructions modified its input: %v %v", insns[3], insns[0])
	}
}

// References that cannot be resolved without a kernel, or at all, are typed errors that
// name the instruction.
func TestFromInstructionsReportsUnresolvableReferences(t *testing.T) {
	kfunc := asm.Instruction{OpCode: asm.Call.Op(asm.ImmSource), Src: asm.PseudoKfuncCall, Constant: -1}.WithReference("bpf_kfunc")
	cases := []struct {
		name  string
		insns asm.Instructions
		index int
		want  error
	}{
		{"call to a missing function", asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Call.Label("nowhere"), asm.Return()}, 1, ErrUnresolvedReference},
		{"jump to a missing label", asm.Instructions{asm.Ja.Label("nowhere"), asm.Return()}, 0, ErrUnresolvedReference},
		{"kfunc call", asm.Instructions{kfunc, asm.Return()}, 0, ErrUnsupported},
		{"ksym load", asm.Instructions{asm.LoadImm(asm.R1, 0, asm.DWord).WithReference("jiffies"), asm.Return()}, 0, ErrUnsupported},
		{"duplicate symbol", asm.Instructions{asm.Return().WithSymbol("a"), asm.Return().WithSymbol("a")}, 1, ErrUnresolvedReference},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := FromInstructions(c.insns)
			var ie *InsnError
			if !errors.As(err, &ie) || !errors.Is(err, c.want) || ie.Index != c.index {
				t.Fatalf("got %v, want %v at instruction %d", err, c.want, c.index)
			}
		})
	}
	if _, err := FromInstructions(nil); !errors.Is(err, ErrNoProgram) {
		t.Errorf("empty stream: got %v", err)
	}
}

// A map the collection does not define is an unresolved reference.
func TestFromCollectionSpecRequiresReferencedMaps(t *testing.T) {
	spec, err := ebpf.LoadCollectionSpec(filepath.Join(elfDir, "maps.o"))
	if err != nil {
		t.Fatal(err)
	}
	delete(spec.Maps, "src_bytes")
	_, err = FromCollectionSpec(spec, "count")
	var ie *InsnError
	if !errors.Is(err, ErrUnresolvedReference) || !errors.As(err, &ie) || !strings.Contains(err.Error(), "src_bytes") {
		t.Fatalf("got %v, want an unresolved reference to src_bytes", err)
	}
	if _, err := FromCollectionSpec(nil, "count"); !errors.Is(err, ErrNoProgram) {
		t.Errorf("nil spec: got %v", err)
	}
}

// Debug info changes what is known about a program, never its code.
func TestFromELFCodeDoesNotDependOnBTF(t *testing.T) {
	with, err := FromELFFile(filepath.Join(elfDir, "calls.o"), "calls")
	if err != nil {
		t.Fatal(err)
	}
	without, err := FromELFFile(filepath.Join(elfDir, "calls_nobtf.o"), "calls")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(with.Bytes(), without.Bytes()) {
		t.Fatal("calls.o and calls_nobtf.o import to different code")
	}
}

type fakeMap int

func (m fakeMap) FD() int        { return int(m) }
func (m fakeMap) String() string { return fmt.Sprintf("fake map %d", int(m)) }

// Maps already bound to descriptors get one table entry per descriptor, the map kept
// as the entry's Spec.
func TestFromInstructionsKeepsBoundMaps(t *testing.T) {
	bind := func(dst asm.Register, m fakeMap) asm.Instruction {
		ins := asm.LoadMapPtr(dst, 0)
		if err := ins.AssociateMap(m); err != nil {
			t.Fatal(err)
		}
		return ins
	}
	p, err := FromInstructions(asm.Instructions{bind(asm.R1, 7), bind(asm.R2, 9), bind(asm.R3, 7), asm.Return()})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Maps) != 2 || p.Maps[0].Spec != fakeMap(7) || p.Maps[1].Spec != fakeMap(9) || p.Maps[0].Name != "fake map 7" {
		t.Fatalf("maps %+v, want fake maps 7 and 9", p.Maps)
	}
	for slot, idx := range map[int]int32{0: 0, 2: 1, 4: 0} {
		if in := p.Insns[slot]; in.Src != isa.PseudoMapIdx || in.Imm != idx {
			t.Errorf("slot %d = %+v, want map_idx %d", slot, in, idx)
		}
	}
}
