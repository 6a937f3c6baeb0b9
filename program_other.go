//go:build !(linux && amd64)

package bpfjit

import "github.com/bpfjit/bpfjit/emit"

// backend returns nil where no lowering exists yet (arm64 lowering is being written).
func backend() emit.Backend { return nil }
