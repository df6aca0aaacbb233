//go:build unix

package server

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	engine "github.com/orsgo/engine"
	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/internal/redistest"
)

// BenchmarkPromoteToFirstEvent measures, over HTTP against real
// processes and the 3+3 Redis Cluster, with SCXML_BENCH_SESSIONS (default
// 10,000) routing sessions persisted for node n1: the time of POST
// /admin/promote on a backup (promote-ms) and from then to the answer
// of the first event to one of the sessions (first-event-ms: it loads
// the session from Redis, runs the macrostep and writes its checkpoint).
// Each iteration starts a fresh backup process (not timed). It starts
// processes and a cluster: run it with SCXML_BENCH_NODE=1.
func BenchmarkPromoteToFirstEvent(b *testing.B) {
	if os.Getenv("SCXML_BENCH_NODE") == "" {
		b.Skip("starts a Redis Cluster and scxml serve processes: set SCXML_BENCH_NODE=1")
	}
	n := 10000
	if v := os.Getenv("SCXML_BENCH_SESSIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("SCXML_BENCH_SESSIONS=%q", v)
		}
	}
	rc := redistest.Cluster(b, 3, 1)
	name := fmt.Sprintf("bench%d", time.Now().UnixNano()%1_000_000)
	ids := populate(b, rc, name, n)
	b.ResetTimer()
	var promote, first time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		backup := startProc(b, "backup", nodeConfig(b, rc, name, config.RoleBackup))
		id := ids[i%len(ids)]
		b.StartTimer()
		t0 := time.Now()
		if st, m, err := do("POST", backup.url+"/admin/promote", ""); err != nil || st != 200 {
			b.Fatalf("promote: %d %v %v", st, m, err)
		}
		t1 := time.Now()
		if st, m, err := do("POST", backup.url+"/scxml/session/"+id+"/event/silent", ""); err != nil || st != 200 {
			b.Fatalf("first event: %d %v %v", st, m, err)
		}
		t2 := time.Now()
		b.StopTimer()
		promote += t1.Sub(t0)
		first += t2.Sub(t1)
		backup.signal(syscall.SIGKILL)
		b.StartTimer()
	}
	b.ReportMetric(float64(promote.Microseconds())/1000/float64(b.N), "promote-ms")
	b.ReportMetric(float64(first.Microseconds())/1000/float64(b.N), "first-event-ms")
	b.ReportMetric(float64(n), "sessions")
}

// populate starts n routing sessions of node n1 in Redis, each one step
// in, from an in-process primary closed without draining.
func populate(b *testing.B, rc *redistest.RedisCluster, name string, n int) []string {
	cfg, err := config.ParseFile(nodeConfig(b, rc, name, config.RolePrimary))
	if err != nil {
		b.Fatal(err)
	}
	nc := config.NodeDefaults()
	nc.Documents = []string{"testdata"}
	srv, err := New(context.Background(), Options{Config: cfg, Node: nc})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	doc := srv.docs["routing"]
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	began := time.Now()
	for w := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 64 {
				s, err := srv.Engine().Start(context.Background(), doc, engine.StartOptions{Data: map[string]any{"caller": fmt.Sprint("c", i)}})
				if err == nil {
					err = s.Send(context.Background(), engine.Event{Name: "step", Data: map[string]any{"n": 1}})
				}
				if err != nil {
					errs <- err
					return
				}
				ids[i] = s.ID()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.Logf("%d sessions persisted in %v", n, time.Since(began).Round(time.Millisecond))
	return ids
}
