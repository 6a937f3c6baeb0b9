package verifier

import (
	"github.com/bpfjit/bpfjit/isa"
	"github.com/cilium/ebpf/btf"
)

// subprog is one BPF function and what the structure pass learned about it.
type subprog struct {
	isa.Subprogram
	global bool
	calls  []int // subprograms it calls (static call graph, reachable code only)
	depth  int   // stack depth found by the abstract interpretation
	tail   bool  // contains a tail call
}

type regset uint16

func bit(r isa.Register) regset { return 1 << r }

const (
	argRegs    regset = 0b111110 // r1–r5
	callerSave regset = 0b111111 // r0–r5
	calleeKept regset = 0b1111000000
	// memLive is a pseudo-register: "the raw memory region may be accessed from here".
	// Instructions that may access memory through a pointer other than r10, and calls, use
	// it; nothing defines it. Where it is dead, how much of the region was proven
	// accessible (state.memRange) no longer matters for pruning.
	memLive regset = 1 << 11
)

// structure checks what does not need values: every instruction reachable, no recursion,
// call chains at most MaxCallFrames deep. It fills v.subs, v.subOf and the prune points.
func (v *verifier) structure() error {
	insns := v.insns
	n := len(insns)
	subs := v.prog.Subprograms()
	v.subOf = make([]int, n)
	v.subs = make([]subprog, len(subs))
	startOf := make(map[int]int, len(subs))
	for i, s := range subs {
		v.subs[i].Subprogram = s
		v.subs[i].global = s.BTF != nil && s.BTF.Linkage == btf.GlobalFunc && i != 0
		startOf[s.Start] = i
		for j := s.Start; j < s.End; j++ {
			v.subOf[j] = i
		}
	}
	for _, fi := range v.prog.Funcs {
		if _, ok := startOf[fi.Start]; !ok {
			return v.errAt(fi.Start, ErrFuncSignature, "function info for %q at insn %d does not start a function", fi.Name, fi.Start)
		}
	}
	v.prune = make([]bool, n)
	v.loopHead = make([]bool, n)
	second := make([]bool, n)
	for i := 0; i < n; i++ {
		if insns[i].IsLdImm64() {
			second[i+1] = true
			i++
		}
	}
	// Depth-first walk from every function entry reached from the main program.
	seen := make([]bool, n)
	reached := make([]bool, len(subs))
	work := []int{0}
	reached[0] = true
	var fnWork []int
	fnWork = append(fnWork, 0)
	for len(fnWork) > 0 {
		f := fnWork[len(fnWork)-1]
		fnWork = fnWork[:len(fnWork)-1]
		work = append(work[:0], subs[f].Start)
		v.prune[subs[f].Start] = true
		for len(work) > 0 {
			i := work[len(work)-1]
			work = work[:len(work)-1]
			if seen[i] {
				continue
			}
			seen[i] = true
			in := insns[i]
			push := func(t int) {
				if !seen[t] {
					work = append(work, t)
				}
			}
			switch {
			case in.IsExit():
			case in.IsLocalCall() || in.IsFuncAddr():
				t := startOf[i+1+int(in.Imm)]
				if in.IsLocalCall() {
					v.subs[f].calls = append(v.subs[f].calls, t)
				}
				if !reached[t] {
					reached[t] = true
					fnWork = append(fnWork, t)
				}
				next := i + 1
				if in.IsFuncAddr() {
					next = i + 2
					seen[i+1] = true
				}
				v.prune[next] = true
				push(next)
			case in.IsUnconditionalJump():
				t := i + 1 + int(in.JumpOffset())
				v.prune[t] = true
				v.loopHead[t] = v.loopHead[t] || t <= i
				push(t)
			case in.IsJump():
				t := i + 1 + int(in.JumpOffset())
				v.prune[t] = true
				v.loopHead[t] = v.loopHead[t] || t <= i
				v.prune[i+1] = true
				push(i + 1)
				push(t)
			case in.IsLdImm64():
				seen[i+1] = true
				push(i + 2)
			default:
				if in.IsHelperCall() && in.Imm == HelperTailCall {
					v.subs[f].tail = true
				}
				push(i + 1)
			}
		}
	}
	for i := 0; i < n; i++ {
		if !seen[i] && !second[i] {
			if !reached[v.subOf[i]] {
				return v.errAt(i, ErrUnreachable, "unreachable insn %d: function at %d is never called", i, subs[v.subOf[i]].Start)
			}
			return v.errAt(i, ErrUnreachable, "unreachable insn %d", i)
		}
	}
	// Recursion and call depth on the static call graph. Global functions are verified on
	// their own, so a chain is measured from each of them as well as from the main program.
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(subs))
	frames := make([]int, len(subs)) // deepest chain of frames starting at each function
	var walk func(f int) error
	walk = func(f int) error {
		if color[f] == black {
			return nil
		}
		color[f] = grey
		d := 1
		for _, c := range v.subs[f].calls {
			if color[c] == grey {
				return v.errAt(subs[c].Start, ErrRecursion, "recursive call from function at %d to function at %d", subs[f].Start, subs[c].Start)
			}
			if err := walk(c); err != nil {
				return err
			}
			if !v.subs[c].global {
				d = max(d, 1+frames[c])
			}
		}
		color[f] = black
		frames[f] = d
		if d > MaxCallFrames {
			return v.errAt(subs[f].Start, ErrCallDepth, "the call chain from function at %d is %d frames deep (limit %d)", subs[f].Start, d, MaxCallFrames)
		}
		return nil
	}
	for f := range subs {
		if reached[f] {
			if err := walk(f); err != nil {
				return err
			}
		}
	}
	v.reached = reached
	v.liveness()
	return nil
}

