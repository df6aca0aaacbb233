package ecmascript

import (
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
	"github.com/dop251/goja/token"
)

// The fast path. Routing documents are made of small expressions (paths
// into the call's data, comparisons, a little arithmetic, In()) and
// assignments to variables and paths, and running one through goja's VM
// costs far more than what it computes: a try frame, a dynamic look-up of
// each global through the global object, and, for any read of _event,
// building the whole event object with its data. So an expression of
// those shapes is compiled once per document into Go closures that do
// the same with goja's own value operations (StrictEquals, Equals,
// String.Concat, Object.Get and Set, the VM's number rules), and read
// _event.data straight from the event's Go data while the document has
// not asked for the event object itself.
//
// Exactness. A closure answers only where its answer is certainly goja's;
// anywhere else it gives up (ok false) and the program runs in goja as
// before, so errors always come from goja. Giving up after a partial
// evaluation is harmless because what the fast path evaluates has no
// effect: it reads data properties, and no code of the document can make
// a property read run code (a getter, a proxy) or make ToPrimitive run
// code on a value it looks at (objects are compared only by identity, and
// never converted). Documents whose text could (scriptDecls.accessors,
// scriptDecls.dynamic) have no fast path at all, nor do sessions after
// foreign code ran (varCache.dynamic). The differential test and the
// fuzz target (fast_test.go) compare the fast path with goja.

// fastExpr is a compiled expression.
type fastExpr struct {
	// val returns the expression's value.
	val func(d *datamodel) (goja.Value, bool)
	// truth returns its ToBoolean: for _event.data that can be answered
	// without building the value.
	truth func(d *datamodel) (bool, bool)
	// constant is set when the expression depends on nothing.
	constant goja.Value
}

// fastStore stores v at a location; false means it did nothing.
type fastStore func(d *datamodel, v goja.Value) bool

// fastCompiler compiles the expressions of one document.
type fastCompiler struct {
	p *programs
}

// foldMu guards literalRuntime for constant folding: compiles of
// different documents may run concurrently.
var foldMu sync.Mutex

// enabled reports whether the document's text lets the fast path be
// exact (see above).
func (c *fastCompiler) enabled() bool {
	return !c.p.decls.dynamic && !c.p.decls.accessors
}

// parseExpr parses src as the value programs parse it.
func parseExpr(src string) (string, ast.Expression) {
	code := "(" + src + "\n)"
	prog, err := parser.ParseFile(nil, "", code, 0)
	if err != nil || len(prog.Body) != 1 {
		return code, nil
	}
	st, ok := prog.Body[0].(*ast.ExpressionStatement)
	if !ok {
		return code, nil
	}
	return code, st.Expression
}

// value compiles a value expression, or returns nil.
func (c *fastCompiler) value(src string) *fastExpr {
	if !c.enabled() {
		return nil
	}
	code, e := parseExpr(src)
	if e == nil {
		return nil
	}
	return c.expr(code, e)
}

// store compiles a location expression, or returns nil.
func (c *fastCompiler) store(src string) fastStore {
	if !c.enabled() {
		return nil
	}
	code, e := parseExpr(src)
	if e == nil {
		return nil
	}
	switch e := e.(type) {
	case *ast.Identifier:
		name := string(e.Name)
		if !c.assignable(name) {
			return nil
		}
		return func(d *datamodel, v goja.Value) bool {
			g := d.vm.GlobalObject()
			// Strict assignment to a name that does not exist is a
			// ReferenceError: goja's to report.
			if g.Get(name) == nil {
				return false
			}
			return g.Set(name, v) == nil
		}
	case *ast.DotExpression, *ast.BracketExpression:
		base, key := c.member(code, e)
		if base == nil {
			return nil
		}
		return func(d *datamodel, v goja.Value) bool {
			o, k, ok := memberOf(d, base, key)
			// A failed Set (a frozen object, say) changed nothing:
			// goja runs the assignment and reports its TypeError.
			return ok && o.Set(k, v) == nil
		}
	}
	return nil
}

// assignable reports whether a plain global data property of the document
// is all that name can denote, so that storing there is Object.Set.
func (c *fastCompiler) assignable(name string) bool {
	if !c.p.touch.variables[name] || systemNames[name] || builtinGlobals()[name] || c.lexical(name) {
		return false
	}
	// Object.prototype within reach could give the global object an
	// inherited property of that name.
	return !c.p.decls.protoAccess
}

