//go:build !(linux && (amd64 || arm64))

// Package execmem owns every byte of native code the project runs. It is
// implemented for linux/amd64 and linux/arm64 only.
package execmem
