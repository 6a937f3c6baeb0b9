package verifier

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bpfjit/bpfjit/isa"
	"github.com/bpfjit/bpfjit/isa/ebpfimport"
)

// csumObject is the clang-built IPv4 + TCP/UDP checksum program of issue #5: two bounded
// loops in a row whose exits differ only in dead registers and in how much of the raw
// memory region they proved readable.
var csumObject = filepath.Join("..", "testdata", "elf", "csum.o")

func loadCsum(tb testing.TB) *isa.Program {
	tb.Helper()
	if _, err := os.Stat(csumObject); err != nil {
		tb.Skipf("%s: %v", csumObject, err)
	}
	p, err := ebpfimport.FromELFFile(csumObject, "csum")
	if err != nil {
		tb.Fatalf("%s: %v", csumObject, err)
	}
	return p
}

// The checksum program verifies within the default budget (it exhausted it before pruning
// ignored dead memory lengths and impossible known-bit branches).
func TestCsumWithinBudget(t *testing.T) {
	f, err := Check(loadCsum(t), Options{Type: RawMemoryType})
	if err != nil {
		t.Fatalf("rejected: %v", err)
	}
	t.Logf("%d processed", f.Processed)
}

// BenchmarkVerifyCsum verifies the checksum program (about half a million processed
// instructions).
func BenchmarkVerifyCsum(b *testing.B) {
	p := loadCsum(b)
	processed := 0
	b.ResetTimer()
	for b.Loop() {
		f, err := Check(p, Options{Type: RawMemoryType})
		if err != nil {
			b.Fatal(err)
		}
		processed += f.Processed
	}
	b.ReportMetric(float64(processed)/b.Elapsed().Seconds(), "insns/s")
}
