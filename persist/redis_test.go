package persist

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func TestRedisStore(t *testing.T) {
	srv := redistest.Standalone(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	st, err := NewRedis(c, RedisOptions{Cluster: "test", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storeSuite(t, st, nil)
	ctx := context.Background()
	for _, key := range []string{"ORS:test:session:{a1}", "ORS:test:node:{A}"} {
		if ttl := c.PTTL(ctx, key).Val(); ttl <= 0 || ttl > time.Hour {
			t.Errorf("%s: PTTL %v, want within (0, 1h]", key, ttl)
		}
	}
	// A record that expired leaves the index on the next ListNode.
	c.Del(ctx, "ORS:test:session:{a1}")
	if ids, _ := st.ListNode(ctx, "A"); len(ids) != 1 || ids[0] != "a3" {
		t.Fatalf("ListNode after expiry: %v", ids)
	}
	if n := c.SCard(ctx, "ORS:test:node:{A}").Val(); n != 1 {
		t.Fatalf("index still has %d members", n)
	}
	c.Set(ctx, "ORS:test:session:{x}", "garbage", time.Hour)
	if _, err := st.Load(ctx, "x"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupt record: %v", err)
	}
	if _, err := NewRedis(c, RedisOptions{}); err == nil {
		t.Fatal("empty Cluster accepted")
	}
}

func TestRedisAuth(t *testing.T) {
	srv := redistest.Standalone(t, "user default off", "user ors on >s3cret ~ORS:* +@all")
	ctx := context.Background()
	bad := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "ors", Password: "wrong"})
	defer bad.Close()
	st, _ := NewRedis(bad, RedisOptions{Cluster: "c"})
	if err := st.Save(ctx, &Record{SessionID: "s", Node: "n"}); err == nil {
		t.Fatal("wrong password accepted")
	}
	good := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "ors", Password: "s3cret"})
	st2, _ := NewRedis(good, RedisOptions{Cluster: "c"})
	defer st2.Close()
	if err := st2.Save(ctx, &Record{SessionID: "s", Node: "n", Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if rec, err := st2.Load(ctx, "s"); err != nil || string(rec.Data) != "x" {
		t.Fatalf("%+v %v", rec, err)
	}
}

func BenchmarkRedisSave(b *testing.B) {
	srv := redistest.Standalone(b)
	st, _ := NewRedis(redis.NewClient(&redis.Options{Addr: srv.Addr, PoolSize: 64}), RedisOptions{Cluster: "bench"})
	defer st.Close()
	data := make([]byte, 2048)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		i := 0
		for pb.Next() {
			i++
			if err := st.Save(ctx, &Record{SessionID: "s" + string(rune('a'+i%26)), Node: "n", Data: data}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
