package dot_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/orsgo/engine/scxml"
	"github.com/orsgo/engine/scxml/dot"
)

var outDir = flag.String("dotdir", "", "write the DOT and SVG of every fixture drawn to this directory, to look at")

// parseDoc parses an inline document.
func parseDoc(t *testing.T, name, src string) *scxml.Document {
	t.Helper()
	doc, err := scxml.Parse([]byte(src), &scxml.Options{File: name})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// draw renders doc, parses the DOT with the grammar check, checks it
// against the document, and runs Graphviz on it when it is installed.
func draw(t *testing.T, doc *scxml.Document, opts dot.Options) *parsed {
	t.Helper()
	text, err := dot.Bytes(doc, opts)
	if err != nil {
		t.Fatal(err)
	}
	g, err := parseDOT(string(text))
	if err != nil {
		t.Fatalf("%s: DOT does not parse: %v\n%s", doc.File, err, text)
	}
	checkGraph(t, doc, g)
	if svg := graphviz(t, text); svg != nil && *outDir != "" {
		base := filepath.Join(*outDir, strings.TrimSuffix(filepath.Base(doc.File), ".scxml"))
		_ = os.WriteFile(base+".dot", text, 0o644)
		_ = os.WriteFile(base+".svg", svg, 0o644)
	}
	return g
}

// graphviz runs dot -Tsvg on text when Graphviz is installed and fails
// on any error or warning; it returns nil when dot is missing.
func graphviz(t *testing.T, text []byte) []byte {
	t.Helper()
	path, err := exec.LookPath("dot")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Errorf("Graphviz's dot not installed: %v", err)
		}
		return nil
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(path, "-Tsvg")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(text), &out, &errb
	if err := cmd.Run(); err != nil || errb.Len() > 0 {
		t.Fatalf("dot -Tsvg: %v: %s\n%s", err, errb.Bytes(), text)
	}
	if !bytes.Contains(out.Bytes(), []byte("<svg")) {
		t.Fatalf("dot -Tsvg wrote no SVG")
	}
	return out.Bytes()
}

// checkGraph checks that g draws doc: a node or cluster per state, in
// its parent's cluster, labelled with its id; every arrow between
// declared nodes, clipped only at clusters that hold its end; every
// transition with targets on an arrow, labelled with its event.
func checkGraph(t *testing.T, doc *scxml.Document, g *parsed) {
	t.Helper()
	if !g.directed {
		t.Error("not a digraph")
	}
	if g.attrs["compound"] != "true" {
		t.Error("compound=true missing: arrows would not be clipped at clusters")
	}
	for _, s := range doc.States[1:] {
		name := fmt.Sprintf("s%d", s.Index)
		parent := ""
		if s.Parent.Kind != scxml.KindRoot {
			parent = fmt.Sprintf("cluster_s%d", s.Parent.Index)
		}
		if s.IsCompound() || s.Kind == scxml.KindParallel {
			c := g.clusters["cluster_"+name]
			if c == nil {
				t.Errorf("%s %s: no cluster", s.Kind, s.ID)
				continue
			}
			if c.parent != parent {
				t.Errorf("cluster of %s inside %q, want %q", s.ID, c.parent, parent)
			}
			if !strings.Contains(c.attrs["label"], "<b>"+s.ID+"</b>") {
				t.Errorf("cluster of %s labelled %q", s.ID, c.attrs["label"])
			}
			if s.Kind == scxml.KindParallel && !strings.Contains(c.attrs["style"], "dashed") {
				t.Errorf("parallel %s: style %q, want dashed", s.ID, c.attrs["style"])
			}
			if s.IsCompound() {
				if n := g.nodes[fmt.Sprintf("i%d", s.Index)]; n == nil || n.cluster != c.name || n.attrs["shape"] != "point" {
					t.Errorf("compound %s: no initial dot inside its cluster", s.ID)
				}
			}
			continue
		}
		n := g.nodes[name]
		if n == nil {
			t.Errorf("%s %s: no node", s.Kind, s.ID)
			continue
		}
		if n.cluster != parent {
			t.Errorf("node of %s inside %q, want %q", s.ID, n.cluster, parent)
		}
		switch s.Kind {
		case scxml.KindHistory:
			want := "H"
			if s.Deep {
				want = "H*"
			}
			if n.attrs["label"] != want || n.attrs["shape"] != "circle" {
				t.Errorf("history %s: label %q shape %q, want %q circle", s.ID, n.attrs["label"], n.attrs["shape"], want)
			}
		case scxml.KindFinal:
			if n.attrs["peripheries"] != "2" {
				t.Errorf("final %s: no double border", s.ID)
			}
			fallthrough
		default:
			if !strings.Contains(n.attrs["label"], "<b>"+s.ID+"</b>") {
				t.Errorf("node of %s labelled %q", s.ID, n.attrs["label"])
			}
		}
	}
	labels := ""
	for _, e := range g.edges {
		tail, head := g.nodes[e.tail], g.nodes[e.head]
		if tail == nil || head == nil {
			t.Errorf("edge %s -> %s: an end is not a declared node", e.tail, e.head)
			continue
		}
		if c := e.attrs["ltail"]; c != "" && (g.clusters[c] == nil || !g.inside(tail, c) || g.inside(head, c)) {
			t.Errorf("edge %s -> %s: ltail=%s does not hold the tail alone", e.tail, e.head, c)
		}
		if c := e.attrs["lhead"]; c != "" && (g.clusters[c] == nil || !g.inside(head, c) || g.inside(tail, c)) {
			t.Errorf("edge %s -> %s: lhead=%s does not hold the head alone", e.tail, e.head, c)
		}
		labels += e.attrs["label"] + "\n"
	}
	for _, tr := range doc.Transitions {
		if len(tr.Targets) == 0 || len(tr.Events) == 0 || tr.Source == nil {
			continue
		}
		if !strings.Contains(labels, strings.Join(tr.Events, " ")) {
			t.Errorf("transition of %s on %v: on no arrow", tr.Source.ID, tr.Events)
		}
	}
}

