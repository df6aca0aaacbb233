package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

// dataDoc has top-level <data> items (a, cust, unset), one in a nested
// state (inner) and a getter that never returns (for the script budget).
const dataDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="s" name="data" binding="%s">
  <datamodel>
    <data id="a" expr="1"/>
    <data id="cust" expr="({tier: 'silver'})"/>
    <data id="unset"/>
  </datamodel>
  <script>var seen = a * 10; function helper() { return 1; }</script>
  <state id="s">
    <datamodel><data id="inner" expr="a + 100"/></datamodel>
    <transition event="bump"><assign location="a" expr="a + 1"/></transition>
    <transition event="go" target="t"/>
  </state>
  <state id="t"/>
</scxml>`

func dataDocBinding(t *testing.T, binding string) *scxml.Document {
	t.Helper()
	return mustParse(t, strings.Replace(dataDoc, "%s", binding, 1))
}

func TestStartData(t *testing.T) {
	for _, binding := range []string{"early", "late"} {
		t.Run(binding, func(t *testing.T) {
			e, err := engine.New(engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			s, err := e.Start(context.Background(), dataDocBinding(t, binding), engine.StartOptions{Data: map[string]any{
				"a":    json.Number("5"),
				"cust": map[string][]int{"skills": {3, 4}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Data()
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"a":     int64(5),
				"cust":  map[string]any{"skills": []any{int64(3), int64(4)}},
				"unset": nil,
				"seen":  int64(50), // the global script saw the start-up value
				"inner": int64(105),
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Data() = %#v\nwant %#v", got, want)
			}
			if v, err := s.Value("a"); err != nil || v != int64(5) {
				t.Fatalf("Value(a) = %v, %v", v, err)
			}
		})
	}
}

func TestStartDataRefused(t *testing.T) {
	e, err := engine.New(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc := dataDocBinding(t, "early")
	type agent struct{ Name string }
	for _, c := range []struct {
		data map[string]any
		want []string
	}{
		{map[string]any{"inner": 1}, []string{`StartOptions.Data["inner"]`, `no top-level <data id="inner">`, `"a"`}},
		{map[string]any{"nosuch": 1}, []string{`StartOptions.Data["nosuch"]`}},
		{map[string]any{"cust": map[string]any{"agents": []any{agent{"x"}}}}, []string{`StartOptions.Data["cust"]["agents"][0]`, "engine_test.agent"}},
		{map[string]any{"a": make(chan int)}, []string{`StartOptions.Data["a"]`, "chan int"}},
		{map[string]any{"a": map[int]string{1: "x"}}, []string{"map[int]string"}},
	} {
		_, err := e.Start(context.Background(), doc, engine.StartOptions{Data: c.data})
		if !errors.Is(err, engine.ErrInvalidData) {
			t.Fatalf("Start(%v) = %v, want ErrInvalidData", c.data, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Start(%v): %v; want it to mention %s", c.data, err, w)
			}
		}
	}
	if n := e.Len(); n != 0 {
		t.Fatalf("%d sessions after refused starts", n)
	}
}

// The start-up data is in the checkpoint: another node resumes with it.
func TestStartDataResumed(t *testing.T) {
	store := persist.NewMemory(persist.MemoryOptions{})
	a, err := engine.New(engine.Options{Node: "A", Store: store})
	if err != nil {
		t.Fatal(err)
	}
	doc := dataDocBinding(t, "late")
	s, err := a.Start(context.Background(), doc, engine.StartOptions{Data: map[string]any{"a": 7, "cust": map[string]any{"tier": "gold"}}})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	b, err := engine.New(engine.Options{Node: "B", Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r, err := b.Resume(context.Background(), s.ID(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := r.Value("cust"); err != nil || !reflect.DeepEqual(v, map[string]any{"tier": "gold"}) {
		t.Fatalf("resumed Value(cust) = %v, %v", v, err)
	}
	if v, err := r.Eval(context.Background(), "a + inner"); err != nil || v != int64(7+107) {
		t.Fatalf("resumed Eval(a + inner) = %v, %v", v, err)
	}
}

func TestEvalReadOnly(t *testing.T) {
	e, err := engine.New(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, err := e.Start(context.Background(), dataDocBinding(t, "early"), engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), engine.Event{Name: "bump"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for expr, want := range map[string]any{
		"a":                       int64(2),
		"(a + 1) * 2":             int64(6),
		"cust.tier":               "silver",
		"a == 2 && a != 3":        true,
		"_event.name":             "bump",
		"In('s') ? 'in s' : 'no'": nil, // In( is a call: refused
	} {
		v, err := s.Eval(ctx, expr)
		if want == nil {
			if !errors.Is(err, engine.ErrNotReadOnly) {
				t.Errorf("Eval(%q) = %v, %v; want ErrNotReadOnly", expr, v, err)
			}
			continue
		}
		if err != nil || v != want {
			t.Errorf("Eval(%q) = %v, %v; want %v", expr, v, err, want)
		}
	}
	for _, expr := range []string{"a = 9", "a++", "--a", "a += 1", "delete cust.tier", "helper()", "new Date()", "cust.tier = 'x'", "(() => a)", "a\n(1)"} {
		if v, err := s.Eval(ctx, expr); !errors.Is(err, engine.ErrNotReadOnly) {
			t.Errorf("Eval(%q) = %v, %v; want ErrNotReadOnly", expr, v, err)
		}
	}
	if v, _ := s.Value("a"); v != int64(2) {
		t.Fatalf("a = %v after refused expressions, want 2", v)
	}
	if v, _ := s.Value("cust"); !reflect.DeepEqual(v, map[string]any{"tier": "silver"}) {
		t.Fatalf("cust = %v after refused expressions", v)
	}
	if _, err := s.Eval(ctx, "nosuch.x"); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Fatalf("Eval(nosuch.x) = %v", err)
	}
	if _, err := s.Value("helper"); !errors.Is(err, engine.ErrNoVariable) {
		t.Fatalf("Value(helper) = %v, want ErrNoVariable (a function is not data)", err)
	}
	if _, err := s.Value("_sessionid"); !errors.Is(err, engine.ErrNoVariable) {
		t.Fatalf("Value(_sessionid) = %v, want ErrNoVariable", err)
	}
}

// An expression that runs too long (a getter looping for ever) is
// interrupted by the watchdog, as the document's scripts are.
func TestEvalScriptBudget(t *testing.T) {
	e, err := engine.New(engine.Options{ScriptBudget: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc := mustParse(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="s">
  <script>var o = { get spin() { for (;;) {} } };</script>
  <state id="s"/>
</scxml>`)
	s, err := e.Start(context.Background(), doc, engine.StartOptions{Type: engine.Chat})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Eval(context.Background(), "o.spin")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "budget") {
			t.Fatalf("Eval(o.spin) = %v, want the script budget's interruption", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Eval(o.spin) was not interrupted")
	}
}

