//go:build linux && arm64

package bpfjit

import (
	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/emit"
	"github.com/bpfjit/bpfjit/emit/arm64"
)

func backend() emit.Backend { return &arm64.Backend{GateEntryDisp: bridge.CtxGateEntry} }
