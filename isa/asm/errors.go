package asm

import (
	"errors"
	"fmt"
)

// Reasons an assembly fails. Assemble wraps them in an *Error naming the line.
var (
	ErrSyntax          = errors.New("syntax error")
	ErrUnknownMnemonic = errors.New("unknown mnemonic")
	ErrOperands        = errors.New("wrong operands")
	ErrRange           = errors.New("value out of range")
	ErrUndefinedLabel  = errors.New("undefined label")
	ErrDuplicateLabel  = errors.New("duplicate label")
)

// Error is an assembly error at one line of the input.
type Error struct {
	Line   int    // 1-based line number
	Err    error  // one of the Err* values of this package
	Detail string // what exactly was wrong, for people
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return fmt.Sprintf("line %d: %v: %s", e.Line, e.Err, e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

// lineErr is an error before the line number is known.
type lineErr struct {
	err    error
	detail string
}

func fail(err error, format string, args ...any) *lineErr {
	return &lineErr{err: err, detail: fmt.Sprintf(format, args...)}
}
