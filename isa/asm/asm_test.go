package asm

import (
	"errors"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/isa"
)

func ins(op isa.Opcode, dst, src isa.Register, off int16, imm int32) isa.Instruction {
	return isa.Instruction{Opcode: op, Dst: dst, Src: src, Off: off, Imm: imm}
}

// Each mnemonic form encodes to the slot the RFC 9669 opcode tables give.
func TestAssembleEncodesEachForm(t *testing.T) {
	cases := []struct {
		text string
		want []isa.Instruction
	}{
		{"mov %r0, 1", []isa.Instruction{ins(0xb7, 0, 0, 0, 1)}},
		{"mov32 %r0, -1", []isa.Instruction{ins(0xb4, 0, 0, 0, -1)}},
		{"mov %r1, 0xffffffff", []isa.Instruction{ins(0xb7, 1, 0, 0, -1)}},
		{"add32 %r1, %r2", []isa.Instruction{ins(0x0c, 1, 2, 0, 0)}},
		{"sdiv %r1, 3", []isa.Instruction{ins(0x37, 1, 0, 1, 3)}},
		{"smod32 %r1, %r9", []isa.Instruction{ins(0x9c, 1, 9, 1, 0)}},
		{"arsh %r3, 63", []isa.Instruction{ins(0xc7, 3, 0, 0, 63)}},
		{"neg %r4", []isa.Instruction{ins(0x87, 4, 0, 0, 0)}},
		{"neg32 %r4", []isa.Instruction{ins(0x84, 4, 0, 0, 0)}},
		{"movsx832 %r1, %r2", []isa.Instruction{ins(0xbc, 1, 2, 8, 0)}},
		{"movsx3264 %r1, %r2", []isa.Instruction{ins(0xbf, 1, 2, 32, 0)}},
		{"le16 %r1", []isa.Instruction{ins(0xd4, 1, 0, 0, 16)}},
		{"be64 %r1", []isa.Instruction{ins(0xdc, 1, 0, 0, 64)}},
		{"swap32 %r1", []isa.Instruction{ins(0xd7, 1, 0, 0, 32)}},
		{"bswap32 %r1", []isa.Instruction{ins(0xd7, 1, 0, 0, 32)}},
		{"ldxw %r0, [%r1+4]", []isa.Instruction{ins(0x61, 0, 1, 4, 0)}},
		{"ldxdw %r0, [%r1]", []isa.Instruction{ins(0x79, 0, 1, 0, 0)}},
		{"ldxsh %r0, [%r1+0x10]", []isa.Instruction{ins(0x89, 0, 1, 16, 0)}},
		{"stxdw [%r10-8], %r1", []isa.Instruction{ins(0x7b, 10, 1, -8, 0)}},
		{"stb [%r1+2], 0x11", []isa.Instruction{ins(0x72, 1, 0, 2, 0x11)}},
		{"lock add [%r1+0], %r2", []isa.Instruction{ins(0xdb, 1, 2, 0, 0)}},
		{"lock fetch xor32 [%r1-4], %r2", []isa.Instruction{ins(0xc3, 1, 2, -4, 0xa1)}},
		{"lock xchg [%r10-8], %r1", []isa.Instruction{ins(0xdb, 10, 1, -8, 0xe1)}},
		{"lock cmpxchg32 [%r1+0], %r2", []isa.Instruction{ins(0xc3, 1, 2, 0, 0xf1)}},
		{"jeq %r1, 0, +3", []isa.Instruction{ins(0x15, 1, 0, 3, 0)}},
		{"jsle32 %r1, %r2, -1", []isa.Instruction{ins(0xde, 1, 2, -1, 0)}},
		{"jset %r1, 0x80000000, +1", []isa.Instruction{ins(0x45, 1, 0, 1, -0x80000000)}},
		{"ja +0", []isa.Instruction{ins(0x05, 0, 0, 0, 0)}},
		{"ja32 -70000", []isa.Instruction{ins(0x06, 0, 0, 0, -70000)}},
		{"call 5", []isa.Instruction{ins(0x85, 0, 0, 0, 5)}},
		{"call %r2", []isa.Instruction{ins(0x8d, 2, 0, 0, 0)}},
		{"call local +2", []isa.Instruction{ins(0x85, 0, 1, 0, 2)}},
		{"call kfunc 1234", []isa.Instruction{ins(0x85, 0, 2, 0, 1234)}},
		{"exit", []isa.Instruction{ins(0x95, 0, 0, 0, 0)}},
		{"lddw %r0, 0x1122334455667788", []isa.Instruction{ins(0x18, 0, 0, 0, 0x55667788), ins(0, 0, 0, 0, 0x11223344)}},
		{"lddw %r0, -1", []isa.Instruction{ins(0x18, 0, 0, 0, -1), ins(0, 0, 0, 0, -1)}},
		{"lddw %r1, map_fd 3", []isa.Instruction{ins(0x18, 1, 1, 0, 3), ins(0, 0, 0, 0, 0)}},
		{"lddw %r1, map_value 3, 16", []isa.Instruction{ins(0x18, 1, 2, 0, 3), ins(0, 0, 0, 0, 16)}},
		{"lddw %r1, btf_id 77", []isa.Instruction{ins(0x18, 1, 3, 0, 77), ins(0, 0, 0, 0, 0)}},
		{"lddw %r1, func -3", []isa.Instruction{ins(0x18, 1, 4, 0, -3), ins(0, 0, 0, 0, 0)}},
		{"lddw %r1, map_idx 0", []isa.Instruction{ins(0x18, 1, 5, 0, 0), ins(0, 0, 0, 0, 0)}},
		{"lddw %r1, map_idx_value 2, 8", []isa.Instruction{ins(0x18, 1, 6, 0, 2), ins(0, 0, 0, 0, 8)}},
		{"ldabsh 12", []isa.Instruction{ins(0x28, 0, 0, 0, 12)}},
		{"ldindb %r3, 0x10", []isa.Instruction{ins(0x50, 0, 3, 0, 16)}},
		{".insn 0xff, 15, 14, -1, 0x7fffffff", []isa.Instruction{ins(0xff, 15, 14, -1, 0x7fffffff)}},
		{"  MOV r1, r2   # comment", []isa.Instruction{ins(0xbf, 1, 2, 0, 0)}},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			got, err := Assemble(c.text)
			if err != nil {
				t.Fatal(err)
			}
			if !equalInsns(got, c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// Labels resolve to slot offsets relative to the next slot, counting lddw as two slots,
// forwards and backwards; "exit" falls back to the first exit instruction.
func TestAssembleResolvesLabels(t *testing.T) {
	src := `
start:
	lddw %r0, 1        # slots 0-1
	jeq %r0, 1, done   # slot 2 -> 5
	ja32 start         # slot 3 -> 0
	jne %r0, 0, exit   # slot 4 -> first exit, 5
done: exit             # slot 5
	call local fn      # slot 6 -> 8
	exit
fn: lddw %r2, func fn  # slot 8 -> 8
	exit
`
	got, err := Assemble(src)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		slot int
		off  int16
		imm  int32
	}{{2, 2, 1}, {3, 0, -4}, {4, 0, 0}, {6, 0, 1}, {8, 0, -1}}
	for _, c := range checks {
		if got[c.slot].Off != c.off || got[c.slot].Imm != c.imm {
			t.Errorf("slot %d: off %d imm %d, want off %d imm %d", c.slot, got[c.slot].Off, got[c.slot].Imm, c.off, c.imm)
		}
	}
	p, err := AssembleProgram(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Funcs) != 1 || p.Funcs[0].Start != 8 || p.Funcs[0].Name != "fn" {
		t.Errorf("Funcs = %+v, want fn at 8", p.Funcs)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("assembled program does not validate: %v", err)
	}
}

// Errors name the line and carry a typed reason.
func TestAssembleErrorsNameLineAndReason(t *testing.T) {
	cases := []struct {
		text string
		line int
		want error
	}{
		{"mov %r0, 1\nfrob %r1", 2, ErrUnknownMnemonic},
		{"mov %r0", 1, ErrOperands},
		{"mov %r11, 1", 1, ErrOperands},
		{"mov %r0, 1,", 1, ErrSyntax},
		{"mov %r0, 0x100000000", 1, ErrRange},
		{"mov %r0, -0x80000001", 1, ErrRange},
		{"ldxw %r0, [%r1+32768]", 1, ErrRange},
		{"ldxw %r0, %r1", 1, ErrOperands},
		{"stw [%r1], %r2", 1, ErrOperands},
		{"lddw %r0, 0x10000000000000000", 1, ErrRange},
		{"mov %r0, 12z", 1, ErrOperands},
		{"\n\nja nowhere", 3, ErrUndefinedLabel},
		{"a:\na: exit", 2, ErrDuplicateLabel},
		{"lock fetch xchg [%r1], %r2", 1, ErrUnknownMnemonic},
		{"lddw %r1, map_value 3", 1, ErrOperands},
		{"call", 1, ErrOperands},
		{".insn 0x100, 0, 0, 0, 0", 1, ErrRange},
		{"jeq %r1, 0, +32768", 1, ErrRange},
	}
	for _, c := range cases {
		t.Run(c.text, func(t *testing.T) {
			_, err := Assemble(c.text)
			var ae *Error
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an *asm.Error", err)
			}
			if ae.Line != c.line || !errors.Is(err, c.want) {
				t.Fatalf("got %v (line %d), want line %d and %v", err, ae.Line, c.line, c.want)
			}
		})
	}
}

// A jump whose label is too far for a 16-bit offset is an error, not a wrapped offset.
func TestAssembleRejectsJumpBeyondInt16(t *testing.T) {
	var b strings.Builder
	b.WriteString("ja far\n")
	for i := 0; i < 40000; i++ {
		b.WriteString("mov %r0, 0\n")
	}
	b.WriteString("far: exit\n")
	_, err := Assemble(b.String())
	if !errors.Is(err, ErrRange) {
		t.Fatalf("got %v, want ErrRange", err)
	}
	if _, err := Assemble(strings.Replace(b.String(), "ja far", "ja32 far", 1)); err != nil {
		t.Fatalf("ja32 reaches it: %v", err)
	}
}

// Odd but meaningful encodings survive Disassemble then Assemble unchanged, and the
// ones the symbolic syntax cannot express use .insn.
func TestDisassembleRoundTripsOddEncodings(t *testing.T) {
	cases := []struct {
		name    string
		insns   []isa.Instruction
		wantRaw bool
	}{
		{"negative jump offset", []isa.Instruction{ins(0xb7, 0, 0, 0, 0), ins(0x15, 0, 0, -2, 0), ins(0x95, 0, 0, 0, 0)}, false},
		{"jump to itself", []isa.Instruction{ins(0x05, 0, 0, -1, 0), ins(0x95, 0, 0, 0, 0)}, false},
		{"jmp32 register form", []isa.Instruction{ins(0x6e, 1, 2, 0, 0), ins(0x95, 0, 0, 0, 0)}, false},
		{"gotol", []isa.Instruction{ins(0x06, 0, 0, 0, 0), ins(0x95, 0, 0, 0, 0)}, false},
		{"jump into lddw middle", []isa.Instruction{ins(0x05, 0, 0, 1, 0), ins(0x18, 0, 0, 0, 1), ins(0, 0, 0, 0, 2), ins(0x95, 0, 0, 0, 0)}, false},
		{"jump out of program", []isa.Instruction{ins(0x05, 0, 0, 100, 0), ins(0x95, 0, 0, 0, 0)}, false},
		{"all lddw pseudo sources", []isa.Instruction{
			ins(0x18, 1, 1, 0, 3), ins(0, 0, 0, 0, 0),
			ins(0x18, 1, 2, 0, 3), ins(0, 0, 0, 0, -5),
			ins(0x18, 1, 3, 0, 3), ins(0, 0, 0, 0, 0),
			ins(0x18, 1, 4, 0, 4), ins(0, 0, 0, 0, 0),
			ins(0x18, 1, 5, 0, 3), ins(0, 0, 0, 0, 0),
			ins(0x18, 1, 6, 0, 3), ins(0, 0, 0, 0, 9),
			ins(0x95, 0, 0, 0, 0),
			ins(0x95, 0, 0, 0, 0)}, false},
		{"helper, local and kfunc calls", []isa.Instruction{ins(0x85, 0, 0, 0, 1), ins(0x85, 0, 1, 0, 1), ins(0x85, 0, 2, 0, 7), ins(0x95, 0, 0, 0, 0)}, false},
		{"lddw truncated at end", []isa.Instruction{ins(0x18, 1, 0, 0, 1)}, true},
		{"lddw with nonzero second opcode", []isa.Instruction{ins(0x18, 1, 0, 0, 1), ins(0x95, 0, 0, 0, 0)}, true},
		{"map_fd with upper immediate", []isa.Instruction{ins(0x18, 1, 1, 0, 1), ins(0, 0, 0, 0, 1)}, true},
		{"reserved offset on add", []isa.Instruction{ins(0x07, 1, 0, 5, 1)}, true},
		{"register nibble 15", []isa.Instruction{ins(0xbf, 15, 1, 0, 0)}, true},
		{"unknown opcode", []isa.Instruction{ins(0xff, 0, 0, 0, 0)}, true},
		{"callx with imm", []isa.Instruction{ins(0x8d, 0, 0, 0, 2)}, true},
		{"exit in jmp32 class", []isa.Instruction{ins(0x96, 0, 0, 0, 0)}, true},
		{"byte swap of width 8", []isa.Instruction{ins(0xd4, 1, 0, 0, 8)}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text, err := Disassemble(c.insns)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(text, ".insn"); got != c.wantRaw {
				t.Errorf("uses .insn = %v, want %v:\n%s", got, c.wantRaw, text)
			}
			back, err := Assemble(text)
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			if !equalInsns(back, c.insns) {
				t.Fatalf("round trip changed the program:\n%s\n got %+v\nwant %+v", text, back, c.insns)
			}
		})
	}
}

