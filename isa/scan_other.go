//go:build !amd64 || purego

package isa

func scanSlots(insns *Instruction, n int, jumps, other *int32) (nj, no int, dsts uint16, unpaired bool) {
	return scanSlotsGo(insns, n, jumps, other)
}
