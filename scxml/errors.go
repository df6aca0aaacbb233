package scxml

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every error that Parse reports about the document
// itself (as opposed to failures to read it), so callers can tell a bad
// document from a missing file with errors.Is.
var ErrInvalid = errors.New("invalid SCXML document")

// Error is one problem found in a document, at a position.
type Error struct {
	File string
	Pos  Pos
	Msg  string
}

// Error renders e as "file:line:col: message", the form editors and CI logs
// recognise.
func (e *Error) Error() string {
	file := e.File
	if file == "" {
		file = "<input>"
	}
	return fmt.Sprintf("%s:%d:%d: %s", file, e.Pos.Line, e.Pos.Col, e.Msg)
}

// Unwrap makes every Error match ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

// ErrorList is every problem found in a document, in document order. Parse
// reports them all at once so that one run of `scxml validate` shows what to
// fix.
type ErrorList []*Error

// Error renders one problem per line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap exposes the individual errors to errors.Is and errors.As.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}
