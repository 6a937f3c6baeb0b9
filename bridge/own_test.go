//go:build linux && (amd64 || arm64)

package bridge

import (
	"debug/dwarf"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/bpfjit/bpfjit/execmem"
)

// TestRuntimeLayoutMatchesDWARF derives the runtime offsets runOwn uses
// from the test binary's own debug information and compares them with the
// constants the assembly is built with.
func TestRuntimeLayoutMatchesDWARF(t *testing.T) {
	if !rtLayoutKnown {
		t.Skip("no runtime layout for this Go release: the fast path stays off")
	}
	d := runtimeDWARF(t)
	want := map[string]map[string]uintptr{
		"runtime.g": {"stack": rtGStackLo, "m": rtGM},
		"runtime.m": {"g0": rtMG0, "curg": rtMCurg},
	}
	found := 0
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if e == nil {
			break
		}
		if e.Tag != dwarf.TagStructType {
			continue // compile units and the like: descend
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		fields, ok := want[name]
		if !ok {
			r.SkipChildren()
			continue
		}
		typ, err := d.Type(e.Offset)
		if err != nil {
			t.Fatal(err)
		}
		for _, fl := range typ.(*dwarf.StructType).Field {
			if off, ok := fields[fl.Name]; ok {
				found++
				if uintptr(fl.ByteOffset) != off {
					t.Errorf("%s.%s at %d in DWARF, the assembly uses %d", name, fl.Name, fl.ByteOffset, off)
				}
			}
		}
		r.SkipChildren()
	}
	if found != 4 {
		t.Fatalf("found %d of the 4 runtime fields in DWARF", found)
	}
}

// TestRuntimeLayoutValidation: the built layout passes the run-time check
// on this runtime, and a layout off in any field that is compared rather
// than followed fails it.
func TestRuntimeLayoutValidation(t *testing.T) {
	if !rtLayoutKnown {
		t.Skip("no runtime layout for this Go release")
	}
	tests := []struct {
		name   string
		layout func(l *rtLayout)
		want   bool
	}{
		{"built layout", func(*rtLayout) {}, true},
		{"m.curg wrong", func(l *rtLayout) { l.mCurg += 8 }, false},
		{"g.stack wrong", func(l *rtLayout) { l.gStackLo, l.gStackHi = l.gStackHi, l.gStackLo }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := builtLayout
			tt.layout(&l)
			if got := validateRuntimeLayout(l, 3); got != tt.want {
				t.Errorf("validation = %v, want %v", got, tt.want)
			}
		})
	}
}

// Minimal images for the fast path, per architecture: return R1, and call
// helper 7 through the Context (the documented sequences in doc.go).
var ownTestCode = map[string]struct{ returnArg, callHelper7 []byte }{
	"amd64": {
		returnArg:   []byte{0x48, 0x89, 0xf8, 0xc3},                                     // mov rax, rdi; ret
		callHelper7: []byte{0x41, 0xbb, 7, 0, 0, 0, 0x41, 0xff, 0x54, 0x24, 0x28, 0xc3}, // mov r11d, 7; call [r12+0x28]; ret
	},
	"arm64": {
		returnArg:   []byte{0xc0, 0x03, 0x5f, 0xd6}, // ret
		callHelper7: []byte{0xe9, 0x00, 0x80, 0x52, 0xf0, 0x16, 0x40, 0xf9, 0x00, 0x02, 0x3f, 0xd6, 0xc0, 0x03, 0x5f, 0xd6},
	},
}

// ownEntries is the number of runs entered on own machines.
func ownEntries() (n uint64) {
	for i := range ownTab {
		if c := ownTab[i].Load(); c != &noOwn {
			n += atomic.LoadUint64((*uint64)(unsafe.Pointer(&c.runner)))
		}
	}
	return n
}

