package amd64

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/regalloc"
)

// Multi-instruction forms on the fast loop. Shifts by a register, div/mod, movsx and the
// byte swaps lower to sequences whose bytes depend on nothing but the opcode, the two
// registers and one small selector (the offset, the swap width or whether the result must
// be zero-extended); the atomics of several instructions on those and the size of their
// displacement, which the loop patches in. Their bytes are read off the functions Lower
// itself calls, once per process, into a table the fast loop copies from with fixed-size
// moves: no call, and no second copy of the lowering logic.

// maxSeq bounds a table sequence; the loop copies this many bytes whatever its length.
const maxSeq = 64

// Selectors: which field picks a form's variant (form.aux of formSeq and formDivK).
const (
	selOff  = iota // in.Off: 0 or 1 (signedness of div/mod), 8, 16 or 32 (movsx width)
	selImm         // in.Imm: 16, 32 or 64 (byte swaps)
	selZext        // whether the 32-bit result is zero-extended (shifts by a register)
)

// seqSub maps a selector's value (below 128) to a variant number; seqNone marks the
// values no table form has (no form has 16 variants).
const seqNone = 15

var seqSub = func() (t [128]uint8) {
	for i := range t {
		t[i] = seqNone
	}
	for sub, v := range seqValues {
		t[v] = uint8(sub)
	}
	return t
}()

// seqValues lists, by variant number, the selector values a table form may have.
var seqValues = [...]uint32{0, 1, 8, 16, 32, 64}

// seqTable holds the sequences: block[opcode<<4|variant] numbers a block of 256 entries
// indexed by dst<<4|src (block 0 is empty), and an entry is a sequence's offset in pool
// (above the low byte) and its length (the low byte; 0: none, Lower's bytes are used).
// For an atomic with a displacement, patch has where it goes (twice: pos1 | pos2<<8).
type seqTable struct {
	built [256]bool // the opcodes whose sequences are in (see with)
	block [256 << 4]uint8
	entry []uint32
	patch []uint16
	pool  []byte // every sequence, then maxSeq bytes of padding so that any copy stays inside
}

// atomicSeqOps are the atomics the table holds, the ones of several instructions; the
// variant of number k with a displacement of dispKind j is 3k+j.
var atomicSeqOps = [...]struct {
	op   isa.AtomicOp
	zext bool // of a 32-bit cmpxchg's r0
}{
	{isa.AtomicOr | isa.AtomicFetch, false}, {isa.AtomicAnd | isa.AtomicFetch, false},
	{isa.AtomicXor | isa.AtomicFetch, false}, {isa.AtomicCmpXchg, false}, {isa.AtomicCmpXchg, true},
}

// seqCmpXchg is cmpxchg's number in atomicSeqOps (that of its zero-extending form less 1).
const seqCmpXchg = 3

// atomicSeq maps an atomic's immediate (its low byte) to its number in atomicSeqOps, or
// to seqNone.
var atomicSeq = func() (t [256]uint8) {
	for i := range t {
		t[i] = seqNone
	}
	for k, a := range atomicSeqOps {
		if !a.zext {
			t[a.op] = uint8(k)
		}
	}
	return t
}()

// seqDisps are, for each dispKind, two displacements of that size whose bytes all differ:
// the bytes where the two lowerings differ are where the displacement goes.
var seqDisps = [3][2]int16{{0, 0}, {0x11, -0x22}, {0x1111, -0x2222}}

// The table grows by opcode, when a slot first finds no sequence for its opcode, so a
// process pays only for the forms it compiles (BenchmarkBuildSeqs: about 1 ms for all).
// A version is never modified once published, and a newer one is published whole:
// compiles in progress keep reading theirs.
var (
	seqMu  sync.Mutex // serialises the growth
	seqCur atomic.Pointer[seqTable]
)

var noSeqs = (*seqTable)(nil).with(0)

// seqsNow returns the current table.
func seqsNow() *seqTable {
	if t := seqCur.Load(); t != nil {
		return t
	}
	return noSeqs
}

