//go:build linux && (amd64 || arm64)

package maps_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
	"github.com/bpfjit/bpfjit/isa/ebpfimport"
	"github.com/bpfjit/bpfjit/maps"
)

// snapshot copies every map of a table, for comparing two runs' effects.
func snapshot(t *testing.T, tab *maps.Table, n int) []map[string]string {
	var out []map[string]string
	for i := range n {
		m := tab.Map(i)
		s := map[string]string{}
		for k, v := range m.All() {
			s[string(k)] = string(v)
		}
		out = append(out, s)
	}
	return out
}

// TestMapsObjectJITAgreesWithInterpreter runs maps.o natively (maps bound through
// Table.Resolve, helpers from RawHelpers) and under the interpreter on separate tables,
// several frames each, and compares r0 and every map after every run.
func TestMapsObjectJITAgreesWithInterpreter(t *testing.T) {
	prog, err := ebpfimport.FromELFFile("../testdata/elf/maps.o", "count")
	if err != nil {
		t.Fatal(err)
	}
	frames := [][]byte{}
	for _, f := range []string{"tcp.bin", "udp.bin", "arp.bin", "tcp.bin", "tcp_corrupt.bin"} {
		b, err := os.ReadFile("../testdata/elf/" + f)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, b)
	}
	jitTab, err := maps.NewTable(prog.Maps, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer jitTab.Close()
	intTab, err := maps.NewTable(prog.Maps, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer intTab.Close()

	jp, err := bpfjit.Load(prog, bpfjit.Unverified(), bpfjit.WithMapResolver(jitTab.Resolve),
		bpfjit.WithHelpers(maps.RawHelpers()))
	if err != nil {
		t.Fatal(err)
	}
	defer jp.Close()
	ip, err := interp.New(prog, &interp.Options{Maps: intTab})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		want, err := maps.RunInterp(ip, interp.Env{Context: f})
		if err != nil {
			t.Fatal(err)
		}
		got, err := jp.Run(bytes.Clone(f))
		if err != nil {
			t.Fatalf("frame %d: JIT: %v", i, err)
		}
		if got != want.R0 {
			t.Errorf("frame %d: JIT r0 %#x, interpreter %#x", i, got, want.R0)
		}
		js, is := snapshot(t, jitTab, len(prog.Maps)), snapshot(t, intTab, len(prog.Maps))
		for m := range js {
			if len(js[m]) != len(is[m]) {
				t.Errorf("frame %d map %s: %d keys under the JIT, %d under the interpreter", i, prog.Maps[m].Name, len(js[m]), len(is[m]))
			}
			for k, v := range is[m] {
				if js[m][k] != v {
					t.Errorf("frame %d map %s key %x: JIT %x, interpreter %x", i, prog.Maps[m].Name, k, js[m][k], v)
				}
			}
		}
	}
}

