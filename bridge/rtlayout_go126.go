//go:build linux && (amd64 || arm64) && go1.26 && !go1.27

package bridge

// Offsets of the runtime fields runOwn reads to find the current M (g.m)
// and those validateRuntimeLayout checks it against, for the Go release
// this file is built with (the same on amd64 and arm64;
// TestRuntimeLayoutMatchesDWARF checks them against the binary's own debug
// information). validateRuntimeLayout checks them at run time before
// runOwn is ever used; any other release leaves the fast path off.
const (
	rtLayoutKnown = true

	rtGStackLo = 0   // g.stack.lo
	rtGStackHi = 8   // g.stack.hi
	rtGM       = 48  // g.m
	rtMG0      = 0   // m.g0
	rtMCurg    = 184 // m.curg
)
