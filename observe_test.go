package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/metrics"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

// recorder is an Observer that keeps what it is told, as lines.
type recorder struct {
	mu    sync.Mutex
	lines []string
	steps []engine.MacrostepInfo
	cps   []engine.CheckpointInfo
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
}

func (r *recorder) observer() *engine.Observer {
	return &engine.Observer{
		Macrostep: func(i engine.MacrostepInfo) {
			r.add("macrostep %s running=%v", strings.Join(i.Configuration(), ","), i.Running)
			r.mu.Lock()
			r.steps = append(r.steps, i)
			r.mu.Unlock()
		},
		Event: func(id, child string, ev *engine.Event) { r.add("event %s child=%q", ev.Name, child) },
		ErrorEvent: func(id string, ev *engine.Event, cause error) {
			r.add("error %s", ev.Name)
		},
		Checkpoint: func(i engine.CheckpointInfo) {
			r.add("checkpoint %s seq=%d ok=%v", i.Op, i.Seq, i.Err == nil)
			r.mu.Lock()
			r.cps = append(r.cps, i)
			r.mu.Unlock()
		},
		Session: func(i engine.SessionEvent) { r.add("session %s %s %s", i.Kind, i.Doc, i.Type) },
		Recovery: func(i engine.RecoveryInfo) {
			r.add("recovery %s session=%q lazy=%v resumed=%d failed=%d", i.Node, i.SessionID, i.Lazy, i.Resumed, i.Failed)
		},
	}
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lines
	r.lines = nil
	return l
}

// flakyStore fails its Saves while fail is set.
type flakyStore struct {
	persist.Store
	mu   sync.Mutex
	fail bool
}

func (f *flakyStore) Save(ctx context.Context, rec *persist.Record) error {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return errors.New("store unreachable")
	}
	return f.Store.Save(ctx, rec)
}

