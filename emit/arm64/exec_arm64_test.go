//go:build arm64 && linux

package arm64

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

// These tests run encoded code on an arm64 CPU (real, or qemu-aarch64 under
// GOARCH=arm64 go test -exec qemu-aarch64-static). The code is entered as an
// ordinary Go function value: Go's arm64 ABIInternal passes integer arguments
// in x0..x15 and returns in x0, and treats every general register as
// clobbered except x18, x28 (g), x29 (frame pointer), sp and x30 (return
// address); the snippets only use x0-x17 and return with ret.

type code struct {
	mem []byte
}

// load maps b read+write, copies it and flips the mapping to read+exec (W^X),
// which also makes the kernel (and qemu) see the new instructions.
func load(t *testing.T, b []byte) *code {
	t.Helper()
	size := (len(b) + 0xffff) &^ 0xffff
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	copy(mem, b)
	if err := syscall.Mprotect(mem, syscall.PROT_READ|syscall.PROT_EXEC); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	c := &code{mem: mem}
	t.Cleanup(func() { syscall.Munmap(mem) })
	return c
}

type fn2 func(a, b uint64) uint64

// at returns the code at byte offset off as a callable Go function.
func (c *code) at(off int) fn2 {
	fv := &struct{ pc uintptr }{uintptr(unsafe.Pointer(&c.mem[off]))}
	p := unsafe.Pointer(fv)
	return *(*fn2)(unsafe.Pointer(&p))
}

func mustBuf(t *testing.T, b *Buf) []byte {
	t.Helper()
	if b.Err() != nil {
		t.Fatal(b.Err())
	}
	return b.Bytes()
}

func TestExecMovImm(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	vs := interestingConstants(r, 4000)
	const slot = 32 // up to 4 movs + ret fit in 20 bytes
	b := NewBuf(slot * len(vs) * 2)
	for _, v := range vs {
		for _, w := range []Width{W64, W32} {
			start := b.Len()
			v := v
			if w == W32 {
				v &= 0xffffffff
			}
			b.Emit(MoveWide(MOVN, W64, X0, 0, 0)) // all ones: a W32 result must clear the upper half
			b.EmitSeq(MovImm(w, X0, v))
			b.Emit(Ret(LR))
			for b.Len() < start+slot {
				b.Emit(Brk(1))
			}
		}
	}
	c := load(t, mustBuf(t, b))
	for i, v := range vs {
		if got := c.at(2*i*slot)(0, 0); got != v {
			t.Errorf("MovImm(W64, %#x) runs to %#x", v, got)
		}
		if got := c.at((2*i+1)*slot)(0, 0); got != v&0xffffffff {
			t.Errorf("MovImm(W32, %#x) runs to %#x", v&0xffffffff, got)
		}
	}
}

