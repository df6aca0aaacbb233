package interp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/orsgo/engine/scxml"
)

// Datamodel is the per-session runtime of a datamodel (section 5). The
// interpreter calls it from the session's goroutine only; every method that
// returns an error makes the interpreter raise error.execution (section
// 5.10.1 / 4.1), except where noted.
type Datamodel interface {
	// DeclareData creates the variable of d with the value undefined (late
	// binding creates all variables at start, section 5.3.3).
	DeclareData(d *scxml.Data) error
	// InitData creates the variable of d if needed and gives it its
	// initial value from d.Expr, d.Content (inline or loaded from src).
	InitData(d *scxml.Data) error
	// SetData gives the variable of d the value v instead of its initial
	// value: an invoking parent's <param> and namelist values (6.4.4).
	SetData(d *scxml.Data, v any) error
	// SetEvent binds _event to ev (nil before the first event).
	SetEvent(ev *Event)
	// Cond evaluates a boolean expression.
	Cond(e *scxml.Expr) (bool, error)
	// Value evaluates a value expression to a JSON-like Go value.
	Value(e *scxml.Expr) (any, error)
	// String evaluates a value expression and converts it to a string.
	String(e *scxml.Expr) (string, error)
	// Content returns the value of a <content>: its expr, or its body.
	Content(c *scxml.Content) (any, error)
	// Assign runs an <assign>.
	Assign(a *scxml.Assign) error
	// SetLocation stores a Go value at a location expression (idlocation).
	SetLocation(loc *scxml.Expr, v any) error
	// Script runs a <script>.
	Script(s *scxml.Script) error
	// Foreach runs a <foreach>, calling body once per item after binding
	// item and index; an error from body stops the loop and is returned.
	Foreach(f *scxml.Foreach, body func() error) error
	// EvalSource evaluates an expression that is not in the document's
	// expression table (a custom action's attribute); where names it in
	// errors. Implementations compile each source once per document.
	EvalSource(src, where string) (any, error)
	// AssignSource stores a Go value at a location given as source.
	AssignSource(location, where string, v any) error

	// Readers, called between macrosteps (Session.Data, Value,
	// EvalReadOnly). They change nothing; their errors are returned,
	// never raised.

	// Vars returns the document's variables as JSON-like Go values.
	Vars() (map[string]any, error)
	// Var returns one of them; ok is false when there is no such
	// variable.
	Var(name string) (v any, ok bool, err error)
	// EvalReadOnly evaluates src if it cannot change the datamodel, and
	// fails with ErrNotReadOnly otherwise.
	EvalReadOnly(src, where string) (any, error)
}

// SystemInfo is what a datamodel needs to set up the system variables of
// section 5.10 and the In() predicate.
type SystemInfo struct {
	SessionID    string
	Name         string
	IOProcessors map[string]string // type short name -> location
	In           func(stateID string) bool
	Globals      map[string]any // host objects (Options.Globals)
}

// errUnsupported is returned by the null datamodel for anything but In().
var errUnsupported = errors.New("not supported by the null datamodel")

// nullDatamodel is the null datamodel of section B.1: no data, and a
// boolean language made of In('id') only.
type nullDatamodel struct{ in func(string) bool }

func (nullDatamodel) DeclareData(*scxml.Data) error  { return nil }
func (nullDatamodel) InitData(*scxml.Data) error     { return nil }
func (nullDatamodel) SetEvent(*Event)                {}
func (nullDatamodel) SetData(*scxml.Data, any) error { return nil }

func (d nullDatamodel) Cond(e *scxml.Expr) (bool, error) {
	src := strings.TrimSpace(e.Source)
	if !strings.HasPrefix(src, "In(") || !strings.HasSuffix(src, ")") {
		return false, fmt.Errorf("%s %q: %w (only In('id') is)", e.Attr, e.Source, errUnsupported)
	}
	arg := strings.TrimSpace(src[3 : len(src)-1])
	if len(arg) < 2 || (arg[0] != '\'' && arg[0] != '"') || arg[len(arg)-1] != arg[0] {
		return false, fmt.Errorf("%s %q: In() takes a quoted state id", e.Attr, e.Source)
	}
	return d.in(arg[1 : len(arg)-1]), nil
}

func (nullDatamodel) Value(e *scxml.Expr) (any, error) {
	return nil, fmt.Errorf("%s %q: value expressions are %w", e.Attr, e.Source, errUnsupported)
}

func (nullDatamodel) String(e *scxml.Expr) (string, error) {
	return "", fmt.Errorf("%s %q: value expressions are %w", e.Attr, e.Source, errUnsupported)
}

func (nullDatamodel) Content(c *scxml.Content) (any, error) {
	if c.Expr != nil {
		return nil, fmt.Errorf("content expr: %w", errUnsupported)
	}
	return c.Body, nil
}

func (nullDatamodel) Assign(*scxml.Assign) error { return fmt.Errorf("<assign>: %w", errUnsupported) }
func (nullDatamodel) SetLocation(loc *scxml.Expr, _ any) error {
	return fmt.Errorf("%s: %w", loc.Attr, errUnsupported)
}
func (nullDatamodel) Script(*scxml.Script) error { return fmt.Errorf("<script>: %w", errUnsupported) }
func (nullDatamodel) EvalSource(src, where string) (any, error) {
	return nil, fmt.Errorf("%s %q: value expressions are %w", where, src, errUnsupported)
}
func (nullDatamodel) AssignSource(location, where string, _ any) error {
	return fmt.Errorf("%s: location %q: %w", where, location, errUnsupported)
}
func (nullDatamodel) Foreach(*scxml.Foreach, func() error) error {
	return fmt.Errorf("<foreach>: %w", errUnsupported)
}

func (nullDatamodel) Vars() (map[string]any, error) { return map[string]any{}, nil }
func (nullDatamodel) Var(string) (any, bool, error) { return nil, false, nil }

// EvalReadOnly evaluates In('id'), the null datamodel's only expression.
func (d nullDatamodel) EvalReadOnly(src, where string) (any, error) {
	return d.Cond(&scxml.Expr{Source: src, Attr: where})
}
