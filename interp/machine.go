package interp

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/orsgo/engine/scxml"
)

// Machine is a compiled document: the document plus what every session of
// it shares (compiled expressions, precomputed state relations). It is
// immutable and safe for concurrent use; create sessions with NewSession.
type Machine struct {
	doc        *scxml.Document
	dm         CompiledDatamodel
	datamodels Datamodels // for the documents its sessions invoke

	last      []int            // by state index: index of the last descendant
	histories [][]*scxml.State // by state index: history children
	children  [][]*scxml.State // by state index: child states other than history
	// readsEvent is false when no expression or script mentions _event, so
	// the event object need not be exposed at all.
	readsEvent bool

	mu            sync.Mutex
	childMachines map[[32]byte]*Machine // invoked documents, by source
}

// Compile prepares doc for execution with the datamodel its datamodel
// attribute names among dms (a document without one uses
// scxml.DatamodelECMAScript, the scxml package's default). It fails with
// ErrUnsupportedDatamodel for a datamodel dms does not have, and with
// what the datamodel's compiler returned; expression syntax errors are
// kept and become error.execution when the expression is evaluated, as
// section 5.9 requires.
func Compile(doc *scxml.Document, dms Datamodels) (*Machine, error) {
	if doc == nil || doc.Root == nil {
		return nil, fmt.Errorf("interp: compile: %w", ErrNoDocument)
	}
	m := &Machine{
		doc:        doc,
		datamodels: dms,
		last:       make([]int, len(doc.States)),
		histories:  make([][]*scxml.State, len(doc.States)),
		children:   make([][]*scxml.State, len(doc.States)),
	}
	name := doc.Datamodel
	if name == "" {
		name = scxml.DatamodelECMAScript
	}
	compile := dms[name]
	if compile == nil {
		file := doc.File
		if file == "" {
			file = "<input>"
		}
		return nil, fmt.Errorf("interp: compile %s:%s: <scxml datamodel=%q>: %w (have: %s)", file, doc.Root.Pos, name, ErrUnsupportedDatamodel, strings.Join(slices.Sorted(maps.Keys(dms)), ", "))
	}
	dm, err := compile(doc)
	if err != nil {
		return nil, fmt.Errorf("interp: compile %s: datamodel %q: %w", doc.File, name, err)
	}
	m.dm = dm
	for _, s := range doc.States {
		m.last[s.Index] = s.Last()
		for _, c := range s.Children {
			if c.Kind == scxml.KindHistory {
				m.histories[s.Index] = append(m.histories[s.Index], c)
			} else {
				m.children[s.Index] = append(m.children[s.Index], c)
			}
		}
	}
	for _, e := range doc.Exprs {
		if strings.Contains(e.Source, "_event") {
			m.readsEvent = true
		}
	}
	for _, sc := range doc.Scripts {
		if strings.Contains(sc.Source, "_event") {
			m.readsEvent = true
		}
	}
	return m, nil
}

// Document returns the compiled document.
func (m *Machine) Document() *scxml.Document { return m.doc }

// isDescendant reports whether a is a proper descendant of b, in O(1) by
// document order: the descendants of b are the indices (b, last(b)].
func (m *Machine) isDescendant(a, b *scxml.State) bool {
	return a.Index > b.Index && a.Index <= m.last[b.Index]
}
