package queue_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/queue"
	"github.com/orsgo/engine/scxml"
)

const doc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" xmlns:q="urn:orsgo:queue" datamodel="ecmascript" initial="q">
  <datamodel><data id="agent" expr="''"/><data id="g" expr="'Sales'"/></datamodel>
  <state id="q">
    <onentry><q:submit group="g"/></onentry>
    <transition event="queue.routed" target="talk"><assign location="agent" expr="_event.data.agent"/></transition>
    <transition event="leave" target="left"><q:cancel/></transition>
  </state>
  <state id="talk"><transition event="hangup" target="end"/></state>
  <state id="left"/>
  <final id="end"/>
</scxml>`

func start(t *testing.T, e *engine.Engine, d *scxml.Document) *engine.Session {
	t.Helper()
	s, err := e.Start(context.Background(), d, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Calls wait first come, first served; agents are given longest ready
// first; a cancelled call leaves the queue.
func TestACD(t *testing.T) {
	ctx := context.Background()
	acd := queue.New(map[string][]string{"Sales": {"a1"}})
	e, err := engine.New(engine.Options{Extensions: []*engine.Extension{acd.Extension()}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	d, err := scxml.Parse([]byte(doc), e.ParseOptions("q.scxml"))
	if err != nil {
		t.Fatal(err)
	}
	s1, s2, s3 := start(t, e, d), start(t, e, d), start(t, e, d)
	_ = e.Quiesce(ctx)
	cfg := func() string {
		return fmt.Sprint(s1.Configuration(), s2.Configuration(), s3.Configuration())
	}
	if got := cfg(); got != "[talk] [q] [q]" {
		t.Fatalf("after three calls with one agent: %s", got)
	}
	if err := s2.Send(ctx, engine.Event{Name: "leave"}); err != nil {
		t.Fatal(err)
	}
	if err := acd.Ready("Sales", "a2"); err != nil {
		t.Fatal(err)
	}
	_ = e.Quiesce(ctx)
	if got := cfg(); got != "[talk] [left] [talk]" {
		t.Fatalf("after s2 left and a2 became ready: %s", got)
	}
	if err := acd.Ready("Nope", "a3"); !errors.Is(err, queue.ErrUnknownGroup) {
		t.Fatalf("Ready in an unknown group: %v", err)
	}
	if _, err := engine.New(engine.Options{Extensions: []*engine.Extension{acd.Extension()}}); err == nil {
		t.Fatal("one ACD served two engines")
	}
}

// An unknown group fails the action: error.execution, with the position.
func TestUnknownGroup(t *testing.T) {
	acd := queue.New(nil)
	var causes []string
	e, err := engine.New(engine.Options{Extensions: []*engine.Extension{acd.Extension()},
		OnError: func(_ string, _ *engine.Event, cause error) { causes = append(causes, cause.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	d, err := scxml.Parse([]byte(doc), e.ParseOptions("q.scxml"))
	if err != nil {
		t.Fatal(err)
	}
	start(t, e, d)
	if len(causes) != 1 || !strings.Contains(causes[0], "q.scxml:4:14: <submit>") || !strings.Contains(causes[0], "unknown group") {
		t.Fatalf("causes %q", causes)
	}
}
