package persist

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func openConfig(t *testing.T, sections map[string]map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.FromMap(sections)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func redisSections(nodes string) map[string]map[string]string {
	return map[string]map[string]string{
		"persistence":   {"type": "redis", "redis-nodes": nodes, "session-ttl": "60", "redis-connect-timeout": "2000"},
		"orchestration": {"cluster-name": "opentest", "node-id": "n1", "sessionid-with-nodeid": "true"},
	}
}

func TestOpenWithoutRedis(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, openConfig(t, nil))
	if err != nil || st != nil {
		t.Fatalf("type none: %v, %v; want no store", st, err)
	}
	st, err = Open(ctx, openConfig(t, map[string]map[string]string{"persistence": {"type": "memory", "session-ttl": "5"}}))
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := st.(*MemoryStore); !ok || m.ttl != 5*time.Second {
		t.Fatalf("type memory: %T %+v", st, st)
	}
	// Invalid configurations fail before anything is dialled, naming
	// the option.
	cfg := config.Defaults()
	cfg.Persistence.Type = config.TypeRedis
	if _, err := Open(ctx, cfg); !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "redis-nodes") {
		t.Fatalf("redis without redis-nodes: %v", err)
	}
	// Nothing listens: the error names the option and the address.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = Open(ctx, openConfig(t, redisSections(addr)))
	if err == nil || !strings.Contains(err.Error(), "redis-nodes") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("unreachable Redis: %v", err)
	}
}

func TestOpenStandalone(t *testing.T) {
	srv := redistest.Standalone(t)
	ctx := context.Background()
	st, err := Open(ctx, openConfig(t, redisSections(srv.Addr)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rs, ok := st.(*RedisStore)
	if !ok || rs.opts.Cluster != "opentest" || rs.opts.TTL != time.Minute {
		t.Fatalf("store %T %+v", st, st)
	}
	if err := st.Save(ctx, &Record{SessionID: "s", Node: "n1", Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if ttl := rs.c.PTTL(ctx, rs.SessionKey("s")).Val(); !strings.HasPrefix(rs.SessionKey("s"), "ORS:opentest:session:") || ttl <= 0 || ttl > time.Minute {
		t.Fatalf("TTL of the record: %v, want session-ttl (1m)", ttl)
	}
	if err := st.Delete(ctx, Writer{Node: "n1"}, "s"); err != nil {
		t.Fatal(err)
	}
	// A standalone Redis listed with others is a configuration mistake.
	_, err = Open(ctx, openConfig(t, redisSections(srv.Addr+";127.0.0.1:1")))
	if err == nil || !strings.Contains(err.Error(), "standalone") {
		t.Fatalf("standalone among several redis-nodes: %v", err)
	}
}

// testOpenCluster: one seed address of a Redis Cluster is enough; Open
// finds out it is a cluster and writes through a cluster client.
func testOpenCluster(t *testing.T, addrs []string) {
	ctx := context.Background()
	st, err := Open(ctx, openConfig(t, redisSections(addrs[0])))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rs := st.(*RedisStore)
	if _, ok := rs.c.(*redis.ClusterClient); !ok {
		t.Fatalf("client %T, want a cluster client", rs.c)
	}
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} { // several slots
		if err := st.Save(ctx, &Record{SessionID: id, Node: "n1", Seq: 1}); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := st.ListNode(ctx, "n1")
	if err != nil || len(ids) != 6 {
		t.Fatalf("ListNode = %v, %v", ids, err)
	}
	for _, id := range ids {
		if err := st.Delete(ctx, Writer{Node: "n1"}, id); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOpenWith: the client's and the store's tuning reach them; bad
// values are refused by name.
func TestOpenWith(t *testing.T) {
	srv := redistest.Standalone(t)
	ctx := context.Background()
	st, err := OpenWith(ctx, openConfig(t, redisSections(srv.Addr)), OpenOptions{
		Client: ClientOptions{MaxRetries: NoClientRetries, PoolSize: 3, MaxRedirects: 7},
		Redis:  RedisOptions{Cluster: "ignored", WaitReplicas: 0, RetryFor: NoRetry, MaxBatch: NoGroupCommit},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rs := st.(*RedisStore)
	o := rs.c.(*redis.Client).Options()
	if o.PoolSize != 3 || o.MaxRetries != 0 || // go-redis keeps "none" as 0 (its default is 3)
		rs.opts.Cluster != "opentest" || rs.opts.RetryFor != NoRetry || rs.queue != nil {
		t.Fatalf("client %+v, store %+v", o, rs.opts)
	}
	for _, tc := range []struct {
		o    ClientOptions
		want string
	}{
		{ClientOptions{MaxRetries: -2}, "MaxRetries"},
		{ClientOptions{MinRetryBackoff: time.Second, MaxRetryBackoff: time.Millisecond}, "MinRetryBackoff"},
		{ClientOptions{PoolSize: -1}, "PoolSize"},
	} {
		if _, err := OpenWith(ctx, openConfig(t, redisSections(srv.Addr)), OpenOptions{Client: tc.o}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %s", tc.o, err, tc.want)
		}
	}
}

// A node started while a Redis Cluster promotes the replica of a dead
// master waits for the cluster (the store's RetryFor) instead of failing:
// without retries Open fails, with them it opens and the store works.
func TestOpenDuringMasterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a six-node Redis Cluster and waits for its failover")
	}
	rc := redistest.Cluster(t, 3, 1)
	ctx := context.Background()
	dead := rc.MasterAddrs()[0]
	var live []string
	for _, a := range rc.Addrs() {
		if a != dead {
			live = append(live, a)
		}
	}
	rc.ShutdownNoSave(t, dead)
	sections := redisSections(strings.Join(live, ","))
	// The replica is promoted cluster-node-timeout (5 s) or more later.
	if st, err := OpenWith(ctx, openConfig(t, sections), OpenOptions{Redis: RedisOptions{RetryFor: NoRetry}}); err == nil {
		st.Close()
		t.Fatal("opened without retries while a master was down: the test shows nothing")
	} else if errors.Is(err, config.ErrInvalid) {
		t.Fatalf("a master down reported as an option's fault: %v", err)
	}
	st, err := OpenWith(ctx, openConfig(t, sections), OpenOptions{Redis: RedisOptions{RetryFor: 30 * time.Second}})
	if err != nil {
		t.Fatalf("open during the failover: %v", err)
	}
	defer st.Close()
	rec := &Record{SessionID: "failover-open", Node: "n1", Seq: 1, Data: []byte("x")}
	if err := st.Save(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Load(ctx, rec.SessionID); err != nil || string(got.Data) != "x" {
		t.Fatalf("load: %+v, %v", got, err)
	}
}
