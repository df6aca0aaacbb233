package ecmascript

import (
	"reflect"
	"strconv"
	"strings"

	"github.com/dop251/goja"
)

// domObj is the handler of a node's ECMAScript object. Nodes are
// read-only: writes fail (a TypeError in strict code, as <assign> runs).
type domObj struct{ n *xmlNode }

// domList is the handler of a NodeList or NamedNodeMap (named): an
// array-like object with length, item() and index access.
type domList struct {
	d     *datamodel
	nodes []*xmlNode
	named bool
}

var (
	domObjType  = reflect.TypeOf((*domObj)(nil))
	domListType = reflect.TypeOf((*domList)(nil))
)

// domState is the per-datamodel part of the DOM: the shared methods (a
// node's getAttribute is the same function for every node, found through
// this) and the prototype of node lists.
type domState struct {
	methods  map[string]goja.Value
	listProt *goja.Object
}

// object returns n's ECMAScript object.
func (n *xmlNode) object() *goja.Object {
	if n.obj == nil {
		n.obj = n.doc.d.vm.NewDynamicObject(&domObj{n})
	}
	return n.obj
}

func (d *datamodel) nodeValue(n *xmlNode) goja.Value {
	if n == nil {
		return goja.Null()
	}
	return n.object()
}

func (d *datamodel) nodeList(nodes []*xmlNode, named bool) *goja.Object {
	o := d.vm.NewDynamicObject(&domList{d: d, nodes: nodes, named: named})
	o.SetPrototype(d.domState().listProt)
	return o
}

// parseDOM parses src into a document of this datamodel and returns the
// document's object, or nil when src is not one well-formed element.
func (d *datamodel) parseDOM(src string) *goja.Object {
	src = strings.TrimSpace(src)
	if !xmlMarkup(src) {
		return nil
	}
	doc, err := parseXML(src)
	if err != nil {
		return nil
	}
	doc.d = d
	return doc.root.object()
}

func (d *datamodel) domState() *domState {
	if d.dom != nil {
		return d.dom
	}
	vm := d.vm
	st := &domState{methods: map[string]goja.Value{}}
	d.dom = st
	this := func(call goja.FunctionCall) *xmlNode {
		if o, ok := call.This.(*goja.Object); ok && o.ExportType() == domObjType {
			return o.Export().(*domObj).n
		}
		panic(vm.NewTypeError("Illegal invocation: not a DOM node"))
	}
	thisList := func(call goja.FunctionCall) *domList {
		if o, ok := call.This.(*goja.Object); ok && o.ExportType() == domListType {
			return o.Export().(*domList)
		}
		panic(vm.NewTypeError("Illegal invocation: not a DOM node list"))
	}
	str := func(call goja.FunctionCall, i int) string { return call.Argument(i).String() }
	nsArg := func(call goja.FunctionCall) string {
		if a := call.Argument(0); goja.IsNull(a) || goja.IsUndefined(a) {
			return ""
		}
		return str(call, 0)
	}
	def := func(name string, fn func(goja.FunctionCall) goja.Value) {
		st.methods[name] = vm.ToValue(fn)
	}
	def("getElementsByTagName", func(call goja.FunctionCall) goja.Value {
		n, name := this(call), str(call, 0)
		return d.nodeList(n.elementsByTagName(func(e *xmlNode) bool { return name == "*" || e.name == name }), false)
	})
	def("getElementsByTagNameNS", func(call goja.FunctionCall) goja.Value {
		n, ns, local := this(call), nsArg(call), str(call, 1)
		return d.nodeList(n.elementsByTagName(func(e *xmlNode) bool {
			return (ns == "*" || e.ns == ns) && (local == "*" || e.local == local)
		}), false)
	})
	def("getAttribute", func(call goja.FunctionCall) goja.Value {
		if a := this(call).attr(str(call, 0)); a != nil {
			return vm.ToValue(a.value)
		}
		return goja.Null()
	})
	def("getAttributeNS", func(call goja.FunctionCall) goja.Value {
		if a := this(call).attrNS(nsArg(call), str(call, 1)); a != nil {
			return vm.ToValue(a.value)
		}
		return goja.Null()
	})
	def("getAttributeNode", func(call goja.FunctionCall) goja.Value {
		return d.nodeValue(this(call).attr(str(call, 0)))
	})
	def("hasAttribute", func(call goja.FunctionCall) goja.Value {
		return vm.ToValue(this(call).attr(str(call, 0)) != nil)
	})
	def("hasAttributes", func(call goja.FunctionCall) goja.Value {
		return vm.ToValue(len(this(call).attrs) > 0)
	})
	def("hasChildNodes", func(call goja.FunctionCall) goja.Value {
		return vm.ToValue(len(this(call).kids) > 0)
	})
	def("toString", func(call goja.FunctionCall) goja.Value {
		return vm.ToValue(this(call).markup())
	})
	def("item", func(call goja.FunctionCall) goja.Value {
		l, i := thisList(call), call.Argument(0).ToInteger()
		if i < 0 || i >= int64(len(l.nodes)) {
			return goja.Null()
		}
		return l.nodes[i].object()
	})
	def("getNamedItem", func(call goja.FunctionCall) goja.Value {
		l, name := thisList(call), str(call, 0)
		for _, a := range l.nodes {
			if a.name == name {
				return a.object()
			}
		}
		return goja.Null()
	})
	def("getNamedItemNS", func(call goja.FunctionCall) goja.Value {
		l, ns, local := thisList(call), nsArg(call), str(call, 1)
		for _, a := range l.nodes {
			if a.ns == ns && a.local == local {
				return a.object()
			}
		}
		return goja.Null()
	})
	// Node lists iterate like arrays (for-of, spread, forEach).
	arrProt := vm.Get("Array").ToObject(vm).Get("prototype").ToObject(vm)
	st.listProt = vm.NewObject()
	_ = st.listProt.SetSymbol(goja.SymIterator, arrProt.Get("values"))
	_ = st.listProt.Set("forEach", arrProt.Get("forEach"))
	return st
}

