// Package dot draws an SCXML document as a Graphviz DOT graph, with a
// session's active configuration highlighted.
//
// The drawing follows the statechart conventions of the SCXML
// specification's figures and of UML:
//
//   - an atomic <state> is a rounded box; a <final> is a rounded box with a
//     double border;
//   - a compound <state> is a cluster (a rounded frame holding its
//     children), a <parallel> a dashed cluster whose children, the regions,
//     are drawn side by side and marked "region";
//   - the initial transition of the document and of each compound state
//     leaves a small black dot (the initial pseudo-state) inside the frame;
//   - a <history> pseudo-state is a circle marked H (shallow) or H* (deep),
//     its default transition a dashed arrow;
//   - a state's <invoke> elements are listed, in italics, under its name;
//   - a transition is an arrow labelled "event [guard]", with "(internal)"
//     for type="internal" (section 3.13); an eventless transition is
//     labelled with its guard alone, or not at all. A targetless
//     transition, which changes no state, is listed inside its state
//     under the state's name, as UML lists internal activities.
//
// An arrow that leaves or enters a compound state starts or ends on the
// cluster's frame (Graphviz's compound edges), so the picture reads as
// the document does; one that goes from a compound state to one of its
// own descendants (which Graphviz cannot start on the frame) starts at a
// small hollow circle inside it. Transitions between the same two states
// share one arrow, their labels one a line. States in the active configuration are filled;
// their clusters get a thick coloured frame.
//
// Write needs nothing but the document: no Graphviz. Rendering the DOT
// (to SVG, PNG) is Graphviz's dot's job; see cmd/scxml's dot command.
package dot

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/orsgo/engine/scxml"
)

// ErrUnknownState is wrapped by the error Write returns when
// Options.Active names a state the document does not have.
var ErrUnknownState = errors.New("dot: unknown state")

// Options tune the drawing. The zero value draws the document with
// nothing highlighted, top to bottom.
type Options struct {
	// Active lists the ids of the states to highlight: a session's
	// configuration (engine.Session.Configuration, or the Configuration
	// of a decoded snapshot). Ids the document lacks are an error
	// wrapping ErrUnknownState. Ancestors of active states are
	// highlighted too, as they are active as well (section 3.11).
	// default: none
	Active []string
	// Title is drawn above the graph.
	// default: the document's name, or its file name
	Title string
	// LeftToRight lays the chart out from left to right rather than top
	// to bottom.
	// default: false
	LeftToRight bool
	// MaxLabel bounds the length, in characters, of a transition's guard
	// and event list in a label; longer text is cut with "…".
	// default: DefaultMaxLabel
	MaxLabel int
}

// DefaultMaxLabel is the default Options.MaxLabel.
const DefaultMaxLabel = 40

// Colours of the drawing; the active ones stand out on both light and
// dark viewers.
const (
	activeFill   = "#ffd966"
	activeBorder = "#c0392b"
	finalFill    = "#eeeeee"
)

