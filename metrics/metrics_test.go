package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"expvar"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/metrics"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/recovery"
	"github.com/orsgo/engine/scxml"
)

func TestHistogram(t *testing.T) {
	h := metrics.NewHistogram(1000, 4) // rounded up to 1024: (..1024] (..2048] (..4096] (4096..)
	for _, v := range []int64{0, 1, 1024, 1025, 2048, 3000, 5000, 1 << 40} {
		h.Observe(v)
	}
	s := h.Snapshot()
	want := []metrics.Bucket{{LE: 1024, Count: 3}, {LE: 2048, Count: 2}, {LE: 4096, Count: 1}, {LE: -1, Count: 2}}
	if s.Count != 8 || len(s.Buckets) != len(want) {
		t.Fatalf("snapshot %+v", s)
	}
	for i, b := range want {
		if s.Buckets[i] != b {
			t.Errorf("bucket %d: %+v, want %+v", i, s.Buckets[i], b)
		}
	}
	if s.Sum != 0+1+1024+1025+2048+3000+5000+(1<<40) {
		t.Errorf("sum %d", s.Sum)
	}
	if s.P50 != 2048 || s.P90 != -1 {
		t.Errorf("p50 %d p90 %d", s.P50, s.P90)
	}
	if allocs := testing.AllocsPerRun(100, func() { h.Observe(12345) }); allocs != 0 {
		t.Errorf("Observe allocates %v times", allocs)
	}
}