// seqsWith returns the current table once it has the sequences of opcode op.
func seqsWith(op isa.Opcode) *seqTable {
	seqMu.Lock()
	defer seqMu.Unlock()
	t := seqsNow()
	if !t.built[op] {
		t = t.with(op)
		seqCur.Store(t)
	}
	return t
}

// hasSeqs reports whether opcodes of form kind k may have sequences in the table.
func hasSeqs(k uint8) bool {
	return k == formSeq || k == formDivK || k == formMovRR || k == formAtomic
}

// with returns a copy of t (nil: an empty table) that also has the sequences of opcode
// op. t must be the newest version of its line (the copy appends to t's arrays).
func (t *seqTable) with(op isa.Opcode) *seqTable {
	n := &seqTable{entry: make([]uint32, 256), patch: make([]uint16, 256)}
	if t != nil {
		// The slices are shared: the new version only appends past what t reads (its
		// pool's padding included), and only the newest version ever grows.
		*n = *t
	}
	n.built[op] = true
	a := make(Code, 0, 2*maxSeq)
	switch fm := forms[op]; fm.kind {
	case formAtomic:
		n.addAtomics(int(op), a)
	case formSeq, formDivK, formMovRR:
		n.addALU(int(op), a)
	}
	n.pool = append(n.pool, make([]byte, maxSeq)...)
	return n
}

// addALU adds the sequences of ALU opcode op, for every selector value.
func (t *seqTable) addALU(op int, a Code) {
	fm := forms[op]
	for sub, v := range seqValues {
		var blk [256]uint32
		used := false
		for ds := range 256 {
			d, s := ds>>4, ds&15
			// Only registers that reach the lowering, and only source 0 for the forms
			// without one: others find no sequence and go to Lower.
			if d >= regalloc.NumRegs || s >= regalloc.NumRegs || (s != 0 && (fm.kind == formDivK || fm.aux == selImm)) {
				continue
			}
			in := isa.Instruction{Opcode: isa.Opcode(op), Dst: isa.Register(d), Src: isa.Register(s)}
			if fm.aux == selImm {
				in.Imm = int32(v)
			} else {
				in.Off = int16(v)
			}
			a = a[:0]
			if !seqBytes(&a, &in, v == 1) || len(a) == 0 || len(a) > maxSeq {
				continue
			}
			blk[ds] = uint32(len(t.pool))<<8 | uint32(len(a))
			t.pool = append(t.pool, a...)
			used = true
		}
		if used {
			t.addBlock(op<<4|sub, &blk, nil)
		}
	}
}

// addBlock gives variant v (opcode<<4|number) the block of entries blk and patch
// positions pat (nil: none). Past 255 blocks there is no number left: Lower serves it.
func (t *seqTable) addBlock(v int, blk *[256]uint32, pat *[256]uint16) {
	if len(t.entry)>>8 > 0xff {
		return
	}
	t.block[v] = uint8(len(t.entry) >> 8)
	t.entry = append(t.entry, blk[:]...)
	if pat == nil {
		pat = new([256]uint16)
	}
	t.patch = append(t.patch, pat[:]...)
}

// addAtomics adds the atomics of atomicSeqOps for opcode op, for each size of
// displacement: each is lowered with two displacements of that size to find where it goes.
func (t *seqTable) addAtomics(op int, a Code) {
	for k, ao := range atomicSeqOps {
		for kind, disps := range seqDisps {
			var blk [256]uint32
			var pat [256]uint16
			used := false
			for ds := range 256 {
				d, s := ds>>4, ds&15
				if d >= regalloc.NumRegs || s >= regalloc.NumRegs {
					continue
				}
				in := isa.Instruction{Opcode: isa.Opcode(op), Dst: isa.Register(d), Src: isa.Register(s), Off: disps[0], Imm: int32(ao.op)}
				a = a[:0]
				atomicCode(&a, &in, ao.zext)
				n := len(a)
				if kind != 0 { // without a displacement there is nothing to find
					in.Off = disps[1]
					atomicCode(&a, &in, ao.zext)
				} else {
					a = append(a, a...)
				}
				pos, ok := dispAt(a[:n], a[n:], kind)
				if !ok || n > maxSeq {
					continue
				}
				blk[ds] = uint32(len(t.pool))<<8 | uint32(n)
				pat[ds] = pos
				t.pool = append(t.pool, a[:n]...)
				used = true
			}
			if used {
				t.addBlock(op<<4|k*3+kind, &blk, &pat)
			}
		}
	}
}

