package datamodel_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/orsgo/engine/datamodel"
	"github.com/orsgo/engine/datamodel/null"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

const chart = `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="%s" initial="a">
<state id="a"><transition event="go" cond="In('a')" target="b"/></state>
<final id="b"/>
</scxml>`

func parse(t *testing.T, datamodelName string) *scxml.Document {
	t.Helper()
	src := []byte(fmt.Sprintf(chart, datamodelName))
	doc, err := scxml.Parse(src, &scxml.Options{File: t.Name() + ".scxml"})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func run(t *testing.T, m *interp.Machine) *interp.Session {
	t.Helper()
	s, err := m.NewSession("s1", interp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	s.Enqueue(interp.Event{Name: "go"})
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestStandard runs the same chart under both standard datamodels.
func TestStandard(t *testing.T) {
	for _, dm := range []string{scxml.DatamodelECMAScript, scxml.DatamodelNull} {
		m, err := interp.Compile(parse(t, dm), datamodel.Standard())
		if err != nil {
			t.Fatalf("%s: %v", dm, err)
		}
		if got := run(t, m).Final(); got != "b" {
			t.Errorf("%s: ended in %q, want b", dm, got)
		}
	}
}

// TestUnregistered: a document naming a datamodel the registry lacks is
// refused by Compile, naming it.
func TestUnregistered(t *testing.T) {
	_, err := interp.Compile(parse(t, scxml.DatamodelECMAScript), interp.Datamodels{scxml.DatamodelNull: null.Compile})
	if !errors.Is(err, interp.ErrUnsupportedDatamodel) {
		t.Fatalf("err = %v, want ErrUnsupportedDatamodel", err)
	}
}

// counting is a datamodel of its own (In() only, like null), plugged in
// without interp knowing it: it counts the conditions it evaluated.
type counting struct {
	interp.Datamodel
	conds *[]string
}

func (c counting) Cond(e *scxml.Expr) (bool, error) {
	*c.conds = append(*c.conds, e.Source)
	return c.Datamodel.Cond(e)
}

type countingCompiled struct {
	inner interp.CompiledDatamodel
	conds *[]string
}

func (c countingCompiled) NewDatamodel(sys interp.SystemInfo) (interp.Datamodel, error) {
	dm, err := c.inner.NewDatamodel(sys)
	return counting{dm, c.conds}, err
}

// runCounting registers the counting datamodel under name beside the
// standard ones, runs doc with it and checks that it evaluated the
// document's condition.
func runCounting(t *testing.T, name string, doc *scxml.Document) {
	t.Helper()
	var conds []string
	dms := datamodel.Standard()
	dms[name] = func(doc *scxml.Document) (interp.CompiledDatamodel, error) {
		inner, err := null.Compile(doc)
		return countingCompiled{inner, &conds}, err
	}
	m, err := interp.Compile(doc, dms)
	if err != nil {
		t.Fatal(err)
	}
	if got := run(t, m).Final(); got != "b" {
		t.Errorf("ended in %q, want b", got)
	}
	if !slices.Equal(conds, []string{"In('a')"}) {
		t.Errorf("conditions evaluated by the plugged-in datamodel: %q, want [In('a')]", conds)
	}
}

// TestThirdDatamodel: the registry decides which datamodel runs a
// document; interp has none of its own.
func TestThirdDatamodel(t *testing.T) {
	runCounting(t, scxml.DatamodelNull, parse(t, scxml.DatamodelNull))
}

// TestNamedThirdDatamodel: a datamodel under a name of its own
// ("counting", unknown to the parser) is accepted at parse time and runs
// the document when the registry has it; without it, Compile refuses the
// document naming the file, the <scxml> element's line:col and the name.
func TestNamedThirdDatamodel(t *testing.T) {
	doc := parse(t, "Counting")
	if doc.Datamodel != "counting" {
		t.Fatalf("datamodel %q", doc.Datamodel)
	}
	runCounting(t, "counting", doc)
	_, err := interp.Compile(doc, datamodel.Standard())
	want := `interp: compile TestNamedThirdDatamodel.scxml:1:1: <scxml datamodel="counting">: ` + interp.ErrUnsupportedDatamodel.Error() + ` (have: ecmascript, null)`
	if !errors.Is(err, interp.ErrUnsupportedDatamodel) || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}