// nodeMethods are the methods each node type has.
var nodeMethods = map[int][]string{
	domDocument: {"getElementsByTagName", "getElementsByTagNameNS", "hasChildNodes", "toString"},
	domElement: {"getElementsByTagName", "getElementsByTagNameNS", "getAttribute", "getAttributeNS",
		"getAttributeNode", "hasAttribute", "hasAttributes", "hasChildNodes", "toString"},
}

func (o *domObj) Get(key string) goja.Value {
	n := o.n
	d := n.doc.d
	vm := d.vm
	str := func(s string) goja.Value { return vm.ToValue(s) }
	nsOf := func() goja.Value {
		if n.hasNS {
			return str(n.ns)
		}
		return goja.Null()
	}
	prefix := func() goja.Value {
		if n.prefix == "" {
			return goja.Null()
		}
		return str(n.prefix)
	}
	switch key {
	case "nodeType":
		return vm.ToValue(n.typ)
	case "nodeName":
		return str(n.name)
	case "nodeValue":
		if n.typ == domElement || n.typ == domDocument {
			return goja.Null()
		}
		return str(n.value)
	case "textContent":
		if n.typ == domDocument {
			return goja.Null()
		}
		return str(n.text())
	case "ownerDocument":
		if n.typ == domDocument {
			return goja.Null()
		}
		return n.doc.root.object()
	case "parentNode":
		if n.typ == domAttr || n.parent == nil {
			return goja.Null()
		}
		return n.parent.object()
	case "childNodes":
		if n.childList == nil {
			n.childList = d.nodeList(n.kids, false)
		}
		return n.childList
	case "firstChild":
		if len(n.kids) == 0 {
			return goja.Null()
		}
		return n.kids[0].object()
	case "lastChild":
		if len(n.kids) == 0 {
			return goja.Null()
		}
		return n.kids[len(n.kids)-1].object()
	case "nextSibling":
		return d.nodeValue(n.sibling(1))
	case "previousSibling":
		return d.nodeValue(n.sibling(-1))
	}
	switch n.typ {
	case domDocument:
		if key == "documentElement" {
			return d.nodeValue(n.elements()[0])
		}
	case domElement:
		switch key {
		case "tagName":
			return str(n.name)
		case "localName":
			return str(n.local)
		case "prefix":
			return prefix()
		case "namespaceURI":
			return nsOf()
		case "attributes":
			if n.attrList == nil {
				n.attrList = d.nodeList(n.attrs, true)
			}
			return n.attrList
		case "children":
			return d.nodeList(n.elements(), false)
		case "childElementCount":
			return vm.ToValue(len(n.elements()))
		case "firstElementChild":
			if es := n.elements(); len(es) > 0 {
				return es[0].object()
			}
			return goja.Null()
		case "lastElementChild":
			if es := n.elements(); len(es) > 0 {
				return es[len(es)-1].object()
			}
			return goja.Null()
		}
	case domAttr:
		switch key {
		case "name":
			return str(n.name)
		case "value":
			return str(n.value)
		case "localName":
			return str(n.local)
		case "prefix":
			return prefix()
		case "namespaceURI":
			return nsOf()
		case "ownerElement":
			return n.parent.object()
		case "specified":
			return vm.ToValue(true)
		}
	case domText, domComment, domPI:
		switch key {
		case "data":
			return str(n.value)
		case "length":
			return vm.ToValue(utf16Len(n.value))
		case "target":
			if n.typ == domPI {
				return str(n.name)
			}
		}
	}
	for _, m := range nodeMethods[n.typ] {
		if m == key {
			return d.domState().methods[key]
		}
	}
	return nil
}

