package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/ids"
	"github.com/orsgo/engine/persist"
)

// node starts a Server of node id on st (shared between a primary and
// its backup) with the testdata documents, and an httptest server in
// front of it.
func node(t *testing.T, id string, role config.Role, st persist.Store) (*Server, *httptest.Server) {
	t.Helper()
	cfg := config.Defaults()
	cfg.Node = ids.NodeID(id)
	cfg.SessionIDWithNodeID = true
	n := config.NodeDefaults()
	n.Documents = []string{"testdata"}
	n.Role = role
	n.MaxBody = 4096
	n.RequestTimeout = 300 * time.Millisecond
	s, err := New(context.Background(), Options{Config: cfg, Node: n, Store: st, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	return s, hs
}

type answer struct {
	status int
	body   map[string]any
	raw    string
}

func call(t *testing.T, hs *httptest.Server, method, path, ctype, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: string(raw)}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("%s %s: answer %d is not a JSON object: %q", method, path, resp.StatusCode, raw)
	}
	return a
}

const form = "application/x-www-form-urlencoded"
const js = "application/json"

func start(t *testing.T, hs *httptest.Server, body string) string {
	t.Helper()
	a := call(t, hs, "POST", "/scxml/session/start", js, body)
	if a.status != 200 {
		t.Fatalf("start %s: %d %s", body, a.status, a.raw)
	}
	id, _ := a.body["sessionid"].(string)
	if id == "" {
		t.Fatalf("start: no sessionid in %s", a.raw)
	}
	return id
}

func TestStartEventQuery(t *testing.T) {
	st := persist.NewMemory(persist.MemoryOptions{})
	_, hs := node(t, "n1", config.RolePrimary, st)
	a := call(t, hs, "POST", "/scxml/session/start", form, "src=routing&caller=alice")
	if a.status != 200 {
		t.Fatalf("form start: %d %s", a.status, a.raw)
	}
	id := a.body["sessionid"].(string)
	if !strings.HasSuffix(id, "-n1") {
		t.Fatalf("session id %s does not carry the node", id)
	}
	// Answered after the first checkpoint: the record is there.
	if rec, err := st.Load(context.Background(), id); err != nil || rec.Seq != 1 {
		t.Fatalf("record after start: %v %v", rec, err)
	}
	a = call(t, hs, "POST", "/scxml/session/"+id+"/event/step", js, `{"n": 1}`)
	if a.status != 200 || fmt.Sprint(a.body["configuration"]) != "[routing]" {
		t.Fatalf("event step 1: %d %s", a.status, a.raw)
	}
	a = call(t, hs, "POST", "/scxml/session/"+id+"/event/step?n=2", "", "")
	if a.status != 200 || fmt.Sprint(a.body["configuration"]) != "[queued]" {
		t.Fatalf("event step 2 (query parameters): %d %s", a.status, a.raw)
	}
	a = call(t, hs, "POST", "/scxml/session/"+id+"/event/step", form, "n=3")
	if a.status != 200 || fmt.Sprint(a.body["configuration"]) != "[routing]" {
		t.Fatalf("event step 3 (form): %d %s", a.status, a.raw)
	}
	if rec, _ := st.Load(context.Background(), id); rec.Seq != 4 {
		t.Fatalf("record seq %d after three events, want 4", rec.Seq)
	}
	q := call(t, hs, "GET", "/scxml/session/"+id+"/query", "", "")
	if q.status != 200 {
		t.Fatalf("query: %d %s", q.status, q.raw)
	}
	dm := q.body["datamodel"].(map[string]any)
	if dm["caller"] != "alice" || dm["applied"] != 3.0 || fmt.Sprint(dm["seen"]) != "[1 2 3]" || dm["group"] != "support" {
		t.Fatalf("datamodel %v", dm)
	}
	if fmt.Sprint(q.body["configuration"]) != "[call routing]" || fmt.Sprint(q.body["atomic"]) != "[routing]" {
		t.Fatalf("configuration %v atomic %v", q.body["configuration"], q.body["atomic"])
	}
	if q.body["persisted"] != true || q.body["owner"] != "n1" || q.body["seq"] != 4.0 || q.body["epoch"] != 1.0 {
		t.Fatalf("query %s", q.raw)
	}
	// The node's figures count what it did: one start and three events,
	// each checkpointed.
	m := call(t, hs, "GET", "/admin/metrics", "", "")
	if m.status != 200 || m.body["sessions_live"] != 1.0 || m.body["sessions_started"] != 1.0 ||
		m.body["events"].(float64) < 3 || m.body["checkpoints"].(float64) < 4 || m.body["checkpoint_failures"] != 0.0 {
		t.Fatalf("metrics: %d %s", m.status, m.raw)
	}
	// A digital session is not persisted.
	chat := start(t, hs, `{"src": "chat.scxml", "session-type": "chat", "topic": "billing"}`)
	q = call(t, hs, "GET", "/scxml/session/"+chat+"/query", "", "")
	if q.body["persisted"] != false || q.body["type"] != "chat" || q.body["datamodel"].(map[string]any)["topic"] != "billing" {
		t.Fatalf("chat query %s", q.raw)
	}
	if _, err := st.Load(context.Background(), chat); !errors.Is(err, persist.ErrNotFound) {
		t.Fatalf("chat session has a record: %v", err)
	}
}

