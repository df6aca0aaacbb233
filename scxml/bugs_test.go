package scxml

import (
	"strings"
	"testing"
)

// Regression tests for parser bugs found by the test-writing pass: each
// states what the parser must do, with the spec section.

// Parse and ErrorList document their errors as "in document order", but
// target resolution runs after the tree walk, so its errors come last.
func TestBugErrorsInDocumentOrder(t *testing.T) {
	src := doc(
		`  <state id="a">`,
		`    <transition target="nowhere"/>`, // line 3: resolution error
		`  </state>`,
		`  <state id="b">`,
		`    <transition type="odd" target="a"/>`, // line 6: structural error
		`  </state>`,
		`  <final id="a"/>`) // line 8: duplicate id
	_, err := Parse([]byte(src), &Options{File: "x.scxml"})
	list := errorList(t, err)
	var lines []int
	for _, e := range list {
		lines = append(lines, e.Pos.Line)
	}
	if len(lines) != 3 || lines[0] != 3 || lines[1] != 6 || lines[2] != 8 {
		t.Fatalf("lines %v, want [3 6 8]:\n%v", lines, err)
	}
}

// 3.14: the processor MUST generate unique ids for states without one.
func TestBugGeneratedIDsAreUnique(t *testing.T) {
	d := mustParse(t, doc(`  <state/>`, `  <state id="_generated_state_1"/>`), nil)
	if a, b := d.States[1].ID, d.States[2].ID; a == b {
		t.Fatalf("both states have id %q", a)
	}
}

// Invalid documents the parser accepts.
func TestBugInvalidAccepted(t *testing.T) {
	for _, tc := range []struct {
		name, spec, src, pos, msg string
	}{
		{"two datamodels in a state", "3.3.2: <datamodel> occurs 0 or 1 times",
			doc(`  <state id="a">`, `    <datamodel/>`, `    <datamodel/>`, `  </state>`), "4:5", "datamodel"},
		{"two datamodels in scxml", "3.2.2: <datamodel> occurs 0 or 1 times",
			doc(`  <datamodel/>`, `  <datamodel/>`, `  <state id="a"/>`), "3:3", "datamodel"},
		{"transition without event, cond or target", "3.5.2: MUST specify at least one of 'event', 'cond' or 'target'",
			doc(`  <state id="a">`, `    <transition/>`, `  </state>`), "3:5", "transition"},
		{"data id starting with _", "5.10: MUST NOT contain ids beginning with '_' in the <data> element",
			doc(`  <datamodel><data id="_x" expr="1"/></datamodel>`, `  <state id="a"/>`), "2:14", "_x"},
		{"data id equal to a state id", "3.14: values of all attributes of type id MUST be unique",
			doc(`  <datamodel><data id="a" expr="1"/></datamodel>`, `  <state id="a"/>`), "3:3", `"a"`},
		{"target lists a state and its descendant", "3.11: in a legal state specification no state is an ancestor of another",
			doc(`  <state id="a">`, `    <state id="a1"/>`, `    <transition event="e" target="a a1"/>`, `  </state>`), "4:5", "a a1"},
		{"empty donedata", "5.5.2: MUST specify either a single <content> or one or more <param>",
			doc(`  <final id="f">`, `    <donedata/>`, `  </final>`), "3:5", "donedata"},
		{"child element of raise", "4.2.2: <raise> has no children",
			onentry(`<raise event="e"><log expr="1"/></raise>`), "4:24", "log"},
		{"child element of log", "4.7.3: <log> has no children",
			onentry(`<log expr="1"><raise event="e"/></log>`), "4:21", "raise"},
		{"child element of cancel", "6.3.2: <cancel> has no children",
			onentry(`<cancel sendid="x"><raise event="e"/></cancel>`), "4:26", "raise"},
		{"child element of param", "5.7.2: <param> has no children",
			onentry(`<send event="x"><param name="p" expr="1"><raise event="e"/></param></send>`), "4:48", "raise"},
		{"delay with a space", `6.2.2: delay is a CSS2 time, "<number>" immediately followed by "s" or "ms"`,
			onentry(`<send event="x" delay="2 s"/>`), "4:7", "CSS2"},
		{"delay with an exponent", "6.2.2: CSS2 numbers have no exponent",
			onentry(`<send event="x" delay="1e3ms"/>`), "4:7", "CSS2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), &Options{File: "doc.scxml", ReadFile: noFiles})
			if err == nil {
				t.Fatalf("accepted, but %s", tc.spec)
			}
			list := errorList(t, err)
			if e := list[0]; e.Pos.String() != tc.pos || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got %v, want an error at %s mentioning %s", e, tc.pos, tc.msg)
			}
		})
	}
}

// 3.11: "the value of an 'initial' attribute or the 'target' of a
// <transition> MUST either be empty or contain a legal state specification":
// an empty target is a targetless transition.
func TestBugEmptyTargetRejected(t *testing.T) {
	d := mustParse(t, doc(`  <state id="a">`, `    <transition event="e" target=""/>`, `  </state>`), nil)
	if tr := d.StateByID("a").Transitions[0]; len(tr.Targets) != 0 {
		t.Fatalf("targets %v", tr.Targets)
	}
}

// XML syntax errors all report column 1: the position should point at the
// offending markup.
func TestBugXMLSyntaxErrorColumn(t *testing.T) {
	for _, tc := range []struct {
		src      string
		min, max int // acceptable columns
	}{
		{doc(`  <state id="a"></stat>`), 17, 24},          // the </stat> end tag
		{doc(`  <state id="a" <b>`, `  </state>`), 3, 17}, // from <state to the stray '<'
	} {
		_, err := Parse([]byte(tc.src), nil)
		list := errorList(t, err)
		if c := list[0].Pos.Col; list[0].Pos.Line != 2 || c < tc.min || c > tc.max {
			t.Errorf("%v: want line 2, column in [%d, %d]", list[0], tc.min, tc.max)
		}
	}
}
