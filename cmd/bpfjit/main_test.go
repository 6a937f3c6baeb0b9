package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/internal/engine"
)

func suiteFile(t *testing.T, name string) string {
	t.Helper()
	dir, ok := conformance.Dir()
	if !ok {
		t.Skipf("conformance suite not found (set %s)", conformance.EnvDir)
	}
	return filepath.Join(dir, name)
}

func call(t *testing.T, f func([]string, *bytes.Buffer) error, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := f(args, &out)
	return out.String(), err
}

func runCmd(args []string, out *bytes.Buffer) error    { return cmdRun(args, out) }
func asmCmd(args []string, out *bytes.Buffer) error    { return cmdAsm(args, out) }
func disasmCmd(args []string, out *bytes.Buffer) error { return cmdDisasm(args, out) }

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunPrintsR0ForEachProgramForm(t *testing.T) {
	asmFile := writeFile(t, "p.s", "mov %r0, 7\nadd %r0, 35\nexit\n")
	hexFile := writeFile(t, "p.hex", "b7 00 00 00 2a 00 00 00\n95 00 00 00 00 00 00 00\n")
	loadFirstByte := writeFile(t, "load.s", "ldxb %r0, [%r1]\nexit\n")
	memFile := writeFile(t, "mem.bin", "\x09")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"conformance .data with its memory", []string{suiteFile(t, "subnet.data"), "--engine", "interp"}, "0x1\n"},
		{"assembler text", []string{"--engine=interp", asmFile}, "0x2a\n"},
		{"hex text", []string{hexFile, "--engine", "interp"}, "0x2a\n"},
		{"memory as hex", []string{loadFirstByte, "--engine", "interp", "--mem-hex", "ab cd"}, "0xab\n"},
		{"memory from a file", []string{loadFirstByte, "--engine", "interp", "--mem", memFile}, "0x9\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := call(t, runCmd, tt.args...)
			if err != nil || out != tt.want {
				t.Fatalf("got %q, %v; want %q", out, err, tt.want)
			}
		})
	}
}

func TestRunRepeatEndsWithATimingLine(t *testing.T) {
	out, err := call(t, runCmd, suiteFile(t, "prime.data"), "--engine", "interp", "--repeat", "50")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[0] != "0x1" || !regexp.MustCompile(`^50 runs, [0-9.]+ ns/run$`).MatchString(lines[1]) {
		t.Fatalf("output %q", out)
	}
}

func TestRunReportsErrorsNamingTheInstruction(t *testing.T) {
	oob := writeFile(t, "oob.s", "mov %r1, 0\nldxdw %r0, [%r1+8]\nexit\n")
	bad := writeFile(t, "bad.hex", "b7 00 00 00 00 00 00 00\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"out-of-bounds load", []string{oob, "--engine", "interp"}, "insn 1"},
		{"falls off the end", []string{bad, "--engine", "interp"}, "insn 0"},
		{"unknown engine", []string{oob, "--engine", "nope"}, "unknown engine"},
		{"missing program", []string{"--engine", "interp"}, "PROGRAM"},
		{"no such file", []string{"/nonexistent.data"}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := call(t, runCmd, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestUsageErrorsAreMarked(t *testing.T) {
	_, err := call(t, runCmd, "--repeat", "0", "x.data")
	if !errors.Is(err, errUsage) {
		t.Fatalf("got %v", err)
	}
}

func TestAsmThenDisasmRoundTrips(t *testing.T) {
	src := suiteFile(t, "call_local.data")
	hexOut, err := call(t, asmCmd, src)
	if err != nil {
		t.Fatal(err)
	}
	hexFile := writeFile(t, "p.hex", hexOut)
	text, err := call(t, disasmCmd, hexFile)
	if err != nil {
		t.Fatal(err)
	}
	asmFile := writeFile(t, "p.s", text)
	again, err := call(t, asmCmd, asmFile)
	if err != nil || again != hexOut {
		t.Fatalf("asm(disasm(asm(x))) != asm(x): %v\n%s\n%s", err, again, hexOut)
	}
	bin := filepath.Join(t.TempDir(), "p.bin")
	if _, err := call(t, asmCmd, "-o", bin, src); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(bin); err != nil || st.Size() != int64(len(strings.Fields(hexOut))*8) {
		t.Fatalf("raw output: %v %v", st, err)
	}
}

// TestRunShippedELFSamples runs the clang-built programs the repository ships on their
// sample inputs, as the README's first command does.
func TestRunShippedELFSamples(t *testing.T) {
	b, err := os.ReadFile("../../testdata/elf/samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var samples []struct{ Object, Program, Input, Result string }
	if err := json.Unmarshal(b, &samples); err != nil {
		t.Fatal(err)
	}
	// global_func.o passes a u8 pointer to a global function, which may then touch only
	// that one byte (the kernel's rule too): the JIT runs it vouched for.
	vouched := map[string]bool{"global_func.o": true}
	ran := 0
	for _, s := range samples {
		for _, eng := range engineNames() {
			name := fmt.Sprintf("%s/%s/%s/%s", eng, s.Object, s.Program, s.Input)
			args := []string{"--engine", eng, "--section", s.Program,
				"--mem", filepath.Join("../../testdata/elf", s.Input), filepath.Join("../../testdata/elf", s.Object)}
			if vouched[s.Object] {
				args = append(args, "--unverified")
			}
			out, err := call(t, runCmd, args...)
			want, _ := strconv.ParseUint(strings.TrimPrefix(s.Result, "0x"), 16, 64)
			if err != nil || out != fmt.Sprintf("%#x\n", want) {
				t.Errorf("%s: got %q, %v; want %#x", name, out, err, want)
			}
			ran++
		}
	}
	if ran == 0 {
		t.Fatal("no samples ran")
	}
}

func engineNames() []string { return engine.Names() }

func verifyCmd(args []string, out *bytes.Buffer) error { return cmdVerify(args, out) }

func TestVerifyAcceptsOrPrintsTheLog(t *testing.T) {
	oob := writeFile(t, "oob.s", "ldxdw %r0, [%r1+8]\nexit\n")
	guarded := writeFile(t, "guarded.s", "mov %r0, 0\njlt %r2, 16, +1\nldxdw %r0, [%r1+8]\nexit\n")
	tests := []struct {
		name     string
		args     []string
		rejected bool
		want     string
	}{
		{"conformance program with its memory", []string{suiteFile(t, "subnet.data")}, false, `^accepted: \d+ instructions processed\n$`},
		{"length proven by comparing r2", []string{guarded}, false, `^accepted: \d+ instructions processed\n$`},
		{"unguarded load names the instruction", []string{oob}, true, `(?s)insn 0: .*rejected: insn 0`},
		{"guaranteed memory size makes it safe", []string{"--mem-size", "16", oob}, false, `^accepted:`},
		{"verbose log shows every instruction", []string{"--log-level", "1", guarded}, false, `(?s)0: .*1: .*accepted`},
		{"xdp type rejects a raw-memory program", []string{"--type", "xdp", guarded}, true, `rejected:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := call(t, verifyCmd, tt.args...)
			if tt.rejected != errors.Is(err, errRejected) || (!tt.rejected && err != nil) {
				t.Fatalf("err = %v, rejected want %v\n%s", err, tt.rejected, out)
			}
			if !regexp.MustCompile(tt.want).MatchString(out) {
				t.Fatalf("output does not match %q:\n%s", tt.want, out)
			}
		})
	}
	if _, err := call(t, verifyCmd, "--type", "nope", oob); !errors.Is(err, errUsage) {
		t.Fatalf("unknown type: %v", err)
	}
}
