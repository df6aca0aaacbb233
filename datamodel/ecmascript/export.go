package ecmascript

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/dop251/goja"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
)

// and cyclic references survive.
type exporter struct {
	d       *datamodel
	objects map[*goja.Object]int
	next    int // number of the next object; cached variables skip theirs
	bad     []string
	// starts[i] is the number of the first object of the i-th variable
	// exported; impure[i] is set when that variable reached an object
	// met before (shared or cyclic): its encoding then depends on the
	// others', and it is not cached.
	starts []int
	impure []bool
	// root and segs are the path to the value encode is writing (encode.go).
	root string
	segs []pathSeg
	// dirty are the locations stored into the tracked variable being
	// written; placed the nodes of the trees written (encode.go).
	dirty  []int
	placed []placedNode
}

// number gives obj the next object number.
func (x *exporter) number(obj *goja.Object) {
	if x.objects == nil {
		x.objects = map[*goja.Object]int{}
	}
	x.objects[obj] = x.next
	x.next++
}

// ref notes that the current variable refers to object id.
func (x *exporter) ref(id int) {
	cur := len(x.starts) - 1
	x.impure[cur] = true
	owner, _ := slices.BinarySearch(x.starts, id+1)
	if owner > 0 {
		x.impure[owner-1] = true
	}
}

// Encodings that Value's fields cannot express on their own, marked with
// the Bool field (unused by these kinds otherwise):
//   - KindFloat with Bool set is negative zero. Float alone cannot carry
//     it: encoders that omit empty fields (msgpack's omitempty) take -0
//     for 0 and drop it.
//   - KindUndefined with Bool set, as an array item, is a hole: the index
//     is absent, not present with the value undefined.
const (
	// maxArrayHoles bounds the missing elements of one array: a sparse
	// array such as a[1e9] = 1 is reported instead of exported as a
	// billion holes.
	maxArrayHoles = 1 << 16
)

var mapType = reflect.TypeOf(map[string]any(nil))

// The prototypes and the descriptor function the exporter needs are looked
// up on first use, once per session: looking one up makes goja build it
// (Object's constructor alone is a few KB), and a session whose variables
// are all strings and numbers needs none of them.

func (x *exporter) objectProto() *goja.Object {
	if x.d.snap.objProt == nil {
		x.d.snap.objProt = x.d.vm.NewObject().Prototype()
	}
	return x.d.snap.objProt
}

func (x *exporter) arrayProto() *goja.Object {
	if x.d.snap.arrProt == nil {
		x.d.snap.arrProt = x.d.proto("Array")
	}
	return x.d.snap.arrProt
}

func (x *exporter) dateProto() *goja.Object {
	if x.d.snap.dateProt == nil {
		x.d.snap.dateProt = x.d.proto("Date")
	}
	return x.d.snap.dateProt
}

// descriptor returns Object.getOwnPropertyDescriptor(obj, key).
func (x *exporter) descriptor(obj *goja.Object, key string) (goja.Value, error) {
	d := x.d
	if d.snap.ownDesc == nil {
		f, ok := goja.AssertFunction(d.vm.Get("Object").ToObject(d.vm).Get("getOwnPropertyDescriptor"))
		if !ok {
			return nil, errors.New("datamodel: Object.getOwnPropertyDescriptor is not a function")
		}
		d.snap.ownDesc = f
	}
	return d.snap.ownDesc(goja.Undefined(), obj, d.vm.ToValue(key))
}

// builtinGlobals are the properties a session's global object has before
// the document runs: its own (builtins) and those it inherits from
// Object.prototype.
var builtinGlobals = sync.OnceValue(func() map[string]bool {
	vm := goja.New()
	m := map[string]bool{}
	for _, o := range []*goja.Object{vm.GlobalObject(), vm.NewObject().Prototype()} {
		for _, n := range o.GetOwnPropertyNames() {
			m[n] = true
		}
	}
	return m
})

