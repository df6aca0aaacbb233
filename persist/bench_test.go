package persist

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// BenchmarkRedisSave measures Saves against a local redis-server, in
// ops/s, to compare with redis-benchmark -t set -d 512 (one SET per op,
// where a Save is a script SET, SADD and PEXPIRE):
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
			var sessions atomic.Int64
			b.SetParallelism(32) // callers per GOMAXPROCS: many sessions
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
			report(b, st)
		})
	}
}
