package otelscxml_test

import (
	"context"
	"errors"
	"testing"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/otelscxml"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/recovery"
	"github.com/orsgo/engine/scxml"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

const doc = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="idle">
  <datamodel><data id="n" expr="0"/></datamodel>
  <state id="idle"><transition event="call" target="talk"><assign location="n" expr="n + 1"/></transition></state>
  <state id="talk">
    <transition event="oops"><assign location="nosuch.x" expr="1"/></transition>
    <transition event="hangup" target="done"/>
  </state>
  <final id="done"/>
</scxml>`

// A persisted session's runs become metrics and spans: a macrostep span
// per run with its checkpoint as a child, counters for runs, checkpoints
// (saves and the final delete), error events and session events.
func TestObserver(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	obs, err := otelscxml.Observer(otelscxml.Options{MeterProvider: mp, TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Options{Store: persist.NewMemory(persist.MemoryOptions{}), Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	d, err := scxml.Parse([]byte(doc), &scxml.Options{File: "call.scxml"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := e.Start(ctx, d, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"call", "oops", "hangup"} {
		if err := s.Send(ctx, engine.Event{Name: ev}); err != nil {
			t.Fatal(err)
		}
	}

	// Traces: four runs (start and three events), each with a checkpoint:
	// three saves and the delete when the call ended.
	var runs, saves, deletes int
	for _, sp := range spans.Ended() {
		switch sp.Name() {
		case "scxml.macrostep":
			runs++
		case "scxml.checkpoint":
			if !sp.Parent().IsValid() {
				t.Errorf("checkpoint span without a parent")
			}
			for _, a := range sp.Attributes() {
				if a.Key == "scxml.checkpoint.op" {
					if a.Value.AsString() == "delete" {
						deletes++
					} else {
						saves++
					}
				}
			}
		}
	}
	if runs != 4 || saves != 3 || deletes != 1 {
		t.Fatalf("spans: %d runs, %d saves, %d deletes; want 4, 3, 1", runs, saves, deletes)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	hists := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range data.DataPoints {
					sums[m.Name] += p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range data.DataPoints {
					hists[m.Name] += p.Count
				}
			case metricdata.Histogram[int64]:
				for _, p := range data.DataPoints {
					hists[m.Name] += p.Count
				}
			}
		}
	}
	want := map[string]int64{"scxml.macrosteps": 4, "scxml.checkpoints": 4, "scxml.error_events": 1, "scxml.session.events": 2}
	for name, n := range want {
		if sums[name] != n {
			t.Errorf("%s = %d, want %d (all: %v)", name, sums[name], n, sums)
		}
	}
	if hists["scxml.macrostep.duration"] != 4 || hists["scxml.checkpoint.duration"] != 4 || hists["scxml.checkpoint.size"] != 3 {
		t.Errorf("histograms %v", hists)
	}
}

func TestObserverOptions(t *testing.T) {
	if _, err := otelscxml.Observer(otelscxml.Options{TimingSample: -1}); err == nil {
		t.Fatal("TimingSample -1 accepted")
	}
	if obs, err := otelscxml.Observer(otelscxml.Options{}); err != nil || obs == nil {
		t.Fatalf("the global providers: %v", err)
	}
}

// collect returns the sums (by name, and by name and the value of
// attribute key "result", "lazy" or "op" as "name/value"), the
// histograms' counts and the gauges' values of one collection.
func collect(t *testing.T, reader *sdkmetric.ManualReader) (sums map[string]int64, hists map[string]uint64, gauges map[string]int64) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	sums, hists, gauges = map[string]int64{}, map[string]uint64{}, map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range data.DataPoints {
					sums[m.Name] += p.Value
					for _, k := range []string{"result", "lazy", "op"} {
						if v, ok := p.Attributes.Value(attribute.Key(k)); ok {
							sums[m.Name+"/"+v.Emit()] += p.Value
						}
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range data.DataPoints {
					hists[m.Name] += p.Count
				}
			case metricdata.Gauge[int64]:
				for _, p := range data.DataPoints {
					gauges[m.Name] += p.Value
				}
			}
		}
	}
	return sums, hists, gauges
}

// A recovery is counted with its sessions and time without the embedder
// reporting it; the old node's write, refused as fenced, is counted; the
// gauges tell persisted sessions from live ones.
func TestRecoveryFencingGauges(t *testing.T) {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	obs, err := otelscxml.Observer(otelscxml.Options{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	st := persist.NewMemory(persist.MemoryOptions{})
	d, err := scxml.Parse([]byte(doc), &scxml.Options{File: "call.scxml"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := engine.New(engine.Options{Node: "A", Store: st, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	var calls []*engine.Session
	for range 2 {
		s, err := a.Start(ctx, d, engine.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, s)
	}
	if _, err := a.Start(ctx, d, engine.StartOptions{Type: engine.Chat}); err != nil {
		t.Fatal(err)
	}
	b, err := engine.New(engine.Options{Node: "B", Store: st, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	reg, err := otelscxml.Gauges(otelscxml.Options{MeterProvider: mp}, b)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	if _, err := b.Start(ctx, d, engine.StartOptions{Type: engine.Chat}); err != nil {
		t.Fatal(err)
	}
	rep, err := recovery.Recover(ctx, b, "A", recovery.Options{Documents: recovery.NewLibrary(d)})
	if err != nil || rep.Resumed != 2 {
		t.Fatalf("recover: %+v, %v", rep, err)
	}
	// A, fenced, tries to write.
	if err := calls[0].Send(ctx, engine.Event{Name: "call"}); !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("send to the fenced node: %v", err)
	}
	sums, hists, gauges := collect(t, reader)
	want := map[string]int64{
		"scxml.recoveries": 1, "scxml.recoveries/false": 1,
		"scxml.recovery.sessions/resumed":       2,
		"scxml.recovery.sessions/not_recovered": int64(len(rep.NotRecovered)),
		"scxml.fenced_writes":                   1, "scxml.fenced_writes/save": 1,
	}
	for name, n := range want {
		if sums[name] != n {
			t.Errorf("%s = %d, want %d (all: %v)", name, sums[name], n, sums)
		}
	}
	if len(rep.NotRecovered) != 1 {
		t.Errorf("the chat session of A not reported: %v", rep.NotRecovered)
	}
	if hists["scxml.recovery.duration"] != 1 {
		t.Errorf("recovery durations %d, want 1", hists["scxml.recovery.duration"])
	}
	// Recover takes A's two calls over hibernated (rep.Hibernated): they
	// build their interpreters on their next event.
	if gauges["scxml.sessions.live"] != 3 || gauges["scxml.sessions.persisted"] != 2 || gauges["scxml.sessions.hibernated"] != int64(rep.Hibernated) || rep.Hibernated != 2 {
		t.Errorf("gauges %v (report: %d hibernated): want live 3, persisted 2, hibernated 2", gauges, rep.Hibernated)
	}
	if _, err := otelscxml.Gauges(otelscxml.Options{MeterProvider: mp}, nil); err == nil {
		t.Error("Gauges of a nil engine accepted")
	}
}
