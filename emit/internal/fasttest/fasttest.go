// Package fasttest holds what the two backends' fast-loop tests share: random verifier
// facts to compile programs with, and a reader of the calls a compiled function makes
// (the fast loops must make none on their common paths: Go keeps a loop's state in
// registers only while it makes no call).
package fasttest

import (
	"math/rand/v2"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/isa"
)

// Options returns the options of the k-th program of a comparison between a fast loop and
// its reference, in turn: none, constant blinding, an execution budget (under which
// branches leave the fast loop) and RandomFacts (which drop slots and zero-extensions).
func Options(k int, r *rand.Rand, insns []isa.Instruction) emit.Options {
	var opts emit.Options
	switch k % 4 {
	case 1:
		opts.Blind, opts.BlindSeed = true, &[32]byte{byte(k)}
	case 2:
		opts.Budget, opts.BudgetHelper = 1000, 99
	case 3:
		opts.Facts = RandomFacts(r, insns)
	}
	return opts
}

// RandomFacts marks about one slot in eight dead and one jump in four with a single
// outcome, and clears every zero-extension flag.
func RandomFacts(r *rand.Rand, insns []isa.Instruction) *emit.Facts {
	f := &emit.Facts{Dead: make([]bool, len(insns)), Branch: make([]uint8, len(insns)), ZeroExtend: make([]bool, len(insns))}
	for i, in := range insns {
		f.Dead[i] = i > 0 && r.IntN(8) == 0
		if in.IsJump() && !in.IsUnconditionalJump() && r.IntN(4) == 0 {
			f.Branch[i] = emit.BranchFallThrough << r.IntN(2)
		}
	}
	return f
}

// Calls returns the functions fn (a package-qualified name such as
// "github.com/bpfjit/bpfjit/emit/amd64.lowerRun") calls, in the order of its CALL
// instructions, read off the compiler's assembly listing of the package in the current
// directory (go build -gcflags=-S). It skips t when the toolchain or its listing is not
// available, or when the listing shows fn without a call (its format has changed: every
// fast loop calls at least the runtime's bounds-check panics).
func Calls(t testing.TB, fn string) []string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the package")
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command(gotool, "build", "-gcflags=-S", ".").CombinedOutput()
	if err != nil {
		t.Skipf("go build -gcflags=-S: %v: %.200s", err, out)
	}
	call := regexp.MustCompile(`\tCALL\t(\S+)\(SB\)`)
	var calls []string
	in := false
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, " STEXT ") {
			in = strings.HasPrefix(line, fn+" STEXT")
		}
		if m := call.FindStringSubmatch(line); in && m != nil {
			calls = append(calls, m[1])
		}
	}
	if len(calls) == 0 {
		t.Skipf("no call of %s in the compiler's listing: its format may have changed", fn)
	}
	return calls
}

// RuntimeCheck reports whether name is one of the runtime's paths a compiled loop may
// call without leaving its registers to the stack on the common path: bounds-check
// panics, stack growth, write barriers.
func RuntimeCheck(name string) bool {
	return strings.HasPrefix(name, "runtime.panic") || strings.HasPrefix(name, "runtime.morestack") ||
		strings.HasPrefix(name, "runtime.gcWriteBarrier")
}