// TestRunOwnOutcomes: once a helper-less Run has given an M its own
// machine, the fast path is on (this runtime's layout validates), and Run
// without helpers on that M runs on its machine (one entry each), refuses
// retired images and reports a helper call as an unknown helper with its
// id, leaving the Context's status clear; runs with helpers, of an empty
// table and of a nil image take the other paths.
func TestRunOwnOutcomes(t *testing.T) {
	if raceEnabled || !rtLayoutKnown {
		t.Skip("the fast path is off in race builds and on unknown runtimes")
	}
	arena := execmem.New(execmem.Options{})
	code := ownTestCode[runtime.GOARCH]
	load := func(b []byte) *execmem.Image {
		img, err := arena.Load(b)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	ret, call, retired := load(code.returnArg), load(code.callHelper7), load(code.returnArg)
	arena.Retire(retired)
	// lockOwnM locks the calling goroutine to its M and makes sure the M
	// has its own machine: the first helper-less run installs it, unless
	// another M holds the slot.
	lockOwnM := func(t *testing.T) {
		runtime.LockOSThread()
		t.Cleanup(runtime.UnlockOSThread)
		if _, err := Run(ret, nil, &Args{}); err != nil {
			t.Fatal(err)
		}
		if !ownValid.Load() {
			t.Fatal("the runtime layout did not validate on the runtime it was written for")
		}
		if c := ownSlot(curM()).Load(); c.ownerM != curM() {
			t.Skip("this M's slot belongs to another M")
		}
	}
	empty, err := NewHelpers(nil)
	if err != nil {
		t.Fatal(err)
	}
	seven, err := NewHelpers(make([]Helper, 8))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		img     *execmem.Image
		h       *Helpers
		r0      uint64
		err     error
		onOwn   bool // entered on an own machine
		errType bool // err is an *UnknownHelperError with ID 7
	}{
		{"ran", ret, nil, 42, nil, true, false},
		{"empty table", ret, empty, 42, nil, true, false},
		{"retired", retired, nil, 0, ErrRetired, true, false},
		{"unknown helper", call, nil, 0, nil, true, true},
		{"ran after an unknown helper", ret, nil, 43, nil, true, false},
		{"with helpers", call, seven, 0, nil, false, true},
		{"nil image", nil, nil, 0, ErrNilImage, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lockOwnM(t)
			before := ownEntries()
			r0, err := Run(tt.img, tt.h, &Args{tt.r0, 2, 3, 4, 5})
			entered := ownEntries() - before
			var ue *UnknownHelperError
			switch {
			case tt.errType:
				if !errors.As(err, &ue) || ue.ID != 7 {
					t.Errorf("Run = %d, %v, want an UnknownHelperError for id 7", r0, err)
				}
			case r0 != tt.r0 || err != tt.err:
				t.Errorf("Run = %d, %v, want %d, %v", r0, err, tt.r0, tt.err)
			}
			if want := map[bool]uint64{true: 1}[tt.onOwn]; entered != want {
				t.Errorf("%d entries on own machines, want %d", entered, want)
			}
			for i := range ownTab {
				if c := ownTab[i].Load(); c.status != 0 {
					t.Errorf("status %d left in slot %d's Context", c.status, i)
				}
			}
		})
	}
}

// runtimeDWARF returns debug information describing this runtime: the test
// binary's own if it has any (go test -c keeps it; go test strips it),
// otherwise that of an empty program built with the same toolchain for the
// same architecture.
func runtimeDWARF(t *testing.T) *dwarf.Data {
	// os.Args[0] first: under qemu-user, os.Executable can name the
	// emulator rather than the test binary.
	exe, _ := os.Executable()
	for _, path := range []string{os.Args[0], exe} {
		if d, err := fileDWARF(path); err == nil {
			return d
		}
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	dir := t.TempDir()
	for name, text := range map[string]string{"go.mod": "module empty\n", "main.go": "package main\n\nfunc main() {}\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(goTool, "build", "-o", "empty", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("no DWARF in the test binary and no toolchain to build one (%v): %s", err, out)
	}
	d, err := fileDWARF(filepath.Join(dir, "empty"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func fileDWARF(path string) (*dwarf.Data, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.DWARF()
}

// TestRunWhenEveryOwnSlotIsTaken: an M whose slot another M holds (here:
// every slot, held by an M that does not exist) still runs helper-less
// code correctly, on the pinned path, and installs nothing.
func TestRunWhenEveryOwnSlotIsTaken(t *testing.T) {
	if raceEnabled {
		t.Skip("race builds never use own machines")
	}
	img, err := execmem.New(execmem.Options{}).Load(ownTestCode[runtime.GOARCH].returnArg)
	if err != nil {
		t.Fatal(err)
	}
	foreign := &Context{ownerM: 1} // no M lives at address 1
	var saved [ownSlots]*Context
	for i := range ownTab {
		saved[i] = ownTab[i].Swap(foreign)
	}
	defer func() {
		for i := range ownTab {
			ownTab[i].Store(saved[i])
		}
	}()
	for i := range uint64(100) {
		if r0, err := Run(img, nil, &Args{i}); err != nil || r0 != i {
			t.Fatalf("Run = %d, %v; want %d", r0, err, i)
		}
	}
	for i := range ownTab {
		if c := ownTab[i].Load(); c != foreign {
			t.Fatalf("slot %d replaced although another M held it", i)
		}
	}
	if entries := atomic.LoadUint64((*uint64)(unsafe.Pointer(&foreign.runner))); entries != 0 {
		t.Errorf("%d runs used a Context their M does not own", entries)
	}
}
