package persist

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// BenchmarkRedisSave measures Saves against a local redis-server, in
// ops/s, to compare with redis-benchmark -t set -d 512 (one SET per op,
// where a Save is one script: fence and Seq checks, SET, the index entry
// moved, PEXPIREs):
//
//	go test ./persist -run '^$' -bench RedisSave
//
// "single" is one caller, each Save its own round trip; "parallel" has
// many callers (sessions), with and without group commit.
func BenchmarkRedisSave(b *testing.B) {
	srv := redistest.Standalone(b)
	data := make([]byte, 512)
	newStore := func(b *testing.B, opts RedisOptions) *RedisStore {
		opts.Cluster = fmt.Sprintf("bench%d", namespaces.Add(1))
		st, err := NewRedis(redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 256}), opts)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}
	report := func(b *testing.B, st *RedisStore) {
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		if s := st.Stats(); s.Batches > 0 {
			b.ReportMetric(float64(s.Saves)/float64(s.Batches), "saves/batch")
		}
	}
	b.Run("single", func(b *testing.B) {
		st := newStore(b, RedisOptions{MaxBatch: NoGroupCommit})
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := st.Save(ctx, &Record{SessionID: fmt.Sprint("s", i%1000), Node: "n", Seq: uint64(i + 1), Data: data}); err != nil {
				b.Fatal(err)
			}
		}
		report(b, st)
	})
	for _, tc := range []struct {
		name string
		opts RedisOptions
	}{
		{"parallel/no-group-commit", RedisOptions{MaxBatch: NoGroupCommit}},
		{"parallel/group-commit", RedisOptions{}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			st := newStore(b, tc.opts)
			saveParallel(b, st, data, 32) // callers per GOMAXPROCS: many sessions
			report(b, st)
		})
	}
}

// BenchmarkRedisClusterSave: checkpoints of 1,000 concurrent sessions
// (580-byte records, the size of a voice-routing checkpoint) through the
// group committer into a 3+3 Redis Cluster on this machine, and, for
// comparison, what redis-benchmark measures for SET of the same size
// against the same cluster (50 clients, no pipelining: its defaults).
// The target is at least half of it.
//
//	CI=true go test ./persist -run '^$' -bench RedisClusterSave -benchtime=200000x
func BenchmarkRedisClusterSave(b *testing.B) {
	if testing.Short() {
		b.Skip("starts a six-node Redis Cluster")
	}
	rc := redistest.Cluster(b, 3, 1)
	const size, sessions = 580, 1000
	data := make([]byte, size)
	st, err := NewRedis(redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs(), PoolSize: 64}),
		RedisOptions{Cluster: fmt.Sprintf("bench%d", namespaces.Add(1)), SweepInterval: NoSweep})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	saveParallel(b, st, data, sessions/runtime.GOMAXPROCS(0))
	b.StopTimer()
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "checkpoints/s")
	if s := st.Stats(); s.Batches > 0 {
		b.ReportMetric(float64(s.Saves)/float64(s.Batches), "saves/batch")
	}
	rc.CompareWithSet(b, size, rate, 10000)
}

