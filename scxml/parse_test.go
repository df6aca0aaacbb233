package scxml

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const head = `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"`

func TestMalformed(t *testing.T) {
	deep := head + ">" + strings.Repeat("<state>", 1001) + strings.Repeat("</state>", 1001) + "</scxml>"
	for _, tc := range []struct {
		name, src, pos, msg string
	}{
		{"xml syntax", head + ">\n<state id=\"a\">\n</scxml>", "3:", "XML:"},
		{"wrong root", `<state xmlns="http://www.w3.org/2005/07/scxml"/>`, "1:1", "root element is <state>"},
		{"unknown datamodel", head + ` datamodel="xpath"><state id="a"/></scxml>`, "1:1", `unknown datamodel "xpath"`},
		{"duplicate id", head + ">\n<state id=\"a\"/>\n  <state id=\"a\"/></scxml>", "3:3", `duplicate id "a" (first at 2:1)`},
		{"missing target", head + ">\n<state id=\"a\">\n <transition target=\"b\"/></state></scxml>", "3:2", `target "b": no such state`},
		{"initial not descendant", head + ">\n<state id=\"a\" initial=\"b\"><state id=\"a1\"/></state><state id=\"b\"/></scxml>", "2:1", `initial state "b" is not a descendant of "a"`},
		{"initial on atomic", head + ">\n<state id=\"a\" initial=\"a\"/></scxml>", "2:1", "initial attribute on a state without child states"},
		{"initial attr and element", head + ">\n<state id=\"a\" initial=\"a1\">\n <initial><transition target=\"a1\"/></initial><state id=\"a1\"/></state></scxml>", "3:2", "both an initial attribute and an <initial> element"},
		{"transition in final", head + ">\n<final id=\"f\">\n <transition target=\"f\"/></final></scxml>", "3:2", "a final state cannot have transitions"},
		{"history two transitions", head + ">\n<state id=\"a\"><history id=\"h\"><transition target=\"a1\"/>\n<transition target=\"a1\"/></history><state id=\"a1\"/></state></scxml>", "3:1", "more than one <transition>"},
		{"history target outside", head + ">\n<state id=\"a\"><history id=\"h\"><transition target=\"b\"/></history><state id=\"a1\"/></state><state id=\"b\"/></scxml>", "2:31", `default target "b" is not a child of "a"`},
		{"event and eventexpr", head + "><state id=\"a\"><onentry>\n<send event=\"x\" eventexpr=\"'y'\"/></onentry></state></scxml>", "2:1", `"event" and "eventexpr" are mutually exclusive`},
		{"target and targetexpr", head + "><state id=\"a\"><onentry>\n<send event=\"x\" target=\"#_internal\" targetexpr=\"'y'\"/></onentry></state></scxml>", "2:1", `"target" and "targetexpr"`},
		{"id and idlocation", head + "><state id=\"a\"><onentry>\n<send event=\"x\" id=\"i\" idlocation=\"v\"/></onentry></state></scxml>", "2:1", `"id" and "idlocation"`},
		{"content with namelist", head + "><state id=\"a\"><onentry>\n<send event=\"x\" namelist=\"v\"><content>1</content></send></onentry></state></scxml>", "2:1", "<content> cannot be combined with \"namelist\""},
		{"param expr and location", head + "><state id=\"a\"><onentry><send event=\"x\">\n<param name=\"p\" expr=\"1\" location=\"v\"/></send></onentry></state></scxml>", "2:1", `"expr" and "location" are mutually exclusive`},
		{"bad delay", head + "><state id=\"a\"><onentry>\n<send event=\"x\" delay=\"5 minutes\"/></onentry></state></scxml>", "2:1", "not a CSS2 time"},
		{"bad transition type", head + ">\n<state id=\"a\"><transition type=\"sideways\" target=\"a\"/></state></scxml>", "2:15", `type "sideways" must be "internal" or "external"`},
		{"bad binding", head + ` binding="lazy"><state id="a"/></scxml>`, "1:1", `binding "lazy"`},
		{"misspelt attribute", head + ">\n<state id=\"a\"><transition conf=\"true\" target=\"a\"/></state></scxml>", "2:15", `unknown attribute "conf"`},
		{"else outside if", head + "><state id=\"a\"><onentry>\n<else/></onentry></state></scxml>", "2:1", "<else> outside <if>"},
		{"raise in finalize", head + "><state id=\"a\"><invoke src=\"x.scxml\"><finalize>\n<raise event=\"e\"/></finalize></invoke></state></scxml>", "2:1", "<raise> is not allowed"},
		{"raise without event", head + "><state id=\"a\"><onentry>\n<raise/></onentry></state></scxml>", "2:1", `missing required attribute "event"`},
		{"data without id", head + ">\n<datamodel><data expr=\"1\"/></datamodel><state id=\"a\"/></scxml>", "2:12", `missing required attribute "id"`},
		{"unloadable script", head + ">\n<script src=\"no-such-file.js\"/><state id=\"a\"/></scxml>", "2:1", `cannot load src "no-such-file.js"`},
		{"unknown element", head + ">\n<state id=\"a\"><onentry><transition/></onentry></state></scxml>", "2:24", "<transition> is not executable content"},
		{"incompatible targets", head + ">\n<state id=\"a\"><transition target=\"b c\"/></state><state id=\"b\"/><state id=\"c\"/></scxml>", "2:15", "cannot be active at the same time"},
		{"too deep", deep, "1:", "nested deeper than 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.src), &Options{File: "doc.scxml", ReadFile: func(string) ([]byte, error) { return nil, os.ErrNotExist }})
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error %T is not an ErrorList", err)
			}
			for _, e := range list {
				s := e.Error()
				if strings.HasPrefix(s, "doc.scxml:"+tc.pos) && strings.Contains(s, tc.msg) {
					return
				}
			}
			t.Fatalf("want doc.scxml:%s...%s, got:\n%v", tc.pos, tc.msg, err)
		})
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	src := head + ">\n<state id=\"a\">\n<transition target=\"nowhere\"/>\n<transition type=\"odd\" target=\"a\"/>\n</state>\n<state id=\"a\"/>\n</scxml>"
	_, err := Parse([]byte(src), &Options{File: "x.scxml"})
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 3 {
		t.Fatalf("want 3 errors, got %v", err)
	}
	lines := []int{list[0].Pos.Line, list[1].Pos.Line, list[2].Pos.Line}
	// Structural errors come first in document order, then resolution.
	if lines[0] != 4 || lines[1] != 6 || lines[2] != 3 {
		t.Fatalf("lines %v:\n%v", lines, err)
	}
}

