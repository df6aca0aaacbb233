package ecmascript

import (
	"fmt"
	"strings"
	"testing"

	"github.com/dop251/goja"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

// fastScript declares the variables the differential tests read and
// write: every kind of value the fast path meets.
const fastScript = `var n = 5, f = 2.5, z = 0, nz = -0, big = 9007199254740993, nan = NaN, inf = Infinity,
	s = 'abc', e = '', u = 'h\u00e9llo', sur = '\uD800', five = '5', t = true, fl = false, nl = null, un = undefined,
	o = {a: 1, b: {c: 'x', d: [1, 2, 3]}, s: 'gold', n: null, 'k-2': 2}, arr = [10, 'x', null, {k: 2}],
	frozen = Object.freeze({x: 1}), fn = function () { return 1 }, d = new Date(0), bi = 10n, sym = Symbol('s');`

// fastEvents are the events the expressions run against.
var fastEvents = []*interp.Event{
	nil,
	{Name: "call.arrived", Type: interp.External, SendID: "id1", Data: map[string]any{
		"agent": "7001", "n": int64(3), "f": 1.5, "b": true, "nil": nil, "s": "",
		"list": []any{int64(1), "two", nil}, "nested": map[string]any{"deep": "x", "n": int64(-2)},
		"xml": &interp.XML{Source: "<a x='1'/>"}, "big": int64(1) << 60, "__proto__": "p", "toString": "own",
	}},
	{Name: "plain", Data: "text"},
	{Name: "number", Data: int64(0)},
	{Name: "empty"},
}

// fastExprs are the shapes routing documents use, and their neighbours
// the fast path must leave to goja (errors included).
var fastExprs = []string{
	"n", "f", "s", "missing", "undefined", "NaN", "In", "o", "arr",
	"n + 1", "n + f", "f + f", "s + n", "n + s", "s + nl", "s + un", "t + 1", "s + o", "sur + s", "u + s",
	"n - 1", "f - n", "s - 1", "big + 1", "-1 - big", "big - 1", "n - big", "bi + 1", "sym + ''", "nz - 0",
	"o.a", "o.b.c", "o.b.d[1]", "o.b.d.length", "arr[3].k", "arr[9]", "o.missing", "o.missing.x", "nl.x",
	"un.x", "s.length", "o['a']", "o[s]", "o['k-2']", "arr[n - 4]", "arr[f]", "o[sym]", "o[o]", "fn.length",
	"d.x", "o.toString", "o.b.d[-1]", "frozen.x",
	"n == 5", "n == '5'", "five == n", "o == o", "o == 1", "1 == o", "nl == un", "nan == nan", "nz === z",
	"nz == z", "s === 'abc'", "s !== 'abc'", "o != nl", "bi == 10", "sym == sym", "o.s == 'gold'",
	"n < 6", "n <= 5", "n > f", "f >= n", "s < 'abd'", "u > s", "sur < s", "nan < 1", "nan >= 1", "nan <= nan",
	"inf > big", "s < 1", "o < 1", "t < 2", "bi < 11",
	"!o", "!!s", "!e", "!nl", "!nan", "!z", "!nz",
	"n > 3 && s", "z || 'def'", "e || nl", "o && o.b && o.b.c", "missing || 1", "fl && missing",
	"n > 3 ? 'big' : 'small'", "o.n ? 1 : 2", "nan ? 1 : 2",
	"In('a')", "In('b')", "In(n)", "In(o)", "In(s + 'x')",
	"-1", "-n", "'a' + 'b'", "1 / 0", "2 * 3", "typeof n", "(1, 2)", "n * 2", "`x`",
	"_event", "_event.name", "_event.type", "_event.sendid", "_event.origin", "_event.raw", "_event.data",
	"_event.data.agent", "_event.data.n", "_event.data.f + 1", "_event.data.b", "_event.data.nil", "_event.data.s",
	"_event.data.list", "_event.data.list[1]", "_event.data.list[3]", "_event.data.list.length",
	"_event.data.nested.deep", "_event.data.nested.n - 1", "_event.data.missing", "_event.data.missing.x",
	"_event.data.toString", "_event.data.xml", "_event.data['agent']", "_event.data.list['0']", "_event.data.big",
	"_event.data ? _event.data.agent : ''", "_event.data && _event.data.nested", "!_event.data", "!_event",
	"_event.data.length", "_event.foo", "_event.data.nested ? 1 : 0", "_event.data.__proto__",
	"_event.data['__proto__']", "_event.data.valueOf", "_event.data.hasOwnProperty",
}

// testEnv is one session's datamodel with fastScript run, and the
// compiled expressions.
func newTestEnv(t testing.TB, exprs []string, attr string, ev *interp.Event) (*datamodel, *scxml.Document) {
	t.Helper()
	doc := &scxml.Document{File: "fast.scxml", Scripts: []*scxml.Script{{Source: fastScript}}}
	for i, src := range exprs {
		doc.Exprs = append(doc.Exprs, &scxml.Expr{ID: i, Source: src, Attr: attr})
	}
	d, err := newDatamodel(compile(doc), interp.SystemInfo{SessionID: "s", In: func(id string) bool { return id == "a" }})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Script(doc.Scripts[0]); err != nil {
		t.Fatal(err)
	}
	d.SetEvent(ev)
	return d, doc
}

// same is SameValue, objects by identity.
func same(a, b goja.Value) bool {
	if a == nil || b == nil {
		return a == b
	}
	ao, aObj := a.(*goja.Object)
	bo, bObj := b.(*goja.Object)
	if aObj || bObj {
		return ao == bo
	}
	return a.ExportType() == b.ExportType() && a.SameAs(b)
}

func show(v goja.Value) string {
	if v == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%v (%v)", v, v.ExportType())
}

// checkExpr compares the fast path of expression i with goja: before the
// event object is built, by goja, and after. It reports whether the fast
// path answered.
func checkExpr(t testing.TB, d *datamodel, doc *scxml.Document, i int, ev *interp.Event) bool {
	t.Helper()
	x := d.prog.fast[i]
	if x == nil {
		return false
	}
	e := doc.Exprs[i]
	d.SetEvent(ev) // unbuilt
	truthBefore, okTruth := d.fastTest(x)
	d.SetEvent(ev)
	before, okBefore := d.fastValue(x) // what it builds, goja reuses
	var want goja.Value
	var err error
	if d.prog.valErrs[i] == nil {
		want, err = d.run(d.prog.values[i]) // builds _event if it reads it
	} else {
		err = d.prog.valErrs[i]
	}
	after, okAfter := d.fastValue(x)
	truthAfter, okTruthAfter := d.fastTest(x)
	where := fmt.Sprintf("%q (event %v)", e.Source, ev)
	if err != nil {
		if okBefore || okAfter || okTruth || okTruthAfter {
			t.Errorf("%s: goja fails (%v), the fast path gave %s / %s", where, err, show(before), show(after))
		}
		return okBefore
	}
	if okBefore && !same(before, want) {
		t.Errorf("%s: fast path %s, goja %s", where, show(before), show(want))
	}
	if okAfter && !same(after, want) {
		t.Errorf("%s: fast path after _event was built %s, goja %s", where, show(after), show(want))
	}
	if okTruth && truthBefore != want.ToBoolean() || okTruthAfter && truthAfter != want.ToBoolean() {
		t.Errorf("%s: fast truth %v/%v, goja %v", where, truthBefore, truthAfter, want.ToBoolean())
	}
	return okBefore
}

// TestFastPathMatchesGoja is the differential test: every expression, on
// every event, gives what goja gives, or leaves it to goja.
func TestFastPathMatchesGoja(t *testing.T) {
	fast := map[string]bool{}
	for _, ev := range fastEvents {
		d, doc := newTestEnv(t, fastExprs, "expr", ev)
		for i := range fastExprs {
			if checkExpr(t, d, doc, i, ev) {
				fast[fastExprs[i]] = true
			}
		}
	}
	// The shapes the fast path exists for must take it.
	for _, src := range []string{"n", "n + 1", "s + n", "o.b.c", "arr[3].k", "o[s]", "n == '5'", "f >= n", "s < 'abd'",
		"n > 3 && s", "o.n ? 1 : 2", "!o", "In('a')", "-1", "_event.data.agent", "_event.data.list[1]", "_event.name",
		"_event.data ? _event.data.agent : ''", "fl && missing"} {
		if !fast[src] {
			t.Errorf("%q did not take the fast path", src)
		}
	}
}

// fastLocations and the values stored there, for the store path.
var fastLocations = []string{"n", "s", "o.a", "o.b.c", "arr[1]", "o.b.d[5]", "o['new']", "o[s]", "frozen.x",
	"missing", "nl.x", "un.x", "s.x", "o.missing.x", "fn.x", "In", "_event", "undefined", "NaN", "d.x", "sym", "arr.length"}

// TestFastStoreMatchesGoja stores the same value at each location through
// the fast path in one session and through goja in another: same state
// after, or the fast path left it to goja.
func TestFastStoreMatchesGoja(t *testing.T) {
	state := `JSON.stringify([n, s, o, arr, frozen, Object.is(n, -0), typeof missing, Object.keys(fn), arr.length])`
	for _, val := range []string{"7", "'v'", "({q: 1})", "-0", "null"} {
		for i, loc := range fastLocations {
			fastD, doc := newTestEnv(t, fastLocations, "location", nil)
			gojaD, _ := newTestEnv(t, fastLocations, "location", nil)
			fs := fastD.prog.stores[i]
			if fs == nil {
				continue
			}
			v1, err1 := fastD.vm.RunString("(" + val + ")")
			v2, err2 := gojaD.vm.RunString("(" + val + ")")
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			ok := fastD.fastStore(fs, v1)
			err := gojaD.runAssign(gojaD.prog.assigns[i], v2)
			if err != nil && ok {
				t.Errorf("%s = %s: goja fails (%v), the fast path stored", loc, val, err)
				continue
			}
			if !ok {
				continue
			}
			a, _ := fastD.vm.RunString(state)
			b, _ := gojaD.vm.RunString(state)
			if a.String() != b.String() {
				t.Errorf("%s = %s: fast path leaves %s, goja %s", loc, val, a, b)
			}
			_ = doc
		}
	}
	d, _ := newTestEnv(t, fastLocations, "location", nil)
	for _, loc := range []string{"n", "o.b.c", "arr[1]", "o[s]"} {
		for i, l := range fastLocations {
			if l == loc && d.prog.stores[i] == nil {
				t.Errorf("%s has no fast store", loc)
			}
		}
	}
}

// Documents whose code could make reads run code get no fast path.
func TestFastPathOff(t *testing.T) {
	for _, script := range []string{
		"var o = {get x() { return 1 }}",
		"Object.defineProperty(this, 'n', {get: function () { return 1 }})",
		"var p = new Proxy({}, {})",
	} {
		doc := &scxml.Document{Scripts: []*scxml.Script{{Source: script}}, Exprs: []*scxml.Expr{{ID: 0, Source: "n + 1", Attr: "expr"}}}
		if p := compile(doc); p.fast[0] != nil {
			t.Errorf("script %q: expressions took the fast path", script)
		}
	}
}

// fuzzVocabulary is what generated expressions are made of.
var (
	fuzzLeaves = []string{"n", "f", "z", "nz", "nan", "inf", "big", "s", "e", "u", "sur", "five", "t", "fl", "nl", "un",
		"o", "arr", "frozen", "fn", "d", "bi", "sym", "missing", "0", "1", "-1", "2.5", "'a'", "''", "'gold'", "'5'",
		"true", "false", "null", "undefined", "NaN", "_event", "_event.data", "_event.name", "In('a')", "In('b')"}
	fuzzKeys   = []string{"a", "b", "c", "d", "n", "s", "length", "agent", "list", "nested", "deep", "0", "1", "3", "missing", "toString", "x"}
	fuzzBinary = []string{"+", "-", "==", "!=", "===", "!==", "<", "<=", ">", ">=", "&&", "||", "*", "%"}
)

// genExpr builds an expression from b, consuming it; depth bounds it.
func genExpr(b *[]byte, depth int) string {
	next := func() int {
		if len(*b) == 0 {
			return 0
		}
		c := (*b)[0]
		*b = (*b)[1:]
		return int(c)
	}
	choice := next()
	if depth <= 0 {
		choice %= 2
	}
	switch choice % 7 {
	case 0, 1:
		return fuzzLeaves[next()%len(fuzzLeaves)]
	case 2:
		return genExpr(b, depth-1) + "." + fuzzKeys[next()%len(fuzzKeys)]
	case 3:
		return genExpr(b, depth-1) + "[" + genExpr(b, depth-1) + "]"
	case 4:
		return "(" + genExpr(b, depth-1) + " " + fuzzBinary[next()%len(fuzzBinary)] + " " + genExpr(b, depth-1) + ")"
	case 5:
		return "!" + genExpr(b, depth-1)
	default:
		return "(" + genExpr(b, depth-1) + " ? " + genExpr(b, depth-1) + " : " + genExpr(b, depth-1) + ")"
	}
}

// FuzzFastPath compares the fast path with goja on generated expressions.
func FuzzFastPath(f *testing.F) {
	for _, seed := range []string{"\x02\x00\x26\x00", "\x04\x00\x00\x04\x00\x01", "\x06\x00\x00\x00\x01\x00\x05",
		"\x02\x02\x00\x25\x00\x04", "\x03\x00\x11\x00\x03", "\x04\x00\x07\x06\x00\x08"} {
		f.Add([]byte(seed), uint8(1))
	}
	f.Fuzz(func(t *testing.T, b []byte, evIndex uint8) {
		src := genExpr(&b, 4)
		if strings.Count(src, "(") > 40 {
			return
		}
		ev := fastEvents[int(evIndex)%len(fastEvents)]
		d, doc := newTestEnv(t, []string{src}, "expr", ev)
		checkExpr(t, d, doc, 0, ev)
	})
}
