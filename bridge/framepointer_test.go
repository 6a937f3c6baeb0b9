//go:build linux && (amd64 || arm64)

package bridge_test

import (
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/bridge/internal/leafcall"
)

// progReadFP returns the frame pointer its caller saved in its frame record: the frame
// pointer of the caller's caller. Called through leafcall.CallFP from a Go function, that
// is the Go function's own frame, alive while it walks the chain (CallFP's own record,
// in the register, is popped as soon as CallFP returns, and an asynchronous preemption
// may overwrite it before the walk).
func progReadFP() []byte {
	if runtime.GOARCH == "arm64" {
		return []byte{0xa0, 0x03, 0x40, 0xf9, 0xc0, 0x03, 0x5f, 0xd6} // ldr x0, [x29]; ret
	}
	return []byte{0x48, 0x8b, 0x45, 0x00, 0xc3} // mov rax, [rbp]; ret
}

// walkFrames follows the frame-pointer chain from fp and returns the
// return addresses it finds. It calls nothing while walking: a call could
// move the stack under it.
//
//go:nocheckptr
//go:nosplit
func walkFrames(fp unsafe.Pointer, pcs *[32]uintptr) int {
	n := 0
	for fp != nil && n < len(pcs) {
		pcs[n] = *(*uintptr)(unsafe.Add(fp, 8))
		next := *(*unsafe.Pointer)(fp)
		if uintptr(next) <= uintptr(fp) { // the chain must run towards older frames
			break
		}
		fp = next
		n++
	}
	return n
}

// TestFramePointerChainThroughGate: inside a helper the frame-pointer chain
// (what the execution tracer and frame-pointer profilers follow) runs
// through gate and enter into Run, the test and its caller.
func TestFramePointerChainThroughGate(t *testing.T) {
	readFP := load(t, progReadFP())
	img := load(t, progCallHelper(1))
	var pcs [32]uintptr
	var n int
	var own bool
	h := helpers(t, nil, func(_, _, _, _, _ uint64) uint64 {
		var local uintptr
		fp := leafcall.CallFP(readFP.Entry(), 0) // this function's frame record
		// The record lies in this function's frame, beside its locals (above them on
		// amd64, just below the frame on arm64).
		d := int64(uintptr(fp)) - int64(uintptr(unsafe.Pointer(&local)))
		own = d > -512 && d < 512
		n = walkFrames(fp, &pcs)
		return 0
	})
	if _, err := bridge.Run(img, h, &bridge.Args{}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, pc := range pcs[:n] {
		name := "?"
		if f := runtime.FuncForPC(pc - 1); f != nil {
			name = f.Name()
		}
		names = append(names, name)
	}
	// Run is inlined into the test: FuncForPC names the test's own frame
	// after it. The chain must go on into the test's caller.
	if !own {
		t.Fatal("the frame pointer the helper saw is not its own frame's")
	}
	want := []string{"bridge.gate", "bridge.enter", "bridge.Run", "testing.tRunner"}
	at := 0
	for _, name := range names {
		if at < len(want) && strings.HasSuffix(name, want[at]) {
			at++
		}
	}
	t.Logf("frame-pointer chain: %s", strings.Join(names, " <- "))
	if at != len(want) {
		t.Fatalf("frame-pointer chain:\n  %s\nwant the sequence %v", strings.Join(names, "\n  "), want)
	}
}
