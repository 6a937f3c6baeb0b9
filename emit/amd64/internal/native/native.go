//go:build amd64 && linux

// Package native runs JIT output for the emitter's own tests, before and independently of
// the bridge: it maps code RX, switches to a private stack and calls it with BPF R1–R5.
// It supports no helper calls (the context register points at a table whose gate entry
// is zero, so a helper call would fault): tests use it only for helper-free programs.
// Production code runs through package bridge.
package native

import (
	"fmt"
	"syscall"
	"unsafe"
)

// call switches to stack (16-byte aligned top), sets r12 = ctx, loads args into rdi, rsi,
// rdx, rcx, r8 and calls code. Implemented in native_amd64.s.
//
//go:noescape
func call(code, stack uintptr, args *[5]uint64, ctx uintptr) uint64

// StackSize is the private stack of one Run: 8 frames of 512 bytes plus saves, with room.
const StackSize = 64 << 10

// Code is executable memory holding one compiled program.
type Code struct {
	mem []byte
}

// Load copies code into a fresh RX mapping.
func Load(code []byte) (*Code, error) {
	n := (len(code) + 4095) &^ 4095
	if n == 0 {
		n = 4096
	}
	mem, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil, err
	}
	copy(mem, code)
	if err := syscall.Mprotect(mem, syscall.PROT_READ|syscall.PROT_EXEC); err != nil {
		syscall.Munmap(mem)
		return nil, err
	}
	return &Code{mem: mem}, nil
}

// Close unmaps the code.
func (c *Code) Close() error {
	if c.mem == nil {
		return fmt.Errorf("native: already closed")
	}
	err := syscall.Munmap(c.mem)
	c.mem = nil
	return err
}

var ctxTable [64]uint64 // gate entry 0: helper calls are not supported here

// Run calls the code with R1–R5 = args on a fresh private stack and returns R0.
// Memory the arguments point to must not live on a goroutine stack (see Heap).
func (c *Code) Run(args [5]uint64) uint64 {
	stack := make([]uint64, StackSize/8)
	Heap(unsafe.Pointer(&stack[0])) // a goroutine-stack buffer could move under us
	top := uintptr(unsafe.Pointer(&stack[len(stack)-1])) &^ 15
	return call(uintptr(unsafe.Pointer(&c.mem[0])), top, &args, uintptr(unsafe.Pointer(&ctxTable)))
}

var sink struct {
	on bool
	p  unsafe.Pointer
}

// Heap makes the compiler allocate what p points to on the heap: goroutine stacks move
// when they grow, heap objects do not, and native code holds raw addresses.
//
//go:noinline
func Heap(p unsafe.Pointer) {
	if sink.on { // never true; the store is what escape analysis sees
		sink.p = p
	}
}
