package scxml

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// structure is a document exercising the hierarchy: document order,
// depth, initial states from the three sources and generated ids.
var structure = head + ` name="machine" initial="p">
  <datamodel><data id="d" expr="1"/></datamodel>
  <parallel id="p">
    <state id="a">
      <state id="a1">
        <transition event="e.* f." cond="d == 1" target="a2"/>
      </state>
      <state id="a2"/>
    </state>
    <state id="b">
      <history id="h"><transition target="b2"/></history>
      <initial><transition target="b2"><log expr="'init'"/></transition></initial>
      <state id="b1"/>
      <state id="b2"/>
    </state>
    <state>
      <history type="deep"><transition target="c1"/></history>
      <state id="c1"/>
    </state>
  </parallel>
  <final id="done"/>
</scxml>`

func TestDocumentOrder(t *testing.T) {
	d := mustParse(t, structure, nil)
	var ids []string
	var depths []int
	for i, s := range d.States {
		if s.Index != i {
			t.Errorf("States[%d].Index = %d", i, s.Index)
		}
		ids = append(ids, s.ID)
		depths = append(depths, s.Depth)
	}
	gen1, gen2 := d.States[9].ID, d.States[10].ID
	wantIDs := []string{"machine", "p", "a", "a1", "a2", "b", "h", "b1", "b2", gen1, gen2, "c1", "done"}
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Errorf("ids = %q, want %q", ids, wantIDs)
	}
	if want := []int{0, 1, 2, 3, 3, 2, 3, 3, 3, 2, 3, 3, 1}; !reflect.DeepEqual(depths, want) {
		t.Errorf("depths = %v, want %v", depths, want)
	}
	root := d.Root
	if root != d.States[0] || root.Index != 0 || root.Kind != KindRoot || root.Parent != nil || d.Name != "machine" {
		t.Errorf("root: %+v", root)
	}
	if root.Pos != (Pos{1, 1}) {
		t.Errorf("root at %v", root.Pos)
	}
	if p := d.StateByID("p"); p.Pos != (Pos{3, 3}) || p.Kind != KindParallel {
		t.Errorf("p: kind %v at %v", p.Kind, p.Pos)
	}
	kinds := map[string]Kind{"p": KindParallel, "a": KindState, "h": KindHistory, "done": KindFinal, gen2: KindHistory}
	for id, k := range kinds {
		if s := d.StateByID(id); s == nil || s.Kind != k {
			t.Errorf("StateByID(%q) = %v, want kind %v", id, s, k)
		}
	}
	for i, s := range d.States {
		for j, c := range s.Children {
			if c.Parent != s {
				t.Errorf("%s.Children[%d].Parent = %v", s.ID, j, c.Parent)
			}
			if j > 0 && c.Index <= s.Children[j-1].Index {
				t.Errorf("%s: children out of order", s.ID)
			}
		}
		if i > 0 && (s.Parent == nil || s.Parent.Index >= s.Index) {
			t.Errorf("%s: parent %v", s.ID, s.Parent)
		}
	}
	for i, tr := range d.Transitions {
		if tr.Index != i || tr.Source == nil {
			t.Errorf("Transitions[%d]: index %d source %v", i, tr.Index, tr.Source)
		}
	}
	if !d.StateByID("h").Transitions[0].Source.IsDescendant(d.StateByID("b")) {
		t.Error("history transition source")
	}
}

func TestGeneratedIDs(t *testing.T) {
	d := mustParse(t, structure, nil)
	seen := map[string]bool{}
	for _, s := range d.States {
		if seen[s.ID] {
			t.Errorf("id %q used twice", s.ID)
		}
		seen[s.ID] = true
	}
	for _, i := range []int{9, 10} {
		s := d.States[i]
		if !strings.HasPrefix(s.ID, "_generated") {
			t.Errorf("id-less %v got id %q", s.Kind, s.ID)
		}
		if d.StateByID(s.ID) != s {
			t.Errorf("StateByID(%q) does not find it", s.ID)
		}
	}
	if s := d.StateByID("machine"); s != nil {
		t.Errorf("StateByID finds the root by its name: %v", s)
	}
	if s := d.StateByID("nope"); s != nil {
		t.Errorf("StateByID(nope) = %v", s)
	}
	if s := d.StateByID(""); s != nil {
		t.Errorf("StateByID(\"\") = %v", s)
	}
}

