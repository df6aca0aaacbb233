package engine_test

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
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

// Sessions that ended leave the watchdog's set: after 10,000 sessions
// started and ended (half reaching a final state, half cancelled), every
// session handle can be collected, and a script started afterwards is
// still interrupted.
func TestWatchdogDropsEndedSessions(t *testing.T) {
	doc, err := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="null">
  <state id="s"><transition event="go" target="f"/></state>
  <final id="f"/>
</scxml>`), nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(engine.Options{ScriptBudget: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := context.Background()
	const n = 10000
	var collected atomic.Int64
	for i := range n {
		s, err := eng.Start(ctx, doc, engine.StartOptions{Type: engine.Chat})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			err = s.Send(ctx, engine.Event{Name: "go"})
		} else {
			err = s.Cancel()
		}
		if err != nil {
			t.Fatal(err)
		}
		if s.Running() {
			t.Fatalf("session %d still runs", i)
		}
		runtime.AddCleanup(s, func(c *atomic.Int64) { c.Add(1) }, &collected)
	}
	if got := eng.Len(); got != 0 {
		t.Fatalf("%d sessions still run", got)
	}
	// Let the watchdog tick over the ended sessions, then collect them.
	time.Sleep(60 * time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for collected.Load() < n && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := collected.Load(); got < n {
		t.Fatalf("%d of %d ended sessions were not collected: something, the watchdog's set included, still holds them", n-got, n)
	}

	loop, err := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript">
  <state id="s">
    <onentry><script>while (true) {}</script></onentry>
    <transition event="error.execution" target="recovered"/>
  </state>
  <state id="recovered"/>
</scxml>`), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := eng.Start(ctx, loop, engine.StartOptions{Type: engine.Chat})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Configuration(); len(got) != 1 || got[0] != "recovered" {
		t.Fatalf("configuration %v", got)
	}
}
