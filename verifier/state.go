package verifier

import (
	"fmt"
	"strings"

	"github.com/bpfjit/bpfjit/isa"
)

// RegType is the kind of value a register (or spilled stack slot) holds.
type RegType uint8

const (
	NotInit             RegType = iota // never written on this path
	ScalarValue                        // a number
	PtrToCtx                           // the program's context
	PtrToStack                         // a frame's stack (Frame says whose)
	PtrToMapValue                      // a map element's value
	PtrToMapValueOrNull                // result of a lookup: null-check before use
	ConstPtrToMap                      // a map itself, for helper arguments
	PtrToPacket                        // packet data; Range bytes proven readable
	PtrToPacketMeta                    // packet metadata (before data)
	PtrToPacketEnd                     // one past the packet; compare only
	PtrToMem                           // the raw memory region handed to the program in r1
	PtrToBuf                           // memory of a known size (Range), e.g. a global function's argument
	PtrToBufOrNull                     // PtrToBuf that may be null
)

var regTypeNames = [...]string{
	NotInit: "?", ScalarValue: "scalar", PtrToCtx: "ctx", PtrToStack: "fp",
	PtrToMapValue: "map_value", PtrToMapValueOrNull: "map_value_or_null", ConstPtrToMap: "map_ptr",
	PtrToPacket: "pkt", PtrToPacketMeta: "pkt_meta", PtrToPacketEnd: "pkt_end", PtrToMem: "mem",
	PtrToBuf: "buf", PtrToBufOrNull: "buf_or_null",
}

func (t RegType) String() string {
	if int(t) < len(regTypeNames) {
		return regTypeNames[t]
	}
	return fmt.Sprintf("type%d", uint8(t))
}

// IsPointer reports whether the type is any kind of pointer.
func (t RegType) IsPointer() bool { return t > ScalarValue }

func (t RegType) isPacket() bool { return t == PtrToPacket || t == PtrToPacketMeta }

func (t RegType) maybeNull() bool { return t == PtrToMapValueOrNull || t == PtrToBufOrNull }

// Reg is the abstract value of a register.
type Reg struct {
	Type RegType
	// Val is the value of a scalar, or the variable part of a pointer's offset.
	Val Scalar
	// Off is a pointer's fixed offset.
	Off int32
	// ID links values that are the same: registers holding one lookup result (so one null
	// check covers all copies), packet pointers sharing a variable offset (so one range
	// check covers all), or copies of one scalar (so a comparison refines all).
	ID uint32
	// Range is the number of bytes past the base a packet pointer may access, or a
	// PtrToBuf's size.
	Range int64
	// Map indexes the map table for map pointers and map values.
	Map int32
	// Frame is the call frame a stack pointer points into.
	Frame uint8
}

func scalarReg(s Scalar) Reg { return Reg{Type: ScalarValue, Val: s} }

func ptrReg(t RegType) Reg { return Reg{Type: t, Val: ConstScalar(0)} }

// memLenID is the ID of the raw-memory length scalar: comparisons of it prove how much of
// the region is accessible.
const memLenID = 1

func (r Reg) String() string {
	switch r.Type {
	case NotInit:
		return "?"
	case ScalarValue:
		s := r.Val.String()
		if r.ID != 0 {
			s += fmt.Sprintf("#%d", r.ID)
		}
		return s
	}
	var b strings.Builder
	b.WriteString(r.Type.String())
	if r.Type == PtrToStack {
		fmt.Fprintf(&b, "%d", r.Off)
		if r.Frame != 0 {
			fmt.Fprintf(&b, "@frame%d", r.Frame)
		}
		if !r.Val.IsConst() || r.Val.T.Value != 0 {
			fmt.Fprintf(&b, "+%v", r.Val)
		}
		return b.String()
	}
	var parts []string
	if r.Type == PtrToMapValue || r.Type == PtrToMapValueOrNull || r.Type == ConstPtrToMap {
		parts = append(parts, fmt.Sprintf("map=%d", r.Map))
	}
	if r.Off != 0 {
		parts = append(parts, fmt.Sprintf("off=%d", r.Off))
	}
	if !r.Val.IsConst() || r.Val.T.Value != 0 {
		parts = append(parts, fmt.Sprintf("var=%v", r.Val))
	}
	if r.ID != 0 {
		parts = append(parts, fmt.Sprintf("id=%d", r.ID))
	}
	if r.Type.isPacket() || r.Type == PtrToBuf || r.Type == PtrToBufOrNull {
		parts = append(parts, fmt.Sprintf("r=%d", r.Range))
	}
	if len(parts) > 0 {
		b.WriteString("(" + strings.Join(parts, ",") + ")")
	}
	return b.String()
}

// SlotKind describes one stack byte.
type SlotKind uint8

const (
	SlotInvalid SlotKind = iota // never written: reads are rejected
	SlotMisc                    // holds data of no tracked type: reads give an unknown scalar
	SlotSpill                   // part of a spilled 64-bit register whose type is kept
	SlotPtrBits                 // what remains of a partly overwritten pointer: unreadable
)

// slot is one aligned 8-byte stack slot.
type slot struct {
	kind  [8]SlotKind // kind[0] is the lowest address
	spill Reg
}

func (s *slot) isSpill() bool {
	for _, k := range s.kind {
		if k != SlotSpill {
			return false
		}
	}
	return true
}

// MaxStack is the stack size of one frame.
const MaxStack = 512

