package engine_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

// The main use: parse a document, start a session, drive it with events.
func Example() {
	ctx := context.Background()
	e, _ := engine.New(engine.Options{Clock: engine.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	defer e.Close()
	doc, err := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" initial="ringing">
  <state id="ringing"><transition event="answer" target="talking"/></state>
  <state id="talking"><transition event="hangup" target="done"/></state>
  <final id="done"/>
</scxml>`), &scxml.Options{File: "call.scxml"})
	if err != nil {
		fmt.Println(err) // file:line:col of every problem
		return
	}
	s, _ := e.Start(ctx, doc, engine.StartOptions{Type: engine.Voice})
	fmt.Println(s.Configuration())
	_ = s.Send(ctx, engine.Event{Name: "answer"})
	fmt.Println(s.Configuration())
	_ = s.Send(ctx, engine.Event{Name: "hangup"})
	fmt.Println(s.Running(), s.Final())
	// Output:
	// [ringing]
	// [talking]
	// false done
}

// A custom action: <acd:route> in the extension's namespace evaluates its
// attribute in the session's datamodel and assigns the result.
func ExampleExtension_action() {
	route := &engine.Extension{
		Name:      "acd",
		Namespace: "urn:example:acd",
		Actions: map[string]engine.Action{
			"route": func(c *engine.ActionContext) error {
				skill, _, err := c.EvalAttr("skill")
				if err != nil {
					return err // becomes error.execution, with file:line:col
				}
				return c.Assign("target", "agent-for-"+fmt.Sprint(skill))
			},
		},
	}
	e, _ := engine.New(engine.Options{Extensions: []*engine.Extension{route},
		Log: func(_, label string, v any) { fmt.Println(label, v) }})
	defer e.Close()
	doc, err := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:acd="urn:example:acd" datamodel="ecmascript">
  <datamodel><data id="target"/></datamodel>
  <state id="s">
    <onentry><acd:route skill="'billing'"/><log label="target" expr="target"/></onentry>
  </state>
</scxml>`), e.ParseOptions("route.scxml")) // unknown custom elements are reported here
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _ = e.Start(context.Background(), doc, engine.StartOptions{})
	// Output:
	// target agent-for-billing
}

// A host object: Go functions under _genesys.<extension name>, installed
// in every session (and again in a restored one), never snapshotted.
func ExampleExtension_hostObject() {
	stats := &engine.Extension{
		Name: "stat",
		Object: func(sessionID string) map[string]any {
			return map[string]any{"waiting": func(queue string) int { return len(queue) }}
		},
	}
	e, _ := engine.New(engine.Options{Extensions: []*engine.Extension{stats},
		Log: func(_, label string, v any) { fmt.Println(label, v) }})
	defer e.Close()
	doc, _ := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript">
  <state id="s"><onentry><log label="waiting" expr="_genesys.stat.waiting('sales')"/></onentry></state>
</scxml>`), nil)
	_, _ = e.Start(context.Background(), doc, engine.StartOptions{})
	// Output:
	// waiting 5
}

// lookup is an invoke type: it answers at once, then ends.
type lookup struct{ e *engine.Engine }

func (l *lookup) Invoke(sessionID string, req *engine.InvokeRequest) error {
	_ = l.e.PostInvoke(sessionID, req.InvokeID, engine.Event{Name: "lookup.result", Data: map[string]any{"vip": req.Data["ani"] == "+331"}})
	return l.e.PostInvoke(sessionID, req.InvokeID, engine.Event{Name: "done.invoke." + req.InvokeID})
}
func (l *lookup) Event(string, string, engine.Event) error { return nil }
func (l *lookup) Cancel(string, string)                    {}

// A custom invoke type, answering through PostInvoke.
func ExampleInvoker() {
	l := &lookup{}
	ext := &engine.Extension{
		Name:     "crm",
		Invokers: map[string]engine.Invoker{"urn:example:lookup": l},
		Open:     func(e *engine.Engine) error { l.e = e; return nil },
	}
	ctx := context.Background()
	e, _ := engine.New(engine.Options{Extensions: []*engine.Extension{ext}})
	defer e.Close()
	doc, _ := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="lookup">
  <state id="lookup">
    <invoke type="urn:example:lookup"><param name="ani" expr="'+331'"/></invoke>
    <transition event="lookup.result" cond="_event.data.vip" target="vip"/>
    <transition event="lookup.result" target="standard"/>
  </state>
  <state id="vip"/><state id="standard"/>
</scxml>`), nil)
	s, _ := e.Start(ctx, doc, engine.StartOptions{})
	_ = e.Quiesce(ctx) // the answer is posted, processed on another goroutine
	fmt.Println(s.Configuration())
	// Output:
	// [vip]
}

