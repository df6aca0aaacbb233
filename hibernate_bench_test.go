package engine_test

import (
	"context"
	"flag"
	"slices"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/internal/redistest"
	"github.com/orsgo/engine/persist"
	"github.com/redis/go-redis/v9"
)

var wakeSessions = flag.Int("wake.sessions", 10000, "hibernated sessions BenchmarkWakeRedis wakes in turn (at most b.N)")

// BenchmarkWakeRedis: the next event to a hibernated voice_routing
// session whose record is in a standalone redis-server on loopback, as
// Send measures it (Load, restore, the macrostep, its checkpoint): one
// at a time, each session in turn, all of them hibernated again (clock
// moved, timer stopped) before the next round. Issue 15's target: p99 <=
// 1 ms.
//
//	go test -run '^$' -bench WakeRedis -benchtime 20000x . -args -wake.sessions=10000
func BenchmarkWakeRedis(b *testing.B) {
	if testing.Short() {
		b.Skip("starts a redis-server")
	}
	srv := redistest.Standalone(b)
	for _, tc := range []struct {
		name     string
		maxBatch int
	}{{"group-commit", 0}, {"no-group-commit", persist.NoGroupCommit}} {
		b.Run(tc.name, func(b *testing.B) {
			store, err := persist.NewRedis(redis.NewClient(&redis.Options{Addr: srv.Addr}),
				persist.RedisOptions{Cluster: "wake-" + tc.name, SweepInterval: persist.NoSweep, MaxBatch: tc.maxBatch})
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			benchWake(b, store, *wakeSessions)
		})
	}
}

// BenchmarkWakeMemory is BenchmarkWakeRedis with the memory store: the
// engine's share of a wake.
func BenchmarkWakeMemory(b *testing.B) {
	benchWake(b, persist.NewMemory(persist.MemoryOptions{}), *wakeSessions)
}

func benchWake(b *testing.B, store persist.Store, n int) {
	n = min(n, b.N) // test.sh's short runs start a few sessions only
	doc := parseBenchDoc(b, benchRoutingDoc)
	clock := engine.NewManualClock(benchStart)
	e, err := engine.New(engine.Options{Clock: clock, Store: store, HibernateAfter: 10 * time.Second,
		OnStoreError: func(id string, err error) { b.Errorf("session %s: %v", id, err) }})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	ss := make([]*engine.Session, n)
	for i := range ss {
		if ss[i], err = e.Start(ctx, doc, engine.StartOptions{}); err != nil {
			b.Fatal(err)
		}
		for _, ev := range routingSetup {
			if err := ss[i].Send(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
	}
	hibernate := func() {
		clock.Advance(10 * time.Second)
		if e.Hibernated() != n {
			b.Fatalf("%d of %d sessions hibernated", e.Hibernated(), n)
		}
	}
	hibernate()
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		k := i % n
		if k == 0 && i > 0 {
			b.StopTimer()
			hibernate()
			b.StartTimer()
		}
		// Rounds alternate the cycle's events: routing -> transferring
		// -> routing (its queue timeout re-armed, then cancelled).
		ev := routingCycle[(i/n)%len(routingCycle)]
		t0 := time.Now()
		if err := ss[k].Send(ctx, ev); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/1e3, "p50-us")
	b.ReportMetric(float64(lat[(len(lat)*99)/100])/1e3, "p99-us")
}
