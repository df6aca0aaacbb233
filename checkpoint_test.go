package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/ids"
	"github.com/orsgo/engine/internal/redistest"
	"github.com/orsgo/engine/interp/snapshot"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
	"github.com/redis/go-redis/v9"
)

const routing = `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="queued">
  <datamodel><data id="tries" expr="0"/></datamodel>
  <state id="queued">
    <onentry><send id="qt" event="queue.timeout" delay="30s"/></onentry>
    <transition event="target.failed" target="queued"><assign location="tries" expr="tries + 1"/></transition>
    <transition event="queue.timeout" cond="tries == 2" target="voicemail"/>
  </state>
  <state id="voicemail"><transition event="hangup" target="done"/></state>
  <final id="done"/>
</scxml>`

// A voice session checkpointed on node A is resumed on node B from the
// shared store, with its datamodel and its pending delayed send.
func TestResumeOnAnotherNode(t *testing.T) {
	ctx := context.Background()
	doc, err := scxml.Parse([]byte(routing), nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := engine.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	store := persist.NewMemory(persist.MemoryOptions{Now: clock.Now})
	a, err := engine.New(engine.Options{Node: "A", Clock: clock, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	voice, err := a.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	chat, err := a.Start(ctx, doc, engine.StartOptions{Type: engine.Chat})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := voice.Send(ctx, engine.Event{Name: "target.failed"}); err != nil {
			t.Fatal(err)
		}
	}
	ids, _ := store.ListNode(ctx, "A")
	if len(ids) != 1 || ids[0] != voice.ID() {
		t.Fatalf("node A's index = %v, want only the voice session %s (never the chat %s)", ids, voice.ID(), chat.ID())
	}
	a.Close() // node A fails: its timers die with it

	clock.Advance(10 * time.Second)
	b, err := engine.New(engine.Options{Node: "B", Clock: clock, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s, err := b.Resume(ctx, voice.ID(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Configuration(); len(got) != 1 || got[0] != "queued" {
		t.Fatalf("resumed in %v", got)
	}
	clock.Advance(19 * time.Second)
	if got := s.Configuration(); got[0] != "queued" {
		t.Fatalf("timeout fired early: %v", got)
	}
	clock.Advance(1 * time.Second) // 30s after the last entry into queued
	if got := s.Configuration(); got[0] != "voicemail" {
		t.Fatalf("after the queue timeout: %v (the datamodel's tries must have survived)", got)
	}
	if ids, _ := store.ListNode(ctx, "A"); len(ids) != 0 {
		t.Fatalf("node A still lists %v after B took over", ids)
	}
	if ids, _ := store.ListNode(ctx, "B"); len(ids) != 1 || ids[0] != voice.ID() {
		t.Fatalf("node B lists %v, want the resumed session", ids)
	}
	if err := s.Send(ctx, engine.Event{Name: "hangup"}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Load(ctx, voice.ID()); !errors.Is(err, persist.ErrNotFound) {
		t.Fatalf("record of an ended session: %v", err)
	}
	if _, err := b.Resume(ctx, chat.ID(), doc); !errors.Is(err, engine.ErrNotPersisted) {
		t.Fatalf("chat session resumed: %v", err)
	}
}

// The durability contract, against a real Redis: a Send whose checkpoint
// Redis refused returns ErrCheckpoint (the session went on in memory),
// and Session.Checkpoint writes it once Redis takes writes again. The
// engine is built from an ORS-style configuration (engine.Open).
func TestDurabilityContract(t *testing.T) {
	srv := redistest.Standalone(t)
	ctx := context.Background()
	cfg, err := config.Parse(strings.NewReader(fmt.Sprintf(`
[orchestration]
node-id = A
cluster-name = dc1
sessionid-with-nodeid = true
[persistence]
type = redis
redis-nodes = %s
session-ttl = 600
`, srv.Addr)), "ors.ini")
	if err != nil {
		t.Fatal(err)
	}
	clock := engine.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var storeErrs []string
	e, err := engine.Open(ctx, cfg, engine.Options{Clock: clock, OnStoreError: func(id string, err error) {
		storeErrs = append(storeErrs, id)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	doc, err := scxml.Parse([]byte(routing), &scxml.Options{File: "routing.scxml"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := ids.Parse(s.ID()); err != nil || id.Node() != "A" {
		t.Fatalf("session id %s does not carry node-id A: %v", s.ID(), err)
	}
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer raw.Close()
	key := e.Store().(*persist.RedisStore).SessionKey(s.ID()) // ORS:dc1:session:{<shard>}:<id>
	if ttl := raw.PTTL(ctx, key).Val(); ttl <= 9*time.Minute || ttl > 10*time.Minute {
		t.Fatalf("record %s: TTL %v, want session-ttl 600s", key, ttl)
	}
	clock.Advance(5 * time.Second)
	if err := s.Send(ctx, engine.Event{Name: "target.failed"}); err != nil {
		t.Fatal(err)
	}
	st, err := persist.Open(ctx, cfg) // a second reader, as a backup node has
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec, err := st.Load(ctx, s.ID())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if rec.Node != "A" || rec.Type != "voice" || rec.Doc != doc.Name || rec.DocHash != doc.Hash ||
		!rec.Created.Equal(start) || !rec.Updated.Equal(start.Add(5*time.Second)) || rec.Seq != 2 {
		t.Fatalf("record metadata: %+v", rec)
	}

	// Redis refuses writes (no replica to acknowledge them).
	if err := raw.ConfigSet(ctx, "min-replicas-to-write", "1").Err(); err != nil {
		t.Fatal(err)
	}
	err = s.Send(ctx, engine.Event{Name: "target.failed"})
	if !errors.Is(err, engine.ErrCheckpoint) || !strings.Contains(err.Error(), s.ID()) {
		t.Fatalf("Send while Redis refuses writes: %v, want ErrCheckpoint naming the session", err)
	}
	if len(storeErrs) != 1 || storeErrs[0] != s.ID() {
		t.Fatalf("OnStoreError heard %v", storeErrs)
	}
	if rec, _ := st.Load(ctx, s.ID()); rec.Seq != 2 {
		t.Fatalf("a refused checkpoint was stored: seq %d", rec.Seq)
	}
	if err := s.Checkpoint(ctx); !errors.Is(err, engine.ErrCheckpoint) {
		t.Fatalf("Checkpoint while Redis refuses writes: %v", err)
	}
	if err := raw.ConfigSet(ctx, "min-replicas-to-write", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	// What is stored now is the state after both events: tries == 2, so
	// the queue timeout leads to voicemail once resumed elsewhere.
	rec, err = st.Load(ctx, s.ID())
	if err != nil {
		t.Fatal(err)
	}
	snap, err := snapshot.Decode(s.ID(), rec.Data)
	if err != nil {
		t.Fatal(err)
	}
	tries := -1.0
	for _, v := range snap.Vars {
		if v.Name == "tries" {
			tries = v.Value.Float + float64(v.Value.Int) // numbers are one or the other
		}
	}
	if tries != 2 {
		t.Fatalf("checkpoint after the retry holds tries = %v, want 2 (vars %+v)", tries, snap.Vars)
	}
	// The session ends: its keys go.
	s.Cancel()
	if n := raw.Exists(ctx, key).Val(); n != 0 {
		t.Fatalf("record of a cancelled session still exists")
	}
}

// Open refuses options that the configuration also sets.
func TestOpenConflicts(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.FromMap(map[string]map[string]string{
		"orchestration": {"node-id": "A"},
		"persistence":   {"type": "memory"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Open(ctx, cfg, engine.Options{Node: "B"}); err == nil || !strings.Contains(err.Error(), "node-id") {
		t.Fatalf("Node B with node-id A: %v", err)
	}
	if _, err := engine.Open(ctx, cfg, engine.Options{Store: persist.NewMemory(persist.MemoryOptions{})}); err == nil || !strings.Contains(err.Error(), "Store") {
		t.Fatalf("Store with [persistence]: %v", err)
	}
	e, err := engine.Open(ctx, cfg, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := scxml.Parse([]byte(routing), nil)
	s, err := e.Start(ctx, doc, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := ids.Parse(s.ID()); err != nil || id.Node() != "" {
		t.Fatalf("without sessionid-with-nodeid, id %s: node %q, %v", s.ID(), id.Node(), err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
}

// OpenWith passes the store's tuning to persist.OpenWith: a bad value is
// refused naming its option, and the store the engine gets uses the
// values given (here its shard count, which the record keys show).
func TestOpenWithStoreOptions(t *testing.T) {
	srv := redistest.Standalone(t)
	ctx := context.Background()
	cfg, err := config.FromMap(map[string]map[string]string{
		"orchestration": {"node-id": "A", "cluster-name": "openwith", "sessionid-with-nodeid": "true"},
		"persistence":   {"type": "redis", "redis-nodes": srv.Addr},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = engine.OpenWith(ctx, cfg, engine.Options{}, persist.OpenOptions{Redis: persist.RedisOptions{Shards: -1}})
	if err == nil || !strings.Contains(err.Error(), "Shards") {
		t.Fatalf("Shards -1: %v", err)
	}
	e, err := engine.OpenWith(ctx, cfg, engine.Options{}, persist.OpenOptions{Redis: persist.RedisOptions{Shards: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rs := e.Store().(*persist.RedisStore)
	if a, b := rs.IndexKey("A", "one"), rs.IndexKey("A", "another"); a != b {
		t.Fatalf("with one shard, index keys %s and %s differ", a, b)
	}
}

// noteStore tells of each record saved, with its Seq.
type noteStore struct {
	persist.Store
	note func(string)
}

func (n noteStore) Save(ctx context.Context, rec *persist.Record) error {
	n.note(fmt.Sprintf("save %d", rec.Seq))
	return n.Store.Save(ctx, rec)
}

// The effects of a macrostep are carried out before the checkpoint after
// it is written: a node failing between the two resumes the session from
// the checkpoint before them and runs the macrostep again, so an effect
// leaves at least once, never not at all.
func TestEffectsLeaveBeforeCheckpoint(t *testing.T) {
	var order []string
	note := func(s string) { order = append(order, s) }
	e, err := engine.New(engine.Options{
		Store: noteStore{persist.NewMemory(persist.MemoryOptions{}), note},
		Log:   func(_, label string, _ any) { note("log " + label) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	s, err := e.Start(ctx, mustParse(t, `<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" initial="a">
  <state id="a"><onentry><log label="entered" expr="1"/></onentry><transition event="go" target="b"><log label="went" expr="2"/></transition></state>
  <state id="b"/>
</scxml>`), engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, engine.Event{Name: "go"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"log entered", "save 1", "log went", "save 2"}; strings.Join(order, ", ") != strings.Join(want, ", ") {
		t.Errorf("order %q, want %q", order, want)
	}
}
