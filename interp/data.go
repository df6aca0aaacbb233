package interp

import (
	"errors"
	"fmt"
)

// Reading a session's datamodel from outside (an embedder's Session.Data,
// Value and Eval): called between macrosteps, by the goroutine that holds
// the session, they change nothing.

// Sentinel errors of the datamodel readers.
var (
	// ErrNoVariable is returned by Session.Value for a name that is not
	// a variable of the session's datamodel.
	ErrNoVariable = errors.New("interp: no such variable")
	// ErrNotReadOnly is returned by Session.EvalReadOnly for an
	// expression that may change the datamodel: an assignment,
	// increment, delete, call or construction.
	ErrNotReadOnly = errors.New("interp: expression may change the datamodel (assignments and calls are refused)")
)

// Data returns the session's datamodel variables (those of the document:
// <data> items and the globals its scripts create, not the system
// variables, host objects or functions) as JSON-like Go values, as
// Event.Data holds them: nil, bool, int64, float64, string, []any,
// map[string]any, time.Time for a Date, *XML for a DOM node. The null
// datamodel has none.
func (s *Session) Data() (map[string]any, error) {
	vars, err := s.dm.Vars()
	if err != nil {
		return nil, fmt.Errorf("interp: session %s: data: %w", s.id, err)
	}
	return vars, nil
}

// Value returns one variable of the session's datamodel, as Data would;
// an error wrapping ErrNoVariable when there is no such variable.
func (s *Session) Value(name string) (any, error) {
	v, ok, err := s.dm.Var(name)
	switch {
	case err != nil:
		return nil, fmt.Errorf("interp: session %s: variable %q: %w", s.id, name, err)
	case !ok:
		return nil, fmt.Errorf("interp: session %s: variable %q: %w", s.id, name, ErrNoVariable)
	}
	return v, nil
}

// EvalReadOnly evaluates expr, an expression of the session's datamodel
// language, and returns its value as Data would. An expression that may
// change the datamodel is refused (ErrNotReadOnly) without running. _event
// is the event of the session's last macrostep. The evaluation is
// interruptible like any script (Busy, Interrupt).
func (s *Session) EvalReadOnly(expr string) (any, error) {
	if s.current.Name != "" {
		s.dm.SetEvent(&s.current) // not kept up to date when the document never reads it
	}
	v, err := s.dm.EvalReadOnly(expr, "eval")
	if err != nil {
		return nil, fmt.Errorf("interp: session %s: %w", s.id, err)
	}
	return v, nil
}
