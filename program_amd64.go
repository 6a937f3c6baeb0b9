//go:build linux && amd64

package bpfjit

import (
	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/amd64"
)

func backend() emit.Backend {
	return &amd64.Backend{GateEntryDisp: bridge.CtxGateEntry, ScratchDisp: bridge.CtxScratch}
}