// saveParallel times Saves of data from parallelism x GOMAXPROCS
// concurrent sessions, each writing its own record with a rising Seq.
func saveParallel(b *testing.B, st Store, data []byte, parallelism int) {
	var sessions atomic.Int64
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		id := fmt.Sprint("s", sessions.Add(1))
		var seq uint64
		for pb.Next() {
			seq++
			if err := st.Save(ctx, &Record{SessionID: id, Node: "n", Seq: seq, Data: data}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRedisClusterPromote: Promote of a node in a 3+3 Redis Cluster
// (INCR, then the epoch raised in every shard: DefaultShards scripts in
// one pipelined round trip per master), and DueBefore and ListNode of a
// node with no sessions (the fixed cost of reading every shard).
func BenchmarkRedisClusterPromote(b *testing.B) {
	if testing.Short() {
		b.Skip("starts a six-node Redis Cluster")
	}
	rc := redistest.Cluster(b, 3, 1)
	st, err := NewRedis(redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()}),
		RedisOptions{Cluster: fmt.Sprintf("bench%d", namespaces.Add(1)), SweepInterval: NoSweep})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		f    func() error
	}{
		{"Promote", func() error { _, err := st.Promote(ctx, "A"); return err }},
		{"DueBefore", func() error { _, err := st.DueBefore(ctx, "A", time.Now()); return err }},
		{"ListNode", func() error { _, err := st.ListNode(ctx, "A"); return err }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if err := tc.f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRedisIndexWalk: ListNode, Sweep and DueBefore of a node whose
// index holds many sessions (a quarter without a record at first, most
// sharing a score) on a standalone redis-server, where the index is one
// sorted set, read a page (RedisOptions.PageSize) per call, against
// "page=all", one call for the whole index as the store did before
// paging. Besides the time per walk it reports the longest single call
// of the store (SLOWLOG, max-call-ms) and the longest any other client
// waited meanwhile (a PING loop, max-ping-ms): Redis runs one script at
// a time, and past busy-reply-threshold (5 s) answers BUSY to others.
//
//	ORS_BENCH_INDEX=1000000 go test ./persist -run '^$' -bench RedisIndexWalk -benchtime=3x
func BenchmarkRedisIndexWalk(b *testing.B) {
	n := 20_000
	if s := os.Getenv("ORS_BENCH_INDEX"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("ORS_BENCH_INDEX=%q: not a positive number", s)
		}
		n = v
	}
	srv := redistest.Standalone(b, redistest.WithConfig("slowlog-log-slower-than 1000", "slowlog-max-len 100000"))
	raw := redis.NewClient(&redis.Options{Addr: srv.Addr})
	defer raw.Close()
	ctx := context.Background()
	cluster := fmt.Sprintf("bench%d", namespaces.Add(1))
	const node = "big"
	// Written behind the store's back, as fillIndex does for the tests.
	fill := func(b *testing.B, st *RedisStore) {
		const chunk = 10_000
		for off := 0; off < n; off += chunk {
			pipe := raw.Pipeline()
			for i := off; i < min(n, off+chunk); i++ {
				id := fmt.Sprintf("s%07d", i)
				score := math.Inf(1)
				if i%5 < 2 {
					score = float64(1000 * (1 + i%5))
				}
				pipe.ZAdd(ctx, st.shardOf(id).index(node), redis.Z{Score: score, Member: id})
				if i%4 != 0 {
					pipe.Set(ctx, st.SessionKey(id), "x", time.Hour)
				}
			}
			pipe.SAdd(ctx, st.shardOf("s").nodes(), node)
			if _, err := pipe.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	for _, page := range []int{DefaultPageSize, n + 1} {
		name := fmt.Sprintf("page=%d", page)
		if page > n {
			name = "page=all"
		}
		// A read timeout long enough for page=all's one call (go-redis's
		// default, 3 s, fails it from a few hundred thousand entries).
		st, err := NewRedis(redis.NewClient(&redis.Options{Addr: srv.Addr, ReadTimeout: time.Minute}),
			RedisOptions{Cluster: cluster, SweepInterval: NoSweep, PageSize: page, TTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			f    func() error
		}{
			{"ListNode", func() error { _, err := st.ListNode(ctx, node); return err }},
			{"Sweep", func() error { _, err := st.Sweep(ctx); return err }},
			{"DueBefore", func() error { _, err := st.DueBefore(ctx, node, time.UnixMilli(2500)); return err }},
		} {
			b.Run(name+"/"+tc.name, func(b *testing.B) {
				b.StopTimer()
				if err := raw.FlushAll(ctx).Err(); err != nil {
					b.Fatal(err)
				}
				fill(b, st)
				if err := raw.SlowLogReset(ctx).Err(); err != nil {
					b.Fatal(err)
				}
				stop := make(chan struct{})
				pinged := make(chan time.Duration)
				go func() {
					var most time.Duration
					c := redis.NewClient(&redis.Options{Addr: srv.Addr, ReadTimeout: time.Minute})
					defer c.Close()
					for {
						select {
						case <-stop:
							pinged <- most
							return
						default:
						}
						t0 := time.Now()
						_ = c.Ping(ctx).Err() // BUSY is an answer too, after the wait
						most = max(most, time.Since(t0))
						time.Sleep(time.Millisecond)
					}
				}()
				b.StartTimer()
				for b.Loop() {
					if err := tc.f(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				close(stop)
				most := <-pinged
				logs, err := raw.SlowLogGet(ctx, -1).Result()
				if err != nil {
					b.Fatal(err)
				}
				var longest time.Duration
				var what []string
				for _, l := range logs {
					// The store's calls: all but the PING loop's.
					if len(l.Args) > 0 && !strings.EqualFold(l.Args[0], "ping") && l.Duration > longest {
						longest, what = l.Duration, l.Args[:min(len(l.Args), 4)]
					}
				}
				b.Logf("longest call %v: %q", longest, what)
				b.ReportMetric(float64(longest.Microseconds())/1000, "max-call-ms")
				b.ReportMetric(float64(most.Microseconds())/1000, "max-ping-ms")
				b.ReportMetric(float64(n), "entries")
			})
		}
		st.Close()
	}
}
