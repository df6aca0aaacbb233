package scxml

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// head is the <scxml> start tag without its closing '>', so that tests can
// add attributes.
const head = `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0"`

// doc wraps body lines in an <scxml> element: line 1 is the start tag, the
// first body line is line 2, and </scxml> comes on a line of its own.
func doc(lines ...string) string {
	return head + ">\n" + strings.Join(lines, "\n") + "\n</scxml>"
}

// onentry places executable content x inside <onentry> of state "s": the
// first line of x is line 4 and starts at column 7.
func onentry(x string) string {
	return doc(`  <state id="s">`, `    <onentry>`, "      "+x, `    </onentry>`, `  </state>`)
}

// noFiles is a ReadFile that finds nothing, as os.ReadFile reports it.
func noFiles(path string) ([]byte, error) {
	return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
}

// mustParse parses src (with File "doc.scxml" and no loadable files unless
// opts says otherwise) and fails the test on error.
func mustParse(t *testing.T, src string, opts *Options) *Document {
	t.Helper()
	if opts == nil {
		opts = &Options{File: "doc.scxml", ReadFile: noFiles}
	}
	d, err := Parse([]byte(src), opts)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, src)
	}
	return d
}

// errorList checks that err is a non-empty ErrorList of *Error wrapping
// ErrInvalid, and returns it.
func errorList(t *testing.T, err error) ErrorList {
	t.Helper()
	if err == nil {
		t.Fatal("document accepted")
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error %v does not wrap ErrInvalid", err)
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("error %T %v is not a non-empty ErrorList", err, err)
	}
	for _, e := range list {
		if e == nil || e.Pos.Line < 1 || e.Pos.Col < 1 {
			t.Fatalf("unpositioned error %v", e)
		}
	}
	return list
}

