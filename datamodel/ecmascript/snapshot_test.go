package ecmascript_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orsgo/engine/datamodel"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
	"github.com/orsgo/engine/scxml"
)

// recHost records the <log> output and error causes in the outboxes of
// the sessions made with it (startSession, restoreBytes); it delivers
// nothing.
type recHost struct {
	sessions []*interp.Session
	out      []string
	errs     []error
}

func (h *recHost) Route(_ *interp.Session, msg *interp.Message) (interp.RouteDecision, error) {
	return interp.RouteOutbox, fmt.Errorf("target %q: %w", msg.Target, interp.ErrInvalidTarget)
}

// attach makes h take s's outbox, if opts use h.
func attach(s *interp.Session, opts interp.Options) {
	if h, ok := opts.Host.(*recHost); ok {
		h.sessions = append(h.sessions, s)
	}
}

// logs returns the <log> output so far, "label=value", taking the
// outboxes.
func (h *recHost) logs() []string {
	for _, s := range h.sessions {
		for _, fx := range s.TakeOutbox(nil) {
			switch fx.Kind {
			case interp.EffectLog:
				h.out = append(h.out, fmt.Sprintf("%s=%v", fx.Label, fx.Value))
			case interp.EffectError:
				h.errs = append(h.errs, fx.Cause)
			}
		}
	}
	return h.out
}

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// startSession creates a session of m with opts and starts it at t0.
func startSession(t *testing.T, m *interp.Machine, id string, opts interp.Options) *interp.Session {
	t.Helper()
	s, err := m.NewSession(id, opts)
	if err != nil {
		t.Fatal(err)
	}
	attach(s, opts)
	if err := s.Start(t0); err != nil {
		t.Fatal(err)
	}
	return s
}

func compileDoc(t *testing.T, src string) *interp.Machine {
	t.Helper()
	doc, err := scxml.Parse([]byte(src), &scxml.Options{File: t.Name() + ".scxml"})
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, src)
	}
	m, err := interp.Compile(doc, datamodel.Standard())
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return m
}

func xmlAttr(s string) string {
	var b strings.Builder
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	b.WriteString(r.Replace(s))
	return b.String()
}

// encodeSnap snapshots s and encodes the snapshot as a checkpoint would.
func encodeSnap(t *testing.T, s *interp.Session) []byte {
	t.Helper()
	snap, err := s.Snapshot()
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	b, err := snapshot.Encode(snap)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return b
}

