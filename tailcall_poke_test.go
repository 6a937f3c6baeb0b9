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

// fakeFramed is a slot program with a frame set-up and a body address (framed).
type fakeFramed struct {
	entry uintptr
	setup []byte
	body  uint64
}

func (p fakeFramed) TailCallEntry() uintptr      { return p.entry }
func (p fakeFramed) frameBody() ([]byte, uint64) { return p.setup, p.body }
func sameSetup(caller, target []byte) bool       { return string(caller) == string(target) }

// A site with a frame word jumps from it to the body of a program whose frame fits (the
// target word is then left alone) and otherwise leaves it a nop, on to the target word,
// which is written first; an empty slot or an unreachable target changes only the bypass,
// and a filled slot's bypass is the site's own Fill word.
func TestPokeSiteFrameWord(t *testing.T) {
	if runtime.GOOS != "linux" || (runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64") {
		t.Skip("no executable memory on", runtime.GOOS, runtime.GOARCH)
	}
	const bypass, frame, target, indirect, out = 0, 8, 16, 24, 32
	code := make([]byte, 40)
	binary.LittleEndian.PutUint64(code[frame:], nopWord)
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
	caller := []byte{1, 2, 3}
	const fillWord = 0x51 // the site's own filled bypass (TailCallSite.Fill)
	s := &pokeSite{img: img, enc: fakeEnc{reach: 1 << 32}, bypass: toIndirect, fits: sameSetup, setup: caller,
		site: emit.TailCallSite{Bypass: bypass, Frame: frame, Target: target, Out: out, Indirect: indirect, Fill: fillWord}}
	fitA := fakeFramed{uintptr(base + 0x1000), caller, base + 0x1010}
	fitB := fakeFramed{uintptr(base + 0x2000), caller, base + 0x2010}
	other := fakeFramed{uintptr(base + 0x3000), []byte{9}, base + 0x3010}
	farBody := fakeFramed{uintptr(base + 0x4000), caller, base + 1<<40}
	farOther := fakeFramed{uintptr(base + 1<<40), []byte{9}, base + 1<<40 + 0x10}
	plain := fakeTarget(base + 0x5000) // no frame to compare: never fits
	for _, step := range []struct {
		name                  string
		next                  maps.Program
		bypass, frame, target uint64
	}{
		{"fitting: frame word to its body, target word untouched", fitA, fillWord, jumpTag | fitA.body, trapWord},
		{"another fitting one", fitB, fillWord, jumpTag | fitB.body, trapWord},
		{"not fitting: target word, frame word back to the nop", other, fillWord, nopWord, jumpTag | uint64(other.entry)},
		{"fitting again: target word kept", fitA, fillWord, jumpTag | fitA.body, jumpTag | uint64(other.entry)},
		{"emptied: out, words kept", nil, jumpTag | (base + out), jumpTag | fitA.body, jumpTag | uint64(other.entry)},
		{"a program without a frame to compare", plain, fillWord, nopWord, jumpTag | uint64(plain)},
		{"fitting with its body out of reach: through the target word", farBody, fillWord, nopWord, jumpTag | uint64(farBody.entry)},
		{"fitting from out", fitB, fillWord, jumpTag | fitB.body, jumpTag | uint64(farBody.entry)},
		{"not fitting and out of reach: indirect", farOther, jumpTag | (base + indirect), jumpTag | fitB.body, jumpTag | uint64(farBody.entry)},
		{"fitting from indirect", fitA, fillWord, jumpTag | fitA.body, jumpTag | uint64(farBody.entry)},
	} {
		s.Retarget(nil, step.next)
		got := img.Code()
		for _, w := range []struct {
			name string
			off  int
			want uint64
		}{{"bypass", bypass, step.bypass}, {"frame", frame, step.frame}, {"target", target, step.target}} {
			if v := binary.LittleEndian.Uint64(got[w.off:]); v != w.want {
				t.Errorf("%s: %s word %#x, want %#x", step.name, w.name, v, w.want)
			}
		}
		if s.err != nil {
			t.Fatalf("%s: %v", step.name, s.err)
		}
	}
}
