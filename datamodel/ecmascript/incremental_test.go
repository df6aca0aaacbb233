package ecmascript_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/orsgo/engine/datamodel/ecmascript"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
)

// incrementalCase is a document whose state s handles events e1, e2, ...
// with the given executable content; every snapshot taken after each
// event must equal a full export (Options.VerifySnapshots).
type incrementalCase struct {
	name   string
	data   string   // <data> elements
	script string   // top-level <script> body, if any
	steps  []string // executable content for e1, e2, ...
	// minReused is the least number of variables the snapshots must have
	// taken from the cache: the cache must work, not only be safe.
	minReused int
	// minReusedObjs is the least number of objects the snapshots must
	// have copied from the trees of variables stored into by property
	// paths.
	minReusedObjs int
	// minWarm is the least number of snapshots that must have taken the
	// exporter's fast path (exportWarm).
	minWarm int
}

var incrementalCases = []incrementalCase{
	{
		name: "counter and untouched object",
		data: `<data id="call" expr="({ani: '1', dnis: '2'})"/><data id="n" expr="0"/><data id="str" expr="'x'"/>`,
		steps: []string{
			`<assign location="n" expr="n + 1"/>`,
			`<log expr="call.ani + str"/><assign location="n" expr="n + 1"/>`,
			`<if cond="call.dnis == '2'"><assign location="str" expr="'y'"/></if>`,
			`<assign location="call.ani" expr="'9'"/>`,
		},
		minReused: 4,
	},
	{
		name: "alias made by assignment, mutated through either name later",
		data: `<data id="a" expr="({v: 1})"/><data id="b" expr="null"/><data id="n" expr="0"/>`,
		steps: []string{
			`<assign location="b" expr="a"/>`,
			`<assign location="b.x" expr="1"/>`,
			`<assign location="a.y" expr="2"/>`,
			`<assign location="n" expr="n + 1"/>`,
			`<assign location="b" expr="({})"/>`,
			`<assign location="a.z" expr="3"/>`,
		},
	},
	{
		name: "alias passed through a builtin (Math) as a container",
		data: `<data id="a" expr="({v: 1})"/><data id="b" expr="null"/><data id="n" expr="0"/>`,
		steps: []string{
			`<assign location="Math.stash" expr="a"/>`,
			`<assign location="n" expr="n + 1"/>`,
			`<assign location="b" expr="Math.stash"/>`,
			`<assign location="n" expr="n + 1"/>`,
			`<assign location="b.x" expr="1"/>`,
			`<assign location="a.y" expr="2"/>`,
		},
	},
	{
		name: "alias passed through _ioprocessors",
		data: `<data id="a" expr="({v: 1})"/><data id="b" expr="null"/>`,
		steps: []string{
			`<script>_ioprocessors.keep = a;</script>`,
			`<assign location="b" expr="_ioprocessors.keep"/>`,
			`<assign location="b.x" expr="1"/>`,
		},
	},
	{
		name:   "function that changes a global it names",
		data:   `<data id="count" expr="0"/><data id="other" expr="'o'"/>`,
		script: `function bump() { count = count + 1; return count; }`,
		steps: []string{
			`<log expr="bump()"/>`,
			`<if cond="bump() > 0"><log expr="other"/></if>`,
			`<assign location="other" expr="'p'"/>`,
		},
	},
	{
		name:   "function that stashes its argument in a container",
		data:   `<data id="a" expr="({v: 1})"/><data id="b" expr="null"/>`,
		script: `function keep(o) { JSON.kept = o; } function back() { return JSON.kept; }`,
		steps: []string{
			`<script>keep(a);</script>`,
			`<assign location="b" expr="back()"/>`,
			`<assign location="b.x" expr="1"/>`,
			`<assign location="a.y" expr="2"/>`,
		},
	},
	{
		name: "cycle",
		data: `<data id="a" expr="({})"/><data id="n" expr="0"/>`,
		steps: []string{
			`<assign location="a.self" expr="a"/>`,
			`<assign location="n" expr="n + 1"/>`,
			`<assign location="a.z" expr="1"/>`,
		},
	},
	{
		name: "condition and log with side effects",
		data: `<data id="n" expr="0"/><data id="m" expr="0"/>`,
		steps: []string{
			`<if cond="n++ &gt; 5"><log expr="'never'"/></if>`,
			`<log expr="m += 2"/>`,
			`<if cond="(m = m * 10) &lt; 0"><log expr="'never'"/></if>`,
		},
	},
	{
		name: "global created, deleted and created again by scripts",
		data: `<data id="n" expr="0"/>`,
		steps: []string{
			`<script>late = {k: 1};</script>`,
			`<assign location="n" expr="n + 1"/>`,
			`<script>delete late;</script>`,
			`<script>late = [1, 2];</script>`,
		},
	},
	{
		name:   "let binding",
		script: `let box = {q: 0}; const fixed = [1];`,
		data:   `<data id="n" expr="0"/>`,
		steps: []string{
			`<assign location="n" expr="n + 1"/>`,
			`<assign location="box.q" expr="box.q + 1"/>`,
			`<script>fixed.push(2);</script>`,
		},
	},
	{
		name: "foreach item aliases the array's elements",
		data: `<data id="arr" expr="[{i: 0}, {i: 1}]"/><data id="it" expr="null"/><data id="n" expr="0"/>`,
		steps: []string{
			`<foreach array="arr" item="it"><log expr="it.i"/></foreach>`,
			`<assign location="n" expr="n + 1"/>`,
			`<assign location="it.i" expr="42"/>`,
		},
	},
	{
		name: "code that reaches the global object (this)",
		data: `<data id="n" expr="0"/>`,
		steps: []string{
			`<script>this.hidden = {h: 1};</script>`,
			`<assign location="n" expr="n + 1"/>`,
			`<script>this.hidden.h = 2;</script>`,
		},
	},
	{
		// A read-only expression stored as a primitive aliases nothing:
		// call and targets stay cached while last changes (2 reuses
		// after each step, 3 in each of the 2 snapshots after the last
		// step; without the rule call and targets would be exported
		// again, for 8 reuses).
		name: "primitive read from an object leaves the object cached",
		data: `<data id="call" expr="({route: {group: 'g', hops: 0}})"/><data id="last" expr="''"/><data id="targets" expr="['a', 'b']"/>`,
		steps: []string{
			`<assign location="last" expr="call.route.group"/>`,
			`<assign location="last" expr="targets[1]"/>`,
			`<assign location="last" expr="call.route.hops &gt; 0 ? targets[0] : call.route.group"/>`,
		},
		minReused: 12,
	},
	{
		name: "object chosen by a read-only expression aliases",
		data: `<data id="a" expr="({v: 1})"/><data id="arr" expr="[{i: 0}]"/><data id="b" expr="null"/><data id="n" expr="0"/>`,
		steps: []string{
			`<assign location="b" expr="n &gt; 0 ? null : a"/>`,
			`<assign location="n" expr="n + 1"/>`,
			`<assign location="b.x" expr="1"/>`,
			`<assign location="a.y" expr="2"/>`,
			`<assign location="b" expr="arr[0]"/>`,
			`<assign location="n" expr="n + 1"/>`,
			`<assign location="b.i" expr="7"/>`,
		},
	},
	{
		// Each store of a primitive through a property path re-encodes
		// the object it changes and its ancestors: the other objects of
		// call (route and route.deep while vars changes, and so on) are
		// copied from the last snapshot's encoding.
		name: "stores through property paths re-encode only the objects they change",
		data: `<data id="call" expr="({id: 'c', attempts: 0, vars: {score: 0, tier: 'b'}, route: {group: '', hops: 0, deep: {x: 1}}, list: [{a: 1}]})"/><data id="n" expr="0"/>`,
		steps: []string{
			`<assign location="call.vars.score" expr="call.vars.score + 1"/>`,
			`<assign location="call.attempts" expr="call.attempts + 1"/>`,
			`<assign location="call.route.deep.x" expr="2"/>`,
			`<assign location="call.route.added" expr="'new key'"/>`,
			`<assign location="call.vars" expr="({score: 5})"/>`,
			`<assign location="call.vars.score" expr="6"/><assign location="n" expr="n + 1"/>`,
			`<assign location="call.missing.x" expr="1"/>`,
			`<assign location="call.id.x" expr="1"/>`,
			`<assign location="call.route.deep" expr="3"/>`,
			`<assign location="call.list.length" expr="0"/>`,
			`<assign location="call.vars.score" expr="'s'"/><assign location="call.route.hops" expr="call.route.hops + 1"/>`,
		},
		minReused:     10,
		minReusedObjs: 25,
	},
	{
		// In() only reads the configuration: a condition calling it
		// touches nothing (7 reuses: obj after each step, both variables
		// in the 2 snapshots after the last; without the rule, 4).
		name: "condition calling In",
		data: `<data id="obj" expr="({k: 1})"/><data id="n" expr="0"/>`,
		steps: []string{
			`<if cond="In('s') &amp;&amp; obj.k == 1"><assign location="n" expr="n + 1"/></if>`,
			`<if cond="In( &quot;s&quot; ) || obj.k"><assign location="n" expr="n + 1"/></if>`,
			`<log expr="In('s') ? obj.k : 0"/><assign location="n" expr="n + 1"/>`,
		},
		minReused: 7,
	},
	{
		name: "object shared by two variables, then stored into through a path",
		data: `<data id="a" expr="({inner: {v: 1}, other: {w: 1}})"/><data id="b" expr="null"/>`,
		steps: []string{
			`<assign location="b" expr="a.inner"/>`,
			`<assign location="a.inner.v" expr="2"/>`,
			`<assign location="b.v" expr="3"/>`,
			`<assign location="b" expr="null"/>`,
			`<assign location="a.inner.v" expr="4"/>`,
			`<assign location="a.other.w" expr="5"/>`,
		},
	},
	{
		name: "object shared inside one variable, then stored into through a path",
		data: `<data id="a" expr="({x: {v: 1}})"/>`,
		steps: []string{
			`<assign location="a.y" expr="a.x"/>`,
			`<assign location="a.x.v" expr="5"/>`,
			`<assign location="a.y.v" expr="6"/>`,
			`<assign location="a.y" expr="({v: 7})"/>`,
			`<assign location="a.x.v" expr="8"/>`,
		},
	},
	{
		name:   "property path through a lexical binding and a frozen object",
		script: `let box = {q: {r: 0}, s: {t: 0}};`,
		data:   `<data id="frozen" expr="Object.freeze({k: {m: 1}})"/>`,
		steps: []string{
			`<assign location="box.q.r" expr="1"/>`,
			`<assign location="box.s.t" expr="2"/>`,
			`<assign location="frozen.k.m" expr="3"/>`,
			`<assign location="frozen.z" expr="4"/>`,
		},
		minReusedObjs: 2,
	},
	{
		// Stores through paths into an object whose other values
		// (objects and an array among them) are copied as encoded, then
		// changes that are not
		// path stores: an array method in a condition, a delete and
		// re-add that moves a key to the end (for-in order), a property
		// made by Object.defineProperty, an alias made by a script.
		name: "values copied beside stores, then array methods, key order, alias",
		data: `<data id="call" expr="({d: [{e: 5}], vars: {s: 0, t: 'b'}, list: [1], after: {x: 1}})"/><data id="v" expr="null"/><data id="n" expr="0"/>`,
		steps: []string{
			`<assign location="call.vars.s" expr="call.vars.s + 1"/>`,
			`<assign location="call.after.x" expr="2"/><assign location="call.vars.t" expr="'g'"/>`,
			`<assign location="call.tail" expr="3"/>`,
			`<if cond="call.list.push(9) &gt; 5"><log expr="'never'"/></if>`,
			`<assign location="call.vars.s" expr="7"/><log expr="call.list.pop()"/>`,
			`<script>delete call.vars.s; call.vars.s = 8;</script>`,
			`<assign location="call.vars.t" expr="'s'"/>`,
			`<script>v = call.vars;</script>`,
			`<assign location="v.s" expr="9"/>`,
			`<assign location="call.vars.t" expr="'x'"/>`,
			`<assign location="v" expr="null"/>`,
			`<assign location="call.vars.s" expr="10"/><assign location="n" expr="n + 1"/>`,
		},
		minReused:     10,
		minReusedObjs: 8,
		minWarm:       12,
	},
	{
		// Object.defineProperty in the text: no path is tracked, the
		// listing still takes the fast path.
		name: "property made by Object.defineProperty",
		data: `<data id="call" expr="({vars: {s: 0}, after: {x: 1}})"/><data id="n" expr="0"/>`,
		steps: []string{
			`<assign location="call.vars.s" expr="1"/>`,
			`<script>Object.defineProperty(call.after, 'y', {value: 4, enumerable: true, writable: true, configurable: true});</script>`,
			`<assign location="call.after.x" expr="5"/><assign location="n" expr="n + 1"/>`,
			`<assign location="call.after.y" expr="6"/>`,
		},
		minWarm: 4,
	},
	{
		// Each path store here leaves every key of call but one as it
		// was: the untouched values are copied, nothing else changes.
		name: "path stores at every depth of one variable",
		data: `<data id="call" expr="({id: 'c', a: {b: {c: {d: 0}}, e: 1}, f: [{g: 1}], h: null})"/>`,
		steps: []string{
			`<assign location="call.a.b.c.d" expr="1"/>`,
			`<assign location="call.a.e" expr="2"/>`,
			`<assign location="call.a.b.c.d" expr="3"/><assign location="call.id" expr="'d'"/>`,
			`<assign location="call.a.b" expr="4"/>`,
			`<assign location="call.a.b" expr="'five'"/><assign location="call.h" expr="6"/>`,
			`<assign location="call.a.z" expr="7"/><assign location="call.a.e" expr="8"/>`,
		},
		minReusedObjs: 10,
		minWarm:       6,
	},
	{
		name: "event data kept across macrosteps",
		data: `<data id="call" expr="null"/><data id="seen" expr="[]"/>`,
		steps: []string{
			`<assign location="call" expr="_event.data"/>`,
			`<script>seen.push(_event.name);</script>`,
			`<assign location="call.extra" expr="_event.name"/>`,
		},
	},
}