// Readers run from other goroutines while events are processed: each sees
// the datamodel between two macrosteps (run with -race).
func TestDataConcurrent(t *testing.T) {
	e, err := engine.New(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc := mustParse(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="s">
  <datamodel><data id="x" expr="0"/><data id="y" expr="0"/></datamodel>
  <state id="s"><transition event="inc"><assign location="x" expr="x + 1"/><assign location="y" expr="y + 1"/></transition></state>
</scxml>`)
	s, err := e.Start(context.Background(), doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			_ = s.Send(context.Background(), engine.Event{Name: "inc"})
		}
	}()
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				d, err := s.Data()
				if err != nil {
					t.Error(err)
					return
				}
				if d["x"] != d["y"] {
					t.Errorf("x = %v, y = %v: read inside a macrostep", d["x"], d["y"])
					return
				}
				if v, err := s.Eval(context.Background(), "x - y"); err != nil || v != int64(0) {
					t.Errorf("Eval(x - y) = %v, %v", v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if v, _ := s.Value("x"); v != int64(200) {
		t.Fatalf("x = %v, want 200", v)
	}
}

// A hibernated session is read from its record and stays hibernated.
func TestDataHibernated(t *testing.T) {
	r := newHibRig(t, engine.Options{})
	s := r.start(engine.Voice)
	r.send(s, "bump")
	r.send(s, "bump")
	r.clock.Advance(2 * hibAfter)
	if !s.Hibernated() {
		t.Fatal("not hibernated")
	}
	loads := r.store.loads.Load()
	if v, err := s.Value("n"); err != nil || v != int64(2) {
		t.Fatalf("Value(n) = %v, %v", v, err)
	}
	if v, err := s.Eval(r.ctx, "n * 10"); err != nil || v != int64(20) {
		t.Fatalf("Eval(n * 10) = %v, %v", v, err)
	}
	if d, err := s.Data(); err != nil || !reflect.DeepEqual(d, map[string]any{"n": int64(2)}) {
		t.Fatalf("Data() = %v, %v", d, err)
	}
	if !s.Hibernated() {
		t.Fatal("reading woke the session")
	}
	if got := r.store.loads.Load() - loads; got != 3 {
		t.Fatalf("%d loads for three reads, want 3", got)
	}
	infos := r.e.Sessions()
	if len(infos) != 1 || !infos[0].Hibernated || !infos[0].Persisted || infos[0].ID != s.ID() ||
		!reflect.DeepEqual(infos[0].Configuration, []string{"idle"}) {
		t.Fatalf("Sessions() = %+v", infos)
	}
	r.store.failLoad.Store(true)
	if _, err := s.Data(); !errors.Is(err, engine.ErrWake) {
		t.Fatalf("Data() with the store down = %v, want ErrWake", err)
	}
	if !s.Hibernated() || !s.Running() {
		t.Fatal("a failed read changed the session")
	}
}

func TestSessionsList(t *testing.T) {
	store := persist.NewMemory(persist.MemoryOptions{})
	e, err := engine.New(engine.Options{Store: store, NewID: sequentialIDs()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc := dataDocBinding(t, "early")
	v, _ := e.Start(context.Background(), doc, engine.StartOptions{})
	c, _ := e.Start(context.Background(), doc, engine.StartOptions{Type: engine.Chat})
	if err := c.Send(context.Background(), engine.Event{Name: "go"}); err != nil {
		t.Fatal(err)
	}
	got := e.Sessions()
	want := []engine.SessionInfo{
		{ID: v.ID(), Type: engine.Voice, Persisted: true, Configuration: []string{"s"}},
		{ID: c.ID(), Type: engine.Chat, Configuration: []string{"t"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Sessions() = %+v\nwant %+v", got, want)
	}
	if e.Len() != 2 {
		t.Fatalf("Len() = %d", e.Len())
	}
}

func sequentialIDs() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return "S" + string(rune('0'+n))
	}
}

// CheckpointAll writes every persisted session again: the store lost its
// records, and they are back.
func TestCheckpointAll(t *testing.T) {
	store := persist.NewMemory(persist.MemoryOptions{})
	e, err := engine.New(engine.Options{Node: "A", Store: store, NewID: sequentialIDs()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	doc := dataDocBinding(t, "early")
	v1, _ := e.Start(ctx, doc, engine.StartOptions{})
	v2, _ := e.Start(ctx, doc, engine.StartOptions{})
	if _, err := e.Start(ctx, doc, engine.StartOptions{Type: engine.Chat}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{v1.ID(), v2.ID()} {
		if err := store.Delete(ctx, persist.Writer{Node: "A"}, id); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.CheckpointAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []engine.CheckpointResult{{ID: v1.ID()}, {ID: v2.ID()}}; !reflect.DeepEqual(res, want) {
		t.Fatalf("CheckpointAll = %+v, want %+v", res, want)
	}
	for _, id := range []string{v1.ID(), v2.ID()} {
		if _, err := store.Load(ctx, id); err != nil {
			t.Fatalf("record of %s after CheckpointAll: %v", id, err)
		}
	}
	// A failing store: every session reported, with ErrCheckpoint.
	failing := &hibStore{MemoryStore: store}
	e2, err := engine.New(engine.Options{Node: "B", Store: failing, NewID: sequentialIDs()})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	if _, err := e2.Start(ctx, doc, engine.StartOptions{ID: "F1"}); err != nil {
		t.Fatal(err)
	}
	failing.failSave.Store(true)
	res, err = e2.CheckpointAll(ctx)
	if !errors.Is(err, engine.ErrCheckpoint) || len(res) != 1 || res[0].ID != "F1" || !errors.Is(res[0].Err, engine.ErrCheckpoint) {
		t.Fatalf("CheckpointAll on a failing store = %+v, %v", res, err)
	}
}

// The null datamodel has no variables; In('id') is its only expression.
func TestDataNullDatamodel(t *testing.T) {
	e, err := engine.New(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s, err := e.Start(context.Background(), mustParse(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="null" initial="s"><state id="s"/></scxml>`), engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := s.Data(); err != nil || len(d) != 0 || d == nil {
		t.Fatalf("Data() = %#v, %v; want an empty map", d, err)
	}
	if v, err := s.Eval(context.Background(), "In('s')"); err != nil || v != true {
		t.Fatalf("Eval(In('s')) = %v, %v", v, err)
	}
	if _, err := s.Value("x"); !errors.Is(err, engine.ErrNoVariable) {
		t.Fatalf("Value(x) = %v", err)
	}
	if _, err := s.Eval(context.Background(), "1 + 1"); err == nil {
		t.Fatal("Eval(1 + 1) in the null datamodel succeeded")
	}
}