func TestHierarchyHelpers(t *testing.T) {
	d := mustParse(t, structure, nil)
	st := d.StateByID
	for _, tc := range []struct {
		s, anc string
		want   bool
	}{
		{"a1", "a", true}, {"a1", "p", true}, {"a1", "b", false}, {"a1", "a1", false},
		{"a", "a1", false}, {"h", "b", true}, {"c1", "p", true}, {"done", "p", false},
		{"b2", "a2", false},
	} {
		if got := st(tc.s).IsDescendant(st(tc.anc)); got != tc.want {
			t.Errorf("%s.IsDescendant(%s) = %v", tc.s, tc.anc, got)
		}
	}
	if !st("done").IsDescendant(d.Root) || d.Root.IsDescendant(st("p")) || st("a").IsDescendant(nil) {
		t.Error("IsDescendant with the root or nil")
	}
	for id, want := range map[string]int{"a1": 3, "a": 4, "b": 8, "p": 11, "done": 12, "machine": 12} {
		s := st(id)
		if id == "machine" {
			s = d.Root
		}
		if got := s.Last(); got != want {
			t.Errorf("%s.Last() = %d, want %d", id, got, want)
		}
		// The descendants are exactly the states in (Index, Last()].
		for _, x := range d.States {
			in := x.Index > s.Index && x.Index <= s.Last()
			if in != x.IsDescendant(s) {
				t.Errorf("%s: %s in range %v, IsDescendant %v", id, x.ID, in, !in)
			}
		}
	}
	for id, want := range map[string][2]bool{ // atomic, compound
		"a1": {true, false}, "a": {false, true}, "p": {false, false}, "done": {true, false}, "h": {false, false},
	} {
		if s := st(id); s.IsAtomic() != want[0] || s.IsCompound() != want[1] {
			t.Errorf("%s: atomic %v compound %v", id, s.IsAtomic(), s.IsCompound())
		}
	}
	if d.Root.IsAtomic() || d.Root.IsCompound() {
		t.Error("root is neither atomic nor compound")
	}
}

func targets(tr *Transition) string {
	if tr == nil {
		return "<nil>"
	}
	var ids []string
	for _, s := range tr.Targets {
		ids = append(ids, s.ID)
	}
	return strings.Join(ids, " ")
}

func TestInitial(t *testing.T) {
	d := mustParse(t, structure, nil)
	for id, want := range map[string]string{
		"machine": "p",  // initial attribute of <scxml>
		"a":       "a1", // first child
		"b":       "b2", // <initial> element
		"p":       "<nil>",
		"a1":      "<nil>",
		"h":       "<nil>",
		"done":    "<nil>",
	} {
		s := d.StateByID(id)
		if id == "machine" {
			s = d.Root
		}
		if got := targets(s.Initial); got != want {
			t.Errorf("%s: initial %q, want %q", id, got, want)
		}
		if s.Initial != nil && (s.Initial.Source != s || d.Transitions[s.Initial.Index] != s.Initial) {
			t.Errorf("%s: initial transition not registered", id)
		}
	}
	// The first child in document order, skipping history.
	if got := targets(d.States[9].Initial); got != "c1" {
		t.Errorf("state with history first: initial %q", got)
	}
	// The <initial> transition keeps its executable content and position.
	b := d.StateByID("b").Initial
	if len(b.Content) != 1 || b.Pos != (Pos{12, 16}) {
		t.Errorf("<initial> transition: %d actions at %v", len(b.Content), b.Pos)
	} else if l, ok := b.Content[0].(*Log); !ok || l.Expr.Source != "'init'" {
		t.Errorf("<initial> content: %#v", b.Content[0])
	}

	// An initial attribute naming several states of a parallel, and the
	// root defaulting to its first child.
	d = mustParse(t, doc(
		`  <state id="s" initial="x1 y2">`,
		`    <parallel id="q">`,
		`      <state id="x"><state id="x1"/><state id="x2"/></state>`,
		`      <state id="y"><state id="y1"/><state id="y2"/></state>`,
		`    </parallel>`,
		`  </state>`,
		`  <final id="f"/>`), nil)
	if got := targets(d.StateByID("s").Initial); got != "x1 y2" {
		t.Errorf("multi-target initial = %q", got)
	}
	if got := targets(d.Root.Initial); got != "s" {
		t.Errorf("root default initial = %q", got)
	}
}