func TestQueryDelayedSends(t *testing.T) {
	_, hs := node(t, "n1", config.RolePrimary, persist.NewMemory(persist.MemoryOptions{}))
	id := start(t, hs, `{"src": "timers"}`)
	if a := call(t, hs, "POST", "/scxml/session/"+id+"/event/arm", js, `{"a": 60000, "b": 70000, "c": 80000}`); a.status != 200 {
		t.Fatalf("arm: %d %s", a.status, a.raw)
	}
	q := call(t, hs, "GET", "/scxml/session/"+id+"/query", "", "")
	d, _ := q.body["delayed"].([]any)
	if len(d) != 3 {
		t.Fatalf("delayed %v", q.body["delayed"])
	}
	var prev time.Time
	for i, want := range []string{"tick.a", "tick.b", "tick.c"} {
		m := d[i].(map[string]any)
		due, err := time.Parse(time.RFC3339Nano, m["due"].(string))
		if m["event"] != want || m["sendid"] != want[len(want)-1:] || err != nil || !due.After(prev) || due.Before(time.Now().Add(50*time.Second)) {
			t.Fatalf("delayed[%d] %v (%v)", i, m, err)
		}
		prev = due
	}
	if a := call(t, hs, "POST", "/scxml/session/"+id+"/event/stop", "", ""); a.status != 200 {
		t.Fatal(a.raw)
	}
	q = call(t, hs, "GET", "/scxml/session/"+id+"/query", "", "")
	if d, _ := q.body["delayed"].([]any); len(d) != 2 {
		t.Fatalf("after cancel: delayed %v", q.body["delayed"])
	}
}

func TestQueryChildren(t *testing.T) {
	_, hs := node(t, "n1", config.RolePrimary, persist.NewMemory(persist.MemoryOptions{}))
	id := start(t, hs, `{"src": "parent"}`)
	q := call(t, hs, "GET", "/scxml/session/"+id+"/query", "", "")
	kids, _ := q.body["children"].([]any)
	if q.status != 200 || len(kids) != 1 || !strings.HasPrefix(kids[0].(string), id) {
		t.Fatalf("children: %s", q.raw)
	}
}

func TestRequestResponse(t *testing.T) {
	_, hs := node(t, "n1", config.RolePrimary, persist.NewMemory(persist.MemoryOptions{}))
	id := start(t, hs, `{"src": "routing", "caller": "bob"}`)
	call(t, hs, "POST", "/scxml/session/"+id+"/event/step", js, `{"n": 1}`)
	a := call(t, hs, "POST", "/scxml/session/"+id+"/request/balance", "", "")
	if a.status != 200 {
		t.Fatalf("request balance: %d %s", a.status, a.raw)
	}
	if r, _ := a.body["response"].(map[string]any); r["applied"] != 1.0 || r["group"] != "sales" || r["caller"] != "bob" {
		t.Fatalf("<response> answer %s", a.raw)
	}
	a = call(t, hs, "POST", "/scxml/session/"+id+"/request/ask", "", "")
	if r, _ := a.body["response"].(map[string]any); a.status != 200 || r["applied"] != 1.0 || r["group"] != "sales" {
		t.Fatalf("send-to-origin answer: %d %s", a.status, a.raw)
	}
	a = call(t, hs, "POST", "/scxml/session/"+id+"/request/silent", "", "")
	if a.status != http.StatusGatewayTimeout || !strings.Contains(a.body["error"].(string), "request-timeout") {
		t.Fatalf("unanswered request: %d %s", a.status, a.raw)
	}
}

