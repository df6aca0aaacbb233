package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/internal/redistest"
	"github.com/orsgo/engine/persist"
	"github.com/redis/go-redis/v9"
)

const queueChildDoc = "../fixtures/testdata/routing/queue_child_wait.scxml"

// inspectFixture is a Redis holding what two real engines wrote, plus a
// damaged record and a stale index entry, as an operator would find it.
type inspectFixture struct {
	cfg               string
	raw               redis.UniversalClient
	keys              *persist.RedisStore // for key names only
	french, lookup    string              // sessions of n1
	clock             time.Time           // n1's (manual) clock: due times are from it
	child, other, bad string              // n1's queue_child session, n2's session, the damaged record
}

func newInspectFixture(t *testing.T, addrs []string, cluster bool) *inspectFixture {
	t.Helper()
	f := &inspectFixture{cfg: writeConfig(t, "insp", "n1", addrs)}
	n1 := startNode(t, f.cfg)
	f.clock = n1.clock.Now()
	f.french = n1.start(t, routingDoc, frenchCall...)
	f.lookup = n1.start(t, routingDoc, frenchCall[0])
	f.child = n1.start(t, queueChildDoc, frenchCall[0])
	n2 := startNode(t, writeConfig(t, "insp", "n2", addrs))
	f.other = n2.start(t, routingDoc)
	if cluster {
		f.raw = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	} else {
		f.raw = redis.NewClient(&redis.Options{Addr: addrs[0]})
	}
	t.Cleanup(func() { f.raw.Close() })
	// The same kind of client as the engines', for the same key layout
	// (a cluster store spreads its keys over shards).
	var kc redis.UniversalClient = redis.NewClient(&redis.Options{Addr: addrs[0]})
	if cluster {
		kc = redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	}
	keys, err := persist.NewRedis(kc, persist.RedisOptions{Cluster: "insp", SweepInterval: persist.NoSweep})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	f.keys = keys
	ctx := context.Background()
	f.bad = "n1-damaged"
	if err := f.raw.Set(ctx, keys.SessionKey(f.bad), "ORSR\x01 not a record", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{f.bad, "n1-gone"} {
		if err := f.raw.ZAdd(ctx, keys.IndexKey("n1", id), redis.Z{Score: 0, Member: id}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func inspectOK(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := runCmd(append([]string{"inspect"}, args...)...)
	if code != 0 {
		t.Fatalf("inspect %v: exit %d: %s", args, code, errOut)
	}
	return out
}

func inspectJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := inspectOK(t, append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("inspect %v --json: %v\n%s", args, err, out)
	}
}

// dump is every key with its value (or members), to prove inspect wrote
// nothing.
func (f *inspectFixture) dump(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	var keys []string
	scan := func(ctx context.Context, c *redis.Client) error {
		ks, err := c.Keys(ctx, "*").Result()
		keys = append(keys, ks...)
		return err
	}
	var err error
	if cc, ok := f.raw.(*redis.ClusterClient); ok {
		var mu sync.Mutex // ForEachMaster runs in parallel
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			return scan(ctx, c)
		})
	} else {
		err = scan(ctx, f.raw.(*redis.Client))
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		switch f.raw.Type(ctx, k).Val() {
		case "set":
			m := f.raw.SMembers(ctx, k).Val()
			slices.Sort(m)
			out[k] = strings.Join(m, ",")
		case "zset":
			out[k] = fmt.Sprint(f.raw.ZRangeWithScores(ctx, k, 0, -1).Val())
		case "hash":
			out[k] = fmt.Sprint(f.raw.HGetAll(ctx, k).Val())
		default:
			out[k] = f.raw.Get(ctx, k).Val()
		}
	}
	return out
}

func TestInspectStandalone(t *testing.T) {
	srv := redistest.Standalone(t)
	f := newInspectFixture(t, []string{srv.Addr}, false)
	before := f.dump(t)
	f.checkNodes(t)
	f.checkNode(t)
	f.checkSession(t)
	if after := f.dump(t); len(after) != len(before) {
		t.Errorf("inspect changed Redis: %d keys before, %d after", len(before), len(after))
	} else {
		for k, v := range before {
			if after[k] != v {
				t.Errorf("inspect changed %s", k)
			}
		}
	}
	f.checkDelete(t)
}

func TestInspectCluster(t *testing.T) {
	c := redistest.Cluster(t, 3, 0)
	f := newInspectFixture(t, c.Addrs(), true)
	f.checkNodes(t)
	f.checkNode(t)
	f.checkSession(t)
}

func (f *inspectFixture) checkNodes(t *testing.T) {
	out := inspectOK(t, "--config", f.cfg)
	for _, re := range []string{`(?m)^NODE\s+SESSIONS\s+STALE INDEX ENTRIES$`, `(?m)^n1\s+4\s+1$`, `(?m)^n2\s+1\s+0$`, `(?m)^total\s+5`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("nodes: no line %s in\n%s", re, out)
		}
	}
	var js struct{ Nodes []nodeSummary }
	inspectJSON(t, &js, "--config", f.cfg)
	if len(js.Nodes) != 2 || js.Nodes[0] != (nodeSummary{"n1", 4, 1}) || js.Nodes[1] != (nodeSummary{"n2", 1, 0}) {
		t.Errorf("nodes --json: %+v", js.Nodes)
	}
}

