package bpfjit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/arm64"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/internal/conformance/assembled"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
	"github.com/bpfjit/bpfjit/verifier"
	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/x86/x86asm"
	"golang.org/x/sys/cpu"
)

// corpus is every conformance-suite program plus n programs of the differential
// generator (which uses every opcode, both branch sizes, calls and atomics).
func corpus(t *testing.T, n int) map[string][]isa.Instruction {
	t.Helper()
	out, ok, err := assembled.Programs()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		out = map[string][]isa.Instruction{}
		t.Log("conformance suite not found: progen corpus only")
	}
	g := progen.New(6, progen.Options{Helpers: []int32{1, 7}})
	for k := range n {
		out[fmt.Sprintf("progen-%d", k)] = g.Program()
	}
	return out
}

// decodeMode is one way of compiling the corpus whose every emitted instruction is checked.
type decodeMode struct {
	name string
	arch string
	be   emit.Backend
	// lse: arm64 LSE atomics, which arm64asm cannot decode, are expected.
	lse bool
}

func decodeModes(t *testing.T) []decodeMode {
	var modes []decodeMode
	for _, arch := range Archs() {
		be, err := backendFor(arch)
		if err != nil {
			t.Fatal(err)
		}
		modes = append(modes, decodeMode{arch + " default", arch, be, arch == ArchARM64 && runtime.GOARCH == ArchARM64 && cpu.ARM64.HasATOMICS})
	}
	return append(modes,
		decodeMode{"arm64 LSE", ArchARM64, &arm64.Backend{GateEntryDisp: bridge.CtxGateEntry, Atomics: arm64.AtomicLSE}, true},
		decodeMode{"arm64 exclusive", ArchARM64, &arm64.Backend{GateEntryDisp: bridge.CtxGateEntry, Atomics: arm64.AtomicExclusive}, false})
}

// checkDecodes walks the whole image instruction by instruction with the architecture's
// disassembler, independently of Dump: everything decodes except the map-reference
// literals and (only when lse) the LSE words, and every slot, prologue and epilogue
// starts on an instruction boundary. It returns how many LSE words it met.
func checkDecodes(t *testing.T, name string, m decodeMode, l *Listing) (lse int) {
	t.Helper()
	code := l.image.Code
	holes := map[int]bool{}
	for _, r := range l.image.Relocs {
		holes[r.Off] = true
	}
	starts := map[int]bool{}
	for off := 0; off < len(code); {
		starts[off] = true
		switch {
		case m.arch == ArchARM64 && holes[off]:
			off += 8
		case m.arch == ArchARM64:
			w := binary.LittleEndian.Uint32(code[off:])
			if _, err := arm64asm.Decode(code[off : off+4]); err != nil {
				if _, ok := arm64Extra(w); !ok || !m.lse {
					t.Fatalf("%s: %s: word %#08x at %#x does not decode: %v", m.name, name, w, off, err)
				}
				lse++
			}
			off += 4
		default:
			in, err := x86asm.Decode(code[off:], 64)
			if err != nil {
				t.Fatalf("%s: %s: bytes %x at %#x do not decode: %v", m.name, name, code[off:min(off+15, len(code))], off, err)
			}
			off += in.Len
		}
	}
	for i, r := range l.NativeRanges() {
		if r.Start < r.End && !starts[r.Start] {
			t.Fatalf("%s: %s: slot %d's code starts at %#x, inside an instruction", m.name, name, i, r.Start)
		}
	}
	for _, f := range l.Functions() {
		for _, off := range []int{f.Prologue.Start, f.Prologue.End, f.Epilogue.Start} {
			if off < len(code) && !starts[off] {
				t.Fatalf("%s: %s: function at slot %d: boundary %#x inside an instruction", m.name, name, f.Slot, off)
			}
		}
	}
	return lse
}

// TestCompiledCodeDecodesOnEveryArch compiles the conformance suite and the progen
// corpus for both architectures, whatever the host, plain and blinded, and decodes every
// emitted instruction (x86asm, arm64asm). The only words arm64asm may reject are the LSE
// atomics (emit/arm64's golden tests list them), and only when LSE is selected.
func TestCompiledCodeDecodesOnEveryArch(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	progs := corpus(t, n)
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range progs {
			if !yield(k) {
				return
			}
		}
	})
	seed := [32]byte{1}
	for _, m := range decodeModes(t) {
		t.Run(m.name, func(t *testing.T) {
			lse := 0
			for _, blind := range []bool{false, true} {
				for _, name := range names {
					c := &config{unverified: true, blind: blind, blindSeed: &seed}
					l, err := compileWith(&isa.Program{Insns: progs[name]}, c, m.arch, m.be)
					if err != nil {
						var e *emit.Error
						if errors.As(err, &e) && errors.Is(err, emit.ErrTailCall) {
							continue // a documented refusal, not a code-generation question
						}
						t.Fatalf("%s (blind=%v): %v", name, blind, err)
					}
					lse += checkDecodes(t, name, m, l)
				}
			}
			if m.lse && lse == 0 {
				t.Errorf("LSE selected but no LSE atomic emitted: the corpus lacks atomics")
			}
			t.Logf("%d programs, %d LSE words", 2*len(names), lse)
		})
	}
}