// uses and defs of one instruction, for register liveness. Calls read r1–r5 (as many as the
// helper takes) and clobber r0–r5; exit reads r0.
func (v *verifier) usesDefs(i int) (use, def regset, use64 regset) {
	in := v.insns[i]
	op := in.Opcode
	d, s := bit(in.Dst), bit(in.Src)
	switch c := op.Class(); c {
	case isa.ClassALU, isa.ClassALU64:
		def = d
		if op.ALUOp() != isa.ALUMov {
			use |= d
		}
		if op.Source() == isa.SourceX && op.ALUOp() != isa.ALUNeg && op.ALUOp() != isa.ALUEnd {
			use |= s
		}
		if c == isa.ClassALU64 {
			use64 = use
		} else if op.ALUOp() == isa.ALUEnd && in.Imm == 64 {
			use64 = d // le64/be64 in the 32-bit class read and write all 64 bits
		}
	case isa.ClassLDX:
		use, def, use64 = s, d, s
		if in.Src != isa.R10 {
			use |= memLive
		}
	case isa.ClassST:
		use, use64 = d, d
		if in.Dst != isa.R10 {
			use |= memLive
		}
	case isa.ClassSTX:
		use, use64 = d|s, d
		if in.Dst != isa.R10 {
			use |= memLive
		}
		if op.Size() == isa.SizeDW {
			use64 |= s
		}
		if op.Mode() == isa.ModeATOMIC {
			a := isa.AtomicOp(in.Imm)
			if a == isa.AtomicCmpXchg {
				use |= bit(isa.R0)
				def = bit(isa.R0)
				if op.Size() == isa.SizeDW {
					use64 |= bit(isa.R0)
				}
			} else if a&isa.AtomicFetch != 0 {
				def = s
			}
		}
	case isa.ClassLD:
		if in.IsLdImm64() {
			def = d
		} else {
			use = bit(isa.R6) | s | memLive
			use64 = bit(isa.R6)
			def = callerSave
		}
	case isa.ClassJMP, isa.ClassJMP32:
		switch {
		case in.IsExit():
			use, use64 = bit(isa.R0), bit(isa.R0)
		case in.IsHelperCall():
			n := 5
			if p := v.helper(in.Imm); p != nil {
				n = p.nargs()
			}
			use = argRegs & (1<<(n+1) - 1)
			use64, def = use, callerSave
			use |= memLive
		case op.JumpOp() == isa.JumpCall:
			use, use64, def = argRegs|d|memLive, argRegs|d, callerSave
		case in.IsJump() && op.JumpOp() != isa.JumpA:
			use = d
			if op.Source() == isa.SourceX {
				use |= s
			}
			if c == isa.ClassJMP {
				use64 = use
			}
		}
	}
	return
}

