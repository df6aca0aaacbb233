package scxml

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// w3cDir is where the W3C IRP documents live: $SCXML_W3C_DIR, or else the
// shared checkout next to the module (the test runs in scxml/).
func w3cDir() string {
	if dir := os.Getenv("SCXML_W3C_DIR"); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", "shared", "w3c")
}

// fuzzReadFile loads src attributes without touching the file system:
// some paths load, others fail, so both outcomes are exercised.
func fuzzReadFile(path string) ([]byte, error) {
	if len(path)%2 == 0 {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	return []byte(`{"a": [1, 2]}`), nil
}

// FuzzParse: the parser never panics; what it accepts is a consistent
// model, and what it rejects comes as positioned errors.
func FuzzParse(f *testing.F) {
	// Seeds: every W3C document (skipped silently when absent) ...
	_ = filepath.WalkDir(w3cDir(), func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(path, ".scxml") {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b)
		}
		return nil
	})
	// ... and hand-written ones covering what the W3C suite does not.
	for _, s := range []string{
		structure,
		exprDoc,
		encodingBody,
		doc(`  <state id="a"><transition event="*" target="a"/></state>`),
		doc(`  <script src="lib.js"/>`, `  <datamodel><data id="d" src="d.json"/><data id="e"><x a="1"/></data></datamodel>`, `  <final id="f"/>`),
		doc(`  <state id="a" initial="a1"><initial><transition target="a1"/></initial><state id="a1"/></state>`),
		doc(`  <state id="s"><history type="deep" id="h"><transition target="x1 y1"/></history>`,
			`    <parallel id="p"><state id="x"><state id="x1"/></state><state id="y"><state id="y1"/></state></parallel></state>`),
		onentry(`<if cond="a"><raise event="x"/><elseif cond="b"/><else/><foreach array="v" item="i"><log/></foreach></if>`),
		onentry(`<send event="x" delay="1.5s"><content><m:x xmlns:m="urn:m"/></content></send><x:y xmlns:x="urn:x"/>`),
		head + ">" + strings.Repeat("<state>", 20) + strings.Repeat("</state>", 20) + "</scxml>",
		string(utf16Doc(`<?xml version="1.0" encoding="UTF-16"?>`+encodingBody, true, true)),
		`<?xml version="1.0" encoding="windows-1252"?>` + head + "><datamodel><data id=\"d\" expr=\"'\x80\x9c'\"/></datamodel><state id=\"a\"/></scxml>",
		doc(`  <state id="a">`, `    <transition target="b"/>`, `  </state>`), // invalid
		"<scxml",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		opts := &Options{File: "f.scxml", ReadFile: fuzzReadFile}
		d, err := Parse(src, opts)
		if err != nil {
			checkRejected(t, err)
			// The same input gets the same verdict.
			if _, err2 := Parse(src, opts); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("second parse: %v\nfirst: %v", err2, err)
			}
			return
		}
		checkDocument(t, d, src)
	})
}

func checkRejected(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("error does not wrap ErrInvalid: %v", err)
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("error is %T, not a non-empty ErrorList: %v", err, err)
	}
	for _, e := range list {
		if e == nil {
			t.Fatal("nil *Error in the list")
		}
		if e.Pos.Line < 1 || e.Pos.Col < 1 || e.File != "f.scxml" || e.Msg == "" {
			t.Fatalf("badly positioned error %q (%+v)", e.Error(), *e)
		}
	}
}

