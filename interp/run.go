package interp

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/bpfjit/bpfjit/isa"
)

// DefaultBudget is the instruction budget of a run whose Env leaves Budget at 0.
const DefaultBudget = 1 << 24

// MaxTailCalls is how many tail calls one run may make; the next one fails and execution
// continues after it (the kernel's limit since 5.17, checked as count >= 33).
const MaxTailCalls = 33

// HelperTailCall is the id of bpf_tail_call, which Run handles itself when Env.TailCalls is set.
const HelperTailCall = 12

// HelperFunc implements one helper: args are r1..r5 at the call, the result goes to r0. A
// non-nil error ends the run (wrapped with ErrHelper and the call's slot).
type HelperFunc func(m *Memory, args [5]uint64) (uint64, error)

// Helpers finds helper implementations by id.
type Helpers interface {
	// Helper returns the implementation of helper id, or nil when there is none.
	Helper(id int32) HelperFunc
}

// HelperTable is a Helpers backed by a map.
type HelperTable map[int32]HelperFunc

// Helper implements Helpers.
func (t HelperTable) Helper(id int32) HelperFunc { return t[id] }

// TailCaller resolves bpf_tail_call(ctx, map, index). It returns the program to continue
// with, or nil for a failed tail call (no such entry), after which execution continues after
// the call with all registers unchanged, as the kernel does.
type TailCaller interface {
	TailCall(m *Memory, mapHandle, index uint64) *Program
}

// Env is what one run gets from its caller. The zero value (or nil) is a run without context,
// helpers or tail calls and with DefaultBudget.
type Env struct {
	// Context is the memory r1 points to at entry (r1 = 0 when empty); r2 holds its length, as
	// the conformance protocol wants (verified programs cannot read r2 at entry anyway).
	Context         []byte
	ContextReadOnly bool
	Helpers         Helpers
	TailCalls       TailCaller // nil: helper 12 goes to Helpers like any other
	Budget          uint64     // instructions the run may execute; 0 means DefaultBudget
}

// Result describes a finished run.
type Result struct {
	R0        uint64
	Insns     uint64 // instructions executed, lddw counted once
	TailCalls int
}

// frame is a caller's state saved across a BPF-to-BPF call.
type frame struct {
	prog   *Program
	ret    int
	r6, r7 uint64
	r8, r9 uint64
	r10    uint64
}

type state struct {
	mem       Memory
	r         [16]uint64 // r0..r10; indexes are masked with 15, so no bounds checks
	frames    [MaxFrames]frame
	depth     int // frames below the running one
	tailCalls int
	prog      *Program // the program whose code is running
	env       *Env
	budget    uint64 // the run's whole budget
	left      uint64 // budget not yet spent, updated whenever the hot loop hands over
}

var statePool = sync.Pool{New: func() any {
	st := new(state)
	st.mem.init(st)
	return st
}}

// Run executes the program from slot 0. The stack (MaxFrames*StackSize bytes, StackSize per
// frame) is zeroed at the start of every run, so reading it before writing yields zeros.
// Errors are *Error values naming the failing slot; Run never panics (helper panics come back
// as ErrHelper errors).
func (p *Program) Run(env *Env) (Result, error) {
	if env == nil {
		env = &Env{}
	}
	st := statePool.Get().(*state)
	defer func() {
		st.frames = [MaxFrames]frame{} // drop references to programs and memory
		st.prog, st.env = nil, nil
		st.mem.release()
		statePool.Put(st)
	}()
	st.mem.start()
	return st.run(p, env)
}

func (st *state) run(p *Program, env *Env) (Result, error) {
	st.prog, st.env, st.depth, st.tailCalls = p, env, 0, 0
	m := &st.mem
	m.regions = append(m.regions, p.regions...)
	r := &st.r
	*r = [16]uint64{}
	r[1] = m.Register(env.Context, env.ContextReadOnly)
	r[2] = uint64(len(env.Context))
	r[10] = m.stackEnd

	st.budget = env.Budget
	if st.budget == 0 {
		st.budget = DefaultBudget
	}
	st.left = st.budget
	err := st.loop(0, 0)
	res := Result{Insns: st.budget - st.left, TailCalls: st.tailCalls}
	if err == nil {
		res.R0 = r[0]
	}
	return res, err
}

