package maps_test

import (
	"encoding/binary"
	"fmt"

	"github.com/bpfjit/bpfjit/interp"
	"github.com/bpfjit/bpfjit/isa/asm"
	"github.com/bpfjit/bpfjit/maps"
)

// A hash map used from Go and from a program run by the interpreter.
func Example() {
	m, err := maps.New(maps.Spec{Name: "counts", Type: maps.Hash, KeySize: 4, ValueSize: 8, MaxEntries: 16}, nil)
	if err != nil {
		panic(err)
	}
	defer m.Close()

	key := binary.LittleEndian.AppendUint32(nil, 7)
	_ = m.Update(key, binary.LittleEndian.AppendUint64(nil, 40), maps.UpdateNoExist)

	// The program adds 2 to counts[7] through the pointer bpf_map_lookup_elem returns.
	prog, _ := asm.AssembleProgram(`
		stw [%r10-4], 7
		lddw %r1, map_idx 0
		mov %r2, %r10
		add %r2, -4
		call 1
		jeq %r0, 0, +3
		ldxdw %r1, [%r0]
		add %r1, 2
		stxdw [%r0], %r1
		mov %r0, 0
		exit`)
	p, err := interp.New(prog, &interp.Options{Maps: maps.TableOf(m)})
	if err != nil {
		panic(err)
	}
	if _, err := maps.RunInterp(p, interp.Env{}); err != nil {
		panic(err)
	}

	v, _ := m.Lookup(key)
	fmt.Println(binary.LittleEndian.Uint64(v))
	err = m.Update(key, v, maps.UpdateNoExist)
	fmt.Println(err, maps.Errno(err))
	// Output:
	// 42
	// maps: update counts: key already exists -17
}