func TestParseRejects(t *testing.T) {
	deep := func(n int) string {
		return head + ">" + strings.Repeat("<state>", n) + strings.Repeat("</state>", n) + "</scxml>"
	}
	// The 1000th nested <state> is the 1001st level of elements.
	deepPos := fmt.Sprintf("1:%d", len(head)+1+999*len("<state>")+1)
	hist := func(typ, target string) string {
		return doc(
			`  <state id="a">`,
			`    <history id="h"`+typ+`>`,
			`      <transition target="`+target+`"/>`,
			`    </history>`,
			`    <state id="a1"><state id="a11"/></state>`,
			`  </state>`,
			`  <state id="b"/>`)
	}
	custom := &Options{File: "doc.scxml", ReadFile: noFiles, Custom: func(ns, local string) bool { return local == "known" }}
	for _, tc := range []struct {
		name string
		src  string
		opts *Options
		pos  string // of the first error
		msg  string // substring of the first error
		n    int    // number of errors; 0 means 1
	}{
		// XML and the root element.
		{name: "xml syntax: mismatched end tag",
			src: doc(`  <state id="a">`), pos: "3:9", msg: "XML: element <state> closed by </scxml>"},
		{name: "xml syntax: unexpected EOF",
			src: head + ">\n  <state id=\"a\"/>\n", pos: "3:1", msg: "XML: unexpected EOF"},
		{name: "xml: second root element",
			src: doc(`  <state id="a"/>`) + "\n  <scxml/>", pos: "4:3", msg: "XML: more than one root element"},
		{name: "xml: empty document", src: "", pos: "1:1", msg: "XML: no root element"},
		{name: "xml: odd UTF-16", src: "\xff\xfe<", pos: "1:1", msg: "UTF-16 document with an odd number of bytes"},
		{name: "xml: unsupported encoding",
			src: `<?xml version="1.0" encoding="EBCDIC-US"?>` + "\n" + doc(`<state id="a"/>`), pos: "1:1", msg: `unsupported encoding "EBCDIC-US"`},
		{name: "wrong root element",
			src: "<?xml version=\"1.0\"?>\n<state xmlns=\"http://www.w3.org/2005/07/scxml\" id=\"a\"/>", pos: "2:1", msg: "root element is <state>, want <scxml>"},
		{name: "root in another namespace",
			src: "<scxml xmlns=\"urn:other\" version=\"1.0\"><state id=\"a\"/></scxml>", pos: "1:1", msg: "root element is <scxml> (namespace urn:other)"},
		{name: "empty datamodel",
			src: "<?xml version=\"1.0\"?>\n<!-- c --> " + head + " datamodel=\" \">\n<state id=\"a\"/></scxml>", pos: "2:12", msg: `<scxml>: empty datamodel attribute`},
		{name: "unsupported version",
			src: `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="2.0"><state id="a"/></scxml>`, pos: "1:1", msg: `version "2.0" is not supported`},
		{name: "bad binding", src: head + " binding=\"lazy\">\n<state id=\"a\"/></scxml>", pos: "1:1", msg: `<scxml>: binding "lazy" must be "early" or "late"`},
		{name: "no child states", src: doc(`  <datamodel/>`), pos: "1:1", msg: "<scxml>: no child states"},
		{name: "unexpected child of scxml", src: doc(`  <state id="a"/>`, `  <transition target="a"/>`), pos: "3:3", msg: "<scxml>: unexpected child <transition>"},
		{name: "two global scripts", src: doc(`  <script>1</script>`, `  <script>2</script>`, `  <state id="a"/>`), pos: "3:3", msg: "<scxml>: more than one <script>"},

		// States and ids.
		{name: "duplicate id",
			src: doc(`  <state id="a"/>`, `  <final id="a"/>`), pos: "3:3", msg: `<final>: duplicate id "a" (first at 2:3)`},
		{name: "duplicate id on history",
			src: doc(`  <state id="a">`, `    <history id="a1"><transition target="a1"/></history>`, `    <state id="a1"/>`, `  </state>`),
			pos: "4:5", msg: `<state>: duplicate id "a1" (first at 3:5)`},
		{name: "id with a space", src: doc(`  <state id="a b"/>`), pos: "2:3", msg: `<state>: id "a b" is not a valid identifier`},
		{name: "transition to a missing state",
			src: doc(`  <state id="a">`, `    <transition event="e" target="b"/>`, `  </state>`), pos: "3:5", msg: `target "b": no such state`},
		{name: "empty target list in initial element",
			src: doc(`  <state id="a">`, `    <initial><transition target=" "/></initial>`, `    <state id="a1"/>`, `  </state>`),
			pos: "3:14", msg: `<transition>: attribute "target" is empty`, n: 2},
		{name: "initial names a non-descendant",
			src: doc(`  <state id="a" initial="b">`, `    <state id="a1"/>`, `  </state>`, `  <state id="b"/>`), pos: "2:3", msg: `initial state "b" is not a descendant of "a"`},
		{name: "initial names a missing state",
			src: doc(`  <state id="a" initial="zz">`, `    <state id="a1"/>`, `  </state>`), pos: "2:3", msg: `initial "zz": no such state`},
		{name: "initial element targets a non-descendant",
			src: doc(`  <state id="a">`, `    <initial>`, `      <transition target="b"/>`, `    </initial>`, `    <state id="a1"/>`, `  </state>`, `  <state id="b"/>`),
			pos: "4:7", msg: `initial state "b" is not a descendant of "a"`},
		{name: "initial attribute on an atomic state",
			src: doc(`  <state id="a"/>`, `  <state id="b" initial="a"/>`), pos: "3:3", msg: `<state id="b">: initial attribute on a state without child states`},
		{name: "initial attribute and initial element",
			src: doc(`  <state id="a" initial="a1">`, `    <initial><transition target="a1"/></initial>`, `    <state id="a1"/>`, `  </state>`),
			pos: "3:5", msg: `<state id="a">: both an initial attribute and an <initial> element`},
		{name: "initial transition with cond",
			src: doc(`  <state id="a">`, `    <initial><transition cond="true" target="a1"/></initial>`, `    <state id="a1"/>`, `  </state>`),
			pos: "3:14", msg: "<initial>: its <transition> cannot have a cond"},
		{name: "two initial elements",
			src: doc(`  <state id="a">`, `    <initial><transition target="a1"/></initial>`, `    <initial><transition target="a1"/></initial>`, `    <state id="a1"/>`, `  </state>`),
			pos: "4:5", msg: `<state id="a">: more than one <initial>`},
		{name: "transition inside final",
			src: doc(`  <final id="f">`, `    <transition target="f"/>`, `  </final>`), pos: "3:5", msg: `<final id="f">: a final state cannot have transitions`},
		{name: "final inside parallel",
			src: doc(`  <parallel id="p">`, `    <final id="f"/>`, `  </parallel>`), pos: "3:5", msg: "<parallel>: unexpected child <final>"},
		{name: "incompatible targets",
			src: doc(`  <state id="a">`, `    <transition target="b c"/>`, `  </state>`, `  <state id="b"/>`, `  <state id="c"/>`),
			pos: "3:5", msg: `target "b c": these states cannot be active at the same time`},
		{name: "text inside state", src: doc(`  <state id="a">x == 1</state>`), pos: "2:3", msg: `<state>: unexpected text "x == 1"`},

		// History.
		{name: "history with two transitions",
			src: doc(`  <state id="a">`, `    <history id="h">`, `      <transition target="a1"/>`, `      <transition target="a1"/>`, `    </history>`, `    <state id="a1"/>`, `  </state>`),
			pos: "5:7", msg: `<history id="h">: more than one <transition>`},
		{name: "history without transition",
			src: doc(`  <state id="a">`, `    <history id="h"/>`, `    <state id="a1"/>`, `  </state>`), pos: "3:5", msg: `<history id="h">: missing its default <transition>`},
		{name: "history transition with event",
			src: doc(`  <state id="a">`, `    <history id="h"><transition event="e" target="a1"/></history>`, `    <state id="a1"/>`, `  </state>`),
			pos: "3:21", msg: `<history id="h">: its default <transition> cannot have an event`},
		{name: "history default outside its parent", src: hist("", "b"), pos: "4:7", msg: `<history id="h">: default target "b" is not a child of "a"`},
		{name: "shallow history default to a grandchild", src: hist(` type="shallow"`, "a11"), pos: "4:7", msg: `default target "a11" is not a child of "a"`},
		{name: "deep history default outside its parent", src: hist(` type="deep"`, "b"), pos: "4:7", msg: `default target "b" is not a descendant of "a"`},
		{name: "bad history type", src: hist(` type="medium"`, "a1"), pos: "3:5", msg: `<history id="h">: type "medium" must be "shallow" or "deep"`},

		// Transitions.
		{name: "bad transition type",
			src: doc(`  <state id="a">`, `    <transition type="sideways" target="a"/>`, `  </state>`), pos: "3:5", msg: `<transition>: type "sideways" must be "internal" or "external"`},
		{name: "misspelt cond",
			src: doc(`  <state id="a">`, `    <transition event="e" conf="x == 1" target="a"/>`, `  </state>`), pos: "3:5", msg: `<transition>: unknown attribute "conf"`},
		{name: "empty event attribute",
			src: doc(`  <state id="a">`, `    <transition event=" " target="a"/>`, `  </state>`), pos: "3:5", msg: `<transition>: attribute "event" is empty`},
		{name: "transition in executable content",
			src: onentry(`<transition target="s"/>`), pos: "4:7", msg: "<transition> is not executable content (in <onentry>)"},

		// <send>.
		{name: "send event and eventexpr", src: onentry(`<send event="x" eventexpr="'y'"/>`), pos: "4:7", msg: `<send>: attributes "event" and "eventexpr" are mutually exclusive`},
		{name: "send target and targetexpr", src: onentry(`<send event="x" target="#_internal" targetexpr="'#_parent'"/>`), pos: "4:7", msg: `<send>: attributes "target" and "targetexpr" are mutually exclusive`},
		{name: "send type and typeexpr", src: onentry(`<send event="x" type="scxml" typeexpr="'scxml'"/>`), pos: "4:7", msg: `<send>: attributes "type" and "typeexpr" are mutually exclusive`},
		{name: "send id and idlocation", src: onentry(`<send event="x" id="i" idlocation="v"/>`), pos: "4:7", msg: `<send>: attributes "id" and "idlocation" are mutually exclusive`},
		{name: "send delay and delayexpr", src: onentry(`<send event="x" delay="1s" delayexpr="'1s'"/>`), pos: "4:7", msg: `<send>: attributes "delay" and "delayexpr" are mutually exclusive`},
		{name: "send content and namelist", src: onentry(`<send event="x" namelist="v"><content>1</content></send>`), pos: "4:7", msg: `<send>: <content> cannot be combined with "namelist" or <param>`},
		{name: "send content and param", src: onentry("<send>\n        <param name=\"p\" expr=\"1\"/>\n        <content>1</content>\n      </send>"), pos: "4:7", msg: `<send>: <content> cannot be combined with "namelist" or <param>`},
		{name: "send without event", src: onentry(`<send target="#_parent"/>`), pos: "4:7", msg: `<send>: needs "event", "eventexpr" or <content>`},
		{name: "send delay 5 minutes", src: onentry(`<send event="x" delay="5 minutes"/>`), pos: "4:7", msg: `<send>: delay "5 minutes": not a CSS2 time`},
		{name: "delayed send to #_internal", src: onentry(`<send event="x" target="#_internal" delay="1s"/>`), pos: "4:7", msg: `<send>: a send to "#_internal" cannot be delayed`},
		{name: "send with two contents", src: onentry("<send>\n        <content>1</content>\n        <content>2</content>\n      </send>"), pos: "6:9", msg: "<send>: more than one <content>"},
		{name: "param expr and location", src: onentry("<send event=\"x\">\n        <param name=\"p\" expr=\"1\" location=\"v\"/>\n      </send>"), pos: "5:9", msg: `<param>: attributes "expr" and "location" are mutually exclusive`},
		{name: "param without value", src: onentry("<send event=\"x\">\n        <param name=\"p\"/>\n      </send>"), pos: "5:9", msg: `<param name="p">: needs "expr" or "location"`},
		{name: "param without name", src: onentry("<send event=\"x\">\n        <param expr=\"1\"/>\n      </send>"), pos: "5:9", msg: `<param>: missing required attribute "name"`},

		// Other executable content.
		{name: "else outside if", src: onentry(`<else/>`), pos: "4:7", msg: "<else> outside <if>"},
		{name: "elseif outside if", src: onentry(`<elseif cond="true"/>`), pos: "4:7", msg: "<elseif> outside <if>"},
		{name: "elseif after else", src: onentry("<if cond=\"a\">\n      <else/>\n      <elseif cond=\"b\"/>\n      </if>"), pos: "6:7", msg: "<elseif> after <else>"},
		{name: "else with children", src: onentry("<if cond=\"a\">\n      <else><log/></else>\n      </if>"), pos: "5:7", msg: "<else> must be empty"},
		{name: "raise without event", src: onentry(`<raise/>`), pos: "4:7", msg: `<raise>: missing required attribute "event"`, n: 1},
		{name: "raise with two events", src: onentry(`<raise event="a b"/>`), pos: "4:7", msg: `<raise>: event "a b" must be a single event name`},
		{name: "foreach without array", src: onentry(`<foreach item="x"/>`), pos: "4:7", msg: `<foreach>: missing required attribute "array"`},
		{name: "foreach without item", src: onentry(`<foreach array="[]"/>`), pos: "4:7", msg: `<foreach>: missing required attribute "item"`},
		{name: "if without cond", src: onentry(`<if><log/></if>`), pos: "4:7", msg: `<if>: missing required attribute "cond"`},
		{name: "assign without location", src: onentry(`<assign expr="1"/>`), pos: "4:7", msg: `<assign>: missing required attribute "location"`},
		{name: "assign expr and content", src: onentry(`<assign location="x" expr="1">2</assign>`), pos: "4:7", msg: `<assign>: "expr" and inline content are mutually exclusive`},
		{name: "cancel without sendid", src: onentry(`<cancel/>`), pos: "4:7", msg: `<cancel>: needs "sendid" or "sendidexpr"`},
		{name: "log with unknown attribute", src: onentry(`<log labl="x" expr="1"/>`), pos: "4:7", msg: `<log>: unknown attribute "labl"`},
		{name: "script with child element", src: onentry("<script>x = 1;\n        <b/></script>"), pos: "5:9", msg: "<script>: unexpected child element"},
		{name: "unknown scxml element", src: onentry(`<sleep ms="10"/>`), pos: "4:7", msg: "<sleep> is not executable content (in <onentry>)"},
		{name: "foreign element refused by Options.Custom", src: onentry(`<x:unknown xmlns:x="urn:x"/>`), opts: custom, pos: "4:7", msg: "unknown executable content <unknown> (namespace urn:x)"},

		// Data.
		{name: "data without id", src: doc(`  <datamodel>`, `    <data expr="1"/>`, `  </datamodel>`, `  <state id="a"/>`), pos: "3:5", msg: `<data>: missing required attribute "id"`},
		{name: "data src and expr", src: doc(`  <datamodel>`, `    <data id="d" src="d.json" expr="1"/>`, `  </datamodel>`, `  <state id="a"/>`), pos: "3:5", msg: `<data>: attributes "src" and "expr" are mutually exclusive`},
		{name: "data expr and content", src: doc(`  <datamodel>`, `    <data id="d" expr="1">2</data>`, `  </datamodel>`, `  <state id="a"/>`), pos: "3:5", msg: `<data id="d">: inline content cannot be combined with "expr" or "src"`},
		{name: "duplicate data id", src: doc(`  <datamodel><data id="d"/></datamodel>`, `  <state id="a">`, `    <datamodel><data id="d"/></datamodel>`, `  </state>`), pos: "4:16", msg: `<data>: duplicate id "d" (first at 2:14)`},
		{name: "datamodel with other child", src: doc(`  <datamodel>`, `    <state id="x"/>`, `  </datamodel>`, `  <state id="a"/>`), pos: "3:5", msg: "<datamodel>: unexpected child <state>"},
		{name: "data in the null datamodel", src: head + " datamodel=\"null\">\n  <datamodel>\n    <data id=\"d\"/>\n  </datamodel>\n  <state id=\"a\"/>\n</scxml>", pos: "3:5", msg: `<data> requires a datamodel (this document has datamodel="null")`},
		{name: "content expr and body", src: onentry(`<send event="x"><content expr="1">2</content></send>`), pos: "4:23", msg: `<content>: "expr" and inline content are mutually exclusive`},
		{name: "donedata content and param", src: doc(`  <final id="f">`, `    <donedata><content>1</content><param name="p" expr="1"/></donedata>`, `  </final>`), pos: "3:5", msg: "<donedata>: <content> and <param> are mutually exclusive"},
		{name: "unloadable script src", src: doc(`  <script src="lib/missing.js"/>`, `  <state id="a"/>`), pos: "2:3", msg: `<script>: cannot load src "lib/missing.js": file does not exist`},
		{name: "script src and body", src: doc(`  <script src="lib.js">x = 1</script>`, `  <state id="a"/>`),
			opts: &Options{File: "doc.scxml", ReadFile: func(string) ([]byte, error) { return []byte("y = 1"), nil }},
			pos:  "2:3", msg: `<script>: "src" and inline script are mutually exclusive`},

		// <invoke> and <finalize>.
		{name: "raise in finalize",
			src: doc(`  <state id="a">`, `    <invoke type="scxml" src="child.scxml">`, `      <finalize>`, `        <if cond="true">`, `          <raise event="e"/>`, `        </if>`, `      </finalize>`, `    </invoke>`, `  </state>`),
			pos: "6:11", msg: "<finalize>: <raise> is not allowed"},
		{name: "send in finalize",
			src: doc(`  <state id="a">`, `    <invoke type="scxml" src="child.scxml">`, `      <finalize><foreach array="a" item="i">`, `        <send event="e"/></foreach></finalize>`, `    </invoke>`, `  </state>`),
			pos: "5:9", msg: "<finalize>: <send> is not allowed"},
		{name: "bad autoforward", src: doc(`  <state id="a">`, `    <invoke type="scxml" src="c.scxml" autoforward="yes"/>`, `  </state>`), pos: "3:5", msg: `<invoke>: autoforward "yes" must be "true" or "false"`},
		{name: "invoke id and idlocation", src: doc(`  <state id="a">`, `    <invoke type="scxml" src="c.scxml" id="i" idlocation="v"/>`, `  </state>`), pos: "3:5", msg: `<invoke>: attributes "id" and "idlocation" are mutually exclusive`},
		{name: "invoke src and content", src: doc(`  <state id="a">`, `    <invoke type="scxml" src="c.scxml"><content>x</content></invoke>`, `  </state>`), pos: "3:5", msg: `<invoke>: <content> cannot be combined with "src" or "srcexpr"`},
		{name: "invoke namelist and param", src: doc(`  <state id="a">`, `    <invoke type="scxml" src="c.scxml" namelist="v"><param name="p" expr="1"/></invoke>`, `  </state>`), pos: "3:5", msg: `<invoke>: "namelist" and <param> are mutually exclusive`},
		{name: "invoke in final", src: doc(`  <final id="f">`, `    <invoke type="scxml" src="c.scxml"/>`, `  </final>`), pos: "3:5", msg: "<final>: unexpected child <invoke>"},

		// Resource limits.
		{name: "nesting deeper than 1000", src: deep(1000), pos: deepPos, msg: "elements nested deeper than 1000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts == nil {
				opts = &Options{File: "doc.scxml", ReadFile: noFiles}
			}
			_, err := Parse([]byte(tc.src), opts)
			list := errorList(t, err)
			want := tc.n
			if want == 0 {
				want = 1
			}
			if len(list) != want {
				t.Errorf("got %d errors, want %d:\n%v", len(list), want, err)
			}
			e := list[0]
			if e.File != "doc.scxml" {
				t.Errorf("File = %q", e.File)
			}
			if got := e.Pos.String(); got != tc.pos || !strings.Contains(e.Msg, tc.msg) {
				t.Errorf("got  %v\nwant doc.scxml:%s: ...%s...", e, tc.pos, tc.msg)
			}
			if s := e.Error(); !strings.HasPrefix(s, "doc.scxml:"+e.Pos.String()+": ") {
				t.Errorf("Error() = %q", s)
			}
		})
	}
}