// MaxCallFrames is the deepest call chain, main program included.
const MaxCallFrames = 8

type frame struct {
	regs [isa.NumRegisters]Reg
	// stack[i] covers bytes [fp-8(i+1), fp-8i).
	stack    []slot
	callSite int // slot of the call instruction in the caller; -1 for the outermost frame
	subprog  int
}

func (f *frame) clone() *frame {
	n := &frame{regs: f.regs, callSite: f.callSite, subprog: f.subprog}
	if len(f.stack) > 0 {
		n.stack = append([]slot(nil), f.stack...)
	}
	return n
}

// slotAt returns the slot holding byte fp+off (off < 0), growing the stack as needed.
func (f *frame) slotAt(off int) *slot {
	i := (-off - 1) / 8
	for len(f.stack) <= i {
		f.stack = append(f.stack, slot{})
	}
	return &f.stack[i]
}

func (f *frame) byteKind(off int) (SlotKind, *slot) {
	i := (-off - 1) / 8
	if i >= len(f.stack) {
		return SlotInvalid, nil
	}
	s := &f.stack[i]
	return s.kind[(off%8+8)%8], s
}

// state is the abstract machine state on one path.
type state struct {
	frames []*frame
	// memRange is how many bytes of the raw memory region are proven accessible.
	memRange int64
	parent   *visited
	insn     int
}

func (s *state) cur() *frame { return s.frames[len(s.frames)-1] }

// copyInto makes dst a copy of s, reusing dst's frames and stack slices.
func (s *state) copyInto(dst *state) {
	dst.memRange, dst.parent, dst.insn = s.memRange, s.parent, s.insn
	for len(dst.frames) < len(s.frames) {
		dst.frames = append(dst.frames, &frame{})
	}
	dst.frames = dst.frames[:len(s.frames)]
	for i, f := range s.frames {
		d := dst.frames[i]
		d.regs, d.callSite, d.subprog = f.regs, f.callSite, f.subprog
		d.stack = append(d.stack[:0], f.stack...)
	}
}

func (s *state) clone() *state {
	n := &state{frames: make([]*frame, len(s.frames)), memRange: s.memRange, parent: s.parent, insn: s.insn}
	for i, f := range s.frames {
		n.frames[i] = f.clone()
	}
	return n
}

// forEachReg visits every register and spilled register of every frame.
func (s *state) forEachReg(fn func(r *Reg)) {
	for _, f := range s.frames {
		for i := range f.regs {
			fn(&f.regs[i])
		}
		for i := range f.stack {
			if f.stack[i].isSpill() {
				fn(&f.stack[i].spill)
			}
		}
	}
}

// visited is an explored state kept at a prune point.
type visited struct {
	st       *state
	parent   *visited
	branches int // paths still being explored below this state; 0 once complete
	hits     int
	miss     int
	hash     uint64 // of what subsumes compares, IDs aside
}

// idmap checks that IDs correspond one to one between an old and a new state.
type idmap struct{ m map[uint32]uint32 }

func (im *idmap) match(old, cur uint32) bool {
	if old == 0 {
		return true
	}
	if old == memLenID || cur == memLenID {
		// The memory length is special: refining it proves accesses.
		return old == cur
	}
	if cur == 0 {
		return false
	}
	if im.m == nil {
		im.m = make(map[uint32]uint32, 4)
	}
	if v, ok := im.m[old]; ok {
		return v == cur
	}
	im.m[old] = cur
	return true
}

// regSubsumes reports whether every concrete value cur may describe is also described by
// old, so that what was proven safe from old holds from cur.
func regSubsumes(old, cur *Reg, im *idmap) bool {
	if old.Type == NotInit {
		return true
	}
	if old.Type != cur.Type {
		return false
	}
	switch old.Type {
	case ScalarValue:
		if !cur.Val.within(&old.Val) {
			return false
		}
		return old.ID == 0 || im.match(old.ID, cur.ID)
	case ConstPtrToMap:
		return old.Map == cur.Map
	case PtrToPacket, PtrToPacketMeta:
		if old.Range > cur.Range {
			return false
		}
	case PtrToBuf, PtrToBufOrNull:
		if old.Range != cur.Range {
			return false
		}
	case PtrToStack:
		if old.Frame != cur.Frame {
			return false
		}
	}
	return old.Off == cur.Off && old.Map == cur.Map && cur.Val.within(&old.Val) && im.match(old.ID, cur.ID)
}

// slotSubsumes compares the stack slots in live (bit k is slot k); the others are never
// read before being overwritten.
func slotSubsumes(old, cur *frame, im *idmap, live uint64) bool {
	for i := range old.stack {
		if !slotLive(live, i) {
			continue
		}
		o := &old.stack[i]
		var c *slot
		if i < len(cur.stack) {
			c = &cur.stack[i]
		}
		if o.isSpill() {
			if c == nil || !c.isSpill() || !regSubsumes(&o.spill, &c.spill, im) {
				return false
			}
			continue
		}
		for b, k := range o.kind {
			switch k {
			case SlotInvalid, SlotPtrBits:
				// Reads fail from old: whatever cur holds, no explored path read it.
			case SlotMisc, SlotSpill:
				if c == nil || c.kind[b] == SlotInvalid || c.kind[b] == SlotPtrBits {
					return false
				}
				if c.kind[b] == SlotSpill && (k == SlotSpill || c.spill.Type != ScalarValue) {
					return false
				}
			}
		}
	}
	return true
}
