//go:build !(386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm)

package isa

// littleEndian is false on hosts that are not known to be little-endian: Shape.Scan
// assembles a slot's first eight bytes from its fields.
const littleEndian = false
