package metrics_test

import (
	"context"
	"fmt"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/metrics"
	"github.com/orsgo/engine/persist"
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