// TestExecSemantics runs one-instruction kernels on the CPU and checks the edge
// behaviour the BPF lowering relies on.
func TestExecSemantics(t *testing.T) {
	cases := []struct {
		name string
		ins  []enc
		a, b uint64
		want uint64
	}{
		{"udiv by zero is 0", []enc{e(DP2(UDIV, W64, X0, X0, X1))}, 7, 0, 0},
		{"sdiv min/-1 is min", []enc{e(DP2(SDIV, W64, X0, X0, X1))}, 1 << 63, math.MaxUint64, 1 << 63},
		{"udiv w32 zero-extends", []enc{e(DP2(UDIV, W32, X0, X0, X1))}, 0xffffffff_00000009, 2, 4},
		{"msub gives remainder", []enc{e(DP2(UDIV, W64, X2, X0, X1)), e(Msub(W64, X0, X2, X1, X0))}, 17, 5, 2},
		{"lslv masks the count", []enc{e(DP2(LSLV, W64, X0, X0, X1))}, 1, 65, 2},
		{"lsrv w32 masks the count", []enc{e(DP2(LSRV, W32, X0, X0, X1))}, 0x80000000, 33, 0x40000000},
		{"asrv", []enc{e(DP2(ASRV, W64, X0, X0, X1))}, 1 << 63, 63, math.MaxUint64},
		{"asr imm w32 zero-extends", []enc{e(AsrImm(W32, X0, X0, 4))}, 0x80000000, 0, 0x0f8000000},
		{"lsl imm", []enc{e(LslImm(W64, X0, X0, 60))}, 0x1f, 0, 0xf000000000000000},
		{"rev", []enc{e(DP1(REV, W64, X0, X0))}, 0x0102030405060708, 0, 0x0807060504030201},
		{"rev w32", []enc{e(DP1(REV, W32, X0, X0))}, 0xaaaa_bbbb_01020304, 0, 0x04030201},
		{"rev16 + uxth", []enc{e(DP1(REV16, W32, X0, X0)), e(Uxth(X0, X0))}, 0x11223344, 0, 0x4433},
		{"sxtb", []enc{e(Sxtb(W64, X0, X0))}, 0x80, 0, 0xffffffffffffff80},
		{"sxtw", []enc{e(Sxtw(X0, X0))}, 0x80000000, 0, 0xffffffff80000000},
		{"uxtb", []enc{e(Uxtb(X0, X0))}, 0x1ff, 0, 0xff},
		{"mov w32 zero-extends", []enc{e(Mov(W32, X0, X1))}, 0, 0xdeadbeef_12345678, 0x12345678},
		{"add shifted", []enc{e(AddSubShifted(ADD, W64, X0, X0, X1, LSL, 4))}, 1, 2, 33},
		{"sub imm lsl12", []enc{e(AddSubImm(SUB, W64, X0, X0, 0x5000))}, 0x5001, 0, 1},
		{"and imm", []enc{e(LogicImm(AND, W64, X0, X0, 0x00ff00ff00ff00ff))}, math.MaxUint64, 0, 0x00ff00ff00ff00ff},
		{"bic", []enc{e(LogicReg(BIC, W64, X0, X0, X1))}, 0xff, 0x0f, 0xf0},
		{"cset lo", []enc{e(CmpReg(W64, X0, X1)), e(Cset(W64, X0, LO))}, 1, 2, 1},
		{"cset gt signed", []enc{e(CmpReg(W64, X0, X1)), e(Cset(W64, X0, GT))}, math.MaxUint64, 2, 0},
		{"csel", []enc{e(CmpImm(W64, X0, 5)), e(Csel(W64, X0, X0, X1, HI))}, 9, 3, 9},
		{"tst + cset ne", []enc{e(TstImm(W64, X0, 0x10)), e(Cset(W32, X0, NE))}, 0x30, 0, 1},
		{"stp/ldp round trip", []enc{
			e(Stp(W64, PairPreIndex, X0, X1, SP, -16)),
			e(Ldp(W64, PairPostIndex, X2, X3, SP, 16)),
			e(AddSubReg(SUB, W64, X0, X2, X3)),
		}, 10, 3, 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := NewBuf(64)
			for _, i := range c.ins {
				b.Emit(i.inst, i.err)
			}
			b.Emit(Ret(LR))
			if got := load(t, mustBuf(t, b)).at(0)(c.a, c.b); got != c.want {
				t.Errorf("(%#x, %#x) = %#x, want %#x", c.a, c.b, got, c.want)
			}
		})
	}
}

// TestExecAtomics runs each LSE atomic and the equivalent exclusive-monitor loop
// on a Go heap word: x0 = address, x1 = operand; the kernel returns the old
// value.
func TestExecAtomics(t *testing.T) {
	type tc struct {
		name      string
		op        AtomicOp
		w         Width
		mem, arg  uint64
		wantMem   uint64
		exclusive func(b *Buf) // the same operation as an ldaxr/stlxr loop: x2 = old
	}
	loop := func(w Width, body func(b *Buf)) func(b *Buf) {
		return func(b *Buf) {
			b.Emit(Ldaxr(w, X2, X0))
			body(b) // x3 = new value from x2 and x1
			b.Emit(Stlxr(w, X4, X3, X0))
			b.Emit(Cbz(true, W32, X4, -12))
		}
	}
	cases := []tc{
		{"add", LDADD, W64, 40, 2, 42, loop(W64, func(b *Buf) { b.Emit(AddSubReg(ADD, W64, X3, X2, X1)) })},
		{"add w32 wraps", LDADD, W32, 0xffffffff, 1, 0, loop(W32, func(b *Buf) { b.Emit(AddSubReg(ADD, W32, X3, X2, X1)) })},
		{"clr (and not)", LDCLR, W64, 0xff, 0x0f, 0xf0, loop(W64, func(b *Buf) { b.Emit(LogicReg(BIC, W64, X3, X2, X1)) })},
		{"eor", LDEOR, W64, 0xff, 0x0f, 0xf0, loop(W64, func(b *Buf) { b.Emit(LogicReg(EOR, W64, X3, X2, X1)) })},
		{"set (or)", LDSET, W32, 0xf0, 0x0f, 0xff, loop(W32, func(b *Buf) { b.Emit(LogicReg(ORR, W32, X3, X2, X1)) })},
		{"swap", SWP, W64, 1, 2, 2, loop(W64, func(b *Buf) { b.Emit(Mov(W64, X3, X1)) })},
	}
	for _, c := range cases {
		for _, exclusive := range []bool{false, true} {
			name := c.name + "/lse"
			if exclusive {
				name = c.name + "/exclusive"
			}
			t.Run(name, func(t *testing.T) {
				b := NewBuf(64)
				if exclusive {
					c.exclusive(b)
					b.Emit(Mov(W64, X0, X2))
				} else {
					b.Emit(Atomic(c.op, c.w, X1, X0, X0))
				}
				b.Emit(Ret(LR))
				f := load(t, mustBuf(t, b)).at(0)
				word := make([]byte, 8)
				binary.LittleEndian.PutUint64(word, c.mem)
				old := f(addrOf(word), c.arg)
				runtime.KeepAlive(word)
				if got := binary.LittleEndian.Uint64(word); old != c.mem || got != c.wantMem {
					t.Errorf("old %#x mem %#x, want old %#x mem %#x", old, got, c.mem, c.wantMem)
				}
			})
		}
	}
	t.Run("casal", func(t *testing.T) {
		b := NewBuf(16)
		b.Emit(Mov(W64, X2, X0))
		b.Emit(Mov(W64, X0, X1)) // expected value in, old value out
		b.Emit(MoveWide(MOVZ, W64, X3, 99, 0))
		b.Emit(Casal(W64, X0, X3, X2))
		b.Emit(Ret(LR))
		f := load(t, mustBuf(t, b)).at(0)
		word := make([]byte, 8)
		word[0] = 5
		if old := f(addrOf(word), 4); old != 5 || word[0] != 5 {
			t.Errorf("failed compare: old %d mem %d, want 5 5", old, word[0])
		}
		if old := f(addrOf(word), 5); old != 5 || word[0] != 99 {
			t.Errorf("successful compare: old %d mem %d, want 5 99", old, word[0])
		}
		runtime.KeepAlive(word)
	})
}

