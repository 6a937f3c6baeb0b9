//go:build linux && (amd64 || arm64)

package execmem

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// WritableExecutableMappings lists the process's mappings that are writable and executable
// at once, as /proc/self/maps lines. This package never creates one; hosts and tests can
// use it to audit that nothing else in the process does either.
func WritableExecutableMappings() ([]string, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var bad []string
	lines := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		lines++
		if p := fields[1]; strings.Contains(p, "w") && strings.Contains(p, "x") {
			bad = append(bad, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if lines == 0 {
		return nil, fmt.Errorf("execmem: /proc/self/maps is empty")
	}
	return bad, nil
}