// builtinNamespaces are the builtin globals that are objects but not
// functions (Math, JSON, Reflect, globalThis): plain-looking objects whose
// properties are not enumerable, which code reaches by naming them.
var builtinNamespaces = sync.OnceValue(func() map[string]bool {
	vm := goja.New()
	g := vm.GlobalObject()
	m := map[string]bool{}
	for _, n := range g.GetOwnPropertyNames() {
		if o, ok := g.Get(n).(*goja.Object); ok && o.ClassName() != "Function" {
			m[n] = true
		}
	}
	return m
})

// ownEnumerable reports whether obj has an own enumerable property key
// (Object.prototype.propertyIsEnumerable: a method of the prototype every
// object has, where getOwnPropertyDescriptor would build Object's
// constructor).
func (x *exporter) ownEnumerable(obj *goja.Object, key string) (bool, error) {
	d := x.d
	if d.snap.propEnum == nil {
		f, ok := goja.AssertFunction(x.objectProto().Get("propertyIsEnumerable"))
		if !ok {
			return false, errors.New("datamodel: Object.prototype.propertyIsEnumerable is not a function")
		}
		d.snap.propEnum = f
	}
	v, err := d.snap.propEnum(obj, d.vm.ToValue(key))
	if err != nil {
		return false, err
	}
	return v.ToBoolean(), nil
}

// proto returns the prototype of a builtin constructor of the session's
// runtime.
func (d *datamodel) proto(ctor string) *goja.Object {
	return d.vm.Get(ctor).ToObject(d.vm).Get("prototype").ToObject(d.vm)
}

// ExportVars implements interp.Datamodel: it exports the document's
// variables for a snapshot: the ones
// the code run since the last snapshot may have changed, and the others
// from the cache (incremental.go). With Options.VerifySnapshots it
// also exports everything afresh and fails if the two differ.
func (d *datamodel) ExportVars() ([]interp.Var, error) {
	return d.AppendVars(nil)
}

// AppendVars implements interp.VarsAppender: ExportVars appending to
// dst[:0].
func (d *datamodel) AppendVars(dst []interp.Var) ([]interp.Var, error) {
	vars, err := d.export(false, dst)
	if err != nil || !d.verify {
		return vars, err
	}
	full, err := d.export(true, nil)
	if err != nil {
		return nil, fmt.Errorf("verify snapshot: %w", err)
	}
	if err := sameVars(vars, full); err != nil {
		return nil, fmt.Errorf("verify snapshot: incremental export differs from a full one (a change the datamodel did not track): %w", err)
	}
	return vars, nil
}

// sameVars compares two exports by their encodings.
func sameVars(inc, full []interp.Var) error {
	if len(inc) != len(full) {
		names := func(vs []interp.Var) []string {
			var out []string
			for _, v := range vs {
				out = append(out, v.Name)
			}
			return out
		}
		return fmt.Errorf("variables %v, want %v", names(inc), names(full))
	}
	for i := range inc {
		a, err := snapshot.EncodeVar(&inc[i])
		if inc[i].Encoded != nil {
			a = inc[i].Encoded
		}
		if err != nil {
			return err
		}
		b, err := snapshot.EncodeVar(&full[i])
		if err != nil {
			return err
		}
		if !bytes.Equal(a, b) {
			av, _ := snapshot.VarValue(&inc[i])
			return fmt.Errorf("variable %s: %+v, want %+v", full[i].Name, av, full[i].Value)
		}
	}
	return nil
}

// exportName is a variable a snapshot exports.
type exportName struct {
	js      string // the variable
	varName string // its interp.Var.Name ("let x" for a lexical binding)
	index   int    // in scriptDecls.globals; -1 when not cacheable
}

