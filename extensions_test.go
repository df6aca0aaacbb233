package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

const crmNS = "urn:example:crm"

// crm is a test extension: <crm:lookup customer="expr" into="location"/>
// assigns a record from its directory, <crm:fail/> fails; _genesys.crm
// has a host function; events "crm." are its own; invoke type "crm-agent"
// records what it is told.
type crm struct {
	mu       sync.Mutex
	e        *engine.Engine
	invoked  []string
	events   []string
	canceled []string
}

func (c *crm) extension() *engine.Extension {
	return &engine.Extension{
		Name:        "crm",
		Namespace:   crmNS,
		EventPrefix: "crm.",
		Actions: map[string]engine.Action{
			"lookup": func(ac *engine.ActionContext) error {
				v, ok, err := ac.EvalAttr("customer")
				if err != nil || !ok {
					return fmt.Errorf("customer: %v", err)
				}
				into, _ := ac.Attr("into")
				return ac.Assign(into, map[string]any{"id": v, "tier": "gold"})
			},
			"raise": func(ac *engine.ActionContext) error {
				ac.Raise(interp.Event{Name: "crm.raised", Data: "x"})
				return nil
			},
			"fail": func(*engine.ActionContext) error { return errors.New("CRM is down") },
		},
		Object: func(id string) map[string]any {
			return map[string]any{
				"greeting": func(name string) string { return "hello " + name },
				"session":  id,
			}
		},
		Invokers: map[string]engine.Invoker{"crm-agent": c},
		Open:     func(e *engine.Engine) error { c.e = e; return nil },
	}
}

func (c *crm) Invoke(sessionID string, req *engine.InvokeRequest) error {
	c.mu.Lock()
	c.invoked = append(c.invoked, fmt.Sprintf("%s %v", req.InvokeID, req.Data["skill"]))
	c.mu.Unlock()
	return c.e.PostInvoke(sessionID, req.InvokeID, engine.Event{Name: "agent.found", Data: map[string]any{"agent": "7001"}})
}

func (c *crm) Event(sessionID, invokeID string, ev engine.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, invokeID+" "+ev.Name)
	return nil
}

func (c *crm) Cancel(sessionID, invokeID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.canceled = append(c.canceled, invokeID)
}

const crmDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:crm="urn:example:crm" datamodel="ecmascript" initial="start">
  <datamodel><data id="cust" expr="null"/><data id="hi" expr="''"/><data id="agent" expr="''"/></datamodel>
  <state id="start">
    <onentry>
      <crm:lookup customer="'C' + (40 + 2)" into="cust"/>
      <assign location="hi" expr="_genesys.crm.greeting(cust.id)"/>
    </onentry>
    <transition event="go" cond="cust.tier == 'gold' &amp;&amp; hi == 'hello C42' &amp;&amp; _genesys.crm.session == _sessionid" target="find"/>
    <transition event="fail" target="failing"/>
  </state>
  <state id="failing">
    <onentry><crm:fail/><raise event="not.reached"/></onentry>
    <transition event="error.execution" target="failed"/>
  </state>
  <state id="failed"/>
  <state id="find">
    <invoke id="ag" type="crm-agent"><param name="skill" expr="'billing'"/></invoke>
    <transition event="agent.found"><assign location="agent" expr="_event.data.agent"/><send target="#_ag" event="hello.agent"/><raise event="talk"/></transition>
    <transition event="talk" target="talk"/>
  </state>
  <state id="talk">
    <onentry><crm:raise/></onentry>
    <transition event="crm.raised" target="subscribed"/>
  </state>
  <state id="subscribed">
    <transition event="crm.update" target="updated"/>
  </state>
  <state id="updated"/>
