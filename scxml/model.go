// Package scxml parses, validates and models SCXML 1.0 documents
// (W3C Recommendation of 1 September 2015).
//
// A *Document is built once by Parse, is never mutated afterwards, and can be
// shared by any number of sessions running in parallel: it plays the role that
// text/template/parse's tree plays for template execution. Every element keeps
// the position it came from, so that a problem found later (at validation, at
// compile time or while running) can be reported as file:line:col.
package scxml

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Namespace is the SCXML namespace URI; elements and attributes of other
// namespaces are foreign (see Custom).
const Namespace = "http://www.w3.org/2005/07/scxml"

// Pos is a position in a source document: 1-based line and column.
type Pos struct {
	Line, Col int
}

// String renders p as "line:col".
func (p Pos) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Col) }

// Binding is the data binding mode of a document (section 5.3.3).
type Binding uint8

const (
	// Early binding creates and initialises every <data> element when the
	// document is loaded (the default).
	Early Binding = iota
	// Late binding initialises a state's <data> the first time it is entered.
	Late
)

// Datamodel names a datamodel as in the <scxml datamodel> attribute.
const (
	DatamodelECMAScript = "ecmascript"
	DatamodelNull       = "null"
)

// Document is a parsed and validated SCXML document.
type Document struct {
	// File is the name the document was parsed under (used in messages and
	// to resolve relative src attributes). It may be empty.
	File string
	// Name is the <scxml name> attribute; empty when absent.
	Name string
	// Datamodel is the datamodel attribute, normalised to lower case:
	// DatamodelECMAScript (the default here), DatamodelNull or any other
	// name, which the embedder's datamodels must know (interp.Compile
	// refuses a document naming one they do not).
	Datamodel string
	// Binding is the binding attribute.
	Binding Binding
	// Persist is false when the root element carries _persist="false":
	// such sessions are never checkpointed.
	Persist bool
	// Root is the <scxml> element, modelled as a state of kind KindRoot
	// (index 0) so that the algorithm's ancestor walks end on it.
	Root *State
	// States lists every state-like element (root, state, parallel, final,
	// history) in document order: States[i].Index == i.
	States []*State
	// Transitions lists every transition in document order, including the
	// synthesized initial transitions: Transitions[i].Index == i.
	Transitions []*Transition
	// Exprs lists every expression of the document: Exprs[i].ID == i. A
	// datamodel compiles them once per document, indexed by ID.
	Exprs []*Expr
	// Scripts lists every <script> element in document order; Script.ID
	// indexes it. The global script is Root.Script.
	Scripts []*Script
	// Invokes lists every <invoke> element in document order.
	Invokes []*Invoke
	// Source is the raw document as read, and Hash its SHA-256: together
	// they identify the document a session was started from.
	Source []byte
	Hash   [32]byte
}

// StateByID returns the state with the given id, or nil.
func (d *Document) StateByID(id string) *State {
	for _, s := range d.States {
		if s.ID == id && s.Kind != KindRoot {
			return s
		}
	}
	return nil
}

// Kind is the kind of a state-like element.
type Kind uint8

const (
	// KindRoot is the <scxml> element itself.
	KindRoot Kind = iota
	// KindState is a <state>: atomic when it has no child states, compound
	// otherwise.
	KindState
	// KindParallel is a <parallel>.
	KindParallel
	// KindFinal is a <final>.
	KindFinal
	// KindHistory is a <history> pseudo-state (shallow or deep).
	KindHistory
)

var kindNames = [...]string{"scxml", "state", "parallel", "final", "history"}

// String returns the element name of k.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// State is a <scxml>, <state>, <parallel>, <final> or <history> element.
type State struct {
	// ID is the id attribute; the parser generates a unique one for states
	// that have none (such ids start with "_generated").
	ID string
	// Index is the position of the state in document order.
	Index int
	Kind  Kind
	// Deep is set on deep history states.
	Deep   bool
	Parent *State
	// Depth is 0 for the root and Parent.Depth+1 otherwise.
	Depth int
	// Children are the child states (state, parallel, final and history)
	// in document order.
	Children []*State
	// Initial is the initial transition of a compound state or of the root,
	// from the initial attribute, the <initial> element, or else the first
	// child state in document order. It is nil on other states.
	Initial *Transition
	// Transitions are the state's <transition> children in document order.
	// A history state has exactly one: its default transition.
	Transitions []*Transition
	// OnEntry and OnExit hold one block per <onentry>/<onexit> element: an
	// error in one block does not stop the next one (section 3.8, 3.9).
	OnEntry [][]Executable
	OnExit  [][]Executable
	// Data are the <data> elements of the state's <datamodel> (for the root,
	// the top-level datamodel).
	Data []*Data
	// Invokes are the <invoke> children in document order.
	Invokes []*Invoke
	// Donedata is the <donedata> of a final state, or nil.
	Donedata *Donedata
	// Script is the global <script> of the root, or nil.
	Script *Script
	Pos    Pos

	atomic bool // set by Finish: no child states other than history
}