// export exports the variables, appending them to dst[:0]; full ignores
// (and leaves alone) the cache.
func (d *datamodel) export(full bool, dst []interp.Var) ([]interp.Var, error) {
	vm := d.vm
	c := &d.inc
	if !full && c.warm && !c.dynamic && !d.prog.decls.dynamic && !d.prog.decls.protoAccess && len(d.prog.decls.lexical) == 0 {
		if vars, ok, err := d.exportWarm(dst); ok {
			return vars, err
		}
	}
	sc := scratchPool.Get().(*scratch)
	x := &exporter{d: d, starts: sc.starts[:0], impure: sc.impure[:0], objects: sc.objects,
		segs: sc.segs[:0], placed: sc.placed[:0]}
	// Keys lists the document's variables (the system variables are not
	// enumerable) in creation order; restoring them in that order keeps
	// the order a for-in over the global object sees, and the same state
	// encodes the same way.
	names := sc.names[:0]
	fresh := sc.fresh[:0]
	// An incremental export writes the variables it exports afresh into
	// buf (encode.go); spans[i] is where the i-th variable's bytes end.
	buf, spans := sc.buf[:0], sc.spans[:0]
	trees := sc.trees[:0] // by variable: the tree of a tracked one
	// One defer, so that it is open-coded.
	defer func() {
		clear(x.objects)
		clear(x.placed)
		clear(trees)
		sc.objects, sc.starts, sc.impure, sc.names = x.objects, x.starts, x.impure, names
		sc.fresh, sc.buf, sc.spans, sc.trees = fresh, buf, spans, trees
		sc.segs, sc.placed = x.segs, x.placed
		scratchPool.Put(sc)
	}()
	global := vm.GlobalObject()
	dynamic := d.prog.decls.dynamic || c.dynamic
	if dynamic {
		for _, k := range global.Keys() {
			names = append(names, exportName{k, k, -1})
		}
	} else {
		// Only the enumerable own properties among the names the document
		// can create, in the order of its text: a restored session
		// creates them in that order, so its snapshots encode the same.
		// A name no code touched since the last export is listed as it
		// was: only code naming a variable creates or deletes it.
		same := !full && c.warm && !d.prog.decls.protoAccess
		for i, n := range d.prog.decls.globals {
			if same && !c.touched.Has(i) {
				if c.listed.Has(i) {
					names = append(names, exportName{n, n, i})
				}
				continue
			}
			_, listed, err := d.listGlobal(x, global, i, n)
			if err != nil {
				return nil, err
			}
			if listed {
				names = append(names, exportName{n, n, i})
			}
		}
	}
	for _, l := range d.prog.decls.lexical {
		if vm.Get(l.name) == nil {
			continue // declared by a script that has not run
		}
		i, ok := d.prog.touch.index[l.name]
		if !ok || dynamic {
			i = -1
		}
		names = append(names, exportName{l.name, l.token + " " + l.name, i})
	}
	useCache := !full && !dynamic
	vars := slices.Grow(dst[:0], len(names))
	for _, n := range names {
		x.starts = append(x.starts, x.next)
		x.impure = append(x.impure, false)
		if useCache && n.index >= 0 && c.reusable(n.index) {
			e := &c.entries[n.index]
			vars = append(vars, interp.Var{Name: n.varName, Encoded: e.raw})
			fresh = append(fresh, false)
			spans = append(spans, len(buf))
			trees = append(trees, nil)
			c.reused++
			x.next += e.objs
			continue
		}
		switch {
		case full:
			vars = append(vars, interp.Var{Name: n.varName, Value: x.value(n.js, vm.Get(n.js))})
		case useCache && n.index >= 0:
			// Tracked: what the cache holds of it is reused below the
			// objects its dirty paths changed.
			var old *objNode
			var dirty []int
			if c.cached(n.index) {
				old, dirty = c.entries[n.index].tree, c.dirty[n.index]
			}
			var tree *objNode
			buf, tree = x.appendTracked(buf, n.varName, n.js, vm.Get(n.js), old, dirty)
			trees = append(trees, tree)
			vars = append(vars, interp.Var{Name: n.varName})
			c.exported++
		default:
			buf = x.appendVar(buf, n.varName, n.js, vm.Get(n.js))
			vars = append(vars, interp.Var{Name: n.varName})
			c.exported++
		}
		if len(trees) < len(vars) {
			trees = append(trees, nil)
		}
		fresh = append(fresh, true)
		spans = append(spans, len(buf))
	}
	if len(x.bad) > 0 {
		if !full {
			c.warm = false // export everything next time
		}
		return nil, fmt.Errorf("%s: %w", strings.Join(x.bad, "; "), interp.ErrNotRestorable)
	}
	if full {
		return vars, nil
	}
	// One allocation holds the encodings of every variable exported
	// afresh: the snapshot's and the cache's (which keeps the pure ones).
	all := append(make([]byte, 0, len(buf)), buf...)
	start := 0
	for i := range vars {
		if fresh[i] {
			vars[i].Encoded = all[start:spans[i]:spans[i]]
		}
		start = spans[i]
	}
	for _, p := range x.placed {
		p.node.raw = all[p.start:p.end:p.end]
	}
	if !useCache {
		return vars, nil
	}
	for i, n := range names {
		if fresh[i] && n.index >= 0 {
			c.cacheFresh(x, n.index, i, vars[i].Encoded, trees[i])
		}
	}
	for i := range c.dirty {
		c.dirty[i] = c.dirty[i][:0]
	}
	c.listed.Clear()
	for _, n := range names {
		if n.index >= 0 && n.varName == n.js {
			c.listed.Add(n.index)
		}
	}
	c.names = append(c.names[:0], names...)
	c.touched.Clear()
	c.warm = true
	return vars, nil
}

