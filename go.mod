module github.com/bpfjit/bpfjit

go 1.26.0

require github.com/cilium/ebpf v0.22.0

require (
	github.com/twitchyliquid64/golang-asm v0.15.1 // indirect
	golang.org/x/arch v0.32.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
