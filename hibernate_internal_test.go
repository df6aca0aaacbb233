package engine

import (
	"context"
	"testing"
	"time"

	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

// The sweep goes through the awake sessions only (Engine.hib.awake), and
// through every session, for the records to refresh, only once one may
// be half its time to live old (or TTL/4 after the last time): a node's
// million hibernated sessions cost a sweep nothing. The records are
// refreshed all the same.
func TestSweepAwakeOnly(t *testing.T) {
	const (
		n     = 20
		after = 10 * time.Second
		ttl   = time.Hour
	)
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	clock := NewManualClock(start)
	store := persist.NewMemory(persist.MemoryOptions{Now: clock.Now, TTL: ttl})
	e, err := New(Options{Clock: clock, Store: store, HibernateAfter: after})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc, err := scxml.ParseFile("fixtures/testdata/routing/voice_routing.scxml", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ss := make([]*Session, n)
	for i := range ss {
		if ss[i], err = e.Start(ctx, doc, StartOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	awake := func() int {
		e.mu.Lock()
		defer e.mu.Unlock()
		return len(e.hib.awake)
	}
	full := func() time.Duration {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.hib.full.Sub(start)
	}
	if got := awake(); got != n {
		t.Fatalf("%d sessions in the awake set, want %d", got, n)
	}
	clock.Advance(after)
	if e.Hibernated() != n || awake() != 0 {
		t.Fatalf("after %v: %d hibernated, %d in the awake set; want %d, 0", after, e.Hibernated(), awake(), n)
	}
	// Sessions hibernated in the same configuration share it.
	if ss[0].hibCfg == nil || ss[0].hibCfg != ss[n-1].hibCfg || len(*ss[0].hibCfg) != 1 || (*ss[0].hibCfg)[0] != "waiting" {
		t.Fatalf("hibernated configurations %p %v, %p: want one shared [waiting]", ss[0].hibCfg, ss[0].hibCfg, ss[n-1].hibCfg)
	}
	// A woken session joins the set, and leaves it hibernated again. The
	// first sweep with hibernated sessions went through all of them.
	if err := ss[3].Send(ctx, Event{Name: "call.released"}); err != nil {
		t.Fatal(err)
	}
	if err := ss[5].Send(ctx, Event{Name: "lookup.none"}); err != nil {
		t.Fatal(err)
	}
	// Both woke; the ended one leaves the set at the next sweep.
	if got := awake(); got != 2 {
		t.Fatalf("%d sessions in the awake set after two wakes, want 2", got)
	}
	clock.Advance(after)
	if e.Hibernated() != n-1 || awake() != 0 || ss[5].Hibernated() == false {
		t.Fatalf("%d hibernated, %d in the awake set", e.Hibernated(), awake())
	}
	first := full()
	if first != 2*after {
		t.Fatalf("first scan of every session at %v, want %v", first, 2*after)
	}
	// Sweeps run every 10s while sessions are hibernated; none goes
	// through them all again until a record is TTL/4 (15m) older.
	clock.Advance(10 * time.Minute)
	if got := full(); got != first {
		t.Fatalf("a sweep went through every session at %v, with no record to refresh", got)
	}
	// Hours later, every record was refreshed in time: each session
	// wakes from it.
	clock.Advance(3 * time.Hour)
	if got := full(); got <= first {
		t.Fatalf("no sweep went through the sessions to refresh their records (last at %v)", got)
	}
	for i, s := range ss {
		if i == 3 {
			continue // ended
		}
		if err := s.Send(ctx, Event{Name: "lookup.none"}); err != nil {
			t.Fatalf("session %d after 3h: %v", i, err)
		}
	}
}