// listGlobal reports whether global i, named n, is listed as a variable
// of the document (an own enumerable property of the global object, not
// a host object's) and returns its value.
func (d *datamodel) listGlobal(x *exporter, global *goja.Object, i int, n string) (goja.Value, bool, error) {
	c := &d.inc
	v := global.Get(n)
	if v == nil {
		return nil, false, nil // the common case, answered without running JS
	}
	if c.own.Has(i) {
		// Once an own enumerable property, always one while it exists:
		// assignment keeps a property's attributes.
		return v, true, nil
	}
	if _, host := d.hosts[n]; host {
		return nil, false, nil // non-configurable: never one of the document's
	}
	if !d.prog.decls.protoAccess && !builtinGlobals()[n] {
		// Not a builtin, and not inherited from an Object.prototype the
		// document cannot reach: the document's code made it, as a var,
		// a <data> or an assignment, all enumerable.
		c.own.Add(i)
		return v, true, nil
	}
	if c.warm && c.notOwn.Has(i) && !c.touched.Has(i) {
		return nil, false, nil // a builtin, as last time
	}
	own, err := x.ownEnumerable(global, n)
	if err != nil {
		return nil, false, fmt.Errorf("datamodel: global %s: %w", n, err)
	}
	if !own {
		c.notOwn.Add(i) // inherited, or a builtin
		return nil, false, nil
	}
	c.notOwn.Del(i)
	c.own.Add(i)
	return v, true, nil
}

