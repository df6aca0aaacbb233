package server

import (
	"testing"

	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/persist"
)

// TestAdminMetricsFailover: /admin/metrics shows the persisted-sessions
// gauge apart from the live one, the recoveries a promotion runs (an
// adoption, then each session loaded on demand) and the writes the store
// refused as fenced, on both sides of a failover.
func TestAdminMetricsFailover(t *testing.T) {
	st := persist.NewMemory(persist.MemoryOptions{})
	_, ph := node(t, "n1", config.RolePrimary, st)
	_, bh := node(t, "n1", config.RoleBackup, st)
	id := start(t, ph, `{"src": "routing", "caller": "carol"}`)
	start(t, ph, `{"src": "chat.scxml", "session-type": "chat", "topic": "billing"}`)
	m := call(t, ph, "GET", "/admin/metrics", "", "")
	if m.body["sessions_live"] != 2.0 || m.body["sessions_persisted"] != 1.0 || m.body["fenced_writes"] != 0.0 {
		t.Fatalf("primary's metrics: %s", m.raw)
	}
	// The primary adopted what its node id left at start: one recovery.
	if m.body["recoveries"] != 1.0 || m.body["adoptions"] != 1.0 {
		t.Fatalf("primary's recoveries: %s", m.raw)
	}
	if a := call(t, bh, "POST", "/admin/promote", "", ""); a.status != 200 {
		t.Fatalf("promote: %d %s", a.status, a.raw)
	}
	if a := call(t, bh, "POST", "/scxml/session/"+id+"/event/step", js, `{"n": 1}`); a.status != 200 {
		t.Fatalf("event to the promoted backup: %d %s", a.status, a.raw)
	}
	m = call(t, bh, "GET", "/admin/metrics", "", "")
	if m.body["recoveries"] != 1.0 || m.body["recovered_sessions"] != 1.0 || m.body["sessions_persisted"] != 1.0 {
		t.Fatalf("promoted backup's metrics: %s", m.raw)
	}
	if h, _ := m.body["recovery_time_ns"].(map[string]any); h["count"] != 1.0 {
		t.Fatalf("promoted backup's recovery time: %s", m.raw)
	}
	// The old primary's next write is refused, and counted.
	if a := call(t, ph, "POST", "/scxml/session/"+id+"/event/step", js, `{"n": 2}`); a.status != 503 {
		t.Fatalf("event to the fenced primary: %d %s", a.status, a.raw)
	}
	m = call(t, ph, "GET", "/admin/metrics", "", "")
	if m.body["fenced_writes"] != 1.0 || m.body["sessions_fenced"] != 1.0 || m.body["sessions_persisted"] != 0.0 {
		t.Fatalf("fenced primary's metrics: %s", m.raw)
	}
}