func (c *fastCompiler) lexical(name string) bool {
	for _, l := range c.p.decls.lexical {
		if l.name == name {
			return true
		}
	}
	return false
}

// constantOf folds an expression without identifiers, calls or
// templates by running it in goja once; only primitive results are kept.
func (c *fastCompiler) constantOf(code string, e ast.Expression) *fastExpr {
	switch e.(type) {
	case *ast.StringLiteral, *ast.NumberLiteral, *ast.BooleanLiteral, *ast.NullLiteral,
		*ast.UnaryExpression, *ast.BinaryExpression, *ast.ConditionalExpression:
	default:
		return nil
	}
	if !pure(e) {
		return nil
	}
	i0, i1 := int(e.Idx0())-1, int(e.Idx1())-1
	if i0 < 0 || i1 > len(code) || i0 >= i1 {
		return nil
	}
	foldMu.Lock()
	defer foldMu.Unlock()
	v, err := literalRuntime().RunString("(" + code[i0:i1] + "\n)")
	if err != nil || v == nil {
		return nil
	}
	switch v.(type) {
	case *goja.Object, *goja.Symbol:
		return nil
	}
	if isBigInt(v) {
		return nil
	}
	return &fastExpr{constant: v}
}

// pure reports whether e is made of literals and operators only.
func pure(e ast.Expression) bool {
	switch e := e.(type) {
	case *ast.StringLiteral, *ast.NumberLiteral, *ast.BooleanLiteral, *ast.NullLiteral:
		return true
	case *ast.UnaryExpression:
		switch e.Operator {
		case token.NOT, token.MINUS, token.PLUS, token.BITWISE_NOT, token.TYPEOF:
			return pure(e.Operand)
		}
	case *ast.BinaryExpression:
		return pure(e.Left) && pure(e.Right)
	case *ast.ConditionalExpression:
		return pure(e.Test) && pure(e.Consequent) && pure(e.Alternate)
	}
	return false
}

func (c *fastCompiler) expr(code string, e ast.Expression) *fastExpr {
	if k := c.constantOf(code, e); k != nil {
		return k
	}
	switch e := e.(type) {
	case *ast.Identifier:
		return c.identifier(string(e.Name))
	case *ast.DotExpression, *ast.BracketExpression:
		if x := c.eventPath(code, e); x != nil {
			return x
		}
		base, key := c.member(code, e)
		if base == nil {
			return nil
		}
		return withTruth(func(d *datamodel) (goja.Value, bool) {
			o, k, ok := memberOf(d, base, key)
			if !ok {
				return nil, false
			}
			if v := o.Get(k); v != nil {
				return v, true
			}
			return goja.Undefined(), true
		})
	case *ast.UnaryExpression:
		if e.Operator != token.NOT || e.Postfix {
			return nil
		}
		x := c.expr(code, e.Operand)
		if x == nil {
			return nil
		}
		return &fastExpr{
			val: func(d *datamodel) (goja.Value, bool) {
				t, ok := x.test(d)
				return d.vm.ToValue(!t), ok
			},
			truth: func(d *datamodel) (bool, bool) {
				t, ok := x.test(d)
				return !t, ok
			},
		}
	case *ast.ConditionalExpression:
		test, yes, no := c.expr(code, e.Test), c.expr(code, e.Consequent), c.expr(code, e.Alternate)
		if test == nil || yes == nil || no == nil {
			return nil
		}
		return &fastExpr{
			val: func(d *datamodel) (goja.Value, bool) {
				t, ok := test.test(d)
				if !ok {
					return nil, false
				}
				if t {
					return yes.value(d)
				}
				return no.value(d)
			},
			truth: func(d *datamodel) (bool, bool) {
				t, ok := test.test(d)
				if !ok {
					return false, false
				}
				if t {
					return yes.test(d)
				}
				return no.test(d)
			},
		}
	case *ast.BinaryExpression:
		return c.binary(code, e)
	case *ast.CallExpression:
		return c.in(code, e)
	}
	return nil
}