// TestIncrementalLateBinding: with late binding, <data> gets its value
// when its state is first entered, after earlier snapshots saw it
// undefined.
func TestIncrementalLateBinding(t *testing.T) {
	m := compileDoc(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" binding="late" initial="a">
  <datamodel><data id="n" expr="0"/></datamodel>
  <state id="a"><transition event="go" target="b"/><transition event="inc"><assign location="n" expr="n + 1"/></transition></state>
  <state id="b">
    <datamodel><data id="late" expr="({k: 'v'})"/></datamodel>
    <transition event="inc"><assign location="n" expr="n + 1"/></transition>
  </state>
</scxml>`)
	s := startSession(t, m, "late", interp.Options{Host: &recHost{}, VerifySnapshots: true})
	for _, ev := range []string{"inc", "inc", "go", "inc"} {
		if _, err := s.Snapshot(); err != nil {
			t.Fatalf("before %s: %v", ev, err)
		}
		s.Enqueue(interp.Event{Name: ev, Type: interp.External})
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
}

func TestIncrementalSnapshotsMatchFullExport(t *testing.T) {
	for _, c := range incrementalCases {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			b.WriteString(`<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="s">`)
			fmt.Fprintf(&b, "<datamodel>%s</datamodel>", c.data)
			if c.script != "" {
				fmt.Fprintf(&b, "<script>%s</script>", c.script)
			}
			b.WriteString(`<state id="s">`)
			for i, step := range c.steps {
				fmt.Fprintf(&b, `<transition event="e%d">%s</transition>`, i+1, step)
			}
			b.WriteString(`</state></scxml>`)
			m := compileDoc(t, b.String())
			host := &recHost{}
			s := startSession(t, m, "inc", interp.Options{Host: host, VerifySnapshots: true})
			// The first snapshot is a full export; each later one must
			// equal a full export although it reuses untouched variables.
			encodeSnap(t, s)
			for i := range c.steps {
				s.Enqueue(interp.Event{Name: fmt.Sprintf("e%d", i+1), Type: interp.External, Data: map[string]any{"k": i}})
				if err := s.Run(); err != nil {
					t.Fatalf("e%d: %v", i+1, err)
				}
				if !s.Running() {
					t.Fatalf("e%d: session ended", i+1)
				}
				if _, err := s.Snapshot(); err != nil {
					t.Fatalf("snapshot after e%d: %v", i+1, err)
				}
			}
			// A restored session carries on from the last snapshot with
			// the same variables.
			r := restoreBytes(t, m, "inc", encodeSnap(t, s), interp.Options{Host: host, VerifySnapshots: true})
			if got, want := encodeSnap(t, r), encodeSnap(t, s); string(got) != string(want) {
				t.Errorf("restored session snapshots differently")
			}
			reused, exported := ecmascript.SnapshotCacheStats(s)
			t.Logf("%d variables reused, %d exported", reused, exported)
			if reused < c.minReused {
				t.Errorf("%d variables taken from the cache, want at least %d", reused, c.minReused)
			}
			objs := ecmascript.SnapshotTreeStats(s)
			t.Logf("%d objects copied from variables' trees", objs)
			if objs < c.minReusedObjs {
				t.Errorf("%d objects copied from variables' trees, want at least %d", objs, c.minReusedObjs)
			}
			if warm := ecmascript.SnapshotWarmExports(s); warm < c.minWarm {
				t.Errorf("%d snapshots took the fast path, want at least %d", warm, c.minWarm)
			}
		})
	}
}

// TestSnapshotVariablesAmongBuiltins: the names a snapshot exports are
// the document's variables, whatever builtins the document also names or
// replaces: an assignment to a builtin keeps it a builtin (not
// enumerable), a builtin deleted and made again is a variable, and a
// host object never is one.
func TestSnapshotVariablesAmongBuiltins(t *testing.T) {
	m := compileDoc(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="s">
  <datamodel><data id="n" expr="Math.floor(2.5)"/></datamodel>
  <state id="s">
    <transition event="e1"><script>Math = 5; made = parseInt('7'); host.k = 1;</script></transition>
    <transition event="e2"><script>delete JSON; JSON = {x: 1};</script></transition>
  </state>
</scxml>`)
	s := startSession(t, m, "b", interp.Options{Host: &recHost{}, VerifySnapshots: true, Globals: map[string]any{"host": map[string]any{}}})
	names := func() []string {
		snap, err := s.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range snap.Vars {
			out = append(out, v.Name)
		}
		return out
	}
	for _, step := range []struct {
		event string
		want  string
	}{{"", "n"}, {"e1", "n made"}, {"e2", "n made JSON"}} {
		if step.event != "" {
			s.Enqueue(interp.Event{Name: step.event, Type: interp.External})
			if err := s.Run(); err != nil {
				t.Fatal(err)
			}
		}
		if got := strings.Join(names(), " "); got != step.want {
			t.Errorf("after %q: variables %q, want %q", step.event, got, step.want)
		}
	}
}

