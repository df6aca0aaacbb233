package engine_test

import (
	"testing"
	"time"

	"github.com/orsgo/engine"
	"github.com/orsgo/engine/interp"
)

// benchExport runs the document at path in an interpreter session, one
// event of cycle per iteration, and snapshots it after each macrostep
// (Session.SnapshotInto into one reused Snapshot: the datamodel's export
// of its variables and the rest of the state, not its encoding). The
// export-ns/op metric is the time of the snapshot alone, measured around
// it, so that the macrostep's cost and noise stay out of it.
func benchExport(b *testing.B, path string, setup, cycle []engine.Event) {
	_, s := interpSession(b, path)
	step := func(ev engine.Event) { interpStep(b, s, ev) }
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