// dispAt returns where the displacement of dispKind kind goes, twice (pos1 | pos2<<8),
// in x and y, one lowering with two displacements: they must differ in exactly those
// bytes. Kind 0 has no displacement: x and y must be equal.
func dispAt(x, y []byte, kind int) (uint16, bool) {
	if len(x) != len(y) {
		return 0, false
	}
	size := [3]int{0, 1, 4}[kind]
	var at [2]int
	runs := 0
	for i := 0; i < len(x); i++ {
		if x[i] == y[i] {
			continue
		}
		if i+size > len(x) || runs == 2 {
			return 0, false
		}
		for j := i; j < i+size; j++ {
			if x[j] == y[j] {
				return 0, false
			}
		}
		at[runs] = i
		runs++
		i += size - 1
	}
	switch {
	case kind == 0 && runs == 0:
		return 0, true
	case kind != 0 && runs == 2:
		return uint16(at[0]) | uint16(at[1])<<8, true
	}
	return 0, false
}

// seqBytes appends to a what Lower emits for in, an instruction of a table form, and
// reports whether the form has a table variant for in's selector (zext: the selector of a
// shift's zero extension). It calls the functions Lower calls.
func seqBytes(a *Code, in *isa.Instruction, zext bool) bool {
	var be Backend
	fm := forms[in.Opcode]
	w := width(in.Opcode.Class())
	d, s := reg(in.Dst), reg(in.Src)
	switch op := in.Opcode.ALUOp(); {
	case fm.kind == formMovRR:
		if in.Off != 8 && in.Off != 16 && in.Off != 32 {
			return false // plain moves: the loop encodes them
		}
		a.Movsx(w, d, s, Width(in.Off))
	case fm.kind == formDivK:
		if in.Off > 1 || in.Src != 0 {
			return false
		}
		// The divisor constant, loaded into tmp, is encoded by the loop.
		be.divCore(a, w, d, tmp, in.Off == 1, op == isa.ALUMod)
	case op == isa.ALUDiv || op == isa.ALUMod:
		if in.Off > 1 {
			return false
		}
		be.divmod(a, in, w)
	case op == isa.ALUEnd:
		be.byteswap(a, in, w, d)
	default: // a shift by a register
		if in.Off > 1 || (fm.aux != selZext && in.Off != 0) {
			return false
		}
		shiftByReg(a, shiftOps[op>>4], w, d, s, fm.aux == selZext && zext)
	}
	return true
}

// put copies the sequence of opcode op for selector value v and registers dst<<4|src
// (ds) to p and returns its length, 0 when the table has none. It is small enough to
// inline into the fast loop.
func (t *seqTable) put(p *[maxSeq]byte, op isa.Opcode, v uint32, ds byte) int {
	return t.copy(p, t.entry[uint32(t.block[uint32(op)<<4|uint32(seqSub[min(v, 127)&127])])<<8|uint32(ds)])
}

// atomicIndex returns the index in entry and patch of atomic opcode op's variant sub with
// registers ds.
func (t *seqTable) atomicIndex(op isa.Opcode, sub uint32, ds byte) uint32 {
	return uint32(t.block[uint32(op)<<4|min(sub, seqNone)])<<8 | uint32(ds)
}

// copy copies the sequence of entry e to p and returns its length.
func (t *seqTable) copy(p *[maxSeq]byte, e uint32) int {
	// Four 16-byte moves: a 64-byte array assignment would call memmove.
	src := unsafe.Add(unsafe.Pointer(unsafe.SliceData(t.pool)), e>>8)
	for k := 0; k < maxSeq; k += 16 {
		*(*[16]byte)(unsafe.Add(unsafe.Pointer(p), k)) = *(*[16]byte)(unsafe.Add(src, k))
	}
	return int(e & 0xff)
}
