// Package verifier proves BPF programs safe to run inside the host process and hands the JIT
// what it proved.
//
// Check first runs isa.Validate (encoding and jump targets), then a structure pass (every
// instruction reachable, no recursion, call chains at most 8 frames, at most 512 bytes of
// stack per frame and along every call chain), then an abstract interpretation of every
// path: registers and stack slots carry types (scalar, context, stack, map value or null,
// map, packet, packet end, the raw memory region, sized buffers) and scalars carry known
// bits plus signed and unsigned bounds at 64 and, separately, at 32 bits. Every load, store,
// atomic and helper memory argument is checked against the object its pointer points into;
// pointers never reach memory the host reads as numbers unless the program type allows it.
// Explored states are kept at jump targets; a new state that an explored one subsumes is
// not explored again, so bounded loops terminate when each iteration makes progress, a state
// equal to one of its own ancestors is an infinite loop, and 1,000,000 processed
// instructions end verification ("program too complex"). The comparison ignores what no
// path from the prune point can observe, found by backward liveness passes over each
// function: registers written before they are read (calls read their arguments and clobber
// r0-r5, exit reads r0); stack slots of the current frame overwritten whole before they are
// read (reads through registers that may point into the frame, and calls, read every slot;
// a function that stores or passes on a pointer to its frame keeps every slot); and, where
// no instruction that may access memory through a pointer other than r10 (or call) follows,
// how much of the raw memory region was proven accessible. A comparison whose bounds contradict the known bits of its operand (a
// multiple of 4 in [58, 59]) is a branch no execution takes.
//
// Program types (ProgType) describe r1 at entry (a context layout, or the raw memory region
// with its length in r2), the helpers they may call and whether they may leak pointers;
// RawMemoryType, XDPType, SocketFilterType and NewTracingType are built in and hosts define
// their own. Helpers are described by HelperProto; hosts add theirs through Options.Helpers.
//
// What the JIT gets (Facts): per-slot zero-extension needs and dead code, branch outcomes,
// tail-call sites with their map and constant index (direct-call candidates), context field
// accesses, callx targets, helpers used and per-subprogram stack depths. CheckAttach checks
// fentry/fexit/freplace attachment to a target program.
package verifier

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/bpfjit/bpfjit/isa"
)

// Error categories; every *Error wraps one of them.
var (
	ErrInvalid       = errors.New("invalid program")
	ErrUnreachable   = errors.New("unreachable instruction")
	ErrRecursion     = errors.New("recursive call")
	ErrCallDepth     = errors.New("call stack too deep")
	ErrStackDepth    = errors.New("stack too large")
	ErrTooComplex    = errors.New("program too complex")
	ErrInfiniteLoop  = errors.New("infinite loop")
	ErrUninit        = errors.New("uninitialized read")
	ErrMemAccess     = errors.New("invalid memory access")
	ErrPointerArith  = errors.New("invalid pointer arithmetic")
	ErrPointerLeak   = errors.New("pointer leak")
	ErrHelper        = errors.New("invalid helper call")
	ErrFuncSignature = errors.New("function signature mismatch")
	ErrUnsupported   = errors.New("unsupported feature")
	ErrAttach        = errors.New("invalid attach target")
)

// Error is a rejection: the instruction, why, and the log of the failing path.
type Error struct {
	Insn   int    // slot index of the failing instruction (-1 when none)
	Err    error  // the category, one of the Err* values
	Reason string // what is wrong and what to do about it
	Log    string // the verifier log, register states on the failing path included
}