// IsAtomic reports whether s is a <state> or <final> without child states.
func (s *State) IsAtomic() bool { return s.atomic }

// IsCompound reports whether s is a <state> with child states.
func (s *State) IsCompound() bool { return s.Kind == KindState && !s.atomic }

// IsDescendant reports whether s is a proper descendant of anc.
func (s *State) IsDescendant(anc *State) bool {
	if anc == nil || s.Depth <= anc.Depth {
		return false
	}
	for p := s.Parent; p != nil; p = p.Parent {
		if p == anc {
			return true
		}
		if p.Depth <= anc.Depth {
			return false
		}
	}
	return false
}

// Last returns the index of the last descendant of s in document order, so
// that the descendants of s are exactly the states with indices in
// (s.Index, s.Last()].
func (s *State) Last() int {
	for len(s.Children) > 0 {
		s = s.Children[len(s.Children)-1]
	}
	return s.Index
}

// TransitionType is the type attribute of a transition.
type TransitionType uint8

const (
	// External transitions exit and re-enter their source state.
	External TransitionType = iota
	// Internal transitions whose targets are all descendants of a compound
	// source do not exit the source (section 3.13).
	Internal
)

// Transition is a <transition>, or a transition synthesized for an initial
// attribute, an <initial> element or a compound state's default entry.
type Transition struct {
	// Index is the transition's position in Document.Transitions.
	Index  int
	Source *State
	// Events are the event descriptors, normalised: a trailing ".*" or "."
	// is removed, and "*" stands alone. Empty for eventless transitions.
	Events  []string
	Cond    *Expr
	Targets []*State
	Type    TransitionType
	Content []Executable
	Pos     Pos
}

// Expr is an expression or location expression of the datamodel, kept as
// source text; the datamodel compiles it once per document.
type Expr struct {
	// ID indexes Document.Exprs.
	ID     int
	Source string
	Pos    Pos
	// Attr names where the expression came from ("cond", "expr",
	// "location", ...), for messages.
	Attr string
}

// Data is a <data> element.
type Data struct {
	ID string
	// Exactly one of Expr, Src and Content (or none) is set.
	Expr    *Expr
	Src     string
	Content *Content
	// SrcError is set when Src could not be loaded at parse time; the
	// interpreter raises error.execution when it initialises the variable
	// (section 5.2.2) instead of rejecting the document.
	SrcError string
	Pos      Pos
}

// Content is a <content> element, or the inline text of a <data>.
type Content struct {
	// Expr is the expr attribute; nil when the content is inline.
	Expr *Expr
	// Body is the inline content: the text, or the serialized XML of its
	// child elements.
	Body string
	// XML is set when Body holds markup rather than text.
	XML bool
	Pos Pos
}

// Param is a <param> element.
type Param struct {
	Name string
	// Exactly one of Expr and Location is set.
	Expr     *Expr
	Location *Expr
	Pos      Pos
}

// Donedata is a <donedata> element: either Content or Params.
type Donedata struct {
	Content *Content
	Params  []*Param
	Pos     Pos
}

// Invoke is an <invoke> element.
type Invoke struct {
	// Index is the position in Document.Invokes.
	Index int
	// Parent is the state that holds the invoke.
	Parent      *State
	Type        string
	TypeExpr    *Expr
	Src         string
	SrcExpr     *Expr
	ID          string
	IDLocation  *Expr
	Namelist    []*Expr
	Autoforward bool
	Params      []*Param
	Content     *Content
	Finalize    []Executable
	Pos         Pos
}