// utf16Len is the length of s in UTF-16 code units (ECMAScript's).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n++
		}
		n++
	}
	return n
}

func (o *domObj) Set(string, goja.Value) bool { return false }
func (o *domObj) Has(key string) bool         { return o.Get(key) != nil }
func (o *domObj) Delete(key string) bool      { return !o.Has(key) }

// Keys lists nothing: like a browser's DOM, whose properties live on
// prototypes, a node enumerates no own properties (JSON.stringify gives {}
// rather than walking parentNode cycles).
func (o *domObj) Keys() []string { return nil }

func (l *domList) Get(key string) goja.Value {
	switch key {
	case "length":
		return l.d.vm.ToValue(len(l.nodes))
	case "item":
		return l.d.domState().methods["item"]
	case "getNamedItem", "getNamedItemNS":
		if l.named {
			return l.d.domState().methods[key]
		}
		return nil
	}
	if i, err := strconv.Atoi(key); err == nil && i >= 0 && i < len(l.nodes) && strconv.Itoa(i) == key {
		return l.nodes[i].object()
	}
	return nil
}

func (l *domList) Set(string, goja.Value) bool { return false }
func (l *domList) Has(key string) bool         { return l.Get(key) != nil }
func (l *domList) Delete(key string) bool      { return !l.Has(key) }

func (l *domList) Keys() []string {
	keys := make([]string, len(l.nodes))
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	return keys
}

// domNode returns the node behind v, if v is a DOM node object.
func domNode(v goja.Value) *xmlNode {
	if o, ok := v.(*goja.Object); ok && o.ExportType() == domObjType {
		return o.Export().(*domObj).n
	}
	return nil
}

// exportDOM replaces, in place, the DOM handlers that goja's Export left
// in x (DOM objects nested in an exported object) by their Go form. Only
// those entries are written: maps the host put in the datamodel may be
// shared, and stay untouched.
func exportDOM(x any, seen map[uintptr]bool) any {
	switch v := x.(type) {
	case *domObj:
		return v.n.goValue()
	case *domList:
		out := make([]any, len(v.nodes))
		for i, n := range v.nodes {
			out[i] = n.goValue()
		}
		return out
	case map[string]any:
		p := reflect.ValueOf(v).Pointer()
		if len(v) == 0 || seen[p] {
			return v
		}
		seen[p] = true
		for k, e := range v {
			switch e.(type) {
			case *domObj, *domList:
				v[k] = exportDOM(e, seen)
			case map[string]any, []any:
				exportDOM(e, seen)
			}
		}
	case []any:
		if len(v) == 0 || seen[reflect.ValueOf(&v[0]).Pointer()] {
			return v
		}
		seen[reflect.ValueOf(&v[0]).Pointer()] = true
		for i, e := range v {
			switch e.(type) {
			case *domObj, *domList:
				v[i] = exportDOM(e, seen)
			case map[string]any, []any:
				exportDOM(e, seen)
			}
		}
	}
	return x
}