// TestDumpOfCorpusHasNoBadLines: Dump shows every BPF instruction of the conformance
// suite and leaves nothing undecoded, for both architectures on any host.
func TestDumpOfCorpusHasNoBadLines(t *testing.T) {
	progs := corpus(t, 50)
	for _, m := range decodeModes(t) {
		for name, insns := range progs {
			l, err := compileWith(&isa.Program{Insns: insns}, &config{unverified: true}, m.arch, m.be)
			if errors.Is(err, emit.ErrTailCall) {
				continue
			}
			if err != nil {
				t.Fatalf("%s: %s: %v", m.name, name, err)
			}
			var b strings.Builder
			if err := l.Dump(&b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if strings.Contains(out, "(bad:") {
				t.Fatalf("%s: %s: undecoded code in the dump:\n%s", m.name, name, out)
			}
			for i := range insns {
				if i > 0 && insns[i-1].IsLdImm64() {
					continue // lddw's second slot has no line of its own
				}
				if !strings.Contains(out, fmt.Sprintf("\n%4d: ", i)) {
					t.Fatalf("%s: %s: slot %d missing from the dump:\n%s", m.name, name, i, out)
				}
			}
		}
	}
}

// TestArm64ExtraDecodesWhatArm64asmCannot pins the text of the LSE and cache-maintenance
// words against their encodings (as in emit/arm64's golden table and the Arm ARM).
func TestArm64ExtraDecodesWhatArm64asmCannot(t *testing.T) {
	cases := []struct {
		word uint32
		want string
	}{
		{0xf8e10040, "ldaddal x1, x0, [x2]"},
		{0xb8e10040, "ldaddal w1, w0, [x2]"},
		{0xf8e11040, "ldclral x1, x0, [x2]"},
		{0xf8e12040, "ldeoral x1, x0, [x2]"},
		{0xb8e13040, "ldsetal w1, w0, [x2]"},
		{0xf8e18040, "swpal x1, x0, [x2]"},
		{0xf8ea017f, "ldaddal x10, xzr, [x11]"},
		{0xf82a017f, "stadd x10, [x11]"},
		{0xf86a017f, "staddl x10, [x11]"},
		{0x38e10040, "ldaddalb w1, w0, [x2]"},
		{0xf8a10040, "ldadda x1, x0, [x2]"},
		{0xc8e1fc62, "casal x1, x2, [x3]"},
		{0x88e1fc62, "casal w1, w2, [x3]"},
		{0xc8a1fc62, "casl x1, x2, [x3]"},
		{0xc8e1ffe2, "casal x1, x2, [sp]"},
		{0xd50b7520, "ic ivau, x0"},
		{0xd50b753f, "ic ivau, xzr"},
	}
	for _, c := range cases {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], c.word)
		if _, err := arm64asm.Decode(b[:]); err == nil {
			t.Errorf("%#08x: arm64asm decodes it now; arm64Extra is not needed for it", c.word)
		}
		got, ok := arm64Extra(c.word)
		if !ok || got != c.want {
			t.Errorf("arm64Extra(%#08x) = %q, %v; want %q", c.word, got, ok, c.want)
		}
	}
	// Words arm64asm knows, or that are no instruction at all, are not claimed.
	for _, w := range []uint32{0xc85ffc41 /* ldaxr */, 0xd5033bbf /* dmb ish */, 0, 0xf8a1c040 /* ldapr */} {
		if text, ok := arm64Extra(w); ok {
			t.Errorf("arm64Extra(%#08x) = %q, want no match", w, text)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	ok := &isa.Program{Insns: []isa.Instruction{
		{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: isa.R0, Imm: 1},
		{Opcode: isa.OpExit},
	}}
	// Reads r6 uninitialised: the verifier refuses, an unverified compile does not.
	unsafeProg := &isa.Program{Insns: []isa.Instruction{
		{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceX), Dst: isa.R0, Src: isa.R6},
		{Opcode: isa.OpExit},
	}}
	cases := []struct {
		name  string
		prog  *isa.Program
		arch  string
		opts  []Option
		check func(error) bool
	}{
		{"unknown arch is a typed error", ok, "riscv64", nil, func(err error) bool {
			var e *UnknownArchError
			return errors.As(err, &e) && e.Arch == "riscv64" && strings.Contains(err.Error(), "amd64, arm64")
		}},
		{"empty arch is unknown", ok, "", nil, func(err error) bool {
			var e *UnknownArchError
			return errors.As(err, &e)
		}},
		{"nil program", nil, ArchAMD64, nil, func(err error) bool { return errors.Is(err, ErrNilProgram) }},
		{"verifies by default", unsafeProg, ArchARM64, nil, func(err error) bool {
			var e *verifier.Error
			return errors.As(err, &e) && e.Insn == 0 && errors.Is(err, verifier.ErrUninit)
		}},
		{"Unverified skips the verifier", unsafeProg, ArchARM64, []Option{Unverified()}, func(err error) bool { return err == nil }},
		{"verified program compiles", ok, ArchAMD64, nil, func(err error) bool { return err == nil }},
		{"emitter errors name the slot", &isa.Program{Insns: []isa.Instruction{
			{Opcode: isa.OpCall, Imm: emit.HelperTailCall}, {Opcode: isa.OpExit}}}, ArchARM64, []Option{Unverified()},
			func(err error) bool {
				var e *emit.Error
				return errors.As(err, &e) && e.Index == 0 && errors.Is(err, emit.ErrTailCall)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := Compile(c.prog, c.arch, c.opts...)
			if !c.check(err) {
				t.Fatalf("Compile = %v", err)
			}
			if err == nil && l.Arch() != c.arch {
				t.Errorf("Arch() = %q, want %q", l.Arch(), c.arch)
			}
		})
	}
}