// Disassemble names targets with labels where a line starts there.
func TestDisassembleUsesLabels(t *testing.T) {
	insns, err := Assemble("call local fn\njeq %r0, 0, out\nmov %r0, 1\nout: exit\nfn: mov %r0, 0\nexit")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := Disassemble(insns)
	for _, want := range []string{"call local f4\n", "jeq %r0, 0, L3\n", "L3:\nexit\n", "f4:\nmov %r0, 0\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in\n%s", want, text)
		}
	}
	named, _ := DisassembleProgram(&isa.Program{Insns: insns, Funcs: []isa.FuncInfo{{Start: 4, Name: "helper_fn"}}})
	for _, want := range []string{"call local helper_fn\n", "helper_fn:\n"} {
		if !strings.Contains(named, want) {
			t.Errorf("missing %q in\n%s", want, named)
		}
	}
	back, err := Assemble(named)
	if err != nil || !equalInsns(back, insns) {
		t.Errorf("named disassembly does not round-trip: %v\n%s", err, named)
	}
}

// Format writes one instruction with numeric targets, covering both lddw slots.
func TestFormat(t *testing.T) {
	lo := ins(0x18, 2, 0, 0, 0x44332211)
	hi := ins(0, 0, 0, 0, 0x11)
	cases := []struct {
		in    isa.Instruction
		next  *isa.Instruction
		want  string
		slots int
	}{
		{ins(0x15, 1, 0, -3, 0x7), nil, "jeq %r1, 7, -3", 1},
		{ins(0x7b, 10, 1, -8, 0), nil, "stxdw [%r10-8], %r1", 1},
		{ins(0xb4, 0, 0, 0, -0x80000000), nil, "mov32 %r0, -0x80000000", 1},
		{lo, &hi, "lddw %r2, 0x1144332211", 2},
		{lo, nil, ".insn 0x18, 2, 0, 0, 0x44332211", 1},
		{ins(0xdb, 1, 2, 0, 0x01), nil, "lock fetch add [%r1+0], %r2", 1},
	}
	for _, c := range cases {
		if got := Format(c.in, c.next); got != c.want {
			t.Errorf("Format(%+v) = %q, want %q", c.in, got, c.want)
		}
		if got := Slots(c.in, c.next); got != c.slots {
			t.Errorf("Slots(%+v) = %d, want %d", c.in, got, c.slots)
		}
	}
}