// loop runs the current program from pc until an exit leaves frame depth base (0 for the
// whole run, deeper for a callback a helper invoked).
func (st *state) loop(pc, base int) error {
	left := st.left
	for {
		// exec runs everything it can without calling a function; it stops before the
		// first instruction that needs more (a call, exit, atomic, an access outside the
		// live stack and the hot region) or when the budget is spent.
		pc, left = st.exec(st.prog.code, pc, left)
		if left == 0 { // name the instruction that was not executed
			st.left = 0
			return errAt(pc, ErrBudgetExhausted, "%d instructions executed", st.budget)
		}
		left--
		if uint(pc) >= uint(len(st.prog.code)) { // unreachable for validated code; keeps Run panic-free
			st.left = left
			return errAt(pc, ErrOutOfBounds, "program counter outside the program")
		}
		st.left = left // helpers may run callbacks, which spend from the same budget
		next, done, err := st.step(&st.prog.code[pc], pc+1, base)
		left = st.left
		if err != nil || done {
			return err
		}
		pc = next
	}
}

// exec is the interpreter's hot loop. It makes no function calls, so that the Go compiler
// keeps pc, the budget and the code slice in registers instead of spilling them on every
// instruction; everything that would need a call is left to step. It returns the slot of
// the first instruction it did not execute and the budget left.
func (st *state) exec(code []insn, pc int, left uint64) (int, uint64) {
	r, m := &st.r, &st.mem
	le := binary.LittleEndian
	for ; left != 0; left-- {
		if uint(pc) >= uint(len(code)) {
			return pc, left
		}
		in := &code[pc]
		pc++
		d, s := in.dst&15, in.src&15
		switch in.op {
		case opAdd64K:
			r[d] += in.k
		case opAdd64X:
			r[d] += r[s]
		case opAdd32K:
			r[d] = uint64(uint32(r[d]) + uint32(in.k))
		case opAdd32X:
			r[d] = uint64(uint32(r[d]) + uint32(r[s]))
		case opSub64K:
			r[d] -= in.k
		case opSub64X:
			r[d] -= r[s]
		case opSub32K:
			r[d] = uint64(uint32(r[d]) - uint32(in.k))
		case opSub32X:
			r[d] = uint64(uint32(r[d]) - uint32(r[s]))
		case opMul64K:
			r[d] *= in.k
		case opMul64X:
			r[d] *= r[s]
		case opMul32K:
			r[d] = uint64(uint32(r[d]) * uint32(in.k))
		case opMul32X:
			r[d] = uint64(uint32(r[d]) * uint32(r[s]))
		case opDiv64K:
			r[d] = div64(r[d], in.k)
		case opDiv64X:
			r[d] = div64(r[d], r[s])
		case opDiv32K:
			r[d] = uint64(div32(uint32(r[d]), uint32(in.k)))
		case opDiv32X:
			r[d] = uint64(div32(uint32(r[d]), uint32(r[s])))
		case opSdiv64K:
			r[d] = uint64(sdiv64(int64(r[d]), int64(in.k)))
		case opSdiv64X:
			r[d] = uint64(sdiv64(int64(r[d]), int64(r[s])))
		case opSdiv32K:
			r[d] = uint64(uint32(sdiv32(int32(r[d]), int32(in.k))))
		case opSdiv32X:
			r[d] = uint64(uint32(sdiv32(int32(r[d]), int32(r[s]))))
		case opMod64K:
			r[d] = mod64(r[d], in.k)
		case opMod64X:
			r[d] = mod64(r[d], r[s])
		case opMod32K:
			r[d] = uint64(mod32(uint32(r[d]), uint32(in.k)))
		case opMod32X:
			r[d] = uint64(mod32(uint32(r[d]), uint32(r[s])))
		case opSmod64K:
			r[d] = uint64(smod64(int64(r[d]), int64(in.k)))
		case opSmod64X:
			r[d] = uint64(smod64(int64(r[d]), int64(r[s])))
		case opSmod32K:
			r[d] = uint64(uint32(smod32(int32(r[d]), int32(in.k))))
		case opSmod32X:
			r[d] = uint64(uint32(smod32(int32(r[d]), int32(r[s]))))
		case opOr64K:
			r[d] |= in.k
		case opOr64X:
			r[d] |= r[s]
		case opOr32K:
			r[d] = uint64(uint32(r[d]) | uint32(in.k))
		case opOr32X:
			r[d] = uint64(uint32(r[d]) | uint32(r[s]))
		case opAnd64K:
			r[d] &= in.k
		case opAnd64X:
			r[d] &= r[s]
		case opAnd32K:
			r[d] = uint64(uint32(r[d]) & uint32(in.k))
		case opAnd32X:
			r[d] = uint64(uint32(r[d]) & uint32(r[s]))
		case opXor64K:
			r[d] ^= in.k
		case opXor64X:
			r[d] ^= r[s]
		case opXor32K:
			r[d] = uint64(uint32(r[d]) ^ uint32(in.k))
		case opXor32X:
			r[d] = uint64(uint32(r[d]) ^ uint32(r[s]))
		case opLsh64K:
			r[d] <<= in.k & 63
		case opLsh64X:
			r[d] <<= r[s] & 63
		case opLsh32K:
			r[d] = uint64(uint32(r[d]) << (in.k & 31))
		case opLsh32X:
			r[d] = uint64(uint32(r[d]) << (r[s] & 31))
		case opRsh64K:
			r[d] >>= in.k & 63
		case opRsh64X:
			r[d] >>= r[s] & 63
		case opRsh32K:
			r[d] = uint64(uint32(r[d]) >> (in.k & 31))
		case opRsh32X:
			r[d] = uint64(uint32(r[d]) >> (r[s] & 31))
		case opArsh64K:
			r[d] = uint64(int64(r[d]) >> (in.k & 63))
		case opArsh64X:
			r[d] = uint64(int64(r[d]) >> (r[s] & 63))
		case opArsh32K:
			r[d] = uint64(uint32(int32(r[d]) >> (in.k & 31)))
		case opArsh32X:
			r[d] = uint64(uint32(int32(r[d]) >> (r[s] & 31)))
		case opMov64K:
			r[d] = in.k
		case opMov64X:
			r[d] = r[s]
		case opMov32K:
			r[d] = uint64(uint32(in.k))
		case opMov32X:
			r[d] = uint64(uint32(r[s]))
		case opNeg64:
			r[d] = -r[d]
		case opNeg32:
			r[d] = uint64(-uint32(r[d]))
		case opMovsx64B:
			r[d] = uint64(int64(int8(r[s])))
		case opMovsx64H:
			r[d] = uint64(int64(int16(r[s])))
		case opMovsx64W:
			r[d] = uint64(int64(int32(r[s])))
		case opMovsx32B:
			r[d] = uint64(uint32(int32(int8(r[s]))))
		case opMovsx32H:
			r[d] = uint64(uint32(int32(int16(r[s]))))
		case opLe16:
			r[d] = uint64(uint16(r[d]))
		case opLe32:
			r[d] = uint64(uint32(r[d]))
		case opLe64:
		case opBswap16:
			r[d] = uint64(bits.ReverseBytes16(uint16(r[d])))
		case opBswap32:
			r[d] = uint64(bits.ReverseBytes32(uint32(r[d])))
		case opBswap64:
			r[d] = bits.ReverseBytes64(r[d])

		case opJeq64K:
			if r[d] == in.k {
				pc = int(in.off)
			}
		case opJeq64X:
			if r[d] == r[s] {
				pc = int(in.off)
			}
		case opJeq32K:
			if uint32(r[d]) == uint32(in.k) {
				pc = int(in.off)
			}
		case opJeq32X:
			if uint32(r[d]) == uint32(r[s]) {
				pc = int(in.off)
			}
		case opJgt64K:
			if r[d] > in.k {
				pc = int(in.off)
			}
		case opJgt64X:
			if r[d] > r[s] {
				pc = int(in.off)
			}
		case opJgt32K:
			if uint32(r[d]) > uint32(in.k) {
				pc = int(in.off)
			}
		case opJgt32X:
			if uint32(r[d]) > uint32(r[s]) {
				pc = int(in.off)
			}
		case opJge64K:
			if r[d] >= in.k {
				pc = int(in.off)
			}
		case opJge64X:
			if r[d] >= r[s] {
				pc = int(in.off)
			}
		case opJge32K:
			if uint32(r[d]) >= uint32(in.k) {
				pc = int(in.off)
			}
		case opJge32X:
			if uint32(r[d]) >= uint32(r[s]) {
				pc = int(in.off)
			}
		case opJset64K:
			if r[d]&in.k != 0 {
				pc = int(in.off)
			}
		case opJset64X:
			if r[d]&r[s] != 0 {
				pc = int(in.off)
			}
		case opJset32K:
			if uint32(r[d])&uint32(in.k) != 0 {
				pc = int(in.off)
			}
		case opJset32X:
			if uint32(r[d])&uint32(r[s]) != 0 {
				pc = int(in.off)
			}
		case opJne64K:
			if r[d] != in.k {
				pc = int(in.off)
			}
		case opJne64X:
			if r[d] != r[s] {
				pc = int(in.off)
			}
		case opJne32K:
			if uint32(r[d]) != uint32(in.k) {
				pc = int(in.off)
			}
		case opJne32X:
			if uint32(r[d]) != uint32(r[s]) {
				pc = int(in.off)
			}
		case opJsgt64K:
			if int64(r[d]) > int64(in.k) {
				pc = int(in.off)
			}
		case opJsgt64X:
			if int64(r[d]) > int64(r[s]) {
				pc = int(in.off)
			}
		case opJsgt32K:
			if int32(r[d]) > int32(in.k) {
				pc = int(in.off)
			}
		case opJsgt32X:
			if int32(r[d]) > int32(r[s]) {
				pc = int(in.off)
			}
		case opJsge64K:
			if int64(r[d]) >= int64(in.k) {
				pc = int(in.off)
			}
		case opJsge64X:
			if int64(r[d]) >= int64(r[s]) {
				pc = int(in.off)
			}
		case opJsge32K:
			if int32(r[d]) >= int32(in.k) {
				pc = int(in.off)
			}
		case opJsge32X:
			if int32(r[d]) >= int32(r[s]) {
				pc = int(in.off)
			}
		case opJlt64K:
			if r[d] < in.k {
				pc = int(in.off)
			}
		case opJlt64X:
			if r[d] < r[s] {
				pc = int(in.off)
			}
		case opJlt32K:
			if uint32(r[d]) < uint32(in.k) {
				pc = int(in.off)
			}
		case opJlt32X:
			if uint32(r[d]) < uint32(r[s]) {
				pc = int(in.off)
			}
		case opJle64K:
			if r[d] <= in.k {
				pc = int(in.off)
			}
		case opJle64X:
			if r[d] <= r[s] {
				pc = int(in.off)
			}
		case opJle32K:
			if uint32(r[d]) <= uint32(in.k) {
				pc = int(in.off)
			}
		case opJle32X:
			if uint32(r[d]) <= uint32(r[s]) {
				pc = int(in.off)
			}
		case opJslt64K:
			if int64(r[d]) < int64(in.k) {
				pc = int(in.off)
			}
		case opJslt64X:
			if int64(r[d]) < int64(r[s]) {
				pc = int(in.off)
			}
		case opJslt32K:
			if int32(r[d]) < int32(in.k) {
				pc = int(in.off)
			}
		case opJslt32X:
			if int32(r[d]) < int32(r[s]) {
				pc = int(in.off)
			}
		case opJsle64K:
			if int64(r[d]) <= int64(in.k) {
				pc = int(in.off)
			}
		case opJsle64X:
			if int64(r[d]) <= int64(r[s]) {
				pc = int(in.off)
			}
		case opJsle32K:
			if int32(r[d]) <= int32(in.k) {
				pc = int(in.off)
			}
		case opJsle32X:
			if int32(r[d]) <= int32(r[s]) {
				pc = int(in.off)
			}
		case opJa:
			pc = int(in.off)

		case opLdImm64:
			r[d] = in.k
			pc++

		case opLdxB:
			b := m.stackBytes(r[s]+in.k, 1)
			if b == nil {
				if b = m.hotBytes(r[s]+in.k, 1, false); b == nil {
					return pc - 1, left
				}
			}
			r[d] = uint64(b[0])
		case opLdxH:
			b := m.stackBytes(r[s]+in.k, 2)
			if b == nil {
				if b = m.hotBytes(r[s]+in.k, 2, false); b == nil {
					return pc - 1, left
				}
			}
			r[d] = uint64(le.Uint16(b))
		case opLdxW:
			b := m.stackBytes(r[s]+in.k, 4)
			if b == nil {
				if b = m.hotBytes(r[s]+in.k, 4, false); b == nil {
					return pc - 1, left
				}
			}
			r[d] = uint64(le.Uint32(b))
		case opLdxDW:
			b := m.stackBytes(r[s]+in.k, 8)
			if b == nil {
				if b = m.hotBytes(r[s]+in.k, 8, false); b == nil {
					return pc - 1, left
				}
			}
			r[d] = le.Uint64(b)
		case opLdxsB:
			b := m.stackBytes(r[s]+in.k, 1)
			if b == nil {
				if b = m.hotBytes(r[s]+in.k, 1, false); b == nil {
					return pc - 1, left
				}
			}
			r[d] = uint64(int64(int8(b[0])))
		case opLdxsH:
			b := m.stackBytes(r[s]+in.k, 2)
			if b == nil {
				if b = m.hotBytes(r[s]+in.k, 2, false); b == nil {
					return pc - 1, left
				}
			}
			r[d] = uint64(int64(int16(le.Uint16(b))))
		case opLdxsW:
			b := m.stackBytes(r[s]+in.k, 4)
			if b == nil {
				if b = m.hotBytes(r[s]+in.k, 4, false); b == nil {
					return pc - 1, left
				}
			}
			r[d] = uint64(int64(int32(le.Uint32(b))))
		case opStB, opStH, opStW, opStDW:
			n := uint64(1) << (in.op - opStB)
			a := r[d] + uint64(int64(in.off))
			b := m.stackBytes(a, n)
			if b == nil {
				if b = m.hotBytes(a, n, true); b == nil {
					return pc - 1, left
				}
			}
			store(b, in.k)
		case opStxB, opStxH, opStxW, opStxDW:
			n := uint64(1) << (in.op - opStxB)
			a := r[d] + in.k
			b := m.stackBytes(a, n)
			if b == nil {
				if b = m.hotBytes(a, n, true); b == nil {
					return pc - 1, left
				}
			}
			store(b, r[s])
		default: // calls, exit, atomics, and what cannot run here
			return pc - 1, left
		}
	}
	return pc, left
}

