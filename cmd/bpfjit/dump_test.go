package main

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/internal/progsrc"
)

func dumpCmd(args []string, out *bytes.Buffer) error { return cmdDump(args, out) }

// nativeLine matches a native instruction line: tab, hex offset, hex bytes, text.
var nativeLine = regexp.MustCompile(`^\t +[0-9a-f]+  [0-9a-f]+ +\S`)

// TestDumpListsEveryInstructionFollowedByItsNativeCode dumps conformance programs for both
// architectures, whatever the host: every BPF instruction has its line, followed by the
// native lines it became, and each function starts with the architecture's patchable entry.
func TestDumpListsEveryInstructionFollowedByItsNativeCode(t *testing.T) {
	cases := []struct {
		file  string
		arch  string
		entry string // first native instruction of the prologue
		extra []string
	}{
		{"subnet.data", "amd64", "nop dword ptr [rax+rax], eax", []string{"movzx edx, word ptr [rdi+0xc]", "ret"}},
		{"subnet.data", "arm64", "mov x9, x30", []string{"ldrh w2, [x0,#12]", "ret"}},
		{"lddw.data", "amd64", "nop dword ptr [rax+rax], eax", []string{"mov rax, 0x"}},
		{"lddw.data", "arm64", "mov x9, x30", []string{"movk x7, #"}},
		{"call_local.data", "arm64", "mov x9, x30", []string{"bl .", "function at slot "}},
		{"rfc9669_lock_fetch_add64.data", "arm64", "mov x9, x30", []string{"ldaxr x"}},
		{"rfc9669_lock_fetch_add64.data", "amd64", "nop dword ptr [rax+rax], eax", []string{"lock xadd qword ptr"}},
	}
	for _, c := range cases {
		t.Run(c.file+" "+c.arch, func(t *testing.T) {
			path := suiteFile(t, c.file)
			src, err := progsrc.LoadFile(path, progsrc.KindAuto, "")
			if err != nil {
				t.Fatal(err)
			}
			out, err := call(t, dumpCmd, "--arch", c.arch, "--unverified", path)
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOARCH == "arm64" && c.arch == "arm64" && strings.Contains(c.file, "lock_") {
				c.extra = nil // the host may use LSE instead of the exclusive loop
			}
			lines := strings.Split(out, "\n")
			if want := fmt.Sprintf("# %s for %s: ", path, c.arch); !strings.HasPrefix(lines[0], want) {
				t.Errorf("header %q, want prefix %q", lines[0], want)
			}
			insns := src.Program.Insns
			for i := 0; i < len(insns); i++ {
				prefix := fmt.Sprintf("%4d: ", i)
				at := -1
				for k, l := range lines {
					if strings.HasPrefix(l, prefix) {
						at = k
						break
					}
				}
				if at < 0 {
					t.Fatalf("no line for BPF slot %d:\n%s", i, out)
				}
				// A function's last exit falls through into the epilogue: no code of its own.
				fallsThrough := insns[i].IsExit() && lines[at+1] == "  epilogue"
				if !nativeLine.MatchString(lines[at+1]) && !fallsThrough {
					t.Errorf("slot %d (%q) is not followed by native code but by %q", i, lines[at], lines[at+1])
				}
				if insns[i].IsLdImm64() {
					i++ // the second slot is part of the same line
				}
			}
			for k, l := range lines {
				if l == "  prologue" && !strings.HasSuffix(lines[k+1], " "+c.entry) {
					t.Errorf("prologue starts with %q, want %q", lines[k+1], c.entry)
				}
			}
			for _, want := range c.extra {
				if !strings.Contains(out, want) {
					t.Errorf("dump lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "(bad:") {
				t.Errorf("undecoded code:\n%s", out)
			}
		})
	}
}

func TestDumpDefaultsToTheHostArchitecture(t *testing.T) {
	path := writeFile(t, "p.s", "mov %r0, 1\nexit\n")
	out, err := call(t, dumpCmd, path)
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		if !errors.Is(err, errUsage) {
			t.Fatalf("err = %v, want a usage error naming --arch", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if want := " for " + runtime.GOARCH + ": 2 BPF slots"; !strings.Contains(out, want) {
		t.Errorf("header lacks %q:\n%s", want, out)
	}
}

// TestDumpOptions: blinding hides the program's immediates, the verifier runs unless
// --unverified, and bad calls are usage errors.
func TestDumpOptions(t *testing.T) {
	imm := writeFile(t, "imm.s", "mov %r0, 0x12345678\nexit\n")
	uninit := writeFile(t, "uninit.s", "mov %r0, %r6\nexit\n")
	cases := []struct {
		name    string
		args    []string
		usage   bool   // a usage error is expected
		errText string // an error containing this is expected
		has     []string
		lacks   []string
	}{
		{"immediate visible unblinded amd64", []string{"--arch", "amd64", imm}, false, "", []string{"mov eax, 0x12345678"}, nil},
		{"immediate visible unblinded arm64", []string{"--arch=arm64", imm}, false, "", []string{"#0x5678", "#0x1234, lsl #16"}, nil},
		{"blinding hides the immediate amd64", []string{"--arch", "amd64", "--blinding", imm}, false, "", []string{"xor r10, "}, []string{"0x12345678"}},
		{"blinding hides the immediate arm64", []string{"--blinding", "--arch", "arm64", imm}, false, "", []string{"eor "}, []string{"#0x5678", "#0x1234"}},
		{"verifier runs by default", []string{"--arch", "arm64", uninit}, false, "R6 is read before it is written", nil, nil},
		{"--unverified skips it", []string{"--arch", "arm64", "--unverified", uninit}, false, "", []string{"mov x7, x19"}, nil},
		{"unknown arch", []string{"--arch", "riscv64", imm}, true, `--arch "riscv64": want one of amd64, arm64`, nil, nil},
		{"unknown arch before a missing file", []string{"--arch", "x86", "/nonexistent.s"}, true, "want one of", nil, nil},
		{"no program", []string{"--arch", "arm64"}, true, "want exactly one PROGRAM", nil, nil},
		{"two programs", []string{imm, imm}, true, "want exactly one PROGRAM", nil, nil},
		{"unknown flag", []string{"--frobnicate", imm}, true, "frobnicate", nil, nil},
		{"missing file", []string{"--arch", "amd64", "/nonexistent.s"}, false, "nonexistent", nil, nil},
		{"ELF map references are shown as unresolved literals", []string{"--arch", "arm64", "--unverified", "../../testdata/elf/maps.o"}, false, "",
			[]string{"lddw %r3, map_idx_value 0, 0", ".quad 0x0\t; map reference of slot 0"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := call(t, dumpCmd, c.args...)
			if c.errText != "" {
				if err == nil || !strings.Contains(err.Error(), c.errText) || errors.Is(err, errUsage) != c.usage {
					t.Fatalf("err = %v (usage %v), want one containing %q (usage %v)", err, errors.Is(err, errUsage), c.errText, c.usage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.has {
				if !strings.Contains(out, s) {
					t.Errorf("dump lacks %q:\n%s", s, out)
				}
			}
			for _, s := range c.lacks {
				for _, l := range strings.Split(out, "\n") {
					if nativeLine.MatchString(l) && strings.Contains(l, s) {
						t.Errorf("native line %q shows %q", l, s)
					}
				}
			}
		})
	}
}
