package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

// A script that never ends is interrupted after ScriptBudget and becomes
// error.execution; the session goes on and the node is not stuck.
func TestScriptBudget(t *testing.T) {
	doc, err := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript">
  <state id="s">
    <onentry><script>while (true) {}</script></onentry>
    <transition event="error.execution" target="recovered"/>
  </state>
  <state id="recovered"/>
</scxml>`), nil)
	if err != nil {
		t.Fatal(err)
	}
	var causes []string
	eng, err := engine.New(engine.Options{ScriptBudget: 100 * time.Millisecond,
		OnError: func(_ string, ev *engine.Event, cause error) { causes = append(causes, cause.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	s, err := eng.Start(context.Background(), doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Configuration(); len(got) != 1 || got[0] != "recovered" {
		t.Fatalf("configuration %v, causes %q", got, causes)
	}
	if len(causes) == 0 {
		t.Fatal("no cause reported for the interrupted script")
	}
}

// A document that keeps sending itself events without delay fails the
// call with ErrLivelock instead of holding it (and the session) forever.
func TestSelfSendLoopEnds(t *testing.T) {
	doc, err := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript">
  <state id="s"><onentry><send event="again"/></onentry><transition event="again" target="s"/></state>
</scxml>`), nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	s, err := eng.Start(context.Background(), doc, engine.StartOptions{})
	if !errors.Is(err, interp.ErrLivelock) {
		t.Fatalf("Start returned %v, want ErrLivelock", err)
	}
	if got := s.Configuration(); len(got) != 1 || got[0] != "s" {
		t.Fatalf("configuration %v", got)
	}
}