// step executes one instruction exec handed over: calls, exits, atomics, accesses outside
// the live stack and the hot region, and everything that fails. pc is the slot after in;
// step returns the next slot, whether the run (or callback, at depth base) is over, or an
// error naming the slot.
func (st *state) step(in *insn, pc, base int) (next int, done bool, err error) {
	r, m := &st.r, &st.mem
	d, s := in.dst&15, in.src&15
	switch in.op {
	case opLdxB, opLdxH, opLdxW, opLdxDW, opLdxsB, opLdxsH, opLdxsW, opStB, opStH, opStW, opStDW,
		opStxB, opStxH, opStxW, opStxDW:
		if err := st.memOp(in, pc-1); err != nil {
			return 0, false, err
		}
	case opAtomic32, opAtomic64:
		n := uint64(4)
		if in.op == opAtomic64 {
			n = 8
		}
		a := r[d] + in.k
		b, err := m.access(a, n, true)
		if err != nil {
			return 0, false, errAt(pc-1, err, "%d-byte atomic at %#x", n, a)
		}
		atomicOp(b, isa.AtomicOp(in.off), &r[0], &r[s])
	case opCall:
		id := int32(in.k)
		if id == HelperTailCall && st.env.TailCalls != nil {
			return st.tailCall(pc)
		}
		if r[0], err = callHelper(st.env.Helpers, m, id, r); err != nil {
			return 0, false, errAt(pc-1, err, "helper %d", id)
		}
	case opCallX:
		v := r[d]
		if v > math.MaxInt32 {
			return 0, false, errAt(pc-1, ErrUnknownHelper, "callx r%d = %#x: not a helper id", d, v)
		}
		if r[0], err = callHelper(st.env.Helpers, m, int32(v), r); err != nil {
			return 0, false, errAt(pc-1, err, "helper %d (callx r%d)", v, d)
		}
	case opCallLocal:
		if st.depth+1 >= MaxFrames {
			return 0, false, errAt(pc-1, ErrCallDepth, "call would open frame %d of at most %d", st.depth+2, MaxFrames)
		}
		st.frames[st.depth] = frame{prog: st.prog, ret: pc, r6: r[6], r7: r[7], r8: r[8], r9: r[9], r10: r[10]}
		st.depth++
		r[10] -= StackSize
		m.setStackLo(m.stackLo - StackSize)
		return int(in.off), false, nil
	case opExit:
		if st.depth == base {
			return 0, true, nil
		}
		st.depth--
		f := &st.frames[st.depth]
		r[6], r[7], r[8], r[9], r[10] = f.r6, f.r7, f.r8, f.r9, f.r10
		m.setStackLo(m.stackLo + StackSize)
		st.prog, pc = f.prog, f.ret
		f.prog = nil
		return pc, false, nil
	case opCallKfunc:
		return 0, false, errAt(pc-1, ErrUnsupported, "kfunc call (BTF id %d)", int32(in.k))
	case opLdLegacy:
		return 0, false, errAt(pc-1, ErrUnsupported, "legacy packet access (LD ABS/IND)")
	default: // opInvalid: unreachable for validated code
		return 0, false, errAt(pc-1, ErrUnsupported, "no executable instruction in this slot")
	}
	return pc, false, nil
}