// restoreBytes decodes b and restores it into a fresh session of m.
func restoreBytes(t *testing.T, m *interp.Machine, id string, b []byte, opts interp.Options) *interp.Session {
	t.Helper()
	snap, err := snapshot.Decode(id, b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	r, err := m.Restore(snap, opts)
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	attach(r, opts)
	return r
}

// checkDoc runs setup as the global script; on event "check" the session
// goes to pass when check holds and logs diag otherwise.
func checkDoc(setup, check, diag string) string {
	return `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<script><![CDATA[` + setup + `]]></script>
<state id="wait">
  <transition event="check" cond="` + xmlAttr(check) + `" target="pass"/>
  <transition event="check" target="fail"><log label="diag" expr="` + xmlAttr(diag) + `"/></transition>
</state>
<final id="pass"/>
<final id="fail"/>
</scxml>`
}

func runCheck(t *testing.T, s *interp.Session, h *recHost, which string) {
	t.Helper()
	s.Enqueue(interp.Event{Name: "check"})
	if err := s.Run(); err != nil {
		t.Fatalf("%s: run: %v", which, err)
	}
	if s.Final() != "pass" {
		t.Errorf("%s session: check failed (final %q), logs %q", which, s.Final(), h.logs())
	}
}

// TestSnapshotValueFidelity stores one value kind per case in the
// datamodel, checkpoints the session through persist's codec, restores it
// into a fresh runtime and checks there, with ECMAScript, that the value is
// identical. The same check is run on the original session, so a wrong
// check cannot pass by accident.
func TestSnapshotValueFidelity(t *testing.T) {
	dump := "(function(){try{return JSON.stringify(v)+' '+typeof v+' '+String(v)}catch(e){return String(e)}})()"
	cases := []struct {
		name, setup, check string
	}{
		{"nested object", `var v = {a: {b: [1, {c: "x", d: [[], {}]}], e: null}, f: "g"};`,
			`JSON.stringify(v) === '{"a":{"b":[1,{"c":"x","d":[[],{}]}],"e":null},"f":"g"}' && Array.isArray(v.a.b) && Array.isArray(v.a.b[1].d[0]) && Object.getPrototypeOf(v.a) === Object.prototype`},
		{"array of mixed", `var v = [1, "two", true, null, undefined, 2.5, [3]];`,
			`v.length === 7 && v[0] === 1 && v[1] === "two" && v[2] === true && v[3] === null && (4 in v) && v[4] === undefined && v[5] === 2.5 && v[6][0] === 3`},
		{"null", `var v = null;`, `v === null`},
		{"declared undefined", `var v;`, `v === undefined && Object.prototype.hasOwnProperty.call(this, "v")`},
		{"property undefined", `var v = {u: undefined, k: 1};`,
			`("u" in v) && v.u === undefined && Object.keys(v).join() === "u,k"`},
		{"NaN", `var v = NaN;`, `typeof v === "number" && v !== v`},
		{"Infinity", `var v = Infinity;`, `v === Infinity`},
		{"-Infinity", `var v = -Infinity;`, `v === -Infinity`},
		{"-0", `var v = -0;`, `Object.is(v, -0)`},
		{"computed -0", `var v = Math.round(-0.4);`, `Object.is(v, -0)`},
		{"+0", `var v = 0;`, `Object.is(v, 0)`},
		{"-0 nested", `var v = [-0, {z: -0}, 0];`, `Object.is(v[0], -0) && Object.is(v[1].z, -0) && Object.is(v[2], 0)`},
		{"NaN and Infinity nested", `var v = {n: NaN, i: [Infinity, -Infinity]};`,
			`v.n !== v.n && v.i[0] === Infinity && v.i[1] === -Infinity`},
		{"Date", `var v = new Date(1700000000123);`, `v instanceof Date && v.getTime() === 1700000000123`},
		{"Date before epoch", `var v = new Date(-86400001);`, `v instanceof Date && v.getTime() === -86400001`},
		{"Date epoch", `var v = new Date(0);`, `v instanceof Date && v.getTime() === 0`},
		{"invalid Date", `var v = new Date(NaN);`, `v instanceof Date && isNaN(v.getTime())`},
		{"Date in object", `var v = {when: new Date(Date.UTC(2020, 1, 29, 23, 59, 59, 999))};`,
			`v.when instanceof Date && v.when.toISOString() === "2020-02-29T23:59:59.999Z"`},
		{"2**53-1", `var v = Math.pow(2, 53) - 1;`, `v === 9007199254740991 && Number.isSafeInteger(v)`},
		{"-(2**53-1)", `var v = -9007199254740991;`, `v === -9007199254740991 && Number.isSafeInteger(v)`},
		{"2**53+2", `var v = 9007199254740994;`, `v === 9007199254740994 && typeof v === "number"`},
		{"1e21", `var v = 1e21;`, `v === 1e21 && String(v) === "1e+21"`},
		{"1.7976931348623157e308", `var v = Number.MAX_VALUE;`, `v === Number.MAX_VALUE`},
		{"5e-324", `var v = Number.MIN_VALUE;`, `v === 5e-324`},
		{"0.1", `var v = 0.1;`, `v === 0.1`},
		{"0.1+0.2", `var v = 0.1 + 0.2;`, `v === 0.30000000000000004`},
		{"int", `var v = 42;`, `v === 42 && typeof v === "number"`},
		{"negative int", `var v = -2147483649;`, `v === -2147483649`},
		{"integer-valued float", `var v = 3.0 * 1.5 * 2;`, `v === 9`},
		{"unicode string", `var v = "h\u00e9llo \u20ac \ud834\udd1e \ud83d\ude00 \u4e2d\u6587";`,
			`v.length === 16 && v.charCodeAt(8) === 0xd834 && v.charCodeAt(9) === 0xdd1e && v.codePointAt(11) === 0x1f600 && v === "h\u00e9llo \u20ac \ud834\udd1e \ud83d\ude00 \u4e2d\u6587"`},
		{"empty string", `var v = "";`, `v === ""`},
		{"string with NUL", `var v = "a\u0000b";`, `v.length === 3 && v.charCodeAt(1) === 0`},
		{"true", `var v = true;`, `v === true`},
		{"false", `var v = false;`, `v === false`},
		{"array with holes", `var v = [1, , 3]; v[6] = 7;`,
			`v.length === 7 && !(1 in v) && (2 in v) && !(5 in v) && v[6] === 7 && Object.keys(v).join() === "0,2,6"`},
		{"empty array with length", `var v = []; v.length = 4;`, `v.length === 4 && !(0 in v)`},
		{"numeric-looking keys", `var v = {b: 1, 10: "ten", a: 3, 2: "two", "-1": "m", "01": "z"}; var order = Object.keys(v).join();`,
			`Object.keys(v).join() === order && v[10] === "ten" && v["-1"] === "m" && v["01"] === "z"`},
		{"property order", `var v = {z: 1, a: 2, m: 3}; v.b = 4; delete v.a; v.a = 5;`,
			`Object.keys(v).join() === "z,m,b,a"`},
		{"odd keys", `var v = {"": 1, "a.b": 2, "x y": 3, "\u00fc": 4};`,
			`v[""] === 1 && v["a.b"] === 2 && v["x y"] === 3 && v["\u00fc"] === 4 && Object.keys(v).length === 4`},
		{"own __proto__ key", `var v = JSON.parse('{"__proto__": {"p": 1}, "k": 2}');`,
			`Object.getPrototypeOf(v) === Object.prototype && Object.prototype.hasOwnProperty.call(v, "__proto__") && v.__proto__.p === 1 && v.k === 2`},
		{"shared reference", `var a = {x: 1}; var v = [a, a, {y: a}];`,
			`v[0] === a && v[1] === a && v[2].y === a`},
		{"cyclic object", `var v = {n: 1}; v.self = v; v.list = [v];`,
			`v.self === v && v.list[0] === v && v.n === 1`},
		{"cyclic array", `var v = [1]; v.push(v);`, `v[1] === v && v.length === 2`},
		{"let and const", `let v = {x: 1}; const c = 5;`,
			`v.x === 1 && c === 5 && (function(){ try { c = 6; return false } catch (e) { return c === 5 } })()`},
		{"declared function", `var base = 10; function v(a) { return a * 2 + base }`,
			`typeof v === "function" && v(16) === 42`},
		{"function expression var", `var k = 3; var v = function (n) { return n + k; };`,
			`v(4) === 7`},
		{"function in object", `function helper() { return 7 } var v = {f: helper, g: [helper]};`,
			`v.f === helper && v.g[0] === helper && v.f() === 7`},
		{"arrow function var", `var k = 2; var v = (a) => a * k;`, `v(21) === 42`},
		{"arrow function const", `const v = x => x * 3;`, `v(3) === 9`},
		{"class declaration", `class v { constructor(n) { this.n = n } twice() { return 2 * this.n } }`,
			`typeof v === "function" && new v(21).twice() === 42`},
		{"function sees let", `let cnt = 5; function v() { return ++cnt }`,
			`v() === 6 && cnt === 6`},
		{"global variable order", `var v = 1; var b = 2; var a = 3; zz = 4;`,
			`(function(g){ var k = []; for (var n in g) k.push(n); return k.join() })(this) === "v,b,a,zz"`},
		{"sparse array within limit", `var v = []; v[60000] = "x";`, `v.length === 60001 && v[60000] === "x" && !(0 in v)`},
		{"escapes in nested arrays", `var v = {list: [1, [2, [3, [4, [5]]]]], s: "q\"uote\\"};`,
			`JSON.stringify(v) === '{"list":[1,[2,[3,[4,[5]]]]],"s":"q\\"uote\\\\"}'`},
		{"event data copy", `var v = {io: _ioprocessors.scxml.location, sid: _sessionid};`,
			`v.io === "#_scxml_" + _sessionid && v.sid === _sessionid`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := compileDoc(t, checkDoc(c.setup, c.check, dump))
			h := &recHost{}
			s := startSession(t, m, "sess-1", interp.Options{Host: h})
			b := encodeSnap(t, s)
			rh := &recHost{}
			r := restoreBytes(t, m, "sess-1", b, interp.Options{Host: rh})
			// The restored session snapshots to the same bytes.
			if b2 := encodeSnap(t, r); !bytes.Equal(b, b2) {
				t.Errorf("snapshot of the restored session differs from the original's")
			}
			runCheck(t, s, h, "original")
			runCheck(t, r, rh, "restored")
		})
	}
}

