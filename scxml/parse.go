package scxml

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Options configure Parse. The zero value is usable.
type Options struct {
	// File names the document in error messages and is the base against
	// which relative src attributes (<script src>, <data src>) are
	// resolved. ParseFile sets it.
	// default: "" (messages say "<input>", src resolves against the
	// working directory)
	File string
	// ReadFile loads the targets of src attributes.
	// default: os.ReadFile
	ReadFile func(path string) ([]byte, error)
	// Custom reports whether a foreign-namespace element inside executable
	// content is an extension the embedder runs (see Custom). When it
	// returns false the document is rejected, naming the element's
	// position, unless IgnoreUnknown is set.
	// default: nil, every foreign element is kept as *Custom (the engine
	// checks them against its extensions when it compiles the document)
	Custom func(namespace, local string) bool
	// IgnoreUnknown drops the foreign elements Custom does not know,
	// instead of rejecting the document: the spec lets a processor ignore
	// markup it does not support (section 4.1), and this makes that an
	// explicit choice.
	// default: false
	IgnoreUnknown bool
}

// ParseFile reads and parses the document at path.
func ParseFile(path string, opts *Options) (*Document, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scxml: %w", err)
	}
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.File == "" {
		o.File = path
	}
	return Parse(src, &o)
}

// Parse parses and validates an SCXML document. Problems with the document
// are reported together as an ErrorList (each an *Error wrapping
// ErrInvalid) in document order.
func Parse(src []byte, opts *Options) (*Document, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	root, err := readTree(o.File, src)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, ErrorList{e}
		}
		return nil, err
	}
	b := &builder{
		opts: o,
		doc: &Document{
			File:      o.File,
			Datamodel: DatamodelECMAScript,
			Persist:   true,
			Source:    src,
			Hash:      sha256.Sum256(src),
		},
		ids: map[string]*State{},
	}
	b.build(root)
	if len(b.errs) > 0 {
		// Checks that need the whole tree run after the walk; report in
		// document order all the same.
		sort.SliceStable(b.errs, func(i, j int) bool {
			x, y := b.errs[i].Pos, b.errs[j].Pos
			return x.Line < y.Line || x.Line == y.Line && x.Col < y.Col
		})
		return nil, b.errs
	}
	return b.doc, nil
}

type builder struct {
	opts Options
	doc  *Document
	errs ErrorList
	ids  map[string]*State
	// pending target lists, resolved once every id is known.
	targets []pendingTarget
	dataIDs map[string]Pos
	gen     int
	unnamed []*State // states without an id, named after the walk
}

type pendingTarget struct {
	t   *Transition
	ids []string
	// attr names the attribute ("target", "initial") for messages.
	attr string
	// initialOf is the state whose initial transition t is, or nil.
	initialOf *State
	history   *State
	pos       Pos
}