// identifier reads a global: a variable, a system variable, a builtin or
// a host object (all data properties but _event, whose getter only builds
// the event object once).
func (c *fastCompiler) identifier(name string) *fastExpr {
	if c.lexical(name) {
		return nil // a let/const binding of a script, not a property
	}
	if name == "_event" {
		return &fastExpr{
			val: func(d *datamodel) (goja.Value, bool) { return d.getEvent(), true },
			truth: func(d *datamodel) (bool, bool) {
				return d.event != nil, true // an object, or undefined
			},
		}
	}
	return withTruth(func(d *datamodel) (goja.Value, bool) {
		v := d.vm.GlobalObject().Get(name)
		return v, v != nil // absent: goja's ReferenceError
	})
}

// member compiles the base and the key of a property access.
func (c *fastCompiler) member(code string, e ast.Expression) (base, key *fastExpr) {
	switch e := e.(type) {
	case *ast.DotExpression:
		base = c.expr(code, e.Left)
		key = &fastExpr{constant: stringValue(string(e.Identifier.Name))}
	case *ast.BracketExpression:
		base, key = c.expr(code, e.Left), c.expr(code, e.Member)
	}
	if base == nil || key == nil {
		return nil, nil
	}
	return base, key
}

var (
	stringValues sync.Map // string -> goja.Value
	typeInt64    = reflect.TypeOf(int64(0))
	typeFloat64  = reflect.TypeOf(float64(0))
	typeBigInt   = reflect.TypeOf((*big.Int)(nil))
)

// stringValue returns a primitive string value, shared: primitives belong
// to no runtime.
func stringValue(s string) goja.Value {
	if v, ok := stringValues.Load(s); ok {
		return v.(goja.Value)
	}
	foldMu.Lock()
	v := literalRuntime().ToValue(s)
	foldMu.Unlock()
	stringValues.Store(s, v)
	return v
}

// memberOf evaluates base and key for a property access on an object.
func memberOf(d *datamodel, base, key *fastExpr) (*goja.Object, string, bool) {
	b, ok := base.value(d)
	if !ok {
		return nil, "", false
	}
	o, isObj := b.(*goja.Object)
	if !isObj {
		return nil, "", false // a primitive's property, or a TypeError: goja's
	}
	k, ok := key.value(d)
	if !ok {
		return nil, "", false
	}
	name, ok := propertyKey(k)
	return o, name, ok
}