func TestEventNormalisation(t *testing.T) {
	for _, tc := range []struct {
		attr string // "" means no event attribute
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a.*", []string{"a"}},
		{"a.", []string{"a"}},
		{"a.b.*", []string{"a.b"}},
		{"*", []string{"*"}},
		{"error.* done.state.s  foo.\tbar", []string{"error", "done.state.s", "foo", "bar"}},
		{"a.*.b", []string{"a.*.b"}},
		{".*", []string{".*"}}, // names no event: kept as written rather than matching all
	} {
		ev := ""
		if tc.attr != "" {
			ev = ` event="` + tc.attr + `"`
		}
		d := mustParse(t, doc(`  <state id="s"><transition`+ev+` target="s"/></state>`), nil)
		tr := d.StateByID("s").Transitions[0]
		if !reflect.DeepEqual(tr.Events, tc.want) {
			t.Errorf("event=%q: Events = %q, want %q", tc.attr, tr.Events, tc.want)
		}
	}
}

func TestTransitionModel(t *testing.T) {
	d := mustParse(t, doc(
		`  <state id="s">`,
		`    <state id="s1"/>`,
		`    <transition event="go" type="internal" target="s1"><raise event="r"/><log label="l"/></transition>`,
		`    <transition cond="true"/>`,
		`  </state>`), nil)
	s := d.StateByID("s")
	t0, t1 := s.Transitions[0], s.Transitions[1]
	if t0.Type != Internal || targets(t0) != "s1" || len(t0.Content) != 2 || t0.Pos != (Pos{4, 5}) || t0.Cond != nil {
		t.Errorf("t0: %+v", t0)
	}
	if t1.Type != External || len(t1.Targets) != 0 || t1.Events != nil || t1.Cond == nil || t1.Cond.Source != "true" {
		t.Errorf("t1: %+v", t1)
	}
	if r, ok := t0.Content[0].(*Raise); !ok || r.Event != "r" || r.Position() != (Pos{4, 56}) {
		t.Errorf("raise: %#v", t0.Content[0])
	}
}

// exprDoc has an expression in every attribute that holds one.
var exprDoc = doc(
	`  <datamodel><data id="v" expr="[1, 2]"/></datamodel>`,
	`  <state id="s">`,
	`    <onentry>`,
	`      <send eventexpr="'ev'" targetexpr="'#_internal'" typeexpr="'scxml'" idlocation="sid" delayexpr="'1s'" namelist="v w">`,
	`        <param name="p1" expr="1 + 1"/><param name="p2" location="v"/>`,
	`      </send>`,
	`      <cancel sendidexpr="sid"/>`,
	`      <log label="x" expr="v.length"/>`,
	`      <assign location="v" expr="[3]"/>`,
	`      <if cond="v[0] == 3"><elseif cond="false"/><else/></if>`,
	`      <foreach array="v" item="it" index="ix"><send event="x"><content expr="it"/></send></foreach>`,
	`    </onentry>`,
	`    <transition cond="In('s')" target="s"/>`,
	`    <invoke typeexpr="'scxml'" srcexpr="'c.scxml'" idlocation="iid"/>`,
	`  </state>`)