// exportWarm is export's path for a session whose last export is
// current but for what was touched since, in a document whose variables
// are all known by name (not dynamic, no lexical bindings, no reach to
// Object.prototype). Only a touched name can be created or deleted, so
// only the touched names are looked up: when each is listed as it was,
// the last export's names are listed again; otherwise ok is false and
// export takes its general path (listGlobal's bookkeeping, which that
// repeats, is the same either way).
func (d *datamodel) exportWarm(dst []interp.Var) (vars []interp.Var, ok bool, err error) {
	c := &d.inc
	global := d.vm.GlobalObject()
	sc := scratchPool.Get().(*scratch)
	x := &exporter{d: d, starts: sc.starts[:0], impure: sc.impure[:0], objects: sc.objects,
		segs: sc.segs[:0], placed: sc.placed[:0]}
	freshAt, trees := sc.freshAt[:0], sc.trees[:0]
	// The variables exported afresh are written into buf; spans[j] is
	// where the j-th one's bytes end.
	buf, spans := sc.buf[:0], sc.spans[:0]
	defer func() {
		if len(x.objects) > 0 {
			clear(x.objects)
		}
		clear(x.placed)
		clear(trees)
		sc.objects, sc.starts, sc.impure = x.objects, x.starts, x.impure
		sc.freshAt, sc.trees, sc.segs, sc.placed = freshAt, trees, x.segs, x.placed[:0]
		sc.buf, sc.spans = buf, spans
		scratchPool.Put(sc)
	}()
	globals := d.prog.decls.globals
	for i := c.touched.Next(0); i >= 0 && i < len(globals); i = c.touched.Next(i + 1) {
		v, listed, err := d.listGlobal(x, global, i, globals[i])
		if err != nil || listed != c.listed.Has(i) {
			clear(c.vals)
			return nil, false, nil
		}
		c.vals[i] = v
	}
	names := c.names
	vars = slices.Grow(dst[:0], len(names))[:len(names)]
	for k, n := range names {
		x.starts = append(x.starts, x.next)
		x.impure = append(x.impure, false)
		i := n.index
		e := &c.entries[i]
		if c.reusable(i) {
			setVar(&vars[k], n.varName, e.raw)
			c.reused++
			x.next += e.objs
			continue
		}
		var old *objNode
		var dirty []int
		if c.cached(i) {
			old, dirty = e.tree, c.dirty[i]
		}
		v := c.vals[i] // read while listing if touched
		switch {
		case v != nil:
			c.vals[i] = nil
		case old != nil:
			// Untouched: the variable still holds the object its tree
			// was made of (a store into it through a path is dirty).
			v = old.obj
		default:
			v = global.Get(n.js)
		}
		var tree *objNode
		buf, tree = x.appendTracked(buf, n.varName, n.js, v, old, dirty)
		freshAt = append(freshAt, k)
		spans = append(spans, len(buf))
		trees = append(trees, tree)
		c.exported++
	}
	if len(x.bad) > 0 {
		c.warm = false // export everything next time
		return nil, true, fmt.Errorf("%s: %w", strings.Join(x.bad, "; "), interp.ErrNotRestorable)
	}
	// One allocation of the exact size holds the encodings of the
	// variables exported afresh, for the snapshot and the cache: never
	// written to again, so that a snapshot kept stays intact, and no
	// spare capacity stays with the session.
	all := append(make([]byte, 0, len(buf)), buf...)
	start := 0
	for j, k := range freshAt {
		setVar(&vars[k], names[k].varName, all[start:spans[j]:spans[j]])
		start = spans[j]
	}
	for _, p := range x.placed {
		p.node.raw = all[p.start:p.end:p.end]
	}
	for j, k := range freshAt {
		c.cacheFresh(x, names[k].index, k, vars[k].Encoded, trees[j])
	}
	for i := range c.dirty {
		c.dirty[i] = c.dirty[i][:0]
	}
	c.touched.Clear()
	c.warmExports++
	return vars, true, nil
}

// setVar makes *v the Var of an encoded variable. The snapshot's Vars
// are reused from one export to the next: fields are written one by one,
// the Value only where a previous use left one, rather than copying a
// whole Var.
func setVar(v *interp.Var, name string, enc []byte) {
	if w := &v.Value; w.Kind != 0 || w.Bool || math.Float64bits(w.Float) != 0 || w.Int != 0 || w.Str != "" || w.Keys != nil || w.Items != nil {
		*w = interp.Value{}
	}
	v.Name, v.Encoded = name, enc
}

func (x *exporter) reject(path, format string, args ...any) interp.Value {
	x.bad = append(x.bad, fmt.Sprintf("variable %s: ", path)+fmt.Sprintf(format, args...))
	return interp.Value{Kind: interp.KindUndefined}
}

