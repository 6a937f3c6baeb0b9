package assembled

import (
	"path/filepath"
	"testing"

	"github.com/bpfjit/bpfjit/internal/conformance"
)

func TestProgramsAssemblesEveryDataFile(t *testing.T) {
	progs, ok, err := Programs()
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Skip("conformance suite not found")
	}
	dir, _ := conformance.Dir()
	files, err := conformance.Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(progs) != len(files) || len(files) == 0 {
		t.Fatalf("%d programs for %d .data files", len(progs), len(files))
	}
	for _, f := range files {
		if len(progs[filepath.Base(f)]) == 0 {
			t.Errorf("%s: no instructions", filepath.Base(f))
		}
	}
}