// Nesting is limited, not forbidden: 1000 levels of elements are fine.
func TestParseNestingLimit(t *testing.T) {
	n := 999 // <state> elements inside <scxml>: 1000 levels
	src := head + ">" + strings.Repeat("<state>", n) + strings.Repeat("</state>", n) + "</scxml>"
	d := mustParse(t, src, nil)
	if len(d.States) != n+1 || d.States[n].Depth != n {
		t.Fatalf("%d states, last at depth %d", len(d.States), d.States[len(d.States)-1].Depth)
	}
}

// Independent problems are all reported, in document order, as one
// ErrorList rendered one per line.
func TestParseReportsEveryError(t *testing.T) {
	src := doc(
		`  <state id="a">`,
		`    <transition event="e" conf="true" target="b"/>`, // line 3
		`  </state>`,
		`  <state id="b">`,
		`    <onentry><send event="x" delay="soon"/></onentry>`, // line 6
		`  </state>`,
		`  <final id="c"><onentry><else/></onentry></final>`, // line 8
	)
	_, err := Parse([]byte(src), &Options{File: "three.scxml"})
	list := errorList(t, err)
	want := []string{
		`three.scxml:3:5: <transition>: unknown attribute "conf"`,
		`three.scxml:6:14: <send>: delay "soon": not a CSS2 time`,
		`three.scxml:8:26: <else> outside <if>`,
	}
	if len(list) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(list), len(want), err)
	}
	lines := strings.Split(err.Error(), "\n")
	for i, w := range want {
		if !strings.HasPrefix(list[i].Error(), w) || !strings.HasPrefix(lines[i], w) {
			t.Errorf("error %d = %q, want prefix %q", i, list[i].Error(), w)
		}
		if !errors.Is(list[i], ErrInvalid) {
			t.Errorf("error %d does not wrap ErrInvalid", i)
		}
	}
	var e *Error
	if !errors.As(err, &e) || e != list[0] {
		t.Errorf("errors.As(*Error) = %v", e)
	}
}

