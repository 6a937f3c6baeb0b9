//go:build linux && (amd64 || arm64)

package bpfjit_test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
	"github.com/bpfjit/bpfjit/verifier"
)

// The verifier's outcome bits are the ones emit reads.
func TestBranchOutcomeBitsAgree(t *testing.T) {
	if emit.BranchTaken != verifier.BranchTaken || emit.BranchFallThrough != verifier.BranchFallThrough {
		t.Fatal("emit and verifier number branch outcomes differently")
	}
}

// Load verifies by default and the JIT uses what it proved: a branch the verifier shows
// is never taken, and the code only it reaches, are not compiled.
func TestVerifiedCompileDropsDeadCode(t *testing.T) {
	prog := &isa.Program{Insns: mustAssemble(t, `
		mov %r2, 0
		mov %r0, 1
		jne %r2, 0, +2
		add %r0, 2
		exit
		mov %r0, 0x5eed
		exit`)}
	for _, arch := range bpfjit.Archs() {
		t.Run(arch, func(t *testing.T) {
			verified, err := bpfjit.Compile(prog, arch)
			if err != nil {
				t.Fatal(err)
			}
			plain, err := bpfjit.Compile(prog, arch, bpfjit.Unverified())
			if err != nil {
				t.Fatal(err)
			}
			if len(verified.Native()) >= len(plain.Native()) {
				t.Errorf("verified code is %d bytes, unverified %d: nothing dropped", len(verified.Native()), len(plain.Native()))
			}
			r := verified.NativeRanges()
			for _, i := range []int{2, 5} {
				if r[i].End != r[i].Start {
					t.Errorf("slot %d has %d bytes of code, want none", i, r[i].End-r[i].Start)
				}
			}
			var vd, pd strings.Builder
			if err := verified.Dump(&vd); err != nil {
				t.Fatal(err)
			}
			if err := plain.Dump(&pd); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(pd.String(), "0x5eed") || strings.Contains(vd.String(), "0x5eed") {
				t.Errorf("dead constant: in unverified listing %v, in verified listing %v (want true, false)\n%s",
					strings.Contains(pd.String(), "0x5eed"), strings.Contains(vd.String(), "0x5eed"), vd.String())
			}
		})
	}
	p, err := bpfjit.Load(prog)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got, err := p.Run(nil); err != nil || got != 3 {
		t.Fatalf("Run = %d, %v; want 3", got, err)
	}
}

// The random differential against the interpreter, with verification on for the programs
// that verify: the code built from the verifier's facts computes what the interpreter does.
func TestDifferentialVerifiedAgainstInterpreter(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	jh, ih := diffEnv()
	vopts := verifier.Options{MinMem: progen.MemSize, Helpers: map[int32]*verifier.HelperProto{}}
	var opts []bpfjit.Option
	for id, fn := range jh {
		proto := &verifier.HelperProto{Name: "diff", Args: [5]verifier.ArgType{verifier.ArgAnything, verifier.ArgAnything, verifier.ArgAnything, verifier.ArgAnything, verifier.ArgAnything}}
		vopts.Helpers[id] = proto
		opts = append(opts, bpfjit.WithHelper(id, fn, proto))
	}
	opts = append(opts, bpfjit.WithVerifier(verifier.Options{MinMem: progen.MemSize}))
	g := progen.New(5, progen.Options{Helpers: []int32{1, 7}})
	verified := 0
	for k := 0; k < n; k++ {
		insns := g.Program()
		prog := &isa.Program{Insns: insns}
		if _, err := verifier.Check(prog, vopts); err != nil {
			continue
		}
		verified++
		ip, err := interp.New(prog, nil)
		if err != nil {
			t.Fatal(err)
		}
		imem := make([]byte, progen.MemSize)
		want, err := ip.Run(&interp.Env{Context: imem, Helpers: ih})
		if err != nil {
			t.Fatalf("program %d: interp: %v", k, err)
		}
		o := opts
		if k%2 == 1 {
			o = append(o[:len(o):len(o)], bpfjit.WithConstantBlinding())
		}
		p, err := bpfjit.Load(prog, o...)
		if err != nil {
			t.Fatalf("program %d: %v", k, err)
		}
		jmem := make([]byte, progen.MemSize)
		got, err := p.Run(jmem)
		p.Close()
		if err != nil || got != want.R0 || !bytes.Equal(imem, jmem) {
			text, _ := asm.Disassemble(insns)
			t.Fatalf("program %d: jit r0 %#x err %v; interp r0 %#x\njit mem    %s\ninterp mem %s\n%s",
				k, got, err, want.R0, hex.EncodeToString(jmem), hex.EncodeToString(imem), text)
		}
	}
	t.Logf("%d of %d programs verified and agreed", verified, n)
	if verified < n/10 {
		t.Errorf("only %d of %d programs verified: the differential proves little", verified, n)
	}
}

// The conformance suite with verification on, for the programs that verify (the rest,
// unbounded loops or reads past the memory for example, run unverified in
// TestConformanceSuite).
func TestConformanceSuiteVerified(t *testing.T) {
	dir, ok := conformance.Dir()
	if !ok {
		t.Skip("conformance suite not found")
	}
	tests, err := conformance.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	verified := 0
	for _, tc := range tests {
		prog := &isa.Program{Insns: mustAssemble(t, tc.Asm)}
		vopts := verifier.Options{MinMem: len(tc.Mem)}
		if _, err := verifier.Check(prog, vopts); err != nil {
			continue
		}
		verified++
		p, err := bpfjit.Load(prog, bpfjit.WithVerifier(vopts), bpfjit.WithHelpers(suiteHelpers))
		if err != nil {
			t.Errorf("%s: %v", tc.Name, err)
			continue
		}
		got, err := p.Run(bytes.Clone(tc.Mem))
		p.Close()
		if err != nil || got != tc.Result {
			t.Errorf("%s: r0 = %#x, %v; want %#x", tc.Name, got, err, tc.Result)
		}
	}
	t.Logf("%d of %d files verify and pass verified", verified, len(tests))
	if verified < len(tests)/2 {
		t.Errorf("only %d of %d files verify", verified, len(tests))
	}
}
