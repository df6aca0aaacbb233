package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

// Extensions seen from an invoked SCXML child: the child is a session of
// its own (id <parent id>.<invoke id>) inside a top-level session, and
// every extension point must work for it as for a top-level session.

// svc is the test extension of the child tests: <svc:note/> records the
// session that ran it (and, like every action, subscribes it to "svc.");
// <svc:unsub/> drops the subscription; _genesys.svc.session is the id the
// host object was made for; invoke type "svc-call" records its calls and
// answers only when the test says so (Engine.PostInvoke), so that an
// invocation can stay pending across checkpoints.
type svc struct {
	mu  sync.Mutex
	e   *engine.Engine
	log []string
}

func (x *svc) note(format string, args ...any) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.log = append(x.log, fmt.Sprintf(format, args...))
}

// take returns what the extension saw since the last take.
func (x *svc) take() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	l := x.log
	x.log = nil
	return l
}

func (x *svc) extension() *engine.Extension {
	return &engine.Extension{
		Name:        "svc",
		Namespace:   "urn:test:svc",
		EventPrefix: "svc.",
		Actions: map[string]engine.Action{
			"note": func(c *engine.ActionContext) error {
				x.note("note %s", c.Session().ID())
				return nil
			},
			"unsub": func(c *engine.ActionContext) error {
				c.Unsubscribe("svc.")
				return nil
			},
		},
		Object:   func(id string) map[string]any { return map[string]any{"session": id} },
		Invokers: map[string]engine.Invoker{"svc-call": x},
		Open:     func(e *engine.Engine) error { x.e = e; return nil },
	}
}

func (x *svc) Invoke(sessionID string, req *engine.InvokeRequest) error {
	x.note("invoke %s %s %v", sessionID, req.InvokeID, req.Data["q"])
	if req.Data["q"] != "now" {
		return nil
	}
	// Answered from inside Invoke, as queue's select-group does: the
	// invoking session may have been created in this very macrostep.
	if err := x.e.PostInvoke(sessionID, req.InvokeID, engine.Event{Name: "reply", Data: map[string]any{"agent": "7002"}}); err != nil {
		return err
	}
	return x.e.PostInvoke(sessionID, req.InvokeID, engine.Event{Name: "done.invoke." + req.InvokeID})
}

func (x *svc) Event(sessionID, invokeID string, ev engine.Event) error {
	x.note("event %s %s %s", sessionID, invokeID, ev.Name)
	return nil
}

func (x *svc) Cancel(sessionID, invokeID string) { x.note("cancel %s %s", sessionID, invokeID) }

// childParentDoc invokes the child "kid", which runs a custom action,
// reads its host object (again once answered: after a restore, with
// RestoreEveryStep or Resume), invokes svc-call ("ask") and waits for a
// published svc.pushed. The parent follows the child through its events.
const childParentDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="run" name="parent">
  <datamodel><data id="agent" expr="''"/></datamodel>
  <state id="run" initial="starting">
    <invoke id="kid" type="scxml"><content>
      <scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:svc="urn:test:svc" datamodel="ecmascript" initial="main" name="kid">
        <datamodel><data id="agent" expr="''"/></datamodel>
        <state id="main" initial="call">
          <transition event="quit" target="out"/>
          <transition event="drop"><svc:unsub/></transition>
          <transition event="tell"><send target="#_ask" event="svc.hello"/></transition>
          <state id="call">
            <onentry>
              <svc:note/>
              <log label="host" expr="_genesys.svc.session"/>
              <send target="#_parent" event="kid.ready">
                <param name="sid" expr="_sessionid"/>
                <param name="host" expr="_genesys.svc.session"/>
              </send>
            </onentry>
            <invoke id="ask" type="svc-call">
              <param name="q" expr="'agent?'"/>
              <finalize><if cond="_event.name == 'reply'"><assign location="agent" expr="_event.data.agent"/></if></finalize>
            </invoke>
            <transition event="done.invoke.ask" target="answered"/>
            <transition event="hangup" target="idle"/>
          </state>
          <state id="answered">
            <onentry><send target="#_parent" event="kid.answered"><param name="agent" expr="agent"/><param name="host" expr="_genesys.svc.session"/></send></onentry>
            <transition event="svc.pushed" target="end"/>
          </state>
          <state id="idle"/>
        </state>
        <final id="end"><donedata><param name="agent" expr="agent"/></donedata></final>
        <final id="out"/>
      </scxml>
    </content></invoke>
    <transition event="done.invoke.kid" target="finished"><assign location="agent" expr="_event.data &amp;&amp; _event.data.agent"/></transition>
    <transition event="stop" target="stopped"/>
    <transition event="hangup"><send target="#_kid" event="hangup"/></transition>
    <transition event="quit"><send target="#_kid" event="quit"/></transition>
    <state id="starting">
      <transition event="kid.ready" cond="_event.data.sid == _sessionid + '.kid' &amp;&amp; _event.data.host == _event.data.sid" target="asking"/>
      <transition event="kid.ready" target="wronghost"/>
    </state>
    <state id="asking">
      <transition event="kid.answered" cond="_event.data.agent == '7001' &amp;&amp; _event.data.host == _sessionid + '.kid'" target="answered"/>
      <transition event="kid.answered" target="wronghost"/>
    </state>
    <state id="answered"/>
    <state id="wronghost"/>
  </state>
  <state id="finished"><onentry><log label="agent" expr="agent"/></onentry></state>
  <state id="stopped"/>