// liveness computes, per instruction, the registers that may be read before being written
// (v.live, for state pruning) and those whose upper 32 bits may be read (v.live64, for the
// zero-extension facts).
func (v *verifier) liveness() {
	n := len(v.insns)
	v.live = make([]regset, n)
	v.live64 = make([]regset, n)
	// Successors within the function (calls fall through; exit has none); -1 for none.
	succ := make([][2]int32, n)
	uses := make([]regset, n)
	uses64 := make([]regset, n)
	defs := make([]regset, n)
	for i := 0; i < n; i++ {
		in := v.insns[i]
		s := [2]int32{-1, -1}
		switch {
		case in.IsExit():
		case in.IsLdImm64():
			s[0] = int32(i + 2)
		case in.IsUnconditionalJump():
			s[0] = int32(i + 1 + int(in.JumpOffset()))
		case in.IsJump():
			s[0], s[1] = int32(i+1), int32(i+1+int(in.JumpOffset()))
		default:
			s[0] = int32(i + 1)
		}
		for k := range s {
			if s[k] >= int32(n) {
				s[k] = -1
			}
		}
		succ[i] = s
		uses[i], defs[i], uses64[i] = v.usesDefs(i)
		if in.IsLdImm64() {
			i++
		}
	}
	out := func(i int, l []regset) regset {
		var o regset
		for _, t := range succ[i] {
			if t >= 0 {
				o |= l[t]
			}
		}
		return o
	}
	for changed := true; changed; {
		changed = false
		for i := n - 1; i >= 0; i-- {
			if i > 0 && v.insns[i-1].IsLdImm64() {
				continue
			}
			l := uses[i] | out(i, v.live)&^defs[i]
			// A 32-bit definition kills the whole register; a 64-bit read of a register
			// only read as 32 bits here stays pending from later instructions.
			l64 := uses64[i] | out(i, v.live64)&^defs[i]
			if l != v.live[i] || l64 != v.live64[i] {
				v.live[i], v.live64[i] = l, l64
				changed = true
			}
		}
	}
	v.liveOut64 = func(i int) regset { return out(i, v.live64) }
	v.slotLiveness(succ)
}

// allSlots is every 8-byte slot of a frame (MaxStack/8 = 64 of them).
const allSlots = ^uint64(0)

// slotLive reports whether slot k is in the set live; slots past the 64 tracked ones (there
// are none: accesses beyond MaxStack are rejected) count as live.
func slotLive(live uint64, k int) bool { return k >= 64 || live&(1<<uint(k)) != 0 }

// slotsOf returns the slots that bytes [fp+off, fp+off+size) fall in; offsets outside the
// frame (rejected when executed) give none.
func slotsOf(off, size int) uint64 {
	var m uint64
	for b := off; b < off+size; b++ {
		if b < 0 && b >= -MaxStack {
			m |= 1 << uint((-b-1)/8)
		}
	}
	return m
}

