package amd64

import (
	"sync"
	"unsafe"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/regalloc"
)

// Multi-instruction ALU forms on the fast loop. Shifts by a register, div/mod, movsx and
// the byte swaps lower to sequences whose bytes depend on nothing but the opcode, the two
// registers and one small selector (the offset, the swap width or whether the result must
// be zero-extended). Their bytes are read once off the functions Lower itself calls and
// kept in a table, so the fast loop copies them with one fixed-size block move: no call,
// and no second copy of the lowering logic.

// maxSeq bounds a table sequence; the loop copies this many bytes whatever its length.
const maxSeq = 64

// Selectors: which field picks a form's variant (form.aux of formSeq and formDivK).
const (
	selOff  = iota // in.Off: 0 or 1 (signedness of div/mod), 8, 16 or 32 (movsx width)
	selImm         // in.Imm: 16, 32 or 64 (byte swaps)
	selZext        // whether the 32-bit result is zero-extended (shifts by a register)
)

// seqSub maps a selector's value (below 128) to a variant number; seqNone marks the
// values no table form has.
const seqNone = 7

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

// seqTable holds the sequences: block[opcode<<3|variant] numbers a block of 256 entries
// indexed by dst<<4|src (block 0 is empty), and an entry is a sequence's offset in pool
// (above the low byte) and its length (the low byte; 0: none, Lower's bytes are used).
type seqTable struct {
	block [256 << 3]uint8
	entry []uint32
	pool  []byte // every sequence, then maxSeq bytes of padding so that any copy stays inside
}

// seqs builds the table on first use (not at package initialisation: a program that
// never compiles should not pay for it).
var seqs = sync.OnceValue(buildSeqs)

func buildSeqs() *seqTable {
	// Sized for today's forms (43 blocks, 70 KB of sequences) so that building, done
	// once per process (about half a millisecond), allocates each array once.
	t := &seqTable{entry: make([]uint32, 256, 48<<8), pool: make([]byte, 0, 80<<10)}
	a := make(Code, 0, 2*maxSeq)
	for op := range 256 {
		fm := forms[op]
		if fm.kind != formSeq && fm.kind != formDivK && fm.kind != formMovRR {
			continue
		}
		for sub, v := range seqValues {
			var blk [256]uint32
			used := false
			for ds := range 256 {
				d, s := ds>>4, ds&15
				// Only registers that reach the lowering, and only source 0 for the
				// forms without one: others find no sequence and go to Lower.
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
				t.block[op<<3|sub] = uint8(len(t.entry) >> 8)
				t.entry = append(t.entry, blk[:]...)
			}
		}
	}
	t.pool = append(t.pool, make([]byte, maxSeq)...)
	return t
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
	e := t.entry[uint32(t.block[uint32(op)<<3|uint32(seqSub[min(v, 127)&127])])<<8|uint32(ds)]
	// Four 16-byte moves: a 64-byte array assignment would call memmove.
	src := unsafe.Add(unsafe.Pointer(unsafe.SliceData(t.pool)), e>>8)
	for k := 0; k < maxSeq; k += 16 {
		*(*[16]byte)(unsafe.Add(unsafe.Pointer(p), k)) = *(*[16]byte)(unsafe.Add(src, k))
	}
	return int(e & 0xff)
}
