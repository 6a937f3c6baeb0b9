package ebpfimport_test

import (
	"fmt"

	"github.com/bpfjit/bpfjit/isa/ebpfimport"
)

func ExampleFromELFFile() {
	p, err := ebpfimport.FromELFFile("../../testdata/elf/maps.o", "count")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Name, len(p.Insns), "slots")
	for i, m := range p.Maps {
		fmt.Printf("map %d: %s type %d value size %d\n", i, m.Name, m.Type, m.ValueSize)
	}
	// Output:
	// count 65 slots
	// map 0: .bss type 2 value size 8
	// map 1: .data type 2 value size 8
	// map 2: .rodata type 2 value size 4
	// map 3: src_bytes type 1 value size 8
	// map 4: proto_count type 2 value size 8
}