func (b *builder) errorf(pos Pos, format string, args ...any) {
	b.errs = append(b.errs, &Error{File: b.opts.File, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// isSCXML reports whether n is in the SCXML namespace. Documents that forget
// the xmlns declaration are common enough to accept.
func isSCXML(n *node) bool { return n.name.Space == Namespace || n.name.Space == "" }

func elemName(n *node) string {
	if isSCXML(n) {
		return "<" + n.name.Local + ">"
	}
	return fmt.Sprintf("<%s> (namespace %s)", n.name.Local, n.name.Space)
}

// attrSpec lists the attributes an element may carry; anything else
// unqualified is reported, because a misspelt attribute ("conf" for "cond")
// silently changes behaviour.
var attrSpec = map[string][]string{
	"scxml":      {"initial", "name", "version", "datamodel", "binding", "exmode"},
	"state":      {"id", "initial"},
	"parallel":   {"id"},
	"final":      {"id"},
	"history":    {"id", "type"},
	"initial":    {},
	"transition": {"event", "cond", "target", "type"},
	"onentry":    {},
	"onexit":     {},
	"datamodel":  {},
	"data":       {"id", "src", "expr"},
	"donedata":   {},
	"content":    {"expr"},
	"param":      {"name", "expr", "location"},
	"raise":      {"event"},
	"send":       {"event", "eventexpr", "target", "targetexpr", "type", "typeexpr", "id", "idlocation", "delay", "delayexpr", "namelist"},
	"cancel":     {"sendid", "sendidexpr"},
	"log":        {"label", "expr"},
	"assign":     {"location", "expr"},
	"if":         {"cond"},
	"elseif":     {"cond"},
	"else":       {},
	"foreach":    {"array", "item", "index"},
	"script":     {"src"},
	"invoke":     {"type", "typeexpr", "src", "srcexpr", "id", "idlocation", "namelist", "autoforward"},
	"finalize":   {},
}

func (b *builder) checkAttrs(n *node) {
	allowed := attrSpec[n.name.Local]
	for _, a := range n.attrs {
		if a.Name.Space != "" || a.Name.Local == "xmlns" || strings.HasPrefix(a.Name.Local, "_") {
			continue // namespace declarations, foreign and vendor (_persist) attributes
		}
		ok := false
		for _, name := range allowed {
			ok = ok || name == a.Name.Local
		}
		if !ok {
			b.errorf(n.pos, "<%s>: unknown attribute %q", n.name.Local, a.Name.Local)
		}
	}
}

// exclusive reports an error when more than one of the attributes is set.
func (b *builder) exclusive(n *node, names ...string) {
	var set []string
	for _, name := range names {
		if _, ok := n.attr(name); ok {
			set = append(set, name)
		}
	}
	if len(set) > 1 {
		b.errorf(n.pos, "<%s>: attributes %s are mutually exclusive", n.name.Local, strings.Join(quoteAll(set), " and "))
	}
}

func quoteAll(s []string) []string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = strconv.Quote(x)
	}
	return q
}

func (b *builder) required(n *node, name string) (string, bool) {
	v, ok := n.attr(name)
	if !ok {
		b.errorf(n.pos, "<%s>: missing required attribute %q", n.name.Local, name)
	}
	return v, ok
}

func (b *builder) expr(n *node, attr string) *Expr {
	v, ok := n.attr(attr)
	if !ok {
		return nil
	}
	// An empty expression is left to fail at run time with error.execution
	// (5.9): the IRP tests rely on that.
	return b.newExpr(v, n.pos, attr)
}

func (b *builder) newExpr(src string, pos Pos, attr string) *Expr {
	e := &Expr{ID: len(b.doc.Exprs), Source: src, Pos: pos, Attr: attr}
	b.doc.Exprs = append(b.doc.Exprs, e)
	return e
}

// noText reports non-blank character data in elements that hold only
// elements: text there is almost always a misplaced expression.
func (b *builder) noText(n *node) {
	if t := strings.TrimSpace(n.text.String()); t != "" {
		if len(t) > 40 {
			t = t[:40] + "..."
		}
		b.errorf(n.pos, "%s: unexpected text %q", elemName(n), t)
	}
}

func (b *builder) build(root *node) {
	if !isSCXML(root) || root.name.Local != "scxml" {
		b.errorf(root.pos, "root element is %s, want <scxml> in namespace %s", elemName(root), Namespace)
		return
	}
	b.checkAttrs(root)
	doc := b.doc
	doc.Name, _ = root.attr("name")
	// A missing version is accepted, like a missing xmlns: documents in the
	// wild omit both, and there is only one version to mean.
	if v, ok := root.attr("version"); ok && v != "1.0" {
		b.errorf(root.pos, "<scxml>: version %q is not supported (want \"1.0\")", v)
	}
	// Any name is accepted: which datamodels exist is the embedder's
	// choice (interp.Datamodels), and interp.Compile refuses the others.
	if v, ok := root.attr("datamodel"); ok {
		if dm := strings.ToLower(strings.TrimSpace(v)); dm != "" {
			doc.Datamodel = dm
		} else {
			b.errorf(root.pos, "<scxml>: empty datamodel attribute")
		}
	}
	if v, ok := root.attr("binding"); ok {
		switch v {
		case "early":
		case "late":
			doc.Binding = Late
		default:
			b.errorf(root.pos, "<scxml>: binding %q must be \"early\" or \"late\"", v)
		}
	}
	if v, ok := root.attr("_persist"); ok && v == "false" {
		doc.Persist = false
	}
	b.dataIDs = map[string]Pos{}
	st := &State{ID: doc.Name, Kind: KindRoot, Pos: root.pos}
	doc.Root = st
	b.addState(st)
	b.noText(root)
	seenDM := false
	for _, c := range root.children {
		if !isSCXML(c) {
			continue // foreign elements are allowed anywhere and ignored
		}
		switch c.name.Local {
		case "state", "parallel", "final":
			b.state(c, st)
		case "datamodel":
			if len(st.Data) > 0 || seenDM {
				b.errorf(c.pos, "<scxml>: more than one <datamodel>")
			}
			seenDM = true
			b.datamodel(c, st)
		case "script":
			if st.Script != nil {
				b.errorf(c.pos, "<scxml>: more than one <script>")
			}
			st.Script = b.script(c)
		default:
			b.errorf(c.pos, "<scxml>: unexpected child %s", elemName(c))
		}
	}
	if len(st.Children) == 0 {
		b.errorf(root.pos, "<scxml>: no child states")
	}
	b.initial(root, st)
	b.nameUnnamed()
	b.resolve()
	if doc.Datamodel == DatamodelNull {
		b.checkNull()
	}
}

// nameUnnamed gives states without an id one that no author's id equals
// (3.14), once all ids are known.
func (b *builder) nameUnnamed() {
	for _, st := range b.unnamed {
		for {
			b.gen++
			id := fmt.Sprintf("_generated_%s_%d", st.Kind, b.gen)
			if _, taken := b.ids[id]; !taken {
				st.ID = id
				break
			}
		}
	}
}

func (b *builder) addState(st *State) {
	st.Index = len(b.doc.States)
	b.doc.States = append(b.doc.States, st)
	if st.Parent != nil {
		st.Depth = st.Parent.Depth + 1
		st.Parent.Children = append(st.Parent.Children, st)
	}
}

func (b *builder) stateID(n *node, st *State) {
	id, ok := n.attr("id")
	if !ok {
		b.unnamed = append(b.unnamed, st)
		return
	}
	if !validID(id) {
		b.errorf(n.pos, "<%s>: id %q is not a valid identifier", n.name.Local, id)
	}
	if prev, dup := b.ids[id]; dup {
		b.errorf(n.pos, "<%s>: duplicate id %q (first at %s)", n.name.Local, id, prev.Pos)
	} else if prev, dup := b.dataIDs[id]; dup {
		b.errorf(n.pos, "<%s>: duplicate id %q (first at %s, a <data>)", n.name.Local, id, prev)
	} else {
		b.ids[id] = st
	}
	st.ID = id
}

// validID accepts XML NCName-like ids without the Unicode subtleties:
// anything non-empty without whitespace, which is what target lists split on.
func validID(id string) bool {
	return id != "" && !strings.ContainsAny(id, " \t\r\n")
}

// state builds <state>, <parallel> and <final>.
func (b *builder) state(n *node, parent *State) {
	b.checkAttrs(n)
	b.noText(n)
	st := &State{Parent: parent, Pos: n.pos}
	switch n.name.Local {
	case "state":
		st.Kind = KindState
	case "parallel":
		st.Kind = KindParallel
	case "final":
		st.Kind = KindFinal
	}
	b.stateID(n, st)
	b.addState(st)
	var initialElem *node
	seenDM := false
	for _, c := range n.children {
		if !isSCXML(c) {
			continue
		}
		switch name := c.name.Local; {
		case name == "onentry" || name == "onexit":
			b.checkAttrs(c)
			block := b.executables(c, c.children)
			if name == "onentry" {
				st.OnEntry = append(st.OnEntry, block)
			} else {
				st.OnExit = append(st.OnExit, block)
			}
		case st.Kind == KindFinal && name == "donedata":
			if st.Donedata != nil {
				b.errorf(c.pos, "<final>: more than one <donedata>")
			}
			st.Donedata = b.donedata(c)
		case st.Kind == KindFinal:
			if name == "transition" {
				b.errorf(c.pos, "<final id=%q>: a final state cannot have transitions", st.ID)
			} else {
				b.errorf(c.pos, "<final>: unexpected child %s", elemName(c))
			}
		case name == "transition":
			st.Transitions = append(st.Transitions, b.transition(c, st))
		case name == "state" || name == "parallel" || name == "final":
			if st.Kind == KindParallel && name == "final" {
				b.errorf(c.pos, "<parallel>: unexpected child <final>")
				continue
			}
			b.state(c, st)
		case name == "history":
			b.history(c, st)
		case name == "initial" && st.Kind == KindState:
			if initialElem != nil {
				b.errorf(c.pos, "<state id=%q>: more than one <initial>", st.ID)
			}
			initialElem = c
		case name == "datamodel":
			if seenDM {
				b.errorf(c.pos, "<%s id=%q>: more than one <datamodel>", n.name.Local, st.ID)
			}
			seenDM = true
			b.datamodel(c, st)
		case name == "invoke":
			st.Invokes = append(st.Invokes, b.invoke(c, st))
		default:
			b.errorf(c.pos, "<%s>: unexpected child %s", n.name.Local, elemName(c))
		}
	}
	st.atomic = st.Kind != KindParallel && !hasChildStates(st)
	if st.Kind == KindState {
		if initialElem != nil {
			if _, ok := n.attr("initial"); ok {
				b.errorf(initialElem.pos, "<state id=%q>: both an initial attribute and an <initial> element", st.ID)
			}
			b.initialElement(initialElem, st)
		} else {
			b.initial(n, st)
		}
	}
}

func hasChildStates(st *State) bool {
	for _, c := range st.Children {
		if c.Kind != KindHistory {
			return true
		}
	}
	return false
}

// initial synthesizes the initial transition of the root or of a compound
// state from its initial attribute, or else its first child state (3.6).
func (b *builder) initial(n *node, st *State) {
	v, ok := n.attr("initial")
	if ok && st.atomic && st.Kind != KindRoot {
		b.errorf(n.pos, "<state id=%q>: initial attribute on a state without child states", st.ID)
		return
	}
	if st.atomic && st.Kind != KindRoot {
		return
	}
	t := b.newTransition(st, n.pos)
	st.Initial = t
	if ok {
		ids := strings.Fields(v)
		if len(ids) == 0 {
			b.errorf(n.pos, "<%s>: attribute \"initial\" is empty", n.name.Local)
			return
		}
		b.targets = append(b.targets, pendingTarget{t: t, ids: ids, attr: "initial", initialOf: st, pos: n.pos})
		return
	}
	for _, c := range st.Children {
		if c.Kind != KindHistory {
			t.Targets = []*State{c}
			return
		}
	}
}

func (b *builder) initialElement(n *node, st *State) {
	b.checkAttrs(n)
	b.noText(n)
	var tn *node
	for _, c := range n.children {
		if !isSCXML(c) {
			continue
		}
		if c.name.Local != "transition" || tn != nil {
			b.errorf(c.pos, "<initial>: unexpected child %s (want exactly one <transition>)", elemName(c))
			continue
		}
		tn = c
	}
	if tn == nil {
		b.errorf(n.pos, "<initial>: missing <transition>")
		st.Initial = b.newTransition(st, n.pos)
		return
	}
	if _, ok := tn.attr("event"); ok {
		b.errorf(tn.pos, "<initial>: its <transition> cannot have an event")
	}
	if _, ok := tn.attr("cond"); ok {
		b.errorf(tn.pos, "<initial>: its <transition> cannot have a cond")
	}
	t := b.transitionOf(tn, st, "initial", st, nil)
	if len(t.Targets) == 0 && len(b.pendingFor(t)) == 0 {
		b.errorf(tn.pos, "<initial>: its <transition> needs a target")
	}
	st.Initial = t
}

func (b *builder) pendingFor(t *Transition) []string {
	for i := len(b.targets) - 1; i >= 0; i-- {
		if b.targets[i].t == t {
			return b.targets[i].ids
		}
	}
	return nil
}

func (b *builder) newTransition(src *State, pos Pos) *Transition {
	t := &Transition{Index: len(b.doc.Transitions), Source: src, Pos: pos}
	b.doc.Transitions = append(b.doc.Transitions, t)
	return t
}

func (b *builder) transition(n *node, src *State) *Transition {
	if !hasAttr(n, "event") && !hasAttr(n, "cond") && !hasAttr(n, "target") {
		b.errorf(n.pos, "<transition>: needs at least one of \"event\", \"cond\" or \"target\" (3.5.2)")
	}
	return b.transitionOf(n, src, "target", nil, nil)
}

func (b *builder) transitionOf(n *node, src *State, attr string, initialOf, history *State) *Transition {
	b.checkAttrs(n)
	t := b.newTransition(src, n.pos)
	if v, ok := n.attr("event"); ok {
		t.Events = normaliseEvents(v)
		if len(t.Events) == 0 {
			b.errorf(n.pos, "<transition>: attribute \"event\" is empty")
		}
	}
	t.Cond = b.expr(n, "cond")
	if v, ok := n.attr("type"); ok {
		switch v {
		case "external":
		case "internal":
			t.Type = Internal
		default:
			b.errorf(n.pos, "<transition>: type %q must be \"internal\" or \"external\"", v)
		}
	}
	if v, ok := n.attr("target"); ok {
		ids := strings.Fields(v)
		if len(ids) == 0 {
			// 3.11: an empty target is a targetless transition, except
			// where a target is required.
			if initialOf != nil || history != nil {
				b.errorf(n.pos, "<transition>: attribute \"target\" is empty")
			}
			t.Content = b.executables(n, n.children)
			return t
		}
		b.targets = append(b.targets, pendingTarget{t: t, ids: ids, attr: attr, initialOf: initialOf, history: history, pos: n.pos})
	}
	t.Content = b.executables(n, n.children)
	return t
}

// normaliseEvents splits an event attribute into descriptors and drops the
// optional ".*" and "." suffixes (3.12.1), so that matching is a plain
// token-prefix test.
func normaliseEvents(v string) []string {
	f := strings.Fields(v)
	for i, d := range f {
		if d == "*" {
			continue
		}
		n := strings.TrimSuffix(strings.TrimSuffix(d, ".*"), ".")
		if n == "" {
			// ".*" or "." names no event; kept as written it matches none,
			// whereas "" would match every event.
			n = d
		}
		f[i] = n
	}
	return f
}

func (b *builder) history(n *node, parent *State) {
	b.checkAttrs(n)
	b.noText(n)
	st := &State{Kind: KindHistory, Parent: parent, Pos: n.pos}
	b.stateID(n, st)
	if parent.Kind == KindFinal || parent.Kind == KindRoot {
		b.errorf(n.pos, "<history> is not allowed in %s", parent.Kind)
	}
	if v, ok := n.attr("type"); ok {
		switch v {
		case "shallow":
		case "deep":
			st.Deep = true
		default:
			b.errorf(n.pos, "<history id=%q>: type %q must be \"shallow\" or \"deep\"", st.ID, v)
		}
	}
	b.addState(st)
	for _, c := range n.children {
		if !isSCXML(c) {
			continue
		}
		if c.name.Local != "transition" {
			b.errorf(c.pos, "<history>: unexpected child %s", elemName(c))
			continue
		}
		if len(st.Transitions) == 1 {
			b.errorf(c.pos, "<history id=%q>: more than one <transition>", st.ID)
			continue
		}
		if _, ok := c.attr("event"); ok {
			b.errorf(c.pos, "<history id=%q>: its default <transition> cannot have an event", st.ID)
		}
		if _, ok := c.attr("cond"); ok {
			b.errorf(c.pos, "<history id=%q>: its default <transition> cannot have a cond", st.ID)
		}
		t := b.transitionOf(c, st, "target", nil, st)
		if _, ok := c.attr("target"); !ok {
			b.errorf(c.pos, "<history id=%q>: its default <transition> needs a target", st.ID)
		}
		st.Transitions = append(st.Transitions, t)
	}
	if len(st.Transitions) == 0 {
		b.errorf(n.pos, "<history id=%q>: missing its default <transition>", st.ID)
	}
	st.atomic = false
}

// resolve turns target id lists into states and checks the structural rules
// that need every id: initial targets are descendants, history defaults stay
// inside the parent, and a transition does not target two states that cannot
// be active together.
func (b *builder) resolve() {
	for _, p := range b.targets {
		var ts []*State
		ok := true
		for _, id := range p.ids {
			st := b.ids[id]
			if st == nil {
				b.errorf(p.pos, "%s %q: no such state", p.attr, id)
				ok = false
				continue
			}
			ts = append(ts, st)
		}
		if !ok {
			continue
		}
		p.t.Targets = ts
		switch {
		case p.initialOf != nil:
			for _, st := range ts {
				if !st.IsDescendant(p.initialOf) {
					b.errorf(p.pos, "initial state %q is not a descendant of %q", st.ID, describe(p.initialOf))
				}
			}
		case p.history != nil:
			par := p.history.Parent
			for _, st := range ts {
				if p.history.Deep && !st.IsDescendant(par) || !p.history.Deep && st.Parent != par {
					b.errorf(p.pos, "<history id=%q>: default target %q is not a %s of %q", p.history.ID, st.ID,
						map[bool]string{true: "descendant", false: "child"}[p.history.Deep], par.ID)
				}
			}
		}
		if !b.compatible(ts) {
			b.errorf(p.pos, "%s %q: these states cannot be active at the same time", p.attr, strings.Join(p.ids, " "))
		}
	}
	b.targets = nil
}

func describe(st *State) string {
	if st.Kind == KindRoot {
		return "<scxml>"
	}
	return st.ID
}

// compatible reports whether the states could form part of one legal
// configuration: for every pair, one contains the other or their nearest
// common ancestor is a <parallel>.
func (b *builder) compatible(ts []*State) bool {
	for i := 0; i < len(ts); i++ {
		for j := i + 1; j < len(ts); j++ {
			x, y := ts[i], ts[j]
			if x == y || x.IsDescendant(y) || y.IsDescendant(x) {
				return false // 3.11: no state may be an ancestor of another
			}
			a := x.Parent
			for a != nil && !y.IsDescendant(a) {
				a = a.Parent
			}
			if a == nil || a.Kind != KindParallel {
				return false
			}
		}
	}
	return true
}

func (b *builder) datamodel(n *node, st *State) {
	b.checkAttrs(n)
	b.noText(n)
	for _, c := range n.children {
		if !isSCXML(c) {
			continue
		}
		if c.name.Local != "data" {
			b.errorf(c.pos, "<datamodel>: unexpected child %s", elemName(c))
			continue
		}
		st.Data = append(st.Data, b.data(c))
	}
}

func (b *builder) data(n *node) *Data {
	b.checkAttrs(n)
	d := &Data{Pos: n.pos}
	id, ok := b.required(n, "id")
	if ok {
		if strings.HasPrefix(id, "_") {
			b.errorf(n.pos, "<data>: id %q: ids starting with '_' are reserved for system variables (5.10)", id)
		}
		if prev, dup := b.dataIDs[id]; dup {
			b.errorf(n.pos, "<data>: duplicate id %q (first at %s)", id, prev)
		} else if st, dup := b.ids[id]; dup {
			b.errorf(n.pos, "<data>: duplicate id %q (first at %s, a state)", id, st.Pos)
		} else {
			b.dataIDs[id] = n.pos
		}
	}
	d.ID = id
	b.exclusive(n, "src", "expr")
	d.Expr = b.expr(n, "expr")
	inline := hasContent(n)
	if inline && (d.Expr != nil || hasAttr(n, "src")) {
		b.errorf(n.pos, "<data id=%q>: inline content cannot be combined with \"expr\" or \"src\"", id)
	}
	if src, ok := n.attr("src"); ok {
		d.Src = src
		body, err := b.load(src)
		if err != nil {
			// 5.2.2: a data src that cannot be fetched is an error.execution
			// when the variable is initialised, not a document error.
			d.SrcError = err.Error()
		} else {
			d.Content = &Content{Body: string(body), Pos: n.pos}
		}
	}
	if inline {
		d.Content = b.inlineContent(n)
	}
	return d
}

func hasAttr(n *node, name string) bool { _, ok := n.attr(name); return ok }

// hasContent reports whether n holds non-blank text or child elements.
func hasContent(n *node) bool {
	return len(n.children) > 0 || strings.TrimSpace(n.text.String()) != ""
}

func (b *builder) inlineContent(n *node) *Content {
	c := &Content{Pos: n.pos}
	if len(n.children) > 0 {
		c.Body, c.XML = strings.TrimSpace(n.inner), true
	} else {
		c.Body = n.text.String()
	}
	return c
}

func (b *builder) load(src string) ([]byte, error) {
	path := src
	if strings.HasPrefix(path, "file:") {
		path = strings.TrimPrefix(strings.TrimPrefix(path, "file:"), "//")
	} else if strings.Contains(path, "://") {
		return nil, fmt.Errorf("src %q: only local files can be loaded", src)
	}
	if !filepath.IsAbs(path) && b.opts.File != "" {
		path = filepath.Join(filepath.Dir(b.opts.File), path)
	}
	return b.opts.ReadFile(path)
}

// content builds a <content> element.
func (b *builder) content(n *node) *Content {
	b.checkAttrs(n)
	expr := b.expr(n, "expr")
	if expr != nil {
		if hasContent(n) {
			b.errorf(n.pos, "<content>: \"expr\" and inline content are mutually exclusive")
		}
		return &Content{Expr: expr, Pos: n.pos}
	}
	return b.inlineContent(n)
}

// noChildren reports the child elements of an element that has none.
func (b *builder) noChildren(n *node) {
	for _, c := range n.children {
		b.errorf(c.pos, "<%s> cannot have children: unexpected %s", n.name.Local, elemName(c))
	}
}

func (b *builder) param(n *node) *Param {
	b.checkAttrs(n)
	b.noText(n)
	b.noChildren(n)
	p := &Param{Pos: n.pos}
	p.Name, _ = b.required(n, "name")
	b.exclusive(n, "expr", "location")
	p.Expr = b.expr(n, "expr")
	p.Location = b.expr(n, "location")
	if p.Expr == nil && p.Location == nil {
		b.errorf(n.pos, "<param name=%q>: needs \"expr\" or \"location\"", p.Name)
	}
	return p
}

func (b *builder) donedata(n *node) *Donedata {
	b.checkAttrs(n)
	b.noText(n)
	d := &Donedata{Pos: n.pos}
	for _, c := range n.children {
		if !isSCXML(c) {
			continue
		}
		switch c.name.Local {
		case "content":
			if d.Content != nil {
				b.errorf(c.pos, "<donedata>: more than one <content>")
			}
			d.Content = b.content(c)
		case "param":
			d.Params = append(d.Params, b.param(c))
		default:
			b.errorf(c.pos, "<donedata>: unexpected child %s", elemName(c))
		}
	}
	if d.Content != nil && len(d.Params) > 0 {
		b.errorf(n.pos, "<donedata>: <content> and <param> are mutually exclusive")
	}
	if d.Content == nil && len(d.Params) == 0 {
		b.errorf(n.pos, "<donedata>: needs a <content> or <param> children (5.5.2)")
	}
	return d
}

func (b *builder) script(n *node) *Script {
	b.checkAttrs(n)
	s := &Script{ID: len(b.doc.Scripts), Pos: n.pos}
	b.doc.Scripts = append(b.doc.Scripts, s)
	if len(n.children) > 0 {
		b.errorf(n.children[0].pos, "<script>: unexpected child element (escape \"<\" as \"&lt;\" or use CDATA)")
	}
	src, ok := n.attr("src")
	if !ok {
		s.Source = n.text.String()
		return s
	}
	s.Src = src
	if strings.TrimSpace(n.text.String()) != "" {
		b.errorf(n.pos, "<script>: \"src\" and inline script are mutually exclusive")
	}
	// 5.8: a script that cannot be loaded makes the document non-conformant,
	// so it is rejected here rather than failing at run time.
	body, err := b.load(src)
	if err != nil {
		b.errorf(n.pos, "<script>: cannot load src %q: %v", src, unwrapPath(err))
		return s
	}
	s.Source = string(body)
	return s
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (b *builder) invoke(n *node, st *State) *Invoke {
	b.checkAttrs(n)
	b.noText(n)
	inv := &Invoke{Index: len(b.doc.Invokes), Parent: st, Pos: n.pos}
	b.doc.Invokes = append(b.doc.Invokes, inv)
	b.exclusive(n, "type", "typeexpr")
	b.exclusive(n, "src", "srcexpr")
	b.exclusive(n, "id", "idlocation")
	inv.Type, _ = n.attr("type")
	inv.TypeExpr = b.expr(n, "typeexpr")
	inv.Src, _ = n.attr("src")
	inv.SrcExpr = b.expr(n, "srcexpr")
	inv.ID, _ = n.attr("id")
	inv.IDLocation = b.expr(n, "idlocation")
	inv.Namelist = b.namelist(n)
	if v, ok := n.attr("autoforward"); ok {
		switch v {
		case "true":
			inv.Autoforward = true
		case "false":
		default:
			b.errorf(n.pos, "<invoke>: autoforward %q must be \"true\" or \"false\"", v)
		}
	}
	var finalize bool
	for _, c := range n.children {
		if !isSCXML(c) {
			continue
		}
		switch c.name.Local {
		case "param":
			inv.Params = append(inv.Params, b.param(c))
		case "content":
			if inv.Content != nil {
				b.errorf(c.pos, "<invoke>: more than one <content>")
			}
			inv.Content = b.content(c)
		case "finalize":
			if finalize {
				b.errorf(c.pos, "<invoke>: more than one <finalize>")
			}
			finalize = true
			b.checkAttrs(c)
			inv.Finalize = b.executables(c, c.children)
			checkFinalize(b, inv.Finalize)
		default:
			b.errorf(c.pos, "<invoke>: unexpected child %s", elemName(c))
		}
	}
	if inv.Content != nil && (inv.Src != "" || inv.SrcExpr != nil) {
		b.errorf(n.pos, "<invoke>: <content> cannot be combined with \"src\" or \"srcexpr\"")
	}
	if len(inv.Namelist) > 0 && len(inv.Params) > 0 {
		b.errorf(n.pos, "<invoke>: \"namelist\" and <param> are mutually exclusive")
	}
	return inv
}

// checkFinalize enforces 6.5: <finalize> must not raise or send events.
func checkFinalize(b *builder, body []Executable) {
	for _, x := range body {
		switch e := x.(type) {
		case *Raise:
			b.errorf(e.Pos, "<finalize>: <raise> is not allowed")
		case *Send:
			b.errorf(e.Pos, "<finalize>: <send> is not allowed")
		case *If:
			for _, br := range e.Branches {
				checkFinalize(b, br.Body)
			}
		case *Foreach:
			checkFinalize(b, e.Body)
		}
	}
}

func (b *builder) namelist(n *node) []*Expr {
	v, ok := n.attr("namelist")
	if !ok {
		return nil
	}
	names := strings.Fields(v)
	if len(names) == 0 {
		b.errorf(n.pos, "<%s>: attribute \"namelist\" is empty", n.name.Local)
	}
	exprs := make([]*Expr, len(names))
	for i, name := range names {
		exprs[i] = b.newExpr(name, n.pos, "namelist")
	}
	return exprs
}

// executables builds the executable content children of parent.
func (b *builder) executables(parent *node, children []*node) []Executable {
	b.noText(parent)
	var out []Executable
	for _, c := range children {
		if x := b.executable(parent, c); x != nil {
			out = append(out, x)
		}
	}
	return out
}

func (b *builder) executable(parent, n *node) Executable {
	if !isSCXML(n) {
		if b.opts.Custom != nil && !b.opts.Custom(n.name.Space, n.name.Local) {
			if !b.opts.IgnoreUnknown {
				b.errorf(n.pos, "unknown executable content %s (no extension registered for it)", elemName(n))
			}
			return nil
		}
		attrs := map[string]string{}
		for _, a := range n.attrs {
			if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" && a.Name.Space == "" {
				continue
			}
			k := a.Name.Local
			if a.Name.Space != "" {
				k = "{" + a.Name.Space + "}" + k
			}
			attrs[k] = a.Value
		}
		return &Custom{Namespace: n.name.Space, Local: n.name.Local, Attrs: attrs, XML: n.outer, Pos: n.pos}
	}
	if _, known := attrSpec[n.name.Local]; known {
		b.checkAttrs(n)
	}
	switch n.name.Local {
	case "raise":
		b.noText(n)
		b.noChildren(n)
		ev, ok := b.required(n, "event")
		if ok && len(strings.Fields(ev)) != 1 {
			b.errorf(n.pos, "<raise>: event %q must be a single event name", ev)
		}
		return &Raise{Event: ev, Pos: n.pos}
	case "send":
		return b.send(n)
	case "cancel":
		b.noText(n)
		b.noChildren(n)
		b.exclusive(n, "sendid", "sendidexpr")
		c := &Cancel{Pos: n.pos, SendIDExpr: b.expr(n, "sendidexpr")}
		c.SendID, _ = n.attr("sendid")
		if !hasAttr(n, "sendid") && c.SendIDExpr == nil {
			b.errorf(n.pos, "<cancel>: needs \"sendid\" or \"sendidexpr\"")
		}
		return c
	case "log":
		b.noText(n)
		b.noChildren(n)
		l := &Log{Pos: n.pos}
		// <log expr=""> is read as a log of the label alone: the
		// attribute is optional, and an empty one says as much.
		if v, ok := n.attr("expr"); ok && strings.TrimSpace(v) != "" {
			l.Expr = b.expr(n, "expr")
		}
		l.Label, _ = n.attr("label")
		return l
	case "assign":
		a := &Assign{Pos: n.pos}
		if v, ok := b.required(n, "location"); ok {
			a.Location = b.newExpr(v, n.pos, "location")
		}
		a.Expr = b.expr(n, "expr")
		if a.Expr != nil && hasContent(n) {
			b.errorf(n.pos, "<assign>: \"expr\" and inline content are mutually exclusive")
		}
		if a.Expr == nil {
			if !hasContent(n) {
				b.errorf(n.pos, "<assign>: needs \"expr\" or inline content")
			}
			a.Content = b.inlineContent(n)
		}
		return a
	case "if":
		return b.ifElem(n)
	case "foreach":
		f := &Foreach{Pos: n.pos}
		if v, ok := b.required(n, "array"); ok {
			f.Array = b.newExpr(v, n.pos, "array")
		}
		if v, ok := b.required(n, "item"); ok {
			f.Item = b.newExpr(v, n.pos, "item")
		}
		f.Index = b.expr(n, "index")
		f.Body = b.executables(n, n.children)
		return f
	case "script":
		return b.script(n)
	case "elseif", "else":
		b.errorf(n.pos, "<%s> outside <if>", n.name.Local)
	default:
		b.errorf(n.pos, "%s is not executable content (in <%s>)", elemName(n), parent.name.Local)
	}
	return nil
}

func (b *builder) ifElem(n *node) *If {
	x := &If{Pos: n.pos}
	br := &Branch{Pos: n.pos}
	if v, ok := b.required(n, "cond"); ok {
		br.Cond = b.newExpr(v, n.pos, "cond")
	}
	x.Branches = append(x.Branches, br)
	b.noText(n)
	sawElse := false
	for _, c := range n.children {
		if isSCXML(c) && (c.name.Local == "elseif" || c.name.Local == "else") {
			b.checkAttrs(c)
			if sawElse {
				b.errorf(c.pos, "<%s> after <else>", c.name.Local)
			}
			br = &Branch{Pos: c.pos}
			if c.name.Local == "elseif" {
				if v, ok := b.required(c, "cond"); ok {
					br.Cond = b.newExpr(v, c.pos, "cond")
				}
			} else {
				sawElse = true
			}
			x.Branches = append(x.Branches, br)
			if len(c.children) > 0 {
				b.errorf(c.pos, "<%s> must be empty: it separates the branches of <if>", c.name.Local)
			}
			continue
		}
		if e := b.executable(n, c); e != nil {
			br.Body = append(br.Body, e)
		}
	}
	return x
}

func (b *builder) send(n *node) *Send {
	b.noText(n)
	s := &Send{Pos: n.pos}
	b.exclusive(n, "event", "eventexpr")
	b.exclusive(n, "target", "targetexpr")
	b.exclusive(n, "type", "typeexpr")
	b.exclusive(n, "id", "idlocation")
	b.exclusive(n, "delay", "delayexpr")
	s.Event, _ = n.attr("event")
	s.EventExpr = b.expr(n, "eventexpr")
	s.Target, _ = n.attr("target")
	s.TargetExpr = b.expr(n, "targetexpr")
	s.Type, _ = n.attr("type")
	s.TypeExpr = b.expr(n, "typeexpr")
	s.ID, _ = n.attr("id")
	s.IDLocation = b.expr(n, "idlocation")
	if v, ok := n.attr("delay"); ok {
		d, err := ParseDelay(v)
		if err != nil {
			b.errorf(n.pos, "<send>: %v", err)
		}
		s.Delay, s.DelayDur = v, d
	}
	s.DelayExpr = b.expr(n, "delayexpr")
	if (s.Delay != "" || s.DelayExpr != nil) && s.Target == "#_internal" {
		b.errorf(n.pos, "<send>: a send to \"#_internal\" cannot be delayed")
	}
	s.Namelist = b.namelist(n)
	for _, c := range n.children {
		if !isSCXML(c) {
			continue
		}
		switch c.name.Local {
		case "param":
			s.Params = append(s.Params, b.param(c))
		case "content":
			if s.Content != nil {
				b.errorf(c.pos, "<send>: more than one <content>")
			}
			s.Content = b.content(c)
		default:
			b.errorf(c.pos, "<send>: unexpected child %s", elemName(c))
		}
	}
	if s.Content != nil {
		if len(s.Namelist) > 0 || len(s.Params) > 0 {
			b.errorf(n.pos, "<send>: <content> cannot be combined with \"namelist\" or <param>")
		}
	} else if s.Event == "" && s.EventExpr == nil && (s.Type == "" || s.Type == "scxml" || s.Type == "http://www.w3.org/TR/scxml/#SCXMLEventProcessor") {
		b.errorf(n.pos, "<send>: needs \"event\", \"eventexpr\" or <content>")
	}
	return s
}

// checkNull rejects the elements that cannot mean anything without a
// datamodel (B.1): <data> and <script>. Other expressions are left to fail
// at run time with error.execution, as 5.9 prescribes for expressions the
// datamodel cannot evaluate.
func (b *builder) checkNull() {
	for _, st := range b.doc.States {
		if len(st.Data) > 0 {
			b.errorf(st.Data[0].Pos, "<data> requires a datamodel (this document has datamodel=\"null\")")
		}
	}
	for _, s := range b.doc.Scripts {
		b.errorf(s.Pos, "<script> requires a datamodel (this document has datamodel=\"null\")")
	}
}
