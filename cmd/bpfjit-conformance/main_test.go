package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/internal/engine"
)

// The test binary doubles as the plugin, so the protocol is tested across a real process
// boundary exactly as the bpf_conformance runner drives it.
func TestMain(m *testing.M) {
	if os.Getenv("BPFJIT_BE_PLUGIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// memArg formats memory the way the runner does: each byte as two lowercase hex digits
// followed by two spaces.
func memArg(mem []byte) string {
	var b strings.Builder
	for _, c := range mem {
		fmt.Fprintf(&b, "%02x  ", c)
	}
	return b.String()
}

// progStdin formats the program the way the runner does: hex text, then a newline.
func progStdin(code []byte) string {
	var b strings.Builder
	for _, c := range code {
		fmt.Fprintf(&b, "%02x ", c)
	}
	return b.String() + "\n"
}

func runPlugin(t *testing.T, args []string, stdin string) (string, string, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "BPFJIT_BE_PLUGIN=1")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if errors.Is(err, syscall.ENOEXEC) {
		t.Skip("cannot re-execute the test binary here (emulated without binfmt_misc)")
	}
	return out.String(), errOut.String(), err
}

func pluginModes() [][]string {
	modes := [][]string{{"--interpret"}}
	for _, n := range engine.Names() {
		if n == "jit" {
			modes = append(modes, []string{"--jit"}, []string{"--jit", "--blinding"})
		}
	}
	return modes
}

func TestPluginPassesEveryConformanceProgramAsARunnerDrivesIt(t *testing.T) {
	dir, ok := conformance.Dir()
	if !ok {
		t.Skipf("conformance suite not found (set %s)", conformance.EnvDir)
	}
	progs, err := conformance.LoadPrograms(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range pluginModes() {
		t.Run(strings.Join(mode, ""), func(t *testing.T) {
			passed := 0
			for _, p := range progs {
				var args []string
				if len(p.Mem) > 0 {
					args = append(args, memArg(p.Mem))
				}
				// The runner splits --plugin_options on single spaces, which yields empty
				// arguments for doubled spaces: the plugin must ignore them.
				args = append(args, "")
				args = append(args, mode...)
				out, stderr, err := runPlugin(t, args, progStdin(p.Program))
				if err != nil {
					t.Errorf("%s: %v: %s", p.Name, err, stderr)
					continue
				}
				got, perr := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(out), "0x"), 16, 64)
				if perr != nil || got != p.Result {
					t.Errorf("%s: printed %q, want %#x", p.Name, out, p.Result)
					continue
				}
				passed++
			}
			t.Logf("%d of %d conformance programs pass through the plugin", passed, len(progs))
		})
	}
}

func TestPluginFailsWithAMessageOnBadInput(t *testing.T) {
	tests := []struct {
		name, stdin string
		args        []string
		wantErr     string
	}{
		{"not hex", "zz\n", nil, "program"},
		{"truncated slot", "95 00 00\n", nil, "multiple of 8"},
		{"invalid program", "ff 00 00 00 00 00 00 00\n", nil, "insn 0"},
		{"unknown option", "95 00 00 00 00 00 00 00\n", []string{"--bogus"}, "unknown option"},
		{"endless loop is bounded", "05 00 ff ff 00 00 00 00\n95 00 00 00 00 00 00 00\n", nil, "budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, err := runPlugin(t, tt.args, tt.stdin)
			if err == nil {
				t.Fatal("plugin exited 0")
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Fatalf("stderr %q does not mention %q", stderr, tt.wantErr)
			}
		})
	}
}