// TestSnapshotRejectsUnrestorable: values that cannot come back faithfully
// make Snapshot fail with ErrNotRestorable naming session and variable.
func TestSnapshotRejectsUnrestorable(t *testing.T) {
	cases := []struct {
		name, setup, assign, varName string
	}{
		{"closure assigned at run time", `var f;`, `(function(){ var x = 1; return function(){ return x } })()`, "f"},
		{"closure in a script", `function mk() { var x = 1; return function () { return x } } var f = mk();`, "", "f"},
		{"closure nested in object", `var o = {k: [0, (function(){ var y = 2; return function(){ return y } })()]};`, "", "o.k[1]"},
		{"host function In", `var f = In;`, "", "f"},
		{"builtin Math", `var f = Math;`, "", "f"},
		{"builtin function", `var f = JSON.stringify;`, "", "f"},
		{"bound function", `function g() { return 1 } var f = g.bind(null);`, "", "f"},
		{"RegExp", `var f = /ab+c/g;`, "", "f"},
		{"Map", `var f = new Map([[1, 2]]);`, "", "f"},
		{"Symbol", `var f = Symbol("s");`, "", "f"},
		{"class instance", `function P() { this.x = 1 } var f = new P();`, "", "f"},
		{"null prototype object", `var f = Object.create(null); f.a = 1;`, "", "f"},
		{"boxed number", `var f = new Number(3);`, "", "f"},
		{"lone surrogate", `var f = "a\ud800b";`, "", "f"},
		{"global object", `var f = this;`, "", "f"},
		{"getter", `var f = {get x() { return 1 }};`, "", "f.x"},
		{"non-enumerable property", `var f = {}; Object.defineProperty(f, "h", {value: 1});`, "", "f"},
		{"symbol-keyed property", `var f = {a: 1}; f[Symbol("k")] = 2;`, "", "f"},
		{"array with named property", `var f = [1, 2]; f.extra = 3;`, "", "f.extra"},
		{"huge sparse array", `var f = []; f[1e9] = 1;`, "", "f"},
		{"proxy", `var f = new Proxy({a: 1}, {});`, "", "f"},
		{"arguments object", `var f = (function () { return arguments })(1, 2);`, "", "f"},
		{"error object", `var f = new Error("boom");`, "", "f"},
		{"function with own property", `function g() { return 1 } g.calls = 3; var f = g;`, "", "f.calls"},
		{"ES class instance", `class K { constructor() { this.a = 1 } } var f = new K();`, "", "f"},
		{"nested arrow closure", `var f = (() => { var q = 1; return () => q })();`, "", "f"},
		{"lexical closure", `let f = (function(){ var z = 3; return function(){ return z } })();`, "", "f"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := ""
			if c.assign != "" {
				body = `<onentry><assign location="f" expr="` + xmlAttr(c.assign) + `"/></onentry>`
			}
			src := `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="wait">
<script><![CDATA[` + c.setup + ` var ok = 1;]]></script>
<state id="wait">` + body + `<transition event="go" target="end"/></state>
<final id="end"/>
</scxml>`
			m := compileDoc(t, src)
			s, err := m.NewSession("sess-bad-7", interp.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(t0); err != nil {
				t.Fatal(err)
			}
			var causes []error
			for _, fx := range s.TakeOutbox(nil) {
				if fx.Kind == interp.EffectError {
					causes = append(causes, fx.Cause)
				}
			}
			if len(causes) > 0 {
				t.Fatalf("document raised errors: %v", causes)
			}
			snap, err := s.Snapshot()
			if err == nil {
				t.Fatalf("Snapshot succeeded, vars %+v", snap.Vars)
			}
			if !errors.Is(err, interp.ErrNotRestorable) {
				t.Errorf("error %v does not wrap ErrNotRestorable", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "sess-bad-7") {
				t.Errorf("error %q does not name the session", msg)
			}
			if !strings.Contains(msg, "variable "+c.varName) {
				t.Errorf("error %q does not name variable %s", msg, c.varName)
			}
			if strings.Contains(msg, "variable ok") {
				t.Errorf("error %q names a restorable variable", msg)
			}
		})
	}
}

// TestSnapshotNamesEveryBadVariable: all offending variables are listed.
func TestSnapshotNamesEveryBadVariable(t *testing.T) {
	m := compileDoc(t, checkDoc(`var a = Math; var b = 1; var c = {d: /x/};`, "true", "0"))
	s, err := m.NewSession("many", interp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t0); err != nil {
		t.Fatal(err)
	}
	_, err = s.Snapshot()
	if !errors.Is(err, interp.ErrNotRestorable) {
		t.Fatalf("err = %v, want ErrNotRestorable", err)
	}
	for _, want := range []string{"many", "variable a", "variable c.d"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "variable b") {
		t.Errorf("error %q names b", err)
	}
}

// TestRestoreDoesNotRerun: restoring runs no <data> expression, global
// script or onentry again, for early and late binding alike, and the
// restored session continues where the original stood.
func TestRestoreDoesNotRerun(t *testing.T) {
	for _, binding := range []string{"early", "late"} {
		t.Run(binding, func(t *testing.T) {
			src := `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" binding="` + binding + `" initial="a">
<datamodel>
  <data id="hits" expr="0"/>
  <data id="side" expr="hits = hits + 1, 'set'"/>
  <data id="entered" expr="0"/>
</datamodel>
<script>var scriptRuns = (typeof scriptRuns === "number" ? scriptRuns : 0) + 1; function twice(n) { return 2 * n }</script>
<state id="a">
  <datamodel><data id="lateA" expr="hits = hits + 100, 'A'"/></datamodel>
  <onentry><assign location="entered" expr="entered + 1"/><log label="entry" expr="'a'"/></onentry>
  <transition event="next" target="b"/>
</state>
<state id="b">
  <datamodel><data id="lateB" expr="hits = hits + 1000, 'B'"/></datamodel>
  <onentry><assign location="entered" expr="entered + 1"/><log label="entry" expr="'b'"/></onentry>
  <transition event="check" cond="` + xmlAttr(`hits === HITS && entered === 2 && scriptRuns === 1 && side === "set" && lateA === "A" && lateB === "B" && twice(21) === 42`) + `" target="pass"/>
  <transition event="check" target="fail"><log label="diag" expr="[hits, entered, scriptRuns, side, lateA, lateB].join()"/></transition>
</state>
<final id="pass"/>
<final id="fail"/>
</scxml>`
			// Early binding initialises every <data> at start (1+100+1000);
			// late binding A's at start and B's when b is entered.
			src = strings.ReplaceAll(src, "HITS", "1101")
			m := compileDoc(t, src)
			h := &recHost{}
			s := startSession(t, m, "once", interp.Options{Host: h})
			if got := strings.Join(h.logs(), " "); got != "entry=a" {
				t.Fatalf("logs after start %q", got)
			}
			// Leave an event queued: it must be in the snapshot.
			s.Enqueue(interp.Event{Name: "next"})
			b := encodeSnap(t, s)

			rh := &recHost{}
			r := restoreBytes(t, m, "once", b, interp.Options{Host: rh})
			if len(rh.logs()) != 0 {
				t.Errorf("restore produced output %q", rh.logs())
			}
			if got := strings.Join(r.Configuration(), ","); got != "a" {
				t.Errorf("restored configuration %q, want a", got)
			}
			if !r.Running() || !r.Started() || !r.Pending() {
				t.Errorf("restored running=%v started=%v pending=%v", r.Running(), r.Started(), r.Pending())
			}
			if err := r.Run(); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rh.logs(), " "); got != "entry=b" {
				t.Errorf("logs after restore and next %q, want entry=b only", got)
			}
			// A second checkpoint/restore in the middle changes nothing.
			r = restoreBytes(t, m, "once", encodeSnap(t, r), interp.Options{Host: rh})
			r.Enqueue(interp.Event{Name: "check"})
			if err := r.Run(); err != nil {
				t.Fatal(err)
			}
			if r.Final() != "pass" {
				t.Errorf("final %q, logs %q, errors %v", r.Final(), rh.logs(), rh.errs)
			}
		})
	}
}