// tailCall performs bpf_tail_call(ctx = r1, map = r2, index = r3) for the call before pc.
func (st *state) tailCall(pc int) (int, bool, error) {
	if st.tailCalls >= MaxTailCalls {
		return pc, false, nil // the limit makes the tail call fail: execution goes on
	}
	next, err := st.resolveTailCall()
	if err != nil {
		return 0, false, errAt(pc-1, err, "bpf_tail_call hook")
	}
	if next == nil {
		return pc, false, nil
	}
	st.tailCalls++
	st.mem.regions = append(st.mem.regions, next.regions...)
	// The callee replaces the running function in its frame: same registers (r1 is the
	// context argument), same stack; it never returns here.
	st.prog = next
	return 0, false, nil
}

// resolveTailCall asks the hook for the target, turning a panic into an error as for helpers.
func (st *state) resolveTailCall() (next *Program, err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("%w: panic: %v", ErrHelper, x)
		}
	}()
	return st.env.TailCalls.TailCall(&st.mem, st.r[2], st.r[3]), nil
}

// callFunction runs the BPF function at slot of the running program as a callback of a
// helper: a new frame, r1-r5 from args, and all of the caller's registers restored after.
func (st *state) callFunction(slot int, args [5]uint64) (uint64, error) {
	if slot < 0 || slot >= len(st.prog.code) || !st.prog.isFuncStart(slot) {
		return 0, fmt.Errorf("%w: slot %d is not a BPF function", ErrBadCallback, slot)
	}
	if st.depth+1 >= MaxFrames {
		return 0, fmt.Errorf("%w: callback would open frame %d of at most %d", ErrCallDepth, st.depth+2, MaxFrames)
	}
	saved, prog, depth := st.r, st.prog, st.depth
	st.depth++
	st.r[10] -= StackSize
	st.mem.setStackLo(st.mem.stackLo - StackSize)
	copy(st.r[1:6], args[:])
	err := st.loop(slot, st.depth)
	ret := st.r[0]
	// On success the callback's exit left the depth as it found it; after an error, frames
	// it opened are still there. Drop them either way so a helper that swallows the error
	// resumes with a consistent state.
	clear(st.frames[depth:])
	st.depth = depth
	st.r, st.prog = saved, prog
	st.mem.setStackLo(saved[10] - StackSize)
	return ret, err
}

