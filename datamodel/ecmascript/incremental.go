package ecmascript

import (
	"slices"
	"strings"
	"sync"

	"github.com/dop251/goja"

	"github.com/orsgo/engine/internal/bitset"
	"github.com/orsgo/engine/scxml"
)

// Incremental snapshots. Exporting goja values is most of the cost of a
// checkpoint, and a macrostep of a routing document changes one or two of
// its variables. So the datamodel records which top-level names the code
// it ran may have changed ("touched"), and the exporter re-exports only
// those, reusing the encoding of the others from the previous snapshot.
// The text of each expression and script is scanned once per document for
// the names it mentions. What makes that sound:
//
//   - Code that can reach the global object without naming variables
//     (this, eval, Function, .constructor) turns the cache off for the
//     document (scriptDecls.dynamic); so does foreign code an extension
//     evaluates, for the session that ran it.
//   - A value expression whose result is not stored in the datamodel (a
//     cond, a <log>, a <send> parameter) and that contains no assignment,
//     call or template touches nothing: it reads. Stored (an <assign>'s
//     expr), it touches only the location when its value is a primitive,
//     which cannot alias anything: lastGroup = call.route.group leaves
//     call untouched, call.route = call.next touches both.
//   - The document's functions can run from any code (calls, and
//     implicitly through valueOf, toString and getters), so the names
//     mentioned by code that defines functions count as touched by every
//     evaluation.
//   - Aliasing: an object reachable from two variables changes through
//     either. A variable whose export met a shared or cyclic object is not
//     cached. An object becomes shared only through code that names both
//     variables, or through a container that is not a variable (a builtin
//     such as Math, a host object, _ioprocessors, a function's locals):
//     the names in stored code that also names such a container are
//     "escaped" and re-exported by every snapshot of the session from then
//     on, and so are all names of such code when the document's
//     functions name containers.
//
// Options.VerifySnapshots checks all of it at run time against a full
// export (the W3C suite and the fixtures run with it).

// unitTouch is what running one piece of code may change.
type unitTouch struct {
	names   bitset.Set
	escapes bool // names may now alias objects held outside variables
	// foreign is set for code that names something the document's text
	// does not: the exporter cannot know its globals by name.
	foreign bool
}

// touchTable is the per-document analysis, shared by its sessions.
type touchTable struct {
	index map[string]int // scriptDecls.globals -> bit
	// variables are the names the document declares (data, var,
	// function, let, const, class, foreach item and index): anything
	// else it names is a container.
	variables map[string]bool
	words     int
	reads     []unitTouch // by Expr.ID: evaluated for a value that is not stored
	// readOnly[Expr.ID]: the expression cannot change anything
	// (readOnly), so reads applies to it also when its value is stored,
	// if that value is a primitive (datamodel.storedValue).
	readOnly []bool
	// paths[Expr.ID] is a location that is a static property path
	// (call.vars.score: a variable, then property names) and pathVar
	// its variable's bit; nil where the location is anything else, or
	// where the document's code could make a store run code (accessors,
	// prototypes, code reaching the global object).
	paths   [][]string
	pathVar []int
	// samePath[Expr.ID] is the first Expr.ID whose location is the same
	// path (the same property of the same object): a snapshot's dirty
	// paths list each path once, however many assignments name it.
	samePath []int
	writes   []unitTouch // by Expr.ID: stored, or a location written to
	script   []unitTouch // by Script.ID
	// funcs is what the document's functions may touch: part of every
	// other touch already; kept for names written by Go (data, foreach).
	funcs unitTouch
}

// systemNames are the system variables of section 5.10 and In(): not in
// scriptDecls.globals, never the document's.
var systemNames = map[string]bool{"_event": true, "_sessionid": true, "_name": true, "_ioprocessors": true, "In": true}

// exemptNames never hold a datamodel object another variable could share.
var exemptNames = map[string]bool{"undefined": true, "NaN": true, "Infinity": true, "_event": true, "_sessionid": true, "_name": true}