func TestMissingFileIsNotInvalid(t *testing.T) {
	_, err := ParseFile(filepath.Join(t.TempDir(), "none.scxml"), nil)
	if err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func TestModel(t *testing.T) {
	src := head + ` initial="p"><datamodel><data id="d" expr="1"/></datamodel>
<parallel id="p">
  <state id="a"><state id="a1"><transition event="e.* f." cond="d == 1" target="a2"/></state><state id="a2"/></state>
  <state id="b"><history id="h"><transition target="b2"/></history><initial><transition target="b2"/></initial><state id="b1"/><state id="b2"/></state>
  <state><state id="c1"/></state>
</parallel></scxml>`
	doc, err := Parse([]byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range doc.States {
		if s.Index != i {
			t.Fatalf("state %s has index %d at %d", s.ID, s.Index, i)
		}
	}
	a1 := doc.StateByID("a1")
	if a1.Depth != 3 || !a1.IsAtomic() || !a1.IsDescendant(doc.StateByID("p")) || a1.IsDescendant(doc.StateByID("b")) {
		t.Fatalf("a1: depth %d atomic %v", a1.Depth, a1.IsAtomic())
	}
	tr := a1.Transitions[0]
	if strings.Join(tr.Events, ",") != "e,f" || tr.Cond == nil || tr.Cond.Attr != "cond" || doc.Exprs[tr.Cond.ID] != tr.Cond {
		t.Fatalf("transition: %+v", tr)
	}
	if b := doc.StateByID("b"); b.Initial == nil || b.Initial.Targets[0].ID != "b2" {
		t.Fatal("<initial> element not used")
	}
	if a := doc.StateByID("a"); a.Initial.Targets[0].ID != "a1" {
		t.Fatal("first child not the default initial state")
	}
	gen := doc.States[len(doc.States)-2]
	if !strings.HasPrefix(gen.ID, "_generated") {
		t.Fatalf("id-less state got id %q", gen.ID)
	}
	if p := doc.StateByID("p"); p.Last() != len(doc.States)-1 {
		t.Fatalf("Last of p = %d", p.Last())
	}
}

func TestEncodings(t *testing.T) {
	body := `<scxml xmlns="http://www.w3.org/2005/07/scxml"><datamodel><data id="d" expr="'Heizölrückstoß'"/></datamodel><state id="a"/></scxml>`
	latin1 := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r))
		}
		return b
	}
	utf16 := func(s string, big bool) []byte {
		b := []byte{0xFF, 0xFE}
		if big {
			b = []byte{0xFE, 0xFF}
		}
		for _, r := range s {
			if big {
				b = append(b, byte(r>>8), byte(r))
			} else {
				b = append(b, byte(r), byte(r>>8))
			}
		}
		return b
	}
	for name, src := range map[string][]byte{
		"utf-8":        []byte(`<?xml version="1.0" encoding="UTF-8"?>` + body),
		"iso-8859-1":   latin1(`<?xml version="1.0" encoding="ISO-8859-1"?>` + body),
		"windows-1252": latin1(`<?xml version="1.0" encoding="windows-1252"?>` + body),
		"utf-16le":     utf16(`<?xml version="1.0" encoding="UTF-16"?>`+body, false),
		"utf-16be":     utf16(`<?xml version="1.0" encoding="UTF-16"?>`+body, true),
	} {
		doc, err := Parse(src, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := doc.Root.Data[0].Expr.Source; got != "'Heizölrückstoß'" {
			t.Errorf("%s: expr %q", name, got)
		}
	}
}

func TestParseDelay(t *testing.T) {
	for in, want := range map[string]string{"1s": "1s", "1.5s": "1.5s", "250ms": "250ms", "0": "0s"} {
		d, err := ParseDelay(in)
		if err != nil || d.String() != want {
			t.Errorf("%q: %v %v", in, d, err)
		}
	}
	for _, in := range []string{"-1s", "1m", "NaNs", "0x10s", "", "s"} {
		if _, err := ParseDelay(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
