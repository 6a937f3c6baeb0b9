package arm64

import "encoding/binary"

// Inst is one encoded A64 instruction word.
type Inst uint32

// Buf accumulates little-endian instruction words. Emit takes the (Inst, error)
// pair every encoder returns, so calls read as b.Emit(AddImm(W64, X0, X1, 8)).
// The first error is kept with its position and later instructions are dropped,
// so a lowering can emit a whole program and check Err once.
type Buf struct {
	code []byte
	err  error
}

// NewBuf returns a Buf whose storage starts with room for capBytes bytes.
func NewBuf(capBytes int) *Buf { return &Buf{code: make([]byte, 0, capBytes)} }

// Emit appends i, or records err (the first one only) and appends nothing.
func (b *Buf) Emit(i Inst, err error) {
	if b.err != nil {
		return
	}
	if err != nil {
		b.err = &PosError{Pos: len(b.code), Err: err}
		return
	}
	b.code = binary.LittleEndian.AppendUint32(b.code, uint32(i))
}

// EmitSeq appends every instruction of s, or records err.
func (b *Buf) EmitSeq(s Seq, err error) {
	if b.err != nil {
		return
	}
	if err != nil {
		b.err = &PosError{Pos: len(b.code), Err: err}
		return
	}
	for _, i := range s.Insts() {
		b.code = binary.LittleEndian.AppendUint32(b.code, uint32(i))
	}
}

// Len is the number of bytes emitted so far; it is the position of the next
// instruction.
func (b *Buf) Len() int { return len(b.code) }

// Bytes returns the emitted code. It aliases the buffer's storage.
func (b *Buf) Bytes() []byte { return b.code }

// Err returns the first encoding error (a *PosError), or nil.
func (b *Buf) Err() error { return b.err }

// Reset empties the buffer and clears its error, keeping the storage.
func (b *Buf) Reset() {
	b.code = b.code[:0]
	b.err = nil
}

// At returns the instruction at byte position pos (a multiple of 4 below Len).
func (b *Buf) At(pos int) (Inst, bool) {
	if pos < 0 || pos%4 != 0 || pos+4 > len(b.code) {
		return 0, false
	}
	return Inst(binary.LittleEndian.Uint32(b.code[pos:])), true
}

// Set overwrites the instruction at byte position pos. It reports false, and
// changes nothing, when pos is not the position of an emitted instruction.
func (b *Buf) Set(pos int, i Inst) bool {
	if pos < 0 || pos%4 != 0 || pos+4 > len(b.code) {
		return false
	}
	binary.LittleEndian.PutUint32(b.code[pos:], uint32(i))
	return true
}

// PatchBranch rewrites the target of the branch at pos so that it jumps to the
// byte position target. It fails with a *BranchRangeError when the target is out
// of the branch's reach and with an *EncodeError when pos holds no branch.
func (b *Buf) PatchBranch(pos, target int) error {
	i, ok := b.At(pos)
	if !ok {
		return &EncodeError{Op: "patch", Reason: "position does not hold an emitted instruction"}
	}
	ni, err := SetBranchOffset(i, int64(target)-int64(pos))
	if err != nil {
		return err
	}
	b.Set(pos, ni)
	return nil
}

// Seq is a short instruction sequence returned without allocating (MovImm).
type Seq struct {
	n     uint8
	insts [4]Inst
	err   error // first error of addE (internal sequences)
}

// Insts returns the instructions of s.
func (s *Seq) Insts() []Inst { return s.insts[:s.n] }

// Len is the number of instructions in s.
func (s Seq) Len() int { return int(s.n) }

func (s *Seq) add(i Inst) {
	s.insts[s.n] = i
	s.n++
}

func appendWord(b []byte, i Inst) []byte { return binary.LittleEndian.AppendUint32(b, uint32(i)) }

func putWord(b []byte, i Inst) { binary.LittleEndian.PutUint32(b, uint32(i)) }