// propertyKey is ToPropertyKey for the keys whose string the Go API
// gives exactly: ASCII strings and numbers.
func propertyKey(k goja.Value) (string, bool) {
	switch k.(type) {
	case *goja.Object, *goja.Symbol:
		return "", false
	}
	if isNumber(k) || isString(k) {
		s := k.String()
		return s, !isString(k) || ascii(s)
	}
	return "", false
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isNumber(v goja.Value) bool {
	t := v.ExportType()
	return t == typeInt64 || t == typeFloat64
}

func isString(v goja.Value) bool {
	_, ok := v.(goja.String)
	return ok
}

func isBigInt(v goja.Value) bool { return v.ExportType() == typeBigInt }

func isInt(v goja.Value) bool { return v.ExportType() == typeInt64 }

// withTruth makes a fastExpr whose truth is its value's ToBoolean (never
// a conversion that runs code).
func withTruth(val func(d *datamodel) (goja.Value, bool)) *fastExpr {
	return &fastExpr{val: val}
}

func (x *fastExpr) value(d *datamodel) (goja.Value, bool) {
	if x.constant != nil {
		return x.constant, true
	}
	return x.val(d)
}

func (x *fastExpr) test(d *datamodel) (bool, bool) {
	if x.constant != nil {
		return x.constant.ToBoolean(), true
	}
	if x.truth != nil {
		return x.truth(d)
	}
	v, ok := x.val(d)
	if !ok {
		return false, false
	}
	return v.ToBoolean(), true
}

func (c *fastCompiler) binary(code string, e *ast.BinaryExpression) *fastExpr {
	l, r := c.expr(code, e.Left), c.expr(code, e.Right)
	if l == nil || r == nil {
		return nil
	}
	switch e.Operator {
	case token.LOGICAL_AND, token.LOGICAL_OR:
		and := e.Operator == token.LOGICAL_AND
		return &fastExpr{
			val: func(d *datamodel) (goja.Value, bool) {
				lv, ok := l.value(d)
				if !ok {
					return nil, false
				}
				if lv.ToBoolean() != and {
					return lv, true
				}
				return r.value(d)
			},
			truth: func(d *datamodel) (bool, bool) {
				lt, ok := l.test(d)
				if !ok {
					return false, false
				}
				if lt != and {
					return lt, true
				}
				return r.test(d)
			},
		}
	}
	op := binaryOps[e.Operator]
	if op == nil {
		return nil
	}
	return withTruth(func(d *datamodel) (goja.Value, bool) {
		lv, ok := l.value(d)
		if !ok {
			return nil, false
		}
		rv, ok := r.value(d)
		if !ok {
			return nil, false
		}
		return op(d, lv, rv)
	})
}

// binaryOps are the operators the fast path computes, each on the
// operands where its result is certainly goja's (vm.go: _add, _sub,
// _op_eq, cmp, ...), giving up on the others.
var binaryOps = map[token.Token]func(d *datamodel, l, r goja.Value) (goja.Value, bool){
	token.STRICT_EQUAL:     func(d *datamodel, l, r goja.Value) (goja.Value, bool) { return d.vm.ToValue(l.StrictEquals(r)), true },
	token.STRICT_NOT_EQUAL: func(d *datamodel, l, r goja.Value) (goja.Value, bool) { return d.vm.ToValue(!l.StrictEquals(r)), true },
	token.EQUAL:            func(d *datamodel, l, r goja.Value) (goja.Value, bool) { return looseEqual(d, l, r, false) },
	token.NOT_EQUAL:        func(d *datamodel, l, r goja.Value) (goja.Value, bool) { return looseEqual(d, l, r, true) },
	token.LESS:             func(d *datamodel, l, r goja.Value) (goja.Value, bool) { return compare(d, l, r, lt) },
	token.GREATER:          func(d *datamodel, l, r goja.Value) (goja.Value, bool) { return compare(d, r, l, lt) },
	token.LESS_OR_EQUAL:    func(d *datamodel, l, r goja.Value) (goja.Value, bool) { return compare(d, r, l, ge) },
	token.GREATER_OR_EQUAL: func(d *datamodel, l, r goja.Value) (goja.Value, bool) { return compare(d, l, r, ge) },
	token.PLUS:             add,
	token.MINUS:            sub,
}

// looseEqual is ==: Equals, as the VM does, where it converts nothing
// that could run code (an object against a primitive would call its
// valueOf or toString).
func looseEqual(d *datamodel, l, r goja.Value, not bool) (goja.Value, bool) {
	_, lo := l.(*goja.Object)
	_, ro := r.(*goja.Object)
	if lo != ro {
		return nil, false
	}
	if isBigInt(l) || isBigInt(r) {
		return nil, false
	}
	return d.vm.ToValue(l.Equals(r) != not), true
}

const (
	lt = iota // l < r
	ge        // !(l < r): false when either is NaN, as goja's _op_gte
)

// compare is the abstract relational comparison for two numbers or two
// strings (what routing conditions compare); x < y, or x >= y.
func compare(d *datamodel, x, y goja.Value, mode int) (goja.Value, bool) {
	var less, nan bool
	switch {
	case isNumber(x) && isNumber(y):
		if isInt(x) && isInt(y) {
			less = x.ToInteger() < y.ToInteger()
		} else {
			a, b := x.ToFloat(), y.ToFloat()
			less, nan = a < b, a != a || b != b
		}
	case isString(x) && isString(y):
		less = x.(goja.String).CompareTo(y.(goja.String)) < 0
	default:
		return nil, false
	}
	if mode == lt {
		return d.vm.ToValue(less), true
	}
	return d.vm.ToValue(!less && !nan), true
}

// add is + on primitives: concatenation when either is a string, the
// VM's number addition for two numbers.
func add(d *datamodel, l, r goja.Value) (goja.Value, bool) {
	if !primitive(l) || !primitive(r) {
		return nil, false
	}
	ls, lok := l.(goja.String)
	rs, rok := r.(goja.String)
	if lok || rok {
		// The other is a number, a boolean, null or undefined: its
		// ToString is ASCII, which the Go API converts exactly.
		if !lok {
			ls, lok = d.vm.ToValue(l.String()).(goja.String)
		}
		if !rok {
			rs, rok = d.vm.ToValue(r.String()).(goja.String)
		}
		if !lok || !rok {
			return nil, false
		}
		return ls.Concat(rs), true
	}
	if !isNumber(l) || !isNumber(r) {
		return nil, false
	}
	if isInt(l) && isInt(r) {
		return d.vm.ToValue(l.ToInteger() + r.ToInteger()), true
	}
	return d.vm.ToValue(l.ToFloat() + r.ToFloat()), true
}

// sub is - on two numbers. The VM's _sub first turns integral floats
// into integers (toNumeric), which changes the result's kind near 2^53.
func sub(d *datamodel, l, r goja.Value) (goja.Value, bool) {
	if !isNumber(l) || !isNumber(r) {
		return nil, false
	}
	li, lInt := asInt(l)
	ri, rInt := asInt(r)
	if lInt && rInt {
		return d.vm.ToValue(li - ri), true
	}
	return d.vm.ToValue(l.ToFloat() - r.ToFloat()), true
}

// maxSafeInt is the largest integer goja keeps as an integer (vm.go maxInt).
const maxSafeInt = 1 << 53

// asInt is goja's toNumeric for a number: an integer, or a float that
// holds one (not -0) within ±2^53.
func asInt(v goja.Value) (int64, bool) {
	if isInt(v) {
		return v.ToInteger(), true
	}
	f := v.ToFloat()
	if (f != 0 || !math.Signbit(f)) && !math.IsInf(f, 0) && f == math.Trunc(f) && f >= -maxSafeInt && f <= maxSafeInt {
		return int64(f), true
	}
	return 0, false
}

// primitive reports whether v converts without running code or failing:
// not an object, a symbol or a BigInt.
func primitive(v goja.Value) bool {
	switch v.(type) {
	case *goja.Object, *goja.Symbol:
		return false
	}
	return !isBigInt(v)
}

// in compiles In('id'): the system function, which no document can
// replace (a non-writable, non-configurable global; a let binding of
// that name disables the fast path).
func (c *fastCompiler) in(code string, e *ast.CallExpression) *fastExpr {
	id, ok := e.Callee.(*ast.Identifier)
	if !ok || id.Name != "In" || len(e.ArgumentList) != 1 || c.lexical("In") {
		return nil
	}
	arg := c.expr(code, e.ArgumentList[0])
	if arg == nil {
		return nil
	}
	return &fastExpr{
		val: func(d *datamodel) (goja.Value, bool) {
			t, ok := inState(d, arg)
			return d.vm.ToValue(t), ok
		},
		truth: func(d *datamodel) (bool, bool) { return inState(d, arg) },
	}
}

func inState(d *datamodel, arg *fastExpr) (bool, bool) {
	v, ok := arg.value(d)
	if !ok || !primitive(v) {
		return false, false // an object's String() could run code
	}
	return d.in(v.String()), true
}

// eventFields are the own properties of _event (getEvent).
var eventFields = map[string]bool{"name": true, "type": true, "sendid": true, "origin": true,
	"origintype": true, "invokeid": true, "data": true, "raw": true}

// eventPath compiles _event.f and _event.data.path (constant keys) to
// read the event's Go data while the event object has not been built:
// nothing can have changed the data then. Leaves that are objects, and
// anything after the object was built, take the general path, which
// builds it and reads it as goja would.
func (c *fastCompiler) eventPath(code string, e ast.Expression) *fastExpr {
	var keys []string
	for {
		switch x := e.(type) {
		case *ast.DotExpression:
			keys = append(keys, string(x.Identifier.Name))
			e = x.Left
			continue
		case *ast.BracketExpression:
			k, ok := x.Member.(*ast.StringLiteral)
			if !ok || strings.ContainsRune(k.Literal, '\\') {
				if n, isNum := x.Member.(*ast.NumberLiteral); isNum {
					if i, isInt := n.Value.(int64); isInt && i >= 0 {
						keys = append(keys, strconv.FormatInt(i, 10))
						e = x.Left
						continue
					}
				}
				return nil
			}
			keys = append(keys, k.Value.String())
			e = x.Left
			continue
		case *ast.Identifier:
			if x.Name != "_event" || c.lexical("_event") {
				return nil
			}
		default:
			return nil
		}
		break
	}
	for i, j := 0, len(keys)-1; i < j; i, j = i+1, j-1 {
		keys[i], keys[j] = keys[j], keys[i]
	}
	if !eventFields[keys[0]] {
		return nil
	}
	general := c.generalPath(keys)
	protoAccess := c.p.decls.protoAccess
	// lookup finds the Go value at keys, or says the general path must
	// answer (built, or not a plain Go value).
	lookup := func(d *datamodel) (any, bool) {
		if d.eventVal != nil || d.event == nil {
			return nil, false
		}
		ev := d.event
		var x any
		switch keys[0] {
		case "name":
			x = ev.Name
		case "type":
			x = ev.Type.String()
		case "sendid":
			x = blankToNil(ev.SendID)
		case "origin":
			x = blankToNil(ev.Origin)
		case "origintype":
			x = blankToNil(ev.OriginType)
		case "invokeid":
			x = blankToNil(ev.InvokeID)
		case "raw":
			x = blankToNil(ev.Raw)
		case "data":
			x = ev.Data
			if x == nil {
				x = undefinedData{}
			}
		}
		for _, k := range keys[1:] {
			switch v := x.(type) {
			case map[string]any:
				if k == "__proto__" {
					return nil, false // toJSValue's Set made it the prototype
				}
				y, ok := v[k]
				if !ok {
					// An absent key reads Object.prototype.
					if protoAccess || builtinGlobals()[k] {
						return nil, false
					}
					y = undefinedData{}
				}
				x = y
			case []any:
				if k == "length" {
					x = int64(len(v))
					continue
				}
				i, err := strconv.Atoi(k)
				if err != nil || i < 0 || i >= len(v) || strconv.Itoa(i) != k {
					return nil, false
				}
				x = v[i]
			default:
				return nil, false // a property of a primitive, or of undefined
			}
		}
		return x, true
	}
	return &fastExpr{
		val: func(d *datamodel) (goja.Value, bool) {
			x, ok := lookup(d)
			if !ok {
				return general.value(d)
			}
			if v, ok := primitiveData(d, x); ok {
				return v, true
			}
			return general.value(d)
		},
		truth: func(d *datamodel) (bool, bool) {
			x, ok := lookup(d)
			if !ok {
				return general.test(d)
			}
			switch x.(type) {
			case map[string]any, []any:
				return true, true // objects, when built
			}
			if v, ok := primitiveData(d, x); ok {
				return v.ToBoolean(), true
			}
			return general.test(d)
		},
	}
}

// generalPath reads _event.keys through the built event object.
func (c *fastCompiler) generalPath(keys []string) *fastExpr {
	x := c.identifier("_event")
	for _, k := range keys {
		base, key := x, &fastExpr{constant: stringValue(k)}
		x = withTruth(func(d *datamodel) (goja.Value, bool) {
			o, k, ok := memberOf(d, base, key)
			if !ok {
				return nil, false
			}
			if v := o.Get(k); v != nil {
				return v, true
			}
			return goja.Undefined(), true
		})
	}
	return x
}

// undefinedData marks an absent value (_event.data of an event without
// data, a missing key).
type undefinedData struct{}

func blankToNil(s string) any {
	if s == "" {
		return undefinedData{}
	}
	return s
}

// primitiveData converts a Go leaf of event data as toJSValue would, when
// it is a primitive.
func primitiveData(d *datamodel, x any) (goja.Value, bool) {
	switch x := x.(type) {
	case undefinedData:
		return goja.Undefined(), true
	case nil:
		return goja.Null(), true
	case string:
		return d.vm.ToValue(x), true
	case bool:
		return d.vm.ToValue(x), true
	case int64:
		return d.vm.ToValue(x), true
	case float64:
		return d.vm.ToValue(x), true
	}
	return nil, false
}

// fastValue runs x; false means the program must run in goja.
func (d *datamodel) fastValue(x *fastExpr) (v goja.Value, ok bool) {
	if d.inc.dynamic {
		return nil, false
	}
	defer func() {
		if recover() != nil {
			v, ok = nil, false // goja will say what went wrong
		}
	}()
	return x.value(d)
}

// fastTest is fastValue's ToBoolean.
func (d *datamodel) fastTest(x *fastExpr) (t bool, ok bool) {
	if d.inc.dynamic {
		return false, false
	}
	defer func() {
		if recover() != nil {
			t, ok = false, false
		}
	}()
	return x.test(d)
}

// fastStore runs s; false means the assignment must run in goja.
func (d *datamodel) fastStore(s fastStore, v goja.Value) (ok bool) {
	if d.inc.dynamic {
		return false
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return s(d, v)
}
