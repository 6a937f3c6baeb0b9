//go:build linux && (amd64 || arm64)

package bpfjit_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/progen"
	"github.com/bpfjit/bpfjit/internal/conformance"
	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
	"github.com/bpfjit/bpfjit/verifier"
	"github.com/cilium/ebpf"
	ciliumasm "github.com/cilium/ebpf/asm"
)

func mustAssemble(t testing.TB, text string) []isa.Instruction {
	t.Helper()
	insns, err := asm.Assemble(text)
	if err != nil {
		t.Fatal(err)
	}
	return insns
}

// suiteHelpers is the conformance environment: helper 5 exists and returns normally.
var suiteHelpers = map[int32]bpfjit.Helper{5: func(_, _, _, _, _ uint64) uint64 { return 0 }}

func TestConformanceSuite(t *testing.T) {
	dir, ok := conformance.Dir()
	if !ok {
		t.Skip("conformance suite not found")
	}
	tests, err := conformance.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, blind := range []bool{false, true} {
		passed := 0
		for _, tc := range tests {
			opts := []bpfjit.Option{bpfjit.Unverified(), bpfjit.WithHelpers(suiteHelpers)}
			if blind {
				opts = append(opts, bpfjit.WithConstantBlinding())
			}
			p, err := bpfjit.LoadInstructions(mustAssemble(t, tc.Asm), opts...)
			if err != nil {
				t.Errorf("%s (blind=%v): %v", tc.Name, blind, err)
				continue
			}
			got, err := p.Run(bytes.Clone(tc.Mem))
			p.Close()
			switch {
			case err != nil:
				t.Errorf("%s (blind=%v): %v", tc.Name, blind, err)
			case got != tc.Result:
				t.Errorf("%s (blind=%v): r0 = %#x, want %#x", tc.Name, blind, got, tc.Result)
			default:
				passed++
			}
		}
		if passed != len(tests) {
			t.Errorf("blind=%v: %d of %d files pass", blind, passed, len(tests))
		}
		t.Logf("blind=%v: %d of %d files pass", blind, passed, len(tests))
	}
}

// Helpers of the differential test: pure functions of r2–r5 (r1 is an address, which
// differs between the engines' memory buffers).
var diffHelpers = map[int32]func(a [5]uint64) uint64{
	1: func(a [5]uint64) uint64 { return a[1]*31 + a[2] ^ a[3]<<7 - a[4] },
	7: func(a [5]uint64) uint64 { return ^a[4] },
}

func diffEnv() (map[int32]bpfjit.Helper, interp.HelperTable) {
	jh := map[int32]bpfjit.Helper{}
	ih := interp.HelperTable{}
	for id, f := range diffHelpers {
		jh[id] = func(r1, r2, r3, r4, r5 uint64) uint64 { return f([5]uint64{r1, r2, r3, r4, r5}) }
		ih[id] = func(_ *interp.Memory, a [5]uint64) (uint64, error) { return f(a), nil }
	}
	return jh, ih
}

func TestDifferentialAgainstInterpreter(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	jh, ih := diffEnv()
	g := progen.New(4, progen.Options{Helpers: []int32{1, 7}})
	for k := 0; k < n; k++ {
		insns := g.Program()
		ip, err := interp.New(&isa.Program{Insns: insns}, nil)
		if err != nil {
			t.Fatal(err)
		}
		imem := make([]byte, progen.MemSize)
		want, err := ip.Run(&interp.Env{Context: imem, Helpers: ih})
		if err != nil {
			t.Fatalf("program %d: interp: %v", k, err)
		}
		opts := []bpfjit.Option{bpfjit.Unverified(), bpfjit.WithHelpers(jh)}
		if k%2 == 1 {
			opts = append(opts, bpfjit.WithConstantBlinding())
		}
		p, err := bpfjit.LoadInstructions(insns, opts...)
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
}

func TestLoadVerifiesByDefault(t *testing.T) {
	safe := mustAssemble(t, "mov %r0, 1\nstdw [%r10-16], 5\nldxdw %r0, [%r10-16]\nexit")
	p, err := bpfjit.LoadInstructions(safe)
	if err != nil {
		t.Fatalf("verified load of a safe program: %v", err)
	}
	defer p.Close()
	if got, err := p.Run(nil); err != nil || got != 5 {
		t.Errorf("Run = %d, %v; want 5", got, err)
	}
	// The frame is the verifier's stack depth (16 bytes), not the default 512.
	if runtime.GOARCH != "amd64" {
		return
	}
	var dump strings.Builder
	if err := p.Dump(&dump); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dump.String(), "sub rsp, 0x10") {
		t.Errorf("prologue does not reserve the verified 16 bytes:\n%s", dump.String())
	}
	// Reading the stack far below its 512 bytes is rejected, not run.
	_, err = bpfjit.LoadInstructions(mustAssemble(t, "ldxdw %r0, [%r10-4096]\nexit"))
	var ve *verifier.Error
	if !errors.As(err, &ve) || ve.Insn != 0 {
		t.Fatalf("unsafe load: err = %v, want a *verifier.Error at slot 0", err)
	}
	// The same program loads when the caller vouches for it (and is not run here).
	p2, err := bpfjit.LoadInstructions(mustAssemble(t, "ldxdw %r0, [%r10-4096]\nexit"), bpfjit.Unverified())
	if err != nil {
		t.Fatalf("Unverified load: %v", err)
	}
	p2.Close()
}