func newTouchTable(doc *scxml.Document, decls *scriptDecls) *touchTable {
	t := &touchTable{index: make(map[string]int, len(decls.globals))}
	for i, n := range decls.globals {
		t.index[n] = i
	}
	t.words = (len(decls.globals) + 63) / 64
	variables := map[string]bool{}
	for n := range decls.declared {
		variables[n] = true
	}
	for _, st := range doc.States {
		for _, data := range st.Data {
			variables[data.ID] = true
		}
	}
	for _, e := range doc.Exprs {
		if (e.Attr == "item" || e.Attr == "index") && isIdentifier(strings.TrimSpace(e.Source)) {
			variables[strings.TrimSpace(e.Source)] = true
		}
	}
	t.variables = variables
	scan := func(src string) unitTouch {
		u, containers := t.scan(src)
		u.escapes = containers
		return u
	}
	t.funcs = unitTouch{names: make(bitset.Set, t.words)}
	addFuncs := func(src string, u unitTouch) {
		if definesFunctions(src) {
			t.funcs.names.Union(u.names)
			t.funcs.escapes = t.funcs.escapes || u.escapes
		}
	}
	t.writes = make([]unitTouch, len(doc.Exprs))
	t.reads = make([]unitTouch, len(doc.Exprs))
	for i, e := range doc.Exprs {
		t.writes[i] = scan(e.Source)
		addFuncs(e.Source, t.writes[i])
	}
	t.script = make([]unitTouch, len(doc.Scripts))
	for i, s := range doc.Scripts {
		t.script[i] = scan(s.Source)
		addFuncs(s.Source, t.script[i])
	}
	// Every piece of code may run the document's functions; when those
	// name containers, any variable code passes them may be stashed.
	withFuncs := func(u unitTouch) unitTouch {
		u.names.Union(t.funcs.names)
		u.escapes = u.escapes || t.funcs.escapes
		return u
	}
	t.readOnly = make([]bool, len(doc.Exprs))
	for i, e := range doc.Exprs {
		// In('state') only reads the configuration (In is not writable,
		// and a document cannot declare its own).
		if readOnly(e.Source) || !t.variables["In"] && readOnly(stripInCalls(e.Source)) {
			t.readOnly[i] = true
			r := unitTouch{names: make(bitset.Set, t.words), foreign: t.writes[i].foreign}
			t.reads[i] = withFuncs(r)
		} else {
			t.reads[i] = withFuncs(t.writes[i])
		}
		t.writes[i] = withFuncs(t.writes[i])
	}
	for i := range t.script {
		t.script[i] = withFuncs(t.script[i])
	}
	t.paths = make([][]string, len(doc.Exprs))
	t.pathVar = make([]int, len(doc.Exprs))
	t.samePath = make([]int, len(doc.Exprs))
	if !decls.dynamic && !decls.accessors && !decls.protoAccess {
		first := map[string]int{}
		for i, e := range doc.Exprs {
			if p := propertyPath(e.Source); p != nil && t.variables[p[0]] && !systemNames[p[0]] {
				if bit, ok := t.index[p[0]]; ok && !t.writes[i].escapes && !t.writes[i].foreign {
					t.paths[i], t.pathVar[i] = p, bit
					key := strings.Join(p, ".")
					if j, seen := first[key]; seen {
						t.samePath[i] = j
					} else {
						first[key], t.samePath[i] = i, i
					}
				}
			}
		}
	}
	return t
}

// propertyPath splits a location of the form v.p1.p2 (at least one
// property, names only) into its names; nil for any other code.
func propertyPath(src string) []string {
	parts := strings.Split(strings.TrimSpace(src), ".")
	if len(parts) < 2 {
		return nil
	}
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if !isIdentifier(p) {
			return nil
		}
		parts[i] = p
	}
	return parts
}

// scan gives the names src mentions, whether it names something the
// document's text does not (foreign), and whether it mentions a container:
// a name that is not a variable of the document.
func (t *touchTable) scan(src string) (u unitTouch, containers bool) {
	u.names = make(bitset.Set, t.words)
	identifiers(src, func(name string) {
		if reservedWords[name] {
			return
		}
		if i, ok := t.index[name]; ok {
			u.names.Add(i)
		} else if !systemNames[name] {
			u.foreign = true
		}
		if !t.variables[name] && !exemptNames[name] {
			containers = true
		}
	})
	return u, containers
}

// scanSource analyses code from outside the expression table (a custom
// action's attribute) the way newTouchTable analyses the document's.
func (t *touchTable) scanSource(src string) unitTouch {
	u, _ := t.scan(src)
	// Conservative: such code may stash anything it names.
	u.escapes = true
	u.names.Union(t.funcs.names)
	u.foreign = u.foreign || reachesGlobal(src)
	return u
}

