package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/internal/redistest"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/recovery"
	"github.com/orsgo/engine/scxml"
	"github.com/redis/go-redis/v9"
)

// queue: a call waits in queue; each target.failed counts a retry; the
// 30 s queue timeout sends it to voicemail after two retries, else ends
// it. The counter and the pending timer must survive the switchover.
const queue = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="queued" name="queue">
  <datamodel><data id="tries" expr="0"/></datamodel>
  <state id="queued">
    <onentry><send id="qt" event="queue.timeout" delay="30s"/></onentry>
    <transition event="target.failed"><assign location="tries" expr="tries + 1"/></transition>
    <transition event="queue.timeout" cond="tries &gt;= 2" target="voicemail"/>
    <transition event="queue.timeout" target="gone"/>
  </state>
  <state id="voicemail"><transition event="hangup" target="gone"/></state>
  <final id="gone"/>
</scxml>`

// greeting: a session whose 5 s timer ends it; one that falls due while
// the node is down ends in its first macrostep on the backup.
const greeting = `<scxml xmlns="http://www.w3.org/2005/07/scxml" initial="play" name="greeting">
  <state id="play">
    <onentry><send event="played" delay="5s"/></onentry>
    <transition event="played" target="end"/>
  </state>
  <final id="end"/>
</scxml>`

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func parse(t testing.TB, src string) *scxml.Document {
	t.Helper()
	doc, err := scxml.Parse([]byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func newEngine(t testing.TB, node string, clock engine.Clock, st persist.Store) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Options{Node: node, Clock: clock, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func config(t testing.TB, s *engine.Session) string {
	t.Helper()
	return strings.Join(s.Configuration(), ",")
}

// scenario runs node A with voice and chat sessions on st, lets it fail,
// and switches node B over. It returns B's engine and the ids of A's
// voice sessions by what they should do next.
func scenario(t *testing.T, st persist.Store) {
	ctx := context.Background()
	clock := engine.NewManualClock(t0)
	qdoc, gdoc := parse(t, queue), parse(t, greeting)
	a := newEngine(t, "A", clock, st)
	var retried, plain, greeted []string
	for i := range 30 {
		s, err := a.Start(ctx, qdoc, engine.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			for range 2 {
				if err := s.Send(ctx, engine.Event{Name: "target.failed"}); err != nil {
					t.Fatal(err)
				}
			}
			retried = append(retried, s.ID())
		} else {
			plain = append(plain, s.ID())
		}
	}
	for range 5 {
		s, err := a.Start(ctx, gdoc, engine.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		greeted = append(greeted, s.ID())
	}
	var chats []string
	for range 5 {
		s, err := a.Start(ctx, qdoc, engine.StartOptions{Type: engine.Chat})
		if err != nil {
			t.Fatal(err)
		}
		chats = append(chats, s.ID())
	}
	a.Close() // node A fails

	clock.Advance(10 * time.Second) // the greetings fall due meanwhile
	b := newEngine(t, "B", clock, st)
	var heard []string
	lib := recovery.NewLibrary(qdoc) // greeting not known yet
	node, err := recovery.NewNode(b, recovery.Backup, "A", recovery.Options{
		Documents: lib,
		OnSession: func(id string, err error) { heard = append(heard, id) },
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := node.Switchover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if node.Role() != recovery.Primary {
		t.Fatalf("role after switchover: %v", node.Role())
	}
	if rep.Listed != 35 || rep.Resumed != 30 || len(rep.Failed) != 5 || rep.Ended != 0 {
		t.Fatalf("report: listed %d resumed %d ended %d failed %d, want 35 30 0 5 (chats never listed)",
			rep.Listed, rep.Resumed, rep.Ended, len(rep.Failed))
	}
	// The chats are reported by id, as not recovered.
	if len(rep.NotRecovered) != len(chats) {
		t.Fatalf("not recovered: %v, want the %d chats", rep.NotRecovered, len(chats))
	}
	for _, id := range chats {
		if rep.NotRecovered[id] != "chat" {
			t.Fatalf("chat %s not reported (%v)", id, rep.NotRecovered)
		}
	}
	for _, id := range greeted {
		if err := rep.Failed[id]; !errors.Is(err, recovery.ErrUnknownDocument) || !strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), "greeting") {
			t.Fatalf("session %s of an unknown document: %v", id, err)
		}
	}
	if err := rep.Err(); err == nil || !strings.Contains(err.Error(), "5 of 35") {
		t.Fatalf("Report.Err = %v", err)
	}
	if len(heard) != 35 {
		t.Fatalf("OnSession heard %d sessions, want 35", len(heard))
	}
	if _, err := node.Switchover(ctx); !errors.Is(err, recovery.ErrNotBackup) {
		t.Fatalf("second switchover: %v", err)
	}
	// The unresolved sessions kept their records: once the document is
	// known, recovering A again picks them up, skipping the others.
	if orphans, err := node.Orphans(ctx); err != nil || strings.Join(orphans, ",") != "A" {
		t.Fatalf("orphans before the retry: %v, %v", orphans, err)
	}
	lib.Add(gdoc)
	rep, err = node.Recover(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Listed != 5 || rep.Resumed != 5 || rep.Ended != 5 || len(rep.Failed) != 0 {
		t.Fatalf("retry: %+v", rep)
	}
	if orphans, err := node.Orphans(ctx); err != nil || len(orphans) != 0 {
		t.Fatalf("orphans after the retry: %v, %v", orphans, err)
	}
	if ids, _ := st.ListNode(ctx, "B"); len(ids) != 30 {
		t.Fatalf("B lists %d sessions, want 30", len(ids))
	}
	for _, id := range append(append([]string{}, greeted...), chats...) {
		if _, err := st.Load(ctx, id); !errors.Is(err, persist.ErrNotFound) {
			t.Fatalf("session %s: record %v, want none", id, err)
		}
	}
	// The resumed calls go on where they stood: 20 s after the switchover
	// their queue timeout (30 s after they queued) fires; the retried
	// ones go to voicemail, the others end.
	clock.Advance(20 * time.Second)
	for _, id := range retried {
		s, err := b.Session(id)
		if err != nil {
			t.Fatal(err)
		}
		if got := config(t, s); got != "voicemail" {
			t.Fatalf("retried session %s in %s, want voicemail", id, got)
		}
	}
	for _, id := range plain {
		if _, err := b.Session(id); !errors.Is(err, engine.ErrNoSession) {
			t.Fatalf("plain session %s still runs: %v", id, err)
		}
	}
}

func TestSwitchoverMemory(t *testing.T) {
	scenario(t, persist.NewMemory(persist.MemoryOptions{}))
}

func TestSwitchoverRedisCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a six-node Redis Cluster")
	}
	rc := redistest.Cluster(t, 3, 1)
	newStore := func() persist.Store {
		st, err := persist.NewRedis(redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()}), persist.RedisOptions{Cluster: "ha"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	scenario(t, newStore())
}

// A damaged record fails its own session only, named in the report; the
// record is kept for inspection.
func TestCorruptRecord(t *testing.T) {
	ctx := context.Background()
	clock := engine.NewManualClock(t0)
	st := persist.NewMemory(persist.MemoryOptions{})
	qdoc := parse(t, queue)
	a := newEngine(t, "A", clock, st)
	var good []string
	for range 3 {
		s, err := a.Start(ctx, qdoc, engine.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		good = append(good, s.ID())
	}
	a.Close()
	st.SaveRaw("A", "BROKEN-A", []byte("ORSR\x01garbage"))
	b := newEngine(t, "B", clock, st)
	rep, err := recovery.Recover(ctx, b, "A", recovery.Options{Documents: recovery.NewLibrary(qdoc), Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Resumed != 3 || len(rep.Failed) != 1 || !errors.Is(rep.Failed["BROKEN-A"], persist.ErrCorrupt) || !strings.Contains(rep.Failed["BROKEN-A"].Error(), "BROKEN-A") {
		t.Fatalf("report %+v", rep)
	}
	for _, id := range good {
		if _, err := b.Session(id); err != nil {
			t.Fatal(err)
		}
	}
	if ids, _ := st.ListNode(ctx, "A"); strings.Join(ids, ",") != "BROKEN-A" {
		t.Fatalf("A lists %v, want only the broken record", ids)
	}
}

func TestOptions(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, "B", engine.NewManualClock(t0), nil)
	lib := recovery.NewLibrary()
	if _, err := recovery.Recover(ctx, e, "A", recovery.Options{Documents: lib}); !errors.Is(err, recovery.ErrNoStore) {
		t.Fatalf("no store: %v", err)
	}
	e = newEngine(t, "B", engine.NewManualClock(t0), persist.NewMemory(persist.MemoryOptions{}))
	for _, tc := range []struct {
		opts recovery.Options
		want string
	}{
		{recovery.Options{}, "Documents"},
		{recovery.Options{Documents: lib, Parallel: -1}, "Parallel"},
	} {
		if _, err := recovery.Recover(ctx, e, "A", tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %s", tc.opts, err, tc.want)
		}
	}
	if _, err := recovery.NewNode(e, recovery.Backup, "B", recovery.Options{Documents: lib}); err == nil {
		t.Error("a node backing up itself was accepted")
	}
	rep, err := recovery.Recover(ctx, e, "nobody", recovery.Options{Documents: lib})
	if err != nil || rep.Listed != 0 || rep.Err() != nil {
		t.Fatalf("recovering a node without sessions: %+v, %v", rep, err)
	}
	if got := fmt.Sprint(recovery.Primary, " ", recovery.Backup); got != "primary backup" {
		t.Errorf("roles print as %q", got)
	}
}