</scxml>`

// childRig is an engine with the svc extension running one parent.
type childRig struct {
	t      *testing.T
	ctx    context.Context
	x      *svc
	e      *engine.Engine
	s      *engine.Session
	doc    *scxml.Document
	kid    string // the child's session id
	mu     sync.Mutex
	logs   []string
	errors []string
}

type rigOptions struct {
	node    string
	store   persist.Store
	restore bool
}

func newChildEngine(t *testing.T, o rigOptions) *childRig {
	t.Helper()
	r := &childRig{t: t, ctx: context.Background(), x: &svc{}}
	if o.node == "" {
		o.node = "A"
	}
	e, err := engine.New(engine.Options{
		Node: o.node, Clock: engine.NewManualClock(t0), Store: o.store, RestoreEveryStep: o.restore,
		Extensions: []*engine.Extension{r.x.extension()},
		Log: func(id, label string, v any) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.logs = append(r.logs, fmt.Sprintf("%s %s %v", id, label, v))
		},
		OnError: func(id string, ev *engine.Event, cause error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.errors = append(r.errors, fmt.Sprintf("%s %s: %v", id, ev.Name, cause))
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	r.e = e
	r.doc, err = scxml.Parse([]byte(childParentDoc), e.ParseOptions("parent.scxml"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// startChildRig starts the parent: the child is waiting for its svc-call.
func startChildRig(t *testing.T, o rigOptions) *childRig {
	t.Helper()
	r := newChildEngine(t, o)
	s, err := r.e.Start(r.ctx, r.doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.s, r.kid = s, s.ID()+".kid"
	r.settle()
	r.want("asking")
	r.saw("note "+r.kid, "invoke "+r.kid+" ask agent?")
	r.logged(r.kid + " host " + r.kid)
	return r
}

func (r *childRig) settle() {
	r.t.Helper()
	if err := r.e.Quiesce(r.ctx); err != nil {
		r.t.Fatal(err)
	}
}

func (r *childRig) want(config ...string) {
	r.t.Helper()
	if got := r.s.Configuration(); !slices.Equal(got, config) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.t.Fatalf("parent configuration %v, want %v (errors %q)", got, config, r.errors)
	}
}

// saw checks what the extension saw since the last check.
func (r *childRig) saw(want ...string) {
	r.t.Helper()
	if got := r.x.take(); !slices.Equal(got, want) {
		r.t.Fatalf("the extension saw %q, want %q", got, want)
	}
}

// logged checks the <log> output since the last check.
func (r *childRig) logged(want ...string) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Equal(r.logs, want) {
		r.t.Fatalf("logs %q, want %q", r.logs, want)
	}
	r.logs = nil
}

func (r *childRig) noErrors() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.errors) > 0 {
		r.t.Fatalf("errors: %q", r.errors)
	}
}

func (r *childRig) send(name string) {
	r.t.Helper()
	if err := r.s.Send(r.ctx, engine.Event{Name: name}); err != nil {
		r.t.Fatal(err)
	}
	r.settle()
}

func (r *childRig) postInvoke(ev engine.Event) {
	r.t.Helper()
	if err := r.e.PostInvoke(r.kid, "ask", ev); err != nil {
		r.t.Fatal(err)
	}
	r.settle()
}

// answer completes the child's svc-call: its answer, then done.invoke.
func (r *childRig) answer() {
	r.t.Helper()
	r.postInvoke(engine.Event{Name: "reply", Data: map[string]any{"agent": "7001"}})
	r.postInvoke(engine.Event{Name: "done.invoke.ask"})
	r.want("answered")
}

var childModes = []struct {
	name    string
	restore bool
}{{"plain", false}, {"restore-every-step", true}}

// 1-4: an action in the child subscribes the child (not its parent), its
// host object is made for the child's id, its custom invocation gets the
// child's id, PostInvoke with that id reaches its <finalize> and
// done.invoke ends it (no Cancel after it), Publish and Broadcast reach
// the subscribed child, and its parent hears of it all through the
// child's events and done.invoke.
func TestChildExtensionPoints(t *testing.T) {
	for _, mode := range childModes {
		t.Run(mode.name, func(t *testing.T) {
			store := persist.NewMemory(persist.MemoryOptions{})
			r := startChildRig(t, rigOptions{store: store, restore: mode.restore})
			e, kid := r.e, r.kid

			if subs := r.s.Subscriptions(); len(subs) != 0 {
				t.Fatalf("the parent ran no action, yet subscribed to %v", subs)
			}
			if err := e.Publish("svc", r.s.ID(), engine.Event{Name: "svc.pushed"}); !errors.Is(err, engine.ErrNotSubscribed) {
				t.Fatalf("publish to the parent: %v, want ErrNotSubscribed", err)
			}
			// Events sent to the invocation reach the invoker, with the
			// child's id.
			if err := e.Send(r.ctx, kid, engine.Event{Name: "tell"}); err != nil {
				t.Fatalf("send to the child: %v", err)
			}
			r.saw("event " + kid + " ask svc.hello")

			r.answer()
			r.saw() // done.invoke ended it: no Cancel on exit

			// Unknown invocation ids and sessions are errors naming the id.
			if err := e.PostInvoke("nope.kid", "ask", engine.Event{Name: "x"}); !errors.Is(err, engine.ErrNoSession) || !strings.Contains(err.Error(), "nope.kid") {
				t.Fatalf("PostInvoke to an unknown child: %v", err)
			}

			n, err := e.Broadcast("svc", engine.Event{Name: "svc.pushed"})
			if err != nil || n != 1 {
				t.Fatalf("broadcast reached %d sessions (%v), want the child only", n, err)
			}
			r.settle()
			r.want("finished")
			r.logged(r.s.ID() + " agent 7001")
			r.noErrors()

			// The child ended: it is no longer addressable.
			err = e.Publish("svc", kid, engine.Event{Name: "svc.pushed"})
			if !errors.Is(err, engine.ErrNoSession) || !strings.Contains(err.Error(), kid) {
				t.Fatalf("publish to an ended child: %v", err)
			}
			if err := e.PostInvoke(kid, "ask", engine.Event{Name: "x"}); !errors.Is(err, engine.ErrNoSession) {
				t.Fatalf("PostInvoke to an ended child: %v", err)
			}
			if n, _ := e.Broadcast("svc", engine.Event{Name: "svc.pushed"}); n != 0 {
				t.Fatalf("broadcast after the child ended reached %d sessions", n)
			}
		})
	}
}

// Publish to one child: refused (naming the child) once it unsubscribed.
func TestChildPublish(t *testing.T) {
	for _, mode := range childModes {
		t.Run(mode.name, func(t *testing.T) {
			r := startChildRig(t, rigOptions{restore: mode.restore})
			r.answer()
			if err := r.e.Send(r.ctx, r.kid, engine.Event{Name: "drop"}); err != nil {
				t.Fatal(err)
			}
			err := r.e.Publish("svc", r.kid, engine.Event{Name: "svc.pushed"})
			if !errors.Is(err, engine.ErrNotSubscribed) || !strings.Contains(err.Error(), r.kid) {
				t.Fatalf("publish to a child that unsubscribed: %v", err)
			}
			if n, _ := r.e.Broadcast("svc", engine.Event{Name: "svc.pushed"}); n != 0 {
				t.Fatalf("broadcast reached %d sessions", n)
			}
			r.want("answered")
		})
	}
}

// 3: the child's pending custom invocation is cancelled, with the child's
// id, when its invoking state exits, when the child ends, when its
// parent cancels it, and when the top-level session is cancelled.
func TestChildInvokeCancel(t *testing.T) {
	for _, mode := range childModes {
		for _, tc := range []struct {
			name string
			end  func(r *childRig)
			want []string // parent configuration after
		}{
			{"state exit", func(r *childRig) { r.send("hangup") }, []string{"asking"}},
			{"child ends", func(r *childRig) { r.send("quit") }, []string{"finished"}},
			{"parent cancels child", func(r *childRig) { r.send("stop") }, []string{"stopped"}},
			{"session cancelled", func(r *childRig) {
				if err := r.s.Cancel(); err != nil {
					r.t.Fatal(err)
				}
			}, []string{"asking"}},
		} {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				r := startChildRig(t, rigOptions{restore: mode.restore})
				tc.end(r)
				r.want(tc.want...)
				r.saw("cancel " + r.kid + " ask")
				r.noErrors()
			})
		}
	}
}

// 5: the child's subscription and pending invocation are in the parent's
// checkpoint: another node resumes the parent, the invoker answers the
// child there, a broadcast reaches it, and a later exit cancels on the
// new node.
func TestChildResume(t *testing.T) {
	for _, mode := range childModes {
		t.Run(mode.name, func(t *testing.T) {
			store := persist.NewMemory(persist.MemoryOptions{})
			a := startChildRig(t, rigOptions{node: "A", store: store, restore: mode.restore})
			id, kid := a.s.ID(), a.kid
			a.e.Close()

			b := newChildEngine(t, rigOptions{node: "B", store: store, restore: mode.restore})
			s, err := b.e.Resume(b.ctx, id, b.doc)
			if err != nil {
				t.Fatal(err)
			}
			b.s, b.kid = s, kid
			b.want("asking")
			// The child's subscription came back with it.
			if err := b.e.Publish("svc", kid, engine.Event{Name: "svc.ignored"}); err != nil {
				t.Fatalf("publish to the resumed child: %v", err)
			}
			b.answer()
			if n, err := b.e.Broadcast("svc", engine.Event{Name: "svc.pushed"}); err != nil || n != 1 {
				t.Fatalf("broadcast on the new node reached %d sessions (%v)", n, err)
			}
			b.settle()
			b.want("finished")
			b.noErrors()

			// Again, cancelled on the new node this time.
			a2 := startChildRig(t, rigOptions{node: "A", store: store, restore: mode.restore})
			a2.e.Close()
			c := newChildEngine(t, rigOptions{node: "C", store: store, restore: mode.restore})
			if c.s, err = c.e.Resume(c.ctx, a2.s.ID(), c.doc); err != nil {
				t.Fatal(err)
			}
			c.kid = a2.kid
			c.send("hangup")
			c.saw("cancel " + a2.kid + " ask")
			c.noErrors()
		})
	}
}

// A child is addressed by its session id from everywhere the engine
// delivers events by id: Engine.Send and #_scxml_<id> from another
// session; not by Engine.Session, whose handles are top-level sessions.
func TestChildAddressing(t *testing.T) {
	r := startChildRig(t, rigOptions{})
	other, err := r.e.Start(r.ctx, mustParse(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript">
  <state id="idle"><transition event="go"><send targetexpr="'#_scxml_' + _event.data" event="hangup"/></transition></state>
</scxml>`), engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Send(r.ctx, engine.Event{Name: "go", Data: r.kid}); err != nil {
		t.Fatal(err)
	}
	r.settle()
	r.saw("cancel " + r.kid + " ask") // the child left "call"
	r.noErrors()
	if _, err := r.e.Session(r.kid); !errors.Is(err, engine.ErrNoSession) {
		t.Fatalf("Session(child): %v", err)
	}
	for _, id := range []string{"", ".", "..", r.s.ID() + ".", r.s.ID() + ".kid.", r.s.ID() + ".nope", ".kid"} {
		if err := r.e.Send(r.ctx, id, engine.Event{Name: "x"}); !errors.Is(err, engine.ErrNoSession) {
			t.Errorf("Send to %q: %v", id, err)
		}
		if err := r.e.PostInvoke(id, "ask", engine.Event{Name: "x"}); !errors.Is(err, engine.ErrNoSession) {
			t.Errorf("PostInvoke to %q: %v", id, err)
		}
		if err := r.e.Publish("svc", id, engine.Event{Name: "svc.x"}); !errors.Is(err, engine.ErrNoSession) {
			t.Errorf("Publish to %q: %v", id, err)
		}
	}
}