func TestExprs(t *testing.T) {
	d := mustParse(t, exprDoc, nil)
	type ex struct {
		attr, src string
		line      int
	}
	var got []ex
	for i, e := range d.Exprs {
		if e.ID != i {
			t.Errorf("Exprs[%d].ID = %d", i, e.ID)
		}
		got = append(got, ex{e.Attr, e.Source, e.Pos.Line})
	}
	want := []ex{
		{"expr", "[1, 2]", 2},
		{"eventexpr", "'ev'", 5}, {"targetexpr", "'#_internal'", 5}, {"typeexpr", "'scxml'", 5},
		{"idlocation", "sid", 5}, {"delayexpr", "'1s'", 5}, {"namelist", "v", 5}, {"namelist", "w", 5},
		{"expr", "1 + 1", 6}, {"location", "v", 6},
		{"sendidexpr", "sid", 8},
		{"expr", "v.length", 9},
		{"location", "v", 10}, {"expr", "[3]", 10},
		{"cond", "v[0] == 3", 11}, {"cond", "false", 11},
		{"array", "v", 12}, {"item", "it", 12}, {"index", "ix", 12}, {"expr", "it", 12},
		{"cond", "In('s')", 14},
		{"typeexpr", "'scxml'", 15}, {"srcexpr", "'c.scxml'", 15}, {"idlocation", "iid", 15},
	}
	// Order in Exprs is not promised; compare as multisets.
	count := map[ex]int{}
	for _, e := range want {
		count[e]++
	}
	for _, e := range got {
		count[e]--
	}
	for e, n := range count {
		if n != 0 {
			t.Errorf("expression %+v: count off by %d", e, -n)
		}
	}

	// The model points at the registered expressions.
	reg := func(what string, e *Expr) {
		t.Helper()
		if e == nil || e.ID >= len(d.Exprs) || d.Exprs[e.ID] != e {
			t.Errorf("%s: %+v not registered", what, e)
		}
	}
	s := d.StateByID("s")
	reg("data", d.Root.Data[0].Expr)
	block := s.OnEntry[0]
	send := block[0].(*Send)
	reg("eventexpr", send.EventExpr)
	reg("targetexpr", send.TargetExpr)
	reg("delayexpr", send.DelayExpr)
	reg("idlocation", send.IDLocation)
	reg("namelist", send.Namelist[1])
	reg("param expr", send.Params[0].Expr)
	reg("param location", send.Params[1].Location)
	if send.Params[0].Name != "p1" || send.Params[1].Expr != nil || send.Params[0].Location != nil {
		t.Errorf("params: %+v %+v", send.Params[0], send.Params[1])
	}
	reg("sendidexpr", block[1].(*Cancel).SendIDExpr)
	if l := block[2].(*Log); l.Label != "x" {
		t.Errorf("log label %q", l.Label)
	} else {
		reg("log", l.Expr)
	}
	reg("assign", block[3].(*Assign).Location)
	iff := block[4].(*If)
	if len(iff.Branches) != 3 || iff.Branches[2].Cond != nil {
		t.Errorf("if branches: %+v", iff.Branches)
	} else {
		reg("elseif", iff.Branches[1].Cond)
	}
	fe := block[5].(*Foreach)
	reg("array", fe.Array)
	reg("index", fe.Index)
	reg("content expr", fe.Body[0].(*Send).Content.Expr)
	reg("cond", s.Transitions[0].Cond)
	inv := s.Invokes[0]
	reg("srcexpr", inv.SrcExpr)
	if d.Invokes[0] != inv || inv.Parent != s || inv.Index != 0 {
		t.Errorf("invoke: %+v", inv)
	}
}

func TestExecutableModel(t *testing.T) {
	d := mustParse(t, doc(
		`  <state id="s" xmlns:x="urn:x">`,
		`    <onentry><send event="e" delay="1.5s" target="#_parent" type="scxml" id="one"/></onentry>`,
		`    <onentry><x:beep x:volume="3" tone="a"><x:sub/></x:beep><script>var z = 1;</script></onentry>`,
		`    <onexit><cancel sendid="one"/></onexit>`,
		`    <invoke type="scxml" src="c.scxml" id="inv" autoforward="true">`,
		`      <param name="n" expr="1"/>`,
		`      <finalize><log expr="1"/></finalize>`,
		`    </invoke>`,
		`  </state>`), nil)
	s := d.StateByID("s")
	if len(s.OnEntry) != 2 || len(s.OnExit) != 1 {
		t.Fatalf("%d onentry and %d onexit blocks", len(s.OnEntry), len(s.OnExit))
	}
	send := s.OnEntry[0][0].(*Send)
	if send.Event != "e" || send.Delay != "1.5s" || send.DelayDur != 1500*time.Millisecond || send.Target != "#_parent" || send.Type != "scxml" || send.ID != "one" {
		t.Errorf("send: %+v", send)
	}
	c, ok := s.OnEntry[1][0].(*Custom)
	if !ok {
		t.Fatalf("foreign element: %#v", s.OnEntry[1][0])
	}
	wantAttrs := map[string]string{"{urn:x}volume": "3", "tone": "a"}
	if c.Namespace != "urn:x" || c.Local != "beep" || !reflect.DeepEqual(c.Attrs, wantAttrs) || c.Pos != (Pos{4, 14}) {
		t.Errorf("custom: %+v", c)
	}
	if c.XML != `<x:beep x:volume="3" tone="a"><x:sub/></x:beep>` {
		t.Errorf("custom XML = %q", c.XML)
	}
	sc := s.OnEntry[1][1].(*Script)
	if sc.Source != "var z = 1;" || d.Scripts[sc.ID] != sc {
		t.Errorf("script: %+v", sc)
	}
	if cn := s.OnExit[0][0].(*Cancel); cn.SendID != "one" {
		t.Errorf("cancel: %+v", cn)
	}
	inv := s.Invokes[0]
	if inv.Type != "scxml" || inv.Src != "c.scxml" || inv.ID != "inv" || !inv.Autoforward || len(inv.Params) != 1 || len(inv.Finalize) != 1 {
		t.Errorf("invoke: %+v", inv)
	}
}

