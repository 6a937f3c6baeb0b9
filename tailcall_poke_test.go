package bpfjit

import (
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/maps"
)

// fakeEnc is a PokeEncoder with readable words: a jump is jumpTag|destination, within
// reach bytes of its own address.
type fakeEnc struct{ reach uint64 }

const (
	jumpTag  = 1 << 63
	nopWord  = 0x90
	trapWord = 0xdead
)

func (fakeEnc) PokeWordSize() int { return 8 }
func (fakeEnc) PokeNop() uint64   { return nopWord }
func (e fakeEnc) PokeJump(from, to uint64) (uint64, bool) {
	if max(from, to)-min(from, to) > e.reach {
		return 0, false
	}
	return jumpTag | to, true
}

type fakeTarget uintptr

func (t fakeTarget) TailCallEntry() uintptr { return uintptr(t) }

// The poke site's state machine, step by step: the bypass falls through (nop) only while
// the target word jumps to the slot's program, an empty slot or a retired program makes it
// jump out, a target out of reach sends it to the indirect path, and a target word already
// right is not rewritten.
func TestPokeSiteStates(t *testing.T) {
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skip("no executable memory on", runtime.GOOS, runtime.GOARCH)
	}
	const bypass, target, indirect, out = 0, 8, 16, 24
	code := make([]byte, 32)
	binary.LittleEndian.PutUint64(code[target:], trapWord)
	img, err := arena.LoadPatchable(code)
	if err != nil {
		t.Fatal(err)
	}
	defer arena.Retire(img)
	base := uint64(img.Addr())
	if err := img.Patch64(bypass, jumpTag|(base+indirect)); err != nil { // as emitted
		t.Fatal(err)
	}
	s := &pokeSite{img: img, enc: fakeEnc{reach: 1 << 32}, bypass: toIndirect,
		site: emit.TailCallSite{Bypass: bypass, Target: target, Out: out, Indirect: indirect}}
	a, b := fakeTarget(base+0x1000), fakeTarget(base+0x2000)
	far := fakeTarget(base + 1<<40)
	for _, step := range []struct {
		name           string
		next           maps.Program
		bypass, target uint64
	}{
		{"filled", a, nopWord, jumpTag | uint64(a)},
		{"replaced", b, nopWord, jumpTag | uint64(b)},
		{"emptied: out, target kept", nil, jumpTag | (base + out), jumpTag | uint64(b)},
		{"refilled with the same", b, nopWord, jumpTag | uint64(b)},
		{"out of reach: indirect", far, jumpTag | (base + indirect), jumpTag | uint64(b)},
		{"back in reach", a, nopWord, jumpTag | uint64(a)},
		{"a retired program (entry 0): out", fakeTarget(0), jumpTag | (base + out), jumpTag | uint64(a)},
		{"out of reach from out", far, jumpTag | (base + indirect), jumpTag | uint64(a)},
	} {
		s.Retarget(nil, step.next)
		got := img.Code()
		if w := binary.LittleEndian.Uint64(got[bypass:]); w != step.bypass {
			t.Errorf("%s: bypass %#x, want %#x", step.name, w, step.bypass)
		}
		if w := binary.LittleEndian.Uint64(got[target:]); w != step.target {
			t.Errorf("%s: target %#x, want %#x", step.name, w, step.target)
		}
		if s.err != nil {
			t.Fatalf("%s: %v", step.name, s.err)
		}
	}
}
