package bpfjit

import (
	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/maps"
	"github.com/bpfjit/bpfjit/verifier"
)

// maxLookupScan bounds how far back from a lookup call inlineArrayLookups looks for the
// lddw that sets r1 (clang puts it right before the call).
const maxLookupScan = 32

// inlineArrayLookups returns the slots of bpf_map_lookup_elem calls to lower inline
// (emit.Options.InlineArrayLookups): verified code, maps resolved by the bound table, and
// r1 set by an lddw of an array map in the same straight-line block as the call, with
// nothing in between that writes r1 or that a jump lands on, so every path to the call
// carries that map's handle. The verifier has proven r2 a readable 4-byte key.
func (c *config) inlineArrayLookups(insns []isa.Instruction) []int {
	if c.facts == nil || c.table == nil || !c.tableResolves {
		return nil
	}
	var calls []int
	for i := range insns {
		if insns[i].IsHelperCall() && insns[i].Imm == verifier.HelperMapLookupElem && (i == 0 || !insns[i-1].IsLdImm64()) {
			calls = append(calls, i)
		}
	}
	if len(calls) == 0 {
		return nil
	}
	landed := make([]bool, len(insns)+1) // slots a jump, call or function address reaches
	for i, in := range insns {
		if i > 0 && insns[i-1].IsLdImm64() {
			continue
		}
		var t int64 = -1
		switch {
		case in.IsJump():
			t = int64(i) + 1 + in.JumpOffset()
		case in.IsLocalCall(), in.IsFuncAddr():
			t = int64(i) + 1 + int64(in.Imm)
		}
		if t >= 0 && t <= int64(len(insns)) {
			landed[t] = true
		}
	}
	var out []int
	for _, i := range calls {
		if c.lookupMapIsArray(insns, landed, i) {
			out = append(out, i)
		}
	}
	return out
}

// lookupMapIsArray walks back from the call at i to the lddw that sets r1.
func (c *config) lookupMapIsArray(insns []isa.Instruction, landed []bool, i int) bool {
	for k := i - 1; k >= 0 && k >= i-maxLookupScan; k-- {
		if landed[k+1] {
			return false // another path joins between the lddw and the call
		}
		if k > 0 && insns[k-1].IsLdImm64() { // second half of an lddw
			k--
			in := insns[k]
			if in.Dst != isa.R1 {
				continue
			}
			if in.Src != isa.PseudoMapFD && in.Src != isa.PseudoMapIdx {
				return false
			}
			h, err := c.table.Resolve(in.Src, in.Imm, insns[k+1].Imm)
			if err != nil {
				return false
			}
			for m := 0; c.table.Map(m) != nil; m++ {
				if mp := c.table.Map(m); mp.Handle() == h {
					return mp.Type() == maps.Array
				}
			}
			return false
		}
		in := insns[k]
		switch cl := in.Opcode.Class(); {
		case cl == isa.ClassJMP || cl == isa.ClassJMP32 || cl == isa.ClassLD:
			return false // calls (and legacy packet loads) clobber r1; jumps and exits end the block
		case cl == isa.ClassST:
		case cl == isa.ClassSTX:
			if in.Opcode.Mode() == isa.ModeATOMIC && in.Src == isa.R1 {
				return false // fetch forms write the source register
			}
		default:
			if in.Dst == isa.R1 {
				return false
			}
		}
	}
	return false
}
