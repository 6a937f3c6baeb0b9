// Package conformance reads the bpf_conformance suite: its .data files and programs.json.
// Tests of every engine use it to find and parse the suite.
package conformance

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// EnvDir names the environment variable that points at the suite's directory.
const EnvDir = "BPF_CONFORMANCE_DIR"

// Dir returns the suite's directory: $BPF_CONFORMANCE_DIR, or ../shared/conformance
// beside the module root when it exists. ok is false when neither exists.
func Dir() (dir string, ok bool) {
	if d := os.Getenv(EnvDir); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d, true
		}
		return d, false
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(d, "..", "shared", "conformance")
			if st, err := os.Stat(c); err == nil && st.IsDir() {
				return c, true
			}
			return c, false
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// Test is one .data file.
type Test struct {
	Name   string // file name, e.g. "add.data"
	Path   string
	Asm    string // the -- asm section
	Raw    []byte // the -- raw section as bytes, nil when absent
	Mem    []byte // the -- mem section, nil when absent
	Result uint64 // the -- result section
	Error  string // the -- error section, "" when absent
	HasRes bool
}

// Files lists the suite's .data files in path order.
func Files(dir string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(dir, "*.data"))
	if err != nil {
		return nil, err
	}
	sort.Strings(m)
	return m, nil
}

// Load parses every .data file of the suite.
func Load(dir string) ([]Test, error) {
	files, err := Files(dir)
	if err != nil {
		return nil, err
	}
	tests := make([]Test, 0, len(files))
	for _, f := range files {
		t, err := ParseFile(f)
		if err != nil {
			return nil, err
		}
		tests = append(tests, t)
	}
	return tests, nil
}

// ParseFile parses one .data file.
func ParseFile(path string) (Test, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Test{}, err
	}
	t, err := Parse(string(b))
	if err != nil {
		return Test{}, fmt.Errorf("%s: %w", path, err)
	}
	t.Name, t.Path = filepath.Base(path), path
	return t, nil
}

// Parse parses the text of a .data file.
func Parse(text string) (Test, error) {
	var t Test
	sections := map[string]*strings.Builder{}
	var cur *strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "-- "); ok {
			cur = &strings.Builder{}
			sections[strings.TrimSpace(name)] = cur
			continue
		}
		if cur == nil {
			continue // header comments
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	if s, ok := sections["asm"]; ok {
		t.Asm = s.String()
	}
	var err error
	if s, ok := sections["raw"]; ok {
		if t.Raw, err = parseRaw(s.String()); err != nil {
			return t, fmt.Errorf("raw: %w", err)
		}
	}
	if s, ok := sections["mem"]; ok {
		if t.Mem, err = ParseHexBytes(s.String()); err != nil {
			return t, fmt.Errorf("mem: %w", err)
		}
	}
	if s, ok := sections["result"]; ok {
		v := strings.TrimSpace(stripComments(s.String()))
		if t.Result, err = strconv.ParseUint(strings.TrimPrefix(strings.ToLower(v), "0x"), 16, 64); err != nil {
			return t, fmt.Errorf("result %q: %w", v, err)
		}
		t.HasRes = true
	}
	if s, ok := sections["error"]; ok {
		t.Error = strings.TrimSpace(s.String())
	}
	return t, nil
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// ParseHexBytes parses bytes written as hex pairs separated by white space (comments with #).
func ParseHexBytes(s string) ([]byte, error) {
	fields := strings.Fields(stripComments(s))
	out := make([]byte, 0, len(fields))
	for _, f := range fields {
		f = strings.TrimPrefix(strings.ToLower(f), "0x")
		if len(f)%2 != 0 {
			return nil, fmt.Errorf("odd-length hex %q", f)
		}
		b, err := hex.DecodeString(f)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// parseRaw parses 64-bit words, one instruction slot each, written as hex numbers whose
// little-endian byte order is the wire order (the suite's "-- raw" convention).
func parseRaw(s string) ([]byte, error) {
	var out []byte
	for _, f := range strings.Fields(stripComments(s)) {
		v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(f), "0x"), 16, 64)
		if err != nil {
			return nil, err
		}
		for i := 0; i < 8; i++ {
			out = append(out, byte(v>>(8*i)))
		}
	}
	return out, nil
}

// Program is one entry of programs.json: a test's program as the suite's assembler encodes it.
type Program struct {
	Name    string
	Program []byte
	Mem     []byte
	Result  uint64
}

// LoadPrograms reads programs.json.
func LoadPrograms(dir string) ([]Program, error) {
	b, err := os.ReadFile(filepath.Join(dir, "programs.json"))
	if err != nil {
		return nil, err
	}
	var raw []struct{ Name, Program, Mem, Result string }
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("programs.json: %w", err)
	}
	out := make([]Program, len(raw))
	for i, r := range raw {
		p := Program{Name: r.Name}
		var err error
		if p.Program, err = ParseHexBytes(r.Program); err != nil {
			return nil, fmt.Errorf("programs.json %s: %w", r.Name, err)
		}
		if p.Mem, err = ParseHexBytes(r.Mem); err != nil {
			return nil, fmt.Errorf("programs.json %s: %w", r.Name, err)
		}
		if p.Result, err = strconv.ParseUint(strings.TrimPrefix(strings.ToLower(r.Result), "0x"), 16, 64); err != nil {
			return nil, fmt.Errorf("programs.json %s result: %w", r.Name, err)
		}
		out[i] = p
	}
	return out, nil
}
