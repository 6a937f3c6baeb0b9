// Package progsrc turns what a user hands the command line — a conformance .data file, raw
// hex text, an ELF object with a section name, memory as a file or hex — into a program and
// its input memory. Both commands (bpfjit, bpfjit-conformance) read programs through it.
package progsrc

import (
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
)

// ParseHex reads bytes written as hex: pairs separated by any white space ("b7 01 00"),
// runs of pairs ("b70100"), with optional 0x prefixes per token and # comments.
func ParseHex(s string) ([]byte, error) {
	var out []byte
	for lineNo, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, tok := range strings.FieldsFunc(line, func(r rune) bool { return unicode.IsSpace(r) || r == ',' }) {
			t := strings.TrimPrefix(strings.TrimPrefix(tok, "0x"), "0X")
			if len(t)%2 != 0 {
				return nil, fmt.Errorf("line %d: hex token %q has an odd number of digits", lineNo+1, tok)
			}
			b, err := hex.DecodeString(t)
			if err != nil {
				return nil, fmt.Errorf("line %d: bad hex token %q", lineNo+1, tok)
			}
			out = append(out, b...)
		}
	}
	return out, nil
}