// checkDocument verifies the invariants of an accepted document.
func checkDocument(t *testing.T, d *Document, src []byte) {
	t.Helper()
	if string(d.Source) != string(src) {
		t.Fatal("Source differs from the input")
	}
	if len(d.States) == 0 || d.Root != d.States[0] || d.Root.Kind != KindRoot || d.Root.Parent != nil || d.Root.Depth != 0 {
		t.Fatalf("bad root %+v", d.Root)
	}
	if d.Datamodel != DatamodelECMAScript && d.Datamodel != DatamodelNull {
		t.Fatalf("datamodel %q", d.Datamodel)
	}
	for i, s := range d.States {
		if s.Index != i {
			t.Fatalf("state %q: Index %d at position %d", s.ID, s.Index, i)
		}
		if s.ID == "" && s.Kind != KindRoot {
			t.Fatalf("state %d has no id", i)
		}
		if s.Pos.Line < 1 || s.Pos.Col < 1 {
			t.Fatalf("state %q at %v", s.ID, s.Pos)
		}
		if i > 0 {
			p := s.Parent
			if p == nil || p.Index >= i || d.States[p.Index] != p || s.Depth != p.Depth+1 {
				t.Fatalf("state %q: parent %v depth %d", s.ID, p, s.Depth)
			}
			if s.Kind == KindRoot || p.Kind == KindFinal || p.Kind == KindHistory {
				t.Fatalf("state %q (%v) inside %v", s.ID, s.Kind, p.Kind)
			}
			n := 0
			for _, c := range p.Children {
				if c == s {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("state %q appears %d times among its parent's children", s.ID, n)
			}
		}
		last := s.Index
		for j, c := range s.Children {
			if c.Parent != s || c.Index <= last {
				t.Fatalf("state %q: child %d (%q) out of order or not ours", s.ID, j, c.ID)
			}
			last = c.Last()
		}
		if s.Last() != last {
			t.Fatalf("state %q: Last %d, want %d", s.ID, s.Last(), last)
		}
		nonHistory := 0
		for _, c := range s.Children {
			if c.Kind != KindHistory {
				nonHistory++
			}
		}
		wantAtomic := (s.Kind == KindState || s.Kind == KindFinal) && nonHistory == 0
		if s.IsAtomic() != wantAtomic {
			t.Fatalf("state %q: IsAtomic %v", s.ID, s.IsAtomic())
		}
		if s.IsCompound() || s.Kind == KindRoot {
			if s.Initial == nil || len(s.Initial.Targets) == 0 {
				t.Fatalf("%v %q without initial targets", s.Kind, s.ID)
			}
			for _, x := range s.Initial.Targets {
				if x == nil || !x.IsDescendant(s) {
					t.Fatalf("%q: initial target %v is not a descendant", s.ID, x)
				}
			}
		} else if s.Initial != nil {
			t.Fatalf("%v %q has an initial transition", s.Kind, s.ID)
		}
		if s.Kind == KindHistory {
			if len(s.Transitions) != 1 || len(s.Transitions[0].Targets) == 0 {
				t.Fatalf("history %q: %d transitions", s.ID, len(s.Transitions))
			}
			for _, x := range s.Transitions[0].Targets {
				if !x.IsDescendant(s.Parent) || !s.Deep && x.Parent != s.Parent {
					t.Fatalf("history %q: default target %q outside its parent", s.ID, x.ID)
				}
			}
		}
		if s.Kind == KindFinal && len(s.Transitions) > 0 {
			t.Fatalf("final %q has transitions", s.ID)
		}
		for _, tr := range s.Transitions {
			if tr.Source != s || d.Transitions[tr.Index] != tr {
				t.Fatalf("state %q: transition not registered", s.ID)
			}
		}
		for _, inv := range s.Invokes {
			if inv.Parent != s || d.Invokes[inv.Index] != inv {
				t.Fatalf("state %q: invoke not registered", s.ID)
			}
		}
	}
	for i, tr := range d.Transitions {
		if tr.Index != i || tr.Source == nil || d.States[tr.Source.Index] != tr.Source {
			t.Fatalf("transition %d: index %d source %v", i, tr.Index, tr.Source)
		}
		for _, x := range tr.Targets {
			if x == nil || d.States[x.Index] != x {
				t.Fatalf("transition %d: bad target %v", i, x)
			}
		}
		for _, ev := range tr.Events {
			if ev == "" || strings.ContainsAny(ev, " \t\r\n") {
				t.Fatalf("transition %d: event descriptor %q", i, ev)
			}
		}
	}
	for i, e := range d.Exprs {
		if e == nil || e.ID != i || e.Attr == "" || e.Pos.Line < 1 {
			t.Fatalf("expression %d: %+v", i, e)
		}
	}
	for i, s := range d.Scripts {
		if s.ID != i {
			t.Fatalf("script %d has ID %d", i, s.ID)
		}
	}
	for i, inv := range d.Invokes {
		if inv.Index != i || inv.Parent == nil {
			t.Fatalf("invoke %d: %+v", i, inv)
		}
	}
}