func (x *exporter) value(path string, v goja.Value) interp.Value {
	if v == nil || goja.IsUndefined(v) {
		return interp.Value{Kind: interp.KindUndefined}
	}
	if goja.IsNull(v) {
		return interp.Value{Kind: interp.KindNull}
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		if _, sym := v.(*goja.Symbol); sym {
			// Export would turn it into its description string.
			return x.reject(path, "a symbol")
		}
		switch e := v.Export().(type) {
		case bool:
			return interp.Value{Kind: interp.KindBool, Bool: e}
		case int64:
			return interp.Value{Kind: interp.KindInt, Int: e}
		case float64:
			if e == 0 && math.Signbit(e) {
				return interp.Value{Kind: interp.KindFloat, Float: e, Bool: true}
			}
			return interp.Value{Kind: interp.KindFloat, Float: e}
		case string:
			// Unpaired surrogates export as U+FFFD: check that the string
			// comes back as it was.
			if strings.ContainsRune(e, utf8.RuneError) && !x.d.vm.ToValue(e).StrictEquals(v) {
				return x.reject(path, "a string with unpaired UTF-16 surrogates")
			}
			return interp.Value{Kind: interp.KindString, Str: e}
		default:
			return x.reject(path, "a %T", e)
		}
	}
	if id, seen := x.objects[obj]; seen {
		x.ref(id)
		return interp.Value{Kind: interp.KindRef, Int: int64(id)}
	}
	switch obj.ExportType() {
	case domObjType:
		return x.domNode(path, obj)
	case domListType:
		return x.reject(path, "a DOM node list (childNodes, attributes, getElementsByTagName); only DOM nodes are restorable")
	}
	switch obj.ClassName() {
	case "Function":
		src := obj.String()
		if !x.d.prog.decls.functions[src] {
			return x.reject(path, "a function created at run time (a closure or host function); only functions the document's scripts declare at top level can be restored")
		}
		// Properties the program gave the function object itself are not
		// in its source.
		for _, k := range obj.GetOwnPropertyNames() {
			if k != "length" && k != "name" && k != "prototype" {
				return x.reject(path+"."+k, "a property of a function; only the function's source is restorable")
			}
		}
		if len(obj.Symbols()) > 0 {
			return x.reject(path, "a function with symbol-keyed properties")
		}
		x.number(obj)
		return interp.Value{Kind: interp.KindFunction, Str: src}
	case "Date":
		ms, ok := x.dateMillis(obj)
		if !ok {
			break
		}
		return interp.Value{Kind: interp.KindDate, Float: ms}
	case "Array":
		if obj.Prototype() != x.arrayProto() {
			break
		}
		return x.array(path, obj)
	case "Object":
		// Built-in namespaces (Math, JSON, Reflect), the global object and
		// host objects also have class Object and Object.prototype: a plain
		// object is one whose own properties are all enumerable data
		// properties with string keys and that exports as a map (Go
		// values wrapped as objects and proxies do not).
		if obj.Prototype() != x.objectProto() || obj.ExportType() != mapType {
			break
		}
		keys := obj.Keys()
		if len(obj.GetOwnPropertyNames()) != len(keys) || len(obj.Symbols()) > 0 {
			return x.reject(path, "an object with non-enumerable or symbol-keyed properties (a built-in, or made with Object.defineProperty); only plain objects are restorable")
		}
		for _, k := range keys {
			if x.isAccessor(obj, k) {
				return x.reject(path+"."+k, "an accessor property (getter or setter)")
			}
		}
		x.number(obj)
		out := interp.Value{Kind: interp.KindObject, Keys: keys, Items: make([]interp.Value, len(keys))}
		for i, k := range keys {
			out.Items[i] = x.value(path+"."+k, obj.Get(k))
		}
		return out
	}
	return x.reject(path, "a %s object (only plain objects, arrays, Dates and declared functions are restorable)", obj.ClassName())
}

