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

	m.ObserveRecovery(&recovery.Report{Resumed: 5, Failed: map[string]error{"x": errors.New("gone")}, Elapsed: 30 * time.Millisecond})
	if s := m.Snapshot(); s.Recoveries != 1 || s.RecoveredSessions != 5 || s.RecoveryFailures != 1 || s.RecoveryTime.Count != 1 || s.RecoveryTime.P50 != 1<<25 { // 30 ms: in (2^24, 2^25] ns
		t.Errorf("recovery: %+v", s)
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
