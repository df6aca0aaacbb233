package snapshot_test

import (
	"testing"
	"time"

	"github.com/orsgo/engine/datamodel"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
	"github.com/orsgo/engine/scxml"
)

// realCase is a session of a real document at a point where its
// snapshot holds what a checkpoint stores: testdata/<name>.* are its
// golden records (compat_test.go).
type realCase struct {
	name, doc, id string
	// events are run one macrostep each; queued are left in the
	// external queue.
	events, queued []interp.Event
}

var realStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var realCases = []realCase{
	{
		// voice_routing between two events, as it hibernates: a queue
		// timeout pending, sent by the session itself.
		name: "routing", doc: "../../fixtures/testdata/routing/voice_routing.scxml", id: "AC20BEFB33AC4730B9D54C02FE41A9D0-node1",
		events: []interp.Event{
			{Name: "call.arrived", Data: map[string]any{"ani": "+33142000000", "dnis": "8000", "language": "fr"}},
			{Name: "lookup.done", Data: map[string]any{"segment": "gold"}},
			{Name: "target.selected", Data: map[string]any{"agent": "7001"}},
			{Name: "transfer.failed"},
		},
	},
	{
		name: "call_flow", doc: "../../testdata/bench/call_flow.scxml", id: "C90C54AD879A4FE884A8F9626AD326B0-node1",
		events: []interp.Event{
			{Name: "score", Data: map[string]any{"delta": int64(17)}},
			{Name: "agent.ready", Data: map[string]any{"skill": "billing"}},
			{Name: "hold"},
		},
	},
	{
		// An invoked child with its own delayed sends, delayed sends of
		// both I/O processors, and queued events of every origin.
		name: "invoke", doc: "testdata/invoke.scxml", id: "5B1E0C7D2A9F4E3B8C6D1A0F9E8D7C6B-node2",
		queued: []interp.Event{
			{Name: "from.self", SendID: "x1", Origin: "#_scxml_5B1E0C7D2A9F4E3B8C6D1A0F9E8D7C6B-node2", OriginType: interp.SCXMLProcessorType, Data: map[string]any{"a": int64(1), "b": []any{"x", 2.5}}},
			{Name: "from.http", Origin: "http://127.0.0.1:9/out", OriginType: "http://www.w3.org/TR/scxml/#BasicHTTPEventProcessor", Raw: "POST /in HTTP/1.1\r\n\r\n_scxmleventname=from.http"},
			{Name: "from.other", Origin: "#_scxml_other-session", OriginType: interp.SCXMLProcessorType, InvokeID: "kid"},
		},
	},
}

// session runs c's document to where its golden records were taken.
func (c realCase) session(t testing.TB) (*interp.Machine, *interp.Session) {
	t.Helper()
	doc, err := scxml.ParseFile(c.doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := interp.Compile(doc, datamodel.Standard())
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSession(c.id, interp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(realStart); err != nil {
		t.Fatal(err)
	}
	for _, ev := range c.events {
		ev.Type = interp.External
		s.Enqueue(ev)
		if err := s.Run(); err != nil {
			t.Fatal(err)
		}
	}
	for _, ev := range c.queued {
		s.Enqueue(ev)
	}
	return m, s
}

// BenchmarkAppendSession: what a checkpoint of each real session costs
// in this package and the interpreter (SnapshotInto with its
// datamodel's AppendVars, and the encoding), into a reused buffer.
func BenchmarkAppendSession(b *testing.B) {
	for _, c := range realCases {
		b.Run(c.name, func(b *testing.B) {
			_, s := c.session(b)
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = snapshot.AppendSession(buf[:0], s); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(buf)), "bytes/snapshot")
		})
	}
}

// BenchmarkAppendEncode: the encoding alone, of each real session's
// snapshot.
func BenchmarkAppendEncode(b *testing.B) {
	for _, c := range realCases {
		b.Run(c.name, func(b *testing.B) {
			_, s := c.session(b)
			snap, err := s.Snapshot()
			if err != nil {
				b.Fatal(err)
			}
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				if buf, err = snapshot.AppendEncode(buf[:0], snap); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSnapshotInto: the interpreter's part of AppendSession.
func BenchmarkSnapshotInto(b *testing.B) {
	_, s := realCases[0].session(b)
	var snap interp.Snapshot
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SnapshotInto(&snap); err != nil {
			b.Fatal(err)
		}
	}
}