// TestExecConditionalBranchOverOneMiB runs code whose conditional branch
// crosses more than 1 MiB of instructions, using BCondFar.
func TestExecConditionalBranchOverOneMiB(t *testing.T) {
	const fill = (1<<20)/4 + 4096
	b := NewBuf(4 * (fill + 16))
	b.Emit(Mov(W64, X2, X0))
	b.Emit(MoveWide(MOVZ, W64, X0, 0, 0))
	b.Emit(CmpImm(W64, X2, 0))
	at := b.Len()
	b.EmitSeq(BCondFar(EQ, 8)) // patched below
	for i := 0; i < fill; i++ {
		b.Emit(AddSubImm(ADD, W64, X0, X0, 1))
	}
	b.Emit(Ret(LR)) // x0 = fill on the fall-through path
	target := b.Len()
	b.Emit(MoveWide(MOVN, W64, X0, 0, 0))
	b.Emit(Ret(LR)) // x0 = -1 when the branch is taken
	seq, err := BCondFar(EQ, int64(target-at))
	if err != nil {
		t.Fatal(err)
	}
	for k, i := range seq.Insts() {
		b.Set(at+4*k, i)
	}
	if BCondOK(int64(target - at)) {
		t.Fatalf("test does not exceed b.cond's reach: %d bytes", target-at)
	}
	f := load(t, mustBuf(t, b)).at(0)
	if got := f(0, 0); got != math.MaxUint64 {
		t.Errorf("taken: x0 = %#x, want -1", got)
	}
	if got := f(1, 0); got != fill {
		t.Errorf("not taken: x0 = %d, want %d", got, fill)
	}
}

// TestExecCacheMaintenance runs the code-patching sequence (dc cvau, dsb ish,
// ic ivau, dsb ish, isb) and reads CTR_EL0, so the encodings are known to be
// permitted at EL0.
func TestExecCacheMaintenance(t *testing.T) {
	b := NewBuf(64)
	b.Emit(MrsCtrEl0(X1))
	b.Emit(DcCvau(X0))
	b.Emit(DsbIsh())
	b.Emit(IcIvau(X0))
	b.Emit(DsbIsh())
	b.Emit(Isb())
	b.Emit(DmbIsh())
	b.Emit(Mov(W64, X0, X1))
	b.Emit(Ret(LR))
	c := load(t, mustBuf(t, b))
	ctr := c.at(0)(uint64(uintptr(unsafe.Pointer(&c.mem[0]))), 0)
	dline := 4 << (ctr >> 16 & 15)
	iline := 4 << (ctr & 15)
	if dline < 16 || iline < 16 {
		t.Errorf("CTR_EL0 %#x gives line sizes d=%d i=%d", ctr, dline, iline)
	}
}
