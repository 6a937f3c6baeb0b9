//go:build amd64 && !purego

package isa

// scanSlots is scanSlotsGo in assembly (scan_amd64.s): the pass that every compile makes
// over every slot, in about half the instructions Go's code takes (Go spills part of the
// loop's state; the assembly keeps it all in registers).
//
//go:noescape
func scanSlots(insns *Instruction, n int, jumps, other *int32) (nj, no int, dsts uint16, unpaired bool)
