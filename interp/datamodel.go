package interp

import (
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

	// ExportVars returns the datamodel's variables for a snapshot, in
	// the order ImportVars should create them. A datamodel that tracks
	// what its code changed may return a Var with Encoded set (the
	// encoding of an unchanged variable from an earlier export). It
	// fails with an error wrapping ErrNotRestorable, naming the
	// variables, when a value could not be restored faithfully. The null
	// datamodel has no variables.
	ExportVars() ([]Var, error)
	// ImportVars gives a fresh datamodel, on which nothing ran (no
	// <data> initialised, no script), the variables ExportVars returned.
	ImportVars(vars []Var) error

	// Busy returns a generation counter that is odd while code of the
	// datamodel runs (always even for a datamodel that runs no code).
	// Busy and Interrupt are the only methods safe to call from another
	// goroutine: a watchdog that reads the same odd value twice, a
	// budget apart, passes it to Interrupt.
	Busy() uint64
	// Interrupt stops the code of generation gen if it still runs; the
	// evaluation fails and becomes error.execution. It reports whether
	// it did.
	Interrupt(gen uint64) bool

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

// DatamodelCompiler prepares a document for one datamodel (the value of
// <scxml datamodel>, section 5.1): it compiles its expressions and
// scripts once, for every session of the document. Syntax errors are
// kept and reported when the expression runs (section 5.9), not here.
type DatamodelCompiler func(doc *scxml.Document) (CompiledDatamodel, error)

// CompiledDatamodel is a document prepared by a DatamodelCompiler. It is
// shared by the document's sessions and must be safe for concurrent use.
type CompiledDatamodel interface {
	// NewDatamodel creates the datamodel of one session.
	NewDatamodel(sys SystemInfo) (Datamodel, error)
}

// Datamodels maps the datamodel attribute of documents (lower case,
// scxml.DatamodelECMAScript and scxml.DatamodelNull for the two the
// Recommendation defines) to the compilers of the datamodels an embedder
// provides. The interpreter knows no datamodel of its own: package
// datamodel provides the standard ones, which the engine uses by default.
type Datamodels map[string]DatamodelCompiler

// SystemInfo is what a datamodel needs to set up the system variables of
// section 5.10 and the In() predicate.
type SystemInfo struct {
	SessionID    string
	Name         string
	IOProcessors map[string]string // type short name -> location
	In           func(stateID string) bool
	Globals      map[string]any // host objects (Options.Globals)
	// VerifySnapshots is Options.VerifySnapshots: ExportVars also exports
	// everything afresh and fails if an incremental export differs.
	VerifySnapshots bool
}
