//go:build !(linux && (amd64 || arm64))

package bpfjit

import "github.com/bpfjit/bpfjit/emit"

// backend returns nil where no lowering exists.
func backend() emit.Backend { return nil }
