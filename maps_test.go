//go:build linux && (amd64 || arm64)

package bpfjit_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
	"github.com/bpfjit/bpfjit/isa/ebpfimport"
	"github.com/bpfjit/bpfjit/maps"
	"github.com/bpfjit/bpfjit/verifier"
)

func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func lookupU64(t *testing.T, m *maps.Map, key []byte) uint64 {
	t.Helper()
	v, err := m.Lookup(key)
	if err != nil {
		t.Fatalf("%s[%x]: %v", m.Spec().Name, key, err)
	}
	return binary.LittleEndian.Uint64(v)
}

// maps.o loads verified with nothing but the memory guarantee its parser relies on: Load
// creates its maps (globals with their initial contents), binds its map references and
// provides the map helpers; the effects are visible through Program.Maps.
func TestMapsObjectLoadsVerifiedWithItsOwnMaps(t *testing.T) {
	prog, err := ebpfimport.FromELFFile("testdata/elf/maps.o", "count")
	if err != nil {
		t.Fatal(err)
	}
	frame, err := os.ReadFile("testdata/elf/tcp.bin")
	if err != nil {
		t.Fatal(err)
	}
	// Verification needs the 30 header bytes the program reads before it knows the
	// frame's length is min_len (a writable global the verifier cannot trust).
	p, err := bpfjit.Load(prog, bpfjit.WithVerifier(verifier.Options{MinMem: 64}))
	if err != nil {
		t.Fatal(err)
	}
	tab := p.Maps()
	if tab == nil {
		t.Fatal("Program.Maps is nil")
	}
	src := frame[26:30] // the IPv4 source, big-endian, as the program builds its key
	key := u32(binary.BigEndian.Uint32(src))
	for run := uint64(1); run <= 3; run++ {
		got, err := p.Run(bytes.Clone(frame))
		if err != nil || got != run {
			t.Fatalf("run %d: r0 = %d, %v; want %d (samples.json: 0x1 on empty maps)", run, got, err, run)
		}
		if n := lookupU64(t, tab.ByName("proto_count"), u32(6)); n != run {
			t.Errorf("run %d: proto_count[6] = %d", run, n)
		}
		if n := lookupU64(t, tab.ByName("src_bytes"), key); n != run*uint64(len(frame)) {
			t.Errorf("run %d: src_bytes[%x] = %d, want %d", run, src, n, run*uint64(len(frame)))
		}
		if n := lookupU64(t, tab.ByName(".bss"), u32(0)); n != run {
			t.Errorf("run %d: frames_seen = %d", run, n)
		}
	}
	if n := lookupU64(t, tab.ByName(".data"), u32(0)); n != 34 {
		t.Errorf("min_len = %d, want its initial 34", n)
	}
	counts := tab.ByName("proto_count")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := counts.Lookup(u32(6)); !errors.Is(err, maps.ErrClosed) {
		t.Errorf("maps Load created outlive the Program: lookup after Close: %v", err)
	}
}