func routingDoc(t testing.TB) *scxml.Document {
	t.Helper()
	doc, err := scxml.ParseFile(benchRoutingDoc, nil)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// logRecords decodes the JSON lines a slog.JSONHandler wrote.
func logRecords(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func findRecord(recs []map[string]any, msg string) map[string]any {
	for _, r := range recs {
		if r["msg"] == msg {
			return r
		}
	}
	return nil
}

func TestObserverAndLogger(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	var logs bytes.Buffer
	clock := engine.NewManualClock(benchStart)
	mem := persist.NewMemory(persist.MemoryOptions{Now: clock.Now})
	store := &flakyStore{Store: mem}
	eng, err := engine.New(engine.Options{
		Node: "obs1", Clock: clock, Store: store, HibernateAfter: time.Minute,
		Observer: rec.observer(),
		Logger:   slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	doc := routingDoc(t)
	s, err := eng.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"session started voice_routing voice", "checkpoint save seq=1 ok=true", "macrostep waiting running=true"}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Errorf("Start:\n got %q\nwant %q", got, want)
	}
	// lookup.done without data: the document's expression fails, an
	// error.execution event.
	for _, ev := range []engine.Event{{Name: "call.arrived", Data: map[string]any{"ani": "1", "dnis": "2", "language": "fr"}}, {Name: "lookup.done"}} {
		if err := s.Send(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	want = []string{
		"event call.arrived child=\"\"", "checkpoint save seq=2 ok=true", "macrostep lookup running=true",
		"event lookup.done child=\"\"", "error error.execution", "checkpoint save seq=3 ok=true", "macrostep french running=true",
	}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Errorf("Send:\n got %q\nwant %q", got, want)
	}
	for _, c := range rec.cps {
		if c.Bytes <= 0 || c.Duration <= 0 || !c.Timed || c.SessionID != s.ID() {
			t.Errorf("checkpoint info %+v", c)
		}
	}
	for _, m := range rec.steps {
		if m.Duration <= 0 || !m.Timed || m.SessionID != s.ID() || m.Err != nil {
			t.Errorf("macrostep info %+v", m)
		}
	}
	// A checkpoint the store refuses: reported with its error, logged.
	store.mu.Lock()
	store.fail = true
	store.mu.Unlock()
	if err := s.Send(ctx, engine.Event{Name: "target.selected"}); !errors.Is(err, engine.ErrCheckpoint) {
		t.Fatalf("Send with the store down: %v", err)
	}
	if got := rec.take(); !slices.Contains(got, "checkpoint save seq=4 ok=false") {
		t.Errorf("failed checkpoint not observed: %q", got)
	}
	if !errors.Is(rec.steps[len(rec.steps)-1].Err, engine.ErrCheckpoint) {
		t.Errorf("macrostep of a failed checkpoint: %v", rec.steps[len(rec.steps)-1].Err)
	}
	store.mu.Lock()
	store.fail = false
	store.mu.Unlock()
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	rec.take()
	// Hibernation and waking.
	clock.Advance(2 * time.Minute)
	if !s.Hibernated() {
		t.Fatal("not hibernated")
	}
	if got := rec.take(); !slices.Contains(got, "session hibernated voice_routing voice") {
		t.Errorf("hibernation not observed: %q", got)
	}
	if err := s.Send(ctx, engine.Event{Name: "call.released"}); err != nil {
		t.Fatal(err)
	}
	want = []string{"session woken voice_routing voice", "event call.released child=\"\"", "checkpoint delete seq=5 ok=true", "session ended voice_routing voice", "macrostep released running=false"}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Errorf("wake and end:\n got %q\nwant %q", got, want)
	}

	recs := logRecords(t, &logs)
	for msg, level := range map[string]string{
		"log": "INFO", "error event": "WARN", "checkpoint failed": "ERROR",
		"session started": "DEBUG", "session hibernated": "DEBUG", "session woken": "DEBUG", "session ended": "DEBUG",
	} {
		r := findRecord(recs, msg)
		if r == nil {
			t.Errorf("no %q log record in\n%s", msg, logs.String())
			continue
		}
		if r["level"] != level || r["session"] != s.ID() || r["node"] != "obs1" {
			t.Errorf("%q: %v", msg, r)
		}
	}
	if r := findRecord(recs, "log"); r != nil && (r["label"] != "lookup" || r["value"] != "1 -> 2" || r["doc"] != "voice_routing") {
		t.Errorf("<log> record: %v", r)
	}
	if r := findRecord(recs, "error event"); r != nil && (r["event"] != "error.execution" || !strings.Contains(fmt.Sprint(r["err"]), "segment")) {
		t.Errorf("error event record: %v", r)
	}
}

// A session resumed from its record, and one lost because its record is
// gone when it should wake.
func TestObserverResumeAndLost(t *testing.T) {
	ctx := context.Background()
	clock, store, doc, s := leftBehind(t)
	rec := &recorder{}
	second, err := engine.New(engine.Options{Node: "b", Clock: clock, Store: store, HibernateAfter: time.Minute, Observer: rec.observer()})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	r, err := second.Resume(ctx, s.ID(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.take(); len(got) == 0 || got[0] != "session resumed voice_routing voice" {
		t.Errorf("resume: %q", got)
	}
	clock.Advance(2 * time.Minute)
	if err := store.Delete(ctx, persist.Writer{Node: "b"}, r.ID()); err != nil {
		t.Fatal(err)
	}
	rec.take()
	if err := r.Send(ctx, engine.Event{Name: "call.arrived"}); !errors.Is(err, engine.ErrWake) {
		t.Fatalf("wake without a record: %v", err)
	}
	if got := rec.take(); !slices.Equal(got, []string{"session lost voice_routing voice", "session ended voice_routing voice"}) {
		t.Errorf("lost: %q", got)
	}
}

// With TimingSample n, one run in n of a session is timed, with its
// checkpoint; the others are reported untimed.
func TestObserverTimingSample(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	obs := rec.observer()
	obs.TimingSample = 3
	eng, err := engine.New(engine.Options{Clock: engine.NewManualClock(benchStart), Store: persist.NewMemory(persist.MemoryOptions{}), Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	s, err := eng.Start(ctx, routingDoc(t), engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range append(append([]engine.Event(nil), routingSetup...), routingCycle...) {
		if err := s.Send(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	var timed []bool
	for i, m := range rec.steps {
		timed = append(timed, m.Timed)
		if m.Timed != (m.Duration > 0) || rec.cps[i].Timed != m.Timed || rec.cps[i].Timed != (rec.cps[i].Duration > 0) {
			t.Errorf("run %d: macrostep %+v, checkpoint %+v", i, m, rec.cps[i])
		}
	}
	if want := []bool{false, false, true, false, false}; !slices.Equal(timed, want) {
		t.Errorf("timed runs %v, want %v", timed, want)
	}
}

func TestObserverTransitions(t *testing.T) {
	ctx := context.Background()
	var got []string
	eng, err := engine.New(engine.Options{Clock: engine.NewManualClock(benchStart), Observer: &engine.Observer{
		Transition: func(i engine.TransitionInfo) {
			ev := "-"
			if i.Event != nil {
				ev = i.Event.Name
			}
			var targets []string
			for _, st := range i.Transition.Targets {
				targets = append(targets, st.ID)
			}
			got = append(got, fmt.Sprintf("%s %s->%s on %s", i.SessionID[:2], i.Transition.Source.ID, strings.Join(targets, ","), ev))
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	s, err := eng.Start(ctx, routingDoc(t), engine.StartOptions{ID: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range append(append([]engine.Event(nil), routingSetup...), engine.Event{Name: "target.failed"}) {
		if err := s.Send(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{
		"s1 waiting->lookup on call.arrived",
		"s1 lookup->routing on lookup.done",
		"s1 select->vip on -",                 // eventless, guarded by the datamodel
		"s1 routing->select on target.failed", // internal: routing is not exited
		"s1 select->vip on -",
	}
	if !slices.Equal(got, want) {
		t.Errorf("transitions:\n got %q\nwant %q", got, want)
	}
}

func TestJoinObservers(t *testing.T) {
	if engine.JoinObservers(nil, nil) != nil {
		t.Error("joining nothing gives an observer")
	}
	a, b := &recorder{}, &recorder{}
	only := a.observer()
	if engine.JoinObservers(nil, only) != only {
		t.Error("joining one does not give it back")
	}
	j := engine.JoinObservers(a.observer(), &engine.Observer{}, b.observer())
	j.Session(engine.SessionEvent{Kind: engine.SessionLost, Doc: "d", Type: engine.Voice})
	j.Event("s", "", &engine.Event{Name: "e"})
	j.ErrorEvent("s", &engine.Event{Name: "error.execution"}, errors.New("x"))
	j.Checkpoint(engine.CheckpointInfo{Op: engine.CheckpointDelete})
	j.Macrostep(engine.MacrostepInfo{})
	j.Recovery(engine.RecoveryInfo{Node: "n"})
	for _, r := range []*recorder{a, b} {
		if got := r.take(); len(got) != 6 || got[0] != "session lost d voice" {
			t.Errorf("joined observer: %q", got)
		}
	}
	sampled := &engine.Observer{TimingSample: 8, Macrostep: func(engine.MacrostepInfo) {}}
	if j := engine.JoinObservers(sampled, &engine.Observer{TimingSample: 4, Checkpoint: func(engine.CheckpointInfo) {}}); j.TimingSample != 4 {
		t.Errorf("joined TimingSample %d, want the finest, 4", j.TimingSample)
	}
	if j := engine.JoinObservers(sampled, a.observer()); j.TimingSample != 1 {
		t.Errorf("joined with an observer timing every run: TimingSample %d", j.TimingSample)
	}
}

// benchObserved is benchMacrosteps on the routing chart with Options
// opts.
func benchObserved(b *testing.B, store persist.Store, opts engine.Options) {
	benchMacrostepsWith(b, benchRoutingDoc, store, opts, routingSetup, routingCycle)
}

// observedOptions turn on everything issue 13 adds: the metrics
// observer, and a logger (at Info: the routing cycle runs no <log>, so
// it writes nothing, as in production where nothing goes wrong).
func observedOptions() engine.Options {
	return engine.Options{
		Observer: metrics.New().Observer(),
		Logger:   slog.New(slog.DiscardHandler),
	}
}

// BenchmarkMacrostepRoutingObserved is BenchmarkMacrostepRouting with
// the metrics observer and a logger on.
func BenchmarkMacrostepRoutingObserved(b *testing.B) {
	benchObserved(b, nil, observedOptions())
}

// BenchmarkCheckpointMemoryObserved is BenchmarkCheckpointMemory with
// the metrics observer and a logger on.
func BenchmarkCheckpointMemoryObserved(b *testing.B) {
	store := persist.NewMemory(persist.MemoryOptions{})
	defer store.Close()
	benchObserved(b, store, observedOptions())
}

// benchOverhead drives two voice_routing sessions in alternating blocks
// of 50 sends, one on a plain engine and one on an engine with opts (the
// observer and logger), and reports the time per macrostep of each in
// its fastest block, and how much slower the observed one is: on a
// loaded machine, the fastest of hundreds of blocks is the one least
// disturbed, for both alike, where two separate benchmarks' means
// differ by more than the observer costs.
func benchOverhead(b *testing.B, withStore bool, opts engine.Options) {
	doc := parseBenchDoc(b, benchRoutingDoc)
	ctx := context.Background()
	start := func(o engine.Options) *engine.Session {
		o.Clock = engine.NewManualClock(benchStart)
		if withStore {
			o.Store = persist.NewMemory(persist.MemoryOptions{})
		}
		eng, err := engine.New(o)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { eng.Close() })
		s, err := eng.Start(ctx, doc, engine.StartOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range routingSetup {
			if err := s.Send(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
		return s
	}
	sessions := [2]*engine.Session{start(engine.Options{}), start(opts)}
	const block = 50
	var best [2]time.Duration
	var sent [2]int
	b.ReportAllocs()
	i := 0
	var t0 time.Time
	for b.Loop() {
		which := (i / block) % 2
		if i%block == 0 {
			t0 = time.Now()
		}
		if err := sessions[which].Send(ctx, routingCycle[sent[which]%len(routingCycle)]); err != nil {
			b.Fatal(err)
		}
		sent[which]++
		i++
		if i%block == 0 {
			if d := time.Since(t0); best[which] == 0 || d < best[which] {
				best[which] = d
			}
		}
	}
	if best[0] == 0 || best[1] == 0 {
		return
	}
	plain := float64(best[0]) / block
	observed := float64(best[1]) / block
	b.ReportMetric(plain, "plain-ns/macrostep")
	b.ReportMetric(observed, "observed-ns/macrostep")
	b.ReportMetric(100*(observed/plain-1), "overhead-%")
}

// BenchmarkObserverOverheadRouting: the metrics observer and a logger
// against nothing, on BenchmarkMacrostepRouting's macrosteps.
func BenchmarkObserverOverheadRouting(b *testing.B) {
	benchOverhead(b, false, observedOptions())
}

// BenchmarkObserverOverheadCheckpoint: the same with every macrostep
// checkpointed into a MemoryStore (BenchmarkCheckpointMemory).
func BenchmarkObserverOverheadCheckpoint(b *testing.B) {
	benchOverhead(b, true, observedOptions())
}

// An Observer that panics does not take the engine down: OnSessionError
// hears of it, wrapping ErrPanic, and the session goes on.
func TestObserverPanics(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var heard []string
	boom := func() { panic("observer bug") }
	eng, err := engine.New(engine.Options{
		Clock: engine.NewManualClock(benchStart),
		Store: persist.NewMemory(persist.MemoryOptions{}),
		Observer: &engine.Observer{
			Macrostep:  func(engine.MacrostepInfo) { boom() },
			Transition: func(engine.TransitionInfo) { boom() },
			Event:      func(string, string, *engine.Event) { boom() },
			ErrorEvent: func(string, *engine.Event, error) { boom() },
			Checkpoint: func(engine.CheckpointInfo) { boom() },
			Session:    func(engine.SessionEvent) { boom() },
		},
		OnSessionError: func(id string, err error) {
			if !errors.Is(err, engine.ErrPanic) {
				t.Errorf("OnSessionError: %v does not wrap ErrPanic", err)
			}
			mu.Lock()
			heard = append(heard, strings.SplitN(err.Error(), ":", 2)[0])
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	s, err := eng.Start(ctx, routingDoc(t), engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []engine.Event{{Name: "call.arrived", Data: map[string]any{"ani": "1", "dnis": "2"}}, {Name: "lookup.done"}} {
		if err := s.Send(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Configuration(); !slices.Equal(got, []string{"general"}) {
		t.Errorf("configuration %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"Observer.Macrostep", "Observer.Transition", "Observer.Event", "Observer.ErrorEvent", "Observer.Checkpoint", "Observer.Session"} {
		if !slices.Contains(heard, want) {
			t.Errorf("no panic of %s reported (heard %v)", want, heard)
		}
	}
}

// An adoption, and each adopted session loaded on demand, reach
// Observer.Recovery; the adoption is logged at Info, once.
func TestObserverRecovery(t *testing.T) {
	ctx := context.Background()
	clock, store, doc, s := leftBehind(t)
	rec := &recorder{}
	var logs bytes.Buffer
	second, err := engine.New(engine.Options{Node: "b", Clock: clock, Store: store, Observer: rec.observer(),
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if _, err := second.Adopt(ctx, "a", engine.AdoptOptions{Documents: func(context.Context, string, [32]byte) (*scxml.Document, error) { return doc, nil }}); err != nil {
		t.Fatal(err)
	}
	if err := second.Send(ctx, s.ID(), engine.Event{Name: "call.arrived", Data: map[string]any{"ani": "1", "dnis": "2"}}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range rec.take() {
		if strings.HasPrefix(l, "recovery ") {
			got = append(got, l)
		}
	}
	want := []string{`recovery a session="" lazy=true resumed=0 failed=0`, fmt.Sprintf(`recovery a session=%q lazy=true resumed=1 failed=0`, s.ID())}
	if !slices.Equal(got, want) {
		t.Errorf("recoveries observed:\n%q\nwant\n%q", got, want)
	}
	recs := logRecords(t, &logs)
	n := 0
	for _, r := range recs {
		if r["msg"] == "recovery" {
			n++
			if r["level"] != "INFO" || r["from"] != "a" || r["lazy"] != true {
				t.Errorf("recovery logged as %v", r)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d recovery log records, want 1", n)
	}
}

// A panic in Observer.Recovery is reported to OnSessionError, wrapping
// ErrPanic; the recovery's caller goes on.
func TestObserverRecoveryPanics(t *testing.T) {
	var heard error
	eng, err := engine.New(engine.Options{
		Observer:       &engine.Observer{Recovery: func(engine.RecoveryInfo) { panic("observer bug") }},
		OnSessionError: func(_ string, err error) { heard = err },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	eng.ObserveRecovery(engine.RecoveryInfo{Node: "x"})
	if !errors.Is(heard, engine.ErrPanic) || !strings.Contains(fmt.Sprint(heard), "Observer.Recovery") {
		t.Fatalf("OnSessionError heard %v", heard)
	}
}

// leftBehind returns a routing session that node "a" started in store
// and left behind (its engine closed), with the clock and document.
func leftBehind(t *testing.T) (*engine.ManualClock, *persist.MemoryStore, *scxml.Document, *engine.Session) {
	t.Helper()
	clock := engine.NewManualClock(benchStart)
	store := persist.NewMemory(persist.MemoryOptions{Now: clock.Now})
	doc := routingDoc(t)
	first, err := engine.New(engine.Options{Node: "a", Clock: clock, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	s, err := first.Start(context.Background(), doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	return clock, store, doc, s
}
