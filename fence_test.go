package engine_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

// flakyDeletes is a MemoryStore whose Deletes fail while down is set.
type flakyDeletes struct {
	*persist.MemoryStore
	down    atomic.Bool
	deletes atomic.Int64 // attempts
}

var errStoreDown = errors.New("store unreachable")

func (f *flakyDeletes) Delete(ctx context.Context, w persist.Writer, id string) error {
	f.deletes.Add(1)
	if f.down.Load() {
		return errStoreDown
	}
	return f.MemoryStore.Delete(ctx, w, id)
}

// TestDefect5LostDeletion is issue 12's defect 5: a call that hung up
// while the store could not delete its record. The engine reports it,
// Session.Checkpoint says so instead of returning nil, and the deletion
// is retried until it lands, so that no backup resumes the call.
func TestDefect5LostDeletion(t *testing.T) {
	ctx := context.Background()
	clock := engine.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	st := &flakyDeletes{MemoryStore: persist.NewMemory(persist.MemoryOptions{})}
	var reported atomic.Int64
	e, err := engine.New(engine.Options{Node: "A", Clock: clock, Store: st, OnStoreError: func(id string, err error) {
		if errors.Is(err, errStoreDown) {
			reported.Add(1)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc, err := scxml.Parse([]byte(routing), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.Send(ctx, engine.Event{Name: "target.failed"}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(30 * time.Second) // to voicemail
	st.down.Store(true)
	err = s.Send(ctx, engine.Event{Name: "hangup"})
	if !errors.Is(err, engine.ErrCheckpoint) || !errors.Is(err, errStoreDown) {
		t.Fatalf("hang-up with the store down: %v, want ErrCheckpoint", err)
	}
	if s.Running() {
		t.Fatal("the call still runs after its hang-up")
	}
	if _, err := st.Load(ctx, s.ID()); err != nil {
		t.Fatalf("record: %v (the deletion failed: it must still be there)", err)
	}
	if err := s.Checkpoint(ctx); !errors.Is(err, errStoreDown) {
		t.Fatalf("Checkpoint of the ended session with its record left: %v, want the store's error", err)
	}
	if e.Undeleted() != 1 {
		t.Fatalf("Undeleted = %d, want 1", e.Undeleted())
	}
	// The engine retries on its own, reporting each failure.
	n := st.deletes.Load()
	clock.Advance(3 * time.Second)
	if st.deletes.Load() < n+3 || reported.Load() < 4 {
		t.Fatalf("after 3 s: %d delete attempts (was %d), %d reported", st.deletes.Load(), n, reported.Load())
	}
	st.down.Store(false)
	clock.Advance(time.Second)
	if _, err := st.Load(ctx, s.ID()); !errors.Is(err, persist.ErrNotFound) {
		t.Fatalf("record after the store came back: %v, want deleted", err)
	}
	if ids, _ := st.ListNode(ctx, "A"); len(ids) != 0 {
		t.Fatalf("A lists %v", ids)
	}
	if e.Undeleted() != 0 {
		t.Fatalf("Undeleted = %d after the deletion landed", e.Undeleted())
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatalf("Checkpoint after the deletion landed: %v", err)
	}
	n = st.deletes.Load()
	clock.Advance(5 * time.Second)
	if st.deletes.Load() != n {
		t.Fatal("deletion retried after it landed")
	}
}

// TestPromoteFencesTheOldHolder: a backup taking over node id A
// (Engine.Promote, then Adopt of its own id) fences the engine that ran
// as A: the old one's next write ends its session with ErrFenced, and
// the new one serves the session from its record.
func TestPromoteFencesTheOldHolder(t *testing.T) {
	ctx := context.Background()
	clock := engine.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	st := persist.NewMemory(persist.MemoryOptions{})
	doc, err := scxml.Parse([]byte(routing), nil)
	if err != nil {
		t.Fatal(err)
	}
	old, err := engine.New(engine.Options{Node: "A", Clock: clock, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	s, err := old.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	backup, err := engine.New(engine.Options{Node: "A", Clock: clock, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	defer backup.Close()
	if _, err := backup.Adopt(ctx, "A", engine.AdoptOptions{Documents: func(context.Context, string, [32]byte) (*scxml.Document, error) { return doc, nil }}); err == nil {
		t.Fatal("Adopt of its own node id before Promote accepted")
	}
	epoch, err := backup.Promote(ctx)
	if err != nil || epoch != 1 || backup.Epoch() != 1 {
		t.Fatalf("Promote = %d, %v", epoch, err)
	}
	if _, err := backup.Adopt(ctx, "A", engine.AdoptOptions{Documents: func(context.Context, string, [32]byte) (*scxml.Document, error) { return doc, nil }}); err != nil {
		t.Fatal(err)
	}
	if err := backup.Send(ctx, s.ID(), engine.Event{Name: "target.failed"}); err != nil {
		t.Fatalf("the new holder of A serving the session: %v", err)
	}
	if err := s.Send(ctx, engine.Event{Name: "target.failed"}); !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("the old holder of A: %v, want ErrFenced", err)
	}
	// seq 1 by the old holder; 2 when the new one loaded it, 3 for its
	// event: the old holder's write (seq 2) was refused.
	if rec, err := st.Load(ctx, s.ID()); err != nil || rec.Seq != 3 {
		t.Fatalf("record seq %d, %v: want the new holder's seq 3", rec.Seq, err)
	}
	if old.Fenced() == nil || backup.Fenced() != nil {
		t.Fatalf("Fenced: old %v, backup %v", old.Fenced(), backup.Fenced())
	}
	// Lookup finds it loaded; an unknown id is not found.
	if got, err := backup.Lookup(ctx, s.ID()); err != nil || got.ID() != s.ID() {
		t.Fatalf("Lookup: %v", err)
	}
	if _, err := backup.Lookup(ctx, "nobody"); !errors.Is(err, engine.ErrNoSession) {
		t.Fatalf("Lookup of an unknown id: %v", err)
	}
}

// TestFencedHibernatedSession: a hibernated session of a node that was
// promoted away is not kept alive by its old holder: the refresh of its
// record is refused, and the session ends there with ErrFenced, its
// record left to the new holder.
func TestFencedHibernatedSession(t *testing.T) {
	ctx := context.Background()
	clock := engine.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	st := persist.NewMemory(persist.MemoryOptions{TTL: time.Hour, Now: clock.Now})
	doc, err := scxml.Parse([]byte(routing), nil)
	if err != nil {
		t.Fatal(err)
	}
	var fencedErrs atomic.Int64
	old, err := engine.New(engine.Options{Node: "A", Clock: clock, Store: st, HibernateAfter: time.Minute, OnStoreError: func(_ string, err error) {
		if errors.Is(err, engine.ErrFenced) {
			fencedErrs.Add(1)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	s, err := old.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, engine.Event{Name: "target.failed"}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	if !s.Hibernated() {
		t.Fatal("not hibernated")
	}
	if _, err := st.Promote(ctx, "A"); err != nil { // a backup took node id A
		t.Fatal(err)
	}
	clock.Advance(40 * time.Minute) // past TTL/2: the sweep refreshes
	if !errors.Is(s.Err(), engine.ErrFenced) || s.Running() || old.Len() != 0 {
		t.Fatalf("after the refused refresh: err %v, running %v, %d sessions", s.Err(), s.Running(), old.Len())
	}
	if fencedErrs.Load() == 0 {
		t.Fatal("OnStoreError did not hear of it")
	}
	// Its last checkpoint (3: start, the event, the queue timeout at 30 s
	// before it hibernated) is kept for the new holder.
	if rec, err := st.Load(ctx, s.ID()); err != nil || rec.Seq != 3 {
		t.Fatalf("record seq %d, %v: want it kept for the new holder", rec.Seq, err)
	}
}

// relay sends "bump" to the session whose id its "to" event carries.
const relay = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="r">
  <state id="r">
    <transition event="to"><send event="target.failed" targetexpr="'#_scxml_' + _event.data"/></transition>
  </state>
</scxml>`

// TestAdoptedSessionReachedBySend: a <send> from a session of the
// adopting engine to a session of the adopted node that is not loaded
// yet loads it and delivers the event.
func TestAdoptedSessionReachedBySend(t *testing.T) {
	ctx := context.Background()
	clock := engine.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	st := persist.NewMemory(persist.MemoryOptions{})
	doc, err := scxml.Parse([]byte(routing), nil)
	if err != nil {
		t.Fatal(err)
	}
	rdoc, err := scxml.Parse([]byte(relay), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := engine.New(engine.Options{Node: "A", Clock: clock, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a.Close() // A fails
	var sendErrs atomic.Int64
	b, err := engine.New(engine.Options{Node: "B", Clock: clock, Store: st, OnError: func(string, *engine.Event, error) { sendErrs.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.Adopt(ctx, "A", engine.AdoptOptions{Documents: func(context.Context, string, [32]byte) (*scxml.Document, error) { return doc, nil }}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Session(s.ID()); !errors.Is(err, engine.ErrNoSession) {
		t.Fatalf("the adopted session was loaded before anything needed it: %v", err)
	}
	r, err := b.Start(ctx, rdoc, engine.StartOptions{Type: engine.Chat})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Send(ctx, engine.Event{Name: "to", Data: s.ID()}); err != nil {
		t.Fatal(err)
	}
	if err := b.Quiesce(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Session(s.ID()); err != nil {
		t.Fatalf("the adopted session was not loaded by the send: %v", err)
	}
	if rec, err := st.Load(ctx, s.ID()); err != nil || rec.Node != "B" || rec.Seq != 3 {
		t.Fatalf("record %v, %v: want B's, seq 3 (loaded, then the event)", rec, err)
	}
	// A send to a session nobody has is reported, not lost silently.
	if err := r.Send(ctx, engine.Event{Name: "to", Data: "nobody-A"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Quiesce(ctx); err != nil {
		t.Fatal(err)
	}
	if sendErrs.Load() != 1 {
		t.Fatalf("OnError heard %d errors for the send to an unknown session, want 1", sendErrs.Load())
	}
}