</scxml>`

func TestExtension(t *testing.T) {
	ctx := context.Background()
	c := &crm{}
	clock := engine.NewManualClock(t0)
	store := persist.NewMemory(persist.MemoryOptions{})
	var errs []string
	e, err := engine.New(engine.Options{Node: "A", Clock: clock, Store: store, Extensions: []*engine.Extension{c.extension()},
		RestoreEveryStep: true, // host objects are not snapshotted, yet come back
		OnError:          func(_ string, ev *engine.Event, cause error) { errs = append(errs, cause.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc, err := scxml.Parse([]byte(crmDoc), e.ParseOptions("crm.scxml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Running a crm action subscribed the session; a session that ran
	// none is not.
	other, err := e.Start(ctx, mustParse(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml"><state id="idle"/></scxml>`), engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Publish("crm", other.ID(), engine.Event{Name: "crm.update"}); !errors.Is(err, engine.ErrNotSubscribed) {
		t.Fatalf("publish to a session that uses no crm action: %v", err)
	}
	if err := s.Send(ctx, engine.Event{Name: "go"}); err != nil {
		t.Fatal(err)
	}
	if err := e.Quiesce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Configuration(), ","); got != "subscribed" {
		t.Fatalf("configuration %s, want subscribed (errors %v)", got, errs)
	}
	c.mu.Lock()
	if fmt.Sprint(c.invoked) != "[ag billing]" || fmt.Sprint(c.events) != "[ag hello.agent]" || fmt.Sprint(c.canceled) != "[ag]" {
		t.Fatalf("invoker saw invoked %v events %v canceled %v", c.invoked, c.events, c.canceled)
	}
	c.mu.Unlock()
	if subs := s.Subscriptions(); fmt.Sprint(subs) != "[crm.]" {
		t.Fatalf("subscriptions %v", subs)
	}
	if err := e.Publish("crm", s.ID(), engine.Event{Name: "queue.update"}); !errors.Is(err, engine.ErrNotOwned) {
		t.Fatalf("publish outside the prefix: %v", err)
	}
	if err := e.Publish("nope", s.ID(), engine.Event{Name: "crm.update"}); !errors.Is(err, engine.ErrNoExtension) {
		t.Fatalf("publish of an unknown extension: %v", err)
	}

	// Node A fails; B resumes the session: the subscription was in its
	// checkpoint, the host object is installed again.
	e.Close()
	c2 := &crm{}
	b, err := engine.New(engine.Options{Node: "B", Clock: clock, Store: store, Extensions: []*engine.Extension{c2.extension()}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rs, err := b.Resume(ctx, s.ID(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := b.Broadcast("crm", engine.Event{Name: "crm.update"}); err != nil || n != 1 {
		t.Fatalf("broadcast after resume reached %d sessions: %v", n, err)
	}
	if err := b.Quiesce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rs.Configuration(), ","); got != "updated" {
		t.Fatalf("after the broadcast: %s", got)
	}

	// A failing action raises error.execution, stops its block, and says
	// where it was.
	s2, err := b.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Send(ctx, engine.Event{Name: "fail"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s2.Configuration(), ","); got != "failed" {
		t.Fatalf("after a failing action: %s", got)
	}
}

func TestExtensionErrors(t *testing.T) {
	ctx := context.Background()
	var causes []string
	c := &crm{}
	e, err := engine.New(engine.Options{Extensions: []*engine.Extension{c.extension()}, Clock: engine.NewManualClock(t0),
		OnError: func(_ string, _ *engine.Event, cause error) { causes = append(causes, cause.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc, err := scxml.Parse([]byte(crmDoc), e.ParseOptions("crm.scxml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, engine.Event{Name: "fail"}); err != nil {
		t.Fatal(err)
	}
	if len(causes) != 1 || !strings.Contains(causes[0], "crm.scxml:12:14: <fail>: CRM is down") {
		t.Fatalf("OnError heard %q", causes)
	}

	// Unknown custom elements: rejected at parse time with the engine's
	// options, at Start otherwise; ignored only when asked.
	unknown := `<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:x="urn:unknown" initial="a">
  <state id="a"><onentry><x:frob/><x:twiddle/></onentry></state>
</scxml>`
	if _, err := scxml.Parse([]byte(unknown), e.ParseOptions("u.scxml")); err == nil || !strings.Contains(err.Error(), "u.scxml:2:26") {
		t.Fatalf("parse with the engine's options: %v", err)
	}
	plain, err := scxml.Parse([]byte(unknown), &scxml.Options{File: "u.scxml"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Start(ctx, plain, engine.StartOptions{})
	if !errors.Is(err, engine.ErrUnknownAction) || !strings.Contains(err.Error(), "u.scxml:2:26") || !strings.Contains(err.Error(), "u.scxml:2:35") {
		t.Fatalf("start of a document with unknown actions: %v", err)
	}
	lax, err := engine.New(engine.Options{IgnoreUnknownActions: true, Clock: engine.NewManualClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	defer lax.Close()
	if _, err := lax.Start(ctx, plain, engine.StartOptions{}); err != nil {
		t.Fatalf("IgnoreUnknownActions: %v", err)
	}
	if d, err := scxml.Parse([]byte(unknown), lax.ParseOptions("u.scxml")); err != nil || len(d.CustomElements()) != 0 {
		t.Fatalf("parse ignoring unknown elements: %v", err)
	}

	// Options are checked, naming the option.
	for _, tc := range []struct {
		exts []*engine.Extension
		want string
	}{
		{[]*engine.Extension{nil}, "Extensions[0]: nil"},
		{[]*engine.Extension{{Name: "a-b"}}, "Name"},
		{[]*engine.Extension{{Name: "a"}, {Name: "a"}}, "Extensions[1]: Name"},
		{[]*engine.Extension{{Name: "a", Actions: map[string]engine.Action{"x": func(*engine.ActionContext) error { return nil }}}}, "Namespace"},
		{[]*engine.Extension{{Name: "a", Namespace: "n"}, {Name: "b", Namespace: "n"}}, "used by extension a"},
		{[]*engine.Extension{{Name: "a", Open: func(*engine.Engine) error { return errors.New("boom") }}}, "open extension a: boom"},
	} {
		if _, err := engine.New(engine.Options{Extensions: tc.exts}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d extensions: %v, want an error with %q", len(tc.exts), err, tc.want)
		}
	}
}

func mustParse(t testing.TB, src string) *scxml.Document {
	t.Helper()
	d, err := scxml.Parse([]byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// callerInvoker is an invoke type whose Invoke reads the invoking session
// and answers at once.
type callerInvoker struct {
	e    *engine.Engine
	mu   sync.Mutex
	seen []string
}

func (c *callerInvoker) Invoke(sessionID string, req *engine.InvokeRequest) error {
	s, err := c.e.Session(sessionID)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.seen = append(c.seen, "invoke in "+strings.Join(s.Configuration(), ","))
	c.mu.Unlock()
	return c.e.PostInvoke(sessionID, req.InvokeID, engine.Event{Name: "answer"})
}

func (c *callerInvoker) Event(string, string, engine.Event) error { return nil }
func (c *callerInvoker) Cancel(string, string)                    {}

// The effects of a macrostep (<log> output, error causes, an
// extension's Invoke) are carried out once the macrostep is over, off the
// session's lock: the callbacks read the session they come from, post to
// it, and Send to another session that sends back to it, none of which
// could be done under its lock (each deadlocked when the callbacks ran
// inside the macrostep).
func TestCallbacksRunOffTheLock(t *testing.T) {
	ctx := context.Background()
	var (
		mu   sync.Mutex
		seen []string
		e    *engine.Engine
	)
	note := func(what, id string) {
		s, err := e.Session(id)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		seen = append(seen, what+" in "+strings.Join(s.Configuration(), ","))
		mu.Unlock()
	}
	ivk := &callerInvoker{}
	var err error
	e, err = engine.New(engine.Options{
		Log: func(id, label string, _ any) {
			if id != "caller" {
				return
			}
			note("log "+label, id)
			// B answers A with a <send>, processed once this returns.
			if err := e.Send(ctx, "ponger", engine.Event{Name: "ping", Data: map[string]any{"from": id}}); err != nil {
				t.Error(err)
			}
		},
		OnError: func(id string, ev *engine.Event, _ error) {
			note("error "+ev.Name, id)
		},
		Extensions: []*engine.Extension{{
			Name:     "caller",
			Invokers: map[string]engine.Invoker{"caller": ivk},
			Open:     func(e *engine.Engine) error { ivk.e = e; return nil },
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	docs := map[string]*scxml.Document{}
	for _, name := range []string{"pong", "callbacks"} {
		if docs[name], err = scxml.ParseFile("testdata/outbox/"+name+".scxml", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Start(ctx, docs["pong"], engine.StartOptions{ID: "ponger", Type: engine.Chat}); err != nil {
		t.Fatal(err)
	}
	done := make(chan *engine.Session, 1)
	go func() {
		s, err := e.Start(ctx, docs["callbacks"], engine.StartOptions{ID: "caller", Type: engine.Chat})
		if err != nil {
			t.Error(err)
		}
		done <- s
	}()
	var s *engine.Session
	select {
	case s = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Start did not return: a callback waits for the session it was called for")
	}
	// The pong B sent back, the answer the service posted and an event
	// posted now are processed in that order.
	if err := e.Post("caller", engine.Event{Name: "posted"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-time.After(20 * time.Second):
		t.Fatalf("the session did not end: in %v", s.Configuration())
	}
	// Each callback saw the state its macrostep left: it ran after it.
	want := []string{"log entered in a", "error error.execution in a"}
	if !slices.Equal(seen, want) {
		t.Errorf("callbacks saw %q, want %q", seen, want)
	}
	if want := []string{"invoke in b"}; !slices.Equal(ivk.seen, want) {
		t.Errorf("Invoke saw %q, want %q", ivk.seen, want)
	}
}

// BenchmarkMacrostepEffects: each macrostep has effects to carry out, a
// <log> (to Options.Log) and a <send> to another session, which drain
// then runs: two macrosteps an op, one with effects.
func BenchmarkMacrostepEffects(b *testing.B) {
	var logged int
	e, err := engine.New(engine.Options{Log: func(string, string, any) { logged++ }})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	if _, err := e.Start(ctx, mustParse(b, `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript">
  <state id="idle"><transition event="ping"/></state></scxml>`), engine.StartOptions{ID: "fx-b", Type: engine.Chat}); err != nil {
		b.Fatal(err)
	}
	s, err := e.Start(ctx, mustParse(b, `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript">
  <state id="run"><transition event="t"><log label="t" expr="1"/><send target="#_scxml_fx-b" event="ping"/></transition></state></scxml>`), engine.StartOptions{ID: "fx-a", Type: engine.Chat})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := s.Send(ctx, engine.Event{Name: "t"}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if logged != n {
		b.Fatalf("%d logs for %d macrosteps", logged, n)
	}
}
