package emit

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/regalloc"
)

// Errors of a compilation; Compile wraps them in an *Error naming the slot.
var (
	ErrUnsupported = errors.New("instruction not supported by the JIT")
	ErrRecursion   = errors.New("recursive BPF-to-BPF call")
	ErrCallDepth   = errors.New("BPF-to-BPF call chain too deep")
	ErrStackDepth  = errors.New("invalid stack depth")
	// ErrTailCall rejects bpf_tail_call where the backend cannot lower it or the code is not
	// verified: running it as an ordinary helper would continue where the kernel jumps.
	ErrTailCall = errors.New("tail call not supported")
)

// HelperTailCall is the helper id of bpf_tail_call.
const HelperTailCall = 12

// MaxCallFrames is the deepest chain of BPF function frames, the main program included
// (the kernel's MAX_CALL_FRAMES).
const MaxCallFrames = 8

// MaxStackDepth is the stack a BPF function may use below R10 (the kernel's MAX_BPF_STACK).
const MaxStackDepth = 512

// Error is a compilation error at one program slot (-1 when it concerns no slot).
type Error struct {
	Index  int
	Err    error
	Detail string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("jit: insn %d: %v", e.Index, e.Err)
	if e.Index < 0 {
		s = fmt.Sprintf("jit: %v", e.Err)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error at program slot index.
func Errorf(index int, err error, format string, args ...any) *Error {
	return &Error{Index: index, Err: err, Detail: fmt.Sprintf(format, args...)}
}

// Options control a compilation.
type Options struct {
	// Blind rewrites every user immediate through regalloc.AX with random keys.
	Blind bool
	// BlindSeed fixes the key sequence (tests); nil draws it from crypto/rand.
	BlindSeed *[32]byte
	// StackDepth gives the stack bytes of each subprogram (in slot order), as the verifier
	// computes them. Nil gives every function MaxStackDepth.
	StackDepth []int
	// Budget, when non-zero, bounds a run to that many backward jumps and BPF-to-BPF calls
	// (so unverified programs terminate): when it runs out the code calls helper
	// BudgetHelper, which must not return (the caller's helper aborts the run).
	Budget       uint64
	BudgetHelper int32
	// Facts, when non-nil, are what the verifier proved (see Facts): dead slots and jumps
	// with one outcome are compiled accordingly, and NeedZext consults them.
	Facts *Facts
	// DirectTailCalls lists program slots of bpf_tail_call whose map and key the verifier
	// proved constant: they become patchable direct jumps (see TailCallSite). Ignored
	// when Blind is set, as in the kernel.
	DirectTailCalls []int
	// InlineArrayLookups lists program slots of bpf_map_lookup_elem calls whose r1 is
	// known to be an array map's handle (see Compiler.InlineArrayLookup): they are lowered to
	// a bounds check and an address computation, without leaving native code.
	InlineArrayLookups []int
}

// BudgetBackend is implemented by backends that support Options.Budget.
type BudgetBackend interface {
	// BudgetExhausted emits, at c.BudgetStub, the call of the budget helper.
	BudgetExhausted(c *Compiler)
}

// Func is one subprogram being compiled.
type Func struct {
	Index      int
	Start, End int   // stream slots [Start, End)
	Entry      Label // the function's first byte (its patchable entry)
	Body       Label // first byte after the prologue
	Exit       Label // the epilogue
	TailEntry  Label // where tail calls enter (the backend's Prologue binds it)
	StackDepth int   // bytes below R10, a multiple of 16
	Saved      []uint8
}

// Backend lowers instructions for one architecture.
type Backend interface {
	BranchEncoder
	// Regs returns the register map.
	Regs() *regalloc.Map
	// Prologue emits f's entry: patchable nop, frame, saved registers.
	Prologue(c *Compiler, f *Func)
	// Epilogue emits f's return sequence at f.Exit.
	Epilogue(c *Compiler, f *Func)
	// Lower emits stream slot i of f and returns how many slots it consumed (2 for lddw).
	Lower(c *Compiler, f *Func, i int) (int, error)
}

// RangeBackend is the fast lowering contract, optional beside Backend.Lower: the driver
// hands the backend a whole run of slots per call, so the per-slot work is the backend's
// own tight loop (no interface call, no label binding call per slot).
//
// LowerRange emits stream slots [from, to) of f. The range never splits an lddw and holds
// no slot the facts drop (the driver lowers those runs around them). For each slot i it
// lowers, before emitting any of the slot's bytes, the backend
//
//   - stores int32(len(c.Buf.Code)) into c.SlotOffsets()[i] (for an lddw, into both
//     halves' entries: the first before its bytes, the second after them);
//   - calls c.Lowering(i) if anything it calls may ask c.NeedZext.
//
// Everything else is as in Lower: branches go through c.Buf.AddBranch (or PlaceBranch,
// with the short form's bytes appended by the backend itself), targets are c.Label of
// c.S.Target, relocations use c.AddReloc. On failure it returns c.SlotError(i, err).
type RangeBackend interface {
	Backend
	LowerRange(c *Compiler, f *Func, from, to int) error
}

// Reloc is an address the loader must write into the image: an 8-byte little-endian
// immediate at Code[Off:Off+8] for the lddw at program slot Slot.
type Reloc struct {
	Off  int
	Slot int
	Src  isa.Register // the lddw pseudo source
	Imm  int32        // first slot's immediate (map fd/index, BTF id)
	Imm2 int32        // second slot's immediate (offset into a map value)
}

// FuncImage is where a subprogram landed in the image.
type FuncImage struct {
	Start int // program slot of its first instruction
	Entry int // offset of its patchable entry
	Body  int // offset after the prologue
	Exit  int // offset of its epilogue
	End   int // offset after its last byte
	// TailEntry is the offset where a tail call into the function enters: after the
	// patchable entry and the run-wide initialisation, before the frame set-up.
	TailEntry int
}

// Image is compiled code before it is made executable.
type Image struct {
	Code []byte
	// Slots[i] is the offset of the first byte generated for program slot i; the code of
	// slot i is Code[Slots[i]:Slots[i+1]] for slots that are not the last of a function
	// (the last one ends at FuncImage.Exit). len(Slots) = slots + 1. 32 bits: code is
	// far below 2 GiB, and the array is as long as the program.
	Slots  []int32
	Funcs  []FuncImage
	Relocs []Reloc
	// Blinded reports whether constant blinding was applied.
	Blinded bool
	// TailCalls lists the direct tail-call sites (Options.DirectTailCalls) in slot order.
	TailCalls []TailCallSite
}

// Slot returns Slots[i] as an int: the offset of the first byte generated for program
// slot i (i = len(Slots)-1: the end of the code).
func (img *Image) Slot(i int) int { return int(img.Slots[i]) }

// Compiler is the state of one compilation, shared between the driver and the backend.
type Compiler struct {
	Buf    Buffer
	S      *Stream
	Funcs  []Func
	Relocs []Reloc // Off holds a label until Link resolves it
	// SlotLabel+i is bound at the start of stream slot i (SlotLabel is 0: the slot
	// labels come first, see SlotOffsets).
	SlotLabel Label
	// Budget and BudgetHelper are Options.Budget and Options.BudgetHelper; BudgetStub is
	// where backward jumps and calls go when the budget is exhausted.
	Budget       uint64
	BudgetHelper int32
	BudgetStub   Label
	funcAt       map[int32]int // stream start slot → function index
	facts        *Facts        // Options.Facts
	skip         []bool        // program slots that emit no code (applyFacts)
	cur          int           // the stream slot being lowered (NeedZext)
	relocLbl     []Label
	plain        Stream  // the unblinded stream, reused
	blinded      Stream  // the blinded stream, reused
	streamOffs   []int32 // a blinded stream's slot offsets in the linked code, reused
	tail         tailState
}

var compilers = sync.Pool{New: func() any { return &Compiler{funcAt: map[int32]int{}} }}

// release returns the compiler's memory to the pool. Programs far larger than usual do not
// pin their buffers there.
func (c *Compiler) release() {
	if cap(c.Buf.Code) > 1<<24 {
		return
	}
	c.Buf.Reset()
	c.S = nil
	c.facts, c.skip = nil, nil
	c.plain.Insns, c.blinded.Insns = nil, c.blinded.Insns[:0]
	if cap(c.blinded.Insns) > 1<<20 { // an unusually large blinded stream is not kept
		c.blinded = Stream{}
	}
	c.Funcs = c.Funcs[:0]
	c.Relocs = c.Relocs[:0]
	c.relocLbl = c.relocLbl[:0]
	clear(c.funcAt)
	compilers.Put(c)
}

// Label returns the label bound at stream slot i.
func (c *Compiler) Label(i int32) Label { return c.SlotLabel + Label(i) }

// SlotOffsets returns where the slot labels are kept: element i is the offset in
// c.Buf.Code of stream slot i's first byte (element len(c.S.Insns) marks the end). A
// RangeBackend writes them directly; the array never moves during a compilation.
func (c *Compiler) SlotOffsets() []int32 { return c.Buf.slots }

// Lowering records that stream slot i is being lowered, for NeedZext.
func (c *Compiler) Lowering(i int) { c.cur = i }

// SlotError returns err as the error of lowering stream slot i: an *Error as it is, any
// other error wrapped in one naming the program slot.
func (c *Compiler) SlotError(i int, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Index: int(c.S.Orig[i]), Err: err}
}

// FuncEntry returns the entry label of the function starting at stream slot i.
func (c *Compiler) FuncEntry(i int32) (Label, bool) {
	f, ok := c.funcAt[i]
	if !ok {
		return NoLabel, false
	}
	return c.Funcs[f].Entry, true
}

// AddReloc records that the 8 bytes about to be emitted are an address the loader fills.
func (c *Compiler) AddReloc(streamSlot int) {
	l := c.Buf.NewLabel()
	c.Buf.Bind(l)
	in, hi := c.S.Insns[streamSlot], c.S.Insns[streamSlot+1]
	c.Relocs = append(c.Relocs, Reloc{Slot: int(c.S.Orig[streamSlot]), Src: in.Src, Imm: in.Imm, Imm2: hi.Imm})
	c.relocLbl = append(c.relocLbl, l)
}

// Compile validates prog's structure (isa.Validate's errors, in an *Error naming the
// slot) and compiles it with be.
func Compile(insns []isa.Instruction, opts Options, be Backend) (*Image, error) {
	if len(insns) == 0 { // before the facts, which are checked against the length
		return nil, &Error{Index: -1, Err: isa.ErrEmpty}
	}
	// The scratch state of a compilation (code buffer, labels, branches, stream arrays) is
	// pooled: only the Image is allocated per program.
	c := compilers.Get().(*Compiler)
	defer c.release()
	c.Buf.Init(be)
	c.facts, c.skip = opts.Facts, nil
	if opts.Facts != nil {
		if err := opts.Facts.check(len(insns)); err != nil {
			return nil, err
		}
		insns, c.skip = applyFacts(insns, opts.Facts)
	}
	if err := c.plain.reset(insns); err != nil {
		return nil, err
	}
	s := &c.plain
	if err := checkTailCalls(s, opts, be); err != nil {
		return nil, err
	}
	if opts.Blind {
		c.blinded.blind(s, BlindKeys(opts.BlindSeed))
		s = &c.blinded
	}
	c.S, c.Budget, c.BudgetHelper, c.BudgetStub = s, opts.Budget, opts.BudgetHelper, NoLabel
	c.tail.reset(opts, len(insns))
	bb, _ := be.(BudgetBackend)
	if opts.Budget > 0 && bb == nil {
		return nil, Errorf(-1, ErrUnsupported, "execution budget")
	}
	// Subprogram starts in the stream: blinding moves them, so derive them from Target.
	starts := streamStarts(s)
	if opts.StackDepth != nil && len(opts.StackDepth) != len(starts) {
		return nil, Errorf(-1, ErrStackDepth, "%d depths for %d functions", len(opts.StackDepth), len(starts))
	}
	for f, st := range starts {
		end := len(s.Insns)
		if f+1 < len(starts) {
			end = starts[f+1]
		}
		depth := MaxStackDepth
		if opts.StackDepth != nil {
			depth = opts.StackDepth[f]
			if depth < 0 || depth > MaxStackDepth {
				return nil, Errorf(int(s.Orig[st]), ErrStackDepth, "function %d: %d bytes", f, depth)
			}
		}
		c.Funcs = append(c.Funcs, Func{
			Index: f, Start: st, End: end,
			StackDepth: (depth + 15) &^ 15,
		})
		if len(starts) == 1 {
			// The scan's set is this function's; blinding adds writes to AX only, which
			// is never callee-saved.
			c.Funcs[f].Saved = be.Regs().SavedFor(c.plain.written)
		} else {
			c.Funcs[f].Saved = be.Regs().SavedRegs(s.Insns[st:end])
		}
		c.funcAt[int32(st)] = f
	}
	if err := c.checkCalls(); err != nil {
		return nil, err
	}
	// Every slot label is bound by the loop below (functions tile the stream, and the
	// second half of an lddw is bound after its first), so they need no unbound marking.
	c.SlotLabel = c.Buf.reserveSlots(len(s.Insns) + 1)
	for f := range c.Funcs {
		fn := &c.Funcs[f]
		fn.Entry, fn.Body, fn.Exit = c.Buf.NewLabel(), c.Buf.NewLabel(), c.Buf.NewLabel()
		fn.TailEntry = c.Buf.NewLabel()
	}
	if opts.Budget > 0 {
		c.BudgetStub = c.Buf.NewLabel()
	}
	// Rough preallocation: most instructions lower to under 8 bytes.
	c.Buf.Code = slices.Grow(c.Buf.Code[:0], len(s.Insns)*8+64)
	rb, _ := be.(RangeBackend)
	for f := range c.Funcs {
		fn := &c.Funcs[f]
		c.Buf.Bind(fn.Entry)
		be.Prologue(c, fn)
		c.Buf.Bind(fn.Body)
		if err := c.lowerBody(be, rb, fn); err != nil {
			return nil, err
		}
		c.Buf.Bind(fn.Exit)
		be.Epilogue(c, fn)
	}
	c.Buf.Bind(c.Label(int32(len(s.Insns))))
	if opts.Budget > 0 {
		c.Buf.Bind(c.BudgetStub)
		bb.BudgetExhausted(c)
	}
	code, err := c.Buf.Link(be)
	if err != nil {
		return nil, &Error{Index: -1, Err: err}
	}
	img := &Image{Code: code, Blinded: opts.Blind}
	if img.TailCalls, err = c.tail.finish(c, code); err != nil {
		return nil, err
	}
	if s == &c.plain { // stream slot i is program slot i
		img.Slots = c.Buf.appendSlotOffsets(len(insns))
		img.Slots = append(img.Slots, int32(len(code)))
	} else {
		img.Slots = make([]int32, len(insns)+1)
		img.Slots[len(insns)] = int32(len(code))
		for i := range insns {
			img.Slots[i] = -1
		}
		c.streamOffs = grow(c.streamOffs, len(s.Insns))
		c.Buf.slotOffsets(c.streamOffs)
		for j := len(s.Insns) - 1; j >= 0; j-- { // the first stream slot of each program slot wins
			img.Slots[s.Orig[j]] = c.streamOffs[j]
		}
		for i := len(insns) - 1; i >= 0; i-- { // slots without code of their own (a blinded lddw's second half)
			if img.Slots[i] < 0 {
				img.Slots[i] = img.Slots[i+1]
			}
		}
	}
	for f, fn := range c.Funcs {
		fi := FuncImage{
			Start: int(s.Orig[fn.Start]),
			Entry: c.Buf.LabelOffset(fn.Entry),
			Body:  c.Buf.LabelOffset(fn.Body),
			Exit:  c.Buf.LabelOffset(fn.Exit),
			End:   len(code),
		}
		fi.TailEntry = -1 // a backend without tail calls leaves the label unbound
		if c.Buf.Bound(fn.TailEntry) {
			fi.TailEntry = c.Buf.LabelOffset(fn.TailEntry)
		}
		if f+1 < len(c.Funcs) {
			fi.End = c.Buf.LabelOffset(c.Funcs[f+1].Entry)
		}
		img.Funcs = append(img.Funcs, fi)
	}
	for k, r := range c.Relocs {
		r.Off = c.Buf.LabelOffset(c.relocLbl[k])
		img.Relocs = append(img.Relocs, r)
	}
	return img, nil
}

// streamStarts returns the stream slots where functions begin: 0 and every target of a
// local call or function-address lddw.
func streamStarts(s *Stream) []int {
	out := []int{0}
	for _, i := range s.sites {
		out = append(out, int(s.Target[i]))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// checkCalls rejects recursion and call chains deeper than MaxCallFrames. BPF-to-BPF
// calls are static, so the whole call graph is known here; each frame costs native stack,
// and the bridge's stack is sized for MaxCallFrames frames.
func (c *Compiler) checkCalls() error {
	n := len(c.Funcs)
	callees := make([][]int, n)
	callSite := make([][]int, n)
	f := 0
	for _, i := range c.S.sites { // sites are in slot order, so the caller only moves forward
		if !c.S.Insns[i].IsLocalCall() {
			continue
		}
		for int(i) >= c.Funcs[f].End {
			f++
		}
		g := c.funcAt[c.S.Target[i]]
		callees[f] = append(callees[f], g)
		callSite[f] = append(callSite[f], int(c.S.Orig[i]))
	}
	const (
		unvisited = iota
		active
		done
	)
	state := make([]int, n)
	depth := make([]int, n) // frames in the deepest chain starting at f
	var visit func(f int) error
	visit = func(f int) error {
		state[f] = active
		depth[f] = 1
		for k, g := range callees[f] {
			switch state[g] {
			case active:
				return Errorf(callSite[f][k], ErrRecursion, "function at slot %d calls back into an active function", c.S.Orig[c.Funcs[f].Start])
			case unvisited:
				if err := visit(g); err != nil {
					return err
				}
			}
			if depth[g]+1 > depth[f] {
				depth[f] = depth[g] + 1
			}
			if depth[f] > MaxCallFrames {
				return Errorf(callSite[f][k], ErrCallDepth, "%d frames, limit %d", depth[f], MaxCallFrames)
			}
		}
		state[f] = done
		return nil
	}
	for f := range c.Funcs {
		if state[f] == unvisited {
			if err := visit(f); err != nil {
				return err
			}
		}
	}
	return nil
}
