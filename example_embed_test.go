package engine_test

import (
	"context"
	"fmt"
	"os"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

// An engine on Redis, configured with Orchestration Server's options:
// every call that runs a macrostep of a voice session returns once Redis
// holds its checkpoint. It needs a running Redis (the address is taken
// from ORS_REDIS here), so it is compiled but not run by go test;
// ExampleOpen runs the same code on the in-memory store, and the
// persist and engine tests run it on real Redis servers.
func ExampleOpen_redis() {
	cfg, err := config.FromMap(map[string]map[string]string{
		"orchestration": {"node-id": "node1", "cluster-name": "demo", "sessionid-with-nodeid": "true"},
		"persistence":   {"type": "redis", "redis-nodes": os.Getenv("ORS_REDIS")}, // "127.0.0.1:6379", or a Cluster's seeds
	})
	if err != nil {
		fmt.Println(err) // [persistence] redis-nodes: ... (every problem at once)
		return
	}
	ctx := context.Background()
	e, err := engine.Open(ctx, cfg, engine.Options{}) // connects, checks ACLs and scripts: fails here, naming the option
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close() // closes the store too
	doc, err := scxml.ParseFile("fixtures/testdata/routing/voice_routing.scxml", e.ParseOptions(""))
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := e.Start(ctx, doc, engine.StartOptions{Type: engine.Voice})
	if err != nil {
		fmt.Println(err) // wraps engine.ErrCheckpoint if Redis did not take the first checkpoint
		return
	}
	err = s.Send(ctx, engine.Event{Name: "call.arrived", Data: map[string]any{"ani": "+33142000000", "dnis": "8000"}})
	fmt.Println(s.ID(), s.Configuration(), err)
	// scxml inspect --config ors.ini --session <id> now shows it in Redis.
}

// Lazy recovery: node B adopts the sessions of node A, which failed.
// Nothing is loaded then; each session is loaded from its record when an
// event (or its next timer) needs it. Observer.Recovery hears of the
// adoption and of each session loaded (package metrics counts them).
func ExampleEngine_Adopt() {
	ctx := context.Background()
	clock := engine.NewManualClock(time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC))
	store := persist.NewMemory(persist.MemoryOptions{Now: clock.Now})
	doc, _ := scxml.Parse([]byte(`<scxml xmlns="http://www.w3.org/2005/07/scxml" datamodel="ecmascript" name="call" initial="queued">
  <datamodel><data id="waited" expr="0"/></datamodel>
  <state id="queued">
    <transition event="still.waiting"><assign location="waited" expr="waited + 1"/></transition>
    <transition event="agent.ready" target="connected"/>
  </state>
  <state id="connected"/>
</scxml>`), nil)

	a, _ := engine.New(engine.Options{Node: "A", Clock: clock, Store: store})
	s, _ := a.Start(ctx, doc, engine.StartOptions{ID: "call-1"})
	_ = s.Send(ctx, engine.Event{Name: "still.waiting"})
	a.Close() // A fails: its record stays in the store

	b, _ := engine.New(engine.Options{Node: "B", Clock: clock, Store: store,
		Observer: &engine.Observer{Recovery: func(r engine.RecoveryInfo) {
			if r.SessionID == "" {
				fmt.Printf("adopted node %s (epoch %d)\n", r.Node, r.Epoch)
			} else {
				fmt.Printf("loaded %s of node %s: resumed %d\n", r.SessionID, r.Node, r.Resumed)
			}
		}}})
	defer b.Close()
	library := func(context.Context, string, [32]byte) (*scxml.Document, error) { return doc, nil }
	if _, err := b.Adopt(ctx, "A", engine.AdoptOptions{Documents: library}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("sessions in memory:", b.Len())
	_ = b.Send(ctx, "call-1", engine.Event{Name: "still.waiting"}) // loads call-1, then delivers
	r, _ := b.Session("call-1")
	waited, _ := r.Value("waited")
	fmt.Println(r.Configuration(), "waited", waited)
	// Output:
	// adopted node A (epoch 1)
	// sessions in memory: 0
	// loaded call-1 of node A: resumed 1
	// [queued] waited 2
}
