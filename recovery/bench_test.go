package recovery_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/internal/redistest"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/recovery"
	"github.com/orsgo/engine/scxml"
	"github.com/redis/go-redis/v9"
)

// The target of issue 12: 100,000 persisted routing sessions recovered
// from the 3+3 cluster in at most 4 s. Run it with
//
//	cd recovery && go test -run '^$' -bench RecoverRedisCluster/hibernated -benchtime=1x . -args -recover.sessions=100000
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

// benchRecover recovers node A's sessions on B (with opts.Build, or
// hibernated), then sends one event to one of them. It reports the
// recovery's wall time as sessions/s, its CPU time (cpu-s/op), and the
// time that first event took (ms-first-event: for a hibernated session,
// loading its record, building its interpreter session, the event's
// macrostep and its checkpoint).
func benchRecover(b *testing.B, newStore func() persist.Store, build bool) {
	ctx := context.Background()
	n := *benchSessions
	doc, recs := routingRecords(b, n)
	lib := recovery.NewLibrary(doc)
	var total, cpu, first time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		st := newStore()
		fill(b, st, recs)
		e, err := engine.New(engine.Options{Node: "B", Clock: engine.NewManualClock(t0.Add(time.Second)), Store: st})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		c0 := cpuTime()
		rep, err := recovery.Recover(ctx, e, "A", recovery.Options{Documents: lib, Build: build})
		cpu += cpuTime() - c0
		b.StopTimer()
		if err != nil || rep.Err() != nil || rep.Resumed != n {
			b.Fatalf("recovered %d of %d: %v %v", rep.Resumed, n, err, rep.Err())
		}
		if want := map[bool]int{false: n, true: 0}[build]; rep.Hibernated != want {
			b.Fatalf("%d sessions hibernated, want %d", rep.Hibernated, want)
		}
		total += rep.Elapsed
		id := recs[(i*7919)%n].SessionID
		t1 := time.Now()
		if err := e.Send(ctx, id, engine.Event{Name: "target.failed"}); err != nil {
			b.Fatal(err)
		}
		first += time.Since(t1)
		e.Close()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n), "sessions/op")
	b.ReportMetric(float64(n)/(total.Seconds()/float64(b.N)), "sessions/s")
	// CPU time of this process (not Redis's): what the machine's load
	// does not inflate.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(first.Microseconds())/1000/float64(b.N), "ms-first-event")
}

// fill saves recs in st from many goroutines (through a RedisStore's
// group committer).
func fill(b *testing.B, st persist.Store, recs []*persist.Record) {
	b.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(recs) {
					return
				}
				if err := st.Save(ctx, recs[i]); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRecoverMemory: recovery from the in-memory store: taken over
// hibernated (load, check, move under the new node), and built at once
// (Options.Build: decode, restore, first macrostep, checkpoint under the
// new node).
func BenchmarkRecoverMemory(b *testing.B) {
	for _, build := range []bool{false, true} {
		b.Run(map[bool]string{false: "hibernated", true: "build"}[build], func(b *testing.B) {
			benchRecover(b, func() persist.Store { return persist.NewMemory(persist.MemoryOptions{}) }, build)
		})
	}
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
	newStore := clusterStores(b, rc) // one namespace per store, across both
	for _, build := range []bool{false, true} {
		b.Run(map[bool]string{false: "hibernated", true: "build"}[build], func(b *testing.B) {
			benchRecover(b, newStore, build)
		})
	}
}

// clusterStores returns a function making a store in a namespace of its
// own in rc.
func clusterStores(b *testing.B, rc *redistest.RedisCluster) func() persist.Store {
	var cluster int
	return func() persist.Store {
		cluster++
		st, err := persist.NewRedis(redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()}),
			persist.RedisOptions{Cluster: fmt.Sprintf("bench%d", cluster), SweepInterval: persist.NoSweep})
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
}

// BenchmarkLazySwitchoverRedisCluster: issue 12's O(1) switchover. Node
// A's sessions (recover.sessions of them) are in the 3+3 cluster, their
// next delayed sends spread over the next ten minutes; B switches over
// lazily (recovery.Options.Lazy). It reports the time the switchover
// takes (ms-switchover: fencing A in every shard, and listing A's
// unpersisted sessions), the time from its start to the first event served for one of A's sessions
// (ms-to-first-event: promotion, then loading that session on demand,
// its first macrostep and checkpoint here, the event's macrostep and
// checkpoint), and the time until the timers due within the next minute
// are armed (ms-timers-armed, timers-armed of them).
func BenchmarkLazySwitchoverRedisCluster(b *testing.B) {
	if os.Getenv("CI") == "" {
		if _, err := os.Stat("/usr/bin/redis-server"); err != nil {
			b.Skip("no redis-server")
		}
	}
	rc := redistest.Cluster(b, 3, 1)
	newStore := clusterStores(b, rc)
	ctx := context.Background()
	n := *benchSessions
	doc, recs := routingRecords(b, n)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, rec := range recs {
		rec.Due = t0.Add(time.Second + time.Duration(rng.Int64N(int64(10*time.Minute))))
	}
	lib := recovery.NewLibrary(doc)
	var promote, first, armed time.Duration
	var timers int
	for b.Loop() {
		b.StopTimer()
		st := newStore()
		fill(b, st, recs)
		sc := st.(persist.Scheduler)
		due, err := sc.DueBefore(ctx, "A", t0.Add(time.Minute))
		if err != nil {
			b.Fatal(err)
		}
		timers += len(due)
		e, err := engine.New(engine.Options{Node: "B", Clock: engine.NewManualClock(t0), Store: st})
		if err != nil {
			b.Fatal(err)
		}
		node, err := recovery.NewNode(e, recovery.Backup, "A", recovery.Options{Documents: lib, Lazy: true, Horizon: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		id := recs[rng.IntN(len(recs))].SessionID
		b.StartTimer()
		start := time.Now()
		if _, err := node.Switchover(ctx); err != nil {
			b.Fatal(err)
		}
		promote += time.Since(start)
		if err := e.Send(ctx, id, engine.Event{Name: "bench.ping"}); err != nil {
			b.Fatal(err)
		}
		first += time.Since(start)
		if err := e.Quiesce(ctx); err != nil { // the first poll arms the timers
			b.Fatal(err)
		}
		armed += time.Since(start)
		b.StopTimer()
		e.Close()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n), "sessions/op")
	b.ReportMetric(float64(promote.Milliseconds())/float64(b.N), "ms-switchover")
	b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "ms-to-first-event")
	b.ReportMetric(float64(armed.Milliseconds())/float64(b.N), "ms-timers-armed")
	b.ReportMetric(float64(timers)/float64(b.N), "timers-armed")
}
