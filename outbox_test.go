package engine_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
)

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

const pongDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="idle">
  <state id="idle">
    <transition event="ping"><send targetexpr="'#_scxml_' + _event.data.from" event="pong"/></transition>
  </state>
</scxml>`

const callbackDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="a">
  <state id="a">
    <onentry><log label="entered" expr="'a'"/><assign location="nosuch.x" expr="1"/></onentry>
    <transition event="pong" target="b"/>
  </state>
  <state id="b">
    <invoke type="caller"/>
    <transition event="answer" target="c"/>
  </state>
  <state id="c">
    <transition event="posted" target="done"/>
  </state>
  <final id="done"/>
</scxml>`

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
	if _, err := e.Start(ctx, mustParse(t, pongDoc), engine.StartOptions{ID: "ponger", Type: engine.Chat}); err != nil {
		t.Fatal(err)
	}
	done := make(chan *engine.Session, 1)
	go func() {
		s, err := e.Start(ctx, mustParse(t, callbackDoc), engine.StartOptions{ID: "caller", Type: engine.Chat})
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
