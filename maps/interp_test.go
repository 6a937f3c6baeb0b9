package maps

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa/asm"
	"github.com/bpfjit/bpfjit/isa/ebpfimport"
)

// TestMapsObjectUnderTheInterpreter runs testdata/elf/maps.o (see its README: tcp.bin
// with empty maps gives r0 = 1) with maps from this package bound at load, then checks
// what the program left in them through the Go API.
func TestMapsObjectUnderTheInterpreter(t *testing.T) {
	prog, err := ebpfimport.FromELFFile("../testdata/elf/maps.o", "count")
	if err != nil {
		t.Fatal(err)
	}
	pkt, err := os.ReadFile("../testdata/elf/tcp.bin")
	if err != nil {
		t.Fatal(err)
	}
	tab, err := NewTable(prog.Maps, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	p, err := interp.New(prog, &interp.Options{Maps: tab})
	if err != nil {
		t.Fatal(err)
	}
	src := binary.BigEndian.Uint32(pkt[26:30])
	// The program builds the key as a host-order u32 from the big-endian bytes.
	srcKey := u32(src)
	for run := uint64(1); run <= 3; run++ {
		res, err := RunInterp(p, interp.Env{Context: pkt})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if res.R0 != run {
			t.Errorf("run %d: r0 = %d, want %d (the frame's new count)", run, res.R0, run)
		}
		for _, c := range []struct {
			m    string
			key  []byte
			want uint64
		}{
			{"proto_count", u32(6), run},
			{"proto_count", u32(17), 0},
			{"src_bytes", srcKey, run * uint64(len(pkt))},
			{".bss", u32(0), run}, // frames_seen
			{".data", u32(0), 34}, // min_len, from the object's initial contents
		} {
			v, err := tab.ByName(c.m).Lookup(c.key)
			if err != nil || leU64(v) != c.want {
				t.Errorf("run %d: %s[%x] = %x, %v; want %d", run, c.m, c.key, v, err, c.want)
			}
		}
	}
	if n := tab.ByName("src_bytes").Len(); n != 1 {
		t.Errorf("src_bytes has %d elements, want 1", n)
	}
	if err := tab.ByName(".rodata").Update(u32(0), u32(6), UpdateAny); err == nil {
		t.Error(".rodata accepted a Go update after load (it is frozen)")
	}
}

func TestInterpreterHelpersCheckPointersAndReturnErrnos(t *testing.T) {
	h := mustNew(t, Spec{Name: "h", Type: Hash, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	// key on the stack at r10-4; value at r10-16; update(NOEXIST) twice, lookup, write
	// through the pointer, delete; r0 = first update | second << 8 (low bytes) ...
	src := `
		stw [%r10-4], 7
		stdw [%r10-16], 100
		lddw %r1, map_idx 0
		mov %r2, %r10
		add %r2, -4
		mov %r3, %r10
		add %r3, -16
		mov %r4, 1
		call 2
		mov %r6, %r0
		lddw %r1, map_idx 0
		mov %r2, %r10
		add %r2, -4
		mov %r3, %r10
		add %r3, -16
		mov %r4, 1
		call 2
		mov %r7, %r0
		lddw %r1, map_idx 0
		mov %r2, %r10
		add %r2, -4
		call 1
		jeq %r0, 0, fail
		ldxdw %r8, [%r0]
		stdw [%r0], 555
		mov %r0, %r7
		exit
	fail:
		mov %r0, -1
		exit`
	prog, err := asm.AssembleProgram(src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := interp.New(prog, &interp.Options{Maps: TableOf(h)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunInterp(p, interp.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if int64(res.R0) != -17 {
		t.Errorf("second NOEXIST update returned %d, want -EEXIST", int64(res.R0))
	}
	if v, err := h.Lookup(u32(7)); err != nil || leU64(v) != 555 {
		t.Errorf("value after the program's store: %x, %v", v, err)
	}

	// A key pointer outside the run's memory ends the run with an error naming the slot.
	bad, _ := asm.AssembleProgram("lddw %r1, map_idx 0\nmov %r2, 16\ncall 1\nexit")
	pb, err := interp.New(bad, &interp.Options{Maps: TableOf(h)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := RunInterp(pb, interp.Env{}); err == nil {
		t.Error("lookup with a wild key pointer succeeded")
	}
}

// TestInterpreterTailCallsThroughProgramArrays: slot 0 holds a program that counts in
// r0 and tail-calls slot 0 again, so a run ends after exactly 33 tail calls; slot 1 is
// empty, so a tail call to it falls through.
func TestInterpreterTailCallsThroughProgramArrays(t *testing.T) {
	pa := mustNew(t, Spec{Name: "jmp", Type: ProgArray, KeySize: 4, ValueSize: 4, MaxEntries: 2})
	build := func(slot int) *interp.Program {
		prog, err := asm.AssembleProgram(`
			add %r0, 1
			lddw %r2, map_idx 0
			mov %r3, ` + string(rune('0'+slot)) + `
			call 12
			exit`)
		if err != nil {
			t.Fatal(err)
		}
		p, err := interp.New(prog, &interp.Options{Maps: TableOf(pa)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	self, toEmpty := build(0), build(1)
	if err := pa.SetProgram(0, InterpOnly(self)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		p         *interp.Program
		wantR0    uint64
		wantCalls int
	}{
		{"chain stops at 33 tail calls", self, 34, 33},
		{"empty slot falls through", toEmpty, 1, 0},
	} {
		res, err := RunInterp(c.p, interp.Env{})
		if err != nil || res.R0 != c.wantR0 || res.TailCalls != c.wantCalls {
			t.Errorf("%s: %+v, %v; want r0 %d after %d tail calls", c.name, res, err, c.wantR0, c.wantCalls)
		}
	}
	// The index is a u32: 1<<32 | 0 names slot 0, as the kernel (and the JIT) read it.
	high, err := asm.AssembleProgram("lddw %r2, map_idx 0\nlddw %r3, 0x100000000\ncall 12\nmov %r0, 99\nexit")
	if err != nil {
		t.Fatal(err)
	}
	hp, err := interp.New(high, &interp.Options{Maps: TableOf(pa)})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := RunInterp(hp, interp.Env{}); err != nil || res.TailCalls == 0 {
		t.Errorf("index 1<<32: %+v, %v; want a tail call into slot 0", res, err)
	}
	if err := pa.Delete(u32(0)); err != nil {
		t.Fatal(err)
	}
	if res, err := RunInterp(self, interp.Env{}); err != nil || res.R0 != 1 {
		t.Errorf("after Delete: %+v, %v; want r0 1", res, err)
	}
}
