package arm64

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestBufKeepsFirstErrorWithPosition(t *testing.T) {
	b := NewBuf(64)
	b.Emit(Nop())
	b.Emit(AddSubImm(ADD, W64, X0, X1, 1))
	b.Emit(AddSubImm(ADD, W64, X0, X1, 0x1001)) // fails at +8
	b.Emit(Nop())
	b.EmitSeq(MovImm(W32, X0, 1<<40)) // a second failure is not reported
	var pe *PosError
	if !errors.As(b.Err(), &pe) || pe.Pos != 8 {
		t.Fatalf("Err() = %v, want *PosError at +8", b.Err())
	}
	if !isEncodeError(b.Err()) {
		t.Errorf("Err() does not unwrap to *EncodeError: %v", b.Err())
	}
	if b.Len() != 8 {
		t.Errorf("Len() = %d after the failure, want 8 (nothing emitted after an error)", b.Len())
	}
	b.Reset()
	if b.Err() != nil || b.Len() != 0 {
		t.Errorf("Reset left err=%v len=%d", b.Err(), b.Len())
	}
}

func TestBufEmitsLittleEndianWords(t *testing.T) {
	b := NewBuf(0)
	b.Emit(Mov(W64, X9, LR))
	b.EmitSeq(MovImm(W64, X1, 0x123456789abcdef0))
	b.Emit(Ret(LR))
	if b.Err() != nil {
		t.Fatal(b.Err())
	}
	if b.Len() != 24 {
		t.Fatalf("Len() = %d, want 24", b.Len())
	}
	if got := binary.LittleEndian.Uint32(b.Bytes()); got != 0xaa1e03e9 {
		t.Errorf("first word %#08x, want mov x9, x30 (0xaa1e03e9)", got)
	}
	if i, ok := b.At(20); !ok || i != InstRet {
		t.Errorf("At(20) = %#08x, %v; want ret", uint32(i), ok)
	}
	for _, pos := range []int{-4, 2, 24} {
		if _, ok := b.At(pos); ok {
			t.Errorf("At(%d) succeeded outside the emitted code", pos)
		}
		if b.Set(pos, InstNop) {
			t.Errorf("Set(%d) succeeded outside the emitted code", pos)
		}
	}
}

func TestPatchableEntry(t *testing.T) {
	e := PatchableEntry()
	if e[0] != 0xaa1e03e9 || e[1] != InstNop {
		t.Errorf("PatchableEntry() = %#08x, want mov x9, x30; nop", e)
	}
}

// TestPatchBranchRewritesEveryPCRelativeForm emits each pc-relative form with a
// placeholder offset, patches it to a target both forward and backward, and
// reads the offset back.
func TestPatchBranchRewritesEveryPCRelativeForm(t *testing.T) {
	forms := []struct {
		name string
		got  enc
		kind BranchKind
	}{
		{"b", e(B(0)), KindB},
		{"bl", e(BL(0)), KindB},
		{"b.cond", e(BCond(LE, 0)), KindBCond},
		{"cbz", e(Cbz(false, W64, X3, 0)), KindCB},
		{"cbnz", e(Cbz(true, W32, X3, 0)), KindCB},
		{"tbnz", e(Tbz(true, X3, 40, 0)), KindTB},
		{"adr", e(Adr(X3, 0)), KindAdr},
		{"ldr literal", e(LdrLiteral(X3, 0)), KindLdrLit},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			if f.got.inst.Kind() != f.kind {
				t.Fatalf("Kind() = %v, want %v", f.got.inst.Kind(), f.kind)
			}
			b := NewBuf(0)
			for i := 0; i < 8; i++ {
				b.Emit(Nop())
			}
			b.Emit(f.got.inst, f.got.err)
			for i := 0; i < 8; i++ {
				b.Emit(Nop())
			}
			const at = 32
			for _, target := range []int{0, at, 64, 12} {
				if err := b.PatchBranch(at, target); err != nil {
					t.Fatalf("PatchBranch(%d, %d): %v", at, target, err)
				}
				i, _ := b.At(at)
				if off, ok := BranchOffset(i); !ok || off != int64(target-at) {
					t.Errorf("after patching to %d the offset is %d, want %d", target, off, target-at)
				}
				// Only the offset field may change.
				if back, _ := SetBranchOffset(i, 0); back != f.got.inst {
					t.Errorf("patched word %#08x differs outside the offset field from %#08x", uint32(i), uint32(f.got.inst))
				}
			}
		})
	}
	b := NewBuf(0)
	b.Emit(Nop())
	if err := b.PatchBranch(0, 8); !isEncodeError(err) {
		t.Errorf("patching a nop: err = %v, want *EncodeError", err)
	}
	if err := b.PatchBranch(4, 8); !isEncodeError(err) {
		t.Errorf("patching past the end: err = %v, want *EncodeError", err)
	}
	if NotBranch != Inst(InstNop).Kind() {
		t.Error("nop classified as a branch")
	}
}

// TestConditionalBranchBeyondOneMiB builds code in which a conditional branch
// must cross more than 1 MiB: the short form is refused with a
// *BranchRangeError, and BCondFar's two-instruction form reaches the target.
func TestConditionalBranchBeyondOneMiB(t *testing.T) {
	const fill = (1<<20)/4 + 1000 // just over 1 MiB of instructions
	b := NewBuf(4 * (fill + 8))
	b.Emit(CmpImm(W64, X0, 0))
	branchAt := b.Len()
	b.Emit(BCond(EQ, 8)) // placeholder, patched below
	for i := 0; i < fill; i++ {
		b.Emit(AddSubImm(ADD, W64, X7, X7, 1))
	}
	target := b.Len()
	b.Emit(Ret(LR))
	if b.Err() != nil {
		t.Fatal(b.Err())
	}
	var re *BranchRangeError
	if err := b.PatchBranch(branchAt, target); !errors.As(err, &re) {
		t.Fatalf("short b.eq over %d bytes: err = %v, want *BranchRangeError", target-branchAt, err)
	}

	// Re-emit with the long form, as a lowering does after a range error.
	far := NewBuf(4 * (fill + 8))
	far.Emit(CmpImm(W64, X0, 0))
	at := far.Len()
	far.EmitSeq(BCondFar(EQ, 8)) // placeholder
	for i := 0; i < fill; i++ {
		far.Emit(AddSubImm(ADD, W64, X7, X7, 1))
	}
	tgt := far.Len()
	far.Emit(Ret(LR))
	seq, err := BCondFar(EQ, int64(tgt-at))
	if err != nil {
		t.Fatal(err)
	}
	for k, i := range seq.Insts() {
		far.Set(at+4*k, i)
	}
	skip, _ := far.At(at)
	jump, _ := far.At(at + 4)
	if skip.Kind() != KindBCond || Cond(uint32(skip)&15) != NE {
		t.Errorf("first instruction %#08x is not b.ne", uint32(skip))
	}
	if off, _ := BranchOffset(skip); off != 8 {
		t.Errorf("b.ne skips %d bytes, want 8", off)
	}
	if off, _ := BranchOffset(jump); jump.Kind() != KindB || at+4+int(off) != tgt {
		t.Errorf("b lands at %d, want %d", at+4+int(off), tgt)
	}
	if _, err := BCondFar(EQ, BMax+8); !errors.As(err, &re) {
		t.Errorf("BCondFar beyond b's reach: err = %v, want *BranchRangeError", err)
	}
}