// An extension owning the "presence." events: sessions that ran one of
// its actions get them.
func ExampleEngine_Publish() {
	ext := &engine.Extension{
		Name: "presence", Namespace: "urn:example:presence", EventPrefix: "presence.",
		Actions: map[string]engine.Action{"watch": func(*engine.ActionContext) error { return nil }},
	}
	ctx := context.Background()
	e, _ := engine.New(engine.Options{Extensions: []*engine.Extension{ext}})
	defer e.Close()
	doc, _ := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:p="urn:example:presence" initial="w">
  <state id="w"><onentry><p:watch/></onentry><transition event="presence.agent.ready" target="ready"/></state>
  <state id="ready"/>
</scxml>`), e.ParseOptions("watch.scxml"))
	s, _ := e.Start(ctx, doc, engine.StartOptions{})
	fmt.Println(e.Publish("presence", s.ID(), engine.Event{Name: "presence.agent.ready"}))
	fmt.Println(e.Publish("presence", s.ID(), engine.Event{Name: "call.hijack"}) != nil)
	_ = e.Quiesce(ctx)
	fmt.Println(s.Configuration())
	// Output:
	// <nil>
	// true
	// [ready]
}

// An engine configured with Orchestration Server's option names.
func ExampleOpen() {
	cfg, err := config.Parse(strings.NewReader(`
[orchestration]
node-id = ors1
cluster-name = dc1
sessionid-with-nodeid = true
[persistence]
type = memory
session-ttl = 3600
`), "ors.ini")
	if err != nil {
		fmt.Println(err) // ors.ini:line: [section] option: message
		return
	}
	e, err := engine.Open(context.Background(), cfg, engine.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	fmt.Println(e.Node(), e.Store() != nil)
	// Output:
	// ors1 true
}

// Hibernation: a voice session idle for HibernateAfter leaves memory and
// lives on in the store; the next event (or its timer) wakes it where it
// stood.
func ExampleOptions_hibernateAfter() {
	ctx := context.Background()
	clock := engine.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	e, _ := engine.New(engine.Options{
		Clock:          clock,
		Store:          persist.NewMemory(persist.MemoryOptions{Now: clock.Now}),
		HibernateAfter: time.Minute,
	})
	defer e.Close()
	doc, _ := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="queued">
  <datamodel><data id="tries" expr="0"/></datamodel>
  <state id="queued">
    <transition event="retry"><assign location="tries" expr="tries + 1"/></transition>
    <transition event="agent.ready" cond="tries == 1" target="connected"/>
  </state>
  <final id="connected"/>
</scxml>`), nil)
	s, _ := e.Start(ctx, doc, engine.StartOptions{Type: engine.Voice})
	_ = s.Send(ctx, engine.Event{Name: "retry"})
	clock.Advance(2 * time.Minute) // idle: hibernated at the next sweep
	fmt.Println(s.Hibernated(), e.Hibernated())
	_ = s.Send(ctx, engine.Event{Name: "agent.ready"}) // wakes it, tries is still 1
	fmt.Println(s.Hibernated(), s.Final())
	// Output:
	// true 1
	// false connected
}
