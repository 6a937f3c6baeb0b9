//go:build amd64 && linux

package native

import "testing"

func TestRunReturnsR0AndSeesArguments(t *testing.T) {
	// lea rax, [rdi+rsi]; add rax, r8; ret
	c, err := Load([]byte{0x48, 0x8d, 0x04, 0x37, 0x4c, 0x01, 0xc0, 0xc3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Run([5]uint64{1, 2, 3, 4, 5}); got != 8 {
		t.Errorf("Run = %d, want 8", got)
	}
}