// 3: an Invoker that answers from inside Invoke reaches a child created
// in the same macrostep, before it ran any action, at any depth (here a
// grandchild, whose id is <parent>.kid.gk), and Publish reaches the
// grandchild too.
func TestChildNested(t *testing.T) {
	const doc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="run">
  <state id="run">
    <invoke id="kid"><content>
      <scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="k">
        <state id="k">
          <invoke id="gk"><content>
            <scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:svc="urn:test:svc" datamodel="ecmascript" initial="g">
              <datamodel><data id="agent" expr="''"/></datamodel>
              <state id="g">
                <invoke id="ask" type="svc-call">
                  <param name="q" expr="'now'"/>
                  <finalize><assign location="agent" expr="_event.data &amp;&amp; _event.data.agent || agent"/></finalize>
                </invoke>
                <transition event="done.invoke.ask" target="h"/>
              </state>
              <state id="h"><onentry><svc:note/></onentry><transition event="svc.pushed" target="end"/></state>
              <final id="end"><donedata><param name="agent" expr="agent"/><param name="host" expr="_genesys.svc.session"/></donedata></final>
            </scxml>
          </content></invoke>
          <transition event="done.invoke.gk" target="kend"><send target="#_parent" event="gk.done"><param name="agent" expr="_event.data.agent"/><param name="host" expr="_event.data.host"/></send></transition>
        </state>
        <final id="kend"/>
      </scxml>
    </content></invoke>
    <transition event="gk.done" cond="_event.data.agent == '7002' &amp;&amp; _event.data.host == _sessionid + '.kid.gk'" target="pass"/>
    <transition event="gk.done" target="fail"/>
  </state>
  <state id="pass"/>
  <state id="fail"/>
</scxml>`
	for _, mode := range childModes {
		t.Run(mode.name, func(t *testing.T) {
			r := newChildEngine(t, rigOptions{store: persist.NewMemory(persist.MemoryOptions{}), restore: mode.restore})
			d, err := scxml.Parse([]byte(doc), r.e.ParseOptions("nested.scxml"))
			if err != nil {
				t.Fatal(err)
			}
			if r.s, err = r.e.Start(r.ctx, d, engine.StartOptions{}); err != nil {
				t.Fatal(err)
			}
			r.settle()
			gk := r.s.ID() + ".kid.gk"
			r.saw("invoke "+gk+" ask now", "note "+gk)
			r.want("run")
			if err := r.e.Publish("svc", r.s.ID()+".kid", engine.Event{Name: "svc.pushed"}); !errors.Is(err, engine.ErrNotSubscribed) {
				t.Fatalf("publish to the child that ran no action: %v", err)
			}
			if err := r.e.Publish("svc", gk, engine.Event{Name: "svc.pushed"}); err != nil {
				t.Fatal(err)
			}
			r.settle()
			r.want("pass")
			r.saw() // answered with done.invoke: nothing to cancel
			r.noErrors()
		})
	}
}

// 4: a child that ended leaves no subscription behind, even when a new
// child with the same id (the invoking state re-entered in one
// macrostep) takes its place and has not subscribed.
func TestChildReinvoked(t *testing.T) {
	const doc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="run">
  <state id="run">
    <invoke id="kid"><content>
      <scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:svc="urn:test:svc" datamodel="ecmascript" initial="idle">
        <state id="idle">
          <transition event="sub" target="subscribed"><svc:note/></transition>
        </state>
        <state id="subscribed"><transition event="svc.pushed" target="idle"/></state>
      </scxml>
    </content></invoke>
    <transition event="restart" target="run"/>
  </state>
</scxml>`
	for _, mode := range childModes {
		t.Run(mode.name, func(t *testing.T) {
			r := newChildEngine(t, rigOptions{restore: mode.restore})
			d, err := scxml.Parse([]byte(doc), r.e.ParseOptions("reinvoked.scxml"))
			if err != nil {
				t.Fatal(err)
			}
			if r.s, err = r.e.Start(r.ctx, d, engine.StartOptions{}); err != nil {
				t.Fatal(err)
			}
			kid := r.s.ID() + ".kid"
			if err := r.e.Send(r.ctx, kid, engine.Event{Name: "sub"}); err != nil {
				t.Fatal(err)
			}
			r.saw("note " + kid)
			if err := r.e.Publish("svc", kid, engine.Event{Name: "svc.nothing"}); err != nil {
				t.Fatalf("publish to the subscribed child: %v", err)
			}
			r.send("restart")
			err = r.e.Publish("svc", kid, engine.Event{Name: "svc.nothing"})
			if !errors.Is(err, engine.ErrNotSubscribed) {
				t.Fatalf("publish to the new child of the same id: %v, want ErrNotSubscribed", err)
			}
			if n, _ := r.e.Broadcast("svc", engine.Event{Name: "svc.nothing"}); n != 0 {
				t.Fatalf("broadcast reached %d sessions", n)
			}
			r.noErrors()
		})
	}
}