func (e *Error) Error() string {
	if e.Insn < 0 {
		return e.Reason
	}
	return fmt.Sprintf("insn %d: %s", e.Insn, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

// DefaultMaxProcessed is the budget of processed instructions.
const DefaultMaxProcessed = 1_000_000

// maxStatesPerInsn caps the explored states kept at one instruction.
const maxStatesPerInsn = 64

// maxPending caps the branches waiting to be explored (the kernel's limit on a sequence of
// jumps), which bounds the verifier's memory.
const maxPending = 8192

// Options configure Check.
type Options struct {
	// Type is the program type; nil means RawMemoryType.
	Type *ProgType
	// LogLevel 0 logs only the failure; 1 adds every processed instruction; 2 adds the
	// register state after each.
	LogLevel int
	// Maps describes the program's map table; nil derives it from Program.Maps.
	Maps []MapInfo
	// Helpers adds (or replaces) helper prototypes, by id, to the program type's set.
	Helpers map[int32]*HelperProto
	// MinMem is how many bytes of the raw memory region the host guarantees.
	MinMem int
	// MaxProcessed overrides DefaultMaxProcessed when positive.
	MaxProcessed int
	// EntryFromBTF verifies the main function from its BTF prototype, as a global function
	// (freplace programs: their arguments are the replaced function's).
	EntryFromBTF bool
}

// Facts is what the verifier proved, for the JIT.
type Facts struct {
	// Processed counts the instructions the abstract interpretation processed.
	Processed int
	// Log is the verifier log (only the summary at level 0).
	Log string
	// Subprogs lists the functions with their stack depth in bytes (a multiple of 8).
	Subprogs []SubprogFacts
	// MaxStackDepth is the deepest stack use along any call chain.
	MaxStackDepth int
	// ZeroExtend[i] is true when slot i writes a 32-bit value whose upper half is later read
	// as part of a 64-bit value: a JIT whose 32-bit operations do not zero the upper half
	// must do it there.
	ZeroExtend []bool
	// Dead[i] is true for slots no path reaches (always-false branches, for example).
	Dead []bool
	// Branch[i] for a conditional jump: BranchFallThrough and/or BranchTaken, the outcomes
	// seen on some path. A jump with only one outcome can be emitted unconditionally.
	Branch []uint8
	// TailCalls lists the tail-call sites in slot order.
	TailCalls []TailCallSite
	// Helpers lists the helper ids the program calls, sorted.
	Helpers []int32
	// CtxFields maps a slot that loads or stores a context field to the field.
	CtxFields map[int]Field
	// CallX maps each callx slot to the helper id its register holds on every path.
	CallX map[int]int32
}

// Outcomes of a conditional jump, in Facts.Branch.
const (
	BranchFallThrough uint8 = 1 << iota
	BranchTaken
)

// SubprogFacts describes one function.
type SubprogFacts struct {
	Start, End int
	Name       string
	StackDepth int
	Global     bool
	// TailCall reports that the function contains a tail call (a JIT that reuses the
	// caller's frame on tail calls needs to know).
	TailCall bool
}

// TailCallSite is one bpf_tail_call: Direct when every path reaching it passed the same
// map and the same constant index, so the JIT may call the target directly.
type TailCallSite struct {
	Insn   int
	Map    int
	Key    uint64
	Direct bool
}

type verifier struct {
	prog    *isa.Program
	insns   []isa.Instruction
	opts    Options
	pt      *ProgType
	maps    []MapInfo
	helpers map[int32]*HelperProto

	subs    []subprog
	subOf   []int
	reached []bool
	prune   []bool
	live    []regset
	live64  []regset
	// liveSlots[i]: the current frame's 8-byte stack slots (bit k is fp-8(k+1)) that may be
	// read from slot i on before being overwritten.
	liveSlots []uint64

	liveOut64 func(int) regset

	explored  [][]*visited
	free      []*state
	loopHead  []bool
	jmps      int
	ckptJmps  int
	ckptInsns int
	pending   []*state
	cur       *state
	processed int
	budget    int

	seen      []bool
	branch    []uint8
	tail      map[int]*TailCallSite
	usedHelp  map[int32]bool
	ctxFields map[int]Field
	callx     map[int]int32
	log       strings.Builder
	nextID    uint32
}

// Check verifies prog and returns what it proved, or an *Error.
func Check(prog *isa.Program, opts Options) (*Facts, error) {
	if prog == nil {
		return nil, &Error{Insn: -1, Err: ErrInvalid, Reason: "no program"}
	}
	if err := isa.Validate(prog.Insns); err != nil {
		e := &Error{Insn: -1, Err: ErrInvalid, Reason: err.Error()}
		var ie *isa.InsnError
		if errors.As(err, &ie) {
			e.Insn = ie.Index
			e.Reason = fmt.Sprintf("%v", ie.Err)
			if ie.Detail != "" {
				e.Reason += ": " + ie.Detail
			}
		}
		e.Log = e.Error() + "\n"
		return nil, e
	}
	v := &verifier{
		prog: prog, insns: prog.Insns, opts: opts, pt: opts.Type,
		tail: map[int]*TailCallSite{}, callx: map[int]int32{}, usedHelp: map[int32]bool{}, ctxFields: map[int]Field{},
		nextID: memLenID + 1,
	}
	if v.pt == nil {
		v.pt = RawMemoryType
	}
	v.budget = DefaultMaxProcessed
	if opts.MaxProcessed > 0 {
		v.budget = opts.MaxProcessed
	}
	v.maps = opts.Maps
	if v.maps == nil {
		for _, m := range prog.Maps {
			v.maps = append(v.maps, MapInfo{Type: m.Type, KeySize: m.KeySize, ValueSize: m.ValueSize, MaxEntries: m.MaxEntries})
		}
	}
	v.helpers = make(map[int32]*HelperProto, len(v.pt.Helpers)+len(opts.Helpers))
	for id, p := range v.pt.Helpers {
		v.helpers[id] = p
	}
	for id, p := range opts.Helpers {
		v.helpers[id] = p
	}
	n := len(v.insns)
	v.seen = make([]bool, n)
	v.branch = make([]uint8, n)
	v.explored = make([][]*visited, n)
	if err := v.structure(); err != nil {
		return nil, err
	}
	entry := v.entryState()
	if opts.EntryFromBTF {
		if v.subs[0].BTF == nil {
			return nil, v.errAt(0, ErrFuncSignature, "EntryFromBTF: the main function has no BTF")
		}
		var err error
		if entry, err = v.globalEntryState(0); err != nil {
			return nil, err
		}
	}
	if err := v.run(entry); err != nil {
		return nil, err
	}
	for f := range v.subs {
		if v.subs[f].global && v.reached[f] {
			st, err := v.globalEntryState(f)
			if err != nil {
				return nil, err
			}
			if err := v.run(st); err != nil {
				return nil, err
			}
		}
	}
	if err := v.checkStackChains(); err != nil {
		return nil, err
	}
	return v.facts(), nil
}

func (v *verifier) helper(id int32) *HelperProto { return v.helpers[id] }

func (v *verifier) newID() uint32 {
	v.nextID++
	return v.nextID
}

func newFrame(callSite, subprog, depth int) *frame {
	f := &frame{callSite: callSite, subprog: subprog}
	f.regs[isa.R10] = ptrReg(PtrToStack)
	f.regs[isa.R10].Frame = uint8(depth)
	return f
}

func (v *verifier) entryState() *state {
	f := newFrame(-1, 0, 0)
	st := &state{frames: []*frame{f}}
	if v.pt.RawMemory {
		f.regs[isa.R1] = ptrReg(PtrToMem)
		minMem := uint64(min(max(v.opts.MinMem, 0), math.MaxUint32))
		l := RangeScalar(minMem, math.MaxUint32)
		l.relateLen(0) // len + 0 <= len
		f.regs[isa.R2] = Reg{Type: ScalarValue, Val: l, ID: memLenID}
		st.memRange = int64(minMem)
	} else if v.pt.Ctx != nil {
		f.regs[isa.R1] = ptrReg(PtrToCtx)
	}
	return st
}

// errAt builds the rejection for slot i, with the register state of the current path.
func (v *verifier) errAt(i int, kind error, format string, args ...any) *Error {
	e := &Error{Insn: i, Err: kind, Reason: fmt.Sprintf(format, args...)}
	var b strings.Builder
	b.WriteString(v.log.String())
	if i >= 0 && i < len(v.insns) {
		fmt.Fprintf(&b, "%d: %s\n", i, v.disasm(i))
	}
	if v.cur != nil {
		b.WriteString(v.stateString(v.cur))
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "insn %d: %s\n", i, e.Reason)
	fmt.Fprintf(&b, "processed %d insns\n", v.processed)
	e.Log = b.String()
	return e
}

// run explores every path from st.
func (v *verifier) run(st *state) error {
	v.cur = st
	v.pending = v.pending[:0]
	for {
		i := v.cur.insn
		if v.prune[i] {
			pruned, err := v.checkpoint(i)
			if err != nil {
				return err
			}
			if pruned {
				if v.opts.LogLevel >= 1 {
					fmt.Fprintf(&v.log, "%d: safe (subsumed by an explored state)\n", i)
				}
				v.pathDone()
				if !v.pop() {
					return nil
				}
				continue
			}
		}
		v.processed++
		if v.processed > v.budget {
			return v.errAt(i, ErrTooComplex, "program too complex: more than %d instructions processed", v.budget)
		}
		v.seen[i] = true
		if v.opts.LogLevel >= 1 {
			fmt.Fprintf(&v.log, "%d: %s\n", i, v.disasm(i))
		}
		done, err := v.step(i)
		if err != nil {
			return err
		}
		if done {
			v.pathDone()
			if !v.pop() {
				return nil
			}
			continue
		}
		if v.opts.LogLevel >= 2 {
			fmt.Fprintf(&v.log, "    %s\n", v.stateString(v.cur))
		}
	}
}

// cloneCur copies the current state, reusing a state whose path has ended.
func (v *verifier) cloneCur() *state {
	if n := len(v.free); n > 0 {
		st := v.free[n-1]
		v.free = v.free[:n-1]
		v.cur.copyInto(st)
		return st
	}
	return v.cur.clone()
}

// release recycles the current state once its path has ended; nothing refers to it then
// (explored states are separate copies).
func (v *verifier) release() {
	if v.cur != nil && len(v.free) < 64 {
		v.free = append(v.free, v.cur)
	}
}

func (v *verifier) push(st *state) {
	if st.parent != nil {
		st.parent.branches++
	}
	v.pending = append(v.pending, st)
}

func (v *verifier) pop() bool {
	v.release()
	if len(v.pending) == 0 {
		v.cur = nil
		return false
	}
	v.cur = v.pending[len(v.pending)-1]
	v.pending = v.pending[:len(v.pending)-1]
	if v.opts.LogLevel >= 1 {
		fmt.Fprintf(&v.log, "from pending branch to %d: %s\n", v.cur.insn, v.stateString(v.cur))
	}
	return true
}

// pathDone records that the current path ended: explored states above it whose every path
// has now ended become complete, and only complete states prune.
func (v *verifier) pathDone() {
	for p := v.cur.parent; p != nil; p = p.parent {
		p.branches--
		if p.branches > 0 {
			break
		}
	}
}

// checkpoint looks for an explored state at slot i that subsumes the current one. A state
// still being explored that equals the current one is an ancestor: the path loops without
// progress.
func (v *verifier) checkpoint(i int) (bool, error) {
	cur := v.cur
	var h uint64
	hashed := false
	list := v.explored[i]
	for k := 0; k < len(list); k++ {
		vs := list[k]
		if vs.branches > 0 {
			// Equal states hash equally; only then is the exact comparison needed.
			if !hashed {
				h, hashed = v.hashState(cur), true
			}
			if vs.hash == h && v.subsumes(vs.st, cur) && v.subsumes(cur, vs.st) {
				return false, v.errAt(i, ErrInfiniteLoop, "infinite loop detected: the state at insn %d repeats without progress", i)
			}
			continue
		}
		if v.subsumes(vs.st, cur) {
			vs.hits++
			return true, nil
		}
		// Like the kernel, forget complete states that keep failing to prune: they only
		// cost time.
		vs.miss++
		if vs.miss > 3*vs.hits+8 {
			list[k] = list[len(list)-1]
			list = list[:len(list)-1]
			k--
		}
	}
	v.explored[i] = list
	// Like the kernel, keep a new state only every few jumps and instructions (and at every
	// loop head, where infinite loops are detected): copies cost more than re-exploring a
	// short stretch.
	if !v.loopHead[i] && (v.jmps-v.ckptJmps < 2 || v.processed-v.ckptInsns < 8) {
		return false, nil
	}
	// A long-running loop adds a state per iteration; past a cap, comparing against all of
	// them would make verification quadratic, so stop adding (the budget ends such loops).
	if len(list) >= maxStatesPerInsn {
		return false, nil
	}
	v.ckptJmps, v.ckptInsns = v.jmps, v.processed
	if !hashed {
		h = v.hashState(cur)
	}
	vs := &visited{st: cur.clone(), parent: cur.parent, branches: 1, hash: h}
	vs.st.parent = nil
	clearSingularIDs(vs.st)
	cur.parent = vs
	v.explored[i] = append(v.explored[i], vs)
	return false, nil
}

// memRangeLive reports whether how much of the raw memory region st has proven accessible
// may still matter: some path from here may access memory, or return to a caller that may.
func (v *verifier) memRangeLive(st *state) bool {
	return len(st.frames) > 1 || v.live[st.insn]&memLive != 0
}

// subsumes reports whether old covers cur at the same instruction.
func (v *verifier) subsumes(old, cur *state) bool {
	if len(old.frames) != len(cur.frames) || old.memRange > cur.memRange && v.memRangeLive(cur) {
		return false
	}
	var im idmap
	last := len(cur.frames) - 1
	for fi := range cur.frames {
		of, cf := old.frames[fi], cur.frames[fi]
		if of.callSite != cf.callSite {
			return false
		}
		var live regset
		if fi == last {
			live = v.live[cur.insn]
		} else {
			live = v.live[cur.frames[fi+1].callSite+1] & calleeKept
		}
		for r := isa.R0; r < isa.R10; r++ {
			if live&bit(r) != 0 && !regSubsumes(&of.regs[r], &cf.regs[r], &im) {
				return false
			}
		}
		slots := allSlots
		if fi == last {
			slots = v.liveSlots[cur.insn]
		}
		if !slotSubsumes(of, cf, &im, slots) {
			return false
		}
	}
	return true
}

func (v *verifier) checkStackChains() error {
	round := func(d int) int { return (max(d, 1) + 31) &^ 31 }
	memo := make([]int, len(v.subs))
	done := make([]bool, len(v.subs))
	var chain func(f int) int
	chain = func(f int) int {
		if done[f] {
			return memo[f]
		}
		deepest := 0
		for _, c := range v.subs[f].calls {
			if !v.subs[c].global {
				deepest = max(deepest, chain(c))
			}
		}
		done[f] = true
		memo[f] = round(v.subs[f].depth) + deepest
		return memo[f]
	}
	for f := range v.subs {
		if !v.reached[f] || (f != 0 && !v.subs[f].global) {
			continue
		}
		if d := chain(f); d > MaxStack {
			return v.errAt(v.subs[f].Start, ErrStackDepth, "combined stack size of the call chain from function at %d is %d bytes (limit %d)", v.subs[f].Start, d, MaxStack)
		}
	}
	return nil
}

func (v *verifier) facts() *Facts {
	n := len(v.insns)
	f := &Facts{
		Processed:  v.processed,
		ZeroExtend: make([]bool, n),
		Dead:       make([]bool, n),
		Branch:     v.branch,
		CtxFields:  v.ctxFields,
		CallX:      v.callx,
	}
	for i := 0; i < n; i++ {
		in := v.insns[i]
		if !v.seen[i] {
			f.Dead[i] = true
			if in.IsLdImm64() && i+1 < n {
				f.Dead[i+1] = true
				i++
			}
			continue
		}
		if in.IsLdImm64() {
			i++
			continue
		}
		if r, ok := v.def32(in); ok && v.liveOut64(i)&bit(r) != 0 {
			f.ZeroExtend[i] = true
		}
	}
	for _, s := range v.subs {
		f.Subprogs = append(f.Subprogs, SubprogFacts{Start: s.Start, End: s.End, Name: s.Name, StackDepth: (s.depth + 7) &^ 7, Global: s.global, TailCall: s.tail})
	}
	for _, s := range v.tail {
		f.TailCalls = append(f.TailCalls, *s)
	}
	sort.Slice(f.TailCalls, func(a, b int) bool { return f.TailCalls[a].Insn < f.TailCalls[b].Insn })
	for id := range v.usedHelp {
		f.Helpers = append(f.Helpers, id)
	}
	sort.Slice(f.Helpers, func(a, b int) bool { return f.Helpers[a] < f.Helpers[b] })
	var walk func(s int) int
	walk = func(s int) int {
		d := 0
		for _, c := range v.subs[s].calls {
			if !v.subs[c].global {
				d = max(d, walk(c))
			}
		}
		return d + (v.subs[s].depth+7)&^7
	}
	for s := range v.subs {
		if v.reached[s] && (s == 0 || v.subs[s].global) {
			f.MaxStackDepth = max(f.MaxStackDepth, walk(s))
		}
	}
	fmt.Fprintf(&v.log, "processed %d insns\n", v.processed)
	f.Log = v.log.String()
	return f
}

// def32 reports the register an instruction writes as a 32-bit, zero-extended value.
func (v *verifier) def32(in isa.Instruction) (isa.Register, bool) {
	op := in.Opcode
	switch op.Class() {
	case isa.ClassALU:
		if op.ALUOp() == isa.ALUEnd && in.Imm == 64 {
			return 0, false // le64/be64: a full 64-bit result despite the class
		}
		return in.Dst, true
	case isa.ClassLDX:
		if op.Mode() == isa.ModeMEM && op.Size() != isa.SizeDW {
			return in.Dst, true
		}
	case isa.ClassSTX:
		if op.Mode() == isa.ModeATOMIC && op.Size() == isa.SizeW {
			a := isa.AtomicOp(in.Imm)
			if a == isa.AtomicCmpXchg {
				return isa.R0, true
			}
			if a&isa.AtomicFetch != 0 {
				return in.Src, true
			}
		}
	}
	return 0, false
}

// hashState hashes what subsumes compares (live registers, stack, memory range) except IDs,
// so that equal states hash equally.
func (v *verifier) hashState(st *state) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(x uint64) { h = (h ^ x) * prime }
	mixReg := func(r *Reg) {
		mix(uint64(r.Type) | uint64(r.Frame)<<8 | uint64(uint32(r.Off))<<16)
		if r.Type == NotInit {
			return
		}
		mix(uint64(r.Map) | uint64(r.Range)<<32)
		s := &r.Val
		mix(s.T.Value)
		mix(s.T.Mask)
		mix(s.Umin)
		mix(s.Umax)
		mix(uint64(s.Smin))
		mix(uint64(s.Smax))
		mix(uint64(s.U32min) | uint64(s.U32max)<<32)
		mix(uint64(uint32(s.S32min)) | uint64(uint32(s.S32max))<<32)
		if s.LenOK {
			mix(uint64(s.LenSlack) ^ 0x9e3779b97f4a7c15)
		}
	}
	if v.memRangeLive(st) {
		mix(uint64(st.memRange))
	}
	last := len(st.frames) - 1
	for fi, f := range st.frames {
		mix(uint64(f.callSite))
		var live regset
		if fi == last {
			live = v.live[st.insn]
		} else {
			live = v.live[st.frames[fi+1].callSite+1] & calleeKept
		}
		for r := isa.R0; r < isa.R10; r++ {
			if live&bit(r) != 0 {
				mixReg(&f.regs[r])
			}
		}
		slots := allSlots
		if fi == last {
			slots = v.liveSlots[st.insn]
		}
		n := len(f.stack)
		for n > 0 && (f.stack[n-1].kind == [8]SlotKind{} || !slotLive(slots, n-1)) {
			n-- // trailing never-written or dead slots do not matter
		}
		for si := 0; si < n; si++ {
			s := &f.stack[si]
			if !slotLive(slots, si) {
				mix(0) // dead: not compared
				continue
			}
			mix(uint64(s.kind[0]) | uint64(s.kind[1])<<8 | uint64(s.kind[2])<<16 | uint64(s.kind[3])<<24 |
				uint64(s.kind[4])<<32 | uint64(s.kind[5])<<40 | uint64(s.kind[6])<<48 | uint64(s.kind[7])<<56)
			if s.isSpill() {
				mixReg(&s.spill)
			}
		}
	}
	return h
}

// clearSingularIDs drops scalar IDs that only one register or slot carries: they link
// nothing, and an ID in an explored state would otherwise stop it from subsuming states
// whose copy of the value has no ID.
func clearSingularIDs(st *state) {
	var ids [32]uint32
	var counts [32]uint8
	n := 0
	st.forEachReg(func(r *Reg) {
		if r.Type != ScalarValue || r.ID == 0 {
			return
		}
		for k := 0; k < n; k++ {
			if ids[k] == r.ID {
				counts[k]++
				return
			}
		}
		if n < len(ids) {
			ids[n], counts[n] = r.ID, 1
			n++
		}
	})
	st.forEachReg(func(r *Reg) {
		if r.Type != ScalarValue || r.ID == 0 || r.ID == memLenID {
			return
		}
		for k := 0; k < n; k++ {
			if ids[k] == r.ID && counts[k] == 1 {
				r.ID = 0
			}
		}
	})
}

// Summary is the one-line verdict of an accepted program, as `bpfjit verify` prints it.
func (f *Facts) Summary() string {
	return fmt.Sprintf("accepted: %d instructions processed", f.Processed)
}
