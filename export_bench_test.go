package engine_test

import (
	"testing"
	"time"

	"github.com/orsgo/engine"
	"github.com/orsgo/engine/datamodel"
	"github.com/orsgo/engine/interp"
)

// benchExport runs the document at path in an interpreter session, one
// event of cycle per iteration, and snapshots it after each macrostep
// (Session.SnapshotInto into one reused Snapshot: the datamodel's export
// of its variables and the rest of the state, not its encoding). The
// export-ns/op metric is the time of the snapshot alone, measured around
// it, so that the macrostep's cost and noise stay out of it.
func benchExport(b *testing.B, path string, setup, cycle []engine.Event) {
	m, err := interp.Compile(parseBenchDoc(b, path), datamodel.Standard())
	if err != nil {
		b.Fatal(err)
	}
	s, err := m.NewSession("bench-session", interp.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(benchStart); err != nil {
		b.Fatal(err)
	}
	step := func(ev engine.Event) {
		ev.Type = interp.External
		s.Enqueue(ev)
		if err := s.Run(); err != nil {
			b.Fatal(err)
		}
	}
	for _, ev := range setup {
		step(ev)
	}
	snap := new(interp.Snapshot)
	if err := s.SnapshotInto(snap); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var spent time.Duration
	i := 0
	for b.Loop() {
		step(cycle[i%len(cycle)])
		t0 := time.Now()
		if err := s.SnapshotInto(snap); err != nil {
			b.Fatal(err)
		}
		spent += time.Since(t0)
		i++
	}
	b.ReportMetric(float64(spent.Nanoseconds())/float64(i), "export-ns/op")
	if !s.Running() {
		b.Fatal("the session ended")
	}
}

// BenchmarkExportRouting: voice_routing's macrosteps, each followed by a
// snapshot (what a checkpoint asks of the datamodel).
func BenchmarkExportRouting(b *testing.B) {
	benchExport(b, benchRoutingDoc, routingSetup, routingCycle)
}

// BenchmarkExportCallFlow: call_flow's macrosteps, each followed by a
// snapshot: tracked stores into nested objects of call.
func BenchmarkExportCallFlow(b *testing.B) {
	benchExport(b, benchCallDoc, nil, callFlowCycle)
}