// Write writes doc as a DOT digraph to w.
func Write(w io.Writer, doc *scxml.Document, opts Options) error {
	b, err := Bytes(doc, opts)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Bytes returns doc as a DOT digraph.
func Bytes(doc *scxml.Document, opts Options) ([]byte, error) {
	if doc == nil || doc.Root == nil {
		return nil, errors.New("dot: nil document")
	}
	if opts.MaxLabel <= 0 {
		opts.MaxLabel = DefaultMaxLabel
	}
	g := &graph{doc: doc, opts: opts, active: make([]bool, len(doc.States))}
	var unknown []string
	for _, id := range opts.Active {
		s := doc.StateByID(id)
		if s == nil {
			unknown = append(unknown, id)
			continue
		}
		for ; s != nil; s = s.Parent {
			g.active[s.Index] = true
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("dot: active states %s: not in document %s: %w", strings.Join(quoteAll(unknown), ", "), docName(doc), ErrUnknownState)
	}
	g.write()
	return g.buf.Bytes(), nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func docName(doc *scxml.Document) string {
	switch {
	case doc.Name != "":
		return doc.Name
	case doc.File != "":
		return filepath.Base(doc.File)
	}
	return "(unnamed)"
}

// graph is one drawing in progress.
type graph struct {
	doc    *scxml.Document
	opts   Options
	active []bool // by state index: in the configuration, or an ancestor of one
	edges  []edge
	buf    bytes.Buffer
	indent int
}

func (g *graph) line(format string, args ...any) {
	for range g.indent {
		g.buf.WriteString("  ")
	}
	fmt.Fprintf(&g.buf, format, args...)
	g.buf.WriteByte('\n')
}

// Names of the DOT nodes and clusters: by document index, so that any id
// (an SCXML id is an XML ID, but generated ones start with "_") is safe.
func nodeName(s *scxml.State) string    { return fmt.Sprintf("s%d", s.Index) }
func clusterName(s *scxml.State) string { return fmt.Sprintf("cluster_s%d", s.Index) }
func initName(s *scxml.State) string    { return fmt.Sprintf("i%d", s.Index) }

// isCluster reports whether s is drawn as a cluster: compound states,
// parallel states (even childless ones, for the frame) and the root.
func isCluster(s *scxml.State) bool {
	return s.Kind == scxml.KindRoot || s.Kind == scxml.KindParallel || s.IsCompound()
}

// headAnchor returns the DOT node an arrow into s ends on: the state's
// node, or for a cluster its initial dot (for a parallel state, which has
// none, its transitions' anchor), the arrow being clipped at the frame.
func headAnchor(s *scxml.State) string {
	switch {
	case !isCluster(s):
		return nodeName(s)
	case s.Kind != scxml.KindParallel && s.Initial != nil:
		return initName(s)
	}
	return outName(s)
}

// tailAnchor returns the DOT node the arrows of s's transitions start
// from: the state's node, or for a cluster its transitions' anchor.
func tailAnchor(s *scxml.State) string {
	if isCluster(s) {
		return outName(s)
	}
	return nodeName(s)
}

func outName(s *scxml.State) string { return fmt.Sprintf("o%d", s.Index) }

// needsOut reports whether cluster s needs its transitions' anchor: it
// has transitions with targets, or is a parallel state (arrows into it
// end there).
func needsOut(s *scxml.State) bool {
	if s.Kind == scxml.KindParallel {
		return true
	}
	for _, t := range s.Transitions {
		if len(t.Targets) > 0 {
			return true
		}
	}
	return false
}

// innerTargets reports whether one of s's transitions targets s itself
// or one of its descendants: such an arrow cannot start on s's frame, so
// it starts at a visible anchor inside it.
func innerTargets(s *scxml.State) bool {
	for _, t := range s.Transitions {
		for _, target := range t.Targets {
			if target == s || target.IsDescendant(s) {
				return true
			}
		}
	}
	return false
}

func (g *graph) write() {
	title := g.opts.Title
	if title == "" {
		title = docName(g.doc)
	}
	g.line("digraph %s {", quote(docName(g.doc)))
	g.indent++
	rank := "TB"
	if g.opts.LeftToRight {
		rank = "LR"
	}
	g.line("graph [compound=true, rankdir=%s, fontname=\"Helvetica\", fontsize=14, labelloc=t, label=%s, nodesep=0.35, ranksep=0.45];", rank, quote(title))
	g.line("node [fontname=\"Helvetica\", fontsize=11, shape=box, style=\"rounded\", margin=\"0.12,0.06\"];")
	g.line("edge [fontname=\"Helvetica\", fontsize=9, arrowsize=0.7];")
	// The root's initial dot and its children sit directly in the graph.
	g.initialDot(g.doc.Root)
	for _, c := range g.doc.Root.Children {
		g.state(c)
	}
	for _, s := range g.doc.States {
		g.transitions(s)
	}
	g.writeEdges()
	g.indent--
	g.line("}")
}

// state draws s and its descendants.
func (g *graph) state(s *scxml.State) {
	switch {
	case s.Kind == scxml.KindHistory:
		label := "H"
		if s.Deep {
			label = "H*"
		}
		g.line("%s [shape=circle, style=\"\", width=0.3, fixedsize=true, fontsize=10, label=%s, tooltip=%s];", nodeName(s), quote(label), quote(s.ID+" ("+histKind(s)+" history)"))
	case isCluster(s):
		g.cluster(s)
	default:
		attrs := []string{"label=" + g.stateLabel(s)}
		if s.Kind == scxml.KindFinal {
			attrs = append(attrs, "peripheries=2")
		}
		switch {
		case g.active[s.Index]:
			attrs = append(attrs, `style="rounded,filled,bold"`, "fillcolor="+quote(activeFill), "color="+quote(activeBorder), "penwidth=2")
		case s.Kind == scxml.KindFinal:
			attrs = append(attrs, `style="rounded,filled"`, "fillcolor="+quote(finalFill))
		}
		g.line("%s [%s];", nodeName(s), strings.Join(attrs, ", "))
	}
}

func histKind(s *scxml.State) string {
	if s.Deep {
		return "deep"
	}
	return "shallow"
}

// cluster draws a compound or parallel state as a frame around its
// children.
func (g *graph) cluster(s *scxml.State) {
	g.line("subgraph %s {", clusterName(s))
	g.indent++
	style := "rounded"
	if s.Kind == scxml.KindParallel {
		style = "rounded,dashed"
	}
	if s.Parent != nil && s.Parent.Kind == scxml.KindParallel {
		style += ",filled"
		g.line("fillcolor=%s;", quote("#f7f9fc"))
	}
	g.line("style=%s;", quote(style))
	g.line("label=%s;", g.stateLabel(s))
	g.line("labeljust=l;")
	if g.active[s.Index] {
		g.line("color=%s; penwidth=2.5; fontcolor=%s;", quote(activeBorder), quote(activeBorder))
	} else {
		g.line("color=%s;", quote("#555555"))
	}
	g.initialDot(s)
	switch {
	case innerTargets(s):
		g.line("%s [shape=circle, style=\"\", width=0.14, fixedsize=true, label=\"\", color=%s, tooltip=%s];", outName(s), quote("#555555"), quote("transitions of "+s.ID))
	case needsOut(s):
		g.line("%s [shape=point, style=invis, width=0.01, label=\"\"];", outName(s))
	}
	for _, c := range s.Children {
		g.state(c)
	}
	g.indent--
	g.line("}")
}

// initialDot draws the initial pseudo-state of a compound state or of
// the root (a parallel state has none: all its regions are entered).
func (g *graph) initialDot(s *scxml.State) {
	if s.Kind == scxml.KindParallel || s.Initial == nil {
		return
	}
	g.line("%s [shape=point, style=filled, fillcolor=black, width=0.12, label=\"\", tooltip=%s];", initName(s), quote("initial of "+g.displayID(s)))
}

func (g *graph) displayID(s *scxml.State) string {
	if s.Kind == scxml.KindRoot {
		return docName(g.doc)
	}
	return s.ID
}

// stateLabel is the label of a state, as a Graphviz HTML-like label: its
// id in bold, a note on its kind (parallel, region, final), then its
// targetless transitions, smaller, one a line.
func (g *graph) stateLabel(s *scxml.State) string {
	var b strings.Builder
	b.WriteString("<<b>" + html(s.ID) + "</b>")
	note := ""
	switch {
	case s.Kind == scxml.KindParallel:
		note = "parallel"
	case s.Parent != nil && s.Parent.Kind == scxml.KindParallel:
		note = "region"
	case s.Kind == scxml.KindFinal:
		note = "final"
	}
	if note != "" {
		b.WriteString(` <font point-size="9">(` + note + `)</font>`)
	}
	for _, inv := range s.Invokes {
		b.WriteString(`<br align="left"/><font point-size="9"><i>` + html(g.invokeText(inv)) + `</i></font>`)
	}
	for _, t := range s.Transitions {
		if len(t.Targets) > 0 || s.Kind == scxml.KindHistory {
			continue
		}
		b.WriteString(`<br align="left"/><font point-size="9">` + html(g.transitionText(t, true)) + `</font>`)
	}
	b.WriteString(">")
	return b.String()
}

// invokeText describes an <invoke>: "invoke id: src", with its type
// when it is not SCXML, and "(expr)" for what an expression gives.
func (g *graph) invokeText(inv *scxml.Invoke) string {
	var b strings.Builder
	b.WriteString("invoke")
	switch {
	case inv.ID != "":
		b.WriteString(" " + inv.ID)
	case inv.IDLocation != nil:
		b.WriteString(" (" + cut(inv.IDLocation.Source, g.opts.MaxLabel) + ")")
	}
	switch {
	case inv.Src != "":
		b.WriteString(": " + cut(inv.Src, g.opts.MaxLabel))
	case inv.SrcExpr != nil:
		b.WriteString(": (" + cut(inv.SrcExpr.Source, g.opts.MaxLabel) + ")")
	case inv.Content != nil:
		b.WriteString(": inline content")
	}
	switch typ := inv.Type; {
	case inv.TypeExpr != nil:
		b.WriteString(" [type (" + cut(inv.TypeExpr.Source, g.opts.MaxLabel) + ")]")
	case typ != "" && typ != "scxml" && typ != "http://www.w3.org/TR/scxml/" && typ != "http://www.w3.org/TR/scxml":
		b.WriteString(" [" + cut(typ, g.opts.MaxLabel) + "]")
	}
	return b.String()
}

// html escapes s for a Graphviz HTML-like label.
func html(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// transitionText is "event [guard]" for t, with "(internal)" for
// internal transitions, and " / …" for targetless ones that carry
// executable content.
func (g *graph) transitionText(t *scxml.Transition, targetless bool) string {
	var parts []string
	if len(t.Events) > 0 {
		parts = append(parts, cut(strings.Join(t.Events, " "), g.opts.MaxLabel))
	}
	if t.Cond != nil {
		parts = append(parts, "["+cut(strings.Join(strings.Fields(t.Cond.Source), " "), g.opts.MaxLabel)+"]")
	}
	if t.Type == scxml.Internal && !targetless {
		parts = append(parts, "(internal)")
	}
	if targetless {
		parts = append(parts, "/")
	}
	return strings.Join(parts, " ")
}

// edge is one arrow of the drawing. Transitions between the same two
// nodes, drawn alike, share one arrow whose label lists them, one a line.
type edge struct {
	tail, head string
	attrs      string // every attribute but the label
	labels     []string
}

// transitions collects the arrows of s's transitions with targets, and
// of its initial transition.
func (g *graph) transitions(s *scxml.State) {
	if s.Initial != nil && s.Kind != scxml.KindParallel {
		for _, target := range s.Initial.Targets {
			g.addEdge(initName(s), s, target, true, "", "")
		}
	}
	for _, t := range s.Transitions {
		style := ""
		if s.Kind == scxml.KindHistory {
			style = "dashed"
		}
		label := g.transitionText(t, false)
		for _, target := range t.Targets {
			g.addEdge(tailAnchor(s), s, target, false, label, style)
		}
	}
}

// addEdge adds an arrow from the node tail (standing for state src) to
// target. A cluster at either end clips the arrow at its frame, unless
// the other end is inside it (Graphviz cannot clip an arrow at a frame
// it does not cross). An initial transition starts at the initial dot
// inside src's frame, so it is never clipped at src.
func (g *graph) addEdge(tail string, src, target *scxml.State, initial bool, label, style string) {
	var attrs []string
	if !initial && isCluster(src) && target != src && !target.IsDescendant(src) {
		attrs = append(attrs, "ltail="+clusterName(src))
	}
	if isCluster(target) && target != src && !src.IsDescendant(target) {
		attrs = append(attrs, "lhead="+clusterName(target))
	}
	if style != "" {
		attrs = append(attrs, "style="+style)
	}
	e := edge{tail: tail, head: headAnchor(target), attrs: strings.Join(attrs, ", ")}
	for i := range g.edges {
		if o := &g.edges[i]; o.tail == e.tail && o.head == e.head && o.attrs == e.attrs {
			if label != "" {
				o.labels = append(o.labels, label)
			}
			return
		}
	}
	if label != "" {
		e.labels = []string{label}
	}
	g.edges = append(g.edges, e)
}

// writeEdges writes the arrows collected.
func (g *graph) writeEdges() {
	for _, e := range g.edges {
		attrs := e.attrs
		if len(e.labels) > 0 {
			esc := make([]string, len(e.labels))
			for i, l := range e.labels {
				esc[i] = escape(l)
			}
			// \n: Graphviz's line break, centred
			l := `label=" ` + strings.Join(esc, ` \n `) + ` "`
			if attrs == "" {
				attrs = l
			} else {
				attrs = l + ", " + attrs
			}
		}
		if attrs == "" {
			g.line("%s -> %s;", e.tail, e.head)
			continue
		}
		g.line("%s -> %s [%s];", e.tail, e.head, attrs)
	}
}

// cut shortens s to max characters, ending it with "…".
func cut(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

// escape makes s safe inside a DOT double-quoted string whose escapes
// (\n, \l) Graphviz interprets: backslashes and quotes are escaped, and
// line breaks become spaces.
func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n', '\r', '\t':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func quote(s string) string { return `"` + escape(s) + `"` }
