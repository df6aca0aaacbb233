package ecmascript_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
)

// TestDirectEncodingMatchesValues: the bytes an incremental snapshot
// writes straight from goja values (encode.go) are those of the Values
// the reference exporter builds, for every kind of value: with
// VerifySnapshots every snapshot compares the two, so a difference fails
// it. Each event changes every variable, so each snapshot encodes them
// all afresh.
func TestDirectEncodingMatchesValues(t *testing.T) {
	m := compileDoc(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="s">
<datamodel>
  <data id="x"><books xmlns:q="urn:q"><book title="t1"/><q:book title="t2">text</q:book></books></data>
</datamodel>
<script><![CDATA[
function f(a) { return a + 1 }
var prim = [undefined, null, true, false, 0, -0, 1, -1, 127, 128, -33, 65536, 4294967296, -4294967296,
  2.5, NaN, Infinity, -Infinity, 1e300, "", "héllo", "a\u0000b", "\ud83d\ude00", "x".repeat(40), "y".repeat(300)];
var obj = {a: 1, nested: {deep: {deeper: [1, [2, [3]]]}}, "key with space": "v", "": "empty key", 7: "numeric key"};
var holes = [1, , 3]; holes[9] = 10;
var empty = {}; var none = [];
var shared = {s: 1}; var both = {one: shared, two: shared, arr: [shared]};
var cyc = {name: "c"}; cyc.self = cyc; cyc.list = [cyc];
var when = new Date(1700000000123);
var fn = f; var fns = {f: f, g: f};
var node = x.documentElement.firstChild; var attr = x.getElementsByTagName("book")[0];
var big = []; for (var i = 0; i < 20; i++) big.push({i: i, s: "s" + i});
]]></script>
<state id="s">
  <transition event="e"><script>
    prim.push(prim.length); obj.a++; holes[12] = 1; empty.k = 1; none.push(0); shared.s++; cyc.name += "c";
    when = new Date(when.getTime() + 1); fns.h = f; big[3].i = -3; node = x.documentElement; x = x;
  </script></transition>
</state>
</scxml>`)
	s := startSession(t, m, "enc", interp.Options{Host: &recHost{}, VerifySnapshots: true})
	for i := range 3 {
		if i > 0 {
			s.Enqueue(interp.Event{Name: "e", Type: interp.External})
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Snapshot(); err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
	}
	// The restored session snapshots to the same bytes.
	r := restoreBytes(t, m, "enc", encodeSnap(t, s), interp.Options{Host: &recHost{}, VerifySnapshots: true})
	if got, want := encodeSnap(t, r), encodeSnap(t, s); string(got) != string(want) {
		t.Errorf("restored session snapshots differently")
	}
}

// TestDirectEncodingRejects: the incremental encoder refuses what the
// reference exporter refuses, naming the path, without VerifySnapshots
// (which would also run the reference).
func TestDirectEncodingRejects(t *testing.T) {
	for _, c := range []struct{ name, setup, path string }{
		{"nested symbol-keyed property", `var o = {a: {b: [1, {}]}}; o.a.b[1][Symbol("k")] = 1;`, "o.a.b[1]"},
		{"nested non-enumerable property", `var o = {a: [0, {}]}; Object.defineProperty(o.a[1], "h", {value: 1});`, "o.a[1]"},
		{"Math inside an object", `var o = {m: [Math]};`, "o.m[0]"},
		{"RegExp in a sparse array", `var o = [1, , /x/];`, "o[2]"},
		{"named property of an array", `var o = {a: [1, 2]}; o.a.extra = 1;`, "o.a.extra"},
		{"closure under a DOM-free object", `var o = {k: {f: (function () { var q; return function () { return q } })()}};`, "o.k.f"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := compileDoc(t, checkDoc(c.setup+" var ok = 1;", "true", "0"))
			s := startSession(t, m, "rej", interp.Options{})
			_, err := s.Snapshot()
			if !errors.Is(err, interp.ErrNotRestorable) {
				t.Fatalf("snapshot: %v, want ErrNotRestorable", err)
			}
			if want := "variable " + c.path + ":"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
			if strings.Contains(err.Error(), "variable ok") {
				t.Errorf("error %q names ok", err)
			}
		})
	}
}

// TestEncodeSessionMatchesEncode: EncodeSession, which reuses one pooled
// Snapshot from one call to the next (across sessions too), writes what
// Encode of a fresh Snapshot writes, whatever the previous snapshot in
// the pool held: queues, the current event, history, delayed sends and
// variables that come and go.
func TestEncodeSessionMatchesEncode(t *testing.T) {
	docA := compileDoc(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="p">
<datamodel><data id="call" expr="({v: {n: 0}, w: [1, 2]})"/><data id="n" expr="0"/></datamodel>
<parallel id="p">
  <state id="a" initial="a1">
    <history id="h"><transition target="a1"/></history>
    <state id="a1"><transition event="go" target="a2"><assign location="call.v.n" expr="call.v.n + 1"/><raise event="inner"/></transition></state>
    <state id="a2"><transition event="go" target="h"/><transition event="inner"><send event="later" delay="10s"/><assign location="n" expr="n + 1"/></transition></state>
  </state>
  <state id="b"><transition event="drop"><script>delete call;</script></transition><transition event="make"><script>late = {x: [n]};</script></transition></state>
</parallel>
</scxml>`)
	docB := compileDoc(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="s">
<datamodel><data id="only" expr="'b'"/></datamodel>
<state id="s"><transition event="go"><assign location="only" expr="only + 'b'"/></transition></state>
</scxml>`)
	a := startSession(t, docA, "a", interp.Options{Host: &recHost{}})
	b := startSession(t, docB, "b", interp.Options{Host: &recHost{}})
	check := func(s *interp.Session, when string) {
		t.Helper()
		got, err := snapshot.EncodeSession(s)
		if err != nil {
			t.Fatalf("%s: EncodeSession: %v", when, err)
		}
		if want := encodeSnap(t, s); !bytes.Equal(got, want) {
			t.Fatalf("%s: EncodeSession wrote\n%x\nEncode wrote\n%x", when, got, want)
		}
	}
	for i, ev := range []string{"go", "go", "make", "go", "drop", "go", "make"} {
		check(a, "a before "+ev)
		check(b, "b before "+ev)
		for _, s := range []*interp.Session{a, b} {
			s.Enqueue(interp.Event{Name: ev, Type: interp.External, Data: map[string]any{"i": int64(i)}})
			if i%2 == 0 {
				s.Enqueue(interp.Event{Name: "queued", Type: interp.External})
			}
			if _, err := s.Step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	check(a, "a at the end")
	check(b, "b at the end")
}