// Every instruction form isa.Validate accepts has a symbolic spelling: the disassembly of
// a valid program never falls back to .insn. Enumerates opcodes against a grid of field
// values that covers every special meaning (movsx widths, signed division, byte-swap
// widths, atomic operations, pseudo sources).
func TestValidInstructionsHaveSymbolicSyntax(t *testing.T) {
	offs := []int16{0, 1, 8, 16, 32}
	imms := []int32{0, 1, 16, 32, 64, 0x41, 0xa1, 0xe1, 0xf1, -1}
	exit := ins(0x95, 0, 0, 0, 0)
	checked := 0
	for op := 0; op < 256; op++ {
		for src := isa.Register(0); src <= 7; src++ {
			for _, off := range offs {
				for _, imm := range imms {
					for _, dst := range []isa.Register{0, 1} {
						in := ins(isa.Opcode(op), dst, src, off, imm)
						prog := []isa.Instruction{in, exit}
						if in.IsLdImm64() {
							prog = []isa.Instruction{in, ins(0, 0, 0, 0, 0), exit}
						}
						if isa.Validate(prog) != nil {
							continue
						}
						checked++
						text, _ := Disassemble(prog)
						if strings.Contains(text, ".insn") {
							t.Fatalf("valid %+v has no symbolic form:\n%s", in, text)
						}
					}
				}
			}
		}
	}
	t.Logf("%d valid forms", checked)
	if checked < 1000 {
		t.Fatalf("only %d valid forms checked", checked)
	}
}
