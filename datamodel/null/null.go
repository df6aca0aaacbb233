// Package null is the null datamodel of section B.1: no data, and a
// boolean language made of In('id') only. Documents say
// datamodel="null"; Compile is its interp.DatamodelCompiler.
package null

import (
	"errors"
	"fmt"
	"strings"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

// ErrUnsupported is returned for anything but In().
var ErrUnsupported = errors.New("not supported by the null datamodel")

// Compile is the interp.DatamodelCompiler of the null datamodel: there is
// nothing to compile.
func Compile(*scxml.Document) (interp.CompiledDatamodel, error) { return compiled{}, nil }

type compiled struct{}

func (compiled) NewDatamodel(sys interp.SystemInfo) (interp.Datamodel, error) {
	return datamodel{in: sys.In}, nil
}

// datamodel is a session's null datamodel.
type datamodel struct{ in func(string) bool }

var _ interp.Datamodel = datamodel{}

func (datamodel) DeclareData(*scxml.Data) error  { return nil }
func (datamodel) InitData(*scxml.Data) error     { return nil }
func (datamodel) SetEvent(*interp.Event)         {}
func (datamodel) SetData(*scxml.Data, any) error { return nil }

// Cond evaluates In('id') (or In("id")), the only condition there is.
func (d datamodel) Cond(e *scxml.Expr) (bool, error) {
	src := strings.TrimSpace(e.Source)
	if !strings.HasPrefix(src, "In(") || !strings.HasSuffix(src, ")") {
		return false, fmt.Errorf("%s %q: %w (only In('id') is)", e.Attr, e.Source, ErrUnsupported)
	}
	arg := strings.TrimSpace(src[3 : len(src)-1])
	if len(arg) < 2 || (arg[0] != '\'' && arg[0] != '"') || arg[len(arg)-1] != arg[0] {
		return false, fmt.Errorf("%s %q: In() takes a quoted state id", e.Attr, e.Source)
	}
	return d.in(arg[1 : len(arg)-1]), nil
}

func (datamodel) Value(e *scxml.Expr) (any, error) {
	return nil, fmt.Errorf("%s %q: value expressions are %w", e.Attr, e.Source, ErrUnsupported)
}

func (datamodel) String(e *scxml.Expr) (string, error) {
	return "", fmt.Errorf("%s %q: value expressions are %w", e.Attr, e.Source, ErrUnsupported)
}

// Content returns the body of a <content> (C.1 still sends it).
func (datamodel) Content(c *scxml.Content) (any, error) {
	if c.Expr != nil {
		return nil, fmt.Errorf("content expr: %w", ErrUnsupported)
	}
	return c.Body, nil
}

func (datamodel) Assign(*scxml.Assign) error { return fmt.Errorf("<assign>: %w", ErrUnsupported) }
func (datamodel) SetLocation(loc *scxml.Expr, _ any) error {
	return fmt.Errorf("%s: %w", loc.Attr, ErrUnsupported)
}
func (datamodel) Script(*scxml.Script) error { return fmt.Errorf("<script>: %w", ErrUnsupported) }
func (datamodel) EvalSource(src, where string) (any, error) {
	return nil, fmt.Errorf("%s %q: value expressions are %w", where, src, ErrUnsupported)
}
func (datamodel) AssignSource(location, where string, _ any) error {
	return fmt.Errorf("%s: location %q: %w", where, location, ErrUnsupported)
}
func (datamodel) Foreach(*scxml.Foreach, func() error) error {
	return fmt.Errorf("<foreach>: %w", ErrUnsupported)
}

// ExportVars returns nothing: the null datamodel has no variables.
func (datamodel) ExportVars() ([]interp.Var, error) { return nil, nil }

// ImportVars accepts no variables.
func (datamodel) ImportVars(vars []interp.Var) error {
	if len(vars) > 0 {
		return fmt.Errorf("%d variables: %w", len(vars), ErrUnsupported)
	}
	return nil
}

// Busy is always 0: no code runs.
func (datamodel) Busy() uint64 { return 0 }

// Interrupt has nothing to stop.
func (datamodel) Interrupt(uint64) bool { return false }

func (datamodel) Vars() (map[string]any, error) { return map[string]any{}, nil }
func (datamodel) Var(string) (any, bool, error) { return nil, false, nil }

// EvalReadOnly evaluates In('id'), the null datamodel's only expression.
func (d datamodel) EvalReadOnly(src, where string) (any, error) {
	return d.Cond(&scxml.Expr{Source: src, Attr: where})
}