// TestSnapshotsKeptStayIntact: the encodings a snapshot hands out are
// never written over by later exports (the cache keeps them too, and
// reuses the scratch memory they were written in), so a Snapshot kept
// while the session runs on encodes as it did when it was taken.
func TestSnapshotsKeptStayIntact(t *testing.T) {
	m := compileDoc(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" datamodel="ecmascript" initial="s">
  <datamodel>
    <data id="call" expr="({n: 0, vars: {score: 0, tier: 'b'}, route: {group: '', hops: 0}})"/>
    <data id="k" expr="0"/><data id="label" expr="''"/>
  </datamodel>
  <state id="s">
    <transition event="e">
      <assign location="call.vars.score" expr="call.vars.score + 3"/>
      <assign location="k" expr="k + 1"/>
      <assign location="label" expr="'step ' + k"/>
    </transition>
    <transition event="f">
      <assign location="call.route.group" expr="'g' + k"/>
      <script>call.route.hops += 1;</script>
    </transition>
  </state>
</scxml>`)
	s := startSession(t, m, "kept", interp.Options{Host: &recHost{}})
	type kept struct {
		snap *interp.Snapshot
		enc  []byte
	}
	var all []kept
	for i := range 200 {
		ev := "e"
		if i%3 == 2 {
			ev = "f"
		}
		s.Enqueue(interp.Event{Name: ev, Type: interp.External})
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
		snap, err := s.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		enc, err := snapshot.Encode(snap)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, kept{snap, enc})
	}
	if warm := ecmascript.SnapshotWarmExports(s); warm < 150 {
		t.Fatalf("%d snapshots took the fast path, want most of 200", warm)
	}
	for i, k := range all {
		enc, err := snapshot.Encode(k.snap)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, k.enc) {
			t.Fatalf("snapshot %d changed after later snapshots", i)
		}
	}
}