// memOp executes a load or store outside the live stack and the hot region (the region
// list's slow path), or reports why it cannot.
func (st *state) memOp(in *insn, index int) error {
	r := &st.r
	d, s := in.dst&15, in.src&15
	var n, a uint64
	write := true
	switch in.op {
	case opLdxB, opLdxH, opLdxW, opLdxDW:
		n, a, write = 1<<(in.op-opLdxB), r[s]+in.k, false
	case opLdxsB, opLdxsH, opLdxsW:
		n, a, write = 1<<(in.op-opLdxsB), r[s]+in.k, false
	case opStB, opStH, opStW, opStDW:
		n, a = 1<<(in.op-opStB), r[d]+uint64(int64(in.off))
	default:
		n, a = 1<<(in.op-opStxB), r[d]+in.k
	}
	b, err := st.mem.access(a, n, write)
	if err != nil {
		kind := "load from"
		if write {
			kind = "store to"
		}
		return errAt(index, err, "%d-byte %s %#x", n, kind, a)
	}
	switch in.op {
	case opLdxsB:
		r[d] = uint64(int64(int8(b[0])))
	case opLdxsH:
		r[d] = uint64(int64(int16(binary.LittleEndian.Uint16(b))))
	case opLdxsW:
		r[d] = uint64(int64(int32(binary.LittleEndian.Uint32(b))))
	case opLdxB, opLdxH, opLdxW, opLdxDW:
		r[d] = load(b)
	case opStB, opStH, opStW, opStDW:
		store(b, in.k)
	default:
		store(b, r[s])
	}
	return nil
}