func (f *inspectFixture) checkNode(t *testing.T) {
	out := inspectOK(t, "--config", f.cfg, "--node", "n1")
	for _, want := range []string{"SESSION", "DOCUMENT", "TTL", "HIBERNATED", f.french, f.lookup, f.child, "queue_child", "1 damaged record", "session n1-damaged: record header truncated", "n1-gone"} {
		if !strings.Contains(out, want) {
			t.Errorf("node n1: no %q in\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`(?m)^n1-damaged\s+DAMAGED\s+(59m\d+s|1h)\s+-\s*$`).MatchString(out) {
		t.Errorf("node n1: damaged record's line wrong:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(f.french) + `\s+voice_routing\s+voice\s+\S+\s+\S+\s+(59m\d+s|1h)\s+(in|overdue) \S+\s+3\s+n1\s+-$`).MatchString(out) {
		t.Errorf("node n1: french call's line wrong:\n%s", out)
	}
	var js struct {
		Node     string
		Sessions []sessionSummary
		Stale    []string `json:"stale_index_entries"`
	}
	inspectJSON(t, &js, "--config", f.cfg, "--node", "n1")
	if js.Node != "n1" || len(js.Sessions) != 4 || len(js.Stale) != 1 || js.Stale[0] != "n1-gone" {
		t.Fatalf("node n1 --json: %+v", js)
	}
	for _, s := range js.Sessions {
		switch s.ID {
		case f.bad:
			if !strings.Contains(s.Damaged, "corrupt") {
				t.Errorf("damaged record: %+v", s)
			}
		case f.french:
			if s.Doc != "voice_routing" || s.Type != "voice" || s.Owner != "n1" || s.Seq != 3 || s.TTLS < 3500 || s.TTLS > 3600 || s.Hibern || s.Bytes == 0 || s.Created == "" || s.DueInS == nil || *s.DueInS > 30 || s.Due != stamp(f.clock.Add(30*time.Second)) {
				t.Errorf("french call: %+v", s)
			}
		}
	}
}

func (f *inspectFixture) checkSession(t *testing.T) {
	out := inspectOK(t, "--config", f.cfg, "--session", f.french, "--doc", "../fixtures/testdata/routing")
	for _, want := range []string{
		"session " + f.french, "document    voice_routing (sha256", "/voice_routing", "owner       n1", "indexed by  n1", "seq         3",
		"configuration: in_call routing french",
		`call = {"ani":"+33142000000","dnis":"8000","language":"fr"}`, `group = "French_Agents"`, "retries = 0",
		"delayed sends: 1", "queue.timeout (sendid qt) due", "internal queue: none", "invoked: none",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("session: no %q in\n%s", want, out)
		}
	}
	// Without the document, states are shown by index.
	if out := inspectOK(t, "--config", f.cfg, "--session", f.french); !strings.Contains(out, "configuration: #1 #4 #7") || !strings.Contains(out, "give --doc") {
		t.Errorf("session without --doc:\n%s", out)
	}
	var rep sessionReport
	inspectJSON(t, &rep, "--config", f.cfg, "--session", f.lookup, "--doc", routingDoc)
	st := rep.State
	if st == nil || strings.Join(st.Configuration, " ") != "in_call lookup" || !st.Running || len(st.Delayed) != 1 {
		t.Fatalf("lookup session --json: %+v", rep)
	}
	if d := st.Delayed[0]; d.Event != "lookup.timeout" || d.SendID != "lt" || d.InS > 3 || d.Due != stamp(f.clock.Add(3*time.Second)) {
		t.Errorf("lookup's delayed send: %+v", d)
	}
	// The invoked child is shown with its own configuration, named from
	// the source its snapshot carries.
	out = inspectOK(t, "--config", f.cfg, "--session", f.child, "--doc", queueChildDoc)
	for _, want := range []string{"configuration: call routing queued", "invoked: 1", "router (", "queue_child_sub.scxml", "subscriptions:"} {
		if !strings.Contains(out, want) {
			t.Errorf("queue_child session: no %q in\n%s", want, out)
		}
	}
	if out := inspectOK(t, "--config", f.cfg, "--session", f.bad); !strings.Contains(out, "DAMAGED") || !strings.Contains(out, "corrupt") {
		t.Errorf("damaged session:\n%s", out)
	}
	if code, _, errOut := runCmd("inspect", "--config", f.cfg, "--session", "n1-gone"); code != 1 || !strings.Contains(errOut, "not found") || !strings.Contains(errOut, "stale entry in the index of n1") {
		t.Errorf("stale session: exit %d %q", code, errOut)
	}
}

func (f *inspectFixture) checkDelete(t *testing.T) {
	ctx := context.Background()
	saved := stdin
	t.Cleanup(func() { stdin = saved })
	stdin = strings.NewReader("n\n")
	if out := inspectOK(t, "--config", f.cfg, "--delete", f.french); !strings.Contains(out, "? [y/N]") || !strings.Contains(out, "not deleted") {
		t.Errorf("delete answered n:\n%s", out)
	}
	if n := f.raw.Exists(ctx, f.keys.SessionKey(f.french)).Val(); n != 1 {
		t.Fatal("deleted without a yes")
	}
	stdin = strings.NewReader("y\n")
	if out := inspectOK(t, "--config", f.cfg, "--delete", f.french); !strings.Contains(out, "deleted session "+f.french) {
		t.Errorf("delete answered y:\n%s", out)
	}
	if f.raw.Exists(ctx, f.keys.SessionKey(f.french)).Val() != 0 || f.raw.ZScore(ctx, f.keys.IndexKey("n1", f.french), f.french).Err() != redis.Nil {
		t.Error("record or index entry left after --delete")
	}
	stdin = strings.NewReader("")
	if out := inspectOK(t, "--config", f.cfg, "--delete", f.bad, "--yes"); !strings.Contains(out, "deleted the damaged record") {
		t.Errorf("delete --yes of the damaged record:\n%s", out)
	}
	if f.raw.Exists(ctx, f.keys.SessionKey(f.bad)).Val() != 0 || f.raw.ZScore(ctx, f.keys.IndexKey("n1", f.bad), f.bad).Err() != redis.Nil {
		t.Error("damaged record left after --delete --yes")
	}
}

// A session its engine hibernated, whose record the engine then kept
// alive (persist.Expirer.Touch) without rewriting it, shows as
// hibernated; one written as recently but not touched does not.
func TestInspectHibernated(t *testing.T) {
	srv := redistest.Standalone(t)
	// The margin for a slow machine between the refresh and inspect's
	// reading is the sleep below minus inspect's slack (2 s + TTL/100).
	const ttl = 20 * time.Second
	cfg := writeConfigTTL(t, "hib", "n1", []string{srv.Addr}, ttl)
	node := startNodeOpts(t, cfg, engine.Options{HibernateAfter: time.Second})
	hib := node.start(t, routingDoc, frenchCall...)
	other := startNode(t, writeConfigTTL(t, "hib", "n2", []string{srv.Addr}, ttl))
	awake := other.start(t, routingDoc, frenchCall...)
	// Real time must pass between the write and the refresh: the record's
	// remaining TTL is Redis's, its write time the engine's clock.
	time.Sleep(7 * time.Second)
	node.clock.Advance(ttl/2 + time.Second) // hibernates, then refreshes the record, written TTL/2 ago
	s, err := node.eng.Session(hib)
	if err != nil || !s.Hibernated() {
		t.Fatalf("session not hibernated: %v", err)
	}
	var js struct{ Sessions []sessionSummary }
	inspectJSON(t, &js, "--config", cfg, "--node", "n1")
	if len(js.Sessions) != 1 || !js.Sessions[0].Hibern {
		t.Errorf("hibernated session: %+v", js.Sessions)
	}
	inspectJSON(t, &js, "--config", cfg, "--node", "n2")
	if len(js.Sessions) != 1 || js.Sessions[0].ID != awake || js.Sessions[0].Hibern {
		t.Errorf("awake session: %+v", js.Sessions)
	}
}

// On a store that seals its records (AES-256-GCM) and hashes session ids
// in key names, inspect and dot read through the same configuration:
// ids, documents, states and data come back from the records.
func TestInspectSealedHashed(t *testing.T) {
	srv := redistest.Standalone(t)
	secure := []string{
		"encryption-key = " + strings.Repeat("1f", 32),
		"hash-session-keys = true",
		"hash-key = " + strings.Repeat("2e", 32),
	}
	cfg := writeConfigTTL(t, "sealed", "n1", []string{srv.Addr}, time.Hour, secure...)
	id := startNode(t, cfg).start(t, routingDoc, frenchCall...)
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer raw.Close()
	keys, err := raw.Keys(context.Background(), "*").Result()
	if err != nil || len(keys) == 0 || strings.Contains(strings.Join(keys, " "), id) {
		t.Fatalf("keys %v (%v): the session id must not be in them", keys, err)
	}
	if out := inspectOK(t, "--config", cfg, "--node", "n1"); !strings.Contains(out, id) || !strings.Contains(out, "voice_routing") {
		t.Errorf("node n1:\n%s", out)
	}
	out := inspectOK(t, "--config", cfg, "--session", id, "--doc", routingDoc)
	for _, want := range []string{"configuration: in_call routing french", `group = "French_Agents"`} {
		if !strings.Contains(out, want) {
			t.Errorf("session: no %q in\n%s", want, out)
		}
	}
	if code, dotOut, errOut := runCmd("dot", routingDoc, "--session", id, "--config", cfg); code != 0 || !strings.Contains(dotOut, "#ffd966") {
		t.Errorf("dot --session on a sealed store: exit %d, %s", code, errOut)
	}
}

func TestInspectUsage(t *testing.T) {
	for _, args := range [][]string{
		{"inspect"},
		{"inspect", "--config", "x.ini", "--node", "n1", "--session", "s"},
		{"inspect", "--config", "x.ini", "--yes"},
		{"inspect", "--config", "x.ini", "extra"},
	} {
		if code, _, errOut := runCmd(args...); code != 2 || !strings.Contains(errOut, "usage: scxml inspect") && !strings.Contains(errOut, "--yes") {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
		}
	}
	if code, _, errOut := runCmd("inspect", "--config", "nowhere.ini"); code != 1 || !strings.Contains(errOut, "nowhere.ini") {
		t.Errorf("missing config: exit %d, %q", code, errOut)
	}
}

func TestTouchedSinceWrite(t *testing.T) {
	now := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	ttl := time.Hour
	for _, c := range []struct {
		remaining time.Duration
		updated   time.Time
		want      bool
	}{
		{ttl, now, false}, // just written
		{40 * time.Minute, now.Add(-20 * time.Minute), false}, // written 20 min ago, untouched
		{59 * time.Minute, now.Add(-40 * time.Minute), true},  // written 40 min ago, touched a minute ago
		{ttl, time.Time{}, false},                             // no write time
	} {
		if got := touchedSinceWrite(ttl, c.remaining, c.updated, now); got != c.want {
			t.Errorf("remaining %v, written %v ago: %v, want %v", c.remaining, now.Sub(c.updated), got, c.want)
		}
	}
}
