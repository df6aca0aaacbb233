package metrics_test

import (
	"context"
	"fmt"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/metrics"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/recovery"
	"github.com/orsgo/engine/scxml"
)

// Metrics count what an engine does; Publish puts them in expvar, where a
// process serving http.DefaultServeMux shows them at /debug/vars.
func Example() {
	m := metrics.New()
	eng, err := engine.New(engine.Options{
		// A clock of the example's: the lookup timeouts never fire.
		Clock:    engine.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		Store:    persist.NewMemory(persist.MemoryOptions{}),
		Observer: m.Observer(),
	})
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	m.Track(eng)
	if err := m.Publish("orsgo_example"); err != nil {
		panic(err)
	}
	doc, err := scxml.ParseFile("../fixtures/testdata/routing/voice_routing.scxml", nil)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for range 10 {
		s, err := eng.Start(ctx, doc, engine.StartOptions{})
		if err != nil {
			panic(err)
		}
		if err := s.Send(ctx, engine.Event{Name: "call.arrived", Data: map[string]any{"ani": "1", "dnis": "2"}}); err != nil {
			panic(err)
		}
	}
	s := m.Snapshot()
	fmt.Println("live sessions:", s.SessionsLive)
	fmt.Println("macrosteps:", s.Macrosteps)
	fmt.Println("checkpoints:", s.Checkpoints, "failed:", s.CheckpointFailures)
	fmt.Println("checkpoint sizes in the histogram:", s.CheckpointSize.Count)
	// Output:
	// live sessions: 10
	// macrosteps: 20
	// checkpoints: 20 failed: 0
	// checkpoint sizes in the histogram: 20
}

// Recoveries are counted as they happen: recovery.Recover (and a
// Switchover, or an adoption) tells the engine's Observer, so the
// figures need nothing from the caller.
func Example_recovery() {
	ctx := context.Background()
	store := persist.NewMemory(persist.MemoryOptions{})
	doc, err := scxml.ParseFile("../fixtures/testdata/routing/voice_routing.scxml", nil)
	if err != nil {
		panic(err)
	}
	// Node A runs three calls and a chat, then fails.
	a, err := engine.New(engine.Options{Node: "A", Store: store})
	if err != nil {
		panic(err)
	}
	for range 3 {
		if _, err := a.Start(ctx, doc, engine.StartOptions{}); err != nil {
			panic(err)
		}
	}
	if _, err := a.Start(ctx, doc, engine.StartOptions{Type: engine.Chat}); err != nil {
		panic(err)
	}
	a.Close()

	m := metrics.New()
	b, err := engine.New(engine.Options{Node: "B", Store: store, Observer: m.Observer()})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	m.Track(b)
	if _, err := recovery.Recover(ctx, b, "A", recovery.Options{Documents: recovery.NewLibrary(doc)}); err != nil {
		panic(err)
	}
	s := m.Snapshot()
	fmt.Println("recoveries:", s.Recoveries, "timed:", s.RecoveryTime.Count)
	fmt.Println("sessions recovered:", s.RecoveredSessions, "failed:", s.RecoveryFailures, "not recoverable:", s.NotRecovered)
	fmt.Println("live:", s.SessionsLive, "persisted:", s.SessionsPersisted)
	// Output:
	// recoveries: 1 timed: 1
	// sessions recovered: 3 failed: 0 not recoverable: 1
	// live: 3 persisted: 3
}
