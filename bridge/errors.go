//go:build linux && (amd64 || arm64)

package bridge

import (
	"errors"
	"fmt"
)

// ErrRetired is returned by Run for an image that was retired before the
// run could enter it.
var ErrRetired = errors.New("bridge: image retired")

// ErrNilImage is returned by Run for a nil image.
var ErrNilImage = errors.New("bridge: nil image")

// HelperPanicError is returned by Run when a helper panicked. The native
// frames of the run were abandoned; its native stack is back in the pool.
type HelperPanicError struct {
	Helper uint64 // helper id
	Value  any    // the panic value
	Stack  []byte // goroutine stack at the panic
}

func (e *HelperPanicError) Error() string {
	return fmt.Sprintf("bridge: helper %d panicked: %v", e.Helper, e.Value)
}

// Unwrap returns the panic value if it is an error.
func (e *HelperPanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// UnknownHelperError is returned by Run when native code called a helper id
// that has no function in the run's table.
type UnknownHelperError struct {
	ID    uint64 // the id the code asked for
	Table int    // size of the table it was run with
}

func (e *UnknownHelperError) Error() string {
	return fmt.Sprintf("bridge: call of helper %d, which is not in the table (%d entries)", e.ID, e.Table)
}

// TableError reports a helper table that is too large.
type TableError struct{ Len int }

func (e *TableError) Error() string {
	return fmt.Sprintf("bridge: helper table of %d entries exceeds %d", e.Len, MaxHelpers)
}

// StackError reports a failure to map a native stack.
type StackError struct{ Err error }

func (e *StackError) Error() string { return "bridge: native stack: " + e.Err.Error() }
func (e *StackError) Unwrap() error { return e.Err }
