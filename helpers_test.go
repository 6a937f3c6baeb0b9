//go:build linux && (amd64 || arm64)

package bpfjit_test

import (
	"errors"
	"testing"

	"github.com/bpfjit/bpfjit"
	"github.com/bpfjit/bpfjit/verifier"
)

// A host helper registered with its prototype is callable from verified programs; the
// verifier checks the calls against that prototype.
func TestWithHelperPrototypeReachesVerifier(t *testing.T) {
	const id = 1000
	triple := func(r1, _, _, _, _ uint64) uint64 { return 3 * r1 }
	scalarProto := &verifier.HelperProto{Name: "triple", Args: [5]verifier.ArgType{verifier.ArgScalar}}
	memProto := &verifier.HelperProto{Name: "sum", Args: [5]verifier.ArgType{verifier.ArgMem, verifier.ArgSize}}
	const callTriple = "mov %r1, 14\ncall 1000\nexit"
	tests := []struct {
		name    string
		text    string
		opts    []bpfjit.Option
		want    uint64
		wantErr error // nil: loads and returns want
	}{
		{"prototype given: verified and run", callTriple,
			[]bpfjit.Option{bpfjit.WithHelper(id, triple, scalarProto)}, 42, nil},
		{"no prototype: unknown to the verifier", callTriple,
			[]bpfjit.Option{bpfjit.WithHelpers(map[int32]bpfjit.Helper{id: triple})}, 0, verifier.ErrHelper},
		{"no prototype, unverified: runs", callTriple,
			[]bpfjit.Option{bpfjit.Unverified(), bpfjit.WithHelpers(map[int32]bpfjit.Helper{id: triple})}, 42, nil},
		{"arguments checked against the prototype", callTriple, // r1 is a scalar, not memory
			[]bpfjit.Option{bpfjit.WithHelper(id, triple, memProto)}, 0, verifier.ErrHelper},
		{"WithHelper's prototype wins over WithVerifier's", callTriple,
			[]bpfjit.Option{bpfjit.WithHelper(id, triple, scalarProto),
				bpfjit.WithVerifier(verifier.Options{Helpers: map[int32]*verifier.HelperProto{id: memProto}})}, 42, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := bpfjit.LoadInstructions(mustAssemble(t, tc.text), tc.opts...)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Load: %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			got, err := p.Run(nil)
			if err != nil || got != tc.want {
				t.Fatalf("Run = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
}

// WithHelper never writes into the Options.Helpers map the caller gave WithVerifier.
func TestWithHelperLeavesCallerMapAlone(t *testing.T) {
	mine := map[int32]*verifier.HelperProto{}
	p, err := bpfjit.LoadInstructions(mustAssemble(t, "call 1000\nexit"),
		bpfjit.WithVerifier(verifier.Options{Helpers: mine}),
		bpfjit.WithHelper(1000, func(_, _, _, _, _ uint64) uint64 { return 7 }, &verifier.HelperProto{Name: "seven"}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got, err := p.Run(nil); err != nil || got != 7 {
		t.Fatalf("Run = %d, %v; want 7", got, err)
	}
	if len(mine) != 0 {
		t.Fatalf("caller's map modified: %v", mine)
	}
}
