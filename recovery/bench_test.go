package recovery_test

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/internal/redistest"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/recovery"
	"github.com/orsgo/engine/scxml"
	"github.com/redis/go-redis/v9"
)

// The target of issue #5: 100,000 persisted routing sessions recovered
// into memory in at most 5 s. Run it with
//
//	cd recovery && go test -run '^$' -bench Recover -benchtime=1x . -args -recover.sessions=100000
var benchSessions = flag.Int("recover.sessions", 2000, "sessions per BenchmarkRecover iteration")

// routingRecords starts n sessions of the voice-routing fixture on node A,
// each taken to routing with a caller's data, and returns their records.
func routingRecords(b *testing.B, n int) (*scxml.Document, []*persist.Record) {
	b.Helper()
	ctx := context.Background()
	doc, err := scxml.ParseFile("../fixtures/testdata/routing/voice_routing.scxml", nil)
	if err != nil {
		b.Fatal(err)
	}
	st := persist.NewMemory(persist.MemoryOptions{})
	a, err := engine.New(engine.Options{Node: "A", Clock: engine.NewManualClock(t0), Store: st})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	recs := make([]*persist.Record, 0, n)
	for range n {
		s, err := a.Start(ctx, doc, engine.StartOptions{})
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range []engine.Event{
			{Name: "call.arrived", Data: map[string]any{"ani": "+33142000000", "dnis": "8000", "language": "fr"}},
			{Name: "lookup.done", Data: map[string]any{"segment": "gold"}},
		} {
			if err := s.Send(ctx, ev); err != nil {
				b.Fatal(err)
			}
		}
		rec, err := st.Load(ctx, s.ID())
		if err != nil {
			b.Fatal(err)
		}
		recs = append(recs, rec)
	}
	return doc, recs
}

func benchRecover(b *testing.B, newStore func() persist.Store) {
	ctx := context.Background()
	n := *benchSessions
	doc, recs := routingRecords(b, n)
	lib := recovery.NewLibrary(doc)
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		st := newStore()
		for _, rec := range recs {
			if err := st.Save(ctx, rec); err != nil {
				b.Fatal(err)
			}
		}
		e, err := engine.New(engine.Options{Node: "B", Clock: engine.NewManualClock(t0.Add(time.Second)), Store: st})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err := recovery.Recover(ctx, e, "A", recovery.Options{Documents: lib})
		b.StopTimer()
		if err != nil || rep.Err() != nil || rep.Resumed != n {
			b.Fatalf("recovered %d of %d: %v %v", rep.Resumed, n, err, rep.Err())
		}
		total += rep.Elapsed
		e.Close()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n), "sessions/op")
	b.ReportMetric(float64(n)/(total.Seconds()/float64(b.N)), "sessions/s")
}

// BenchmarkRecoverMemory: recovery from the in-memory store (decode,
// restore, first macrostep, checkpoint under the new node).
func BenchmarkRecoverMemory(b *testing.B) {
	benchRecover(b, func() persist.Store { return persist.NewMemory(persist.MemoryOptions{}) })
}

// BenchmarkRecoverRedisCluster: the same from a 3+3 Redis Cluster started
// for the benchmark (skipped without redis-server).
func BenchmarkRecoverRedisCluster(b *testing.B) {
	if os.Getenv("CI") == "" {
		if _, err := os.Stat("/usr/bin/redis-server"); err != nil {
			b.Skip("no redis-server")
		}
	}
	rc := redistest.Cluster(b, 3, 1)
	var cluster int
	benchRecover(b, func() persist.Store {
		cluster++
		st, err := persist.NewRedis(redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()}),
			persist.RedisOptions{Cluster: "bench" + string(rune('a'+cluster%26)), SweepInterval: persist.NoSweep})
		if err != nil {
			b.Fatal(err)
		}
		return st
	})
}