// TestCompileMatchesLoad: compiling for the host gives the bytes Load makes executable,
// so a listing shows exactly what runs.
func TestCompileMatchesLoad(t *testing.T) {
	if _, err := hostBackend(); err != nil {
		t.Skip(err)
	}
	insns, err := asm.Assemble("mov %r0, 7\nlddw %r2, 0x1122334455667788\njeq %r1, 0, +1\nadd %r0, %r2\nexit")
	if err != nil {
		t.Fatal(err)
	}
	p := &isa.Program{Insns: insns}
	l, err := Compile(p, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if !slices.Equal(l.Native(), prog.Native()) {
		t.Errorf("Compile and Load differ:\n%x\n%x", l.Native(), prog.Native())
	}
	if !slices.Equal(l.NativeRanges(), prog.NativeRanges()) || !slices.Equal(l.Functions(), prog.Functions()) {
		t.Errorf("ranges or functions differ")
	}
}

// TestCompileMapReferences: without a resolver the address stays zero (a listing, unlike
// Load, does not need it), with one it is filled; arm64 shows the literal as data.
func TestCompileMapReferences(t *testing.T) {
	ld := isa.LdImm64(isa.R1, isa.PseudoMapIdx, 3)
	p := &isa.Program{Insns: []isa.Instruction{ld[0], ld[1],
		{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Dst: isa.R0, Imm: 0}, {Opcode: isa.OpExit}}}
	resolver := func(src isa.Register, imm, imm2 int32) (uint64, error) {
		if src != isa.PseudoMapIdx || imm != 3 {
			return 0, fmt.Errorf("unexpected reference src=%d imm=%d", src, imm)
		}
		return 0xabcdef012345, nil
	}
	for _, arch := range Archs() {
		for _, withResolver := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s resolver=%v", arch, withResolver), func(t *testing.T) {
				opts := []Option{Unverified()}
				want := uint64(0)
				if withResolver {
					opts, want = append(opts, WithMapResolver(resolver)), 0xabcdef012345
				}
				l, err := Compile(p, arch, opts...)
				if err != nil {
					t.Fatal(err)
				}
				if len(l.image.Relocs) != 1 {
					t.Fatalf("%d relocations, want 1", len(l.image.Relocs))
				}
				if got := binary.LittleEndian.Uint64(l.image.Code[l.image.Relocs[0].Off:]); got != want {
					t.Errorf("address = %#x, want %#x", got, want)
				}
				var b strings.Builder
				if err := l.Dump(&b); err != nil {
					t.Fatal(err)
				}
				out := b.String()
				if strings.Contains(out, "(bad:") {
					t.Errorf("undecoded code:\n%s", out)
				}
				if arch == ArchARM64 && !strings.Contains(out, fmt.Sprintf(".quad %#x\t; map reference of slot 0", want)) {
					t.Errorf("arm64 dump does not show the literal as data:\n%s", out)
				}
				if arch == ArchAMD64 && !strings.Contains(out, fmt.Sprintf("mov rdi, %#x\t; map reference of slot 0", want)) {
					t.Errorf("amd64 dump does not mark the movabs as the map reference:\n%s", out)
				}
			})
		}
	}
	failing := WithMapResolver(func(isa.Register, int32, int32) (uint64, error) { return 0, errors.New("no such map") })
	_, err := Compile(p, ArchARM64, Unverified(), failing)
	var e *emit.Error
	if !errors.As(err, &e) || e.Index != 0 || !strings.Contains(err.Error(), "no such map") {
		t.Errorf("failing resolver: err = %v, want an *emit.Error at slot 0", err)
	}
}
