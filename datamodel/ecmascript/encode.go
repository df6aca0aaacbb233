package ecmascript

import (
	"fmt"
	"math"
	"math/bits"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"

	"github.com/orsgo/engine/internal/msgp"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
)

// Direct encoding. An incremental snapshot writes the variables it
// exports afresh straight from goja values into the snapshot's msgpack
// bytes (the bytes snapshot.EncodeVar would write for the Value that
// exporter.value builds), without the intermediate Value tree, without
// path strings built for every property (only for an error), and without
// boxing primitives (Export). exporter.value stays the reference: a full
// export (Options.VerifySnapshots, the W3C suite and the fixtures) builds
// Values and compares their encoding with these bytes.

// The types goja's booleans and strings export as (Value.ExportType,
// which does not allocate where Export boxes the value; fast.go has the
// numbers').
var (
	typeBool   = reflect.TypeOf(false)
	typeString = reflect.TypeOf("")
)

// pathSeg is one step of the path to the value being encoded: a property
// name, or an array index when key is empty and idx >= 0.
type pathSeg struct {
	key string
	idx int
}

// path spells the path to the value being encoded, for an error.
func (x *exporter) path() string {
	var b strings.Builder
	b.WriteString(x.root)
	for _, s := range x.segs {
		if s.idx >= 0 {
			fmt.Fprintf(&b, "[%d]", s.idx)
		} else {
			b.WriteString("." + s.key)
		}
	}
	return b.String()
}

// rejectAt records that the value at the current path cannot be
// restored, and writes undefined in its place (the encoding is dropped).
func (x *exporter) rejectAt(b []byte, suffix, format string, args ...any) []byte {
	x.bad = append(x.bad, fmt.Sprintf("variable %s%s: ", x.path(), suffix)+fmt.Sprintf(format, args...))
	return leaf(b, interp.Value{Kind: interp.KindUndefined})
}

// leaf writes a Value without items.
func leaf(b []byte, v interp.Value) []byte { return snapshot.AppendValue(b, &v) }

// mayHide reports whether the session's code may have given an object a
// non-enumerable or symbol-keyed property: only then are an object's
// own property names and symbols listed to check for them (exporter.value
// always checks).
func (x *exporter) mayHide() bool {
	return x.d.prog.decls.hidden || x.d.inc.dynamic || x.d.inc.hide
}

// appendVar writes the variable named name (js in the runtime) as
// snapshot.EncodeVar writes it.
func (x *exporter) appendVar(b []byte, name, js string, v goja.Value) []byte {
	x.root, x.segs = js, x.segs[:0]
	b = msgp.AppendMapLen(b, 2)
	b = msgp.AppendStr(msgp.AppendStr(b, "n"), name)
	return x.encode(msgp.AppendStr(b, "v"), v)
}

// encode writes v as snapshot.AppendValue writes x.value(path, v).
func (x *exporter) encode(b []byte, v goja.Value) []byte {
	if v == nil || goja.IsUndefined(v) {
		return leaf(b, interp.Value{Kind: interp.KindUndefined})
	}
	if goja.IsNull(v) {
		return leaf(b, interp.Value{Kind: interp.KindNull})
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		if _, sym := v.(*goja.Symbol); sym {
			return x.rejectAt(b, "", "a symbol")
		}
		switch v.ExportType() {
		case typeBool:
			return leaf(b, interp.Value{Kind: interp.KindBool, Bool: v.ToBoolean()})
		case typeInt64:
			return leaf(b, interp.Value{Kind: interp.KindInt, Int: v.ToInteger()})
		case typeFloat64:
			f := v.ToFloat()
			return leaf(b, interp.Value{Kind: interp.KindFloat, Float: f, Bool: f == 0 && math.Signbit(f)})
		case typeString:
			s := v.String()
			if strings.ContainsRune(s, utf8.RuneError) && !x.d.vm.ToValue(s).StrictEquals(v) {
				return x.rejectAt(b, "", "a string with unpaired UTF-16 surrogates")
			}
			return leaf(b, interp.Value{Kind: interp.KindString, Str: s})
		}
		return x.rejectAt(b, "", "a %T", v.Export())
	}
	if id, seen := x.objects[obj]; seen {
		x.ref(id)
		return leaf(b, interp.Value{Kind: interp.KindRef, Int: int64(id)})
	}
	switch obj.ExportType() {
	case domObjType:
		return x.encodeDOM(b, obj)
	case domListType:
		return x.rejectAt(b, "", "a DOM node list (childNodes, attributes, getElementsByTagName); only DOM nodes are restorable")
	}
	switch obj.ClassName() {
	case "Function":
		src := obj.String()
		if !x.d.prog.decls.functions[src] {
			return x.rejectAt(b, "", "a function created at run time (a closure or host function); only functions the document's scripts declare at top level can be restored")
		}
		for _, k := range obj.GetOwnPropertyNames() {
			if k != "length" && k != "name" && k != "prototype" {
				return x.rejectAt(b, "."+k, "a property of a function; only the function's source is restorable")
			}
		}
		if len(obj.Symbols()) > 0 {
			return x.rejectAt(b, "", "a function with symbol-keyed properties")
		}
		x.number(obj)
		return leaf(b, interp.Value{Kind: interp.KindFunction, Str: src})
	case "Date":
		ms, ok := x.dateMillis(obj)
		if !ok {
			break
		}
		return leaf(b, interp.Value{Kind: interp.KindDate, Float: ms})
	case "Array":
		if obj.Prototype() != x.arrayProto() {
			break
		}
		return x.encodeArray(b, obj)
	case "Object":
		if obj.Prototype() != x.objectProto() || obj.ExportType() != mapType {
			break
		}
		return x.encodePlain(b, obj, nil, 0, 0)
	}
	return x.rejectAt(b, "", "a %s object (only plain objects, arrays, Dates and declared functions are restorable)", obj.ClassName())
}