// load reads len(b) (1, 2, 4 or 8) bytes little-endian, zero-extended.
func load(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.LittleEndian.Uint16(b))
	case 4:
		return uint64(binary.LittleEndian.Uint32(b))
	}
	return binary.LittleEndian.Uint64(b)
}

func div64(a, b uint64) uint64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func div32(a, b uint32) uint32 {
	if b == 0 {
		return 0
	}
	return a / b
}

func mod64(a, b uint64) uint64 {
	if b == 0 {
		return a
	}
	return a % b
}

func mod32(a, b uint32) uint32 {
	if b == 0 {
		return a
	}
	return a % b
}

// Go defines MinInt/-1 == MinInt and MinInt%-1 == 0 without panicking, exactly the RFC's
// results, so only zero divisors need care.
func sdiv64(a, b int64) int64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func sdiv32(a, b int32) int32 {
	if b == 0 {
		return 0
	}
	return a / b
}

func smod64(a, b int64) int64 {
	if b == 0 {
		return a
	}
	return a % b
}

func smod32(a, b int32) int32 {
	if b == 0 {
		return a
	}
	return a % b
}

// store writes the low len(b) bytes of v little-endian.
func store(b []byte, v uint64) {
	switch len(b) {
	case 1:
		b[0] = byte(v)
	case 2:
		binary.LittleEndian.PutUint16(b, uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(b, uint32(v))
	case 8:
		binary.LittleEndian.PutUint64(b, v)
	}
}

// atomicOp performs one BPF atomic on b (4 or 8 bytes). Aligned words use sync/atomic so
// the interpreter is correct on memory shared with concurrent runs; a misaligned word (which
// the kernel verifier would reject) falls back to a plain read-modify-write, since hardware
// atomics may fault on it.
func atomicOp(b []byte, op isa.AtomicOp, r0, src *uint64) {
	if len(b) == 4 {
		var old uint32
		v := uint32(*src)
		if uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
			p := (*uint32)(unsafe.Pointer(&b[0]))
			switch op &^ isa.AtomicFetch {
			case isa.AtomicAdd:
				old = atomic.AddUint32(p, v) - v
			case isa.AtomicOr:
				old = atomic.OrUint32(p, v)
			case isa.AtomicAnd:
				old = atomic.AndUint32(p, v)
			case isa.AtomicXor:
				for old = atomic.LoadUint32(p); !atomic.CompareAndSwapUint32(p, old, old^v); old = atomic.LoadUint32(p) {
				}
			case isa.AtomicXchg &^ isa.AtomicFetch:
				old = atomic.SwapUint32(p, v)
			case isa.AtomicCmpXchg &^ isa.AtomicFetch:
				want := uint32(*r0)
				for old = atomic.LoadUint32(p); old == want && !atomic.CompareAndSwapUint32(p, old, v); old = atomic.LoadUint32(p) {
				}
			}
		} else {
			old = binary.LittleEndian.Uint32(b)
			nv := old
			switch op &^ isa.AtomicFetch {
			case isa.AtomicAdd:
				nv = old + v
			case isa.AtomicOr:
				nv = old | v
			case isa.AtomicAnd:
				nv = old & v
			case isa.AtomicXor:
				nv = old ^ v
			case isa.AtomicXchg &^ isa.AtomicFetch:
				nv = v
			case isa.AtomicCmpXchg &^ isa.AtomicFetch:
				if old == uint32(*r0) {
					nv = v
				}
			}
			binary.LittleEndian.PutUint32(b, nv)
		}
		switch {
		case op == isa.AtomicCmpXchg:
			*r0 = uint64(old) // zero-extended, on success and on failure alike
		case op&isa.AtomicFetch != 0:
			*src = uint64(old)
		}
		return
	}
	var old uint64
	v := *src
	if uintptr(unsafe.Pointer(&b[0]))%8 == 0 {
		p := (*uint64)(unsafe.Pointer(&b[0]))
		switch op &^ isa.AtomicFetch {
		case isa.AtomicAdd:
			old = atomic.AddUint64(p, v) - v
		case isa.AtomicOr:
			old = atomic.OrUint64(p, v)
		case isa.AtomicAnd:
			old = atomic.AndUint64(p, v)
		case isa.AtomicXor:
			for old = atomic.LoadUint64(p); !atomic.CompareAndSwapUint64(p, old, old^v); old = atomic.LoadUint64(p) {
			}
		case isa.AtomicXchg &^ isa.AtomicFetch:
			old = atomic.SwapUint64(p, v)
		case isa.AtomicCmpXchg &^ isa.AtomicFetch:
			want := *r0
			for old = atomic.LoadUint64(p); old == want && !atomic.CompareAndSwapUint64(p, old, v); old = atomic.LoadUint64(p) {
			}
		}
	} else {
		old = binary.LittleEndian.Uint64(b)
		nv := old
		switch op &^ isa.AtomicFetch {
		case isa.AtomicAdd:
			nv = old + v
		case isa.AtomicOr:
			nv = old | v
		case isa.AtomicAnd:
			nv = old & v
		case isa.AtomicXor:
			nv = old ^ v
		case isa.AtomicXchg &^ isa.AtomicFetch:
			nv = v
		case isa.AtomicCmpXchg &^ isa.AtomicFetch:
			if old == *r0 {
				nv = v
			}
		}
		binary.LittleEndian.PutUint64(b, nv)
	}
	switch {
	case op == isa.AtomicCmpXchg:
		*r0 = old
	case op&isa.AtomicFetch != 0:
		*src = old
	}
}

// callHelper runs helper id with r1..r5, turning a missing helper, an error or a panic into
// an error for the caller to attach to the slot.
func callHelper(h Helpers, m *Memory, id int32, r *[16]uint64) (ret uint64, err error) {
	var fn HelperFunc
	if h != nil {
		fn = h.Helper(id)
	}
	if fn == nil {
		return 0, ErrUnknownHelper
	}
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("%w: panic: %v", ErrHelper, x)
		}
	}()
	ret, err = fn(m, [5]uint64{r[1], r[2], r[3], r[4], r[5]})
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrHelper, err)
	}
	return ret, nil
}