// A host's own maps bound WithMaps receive the program's updates and stay open after Close.
func TestWithMapsBindsHostMaps(t *testing.T) {
	prog, err := ebpfimport.FromELFFile("testdata/elf/maps.o", "count")
	if err != nil {
		t.Fatal(err)
	}
	tab, err := maps.NewTable(prog.Maps, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	frame, _ := os.ReadFile("testdata/elf/tcp.bin")
	p, err := bpfjit.Load(prog, bpfjit.WithMaps(tab), bpfjit.WithVerifier(verifier.Options{MinMem: 64}))
	if err != nil {
		t.Fatal(err)
	}
	if p.Maps() != tab {
		t.Error("Program.Maps is not the table given")
	}
	if got, err := p.Run(frame); err != nil || got != 1 {
		t.Fatalf("Run = %d, %v; want 1", got, err)
	}
	p.Close()
	if n := lookupU64(t, tab.ByName("proto_count"), u32(6)); n != 1 {
		t.Errorf("proto_count[6] = %d after Close, want 1", n)
	}
}

// The verifier sees the bound maps: a key larger than the map's key size is rejected.
func TestWithMapsTellsTheVerifierTheMaps(t *testing.T) {
	prog, err := asm.AssembleProgram(`
		stdw [%r10-8], 0
		lddw %r1, map_idx 0
		mov %r2, %r10
		add %r2, -4
		call 1
		mov %r0, 0
		exit`)
	if err != nil {
		t.Fatal(err)
	}
	ref := isa.MapRef{Name: "m", Type: uint32(maps.Hash), KeySize: 4, ValueSize: 8, MaxEntries: 4}
	prog.Maps = []isa.MapRef{ref}
	wide := maps.Spec{Name: "wide", Type: maps.Hash, KeySize: 8, ValueSize: 8, MaxEntries: 4}
	m, err := maps.New(wide, nil)
	if err != nil {
		t.Fatal(err)
	}
	tab := maps.TableOf(m)
	defer tab.Close()
	if _, err := bpfjit.Load(prog, bpfjit.WithMaps(tab)); !errors.Is(err, verifier.ErrMemAccess) && !errors.Is(err, verifier.ErrHelper) {
		t.Fatalf("8-byte key read from a 4-byte stack slot: Load err = %v, want a verifier rejection", err)
	}
	p, err := bpfjit.Load(prog) // its own 4-byte-key map
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
}

// mapsDiffProgram builds a random program calling every map helper on a hash, an LRU
// hash and an array map, plus ktime_get_ns, get_prandom_u32, get_smp_processor_id and
// trace_printk, folding every result that is deterministic into r6 (a lookup's found
// value, never its address).
func mapsDiffProgram(r *rand.Rand, ops int) string {
	var b strings.Builder
	b.WriteString("mov %r6, 0\n")
	// "v=%d\n" NUL-padded, for trace_printk.
	b.WriteString("lddw %r1, 0x0a64253d76\nstxdw [%r10-24], %r1\n")
	for range ops {
		m := r.IntN(3)
		key := r.IntN(10) // the array has 8 entries: 8 and 9 are out of range
		fmt.Fprintf(&b, "stw [%%r10-4], %d\nstdw [%%r10-16], %d\n", key, r.IntN(1000))
		switch op := r.IntN(8); {
		case op < 3: // update, with each flag and an invalid one
			fmt.Fprintf(&b, "lddw %%r1, map_idx %d\nmov %%r2, %%r10\nadd %%r2, -4\nmov %%r3, %%r10\nadd %%r3, -16\nmov %%r4, %d\ncall 2\nlsh %%r6, 3\nadd %%r6, %%r0\n", m, r.IntN(4))
		case op < 5: // lookup: fold the value in and increment it in place
			fmt.Fprintf(&b, "lddw %%r1, map_idx %d\nmov %%r2, %%r10\nadd %%r2, -4\ncall 1\njeq %%r0, 0, +5\nldxdw %%r1, [%%r0]\nadd %%r6, %%r1\nadd %%r1, 1\nstxdw [%%r0], %%r1\nja +1\nadd %%r6, 7\n", m)
		case op < 7: // delete
			fmt.Fprintf(&b, "lddw %%r1, map_idx %d\nmov %%r2, %%r10\nadd %%r2, -4\ncall 3\nlsh %%r6, 2\nadd %%r6, %%r0\n", m)
		default: // the other helpers: only facts that hold in both engines
			b.WriteString(`call 5
				mov %r7, %r0
				call 5
				jge %r0, %r7, +1
				add %r6, 1000
				call 7
				rsh %r0, 32
				add %r6, %r0
				call 8
				rsh %r0, 16
				add %r6, %r0
				mov %r1, %r10
				add %r1, -24
				mov %r2, 8
				mov %r3, %r6
				mov %r4, 0
				mov %r5, 0
				call 6
				add %r6, %r0
`)
		}
	}
	b.WriteString("mov %r0, %r6\nexit\n")
	return b.String()
}

// interpStdHelpers are the standard helpers for the interpreter, writing trace text to w.
func interpStdHelpers(w *bytes.Buffer) interp.HelperTable {
	h := maps.InterpHelpers()
	var clock uint64
	h[5] = func(*interp.Memory, [5]uint64) (uint64, error) { clock += 10; return clock, nil }
	h[7] = func(*interp.Memory, [5]uint64) (uint64, error) { return uint64(rand.Uint32()), nil }
	h[8] = func(*interp.Memory, [5]uint64) (uint64, error) { return 0, nil }
	h[6] = func(m *interp.Memory, a [5]uint64) (uint64, error) {
		f, err := m.Bytes(a[0], a[1], false)
		if err != nil {
			return 0, err
		}
		out, ok := bpfjit.FormatTrace(f, [3]uint64{a[2], a[3], a[4]})
		if !ok {
			return uint64(1<<64 - 22), nil
		}
		w.Write(out)
		return uint64(len(out)), nil
	}
	return h
}

// Random programs using every helper and map type, verified and run by the JIT against
// maps bound at load, agree with the interpreter on r0, on every map's contents and on
// the trace output.
func TestMapsAndHelpersDifferentialAgainstInterpreter(t *testing.T) {
	n := 300
	if testing.Short() {
		n = 50
	}
	refs := []isa.MapRef{
		{Name: "hash", Type: uint32(maps.Hash), KeySize: 4, ValueSize: 8, MaxEntries: 4},
		{Name: "lru", Type: uint32(maps.LRUHash), KeySize: 4, ValueSize: 8, MaxEntries: 4},
		{Name: "array", Type: uint32(maps.Array), KeySize: 4, ValueSize: 8, MaxEntries: 8},
	}
	r := rand.New(rand.NewPCG(1, 2))
	traced := 0
	for k := range n {
		src := mapsDiffProgram(r, 1+r.IntN(12))
		prog, err := asm.AssembleProgram(src)
		if err != nil {
			t.Fatal(err)
		}
		prog.Maps = refs
		var jtrace, itrace bytes.Buffer
		p, err := bpfjit.Load(prog, bpfjit.WithTraceOutput(&jtrace))
		if err != nil {
			t.Fatalf("program %d: %v\n%s", k, err, src)
		}
		runs := 1 + r.IntN(3) // later runs see the maps earlier ones left
		itab, err := maps.NewTable(refs, nil)
		if err != nil {
			t.Fatal(err)
		}
		ip, err := interp.New(prog, &interp.Options{Maps: itab})
		if err != nil {
			t.Fatal(err)
		}
		ih := interpStdHelpers(&itrace)
		for run := range runs {
			want, err := maps.RunInterp(ip, interp.Env{Helpers: ih})
			if err != nil {
				t.Fatalf("program %d: interp: %v", k, err)
			}
			got, err := p.Run(nil)
			if err != nil || got != want.R0 {
				t.Fatalf("program %d run %d: jit r0 %#x, %v; interp %#x\n%s", k, run, got, err, want.R0, src)
			}
		}
		for i, ref := range refs {
			js, is := map[string]string{}, map[string]string{}
			for key, v := range p.Maps().Map(i).All() {
				js[string(key)] = string(v)
			}
			for key, v := range itab.Map(i).All() {
				is[string(key)] = string(v)
			}
			if fmt.Sprint(js) != fmt.Sprint(is) {
				t.Fatalf("program %d: map %s: jit %x, interp %x\n%s", k, ref.Name, js, is, src)
			}
		}
		if jtrace.String() != itrace.String() {
			t.Fatalf("program %d: trace output: jit %q, interp %q", k, jtrace.String(), itrace.String())
		}
		if jtrace.Len() > 0 {
			traced++
		}
		p.Close()
		itab.Close()
	}
	if traced == 0 {
		t.Error("no program wrote trace output: trace_printk untested")
	}
}

// get_smp_processor_id gives concurrent runs distinct ids.
func TestSmpProcessorIDDistinctAcrossConcurrentRuns(t *testing.T) {
	const runners = 8
	var (
		mu      sync.Mutex
		inside  = map[uint64]bool{}
		clash   bool
		release = make(chan struct{})
		entered sync.WaitGroup
	)
	entered.Add(runners)
	// Helper 1000 records the id the run got (r1) while every run is inside at once.
	hold := func(id, _, _, _, _ uint64) uint64 {
		mu.Lock()
		clash = clash || inside[id]
		inside[id] = true
		mu.Unlock()
		entered.Done()
		<-release
		return 0
	}
	p, err := bpfjit.LoadInstructions(mustAssemble(t, "call 8\nmov %r1, %r0\ncall 1000\nexit"),
		bpfjit.WithHelper(1000, hold, &verifier.HelperProto{Name: "hold", Args: [5]verifier.ArgType{verifier.ArgScalar}}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var done sync.WaitGroup
	for range runners {
		done.Add(1)
		go func() {
			defer done.Done()
			if _, err := p.Run(nil); err != nil {
				t.Error(err)
			}
		}()
	}
	entered.Wait()
	close(release)
	done.Wait()
	if clash || len(inside) != runners {
		t.Fatalf("concurrent runs got ids %v (clash %v), want %d distinct", inside, clash, runners)
	}
}

func TestFormatTrace(t *testing.T) {
	tests := []struct {
		format string
		args   [3]uint64
		want   string
		ok     bool
	}{
		{"plain\x00", [3]uint64{}, "plain", true},
		{"%d %u %x\x00", [3]uint64{^uint64(0), ^uint64(0), 0xabc}, "-1 4294967295 abc", true},
		{"%lld %llu %lx\x00", [3]uint64{^uint64(0), ^uint64(0), 1 << 40}, "-1 18446744073709551615 10000000000", true},
		{"%X %c%c\x00", [3]uint64{0xbeef, 'o', 'k'}, "BEEF ok", true},
		{"%p 100%%\x00", [3]uint64{0x1000}, "0x1000 100%", true},
		{"stops at the NUL\x00%d", [3]uint64{}, "stops at the NUL", true},
		{"%d %d %d %d\x00", [3]uint64{}, "", false}, // a fourth conversion
		{"%s\x00", [3]uint64{}, "", false},          // never read an argument as an address
		{"%q\x00", [3]uint64{}, "", false},
		{"%\x00", [3]uint64{}, "", false},
		{"no terminator", [3]uint64{}, "", false},
	}
	for _, tc := range tests {
		got, ok := bpfjit.FormatTrace([]byte(tc.format), tc.args)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("FormatTrace(%q) = %q, %v; want %q, %v", tc.format, got, ok, tc.want, tc.ok)
		}
	}
}

// trace_printk writes to WithTraceOutput and returns the text's length; a bad format
// returns -EINVAL and writes nothing.
func TestTracePrintkWritesToTheWriter(t *testing.T) {
	var out bytes.Buffer
	// "n=%d\n" then a NUL, in two words on the stack.
	p, err := bpfjit.LoadInstructions(mustAssemble(t, `
		lddw %r1, 0x0a64253d6e
		stxdw [%r10-8], %r1
		mov %r1, %r10
		add %r1, -8
		mov %r2, 8
		mov %r3, -42
		mov %r4, 0
		mov %r5, 0
		call 6
		exit`), bpfjit.WithTraceOutput(&out))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got, err := p.Run(nil)
	if err != nil || got != uint64(len("n=-42\n")) || out.String() != "n=-42\n" {
		t.Fatalf("r0 = %d, %v, output %q; want 6 and %q", got, err, out.String(), "n=-42\n")
	}
}

// A host-defined program type without the map helpers still calls them once maps are
// bound: Load provides the helpers and tells the verifier their prototypes.
func TestWithMapsAddsMapHelperPrototypesToHostTypes(t *testing.T) {
	prog, err := asm.AssembleProgram(`
		stw [%r10-4], 3
		lddw %r1, map_idx 0
		mov %r2, %r10
		add %r2, -4
		call 1
		jeq %r0, 0, +2
		ldxdw %r0, [%r0]
		exit
		mov %r0, 99
		exit`)
	if err != nil {
		t.Fatal(err)
	}
	prog.Maps = []isa.MapRef{{Name: "a", Type: uint32(maps.Array), KeySize: 4, ValueSize: 8, MaxEntries: 4}}
	host := &verifier.ProgType{Name: "host", RawMemory: true}
	p, err := bpfjit.Load(prog, bpfjit.WithVerifier(verifier.Options{Type: host}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Maps().Map(0).Update(u32(3), binary.LittleEndian.AppendUint64(nil, 77), maps.UpdateAny); err != nil {
		t.Fatal(err)
	}
	if got, err := p.Run(nil); err != nil || got != 77 {
		t.Fatalf("Run = %d, %v; want 77", got, err)
	}
}