func TestTerminateAndEnded(t *testing.T) {
	st := persist.NewMemory(persist.MemoryOptions{})
	_, hs := node(t, "n1", config.RolePrimary, st)
	id := start(t, hs, `{"src": "routing"}`)
	if a := call(t, hs, "POST", "/scxml/session/"+id+"/terminate", "", ""); a.status != 200 || a.body["running"] != false {
		t.Fatalf("terminate: %d %s", a.status, a.raw)
	}
	if _, err := st.Load(context.Background(), id); !errors.Is(err, persist.ErrNotFound) {
		t.Fatalf("record after terminate: %v", err)
	}
	id2 := start(t, hs, `{"src": "routing"}`)
	if a := call(t, hs, "POST", "/scxml/session/"+id2+"/event/hangup", "", ""); a.status != 200 || a.body["running"] != false || fmt.Sprint(a.body["configuration"]) != "[released]" {
		t.Fatalf("hangup: %d %s", a.status, a.raw)
	}
	for _, sid := range []string{id, id2} {
		for _, p := range []string{"/event/step", "/terminate"} {
			if a := call(t, hs, "POST", "/scxml/session/"+sid+p, "", ""); a.status != http.StatusGone || !strings.Contains(a.raw, "ended") {
				t.Fatalf("%s after the end: %d %s", p, a.status, a.raw)
			}
		}
		if a := call(t, hs, "GET", "/scxml/session/"+sid+"/query", "", ""); a.status != http.StatusGone {
			t.Fatalf("query after the end: %d %s", a.status, a.raw)
		}
	}
}