// encodeDOM writes a DOM node as exporter.domNode exports it.
func (x *exporter) encodeDOM(b []byte, obj *goja.Object) []byte {
	n := obj.Export().(*domObj).n
	if n.typ == domDocument {
		x.number(obj)
		return leaf(b, interp.Value{Kind: interp.KindXML, Str: n.doc.source})
	}
	fields := 2
	if n.index != 0 {
		fields++
	}
	b = msgp.AppendMapLen(b, fields)
	b = msgp.AppendUint(msgp.AppendStr(b, "k"), uint64(interp.KindXML))
	if n.index != 0 {
		b = msgp.AppendInt(msgp.AppendStr(b, "i"), int64(n.index))
	}
	b = msgp.AppendArrayLen(msgp.AppendStr(b, "it"), 1)
	x.segs = append(x.segs, pathSeg{key: "ownerDocument", idx: -1})
	b = x.encode(b, n.doc.root.object())
	x.segs = x.segs[:len(x.segs)-1]
	x.number(obj)
	return b
}

// isIndex reports whether k is the decimal spelling of i, as goja names
// an array element.
func isIndex(k string, i int) bool {
	if len(k) == 0 || len(k) > 1 && k[0] == '0' {
		return false
	}
	n := 0
	for j := 0; j < len(k); j++ {
		c := k[j]
		if c < '0' || c > '9' || n > math.MaxInt32 {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n == i
}

// encodeArray writes a plain array as exporter.array exports it. A dense
// array (every element present, no other property: the common case) is
// read through the keys goja listed, without a set of present indices.
func (x *exporter) encodeArray(b []byte, obj *goja.Object) []byte {
	n := obj.Get("length").ToInteger()
	keys := obj.Keys()
	dense := int64(len(keys)) == n
	for i := 0; dense && i < len(keys); i++ {
		dense = isIndex(keys[i], i)
	}
	var present map[int64]bool
	if !dense {
		present = make(map[int64]bool, len(keys))
		for _, k := range keys {
			i, err := strconv.ParseUint(k, 10, 32)
			if err != nil || strconv.FormatUint(i, 10) != k || int64(i) >= n {
				return x.rejectAt(b, "."+k, "a property of an array other than an element; only the elements of an array are restorable")
			}
			present[int64(i)] = true
		}
	}
	if x.mayHide() && (len(obj.GetOwnPropertyNames()) != len(keys)+1 || len(obj.Symbols()) > 0) {
		return x.rejectAt(b, "", "an array with non-enumerable or symbol-keyed properties")
	}
	if n-int64(len(keys)) > maxArrayHoles {
		return x.rejectAt(b, "", "a sparse array of length %d with %d elements (at most %d holes are restorable)", n, len(keys), maxArrayHoles)
	}
	x.number(obj)
	if n == 0 {
		return leaf(b, interp.Value{Kind: interp.KindArray})
	}
	b = msgp.AppendMapLen(b, 2)
	b = msgp.AppendUint(msgp.AppendStr(b, "k"), uint64(interp.KindArray))
	b = msgp.AppendArrayLen(msgp.AppendStr(b, "it"), int(n))
	for i := int64(0); i < n; i++ {
		var v goja.Value
		switch {
		case dense:
			v = obj.Get(keys[i])
		case !present[i]:
			b = leaf(b, interp.Value{Kind: interp.KindUndefined, Bool: true})
			continue
		default:
			v = obj.Get(strconv.FormatInt(i, 10))
		}
		x.segs = append(x.segs, pathSeg{idx: int(i)})
		b = x.encode(b, v)
		x.segs = x.segs[:len(x.segs)-1]
	}
	return b
}

// encodePlain writes a plain object. With node (a tracked variable:
// track), the plain objects and arrays its properties hold are written
// through track, node.kids records their nodes, and node.items where the
// value of each key lies: when the keys are as they were, the value of a
// key that no dirty path in mask stores into or leads through is copied
// from node.raw, without asking goja for it.
func (x *exporter) encodePlain(b []byte, obj *goja.Object, node *objNode, mask uint64, depth int) []byte {
	var keys []string
	same := false
	if node != nil && node.keys != nil && !x.mayHide() && x.sameKeys(node.keys, mask, depth) {
		keys, same = node.keys, true
	} else {
		keys = obj.Keys()
	}
	if node != nil {
		node.keys = keys
	}
	if x.mayHide() && (len(obj.GetOwnPropertyNames()) != len(keys) || len(obj.Symbols()) > 0) {
		return x.rejectAt(b, "", "an object with non-enumerable or symbol-keyed properties (a built-in, or made with Object.defineProperty); only plain objects are restorable")
	}
	for _, k := range keys {
		if x.isAccessor(obj, k) {
			return x.rejectAt(b, "."+k, "an accessor property (getter or setter)")
		}
	}
	x.number(obj)
	if len(keys) == 0 {
		if node != nil {
			node.kids, node.items = node.kids[:0], node.items[:0]
		}
		return leaf(b, interp.Value{Kind: interp.KindObject})
	}
	// copyItems: node.items holds where each key's value lies in
	// node.raw (the same keys, in the same order).
	copyItems := same && len(node.items) == 2*len(keys)+1 && node.raw != nil
	if node != nil && !copyItems {
		node.items = slices.Grow(node.items[:0], 2*len(keys)+1)[:2*len(keys)+1]
	}
	start := len(b)
	if copyItems {
		b = append(b, node.raw[:node.items[0]]...) // the same keys
	} else {
		b = msgp.AppendMapLen(b, 3)
		b = msgp.AppendUint(msgp.AppendStr(b, "k"), uint64(interp.KindObject))
		b = msgp.AppendArrayLen(msgp.AppendStr(b, "ks"), len(keys))
		for _, k := range keys {
			b = msgp.AppendStr(b, k)
		}
		b = msgp.AppendArrayLen(msgp.AppendStr(b, "it"), len(keys))
	}
	n := 0 // kids recorded, in place over the old ones
	objStart := x.next
	for i, k := range keys {
		if node == nil {
			x.segs = append(x.segs, pathSeg{key: k, idx: -1})
			b = x.encode(b, obj.Get(k))
			x.segs = x.segs[:len(x.segs)-1]
			continue
		}
		var old *objNode
		if i < len(node.kids) && node.kids[i].key == k {
			old = node.kids[i].node
		} else {
			for j := n; j < len(node.kids); j++ {
				if node.kids[j].key == k {
					old = node.kids[j].node
					break
				}
			}
		}
		at, first := len(b), x.next
		sub, stored := x.subMask(mask, depth, k)
		stored = stored && copyItems
		var kid *objNode
		if copyItems && sub == 0 && !stored {
			// Neither stored into nor changed below: the value is the
			// one encoded last time (a store of an object, or code that
			// could change it otherwise, touches the whole variable).
			b = append(b, node.raw[node.items[2*i]:node.items[2*i+2]]...)
			x.next += int(node.items[2*i+1])
			if old != nil {
				x.d.inc.reusedObjs += old.objs
				x.place(old, at)
				kid = old
			}
		} else {
			var v goja.Value
			if copyItems && old != nil && !stored {
				v = old.obj // the same object, changed below
			} else {
				v = obj.Get(k)
			}
			x.segs = append(x.segs, pathSeg{key: k, idx: -1})
			b, kid = x.track(b, v, old, sub, depth+1)
			x.segs = x.segs[:len(x.segs)-1]
		}
		// Read above for this key: node.items[2i+2] is still the old one.
		node.items[2*i], node.items[2*i+1] = int32(at-start), int32(x.next-first)
		if kid != nil {
			kid.rel = at - start
			if n < len(node.kids) {
				node.kids[n] = objKid{k, kid}
			} else {
				node.kids = append(node.kids, objKid{k, kid})
			}
			n++
		}
	}
	if node != nil {
		node.items[2*len(keys)] = int32(len(b) - start)
		if len(b)-start > math.MaxInt32 || x.next-objStart > math.MaxInt32 {
			node.items = nil // offsets would not fit: encoded whole next time
		}
		clear(node.kids[n:])
		node.kids = node.kids[:n]
	}
	return b
}

// Tracked variables. A variable whose value is a plain object or an array
// keeps, in its cache entry, a tree of objNodes: the encoding of each
// plain object and array inside it. A store of a primitive through a
// property path (varCache.touchPath) changes one object: the next export
// re-encodes that object and its ancestors, and copies the encoding of
// every other subtree from the tree, without asking goja for its keys.
// Only a variable that the last export found pure (no object shared or
// cyclic) and that nothing touched as a whole since is exported so.

// placedNode is where a node's encoding lies in the export's buffer: once
// the buffer is copied out, node.raw is pointed there.
type placedNode struct {
	node       *objNode
	start, end int
}

// subMask keeps the dirty paths (bits into x.dirty) that lead through the
// property k of an object at depth under the variable; stored reports
// whether one of mask's stored into that property itself.
func (x *exporter) subMask(mask uint64, depth int, k string) (sub uint64, stored bool) {
	for m := mask; m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		p := x.d.prog.touch.paths[x.dirty[j]]
		obj := p[1 : len(p)-1] // the object the store changed
		switch {
		case len(obj) > depth && obj[depth] == k:
			sub |= 1 << j
		case len(obj) == depth && p[len(p)-1] == k:
			stored = true
		}
	}
	return sub, stored
}

// sameKeys reports whether the stores of the dirty paths in mask left the
// keys of the object at depth as they were: each that stored into it
// stored into one of keys. Keys change otherwise only by code that
// touches the whole variable (delete, a call, a script).
func (x *exporter) sameKeys(keys []string, mask uint64, depth int) bool {
	for m := mask; m != 0; m &= m - 1 {
		p := x.d.prog.touch.paths[x.dirty[bits.TrailingZeros64(m)]]
		if len(p)-2 == depth && !slices.Contains(keys, p[len(p)-1]) {
			return false // a new property
		}
	}
	return true
}

// track writes v as encode does and returns the node of its encoding
// when v is a plain object or an array (nil otherwise, and after an
// error). old is the node of the previous export at the same place; mask
// the dirty paths through v: with none, and v the same object as old's,
// old's encoding is copied.
func (x *exporter) track(b []byte, v goja.Value, old *objNode, mask uint64, depth int) ([]byte, *objNode) {
	obj, ok := v.(*goja.Object)
	if !ok {
		return x.encode(b, v), nil
	}
	if _, seen := x.objects[obj]; seen {
		return x.encode(b, v), nil // a reference: the variable is impure
	}
	if old != nil && old.obj == obj && mask == 0 {
		start := len(b)
		b = append(b, old.raw...)
		x.next += old.objs
		x.d.inc.reusedObjs += old.objs
		x.place(old, start)
		return b, old
	}
	var plain bool
	switch obj.ClassName() {
	case "Object":
		plain = obj.Prototype() == x.objectProto() && obj.ExportType() == mapType
		if !plain {
			return x.encode(b, v), nil
		}
	case "Array":
		if obj.Prototype() != x.arrayProto() {
			return x.encode(b, v), nil
		}
	default:
		return x.encode(b, v), nil
	}
	node := old
	if node == nil || node.obj != obj {
		node = &objNode{obj: obj}
	}
	start, first, bad := len(b), x.next, len(x.bad)
	if plain {
		b = x.encodePlain(b, obj, node, mask, depth)
	} else {
		b = x.encodeArray(b, obj)
		node.kids = nil
	}
	if len(x.bad) > bad {
		return b, nil
	}
	node.objs = x.next - first
	x.placed = append(x.placed, placedNode{node, start, len(b)})
	return b, node
}

// place records that the subtree of n, copied as it was, now lies at
// start.
func (x *exporter) place(n *objNode, start int) {
	x.placed = append(x.placed, placedNode{n, start, start + len(n.raw)})
	for _, k := range n.kids {
		x.place(k.node, start+k.node.rel)
	}
}

// appendTracked writes the variable named name (js in the runtime) as
// appendVar does, through track: old is its tree from the last export,
// dirty the locations stored into since.
func (x *exporter) appendTracked(b []byte, name, js string, v goja.Value, old *objNode, dirty []int) ([]byte, *objNode) {
	x.root, x.segs, x.dirty = js, x.segs[:0], dirty
	b = msgp.AppendMapLen(b, 2)
	b = msgp.AppendStr(msgp.AppendStr(b, "n"), name)
	mask := uint64(1)<<len(dirty) - 1
	if len(dirty) >= 64 {
		mask = ^uint64(0)
	}
	b, root := x.track(msgp.AppendStr(b, "v"), v, old, mask, 0)
	if root != nil {
		root.rel = 0
	}
	return b, root
}