// Executable is an element of executable content (section 4). The concrete
// types are *Raise, *Send, *Cancel, *Log, *Assign, *If, *Foreach, *Script and
// *Custom.
type Executable interface {
	// Position returns where the element starts.
	Position() Pos
}

// Raise is a <raise> element.
type Raise struct {
	Event string
	Pos   Pos
}

// Send is a <send> element. For each pair of mutually exclusive attributes at
// most one is set (the validator enforces it).
type Send struct {
	Event      string
	EventExpr  *Expr
	Target     string
	TargetExpr *Expr
	Type       string
	TypeExpr   *Expr
	ID         string
	IDLocation *Expr
	// Delay is the delay attribute as a CSS2 time ("1.5s", "200ms"),
	// already checked by the validator.
	Delay     string
	DelayDur  time.Duration // Delay, parsed
	DelayExpr *Expr
	Namelist  []*Expr
	Params    []*Param
	Content   *Content
	Pos       Pos
}

// Cancel is a <cancel> element.
type Cancel struct {
	SendID     string
	SendIDExpr *Expr
	Pos        Pos
}

// Log is a <log> element.
type Log struct {
	Label string
	Expr  *Expr
	Pos   Pos
}

// Assign is an <assign> element: the value is Expr, or the inline Content.
type Assign struct {
	Location *Expr
	Expr     *Expr
	Content  *Content
	Pos      Pos
}

// If is an <if> with its <elseif> and <else> branches, in order.
type If struct {
	Branches []*Branch
	Pos      Pos
}

// Branch is one branch of an <if>: Cond is nil for <else>.
type Branch struct {
	Cond *Expr
	Body []Executable
	Pos  Pos
}

// Foreach is a <foreach> element.
type Foreach struct {
	Array *Expr
	Item  *Expr
	Index *Expr // nil when absent
	Body  []Executable
	Pos   Pos
}

// Script is a <script> element, inline or loaded from Src at parse time.
type Script struct {
	// ID indexes Document.Scripts.
	ID     int
	Source string
	// Src is the src attribute as written; Source holds what it loaded.
	Src string
	Pos Pos
}

// Custom is executable content in a foreign namespace, run by the
// extension registered for Namespace and Local.
type Custom struct {
	Namespace string
	Local     string
	// Attrs are the element's attributes by local name (foreign-namespace
	// attributes are keyed "{namespace}local").
	Attrs map[string]string
	// XML is the element serialized with its children, for extensions that
	// need more than attributes.
	XML string
	Pos Pos
}

// Position implements Executable.
func (e *Raise) Position() Pos { return e.Pos }

// Position implements Executable.
func (e *Send) Position() Pos { return e.Pos }

// Position implements Executable.
func (e *Cancel) Position() Pos { return e.Pos }

// Position implements Executable.
func (e *Log) Position() Pos { return e.Pos }

// Position implements Executable.
func (e *Assign) Position() Pos { return e.Pos }

// Position implements Executable.
func (e *If) Position() Pos { return e.Pos }

// Position implements Executable.
func (e *Foreach) Position() Pos { return e.Pos }

// Position implements Executable.
func (e *Script) Position() Pos { return e.Pos }

// Position implements Executable.
func (e *Custom) Position() Pos { return e.Pos }

// CustomElements returns the custom executable content of the document
// (elements in foreign namespaces, see Custom) in document order, so that
// an engine can check it knows every one before running the document.
func (d *Document) CustomElements() []*Custom {
	var out []*Custom
	var walk func(block []Executable)
	walk = func(block []Executable) {
		for _, x := range block {
			switch x := x.(type) {
			case *Custom:
				out = append(out, x)
			case *If:
				for _, b := range x.Branches {
					walk(b.Body)
				}
			case *Foreach:
				walk(x.Body)
			}
		}
	}
	for _, s := range d.States {
		for _, b := range s.OnEntry {
			walk(b)
		}
		for _, b := range s.OnExit {
			walk(b)
		}
	}
	for _, t := range d.Transitions {
		walk(t.Content)
	}
	for _, inv := range d.Invokes {
		walk(inv.Finalize)
	}
	slices.SortStableFunc(out, func(a, b *Custom) int {
		return cmp.Or(cmp.Compare(a.Pos.Line, b.Pos.Line), cmp.Compare(a.Pos.Col, b.Pos.Col))
	})
	return out
}