// readOnly reports whether a value expression can only read: no
// assignment (=, op=, ++, --, delete), no call or construction, no
// tagged template. Comparisons (==, !=, <=, >=) and arrows are told apart
// from assignments; anything unclear counts as a write.
func readOnly(src string) bool {
	if strings.ContainsAny(src, "(`") || strings.Contains(src, "++") || strings.Contains(src, "--") {
		return false
	}
	for i := 0; i < len(src); i++ {
		if src[i] != '=' {
			continue
		}
		if i+1 < len(src) && (src[i+1] == '=' || src[i+1] == '>') {
			i++ // ==, === (skipped together), =>
			if src[i] == '>' {
				return false
			}
			continue
		}
		if i == 0 {
			return false
		}
		switch p := src[i-1]; p {
		case '=', '!':
		case '<', '>':
			if i >= 2 && src[i-2] == p { // <<=, >>=, >>>=
				return false
			}
		default:
			return false
		}
	}
	ro := true
	identifiers(src, func(name string) {
		switch name {
		case "new", "delete", "yield", "await", "import", "function", "class":
			ro = false
		}
	})
	return ro
}

// stripInCalls replaces each call of In with a string literal argument,
// In('s') or In("s"), by true, for readOnly.
func stripInCalls(src string) string {
	var b strings.Builder
	last := 0
	for i := 0; i+2 <= len(src); i++ {
		if src[i] != 'I' || src[i+1] != 'n' {
			continue
		}
		if i > 0 && (identPart(src[i-1]) || src[i-1] == '$' || src[i-1] == '.' || src[i-1] >= 0x80) {
			continue
		}
		j := skipSpace(src, i+2)
		if j >= len(src) || src[j] != '(' {
			continue
		}
		j = skipSpace(src, j+1)
		if j >= len(src) || src[j] != '\'' && src[j] != '"' {
			continue
		}
		q := src[j]
		k := j + 1
		for k < len(src) && src[k] != q && src[k] != '\\' && src[k] != '\n' {
			k++
		}
		if k >= len(src) || src[k] != q {
			continue
		}
		k = skipSpace(src, k+1)
		if k >= len(src) || src[k] != ')' {
			continue
		}
		b.WriteString(src[last:i])
		b.WriteString("true")
		last = k + 1
		i = k
	}
	if last == 0 {
		return src
	}
	b.WriteString(src[last:])
	return b.String()
}

func skipSpace(src string, i int) int {
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
		i++
	}
	return i
}

// definesFunctions reports whether src may create a function: a function
// or class keyword, an arrow, or a method or accessor (") {").
func definesFunctions(src string) bool {
	if strings.Contains(src, "function") || strings.Contains(src, "=>") || strings.Contains(src, "class") {
		return true
	}
	for i := 0; i < len(src); i++ {
		if src[i] != ')' {
			continue
		}
		j := i + 1
		for j < len(src) && (src[j] == ' ' || src[j] == '\t' || src[j] == '\n' || src[j] == '\r') {
			j++
		}
		if j < len(src) && src[j] == '{' {
			return true
		}
	}
	return false
}

// varCache is a session's record of what changed since its last snapshot
// and of the encodings it can reuse.
type varCache struct {
	touched bitset.Set
	escaped bitset.Set
	// notOwn are the names the last export found not to be variables
	// (builtins, host objects): not asked again until touched.
	notOwn bitset.Set
	// own are the names found to be own enumerable properties of the
	// global object: variables of the document for as long as they exist.
	own bitset.Set
	// listed are the globals the last export listed as variables of the
	// global object (not lexical bindings).
	listed bitset.Set
	// dynamic is set once foreign code ran: from then on the session's
	// snapshots list the global object's keys and export everything.
	dynamic bool
	// hide is set once Go code handed the session a value that may hold
	// objects with non-enumerable or symbol-keyed properties (Globals,
	// goja values or Go wrappers in event data): see exporter.mayHide.
	hide bool
	// warm is false until the first export, and after a failed one.
	warm    bool
	entries []cachedVar // by index in scriptDecls.globals
	// dirty[i] are the locations (Expr.IDs of touchTable.paths) through
	// which primitives were stored into global i since the last
	// snapshot, which touched it no further: its export re-encodes the
	// objects on those paths and reuses the cached encoding of the
	// others (exporter.track).
	dirty [][]int
	// reused and exported count variables taken from the cache and
	// exported afresh, over the session's life.
	reused, exported int
	// reusedObjs counts the objects whose encoding a tracked variable's
	// export copied from its tree (exporter.track).
	reusedObjs int
	// names are the variables the last export listed, in its order:
	// exportWarm lists them again while no touched name changed the
	// listing. Valid while warm.
	names []exportName
	// vals[i] is the value of touched global i that exportWarm read
	// while listing, for its export (nil otherwise).
	vals []goja.Value
	// warmExports counts the exports exportWarm made, over the
	// session's life (the tests check that the fast path runs).
	warmExports int
}

