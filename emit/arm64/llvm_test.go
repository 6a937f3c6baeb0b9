package arm64

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// llvmAssemble assembles one instruction per line with llvm-mc (LSE enabled)
// and returns the .text words. The test using it is skipped when llvm-mc is not
// installed; on this project's machines it is.
func llvmAssemble(t *testing.T, lines []string) []uint32 {
	t.Helper()
	mc, err := exec.LookPath("llvm-mc")
	if err != nil {
		t.Skip("llvm-mc not installed")
	}
	dir := t.TempDir()
	src, obj := filepath.Join(dir, "in.s"), filepath.Join(dir, "out.o")
	if err := os.WriteFile(src, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(mc, "-triple=aarch64", "-mattr=+lse", "-filetype=obj", "-o", obj, src)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("llvm-mc: %v\n%s", err, stderr.String())
	}
	f, err := elf.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sec := f.Section(".text")
	if sec == nil {
		t.Fatal("no .text in llvm-mc output")
	}
	if rel := f.Section(".rela.text"); rel != nil && rel.Size > 0 {
		t.Fatal("llvm-mc left relocations: a pc-relative text did not resolve")
	}
	data, err := sec.Data()
	if err != nil {
		t.Fatal(err)
	}
	words := make([]uint32, len(data)/4)
	for i := range words {
		words[i] = binary.LittleEndian.Uint32(data[4*i:])
	}
	return words
}

// TestGoldenAssembleLLVM assembles every golden text with llvm-mc and requires
// the golden word: a second, independent oracle that also covers the forms
// arm64asm cannot decode (LSE atomics, ic ivau).
func TestGoldenAssembleLLVM(t *testing.T) {
	lines := make([]string, len(goldenCases))
	for i, c := range goldenCases {
		lines[i] = c.text
	}
	words := llvmAssemble(t, lines)
	if len(words) != len(goldenCases) {
		t.Fatalf("llvm-mc produced %d words for %d lines", len(words), len(goldenCases))
	}
	for i, c := range goldenCases {
		if words[i] != c.word {
			t.Errorf("%s: llvm-mc assembles %q to %#08x, golden word %#08x", c.name, c.text, words[i], c.word)
		}
	}
}