func TestFixtures(t *testing.T) {
	files, err := filepath.Glob("../../fixtures/testdata/*/*.scxml")
	if err != nil || len(files) < 20 {
		t.Fatalf("fixtures: %d files, %v", len(files), err)
	}
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, "../../fixtures/testdata/"), func(t *testing.T) {
			doc, err := scxml.ParseFile(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			draw(t, doc, dot.Options{})
		})
	}
}

func TestVoiceRoutingActive(t *testing.T) {
	doc, err := scxml.ParseFile("../../fixtures/testdata/routing/voice_routing.scxml", nil)
	if err != nil {
		t.Fatal(err)
	}
	g := draw(t, doc, dot.Options{Active: []string{"general"}, Title: "voice_routing, session s1"})
	if g.attrs["label"] != "voice_routing, session s1" {
		t.Errorf("title %q", g.attrs["label"])
	}
	id := func(s string) int { return doc.StateByID(s).Index }
	for _, s := range []string{"general", "select", "released"} {
		n := g.nodes[fmt.Sprintf("s%d", id(s))]
		filled := strings.Contains(n.attrs["style"], "filled") && n.attrs["fillcolor"] == "#ffd966"
		if filled != (s == "general") {
			t.Errorf("%s: style %q fill %q; active: %v", s, n.attrs["style"], n.attrs["fillcolor"], s == "general")
		}
	}
	// The ancestors of an active state are active: their frames stand out.
	for s, want := range map[string]bool{"in_call": true, "routing": true} {
		c := g.clusters[fmt.Sprintf("cluster_s%d", id(s))]
		if got := c.attrs["penwidth"] == "2.5"; got != want {
			t.Errorf("cluster %s: penwidth %q, active %v", s, c.attrs["penwidth"], want)
		}
	}
	// The three lookup outcomes share one arrow into routing's frame.
	var found bool
	for _, e := range g.edges {
		if e.tail == fmt.Sprintf("s%d", id("lookup")) {
			found = true
			if e.attrs["lhead"] != fmt.Sprintf("cluster_s%d", id("routing")) || !strings.Contains(e.attrs["label"], `lookup.done \n lookup.failed \n lookup.timeout`) {
				t.Errorf("lookup's arrow: %v", e.attrs)
			}
		}
	}
	if !found {
		t.Error("no arrow from lookup")
	}
	// Without a configuration nothing is filled but the final state.
	g = draw(t, doc, dot.Options{})
	for _, n := range g.nodes {
		if n.attrs["fillcolor"] == "#ffd966" {
			t.Errorf("%s highlighted with no configuration", n.name)
		}
	}
	if _, err := dot.Bytes(doc, dot.Options{Active: []string{"general", "nowhere"}}); !errors.Is(err, dot.ErrUnknownState) || !strings.Contains(err.Error(), `"nowhere"`) {
		t.Errorf("unknown active state: %v", err)
	}
}

const parallelDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="p" datamodel="ecmascript">
  <datamodel><data id="n" expr="0"/></datamodel>
  <parallel id="p">
    <history id="ph" type="deep"><transition target="a2"/></history>
    <state id="a" initial="a1">
      <state id="a1"><transition event="go" target="a2"/></state>
      <state id="a2"/>
      <transition event="tick" cond="n &lt; 3 &amp;&amp; x == &quot;q\\&quot;" type="internal" target="a1"><assign location="n" expr="n+1"/></transition>
      <transition event="note.*"><assign location="n" expr="0"/></transition>
    </state>
    <state id="b">
      <history id="bh"><transition target="b1"/></history>
      <state id="b1"><transition event="done.*" target="out"/></state>
    </state>
    <transition event="again" target="ph"/>
  </parallel>
  <final id="out"/>
