//go:build amd64 || arm64

// Package leafcall calls small leaf native functions on the goroutine
// stack, for tests of code memory that do not need the bridge. The callee
// may use at most 64 bytes of stack, must preserve the stack pointer (and on
// arm64 x18, x28 and x29), and returns its result in rax / x0.
package leafcall

import "unsafe"

// Call calls the native code at addr with arg in the first argument
// register (rdi / x0) and returns the result register (rax / x0).
func Call(addr uintptr, arg uint64) uint64

// CallFP is Call for code that returns an address on the goroutine stack
// (such as a frame pointer): the result is typed as a pointer so that it is
// adjusted, not left dangling, if the stack moves.
func CallFP(addr uintptr, arg uint64) unsafe.Pointer
