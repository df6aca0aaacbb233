package engine_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/scxml"
)

// timedDoc ends when its delayed send falls due.
const timedDoc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" version="1.0" initial="wait">
  <state id="wait">
    <onentry><send event="go" delay="%s"/></onentry>
    <transition event="go" target="done"/>
  </state>
  <final id="done"/>
</scxml>`

// Sessions whose delayed sends fall due at the same time are processed
// in the order their timers were armed, each at its due time, from the
// ManualClock's Advance: the engine's one heap of timers keeps what a
// timer per session did.
func TestTimersManualOrder(t *testing.T) {
	clock := engine.NewManualClock(t0)
	var mu sync.Mutex
	var ended []string
	e, err := engine.New(engine.Options{Clock: clock, Observer: &engine.Observer{Session: func(ev engine.SessionEvent) {
		if ev.Kind == engine.SessionEnded {
			mu.Lock()
			ended = append(ended, fmt.Sprintf("%s@%v", ev.SessionID, clock.Now().Sub(t0)))
			mu.Unlock()
		}
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	docs := map[string]*scxml.Document{"2s": mustParse(t, fmt.Sprintf(timedDoc, "2s")), "1s": mustParse(t, fmt.Sprintf(timedDoc, "1s"))}
	for i, d := range []string{"2s", "1s", "2s", "1s", "1s", "2s"} {
		if _, err := e.Start(ctx, docs[d], engine.StartOptions{ID: fmt.Sprintf("s%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if next, ok := clock.Next(); !ok || next.Sub(t0) != time.Second {
		t.Fatalf("clock's next timer at %v (%v), want 1s", next.Sub(t0), ok)
	}
	clock.Advance(3 * time.Second)
	want := []string{"s1@1s", "s3@1s", "s4@1s", "s0@2s", "s2@2s", "s5@2s"}
	if !slices.Equal(ended, want) {
		t.Fatalf("ended %q, want %q", ended, want)
	}
	if e.Len() != 0 {
		t.Fatalf("%d sessions still run", e.Len())
	}
	if next, ok := clock.Next(); ok {
		t.Fatalf("a timer is still armed for %v", next.Sub(t0))
	}
}

// With the real clock, each due session is processed in a goroutine of
// its own, and all of them are.
func TestTimersRealClock(t *testing.T) {
	e, err := engine.New(engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	doc := mustParse(t, fmt.Sprintf(timedDoc, "20ms"))
	var ss []*engine.Session
	for range 50 {
		s, err := e.Start(ctx, doc, engine.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	for i, s := range ss {
		select {
		case <-s.Done():
		case <-time.After(30 * time.Second):
			t.Fatalf("session %d did not end: its timer never fired", i)
		}
		if s.Final() != "done" {
			t.Fatalf("session %d ended in %q", i, s.Final())
		}
	}
}
