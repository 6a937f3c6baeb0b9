//go:build linux && (amd64 || arm64) && !(go1.26 && !go1.27)

package bridge

// A Go release whose runtime layout this package has not been checked
// against: runOwn is never used (the assembly still needs the constants).
const (
	rtLayoutKnown = false

	rtGStackLo = 0
	rtGStackHi = 0
	rtGM       = 0
	rtMG0      = 0
	rtMCurg    = 0
)