type cachedVar struct {
	ok   bool
	raw  []byte // the Var as snapshot.EncodeVar encodes it
	objs int    // objects numbered inside it (see exporter.number)
	// tree caches the encodings of the objects inside its value, when
	// that is a plain object or an array.
	tree *objNode
}

// objNode is the cached encoding of one object (a plain object or an
// array) of a cached variable, and of the plain objects and arrays its
// properties hold (an array's elements are not tracked one by one).
type objNode struct {
	obj  *goja.Object
	raw  []byte // its encoding, inside the snapshot's that made it
	rel  int    // offset of raw in its parent's raw
	objs int    // objects numbered inside it, itself included
	kids []objKid
	// keys are a plain object's keys, as goja listed them when it was
	// last encoded: a store through a path into one of these keys
	// leaves them as they are (exporter.encodePlain).
	keys []string
	// items[2i] and items[2i+2] bound the encoding of the value of
	// keys[i] in raw, and items[2i+1] counts the objects numbered inside
	// it: a re-encoding of the object copies the values no store reached
	// (exporter.encodePlain). Set for a plain object (nil for one whose
	// encoding is too large for int32 offsets).
	items []int32
}

type objKid struct {
	key  string
	node *objNode
}

// maxDirty bounds the paths tracked per variable; beyond, the variable
// counts as touched.
const maxDirty = 64

func (c *varCache) init(t *touchTable) {
	c.touched = make(bitset.Set, t.words)
	c.escaped = make(bitset.Set, t.words)
	c.notOwn = make(bitset.Set, t.words)
	c.own = make(bitset.Set, t.words)
	c.listed = make(bitset.Set, t.words)
	c.entries = make([]cachedVar, len(t.index))
	c.dirty = make([][]int, len(t.index))
	c.vals = make([]goja.Value, len(t.index))
	if t.funcs.escapes {
		c.escaped.Union(t.funcs.names)
	}
}

// touch records that u ran (or is about to: an interrupted script may
// have changed things before it stopped).
func (c *varCache) touch(u *unitTouch) {
	c.touched.Union(u.names)
	if u.escapes {
		c.escaped.Union(u.names)
	}
	if u.foreign {
		c.dynamic = true
	}
}

// touchStore records a store of the value of code from into the variable
// named name (or the location loc): they may alias now.
func (c *varCache) touchStore(from, loc *unitTouch) {
	if from != nil {
		c.touch(from)
	}
	if loc != nil {
		c.touch(loc)
		if from != nil && (from.escapes || loc.escapes) {
			c.escaped.Union(from.names)
			c.escaped.Union(loc.names)
		}
	}
}

// touchPath records a store of a primitive, whose evaluation changed
// nothing, at location id, when that is a property path: the store
// changes one property of the object the path leads to, and nothing else
// (no setter can run: the document can define none). It returns false
// when the store must count as touching the whole variable.
func (c *varCache) touchPath(t *touchTable, id int) bool {
	if t.paths[id] == nil || c.dynamic {
		return false
	}
	id = t.samePath[id]
	// The document's functions may be part of any touch (valueOf).
	c.touched.Union(t.funcs.names)
	i := t.pathVar[id]
	if c.touched.Has(i) {
		return true // exported whole anyway
	}
	if slices.Contains(c.dirty[i], id) {
		return true
	}
	if len(c.dirty[i]) >= maxDirty {
		c.touched.Add(i)
		return true
	}
	c.dirty[i] = append(c.dirty[i], id)
	return true
}

// reusable reports whether the cached encoding of global i is current.
func (c *varCache) reusable(i int) bool {
	return c.cached(i) && len(c.dirty[i]) == 0
}

// cached reports whether global i has a cached encoding that is current
// but for the objects on its dirty paths.
func (c *varCache) cached(i int) bool {
	return c.warm && c.entries[i].ok && !c.touched.Has(i) && !c.escaped.Has(i)
}

// scratch is the working memory of an export, pooled rather than kept by
// each session between its snapshots.
type scratch struct {
	names         []exportName
	fresh, impure []bool
	starts        []int
	buf           []byte // the encodings of the variables exported afresh
	spans         []int
	segs          []pathSeg
	placed        []placedNode
	trees         []*objNode
	objects       map[*goja.Object]int // exporter.objects, emptied
	freshAt       []int                // exportWarm: positions of the variables exported afresh
}

var scratchPool = sync.Pool{New: func() any { return &scratch{} }}