// An engine with the metrics observer runs routing sessions: the figures
// count what happened, and expvar shows them.
func TestMetricsEngine(t *testing.T) {
	ctx := context.Background()
	m := metrics.New()
	clock := engine.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	store := persist.NewMemory(persist.MemoryOptions{Now: clock.Now})
	obs := m.Observer()
	if obs.TimingSample != metrics.TimingSample {
		t.Errorf("observer samples one run in %d", obs.TimingSample)
	}
	obs.TimingSample = 1 // every run timed, to count them here
	eng, err := engine.New(engine.Options{Clock: clock, Store: store, HibernateAfter: time.Minute, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	m.Track(eng)
	doc, err := scxml.ParseFile("../fixtures/testdata/routing/voice_routing.scxml", nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 3 {
		s, err := eng.Start(ctx, doc, engine.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID())
		// lookup.done without data raises error.execution in the document
		for _, ev := range []engine.Event{{Name: "call.arrived", Data: map[string]any{"ani": "1", "dnis": "2"}}, {Name: "lookup.done"}} {
			if err := s.Send(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := eng.Send(ctx, ids[0], engine.Event{Name: "call.released"}); err != nil {
		t.Fatal(err)
	}
	// The two others: their queue timeouts (30 s) fire, taking them to
	// voicemail (a macrostep and a checkpoint each), then they hibernate.
	clock.Advance(2 * time.Minute)
	s := m.Snapshot()
	check := func(name string, got, want uint64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	check("sessions_started", s.SessionsStarted, 3)
	check("sessions_ended", s.SessionsEnded, 1)
	check("hibernations", s.Hibernations, 2)
	check("macrosteps", s.Macrosteps, 3+6+1+2) // Starts, Sends, the release, timers
	check("events", s.Events, 7)
	check("error_events", s.ErrorEvents, 3)
	check("checkpoints", s.Checkpoints, 9+2)
	check("deletes", s.Deletes, 1)
	check("macrostep latency count", s.MacrostepLatency.Count, 12)
	check("checkpoint size count", s.CheckpointSize.Count, 11)
	if s.SessionsLive != 2 || s.SessionsHibernated != 2 {
		t.Errorf("gauges: live %d, hibernated %d", s.SessionsLive, s.SessionsHibernated)
	}
	if s.CheckpointBytes == 0 || s.CheckpointSize.P50 < 256 || s.MacrostepLatency.P99 <= 0 {
		t.Errorf("sizes and latencies: %d bytes, size p50 %d, macrostep p99 %d", s.CheckpointBytes, s.CheckpointSize.P50, s.MacrostepLatency.P99)
	}
	if err := eng.Send(ctx, ids[1], engine.Event{Name: "call.released"}); err != nil {
		t.Fatal(err)
	}
	if s := m.Snapshot(); s.Wakes != 1 || s.SessionsLive != 1 {
		t.Errorf("after a wake: wakes %d, live %d", s.Wakes, s.SessionsLive)
	}

	if err := m.Publish("orsgo_test"); err != nil {
		t.Fatal(err)
	}
	if err := m.Publish("orsgo_test"); !errors.Is(err, metrics.ErrPublished) {
		t.Errorf("publishing twice: %v", err)
	}
	var shown map[string]any
	if err := json.Unmarshal([]byte(expvar.Get("orsgo_test").String()), &shown); err != nil {
		t.Fatal(err)
	}
	if shown["macrosteps"] != float64(13) || shown["sessions_live"] != float64(1) {
		t.Errorf("expvar shows %v", shown)
	}
	if lat, ok := shown["checkpoint_latency_ns"].(map[string]any); !ok || lat["count"] != float64(11) {
		t.Errorf("expvar checkpoint latency: %v", shown["checkpoint_latency_ns"])
	}
}

// voiceRouting parses the routing fixture.
func voiceRouting(t *testing.T) *scxml.Document {
	t.Helper()
	doc, err := scxml.ParseFile("../fixtures/testdata/routing/voice_routing.scxml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

var (
	callArrived = engine.Event{Name: "call.arrived", Data: map[string]any{"ani": "1", "dnis": "2"}}
	t0          = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// The persisted gauge counts running sessions that are checkpointed:
// not digital ones, not documents with _persist="false", hibernated ones
// included; it falls as they end, whatever ends them (a hang-up, a
// fence).
func TestMetricsPersistedGauge(t *testing.T) {
	ctx := context.Background()
	m := metrics.New()
	clock := engine.NewManualClock(t0)
	store := persist.NewMemory(persist.MemoryOptions{Now: clock.Now})
	eng, err := engine.New(engine.Options{Node: "A", Clock: clock, Store: store, HibernateAfter: time.Minute, Observer: m.Observer()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	m.Track(eng)
	doc := voiceRouting(t)
	volatile, err := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" _persist="false" initial="w"><state id="w"/></scxml>`), nil)
	if err != nil {
		t.Fatal(err)
	}
	gauges := func(live, persisted, hib int) {
		t.Helper()
		s := m.Snapshot()
		if s.SessionsLive != live || s.SessionsPersisted != persisted || s.SessionsHibernated != hib {
			t.Errorf("live %d, persisted %d, hibernated %d; want %d, %d, %d", s.SessionsLive, s.SessionsPersisted, s.SessionsHibernated, live, persisted, hib)
		}
		n := 0
		for _, info := range eng.Sessions() {
			if info.Persisted {
				n++
			}
		}
		if eng.Persisted() != persisted || n != persisted {
			t.Errorf("Engine.Persisted() = %d, SessionInfo.Persisted of %d; want %d", eng.Persisted(), n, persisted)
		}
	}
	var voice []*engine.Session
	for range 3 {
		s, err := eng.Start(ctx, doc, engine.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		voice = append(voice, s)
	}
	if _, err := eng.Start(ctx, doc, engine.StartOptions{Type: engine.Chat}); err != nil {
		t.Fatal(err)
	}
	vs, err := eng.Start(ctx, volatile, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if vs.Type() != engine.Voice {
		t.Fatal("setup: a voice session of a _persist=false document")
	}
	gauges(5, 3, 0)
	if err := voice[0].Send(ctx, engine.Event{Name: "call.released"}); err != nil {
		t.Fatal(err)
	}
	gauges(4, 2, 0)
	clock.Advance(2 * time.Minute) // the voice sessions hibernate (the others are not persisted: never)
	gauges(4, 2, 2)
	// Node id A is taken over: the next write of voice[1] is refused and
	// it ends here, fenced.
	if _, err := store.Promote(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	if err := voice[1].Send(ctx, callArrived); !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("send after the takeover: %v, want ErrFenced", err)
	}
	gauges(3, 1, 1)
}

// Every write the store refuses as fenced is counted: a checkpoint, the
// deletion of an ended session's record, the refresh of a hibernated
// session's record.
func TestMetricsFencedWrites(t *testing.T) {
	ctx := context.Background()
	doc := voiceRouting(t)
	newEngine := func(node string) (*metrics.Metrics, *engine.Engine, *engine.ManualClock, *persist.MemoryStore) {
		m := metrics.New()
		clock := engine.NewManualClock(t0)
		store := persist.NewMemory(persist.MemoryOptions{Now: clock.Now})
		eng, err := engine.New(engine.Options{Node: node, Clock: clock, Store: store, HibernateAfter: time.Minute, Observer: m.Observer()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Close() })
		return m, eng, clock, store
	}
	fenced := func(m *metrics.Metrics, writes, refresh uint64) {
		t.Helper()
		s := m.Snapshot()
		if s.FencedWrites != writes || s.RefreshFailures != refresh {
			t.Errorf("fenced writes %d, refresh failures %d; want %d, %d", s.FencedWrites, s.RefreshFailures, writes, refresh)
		}
	}

	// A save refused.
	m, eng, _, store := newEngine("A")
	s, err := eng.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fenced(m, 0, 0)
	if _, err := store.Promote(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, callArrived); !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("send: %v", err)
	}
	fenced(m, 1, 0)
	if got := m.Snapshot(); got.Fenced != 1 || got.CheckpointFailures != 1 {
		t.Errorf("sessions fenced %d, checkpoint failures %d; want 1, 1", got.Fenced, got.CheckpointFailures)
	}
	// A session started on the fenced engine: its first checkpoint is
	// refused too.
	if _, err := eng.Start(ctx, doc, engine.StartOptions{}); !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("start on a fenced engine: %v", err)
	}
	fenced(m, 2, 0)

	// A deletion refused: the session ends (call.released) after the takeover.
	m, eng, _, store = newEngine("A")
	s, err = eng.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Promote(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, engine.Event{Name: "call.released"}); !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("send: %v", err)
	}
	fenced(m, 1, 0)
	if got := m.Snapshot(); got.DeleteFailures != 1 {
		t.Errorf("delete failures %d, want 1", got.DeleteFailures)
	}

	// A refresh refused: a hibernated session's record, past TTL/2.
	m, eng, clock, store := newEngine("A")
	if s, err = eng.Start(ctx, doc, engine.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	if !s.Hibernated() {
		t.Fatal("not hibernated")
	}
	if _, err := store.Promote(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(13 * time.Hour) // past TTL/2 (a day by default): the sweep refreshes
	if !errors.Is(s.Err(), engine.ErrFenced) {
		t.Fatalf("hibernated session after the refused refresh: %v", s.Err())
	}
	fenced(m, 1, 1)
}

// Recoveries reach the metrics on their own: recovery.Recover (eager),
// engine.Adopt (lazy) and each adopted session loaded on demand.
func TestMetricsRecovery(t *testing.T) {
	ctx := context.Background()
	doc := voiceRouting(t)
	clock := engine.NewManualClock(t0)
	store := persist.NewMemory(persist.MemoryOptions{Now: clock.Now})
	// Nodes A and C run three sessions each, then fail.
	ids := map[string][]string{}
	for _, node := range []string{"A", "C", "D"} {
		eng, err := engine.New(engine.Options{Node: node, Clock: clock, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			s, err := eng.Start(ctx, doc, engine.StartOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ids[node] = append(ids[node], s.ID())
		}
		if _, err := eng.Start(ctx, doc, engine.StartOptions{Type: engine.Chat}); err != nil { // not recoverable
			t.Fatal(err)
		}
		eng.Close()
	}
	// One of A's records is damaged: it cannot be resumed.
	store.SaveRaw("A", ids["A"][2], []byte("not a record"))

	m := metrics.New()
	eng, err := engine.New(engine.Options{Node: "B", Clock: clock, Store: store, Observer: m.Observer()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	m.Track(eng)
	rep, err := recovery.Recover(ctx, eng, "A", recovery.Options{Documents: recovery.NewLibrary(doc)})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Snapshot()
	if s.Recoveries != 1 || s.Adoptions != 0 || s.RecoveredSessions != uint64(rep.Resumed) || rep.Resumed != 2 ||
		s.RecoveryFailures != 1 || s.NotRecovered != uint64(len(rep.NotRecovered)) || s.RecoveryTime.Count != 1 {
		t.Errorf("after Recover (report: resumed %d, failed %d, not recovered %d): recoveries %d, adoptions %d, recovered %d, failures %d, not recovered %d, times %d",
			rep.Resumed, len(rep.Failed), len(rep.NotRecovered), s.Recoveries, s.Adoptions, s.RecoveredSessions, s.RecoveryFailures, s.NotRecovered, s.RecoveryTime.Count)
	}
	if s.RecoveryTime.Sum != rep.Elapsed.Nanoseconds() {
		t.Errorf("recovery time %d ns, report says %v", s.RecoveryTime.Sum, rep.Elapsed)
	}
	if s.SessionsPersisted != 2 {
		t.Errorf("persisted sessions %d after Recover, want 2", s.SessionsPersisted)
	}

	// C is adopted: one recovery, no session loaded yet; then one is
	// needed, and counted.
	if _, err := eng.Adopt(ctx, "C", engine.AdoptOptions{Documents: recovery.NewLibrary(doc).Document}); err != nil {
		t.Fatal(err)
	}
	s = m.Snapshot()
	if s.Recoveries != 2 || s.Adoptions != 1 || s.RecoveredSessions != 2 || s.RecoveryTime.Count != 2 {
		t.Errorf("after Adopt: recoveries %d, adoptions %d, recovered %d, times %d", s.Recoveries, s.Adoptions, s.RecoveredSessions, s.RecoveryTime.Count)
	}
	if err := eng.Send(ctx, ids["C"][0], callArrived); err != nil {
		t.Fatal(err)
	}
	if s = m.Snapshot(); s.RecoveredSessions != 3 || s.Recoveries != 2 || s.SessionsPersisted != 3 {
		t.Errorf("after loading an adopted session: recovered %d, recoveries %d, persisted %d", s.RecoveredSessions, s.Recoveries, s.SessionsPersisted)
	}

	// A lazy switchover from D: an adoption, counted as such.
	n, err := recovery.NewNode(eng, recovery.Backup, "D", recovery.Options{Documents: recovery.NewLibrary(doc), Lazy: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Switchover(ctx); err != nil {
		t.Fatal(err)
	}
	if s = m.Snapshot(); s.Recoveries != 3 || s.Adoptions != 2 || s.RecoveryTime.Count != 3 {
		t.Errorf("after a lazy switchover: recoveries %d, adoptions %d, times %d", s.Recoveries, s.Adoptions, s.RecoveryTime.Count)
	}
}

// failingTouch is a memory store whose refreshes fail.
type failingTouch struct{ *persist.MemoryStore }

func (failingTouch) Touch(context.Context, persist.Writer, []string) error {
	return errors.New("store unreachable")
}

// A refresh of a hibernated session's record that fails (not fenced)
// is a refresh failure, not a fenced write.
func TestMetricsRefreshFailures(t *testing.T) {
	ctx := context.Background()
	m := metrics.New()
	clock := engine.NewManualClock(t0)
	store := failingTouch{persist.NewMemory(persist.MemoryOptions{Now: clock.Now})}
	eng, err := engine.New(engine.Options{Clock: clock, Store: store, HibernateAfter: time.Minute, Observer: m.Observer()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	s, err := eng.Start(ctx, voiceRouting(t), engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute)
	if !s.Hibernated() {
		t.Fatal("not hibernated")
	}
	clock.Advance(13 * time.Hour) // past TTL/2: the sweep refreshes, and fails
	got := m.Snapshot()
	if got.RefreshFailures == 0 || got.FencedWrites != 0 {
		t.Errorf("refresh failures %d, fenced writes %d; want some, 0", got.RefreshFailures, got.FencedWrites)
	}
	if !s.Hibernated() {
		t.Error("a failed refresh woke or ended the session")
	}
}