</scxml>`

func TestParallelHistoryInternal(t *testing.T) {
	doc := parseDoc(t, "parallel.scxml", parallelDoc)
	g := draw(t, doc, dot.Options{Active: []string{"a1", "b1"}, LeftToRight: true})
	if g.attrs["rankdir"] != "LR" {
		t.Errorf("rankdir %q", g.attrs["rankdir"])
	}
	idx := func(s string) int { return doc.StateByID(s).Index }
	for _, r := range []string{"a", "b"} {
		if l := g.clusters[fmt.Sprintf("cluster_s%d", idx(r))].attrs["label"]; !strings.Contains(l, "(region)") {
			t.Errorf("region %s labelled %q", r, l)
		}
	}
	if l := g.clusters[fmt.Sprintf("cluster_s%d", idx("p"))].attrs["label"]; !strings.Contains(l, "(parallel)") {
		t.Errorf("parallel labelled %q", l)
	}
	// The targetless transition is listed in its state; the guard keeps
	// its quotes and backslash, escaped for the HTML label.
	if l := g.clusters[fmt.Sprintf("cluster_s%d", idx("a"))].attrs["label"]; !strings.Contains(l, "note /") {
		t.Errorf("targetless transition not in a's label: %q", l)
	}
	var internal, hist, again bool
	for _, e := range g.edges {
		switch {
		case strings.Contains(e.attrs["label"], "(internal)"):
			internal = true
			if !strings.Contains(e.attrs["label"], `[n < 3 && x == \"q\\\\\"]`) {
				t.Errorf("internal transition's guard: %q", e.attrs["label"])
			}
			if e.attrs["ltail"] != "" {
				t.Errorf("an arrow to a descendant cannot leave the frame: %v", e.attrs)
			}
			if n := g.nodes[e.tail]; n.attrs["shape"] != "circle" {
				t.Errorf("a's arrow to its own child starts at %v, want a visible anchor", n.attrs)
			}
		case e.tail == fmt.Sprintf("s%d", idx("ph")):
			hist = true
			if e.attrs["style"] != "dashed" || e.head != fmt.Sprintf("s%d", idx("a2")) {
				t.Errorf("deep history's default transition: %s -> %s %v", e.tail, e.head, e.attrs)
			}
		case strings.Contains(e.attrs["label"], "again"):
			again = true
			if e.head != fmt.Sprintf("s%d", idx("ph")) {
				t.Errorf("again goes to %s", e.head)
			}
		}
	}
	if !internal || !hist || !again {
		t.Errorf("arrows missing: internal %v, history default %v, again %v", internal, hist, again)
	}
	for _, s := range []string{"a", "b", "p"} {
		if c := g.clusters[fmt.Sprintf("cluster_s%d", idx(s))]; c.attrs["penwidth"] != "2.5" {
			t.Errorf("%s holds an active state: frame %v", s, c.attrs)
		}
	}
}

func TestLongGuardCut(t *testing.T) {
	doc := parseDoc(t, "long.scxml", `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0">
  <state id="a"><transition event="e" cond="aVeryLongVariableName == anotherVeryLongVariableName + yetAnotherOne" target="b"/></state>
  <state id="b"/>
</scxml>`)
	g := draw(t, doc, dot.Options{MaxLabel: 20})
	for _, e := range g.edges {
		if strings.Contains(e.attrs["label"], "[") && !strings.Contains(e.attrs["label"], "[aVeryLongVariableNa…]") {
			t.Errorf("guard not cut to 20 characters: %q", e.attrs["label"])
		}
	}
}

func TestWrite(t *testing.T) {
	doc := parseDoc(t, "w.scxml", `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" name="w"><state id="a"/></scxml>`)
	var b bytes.Buffer
	if err := dot.Write(&b, doc, dot.Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), `digraph "w" {`) {
		t.Errorf("Write: %q", b.String())
	}
	if _, err := dot.Bytes(nil, dot.Options{}); err == nil {
		t.Error("nil document accepted")
	}
}

// Invocations are listed under their state's name.
func TestInvokeLabels(t *testing.T) {
	for file, want := range map[string]string{
		"queue_child.scxml":   "<i>invoke router: queue_child_sub.scxml</i>",
		"queue_routing.scxml": "<i>invoke sel [urn:orsgo:queue:select-group]</i>",
	} {
		doc, err := scxml.ParseFile("../../fixtures/testdata/routing/"+file, nil)
		if err != nil {
			t.Fatal(err)
		}
		g := draw(t, doc, dot.Options{})
		found := false
		for _, c := range g.clusters {
			found = found || strings.Contains(c.attrs["label"], want)
		}
		for _, n := range g.nodes {
			found = found || strings.Contains(n.attrs["label"], want)
		}
		if !found {
			t.Errorf("%s: no label with %q", file, want)
		}
	}
}
