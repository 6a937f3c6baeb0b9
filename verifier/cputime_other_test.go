//go:build !linux

package verifier

func cpuSeconds() float64 { return 0 }
