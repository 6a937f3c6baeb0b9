package bpfjit_test

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/asm"
	"github.com/bpfjit/bpfjit/maps"
)

var lookupRefs = []isa.MapRef{
	{Name: "arr", Type: uint32(maps.Array), KeySize: 4, ValueSize: 12, MaxEntries: 5}, // stride 16
	{Name: "hash", Type: uint32(maps.Hash), KeySize: 4, ValueSize: 8, MaxEntries: 5},
}

// lookupProgram looks key up in map m and returns the value's first u32 plus 1000
// (incrementing it in place), or 7 when the lookup fails. pre goes between the key store
// and the lddw, post between the lddw and the call.
func lookupProgram(m, key int, pre, post string) string {
	return fmt.Sprintf(`
		mov %%r9, %%r2
		stw [%%r10-4], %d
		mov %%r2, %%r10
		add %%r2, -4
		%s
		lddw %%r1, map_idx %d
		%s
		call 1
		jeq %%r0, 0, +6
		ldxw %%r1, [%%r0]
		add %%r1, 1
		stxw [%%r0], %%r1
		add %%r1, 1000
		mov %%r0, %%r1
		exit
		mov %%r0, 7
		exit
	`, key, pre, m, post)
}

// Array lookups whose map is known at the call are lowered inline and agree with the
// helper (the interpreter) on hits, misses and the stored values; lookups whose r1 might
// be something else, and hash maps, keep the helper call.
func TestInlineArrayLookup(t *testing.T) {
	requireJIT(t)
	for _, tc := range []struct {
		name      string
		src       string
		inlined   bool
		wantFirst uint64
	}{
		{"array, first slot", lookupProgram(0, 0, "", ""), true, 1001},
		{"array, last slot", lookupProgram(0, 4, "", ""), true, 1001},
		{"array, key = max entries", lookupProgram(0, 5, "", ""), true, 7},
		{"array, key far out of range", lookupProgram(0, -1, "", ""), true, 7},
		{"array, r1 untouched in between", lookupProgram(0, 3, "", "mov %r3, 1\nstw [%r10-8], 0"), true, 1001},
		{"hash map keeps the helper", lookupProgram(1, 3, "", ""), false, 7},
		{"r1 rewritten after the lddw", lookupProgram(0, 3, "", "mov %r1, %r1"), false, 1001},
		{"another path joins after the lddw", lookupProgram(0, 3, "lddw %r1, map_idx 1\njeq %r9, 12345, +2", "mov %r3, 1"), false, 1001},
		{"paths join at the lddw", lookupProgram(0, 3, "jeq %r9, 12345, +3\nlddw %r1, map_idx 0\nja +0", ""), true, 1001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog, err := asm.AssembleProgram(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			prog.Maps = lookupRefs
			jtab, err := maps.NewTable(lookupRefs, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer jtab.Close()
			itab, err := maps.NewTable(lookupRefs, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer itab.Close()
			p, err := bpfjit.Load(prog, bpfjit.WithMaps(jtab))
			if err != nil {
				t.Fatalf("%v\n%s", err, tc.src)
			}
			defer p.Close()
			if got := len(bpfjit.InlinedLookups(p)) > 0; got != tc.inlined {
				t.Fatalf("inlined %v, want %v", got, tc.inlined)
			}
			ip, err := interp.New(prog, &interp.Options{Maps: itab})
			if err != nil {
				t.Fatal(err)
			}
			for run := range 3 {
				got, err := p.Run(nil)
				if err != nil {
					t.Fatal(err)
				}
				want, err := maps.RunInterp(ip, interp.Env{})
				if err != nil {
					t.Fatal(err)
				}
				if got != want.R0 {
					t.Fatalf("run %d: jit %d, interp %d", run, got, want.R0)
				}
				if run == 0 && got != tc.wantFirst {
					t.Fatalf("first run: %d, want %d", got, tc.wantFirst)
				}
			}
			for k := uint32(0); k < 5; k++ {
				key := binary.LittleEndian.AppendUint32(nil, k)
				jv, _ := jtab.Map(0).Lookup(key)
				iv, _ := itab.Map(0).Lookup(key)
				if !slices.Equal(jv, iv) {
					t.Fatalf("array slot %d: jit %x, interp %x", k, jv, iv)
				}
			}
		})
	}
}

// The inline lookup reads the array's header at the offsets package maps documents.
func TestInlineLookupHeaderOffsetsMatchMaps(t *testing.T) {
	if emit.HeaderStrideOffset != maps.HeaderStrideOffset {
		t.Fatalf("emit reads the stride at %d, maps puts it at %d", emit.HeaderStrideOffset, maps.HeaderStrideOffset)
	}
}

// BenchmarkArrayLookup measures one array lookup from BPF, inline or through the helper
// (the same program with maps bound by WithMapResolver, which the JIT does not inline),
// net of what surrounds it. The program does 32 times: store a key, point r2 at it, load
// the map, look up, test for NULL, load the value and add it up. The baseline is the same
// program with each lookup replaced by `mov r0, r2` (a non-NULL pointer to the key), so
// ns/lookup = (run time - baseline time) / runs / 32 is the lookup alone (alternate).
func BenchmarkArrayLookup(b *testing.B) {
	program := func(lookup string) *isa.Program {
		var src strings.Builder
		src.WriteString("mov %r6, 0\n")
		for k := range 32 {
			fmt.Fprintf(&src, "stw [%%r10-4], %d\nmov %%r2, %%r10\nadd %%r2, -4\nlddw %%r1, map_idx 0\n%s\njeq %%r0, 0, +2\nldxw %%r1, [%%r0]\nadd %%r6, %%r1\n", k%5, lookup)
		}
		src.WriteString("mov %r0, %r6\nexit\n")
		prog, err := asm.AssembleProgram(src.String())
		if err != nil {
			b.Fatal(err)
		}
		prog.Maps = lookupRefs
		return prog
	}
	prog, baseProg := program("call 1"), program("mov %r0, %r2")
	for _, inline := range []bool{true, false} {
		b.Run(map[bool]string{true: "inline", false: "helper"}[inline], func(b *testing.B) {
			tab, err := maps.NewTable(lookupRefs, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer tab.Close()
			opts := []bpfjit.Option{bpfjit.WithMaps(tab)}
			if !inline {
				opts = append(opts, bpfjit.WithMapResolver(tab.Resolve))
			}
			var ps [2]*bpfjit.Program
			for k, pr := range []*isa.Program{prog, baseProg} {
				if ps[k], err = bpfjit.Load(pr, opts...); err != nil {
					b.Fatal(err)
				}
				defer ps[k].Close()
			}
			if n := len(bpfjit.InlinedLookups(ps[0])); (n == 32) != inline {
				b.Fatalf("%d lookups inlined", n)
			}
			alternate(b, 32, "lookup", func() error { _, err := ps[0].Run(nil); return err },
				func() error { _, err := ps[1].Run(nil); return err })
		})
	}
}