// slotLiveness computes v.liveSlots: per instruction, the slots of the current frame that
// some path may read before overwriting them whole. Reads through r10 name their slots;
// an access through another register that may point into the frame, and every call (its
// arguments may point into the frame), may read any slot; only an aligned 8-byte store
// through r10 overwrites one. A function that stores a pointer to its own frame anywhere,
// or passes one to a BPF function (which could store it there) keeps every slot live: a
// pointer loaded back could read any of them.
func (v *verifier) slotLiveness(succ [][2]int32) {
	n := len(v.insns)
	v.liveSlots = make([]uint64, n)
	sp := v.framePointers(succ)
	read := make([]uint64, n)
	kill := make([]uint64, n)
	escaped := make([]bool, len(v.subs))
	for i := 0; i < n; i++ {
		in := v.insns[i]
		op := in.Opcode
		size := 0
		if c := op.Class(); c == isa.ClassLDX || c == isa.ClassST || c == isa.ClassSTX {
			size = op.Size().Bytes()
		}
		switch c := op.Class(); {
		case c == isa.ClassLDX:
			if in.Src == isa.R10 {
				read[i] = slotsOf(int(in.Off), size)
			} else if sp[i]&bit(in.Src) != 0 {
				read[i] = allSlots
			}
		case c == isa.ClassST || c == isa.ClassSTX:
			atomic := op.Mode() == isa.ModeATOMIC
			if c == isa.ClassSTX && !atomic && sp[i]&bit(in.Src) != 0 {
				escaped[v.subOf[i]] = true
			}
			switch {
			case in.Dst != isa.R10:
				if sp[i]&bit(in.Dst) != 0 {
					read[i] = allSlots
				}
			case atomic:
				read[i] = slotsOf(int(in.Off), size)
			case size == 8 && in.Off%8 == 0:
				kill[i] = slotsOf(int(in.Off), size)
			}
		case (c == isa.ClassJMP || c == isa.ClassJMP32) && op.JumpOp() == isa.JumpCall:
			read[i] = allSlots
			if in.IsLocalCall() && sp[i]&argRegs != 0 {
				// The callee may store the pointer it gets into this frame.
				escaped[v.subOf[i]] = true
			}
		}
		if in.IsLdImm64() {
			i++
		}
	}
	out := func(i int) uint64 {
		var o uint64
		for _, t := range succ[i] {
			if t >= 0 {
				o |= v.liveSlots[t]
			}
		}
		return o
	}
	for changed := true; changed; {
		changed = false
		for i := n - 1; i >= 0; i-- {
			if i > 0 && v.insns[i-1].IsLdImm64() {
				continue
			}
			l := read[i] | out(i)&^kill[i]
			if escaped[v.subOf[i]] {
				l = allSlots
			}
			if l != v.liveSlots[i] {
				v.liveSlots[i] = l
				changed = true
			}
		}
	}
}

// framePointers computes, per instruction, the registers that may hold a pointer into the
// current function's own frame: r10 and what is derived from it by copies and additions
// (a call returns one when an argument may be one). Loads never give one unless the
// function stores such a pointer, which slotLiveness treats separately.
func (v *verifier) framePointers(succ [][2]int32) []regset {
	n := len(v.insns)
	sp := make([]regset, n)
	reached := make([]bool, n)
	for _, s := range v.subs {
		if s.Start < n {
			sp[s.Start], reached[s.Start] = bit(isa.R10), true
		}
	}
	for changed := true; changed; {
		changed = false
		for i := 0; i < n; i++ {
			if !reached[i] {
				continue
			}
			o := spTransfer(v.insns[i], sp[i])
			for _, t := range succ[i] {
				if t >= 0 && (!reached[t] || sp[t]|o != sp[t]) {
					sp[t] |= o
					reached[t] = true
					changed = true
				}
			}
		}
	}
	return sp
}

// spTransfer is what one instruction does to the set of registers that may point into the
// frame.
func spTransfer(in isa.Instruction, sp regset) regset {
	op := in.Opcode
	d, s := bit(in.Dst), bit(in.Src)
	x := op.Source() == isa.SourceX
	switch c := op.Class(); c {
	case isa.ClassALU64:
		switch {
		case op.ALUOp() == isa.ALUMov:
			if x && in.Off == 0 && sp&s != 0 {
				return sp | d
			}
			return sp &^ d
		case sp&d != 0 || x && sp&s != 0 && op.ALUOp() != isa.ALUNeg && op.ALUOp() != isa.ALUEnd:
			return sp | d // arithmetic on a frame pointer (or adding one) may keep it one
		}
		return sp &^ d
	case isa.ClassALU, isa.ClassLDX:
		return sp &^ d
	case isa.ClassLD:
		if in.IsLdImm64() {
			return sp &^ d
		}
		return sp &^ callerSave
	case isa.ClassSTX:
		if op.Mode() == isa.ModeATOMIC {
			if isa.AtomicOp(in.Imm) == isa.AtomicCmpXchg {
				return sp &^ bit(isa.R0)
			}
			if isa.AtomicOp(in.Imm)&isa.AtomicFetch != 0 {
				return sp &^ s
			}
		}
	case isa.ClassJMP, isa.ClassJMP32:
		if op.JumpOp() == isa.JumpCall {
			// A callee may hand back a pointer it was given.
			ret := sp&argRegs != 0
			sp &^= callerSave
			if ret {
				sp |= bit(isa.R0)
			}
		}
	}
	return sp
}
