//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm

package isa

// littleEndian is true on little-endian hosts, where Shape.Scan reads a slot's first
// eight bytes with one load.
const littleEndian = true