// TestBadRequests sends every kind of bad request: each answers a 4xx
// with a message, and changes nothing (same sessions, same records).
func TestBadRequests(t *testing.T) {
	st := persist.NewMemory(persist.MemoryOptions{})
	s, hs := node(t, "n1", config.RolePrimary, st)
	id := start(t, hs, `{"src": "routing"}`)
	call(t, hs, "POST", "/scxml/session/"+id+"/event/step", js, `{"n": 1}`)
	ended := start(t, hs, `{"src": "routing"}`)
	call(t, hs, "POST", "/scxml/session/"+ended+"/terminate", "", "")
	unknown := "0123456789ABCDEF0123456789ABCDEF-n1"
	huge := `{"n": "` + strings.Repeat("x", 5000) + `"}`
	before := snapshotStore(t, s, st, id)
	for _, c := range []struct {
		name, method, path, ctype, body string
		status                          int
		msg                             string
	}{
		{"start without src", "POST", "/scxml/session/start", form, "caller=x", 400, "src (the document to run) is required"},
		{"start unknown document", "POST", "/scxml/session/start", form, "src=nosuch.scxml", 400, `src "nosuch.scxml": not a document this node serves (it serves chat.scxml, later.scxml, parent.scxml, routing.scxml, ticker.scxml, timers.scxml)`},
		{"start malformed JSON", "POST", "/scxml/session/start", js, `{"src": "routing",`, 400, "malformed JSON body"},
		{"start JSON not an object", "POST", "/scxml/session/start", js, `["routing"]`, 400, "must be an object of parameters"},
		{"start two JSON values", "POST", "/scxml/session/start", js, `{"src": "routing"} {}`, 400, "more than one value"},
		{"start data the document lacks", "POST", "/scxml/session/start", js, `{"src": "routing", "nosuch": 1}`, 400, `has no top-level <data id="nosuch">`},
		{"start bad session-type", "POST", "/scxml/session/start", form, "src=routing&session-type=fax", 400, "session-type fax: not one of voice"},
		{"start bad idealtime", "POST", "/scxml/session/start", form, "src=routing&idealtime=soon", 400, "idealtime soon"},
		{"start idealtime beyond the horizon", "POST", "/scxml/session/start", form, fmt.Sprintf("src=routing&idealtime=%d", time.Now().Add(time.Hour).UnixMilli()), 400, "beyond [node] idealtime-horizon"},
		{"start malformed form", "POST", "/scxml/session/start", form, "src=routing&caller=%zz", 400, "malformed form body"},
		{"start huge body", "POST", "/scxml/session/start", js, huge, 413, "larger than 4096 bytes ([node] max-body)"},
		{"start huge form body", "POST", "/scxml/session/start", form, "src=routing&caller=" + strings.Repeat("x", 5000), 413, "larger than 4096 bytes ([node] max-body)"},
		{"start other content type", "POST", "/scxml/session/start", "text/xml", "<x/>", 415, "want application/json"},
		{"start with GET", "GET", "/scxml/session/start", "", "", 405, ""},
		{"event malformed JSON", "POST", "/scxml/session/" + id + "/event/step", js, `{"n": }`, 400, "malformed JSON body"},
		{"event JSON list with query parameters", "POST", "/scxml/session/" + id + "/event/step?x=1", js, `[1]`, 400, "cannot be merged"},
		{"event huge body", "POST", "/scxml/session/" + id + "/event/step", js, huge, 413, "max-body"},
		{"event bad name", "POST", "/scxml/session/" + id + "/event/a..b", "", "", 400, "empty token between dots"},
		{"event bad name character", "POST", "/scxml/session/" + id + "/event/a%20b", "", "", 400, "is not allowed"},
		{"event unknown session", "POST", "/scxml/session/" + unknown + "/event/step", "", "", 404, "no session " + unknown},
		{"event malformed session id", "POST", "/scxml/session/not-an-id!/event/step", "", "", 400, `session id "not-an-id!"`},
		{"event session of another node", "POST", "/scxml/session/0123456789ABCDEF0123456789ABCDEF-n9/event/step", "", "", 404, "its id names node n9"},
		{"event ended session", "POST", "/scxml/session/" + ended + "/event/step", "", "", 410, "has ended"},
		{"request ended session", "POST", "/scxml/session/" + ended + "/request/balance", "", "", 410, "has ended"},
		{"request unknown session", "POST", "/scxml/session/" + unknown + "/request/balance", "", "", 404, "no session " + unknown},
		{"request malformed JSON", "POST", "/scxml/session/" + id + "/request/balance", js, `{"n": }`, 400, "malformed JSON body"},
		{"request huge body", "POST", "/scxml/session/" + id + "/request/balance", js, huge, 413, "max-body"},
		{"terminate ended session", "POST", "/scxml/session/" + ended + "/terminate", "", "", 410, "has ended"},
		{"query unknown session", "GET", "/scxml/session/" + unknown + "/query", "", "", 404, "no session"},
		{"terminate unknown session", "POST", "/scxml/session/" + unknown + "/terminate", "", "", 404, "no session"},
		{"query with POST", "POST", "/scxml/session/" + id + "/query", "", "", 405, ""},
		{"unknown resource", "GET", "/scxml/nothing", "", "", 404, "no such resource"},
		{"sessions of a malformed node", "GET", "/admin/sessions?node=bad!node", "", "", 400, `node "bad!node"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, hs.URL+c.path, strings.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, raw)
			}
			if c.msg != "" && !strings.Contains(string(raw), strings.ReplaceAll(c.msg, `"`, `\"`)) && !strings.Contains(string(raw), jsonEscape(c.msg)) {
				t.Fatalf("answer %s lacks %q", raw, c.msg)
			}
			if after := snapshotStore(t, s, st, id); !reflect.DeepEqual(before, after) {
				t.Fatalf("the request changed something:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// snapshotStore is what a bad request must not change: the sessions
// running, the node's index, and the record and datamodel of id.
func snapshotStore(t *testing.T, s *Server, st persist.Store, id string) []string {
	t.Helper()
	ctx := context.Background()
	out := []string{fmt.Sprint(len(s.e.Sessions()))}
	l, _ := st.ListNode(ctx, "n1")
	out = append(out, fmt.Sprint(l))
	rec, err := st.Load(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, fmt.Sprint(rec.Seq), string(rec.Data))
	sess, _ := s.e.Session(id)
	d, _ := sess.Data()
	out = append(out, fmt.Sprint(d))
	return out
}

// TestBackupPromoteFencesPrimary: in process, on one store: a backup
// serves nothing until promoted; promoted, it serves the primary's
// sessions from their records; the old primary, fenced, serves nothing
// more and its health says so.
func TestBackupPromoteFencesPrimary(t *testing.T) {
	st := persist.NewMemory(persist.MemoryOptions{})
	p, ph := node(t, "n1", config.RolePrimary, st)
	b, bh := node(t, "n1", config.RoleBackup, st)
	id := start(t, ph, `{"src": "routing", "caller": "carol"}`)
	call(t, ph, "POST", "/scxml/session/"+id+"/event/step", js, `{"n": 1}`)

	if a := call(t, bh, "GET", "/admin/health", "", ""); a.status != 503 || a.body["state"] != "backup" || a.body["ready"] != false {
		t.Fatalf("backup health: %d %s", a.status, a.raw)
	}
	if a := call(t, bh, "POST", "/scxml/session/"+id+"/event/step", js, `{"n": 2}`); a.status != 503 || !strings.Contains(a.raw, "backup") {
		t.Fatalf("event to the backup: %d %s", a.status, a.raw)
	}
	if a := call(t, bh, "POST", "/scxml/session/start", form, "src=routing"); a.status != 503 {
		t.Fatalf("start on the backup: %d %s", a.status, a.raw)
	}
	a := call(t, bh, "POST", "/admin/promote", "", "")
	if a.status != 200 || a.body["state"] != "serving" || a.body["epoch"] != 2.0 {
		t.Fatalf("promote: %d %s", a.status, a.raw)
	}
	// The new primary loads the session on demand, where it stood.
	a = call(t, bh, "POST", "/scxml/session/"+id+"/event/step", js, `{"n": 2}`)
	if a.status != 200 || fmt.Sprint(a.body["configuration"]) != "[queued]" {
		t.Fatalf("event to the promoted backup: %d %s", a.status, a.raw)
	}
	// The old primary's next write is refused: it stops serving.
	a = call(t, ph, "POST", "/scxml/session/"+id+"/event/step", js, `{"n": 3}`)
	if a.status != 503 || a.body["owner"] != "n1" || !strings.Contains(a.raw, "lost") {
		t.Fatalf("event to the fenced primary: %d %s", a.status, a.raw)
	}
	if a := call(t, ph, "GET", "/admin/health", "", ""); a.status != 503 || a.body["state"] != "fenced" || a.body["fenced"] == nil {
		t.Fatalf("fenced primary's health: %d %s", a.status, a.raw)
	}
	if a := call(t, ph, "POST", "/scxml/session/start", form, "src=routing"); a.status != 503 {
		t.Fatalf("start on the fenced primary: %d %s", a.status, a.raw)
	}
	if a := call(t, ph, "POST", "/admin/promote", "", ""); a.status != 409 {
		t.Fatalf("promote a fenced node: %d %s", a.status, a.raw)
	}
	q := call(t, bh, "GET", "/scxml/session/"+id+"/query", "", "")
	if dm := q.body["datamodel"].(map[string]any); dm["applied"] != 2.0 || dm["caller"] != "carol" || q.body["seq"] != 4.0 {
		t.Fatalf("after failover: %s", q.raw)
	}
	if p.State() != StateFenced || b.State() != StateServing {
		t.Fatalf("states %s %s", p.State(), b.State())
	}
}

// TestFenceWatch: a primary that writes nothing learns from the epoch
// watch that another process promoted its node id.
func TestFenceWatch(t *testing.T) {
	st := persist.NewMemory(persist.MemoryOptions{})
	p, ph := node(t, "n1", config.RolePrimary, st)
	if _, err := st.Promote(context.Background(), "n1"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * FenceCheck)
	for p.State() != StateFenced && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if a := call(t, ph, "GET", "/admin/health", "", ""); a.body["state"] != "fenced" {
		t.Fatalf("health %s", a.raw)
	}
}

// TestSessionOfAnotherNode: a session whose record another node owns is
// answered 409 naming the owner.
func TestSessionOfAnotherNode(t *testing.T) {
	st := persist.NewMemory(persist.MemoryOptions{})
	_, h1 := node(t, "n1", config.RolePrimary, st)
	_, h2 := node(t, "n2", config.RolePrimary, st)
	id := start(t, h2, `{"src": "routing"}`)
	a := call(t, h1, "POST", "/scxml/session/"+id+"/event/step", js, `{"n": 1}`)
	if a.status != 409 || a.body["owner"] != "n2" || !strings.Contains(a.raw, "run by node n2") {
		t.Fatalf("event to a session of n2 at n1: %d %s", a.status, a.raw)
	}
	l := call(t, h1, "GET", "/admin/sessions?node=n2", "", "")
	if ss, _ := l.body["sessions"].([]any); len(ss) != 1 || ss[0].(map[string]any)["sessionid"] != id || ss[0].(map[string]any)["here"] != false {
		t.Fatalf("sessions of n2 seen from n1: %s", l.raw)
	}
}

// TestServeDrains: Serve returns nil once its context ends, after the
// requests in flight; the sessions' records stay for a backup.
func TestServeDrains(t *testing.T) {
	st := persist.NewMemory(persist.MemoryOptions{})
	cfg := config.Defaults()
	cfg.Node, cfg.SessionIDWithNodeID = "n1", true
	n := config.NodeDefaults()
	n.Documents = []string{"testdata/routing.scxml"}
	s, err := New(context.Background(), Options{Config: cfg, Node: n, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	url := "http://" + ln.Addr().String()
	resp, err := http.Post(url+"/scxml/session/start", js, strings.NewReader(`{"src": "routing"}`))
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]string
	json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s.State() != StateClosed {
		t.Fatalf("state %s", s.State())
	}
	if _, err := st.Load(context.Background(), out["sessionid"]); err != nil {
		t.Fatalf("record after drain: %v", err)
	}
	if _, err := http.Post(url+"/scxml/session/start", js, strings.NewReader(`{"src": "routing"}`)); err == nil {
		t.Fatal("a drained node still accepts connections")
	}
}

// slowPromote is a MemoryStore whose Promote waits for release: the
// node stays in StatePromoting meanwhile.
type slowPromote struct {
	*persist.MemoryStore
	entered chan struct{}
	release chan struct{}
}

func (s *slowPromote) Promote(ctx context.Context, node string) (uint64, error) {
	s.entered <- struct{}{}
	<-s.release
	return s.MemoryStore.Promote(ctx, node)
}

// TestPromotingAnswers503: while a promotion is under way the node
// answers 503 (with Retry-After) and its health says promoting; a
// second promote waits for the first; then it serves.
func TestPromotingAnswers503(t *testing.T) {
	st := &slowPromote{MemoryStore: persist.NewMemory(persist.MemoryOptions{}), entered: make(chan struct{}, 1), release: make(chan struct{})}
	b, bh := node(t, "n1", config.RoleBackup, st)
	first := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", bh.URL+"/admin/promote", nil)
		resp, err := bh.Client().Do(req)
		if err != nil {
			first <- answer{}
			return
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		first <- answer{status: resp.StatusCode, raw: string(raw)}
	}()
	<-st.entered
	if b.State() != StatePromoting {
		t.Fatalf("state %s", b.State())
	}
	req, _ := http.NewRequest("POST", bh.URL+"/scxml/session/start", strings.NewReader("src=routing"))
	req.Header.Set("Content-Type", form)
	resp, err := bh.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(raw), "promotion under way") {
		t.Fatalf("start while promoting: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), raw)
	}
	if a := call(t, bh, "GET", "/admin/health", "", ""); a.status != 503 || a.body["state"] != "promoting" {
		t.Fatalf("health while promoting: %d %s", a.status, a.raw)
	}
	close(st.release)
	if a := <-first; a.status != 200 {
		t.Fatalf("promote: %d %s", a.status, a.raw)
	}
	if a := call(t, bh, "POST", "/admin/promote", "", ""); a.status != 200 || a.body["state"] != "serving" {
		t.Fatalf("second promote: %d %s", a.status, a.raw)
	}
	start(t, bh, `{"src": "routing"}`)
}