func TestRunAndCloseLifecycle(t *testing.T) {
	p, err := bpfjit.LoadInstructions(mustAssemble(t, "mov %r0, 7\nexit"), bpfjit.Unverified())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := p.Run(nil); err != nil || got != 7 {
		t.Fatalf("Run = %d, %v; want 7", got, err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := p.Run(nil); !errors.Is(err, bpfjit.ErrClosed) {
		t.Errorf("Run after Close: err = %v, want ErrClosed", err)
	}
	if err := p.Close(); !errors.Is(err, bpfjit.ErrClosed) {
		t.Errorf("second Close: err = %v, want ErrClosed", err)
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		want any
	}{
		{"unknown helper", "call 99\nexit", new(*bridge.UnknownHelperError)},
		{"callx with an id beyond 32 bits", "lddw %r3, 0x100000005\ncall %r3\nexit", new(*bridge.UnknownHelperError)},
		{"callx with a negative id", "mov %r3, -1\ncall %r3\nexit", new(*bridge.UnknownHelperError)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := bpfjit.LoadInstructions(mustAssemble(t, tc.text), bpfjit.Unverified(), bpfjit.WithHelpers(suiteHelpers))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			_, err = p.Run(nil)
			var ue *bridge.UnknownHelperError
			if !errors.As(err, &ue) {
				t.Fatalf("err = %v, want *bridge.UnknownHelperError", err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	// A map lddw (src 1) needs a resolver.
	ld := isa.LdImm64(isa.R1, isa.PseudoMapFD, 3)
	insns := []isa.Instruction{ld[0], ld[1], {Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceK), Imm: 0}, {Opcode: isa.OpExit}}
	_, err := bpfjit.LoadInstructions(insns, bpfjit.Unverified())
	var e *emit.Error
	if !errors.Is(err, bpfjit.ErrUnresolvedMap) || !errors.As(err, &e) || e.Index != 0 {
		t.Errorf("err = %v, want ErrUnresolvedMap at slot 0", err)
	}
	// With a resolver the address lands in r1.
	p, err := bpfjit.LoadInstructions([]isa.Instruction{ld[0], ld[1],
		{Opcode: isa.ALU(isa.ClassALU64, isa.ALUMov, isa.SourceX), Dst: isa.R0, Src: isa.R1}, {Opcode: isa.OpExit}},
		bpfjit.Unverified(), bpfjit.WithMapResolver(func(src isa.Register, imm, imm2 int32) (uint64, error) {
			return 0xabc0000000 + uint64(imm), nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got, err := p.Run(nil); err != nil || got != 0xabc0000003 {
		t.Errorf("Run = %#x, %v; want 0xabc0000003", got, err)
	}
	// Structural errors name the slot.
	_, err = bpfjit.LoadInstructions([]isa.Instruction{{Opcode: isa.OpExit}, {Opcode: 0xff}}, bpfjit.Unverified())
	if !errors.As(err, &e) || e.Index != 1 {
		t.Errorf("err = %v, want an *emit.Error at slot 1", err)
	}
}

func TestDumpShowsEachInstructionAndItsNativeCode(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		testDumpDecodesEveryByte(t)
		return
	}
	p, err := bpfjit.LoadInstructions(mustAssemble(t, `
		mov %r0, 1
		lddw %r2, 0x1122334455667788
		jeq %r1, 0, done
		add %r0, %r2
	done:
		exit`), bpfjit.Unverified())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var b strings.Builder
	if err := p.Dump(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// A blinded image dumps too, every byte decoding, the immediates hidden.
	bp, err := bpfjit.LoadInstructions(mustAssemble(t, "mov %r0, 0x1234567\nexit"), bpfjit.Unverified(), bpfjit.WithConstantBlinding())
	if err != nil {
		t.Fatal(err)
	}
	defer bp.Close()
	var bd strings.Builder
	if err := bp.Dump(&bd); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(bd.String(), "\n") {
		if strings.HasPrefix(line, "\t") && (strings.Contains(line, "0x1234567") || strings.Contains(line, "bad:")) {
			t.Errorf("blinded native line %q shows the immediate or does not decode", line)
		}
	}
	if !strings.Contains(bd.String(), "xor r10, ") {
		t.Errorf("blinded dump lacks the key xor into r10 (AX):\n%s", bd.String())
	}
	for _, want := range []string{"prologue", "nop dword ptr", "push rbp",
		"0: mov %r0, 1", "mov eax, 0x1",
		"1: lddw %r2, 0x1122334455667788", "mov rsi, 0x1122334455667788",
		"3: jeq %r1, 0", "test rdi, rdi", "jz ",
		"4: add %r0, %r2", "add rax, rsi",
		"epilogue", "leave", "ret"} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %q:\n%s", want, out)
		}
	}
}

// TestConcurrentRuns runs the same and different programs from 16 goroutines, checking
// every result (meant to be run with -race).
func TestConcurrentRuns(t *testing.T) {
	runs := 100000
	if testing.Short() {
		runs = 5000
	}
	type prog struct {
		p    *bpfjit.Program
		want func(k uint64) uint64
	}
	mk := func(text string, want func(k uint64) uint64, opts ...bpfjit.Option) prog {
		p, err := bpfjit.LoadInstructions(mustAssemble(t, text), append(opts, bpfjit.Unverified())...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return prog{p, want}
	}
	helper := map[int32]bpfjit.Helper{3: func(r1, r2, r3, r4, r5 uint64) uint64 { return r1*3 + 1 }}
	progs := []prog{
		mk("ldxdw %r0, [%r1]\nmul %r0, 5\nexit", func(k uint64) uint64 { return k * 5 }),
		mk("ldxdw %r1, [%r1]\ncall 3\nadd %r0, 2\nexit", func(k uint64) uint64 { return k*3 + 3 }, bpfjit.WithHelpers(helper)),
		mk("ldxdw %r0, [%r1]\nxor %r0, 0x5a5a\nexit", func(k uint64) uint64 { return k ^ 0x5a5a }, bpfjit.WithConstantBlinding()),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for gr := 0; gr < 16; gr++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mem := make([]byte, 8)
			for i := 0; i < runs; i++ {
				pr := progs[0]
				if gr%2 == 1 { // half the goroutines share program 0, the others rotate
					pr = progs[(gr+i)%len(progs)]
				}
				k := uint64(gr)<<32 | uint64(i)
				for b := range mem {
					mem[b] = byte(k >> (8 * b))
				}
				got, err := pr.p.Run(mem)
				if err != nil || got != pr.want(k) {
					errs <- fmt.Errorf("goroutine %d run %d: got %#x, %v; want %#x", gr, i, got, err, pr.want(k))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestLoadSpecFromCiliumInstructions(t *testing.T) {
	spec := &ebpf.ProgramSpec{
		Name: "add",
		Instructions: ciliumasm.Instructions{
			ciliumasm.LoadMem(ciliumasm.R0, ciliumasm.R1, 0, ciliumasm.Word),
			ciliumasm.Add.Imm(ciliumasm.R0, 35),
			ciliumasm.Return(),
		},
	}
	p, err := bpfjit.LoadSpec(spec, bpfjit.Unverified())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got, err := p.Run([]byte{7, 0, 0, 0}); err != nil || got != 42 {
		t.Errorf("Run = %d, %v; want 42", got, err)
	}
}

func TestBudgetStopsEndlessLoopsAndCalls(t *testing.T) {
	tests := []struct {
		name, text string
		budget     uint64
		want       uint64 // 0: ErrBudgetExhausted expected
	}{
		{"endless loop", "mov %r0, 0\nloop:\nadd %r0, 1\nja loop", 1000, 0},
		{"bounded loop within budget", "mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 100, loop\nexit", 1000, 100},
		{"loop exceeding budget", "mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 100, loop\nexit", 50, 0},
		{"calls count too", "mov %r6, 0\nloop:\ncall local f\nadd %r6, 1\njlt %r6, 10, loop\nmov %r0, %r6\nexit\nf:\nmov %r0, 1\nexit", 15, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := bpfjit.LoadInstructions(mustAssemble(t, tc.text), bpfjit.Unverified(), bpfjit.WithBudget(tc.budget),
				bpfjit.WithHelpers(suiteHelpers))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			for run := 0; run < 3; run++ { // the budget is per run
				got, err := p.Run(nil)
				if tc.want == 0 {
					if !errors.Is(err, bpfjit.ErrBudgetExhausted) {
						t.Fatalf("run %d: %d, %v; want ErrBudgetExhausted", run, got, err)
					}
				} else if err != nil || got != tc.want {
					t.Fatalf("run %d: %d, %v; want %d", run, got, err, tc.want)
				}
			}
		})
	}
}

// Verified loads size each frame from the verifier's stack depths instead of 512 bytes:
// generated programs (whose subprograms use their own frames) must still agree with the
// interpreter.
func TestVerifiedLoadsAgreeWithInterpreter(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	g := progen.New(11, progen.Options{})
	verified := 0
	for k := 0; k < n; k++ {
		insns := g.Program()
		p, err := bpfjit.LoadInstructions(insns, bpfjit.WithVerifier(verifier.Options{MinMem: progen.MemSize}))
		if err != nil {
			var ve *verifier.Error
			if !errors.As(err, &ve) {
				t.Fatalf("program %d: %v", k, err)
			}
			continue // beyond what the verifier proves; the unverified differential test covers it
		}
		verified++
		ip, err := interp.New(&isa.Program{Insns: insns}, nil)
		if err != nil {
			t.Fatal(err)
		}
		imem, jmem := make([]byte, progen.MemSize), make([]byte, progen.MemSize)
		want, ierr := ip.Run(&interp.Env{Context: imem})
		got, jerr := p.Run(jmem)
		p.Close()
		if ierr != nil || jerr != nil || got != want.R0 || !bytes.Equal(imem, jmem) {
			text, _ := asm.Disassemble(insns)
			t.Fatalf("program %d: jit %#x %v, interp %#x %v\n%s", k, got, jerr, want.R0, ierr, text)
		}
	}
	t.Logf("%d of %d generated programs verified and agree", verified, n)
	// The generator reads r1–r5 after BPF calls and leaves constant-folded dead code, both of
	// which the verifier rightly rejects; about a third of its programs remain.
	if verified < n/4 {
		t.Errorf("only %d of %d generated programs pass the verifier: the test checks too little", verified, n)
	}
}

// testDumpDecodesEveryByte is the architecture-neutral part of the dump test: every BPF
// slot appears and no native word fails to decode.
func testDumpDecodesEveryByte(t *testing.T) {
	p, err := bpfjit.LoadInstructions(mustAssemble(t, "mov %r0, 1\nlddw %r2, 0x1122334455667788\nadd %r0, %r2\nexit"), bpfjit.Unverified())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var b strings.Builder
	if err := p.Dump(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"prologue", "0: mov %r0, 1", "1: lddw %r2, 0x1122334455667788", "3: add %r0, %r2", "epilogue"} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "bad:") {
		t.Errorf("dump has undecodable code:\n%s", out)
	}
}

// Closing a program while other goroutines run it: every run either completes with the
// right result or reports ErrClosed; the code is unmapped only after running ones leave.
func TestCloseWhileRunning(t *testing.T) {
	for round := 0; round < 20; round++ {
		p, err := bpfjit.LoadInstructions(mustAssemble(t, `
			mov %r0, 0
		loop:
			add %r0, 1
			jlt %r0, 20000, loop
			exit`), bpfjit.Unverified())
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					got, err := p.Run(nil)
					if errors.Is(err, bpfjit.ErrClosed) {
						return
					}
					if err != nil || got != 20000 {
						t.Errorf("run: %d, %v", got, err)
						return
					}
				}
			}()
		}
		p.Close()
		wg.Wait()
	}
}
