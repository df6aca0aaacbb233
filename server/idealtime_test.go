package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/persist"
)

// TestIdealtime: a start request with idealtime (ms since the epoch)
// starts its session at that time on the engine's clock, and answers
// then, after the first checkpoint; one in the past starts at once; one
// beyond [node] idealtime-horizon is refused; one still waiting when the
// node stops answers 503 and starts nothing.
func TestIdealtime(t *testing.T) {
	clk := engine.NewManualClock(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	st := persist.NewMemory(persist.MemoryOptions{})
	cfg := config.Defaults()
	cfg.Node, cfg.SessionIDWithNodeID = "n1", true
	n := config.NodeDefaults()
	n.Documents = []string{"testdata"}
	n.IdealHorizon = 10 * time.Second
	s, err := New(context.Background(), Options{Config: cfg, Node: n, Store: st, Engine: engine.Options{Clock: clk}, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	startAt := func(at time.Time) <-chan answer {
		got := make(chan answer, 1)
		go func() {
			got <- call(t, hs, "POST", "/scxml/session/start", form, fmt.Sprintf("src=routing&caller=ideal&idealtime=%d", at.UnixMilli()))
		}()
		return got
	}
	// waitHeld waits until the request is held: its timer, the clock's
	// earliest, is due at idealtime.
	waitHeld := func(at time.Time) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			if due, ok := clk.Next(); ok && due.Equal(at) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the start was not held for its idealtime")
			}
		}
	}

	at := clk.Now().Add(5 * time.Second)
	got := startAt(at)
	waitHeld(at)
	clk.Advance(4 * time.Second)
	select {
	case a := <-got:
		t.Fatalf("answered 1s before idealtime: %d %s", a.status, a.raw)
	case <-time.After(200 * time.Millisecond):
	}
	if n := s.Engine().Len(); n != 0 {
		t.Fatalf("%d sessions before idealtime", n)
	}
	clk.Advance(time.Second)
	a := <-got
	if a.status != 200 {
		t.Fatalf("start at idealtime: %d %s", a.status, a.raw)
	}
	id := a.body["sessionid"].(string)
	rec, err := st.Load(context.Background(), id)
	if err != nil || rec.Seq != 1 || !rec.Created.Equal(clk.Now()) {
		t.Fatalf("record after the start at idealtime: %+v %v (clock %v)", rec, err, clk.Now())
	}

	// In the past: at once.
	if a := <-startAt(clk.Now().Add(-time.Hour)); a.status != 200 {
		t.Fatalf("start with a past idealtime: %d %s", a.status, a.raw)
	}
	// Beyond the horizon: 400 naming the option, nothing started.
	before := s.Engine().Len()
	a = <-startAt(clk.Now().Add(11 * time.Second))
	if a.status != 400 || !strings.Contains(a.raw, "[node] idealtime-horizon 10s") {
		t.Fatalf("idealtime beyond the horizon: %d %s", a.status, a.raw)
	}
	// Still waiting when the node stops: 503, nothing started.
	at = clk.Now().Add(5 * time.Second)
	got = startAt(at)
	waitHeld(at)
	s.stop()
	a = <-got
	if a.status != 503 || !strings.Contains(a.raw, "no session was started") {
		t.Fatalf("held start when the node stops: %d %s", a.status, a.raw)
	}
	if n := s.Engine().Len(); n != before {
		t.Fatalf("%d sessions, want %d", n, before)
	}
}