func TestErrorRendering(t *testing.T) {
	e := &Error{Pos: Pos{3, 7}, Msg: "boom"}
	if got := e.Error(); got != "<input>:3:7: boom" {
		t.Errorf("no file: %q", got)
	}
	e.File = "a/b.scxml"
	if got := e.Error(); got != "a/b.scxml:3:7: boom" {
		t.Errorf("with file: %q", got)
	}
	if l := (ErrorList{e, e}); l.Error() != "a/b.scxml:3:7: boom\na/b.scxml:3:7: boom" {
		t.Errorf("list: %q", l.Error())
	}
	// Without Options, messages name "<input>".
	_, err := Parse([]byte(`<nope/>`), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "<input>:1:1: ") {
		t.Errorf("no options: %v", err)
	}
}

func TestParseFileMissingIsNotInvalid(t *testing.T) {
	_, err := ParseFile(filepath.Join(t.TempDir(), "none.scxml"), nil)
	if err == nil {
		t.Fatal("no error")
	}
	if errors.Is(err, ErrInvalid) {
		t.Errorf("missing file reported as an invalid document: %v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v does not wrap fs.ErrNotExist", err)
	}
	var list ErrorList
	if errors.As(err, &list) {
		t.Errorf("missing file reported as an ErrorList")
	}
}

func TestParseFileInvalidNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.scxml")
	if err := os.WriteFile(path, []byte(doc(`  <state id="a">`, `    <transition target="nowhere"/>`, `  </state>`)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ParseFile(path, nil)
	list := errorList(t, err)
	if want := path + `:3:5: target "nowhere": no such state`; list[0].Error() != want {
		t.Errorf("got %q, want %q", list[0].Error(), want)
	}
	// An explicit Options.File wins.
	_, err = ParseFile(path, &Options{File: "shown.scxml"})
	if list := errorList(t, err); list[0].File != "shown.scxml" {
		t.Errorf("File = %q", list[0].File)
	}
}
