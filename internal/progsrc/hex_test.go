package progsrc

import (
	"bytes"
	"testing"
)

func TestParseHexAcceptsTheSuitesAndCommonLayouts(t *testing.T) {
	tests := []struct {
		name, in string
		want     []byte
	}{
		{"plugin memory argument", "aa  bb  11  ", []byte{0xaa, 0xbb, 0x11}},
		{"one run", "b70100ff", []byte{0xb7, 0x01, 0x00, 0xff}},
		{"0x prefixes and commas", "0xb7, 0x01,0x02", []byte{0xb7, 0x01, 0x02}},
		{"comments and newlines", "b7 01 # mov\n00 00\n", []byte{0xb7, 0x01, 0x00, 0x00}},
		{"empty", "  \n", nil},
	}
	for _, tt := range tests {
		got, err := ParseHex(tt.in)
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("%s: got %x, %v; want %x", tt.name, got, err, tt.want)
		}
	}
}

func TestParseHexRejectsOddDigitsAndNonHex(t *testing.T) {
	for _, in := range []string{"b", "b7 0", "zz", "b7 g1"} {
		if _, err := ParseHex(in); err == nil {
			t.Errorf("%q: want error", in)
		}
	}
}