// TestRestoreKeepsPendingWork: queued internal/external events and delayed
// sends survive a restore and are processed once.
func TestRestoreKeepsPendingWork(t *testing.T) {
	src := `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="a">
<datamodel><data id="n" expr="0"/></datamodel>
<state id="a">
  <onentry><send event="tick" delay="5s"/></onentry>
  <transition event="ext"><assign location="n" expr="n + 1"/></transition>
  <transition event="tick" cond="n === 2" target="pass"/>
  <transition event="tick" target="fail"/>
</state>
<final id="pass"/>
<final id="fail"/>
</scxml>`
	m := compileDoc(t, src)
	s, err := m.NewSession("pending", interp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t0); err != nil {
		t.Fatal(err)
	}
	s.Enqueue(interp.Event{Name: "ext"})
	s.Enqueue(interp.Event{Name: "ext", Data: map[string]any{"k": []any{int64(1), "x"}}})
	r := restoreBytes(t, m, "pending", encodeSnap(t, s), interp.Options{})
	if d, ok := r.NextDeadline(); !ok || !d.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("restored deadline %v %v, want %v", d, ok, t0.Add(5*time.Second))
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	r.Advance(t0.Add(5 * time.Second))
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	if r.Final() != "pass" {
		t.Errorf("final %q, want pass", r.Final())
	}
}

// TestRestoreOtherDocument: a snapshot restores only into its own document.
func TestRestoreOtherDocument(t *testing.T) {
	a := compileDoc(t, checkDoc(`var v = 1;`, "v === 1", "v"))
	b := compileDoc(t, checkDoc(`var v = 2;`, "v === 2", "v"))
	s, err := a.NewSession("mismatch", interp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t0); err != nil {
		t.Fatal(err)
	}
	snap, err := snapshot.Decode("mismatch", encodeSnap(t, s))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Restore(snap, interp.Options{}); !errors.Is(err, interp.ErrDocumentMismatch) {
		t.Fatalf("restore into another document: %v, want ErrDocumentMismatch", err)
	} else if !strings.Contains(err.Error(), "mismatch") {
		t.Errorf("error %q does not name the session", err)
	}
	if _, err := a.Restore(snap, interp.Options{}); err != nil {
		t.Fatalf("restore into its own document: %v", err)
	}
}