// TestHelpersJITAgreesWithInterpreter: one program calling lookup, update and delete
// on a hash, an LRU hash and an array, with every update flag, run both ways.
func TestHelpersJITAgreesWithInterpreter(t *testing.T) {
	// For map i in 0..2: update(k=5, NOEXIST) twice, update(k=6, EXIST), lookup(5) and
	// increment its value, delete(5), delete(5) again; r0 accumulates every return value
	// and whether the lookup found something (never its address: that differs between
	// the two runs' maps).
	src := "mov %r6, 0"
	for i := range 3 {
		idx := string(rune('0' + i))
		src += `
		stw [%r10-4], 5
		stw [%r10-8], 6
		stdw [%r10-16], 0x1234
		lddw %r1, map_idx ` + idx + `
		mov %r2, %r10
		add %r2, -4
		mov %r3, %r10
		add %r3, -16
		mov %r4, 1
		call 2
		lsh %r6, 4
		add %r6, %r0
		lddw %r1, map_idx ` + idx + `
		mov %r2, %r10
		add %r2, -4
		mov %r3, %r10
		add %r3, -16
		mov %r4, 1
		call 2
		lsh %r6, 4
		add %r6, %r0
		lddw %r1, map_idx ` + idx + `
		mov %r2, %r10
		add %r2, -8
		mov %r3, %r10
		add %r3, -16
		mov %r4, 2
		call 2
		lsh %r6, 4
		add %r6, %r0
		lddw %r1, map_idx ` + idx + `
		mov %r2, %r10
		add %r2, -4
		call 1
		jeq %r0, 0, +4
		ldxdw %r1, [%r0]
		add %r1, 1
		stxdw [%r0], %r1
		add %r6, 1
		lddw %r1, map_idx ` + idx + `
		mov %r2, %r10
		add %r2, -4
		call 3
		lsh %r6, 4
		add %r6, %r0
		lddw %r1, map_idx ` + idx + `
		mov %r2, %r10
		add %r2, -4
		call 3
		lsh %r6, 4
		add %r6, %r0`
	}
	src += "\n\tmov %r0, %r6\n\texit"
	prog, err := asm.AssembleProgram(src)
	if err != nil {
		t.Fatal(err)
	}
	prog.Maps = []isa.MapRef{
		{Name: "hash", Type: uint32(maps.Hash), KeySize: 4, ValueSize: 8, MaxEntries: 4},
		{Name: "lru", Type: uint32(maps.LRUHash), KeySize: 4, ValueSize: 8, MaxEntries: 4},
		{Name: "array", Type: uint32(maps.Array), KeySize: 4, ValueSize: 8, MaxEntries: 8},
	}
	run := func(jit bool) (uint64, []map[string]string) {
		tab, err := maps.NewTable(prog.Maps, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tab.Close()
		var r0 uint64
		if jit {
			p, err := bpfjit.Load(prog, bpfjit.Unverified(), bpfjit.WithMapResolver(tab.Resolve),
				bpfjit.WithHelpers(maps.RawHelpers()))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if r0, err = p.Run(nil); err != nil {
				t.Fatal(err)
			}
		} else {
			p, err := interp.New(prog, &interp.Options{Maps: tab})
			if err != nil {
				t.Fatal(err)
			}
			res, err := maps.RunInterp(p, interp.Env{})
			if err != nil {
				t.Fatal(err)
			}
			r0 = res.R0
		}
		return r0, snapshot(t, tab, 3)
	}
	jr0, jmaps := run(true)
	ir0, imaps := run(false)
	if jr0 != ir0 {
		t.Errorf("r0: JIT %#x, interpreter %#x", jr0, ir0)
	}
	for i := range jmaps {
		if len(jmaps[i]) != len(imaps[i]) {
			t.Errorf("map %d: %d vs %d keys", i, len(jmaps[i]), len(imaps[i]))
		}
		for k, v := range imaps[i] {
			if jmaps[i][k] != v {
				t.Errorf("map %d key %x: JIT %x, interpreter %x", i, k, jmaps[i][k], v)
			}
		}
	}
}

// TestJITRunsHoldValuesAcrossReclamation: native runs look up a hash value and re-read
// it thousands of times while Go replaces and deletes the key; the map uses the default
// grace source (execmem runners) with poisoning. A run that saw its value change or
// turn to poison returns 2.
func TestJITRunsHoldValuesAcrossReclamation(t *testing.T) {
	prog, err := asm.AssembleProgram(`
		stw [%r10-4], 1
		lddw %r1, map_idx 0
		mov %r2, %r10
		add %r2, -4
		call 1
		jeq %r0, 0, miss
		mov %r6, %r0
		ldxdw %r7, [%r6]
		mov %r8, 2000
	loop:
		ldxdw %r1, [%r6+8]
		xor %r1, 0x5a5a5a5a
		jne %r1, %r7, bad
		ldxdw %r1, [%r6]
		jne %r1, %r7, bad
		sub %r8, 1
		jne %r8, 0, loop
		mov %r0, 1
		exit
	miss:
		mov %r0, 0
		exit
	bad:
		mov %r0, 2
		exit`)
	if err != nil {
		t.Fatal(err)
	}
	m, err := maps.New(maps.Spec{Name: "h", Type: maps.Hash, KeySize: 4, ValueSize: 16, MaxEntries: 4},
		&maps.Options{Poison: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p, err := bpfjit.Load(prog, bpfjit.Unverified(), bpfjit.WithMapResolver(maps.TableOf(m).Resolve),
		bpfjit.WithHelpers(maps.RawHelpers()))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	const writes = 20000
	updates := 0
	var stop atomic.Bool
	var found, bad atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				r0, err := p.Run(nil)
				if err != nil {
					t.Error(err)
					return
				}
				switch r0 {
				case 1:
					found.Add(1)
				case 2:
					bad.Add(1)
				}
			}
		}()
	}
	key := []byte{1, 0, 0, 0}
	// At least writes updates, and on until runs have found the value often enough (on a
	// busy machine they may start late), within a bound.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < writes || (found.Load() < 200 && time.Now().Before(deadline)); i++ {
		if i%7 == 6 {
			_ = m.Delete(key)
			continue
		}
		gen := uint64(i + 1)
		v := binary.LittleEndian.AppendUint64(nil, gen)
		v = binary.LittleEndian.AppendUint64(v, gen^0x5a5a5a5a)
		switch err := m.Update(key, v, maps.UpdateAny); {
		case err == nil:
			updates++
		case !errors.Is(err, maps.ErrNoMemory):
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	m.Synchronize()
	t.Logf("%d runs found the value, %d slots reclaimed", found.Load(), maps.Reclaimed(m))
	if bad.Load() != 0 {
		t.Fatalf("%d runs saw their value change or turn to poison", bad.Load())
	}
	// The map has 4 + 4096 slots: more successful updates than that means slots were
	// reclaimed and reused while programs ran.
	if found.Load() < 200 || updates <= 4+4096 || maps.Reclaimed(m) == 0 {
		t.Fatalf("test did not exercise reclamation under runs: %d runs found the value, %d updates, %d reclaimed",
			found.Load(), updates, maps.Reclaimed(m))
	}
}
