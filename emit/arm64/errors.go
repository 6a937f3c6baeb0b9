package arm64

import "fmt"

// EncodeError reports operands that the named instruction cannot encode.
type EncodeError struct {
	Op     string // mnemonic, e.g. "add"
	Reason string
}

func (e *EncodeError) Error() string { return "arm64: " + e.Op + ": " + e.Reason }

// BranchRangeError reports a branch (or pc-relative address) whose byte offset
// is misaligned or outside the reach of its instruction. The lowering uses it to
// switch to a longer form (an inverted b.cond over a b, or a register branch).
type BranchRangeError struct {
	Op       string // "b", "bl", "b.cond", "cbz", "adr", ...
	Offset   int64  // requested byte offset from the instruction
	Min, Max int64  // reachable byte offsets (inclusive)
}

func (e *BranchRangeError) Error() string {
	if e.Offset%4 != 0 && e.Op != "adr" {
		return fmt.Sprintf("arm64: %s: offset %d is not a multiple of 4", e.Op, e.Offset)
	}
	return fmt.Sprintf("arm64: %s: offset %d out of range [%d, %d]", e.Op, e.Offset, e.Min, e.Max)
}

// PosError is an encoding error recorded by Buf, with the byte position of the
// instruction that failed.
type PosError struct {
	Pos int // byte offset in the buffer where the instruction would have gone
	Err error
}

func (e *PosError) Error() string { return fmt.Sprintf("arm64: at +%#x: %v", e.Pos, e.Err) }
func (e *PosError) Unwrap() error { return e.Err }
