package recovery_test

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
	"github.com/orsgo/engine/interp/snapshot"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/recovery"
)

// queueEvent rewrites the record of session id, node A's, as if its
// snapshot had been taken with ev in its external queue.
func queueEvent(t *testing.T, st persist.Store, id string, ev interp.Event) {
	t.Helper()
	ctx := context.Background()
	rec, err := st.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := snapshot.Decode(id, rec.Data)
	if err != nil {
		t.Fatal(err)
	}
	snap.External = append(snap.External, ev)
	if rec.Data, err = snapshot.Encode(snap); err != nil {
		t.Fatal(err)
	}
	rec.Seq++
	if err := st.Save(ctx, rec); err != nil {
		t.Fatal(err)
	}
}

// TestRecoverHibernated: eager Recover takes sessions over hibernated,
// without building them, and each then behaves as a resumed one: its
// delayed send fires on time (not before), in due order with the
// others, from the record B wrote (node B, Seq one more than A's); an
// event wakes it and is applied once; a send that fell due during the
// outage fires at once, during Recover; an event waiting in a snapshot's
// queue is processed at once. A second Recover finds nothing.
func TestRecoverHibernated(t *testing.T) {
	stores(t, func(t *testing.T, newStore func() persist.Store) {
		ctx := context.Background()
		clock := engine.NewManualClock(t0)
		doc := parse(t, timers)
		st := newStore()
		a := newEngine(t, "A", clock, st)
		const n = 6
		ids := make([]string, n)
		for i := range n {
			s, err := a.Start(ctx, doc, engine.StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Session i's send falls due at t0 + (i+1) s; session 5's
			// at t0 + 10 s.
			v := i
			if i == 5 {
				v = 9
			}
			if err := s.Send(ctx, engine.Event{Name: "set", Data: v}); err != nil {
				t.Fatal(err)
			}
			ids[i] = s.ID()
		}
		a.Close() // A fails
		queueEvent(t, st, ids[5], interp.Event{Name: "bump", Type: interp.External})
		seqs := make([]uint64, n)
		for i, id := range ids {
			rec, err := st.Load(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			seqs[i] = rec.Seq
		}

		clock.Advance(1500 * time.Millisecond) // session 0's send falls due meanwhile
		var mu sync.Mutex
		var fired []int
		b, err := engine.New(engine.Options{Node: "B", Clock: clock, Store: newStore(), Log: func(id, label string, v any) {
			if label == "fire" {
				mu.Lock()
				fired = append(fired, int(v.(int64)))
				mu.Unlock()
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		firedNow := func() []int {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(fired)
		}
		rep, err := recovery.Recover(ctx, b, "A", recovery.Options{Documents: recovery.NewLibrary(doc)})
		if err != nil || rep.Err() != nil {
			t.Fatalf("recover: %v, %v", err, rep.Err())
		}
		// Sessions 1..4 are taken over hibernated; 0 (overdue) and 5 (an
		// event queued) are built and run at once.
		if rep.Listed != n || rep.Resumed != n || rep.Hibernated != 4 || rep.Ended != 0 {
			t.Fatalf("report: %+v", rep)
		}
		if got := firedNow(); !slices.Equal(got, []int{0}) {
			t.Fatalf("fired during Recover: %v, want the overdue session's only", got)
		}
		ss := make([]*engine.Session, n)
		for i, id := range ids {
			if ss[i], err = b.Session(id); err != nil {
				t.Fatal(err)
			}
			if hib := ss[i].Hibernated(); hib != (i >= 1 && i <= 4) {
				t.Fatalf("session %d hibernated: %v", i, hib)
			}
			rec, err := st.Load(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Node != "B" || rec.Seq != seqs[i]+1 {
				t.Fatalf("session %d: record of node %s seq %d, want B's, seq %d", i, rec.Node, rec.Seq, seqs[i]+1)
			}
		}
		state, err := ss[5].State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := state.Data["got"]; got != int64(1) && got != float64(1) {
			t.Fatalf("queued event: got = %v (%T), want 1", got, got)
		}
		if ids, err := st.ListNode(ctx, "A"); err != nil || len(ids) != 0 {
			t.Fatalf("A still lists %v, %v", ids, err)
		}
		if listed, err := st.ListNode(ctx, "B"); err != nil || len(listed) != n {
			t.Fatalf("B lists %v, %v", listed, err)
		}

		// Nothing fires before it is due.
		clock.AdvanceTo(t0.Add(1999 * time.Millisecond))
		if got := firedNow(); !slices.Equal(got, []int{0}) || !ss[1].Hibernated() {
			t.Fatalf("at t0+1.999s: fired %v, session 1 hibernated %v", got, ss[1].Hibernated())
		}
		// An event wakes session 4 and is applied once; its checkpoint
		// follows B's.
		if err := b.Send(ctx, ids[4], engine.Event{Name: "bump"}); err != nil {
			t.Fatal(err)
		}
		if ss[4].Hibernated() {
			t.Fatal("session 4 still hibernated after an event")
		}
		if rec, err := st.Load(ctx, ids[4]); err != nil || rec.Node != "B" || rec.Seq != seqs[4]+2 {
			t.Fatalf("session 4 after an event: %+v, %v", rec, err)
		}
		if state, err := ss[4].State(ctx); err != nil || (state.Data["got"] != int64(1) && state.Data["got"] != float64(1)) {
			t.Fatalf("session 4 after an event: %+v, %v", state.Data, err)
		}
		// Then each fires at its due time, in order.
		for i := 1; i <= 4; i++ {
			clock.AdvanceTo(t0.Add(time.Duration(i+1) * time.Second))
			want := []int{0, 1, 2, 3, 4}[:i+1]
			if got := firedNow(); !slices.Equal(got, want) {
				t.Fatalf("at t0+%ds: fired %v, want %v", i+1, got, want)
			}
		}
		clock.AdvanceTo(t0.Add(10 * time.Second))
		if got := firedNow(); !slices.Equal(got, []int{0, 1, 2, 3, 4, 9}) {
			t.Fatalf("at t0+10s: fired %v", got)
		}
		for i, s := range ss {
			if cfg := strings.Join(s.Configuration(), ","); cfg != "fired" {
				t.Fatalf("session %d in %s", i, cfg)
			}
		}
		// Idempotent: A has nothing left.
		if rep, err := recovery.Recover(ctx, b, "A", recovery.Options{Documents: recovery.NewLibrary(doc)}); err != nil || rep.Listed != 0 {
			t.Fatalf("second recover: %+v, %v", rep, err)
		}
	})
}

// racing is a store on which node C takes session steal over, and the
// store loses its answer for session lost, while B moves them.
type racing struct {
	*persist.MemoryStore
	steal, lost string
}

func (r *racing) MoveMany(ctx context.Context, moves []persist.Move) []error {
	var keep []persist.Move
	var at []int
	errs := make([]error, len(moves))
	for i, mv := range moves {
		switch mv.Record.SessionID {
		case r.steal:
			rec, err := r.Load(ctx, r.steal)
			if err != nil {
				panic(err)
			}
			rec.Node = "C" // at the same Seq: only its owner changed
			if err := r.Save(ctx, rec); err != nil {
				panic(err)
			}
		case r.lost:
			errs[i] = errors.New("connection reset")
			continue
		}
		keep, at = append(keep, mv), append(at, i)
	}
	for j, err := range r.MemoryStore.MoveMany(ctx, keep) {
		errs[at[j]] = err
	}
	return errs
}

// TestRecoverRace: a session another node took between B's load and B's
// move is not taken (reported, persist.ErrMoved; it stays C's alone); a
// session whose move's outcome is unknown is resumed the built way,
// which writes it under B.
func TestRecoverRace(t *testing.T) {
	ctx := context.Background()
	clock := engine.NewManualClock(t0)
	qdoc := parse(t, queue)
	mem := persist.NewMemory(persist.MemoryOptions{})
	a := newEngine(t, "A", clock, mem)
	var ids []string
	for range 4 {
		s, err := a.Start(ctx, qdoc, engine.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID())
	}
	a.Close()
	st := &racing{MemoryStore: mem, steal: ids[1], lost: ids[2]}
	b := newEngine(t, "B", clock, st)
	rep, err := recovery.Recover(ctx, b, "A", recovery.Options{Documents: recovery.NewLibrary(qdoc)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resumed != 3 || rep.Hibernated != 2 || len(rep.Failed) != 1 || !errors.Is(rep.Failed[ids[1]], persist.ErrMoved) {
		t.Fatalf("report %+v", rep)
	}
	if _, err := b.Session(ids[1]); !errors.Is(err, engine.ErrNoSession) {
		t.Fatalf("B runs the session C took: %v", err)
	}
	if rec, err := mem.Load(ctx, ids[1]); err != nil || rec.Node != "C" {
		t.Fatalf("stolen session's record: %+v, %v", rec, err)
	}
	s, err := b.Session(ids[2])
	if err != nil || s.Hibernated() {
		t.Fatalf("session whose move was lost: %v, hibernated %v", err, s != nil && s.Hibernated())
	}
	for _, id := range []string{ids[0], ids[2], ids[3]} {
		if rec, err := mem.Load(ctx, id); err != nil || rec.Node != "B" {
			t.Fatalf("session %s: record %+v, %v", id, rec, err)
		}
	}
	if listed, _ := mem.ListNode(ctx, "A"); len(listed) != 0 {
		t.Fatalf("A still lists %v", listed)
	}
}

// TestRecoverBuild: Options.Build restores every session at once, as
// before: none is hibernated, and each record is B's.
func TestRecoverBuild(t *testing.T) {
	ctx := context.Background()
	clock := engine.NewManualClock(t0)
	qdoc := parse(t, queue)
	st := persist.NewMemory(persist.MemoryOptions{})
	a := newEngine(t, "A", clock, st)
	var ids []string
	for range 5 {
		s, err := a.Start(ctx, qdoc, engine.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID())
	}
	a.Close()
	b := newEngine(t, "B", clock, st)
	rep, err := recovery.Recover(ctx, b, "A", recovery.Options{Documents: recovery.NewLibrary(qdoc), Build: true})
	if err != nil || rep.Resumed != 5 || rep.Hibernated != 0 || rep.Err() != nil {
		t.Fatalf("recover: %+v, %v", rep, err)
	}
	for _, id := range ids {
		s, err := b.Session(id)
		if err != nil || s.Hibernated() {
			t.Fatalf("session %s: %v, hibernated %v", id, err, s != nil && s.Hibernated())
		}
		if rec, err := st.Load(ctx, id); err != nil || rec.Node != "B" {
			t.Fatalf("session %s: record %+v, %v", id, rec, err)
		}
	}
}

// TestRecoverHibernatedKeptAlive: with HibernateAfter, the hibernation
// sweep keeps the records of sessions taken over hibernated alive beyond
// the store's time to live, as it does for sessions that hibernated by
// themselves: their queue timeout, due after two TTLs, wakes them.
func TestRecoverHibernatedKeptAlive(t *testing.T) {
	// Without HibernateAfter too: the sweep then runs for the sessions
	// installed hibernated only, refreshing their records.
	for _, after := range []time.Duration{time.Second, 0} {
		t.Run(fmt.Sprintf("HibernateAfter=%v", after), func(t *testing.T) { testRecoverHibernatedKeptAlive(t, after) })
	}
}

func testRecoverHibernatedKeptAlive(t *testing.T, after time.Duration) {
	ctx := context.Background()
	clock := engine.NewManualClock(t0)
	st := persist.NewMemory(persist.MemoryOptions{TTL: 12 * time.Second, Now: clock.Now})
	qdoc := parse(t, queue) // a 30 s queue timeout
	a := newEngine(t, "A", clock, st)
	var ids []string
	for range 3 {
		s, err := a.Start(ctx, qdoc, engine.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Send(ctx, engine.Event{Name: "target.failed"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Send(ctx, engine.Event{Name: "target.failed"}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID())
	}
	a.Close()
	clock.Advance(time.Second)
	var storeErrs []error
	b, err := engine.New(engine.Options{Node: "B", Clock: clock, Store: st, HibernateAfter: after,
		OnStoreError: func(_ string, err error) { storeErrs = append(storeErrs, err) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	rep, err := recovery.Recover(ctx, b, "A", recovery.Options{Documents: recovery.NewLibrary(qdoc)})
	if err != nil || rep.Hibernated != 3 {
		t.Fatalf("recover: %+v, %v", rep, err)
	}
	for range 30 { // to t0+31s
		clock.Advance(time.Second)
	}
	if len(storeErrs) > 0 {
		t.Fatalf("store errors: %v", storeErrs)
	}
	for _, id := range ids {
		s, err := b.Session(id)
		if err != nil {
			t.Fatalf("session %s: %v", id, err)
		}
		// Two retries: the timeout sends the call to voicemail.
		if cfg := config(t, s); cfg != "voicemail" || s.Err() != nil {
			t.Fatalf("session %s in %q, err %v", id, cfg, s.Err())
		}
	}
}
