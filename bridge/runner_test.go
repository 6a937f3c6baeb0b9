//go:build linux && (amd64 || arm64)

package bridge_test

import (
	"testing"
	"time"

	"github.com/bpfjit/bpfjit/bridge"
	"github.com/bpfjit/bpfjit/execmem"
)

// TestEveryRunEndsOutside: whichever way a run ends, its runner slot is
// marked outside afterwards, so a grace period started once the runs have
// returned is over at once. enter computes the exit mark before calling
// the image; this pins that the value it writes back is the even one, also
// when the goroutine stack moved while a helper ran and when the image was
// refused as retired.
func TestEveryRunEndsOutside(t *testing.T) {
	grow := helpers(t, nil, nil, func(r1, _, _, _, _ uint64) uint64 { return uint64(recurse(2000)) + r1 })
	retired, err := testArena.Load(progReturnArg())
	if err != nil {
		t.Fatal(err)
	}
	testArena.Retire(retired)
	empty, loop := load(t, progReturnArg()), load(t, progHelperLoop())
	runs := []struct {
		name string
		run  func() error
	}{
		{"no helpers", func() error {
			_, err := bridge.Run(empty, nil, &bridge.Args{1})
			return err
		}},
		{"helper that moves the goroutine stack", func() error {
			done := make(chan error)
			go func() { // a fresh goroutine: small stack, grown by the helper
				_, err := bridge.Run(loop, grow, &bridge.Args{3, 2})
				done <- err
			}()
			return <-done
		}},
		{"retired image", func() error {
			if _, err := bridge.Run(retired, nil, &bridge.Args{}); err != bridge.ErrRetired {
				t.Errorf("Run of a retired image: %v, want ErrRetired", err)
			}
			return nil
		}},
		{"machine", func() error {
			m, err := bridge.AcquireMachine()
			if err != nil {
				return err
			}
			defer m.Release()
			if _, err := m.Run(empty, nil, &bridge.Args{1}); err != nil {
				return err
			}
			_, err = m.Run(loop, grow, &bridge.Args{2, 2})
			return err
		}},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			for range 3 {
				if err := r.run(); err != nil {
					t.Fatal(err)
				}
			}
			g, err := execmem.StartGracePeriod()
			if err != nil {
				t.Fatal(err)
			}
			// Nothing else runs native code now; allow for a slow machine
			// but not for a runner left inside.
			for deadline := time.Now().Add(2 * time.Second); !g.Done(); {
				if time.Now().After(deadline) {
					t.Fatal("a runner is still marked inside after every run returned")
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}