func TestDatamodelAttributes(t *testing.T) {
	for _, tc := range []struct {
		attrs   string
		dm      string
		binding Binding
		persist bool
	}{
		{"", DatamodelECMAScript, Early, true},
		{` datamodel="ECMAScript" binding="late"`, DatamodelECMAScript, Late, true},
		{` datamodel="null" binding="early"`, DatamodelNull, Early, true},
		{` _persist="false"`, DatamodelECMAScript, Early, false},
		{` _persist="true"`, DatamodelECMAScript, Early, true},
	} {
		d := mustParse(t, head+tc.attrs+`><state id="a"/></scxml>`, nil)
		if d.Datamodel != tc.dm || d.Binding != tc.binding || d.Persist != tc.persist {
			t.Errorf("%q: datamodel %q binding %v persist %v", tc.attrs, d.Datamodel, d.Binding, d.Persist)
		}
	}
}

func TestSourceAndHash(t *testing.T) {
	src := []byte(structure)
	d := mustParse(t, structure, nil)
	if !bytes.Equal(d.Source, src) || d.Hash != sha256.Sum256(src) {
		t.Error("Source/Hash do not match the input")
	}
	if d.File != "doc.scxml" {
		t.Errorf("File = %q", d.File)
	}
	// The hash is of the bytes as read, before any conversion to UTF-8.
	u := utf16Doc(`<?xml version="1.0" encoding="UTF-16"?>`+structure, false, true)
	d2, err := Parse(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d2.Hash != sha256.Sum256(u) || d2.Hash == d.Hash {
		t.Error("hash of a UTF-16 document")
	}
}

func TestDataSrc(t *testing.T) {
	var read []string
	opts := &Options{
		File: filepath.Join("charts", "main.scxml"),
		ReadFile: func(path string) ([]byte, error) {
			read = append(read, path)
			if strings.Contains(path, "missing") {
				return noFiles(path)
			}
			return []byte(`{"from": "` + filepath.ToSlash(path) + `"}`), nil
		},
	}
	d := mustParse(t, doc(
		`  <datamodel>`,
		`    <data id="rel" src="data/d.json"/>`,
		`    <data id="url" src="file:other.json"/>`,
		`    <data id="gone" src="missing.json"/>`,
		`    <data id="web" src="http://example.com/d.json"/>`,
		`  </datamodel>`,
		`  <state id="a"/>`), opts)
	want := []string{filepath.Join("charts", "data", "d.json"), filepath.Join("charts", "other.json"), filepath.Join("charts", "missing.json")}
	if !reflect.DeepEqual(read, want) {
		t.Errorf("read %q, want %q", read, want)
	}
	data := d.Root.Data
	if c := data[0].Content; data[0].Src != "data/d.json" || data[0].SrcError != "" || c == nil || c.Body != `{"from": "charts/data/d.json"}` || c.XML {
		t.Errorf("rel: %+v %+v", data[0], c)
	}
	if data[1].Content == nil || data[1].SrcError != "" {
		t.Errorf("file: URL: %+v", data[1])
	}
	// A src that cannot be loaded is an error.execution at run time, not a
	// rejected document (5.3).
	if data[2].Content != nil || !strings.Contains(data[2].SrcError, "missing.json") {
		t.Errorf("missing: %+v", data[2])
	}
	if data[3].Content != nil || !strings.Contains(data[3].SrcError, "only local files") {
		t.Errorf("http: %+v", data[3])
	}
}

func TestSrcRelativeToFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sub/d.json", `[1, 2, 3]`)
	write("lib.js", `function f() { return 1; }`)
	write("main.scxml", doc(
		`  <datamodel>`,
		`    <data id="d" src="sub/d.json"/>`,
		`    <data id="m" src="nothere.json"/>`,
		`  </datamodel>`,
		`  <script src="lib.js"/>`,
		`  <state id="a"/>`))
	d, err := ParseFile(filepath.Join(dir, "main.scxml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := d.Root.Data[0].Content; c == nil || c.Body != `[1, 2, 3]` {
		t.Errorf("data src: %+v", d.Root.Data[0])
	}
	if m := d.Root.Data[1]; m.Content != nil || m.SrcError == "" {
		t.Errorf("missing data src: %+v", m)
	}
	if s := d.Root.Script; s == nil || s.Src != "lib.js" || s.Source != `function f() { return 1; }` || d.Scripts[0] != s {
		t.Errorf("script src: %+v", s)
	}
	if d.File != filepath.Join(dir, "main.scxml") {
		t.Errorf("File = %q", d.File)
	}
}

func TestContent(t *testing.T) {
	d := mustParse(t, doc(
		`  <datamodel>`,
		`    <data id="x"><root xmlns="urn:r"><a n='1'/>t</root></data>`,
		`    <data id="txt">  plain &amp; simple  </data>`,
		`  </datamodel>`,
		`  <state id="s">`,
		`    <onentry>`,
		`      <send event="e"><content>`,
		`        <m:msg xmlns:m="urn:m" a='1'><m:b>x &lt; y</m:b><!-- c --></m:msg>`,
		`      </content></send>`,
		`      <send event="e"><content>just text</content></send>`,
		`      <send event="e"><content expr="1 + 2"/></send>`,
		`    </onentry>`,
		`  </state>`,
		`  <final id="f"><donedata><content>done</content></donedata></final>`), nil)
	x, txt := d.Root.Data[0].Content, d.Root.Data[1].Content
	if x == nil || !x.XML || x.Body != `<root xmlns="urn:r"><a n='1'/>t</root>` {
		t.Errorf("data XML: %+v", x)
	}
	if txt == nil || txt.XML || strings.TrimSpace(txt.Body) != "plain & simple" {
		t.Errorf("data text: %+v", txt)
	}
	block := d.StateByID("s").OnEntry[0]
	c := block[0].(*Send).Content
	// The markup is kept as written: quotes, entities and comments.
	want := `<m:msg xmlns:m="urn:m" a='1'><m:b>x &lt; y</m:b><!-- c --></m:msg>`
	if !c.XML || c.Body != want || c.Expr != nil || c.Pos != (Pos{8, 23}) {
		t.Errorf("content XML: %+v\nwant body %q", c, want)
	}
	if c := block[1].(*Send).Content; c.XML || c.Body != "just text" {
		t.Errorf("content text: %+v", c)
	}
	if c := block[2].(*Send).Content; c.Expr == nil || c.Expr.Source != "1 + 2" || c.Body != "" || c.XML {
		t.Errorf("content expr: %+v", c)
	}
	if dd := d.StateByID("f").Donedata; dd == nil || dd.Content == nil || dd.Content.Body != "done" {
		t.Errorf("donedata: %+v", dd)
	}
}

// encodingBody carries non-ASCII text in a data expression.
const encodingBody = `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">
<datamodel><data id="d" expr="'Heizölrückstoß, déjà vu'"/></datamodel>
<state id="a"/></scxml>`

func utf16Doc(s string, big, bom bool) []byte {
	var b []byte
	if bom {
		if big {
			b = []byte{0xFE, 0xFF}
		} else {
			b = []byte{0xFF, 0xFE}
		}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if big {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}

// cp1252 holds the windows-1252 bytes of 0x80-0x9F the tests use (from
// the code page's published table, not from the parser's decoder).
var cp1252 = map[rune]byte{'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, 'Œ': 0x8C, 'Ž': 0x8E,
	'‘': 0x91, '’': 0x92, '“': 0x93, '”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '™': 0x99, 'š': 0x9A, 'œ': 0x9C, 'Ÿ': 0x9F}

// singleByteDoc encodes s in ISO-8859-1, or windows-1252 when cp is set.
func singleByteDoc(t *testing.T, s string, cp bool) []byte {
	var b []byte
	for _, r := range s {
		switch {
		case r < 0x80 || r >= 0xA0 && r <= 0xFF:
			b = append(b, byte(r))
		case cp:
			c, ok := cp1252[r]
			if !ok {
				t.Fatalf("%q not in this test's windows-1252 table", r)
			}
			b = append(b, c)
		default:
			t.Fatalf("%q not in ISO-8859-1", r)
		}
	}
	return b
}

func TestEncodings(t *testing.T) {
	decl := func(enc string) string { return `<?xml version="1.0" encoding="` + enc + `"?>` + "\n" }
	const want = "'Heizölrückstoß, déjà vu'"
	for _, tc := range []struct {
		name string
		src  []byte
	}{
		{"utf-8", []byte(decl("UTF-8") + encodingBody)},
		{"utf-8 with BOM", append([]byte{0xEF, 0xBB, 0xBF}, decl("utf-8")+encodingBody...)},
		{"utf-8 undeclared", []byte("<!-- no declaration -->\n" + encodingBody)},
		{"utf-16le with BOM", utf16Doc(decl("UTF-16")+encodingBody, false, true)},
		{"utf-16be with BOM", utf16Doc(decl("UTF-16")+encodingBody, true, true)},
		{"utf-16be without BOM", utf16Doc(decl("UTF-16BE")+encodingBody, true, false)},
		{"utf-16le without BOM", utf16Doc(decl("UTF-16LE")+encodingBody, false, false)},
		{"iso-8859-1", singleByteDoc(t, decl("ISO-8859-1")+encodingBody, false)},
		{"latin1", singleByteDoc(t, decl("latin1")+encodingBody, false)},
		{"windows-1252", singleByteDoc(t, decl("windows-1252")+encodingBody, true)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse(tc.src, &Options{File: tc.name})
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Root.Data[0].Expr.Source; got != want {
				t.Errorf("expr %q, want %q", got, want)
			}
			if p := d.StateByID("a").Pos; p.Line != 4 {
				t.Errorf("state a at %v, want line 4", p)
			}
		})
	}
	// windows-1252 differs from ISO-8859-1 in 0x80-0x9F; UTF-16 carries
	// characters outside the BMP as surrogate pairs.
	for _, tc := range []struct{ name, want string }{
		{"windows-1252 specials", "'€ œ “q” — ™'"},
		{"utf-16 surrogates", "'𝄞 €'"},
	} {
		body := strings.Replace(encodingBody, "'Heizölrückstoß, déjà vu'", tc.want, 1)
		var src []byte
		if strings.HasPrefix(tc.name, "utf-16") {
			src = utf16Doc(decl("UTF-16")+body, false, true)
		} else {
			src = singleByteDoc(t, decl("windows-1252")+body, true)
		}
		d, err := Parse(src, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := d.Root.Data[0].Expr.Source; got != tc.want {
			t.Errorf("%s: expr %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseDelay(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1s", time.Second, true},
		{"1.5s", 1500 * time.Millisecond, true},
		{"250ms", 250 * time.Millisecond, true},
		{"0", 0, true},
		{"0s", 0, true},
		{"0ms", 0, true},
		{".5s", 500 * time.Millisecond, true},
		{" 2s ", 2 * time.Second, true},
		{"3600s", time.Hour, true},
		{"-1s", 0, false},
		{"1m", 0, false},
		{"1h", 0, false},
		{"NaN s", 0, false},
		{"NaNs", 0, false},
		{"Infs", 0, false},
		{"0x10s", 0, false},
		{"5 minutes", 0, false},
		{"1", 0, false},
		{"s", 0, false},
		{"ms", 0, false},
		{"", 0, false},
		{"1e400s", 0, false},
		{"9999999999999999999s", 0, false},
	} {
		got, err := ParseDelay(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDelay(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "not a CSS2 time") {
			t.Errorf("ParseDelay(%q): message %q", tc.in, err)
		}
	}
}

func TestPosString(t *testing.T) {
	if s := (Pos{12, 3}).String(); s != "12:3" {
		t.Errorf("Pos.String = %q", s)
	}
	for k, want := range map[Kind]string{KindRoot: "scxml", KindState: "state", KindParallel: "parallel", KindFinal: "final", KindHistory: "history", Kind(9): "Kind(9)"} {
		if k.String() != want {
			t.Errorf("Kind(%d).String() = %q", k, k.String())
		}
	}
}
