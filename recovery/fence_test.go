package recovery_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/internal/redistest"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/recovery"
	"github.com/redis/go-redis/v9"
)

// stores runs f on a memory store and, unless -short, on a store in the
// 3+3 Redis Cluster.
func stores(t *testing.T, f func(t *testing.T, st func() persist.Store)) {
	t.Run("memory", func(t *testing.T) {
		m := persist.NewMemory(persist.MemoryOptions{})
		f(t, func() persist.Store { return m })
	})
	t.Run("redis cluster", func(t *testing.T) {
		if testing.Short() {
			t.Skip("starts a six-node Redis Cluster")
		}
		rc := redistest.Cluster(t, 3, 1)
		cluster := fmt.Sprintf("fence%d", time.Now().UnixNano())
		// Every engine gets its own client and store, as separate
		// processes would, on the same keys.
		f(t, func() persist.Store {
			st, err := persist.NewRedis(redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()}), persist.RedisOptions{Cluster: cluster})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
}

// TestDefect1IndexLeftBehind is issue 12's defect 1, in process: n1 runs
// a session; n2 takes it over and dies after its save landed but before
// it took the session out of n1's index; n3 switches over from n2 and
// recovers n1; then n4, told to recover n1, must not resume the session
// n3 runs. Before the index moved with the record, n1's index kept the
// entry and n4 resumed the call a second time.
func TestDefect1IndexLeftBehind(t *testing.T) {
	stores(t, func(t *testing.T, newStore func() persist.Store) {
		ctx := context.Background()
		clock := engine.NewManualClock(t0)
		qdoc := parse(t, queue)
		lib := recovery.NewLibrary(qdoc)
		n1 := newEngine(t, "n1", clock, newStore())
		s, err := n1.Start(ctx, qdoc, engine.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		id := s.ID()
		n1.Close() // n1 fails

		// n2's takeover: its first checkpoint of the session landed (the
		// half of ResumeRecord that was a store write), then n2 died.
		st2 := newStore()
		rec, err := st2.Load(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		rec.Node, rec.Seq = "n2", rec.Seq+1
		if err := st2.Save(ctx, rec); err != nil {
			t.Fatal(err)
		}

		n3 := newEngine(t, "n3", clock, newStore())
		node3, err := recovery.NewNode(n3, recovery.Backup, "n2", recovery.Options{Documents: lib})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := node3.Switchover(ctx)
		if err != nil || rep.Resumed != 1 {
			t.Fatalf("n3 switchover from n2: %+v, %v", rep, err)
		}
		if rep, err := node3.Recover(ctx, "n1"); err != nil || rep.Listed != 0 {
			t.Fatalf("n3 recovers n1: %+v, %v; want nothing listed (the session moved)", rep, err)
		}
		if orphans, err := node3.Orphans(ctx); err != nil || len(orphans) != 0 {
			t.Fatalf("orphans seen by n3: %v, %v", orphans, err)
		}

		n4 := newEngine(t, "n4", clock, newStore())
		rep, err = recovery.Recover(ctx, n4, "n1", recovery.Options{Documents: lib})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Listed != 0 || rep.Resumed != 0 {
			t.Fatalf("n4 recovers n1: listed %d resumed %d: the call runs twice", rep.Listed, rep.Resumed)
		}
		if _, err := n4.Session(id); !errors.Is(err, engine.ErrNoSession) {
			t.Fatalf("n4 runs the session n3 runs: %v", err)
		}
		st := newStore()
		if got, err := st.Load(ctx, id); err != nil || got.Node != "n3" {
			t.Fatalf("record: %+v, %v; want n3's", got, err)
		}
		for node, want := range map[string]string{"n1": "", "n2": "", "n3": id} {
			if ids, err := st.ListNode(ctx, node); err != nil || strings.Join(ids, ",") != want {
				t.Fatalf("ListNode(%s) = %v, %v; want %q", node, ids, err, want)
			}
		}
		// n3 still runs it.
		s3, err := n3.Session(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := s3.Send(ctx, engine.Event{Name: "target.failed"}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDefect2Zombie is issue 12's defect 2 (split brain), in process: node
// A is paused (its engine left as it was, sessions in memory), B switches
// over and drives the calls on, then A comes back with events for its
// sessions, hangs some up and lets its timers fire. Every write of A is
// refused: no record changes, A stops serving each session at once
// (ErrFenced), and B carries on. Before fencing, A's checkpoints (Seq+1,
// as high as B's) overwrote B's and its hang-ups deleted B's records.
func TestDefect2Zombie(t *testing.T) {
	stores(t, func(t *testing.T, newStore func() persist.Store) {
		ctx := context.Background()
		clock := engine.NewManualClock(t0)
		qdoc := parse(t, queue)
		var aErrs atomic.Int64
		a, err := engine.New(engine.Options{Node: "A", Clock: clock, Store: newStore(), OnStoreError: func(string, error) { aErrs.Add(1) }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		const n = 40
		var zs []*engine.Session
		for range n {
			s, err := a.Start(ctx, qdoc, engine.StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			zs = append(zs, s)
		}
		// A pauses. B takes over and drives every call on.
		st := newStore()
		b := newEngine(t, "B", clock, st)
		node, err := recovery.NewNode(b, recovery.Backup, "A", recovery.Options{Documents: recovery.NewLibrary(qdoc)})
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := node.Switchover(ctx); err != nil || rep.Resumed != n || rep.Epoch == 0 {
			t.Fatalf("switchover: %+v, %v", rep, err)
		}
		for _, z := range zs {
			if err := b.Send(ctx, z.ID(), engine.Event{Name: "target.failed"}); err != nil {
				t.Fatal(err)
			}
		}
		before := records(t, st, zs)

		// A comes back: events, hang-ups, timers. All refused.
		for i, z := range zs {
			var err error
			switch i % 3 {
			case 0:
				err = z.Send(ctx, engine.Event{Name: "target.failed"})
			case 1:
				err = z.Cancel() // the zombie's hang-up
			case 2:
				continue // its timer, below
			}
			if !errors.Is(err, engine.ErrFenced) {
				t.Fatalf("zombie session %s: %v, want ErrFenced", z.ID(), err)
			}
		}
		clock.Advance(31 * time.Second) // A's (and B's) queue timeouts fire
		if err := a.Fenced(); !errors.Is(err, engine.ErrFenced) || !errors.Is(err, persist.ErrFenced) {
			t.Fatalf("A.Fenced() = %v", err)
		}
		for _, z := range zs {
			select {
			case <-z.Done():
			default:
				t.Fatalf("zombie session %s still served by A", z.ID())
			}
			if !errors.Is(z.Err(), engine.ErrFenced) {
				t.Fatalf("zombie session %s: Err %v", z.ID(), z.Err())
			}
		}
		if a.Len() != 0 {
			t.Fatalf("A still runs %d sessions", a.Len())
		}
		if aErrs.Load() < n {
			t.Fatalf("OnStoreError heard %d of A's refused writes, want >= %d", aErrs.Load(), n)
		}
		// B's timers fired on B's state (one retry: the call ends), and
		// nothing A did reached the store: every record B still has is
		// B's; those B ended are gone because B ended them.
		for i, z := range zs {
			rec, err := st.Load(ctx, z.ID())
			if errors.Is(err, persist.ErrNotFound) {
				if _, running := b.Session(z.ID()); running == nil {
					t.Fatalf("session %s runs on B without a record", z.ID())
				}
				continue
			}
			if err != nil || rec.Node != "B" || rec.Seq < before[i].Seq {
				t.Fatalf("session %s: record %+v, %v; B wrote seq %d", z.ID(), rec, err, before[i].Seq)
			}
		}
		// A fresh start on the fenced engine is refused too.
		if _, err := a.Start(ctx, qdoc, engine.StartOptions{}); !errors.Is(err, engine.ErrFenced) {
			t.Fatalf("Start on the fenced engine: %v", err)
		}
	})
}

// records loads the records of ss.
func records(t *testing.T, st persist.Store, ss []*engine.Session) []*persist.Record {
	t.Helper()
	out := make([]*persist.Record, len(ss))
	for i, s := range ss {
		rec, err := st.Load(context.Background(), s.ID())
		if err != nil {
			t.Fatal(err)
		}
		out[i] = rec
	}
	return out
}

// timers: each session's delayed send logs its index when it fires; stop
// cancels it.
const timers = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="wait" name="timers">
  <datamodel><data id="n" expr="0"/><data id="got" expr="0"/></datamodel>
  <state id="wait">
    <onentry><send id="t" event="fire" delayexpr="(n + 1) + 's'"/></onentry>
    <onexit><cancel sendid="t"/></onexit>
    <transition event="set" target="wait"><assign location="n" expr="_event.data"/></transition>
    <transition event="bump"><assign location="got" expr="got + 1"/><log label="bump" expr="got"/></transition>
    <transition event="stop"><cancel sendid="t"/></transition>
    <transition event="fire" target="fired"><log label="fire" expr="n"/></transition>
  </state>
  <state id="fired"><transition event="bump"><assign location="got" expr="got + 1"/></transition></state>
</scxml>`

// TestLazySwitchover: B adopts A's sessions without loading them; the
// delayed sends that fell due while no node ran fire after the takeover
// in due-time order; one that is not due yet fires on time; a <cancel>
// after the takeover cancels a send scheduled before it; concurrent
// events for a session not loaded yet load it once and are all applied.
func TestLazySwitchover(t *testing.T) {
	stores(t, func(t *testing.T, newStore func() persist.Store) {
		ctx := context.Background()
		clock := engine.NewManualClock(t0)
		doc := parse(t, timers)
		a := newEngine(t, "A", clock, newStore())
		const n = 12
		ids := make([]string, n)
		for i := range n {
			s, err := a.Start(ctx, doc, engine.StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Session i's send falls due (n-i) s from now: the reverse of
			// start order.
			if err := s.Send(ctx, engine.Event{Name: "set", Data: n - 1 - i}); err != nil {
				t.Fatal(err)
			}
			ids[i] = s.ID()
		}
		chat, err := a.Start(ctx, doc, engine.StartOptions{Type: engine.Chat})
		if err != nil {
			t.Fatal(err)
		}
		optout, err := a.Start(ctx, parse(t, strings.Replace(greeting, `name="greeting"`, `name="optout" _persist="false"`, 1)), engine.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a.Close() // A fails

		clock.Advance(5500 * time.Millisecond) // sends due in 1..5 s fall due meanwhile
		var mu sync.Mutex
		var fired []int
		var loaded []string
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
		node, err := recovery.NewNode(b, recovery.Backup, "A", recovery.Options{
			Documents: recovery.NewLibrary(doc),
			Lazy:      true,
			Horizon:   3 * time.Second,
			OnSession: func(id string, err error) {
				mu.Lock()
				loaded = append(loaded, id)
				mu.Unlock()
				if err != nil {
					t.Error(err)
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := node.Switchover(ctx)
		if err != nil || !rep.Lazy || rep.Epoch == 0 {
			t.Fatalf("lazy switchover: %+v, %v", rep, err)
		}
		if len(rep.NotRecovered) != 2 || rep.NotRecovered[chat.ID()] != "chat" || rep.NotRecovered[optout.ID()] != "voice (_persist=false)" {
			t.Fatalf("not recovered: %v, want the chat %s and the opted-out call %s", rep.NotRecovered, chat.ID(), optout.ID())
		}
		if err := b.Quiesce(ctx); err != nil {
			t.Fatal(err)
		}
		// The overdue ones (n = 0..4, due at 1..5 s) fired, in due order.
		mu.Lock()
		got := slices.Clone(fired)
		mu.Unlock()
		if !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
			t.Fatalf("after the takeover, fired %v; want 0..4 in due order", got)
		}
		// Session of n=6 (due at 7 s) is stopped after the takeover: its
		// send, scheduled before, is cancelled.
		stopped := ids[n-1-6]
		if err := b.Send(ctx, stopped, engine.Event{Name: "stop"}); err != nil {
			t.Fatal(err)
		}
		// 20 concurrent events for a session not loaded yet (n=11).
		busy := ids[0]
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := b.Send(ctx, busy, engine.Event{Name: "bump"}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		// Time runs on: the rest fire on time, in order, each once; the
		// stopped one never.
		for range 10 {
			clock.Advance(time.Second)
			if err := b.Quiesce(ctx); err != nil {
				t.Fatal(err)
			}
		}
		mu.Lock()
		got, gotLoaded := slices.Clone(fired), slices.Clone(loaded)
		mu.Unlock()
		if !slices.Equal(got, []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11}) {
			t.Fatalf("fired %v; want 0..11 but 6 (cancelled), in order", got)
		}
		counts := map[string]int{}
		for _, id := range gotLoaded {
			counts[id]++
		}
		for id, c := range counts {
			if c != 1 {
				t.Fatalf("session %s loaded %d times", id, c)
			}
		}
		s, err := b.Session(busy)
		if err != nil {
			t.Fatal(err)
		}
		if cfg := strings.Join(s.Configuration(), ","); cfg != "fired" {
			t.Fatalf("busy session in %s", cfg)
		}
		st := newStore()
		if ids, err := st.ListNode(ctx, "A"); err != nil || len(ids) != 0 {
			t.Fatalf("A still lists %v, %v", ids, err)
		}
		if ids, err := st.ListNode(ctx, "B"); err != nil || len(ids) != n {
			t.Fatalf("B lists %d sessions, %v; want %d", len(ids), err, n)
		}
	})
}
