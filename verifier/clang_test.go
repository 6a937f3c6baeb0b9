package verifier

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/ebpfimport"
)

// clangPrograms are the clang-built objects in testdata (sources and Makefile beside them).
var clangPrograms = []struct {
	file, prog string
	typ        *ProgType
	minInsns   int
}{
	{"branchy.o", "classify", XDPType, 200},
	{"big.o", "checksum", XDPType, 3900},
}

func loadClang(tb testing.TB, file, prog string) *isa.Program {
	tb.Helper()
	p, err := ebpfimport.FromELFFile(filepath.Join("testdata", file), prog)
	if err != nil {
		tb.Fatalf("%s: %v", file, err)
	}
	return p
}

func TestClangProgramsAccepted(t *testing.T) {
	for _, c := range clangPrograms {
		t.Run(c.prog, func(t *testing.T) {
			p := loadClang(t, c.file, c.prog)
			if len(p.Insns) < c.minInsns {
				t.Fatalf("%d instructions, want at least %d", len(p.Insns), c.minInsns)
			}
			f, err := Check(p, Options{Type: c.typ})
			if err != nil {
				t.Fatalf("rejected: %v\n%s", err, logOf(err))
			}
			t.Logf("%s: %d instructions, %d processed, helpers %v, stack %d", c.prog, len(p.Insns), f.Processed, f.Helpers, f.MaxStackDepth)
		})
	}
}

// BenchmarkVerifyBranchy reports processed instructions per second on the branchy
// classifier.
func BenchmarkVerifyBranchy(b *testing.B) { benchVerify(b, "branchy.o", "classify") }

// BenchmarkVerify4000 verifies the ~4,000-instruction checksum program.
func BenchmarkVerify4000(b *testing.B) { benchVerify(b, "big.o", "checksum") }

func benchVerify(b *testing.B, file, prog string) {
	p := loadClang(b, file, prog)
	processed := 0
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for b.Loop() {
		f, err := Check(p, Options{Type: XDPType})
		if err != nil {
			b.Fatal(err)
		}
		processed += f.Processed
	}
	b.ReportMetric(float64(processed)/b.Elapsed().Seconds(), "insns/s")
	if cpu := cpuSeconds() - cpu0; cpu > 0 {
		// CPU time includes the garbage collector's background work, so this is a floor.
		b.ReportMetric(float64(processed)/cpu, "insns/cpu-s")
	}
	b.ReportMetric(float64(len(p.Insns)), "insns")
}

// Check keeps no shared mutable state: programs verify concurrently (run with -race).
func TestCheckConcurrently(t *testing.T) {
	p := loadClang(t, "branchy.o", "classify")
	want, err := Check(p, Options{Type: XDPType})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			f, err := Check(p, Options{Type: XDPType})
			if err == nil && f.Processed != want.Processed {
				err = fmt.Errorf("processed %d, want %d", f.Processed, want.Processed)
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