// domNode exports a DOM node (dom_goja.go): a document as the markup it was
// parsed from, another node as its position in its document.
func (x *exporter) domNode(path string, obj *goja.Object) interp.Value {
	n := obj.Export().(*domObj).n
	if n.typ == domDocument {
		x.number(obj)
		return interp.Value{Kind: interp.KindXML, Str: n.doc.source}
	}
	doc := x.value(path+".ownerDocument", n.doc.root.object())
	x.number(obj)
	return interp.Value{Kind: interp.KindXML, Int: int64(n.index), Items: []interp.Value{doc}}
}

// array exports a plain array: its elements, holes kept as holes.
func (x *exporter) array(path string, obj *goja.Object) interp.Value {
	n := obj.Get("length").ToInteger()
	keys := obj.Keys()
	present := make(map[int64]bool, len(keys))
	for _, k := range keys {
		i, err := strconv.ParseUint(k, 10, 32)
		if err != nil || strconv.FormatUint(i, 10) != k || int64(i) >= n {
			return x.reject(path+"."+k, "a property of an array other than an element; only the elements of an array are restorable")
		}
		present[int64(i)] = true
	}
	// Own names are the elements plus "length": anything more is a
	// non-enumerable property that would be lost.
	if len(obj.GetOwnPropertyNames()) != len(keys)+1 || len(obj.Symbols()) > 0 {
		return x.reject(path, "an array with non-enumerable or symbol-keyed properties")
	}
	if n-int64(len(keys)) > maxArrayHoles {
		return x.reject(path, "a sparse array of length %d with %d elements (at most %d holes are restorable)", n, len(keys), maxArrayHoles)
	}
	x.number(obj)
	out := interp.Value{Kind: interp.KindArray, Items: make([]interp.Value, n)}
	for i := int64(0); i < n; i++ {
		k := strconv.FormatInt(i, 10)
		if !present[i] {
			out.Items[i] = interp.Value{Kind: interp.KindUndefined, Bool: true}
			continue
		}
		out.Items[i] = x.value(fmt.Sprintf("%s[%d]", path, i), obj.Get(k))
	}
	return out
}

// isAccessor reports whether obj's own property k has a getter or setter
// (reading it would run code, and restoring the value read would turn it
// into a data property).
func (x *exporter) isAccessor(obj *goja.Object, k string) bool {
	if !x.d.prog.decls.accessors && !x.d.inc.dynamic {
		return false // no code of the session can make one
	}
	desc, err := x.descriptor(obj, k)
	if err != nil {
		return true
	}
	d, ok := desc.(*goja.Object)
	if !ok {
		return false
	}
	return d.Get("get") != nil || d.Get("set") != nil
}

func (x *exporter) callNumber(obj *goja.Object, method string) (float64, bool) {
	fn, ok := goja.AssertFunction(obj.Get(method))
	if !ok {
		return 0, false
	}
	v, err := fn(obj)
	if err != nil {
		return 0, false
	}
	return v.ToFloat(), true
}

// dateMillis returns the time of a plain Date (its own prototype, no
// properties of its own) in ms since the epoch, as getTime gives it;
// ok is false for anything else, which is exported as an object.
func (x *exporter) dateMillis(obj *goja.Object) (ms float64, ok bool) {
	if obj.Prototype() != x.dateProto() || len(obj.GetOwnPropertyNames()) > 0 || len(obj.Symbols()) > 0 {
		return 0, false
	}
	x.number(obj)
	t, _ := obj.Export().(time.Time)
	ms = float64(t.UnixNano()) / 1e6
	if f, ok := x.callNumber(obj, "getTime"); ok {
		ms = f
	}
	return ms, true
}

// cacheFresh caches raw, the fresh encoding of variable i (the k-th name
// x exported), for the next export, unless x found it impure or it
// escaped.
func (c *varCache) cacheFresh(x *exporter, i, k int, raw []byte, tree *objNode) {
	e := &c.entries[i]
	*e = cachedVar{}
	if x.impure[k] || c.escaped.Has(i) {
		return
	}
	end := x.next
	if k+1 < len(x.starts) {
		end = x.starts[k+1]
	}
	*e = cachedVar{ok: true, raw: raw, objs: end - x.starts[k], tree: tree}
}
