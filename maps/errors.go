package maps

import (
	"errors"
	"fmt"
)

// Sentinel causes carried by *Error. Compare with errors.Is.
var (
	ErrKeySize      = errors.New("wrong key size")
	ErrValueSize    = errors.New("wrong value size")
	ErrFull         = errors.New("map is full")
	ErrOutOfRange   = errors.New("index out of range")
	ErrKeyNotExist  = errors.New("key does not exist")
	ErrKeyExist     = errors.New("key already exists")
	ErrBadFlags     = errors.New("invalid update flags")
	ErrNotSupported = errors.New("operation not supported by this map type")
	ErrInvalidSpec  = errors.New("invalid map spec")
	ErrReadOnly     = errors.New("map is read-only")
	ErrClosed       = errors.New("map is closed")
	ErrNoMemory     = errors.New("no element memory free (reclamation pending)")
	ErrBadProgram   = errors.New("program cannot be put in a program array")
)

// Error is a failed map operation.
type Error struct {
	Op     string // "lookup", "update", "delete", "next_key", "create", ...
	Map    string // the map's name (may be empty)
	Err    error  // one of the Err* sentinels
	Detail string // what exactly was wrong, for people
}

func (e *Error) Error() string {
	s := "maps: " + e.Op
	if e.Map != "" {
		s += " " + e.Map
	}
	s += ": " + e.Err.Error()
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errno is the kernel's negative errno for err, as a BPF helper returns it.
func Errno(err error) int64 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrKeyNotExist):
		return -2 // ENOENT
	case errors.Is(err, ErrKeyExist):
		return -17 // EEXIST
	case errors.Is(err, ErrFull), errors.Is(err, ErrOutOfRange):
		return -7 // E2BIG
	case errors.Is(err, ErrNoMemory):
		return -12 // ENOMEM
	case errors.Is(err, ErrReadOnly):
		return -1 // EPERM
	}
	return -22 // EINVAL
}

func (m *Map) err(op string, sentinel error, format string, args ...any) error {
	return &Error{Op: op, Map: m.spec.Name, Err: sentinel, Detail: fmt.Sprintf(format, args...)}
}
