package persist

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// BenchmarkRedisSaveSealed: checkpoints of 1,000 concurrent sessions
// (681-byte records, the engine benchmark's routing checkpoint) through
// the group committer, in clear and sealed (AES-256-GCM), into a local
// standalone Redis and a 3+3 Redis Cluster. The target: sealing
// costs no more than 10% of the throughput.
//
//	go test ./persist -run '^$' -bench RedisSaveSealed -benchtime=200000x
func BenchmarkRedisSaveSealed(b *testing.B) {
	const size, sessions = 681 - headerLen - 60, 1000 // payload such that the clear record is ~681 bytes
	data := make([]byte, size)
	sealer := mustSealer(b, SealerOptions{Key: testKey(1)})
	run := func(b *testing.B, newClient func() redis.UniversalClient, s *Sealer) {
		st, err := NewRedis(newClient(), RedisOptions{Cluster: fmt.Sprintf("bench%d", namespaces.Add(1)), SweepInterval: NoSweep, Sealer: s})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		saveParallel(b, st, data, sessions/runtime.GOMAXPROCS(0))
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checkpoints/s")
		if st := st.Stats(); st.Saves > 0 {
			b.ReportMetric(float64(st.Bytes)/float64(st.Saves), "bytes/record")
		}
	}
	b.Run("standalone", func(b *testing.B) {
		srv := redistest.Standalone(b)
		newClient := func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 64}) }
		b.Run("clear", func(b *testing.B) { run(b, newClient, nil) })
		b.Run("sealed", func(b *testing.B) { run(b, newClient, sealer) })
	})
	b.Run("cluster", func(b *testing.B) {
		if testing.Short() {
			b.Skip("starts a six-node Redis Cluster")
		}
		rc := redistest.Cluster(b, 3, 1)
		newClient := func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs(), PoolSize: 64})
		}
		b.Run("clear", func(b *testing.B) { run(b, newClient, nil) })
		b.Run("sealed", func(b *testing.B) { run(b, newClient, sealer) })
	})
}
