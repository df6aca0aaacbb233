package redistest

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestStandalone(t *testing.T) {
	ctx := context.Background()
	s := Standalone(t)
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if cfg := c.ConfigGet(ctx, "save").Val()["save"]; cfg != "" {
		t.Errorf("save = %q, want persistence off", cfg)
	}
	pid := s.Pid()
	s.Stop()
	s.Stop() // idempotent
	if s.Running() {
		t.Fatal("still running after Stop")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("pid %d after Stop: kill 0 = %v, want ESRCH", pid, err)
	}
}

func TestStandaloneAuth(t *testing.T) {
	ctx := context.Background()
	t.Run("password", func(t *testing.T) {
		s := Standalone(t, WithPassword("pw"))
		anon := redis.NewClient(&redis.Options{Addr: s.Addr})
		defer anon.Close()
		if err := anon.Ping(ctx).Err(); err == nil {
			t.Fatal("PING without AUTH accepted")
		}
		c := redis.NewClient(&redis.Options{Addr: s.Addr, Password: "pw"})
		defer c.Close()
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("acl user", func(t *testing.T) {
		s := Standalone(t, WithUser("ors", "s3cret"))
		for _, tc := range []struct {
			user, pass string
			ok         bool
		}{{"", "", false}, {"ors", "wrong", false}, {"default", "", false}, {"ors", "s3cret", true}} {
			c := redis.NewClient(&redis.Options{Addr: s.Addr, Username: tc.user, Password: tc.pass, MaxRetries: -1})
			err := c.Set(ctx, "k", "v", 0).Err()
			c.Close()
			if (err == nil) != tc.ok {
				t.Errorf("user %q password %q: %v", tc.user, tc.pass, err)
			}
		}
	})
}

func TestFreePorts(t *testing.T) {
	ports := freePorts(t, 6, true)
	seen := map[int]bool{}
	for _, p := range ports {
		for _, q := range []int{p, p + 10000} {
			if seen[q] {
				t.Fatalf("port %d twice in %v (with bus ports)", q, ports)
			}
			seen[q] = true
		}
	}
}

func TestSlot(t *testing.T) {
	// Values from the Redis Cluster specification and CLUSTER KEYSLOT.
	for key, want := range map[string]int{
		"123456789":            12739,
		"foo":                  12182,
		"{user1000}.following": Slot("user1000"),
		"foo{}{bar}":           Slot("foo{}{bar}"),
		"foo{{bar}}zap":        Slot("{bar"),
	} {
		if got := Slot(key); got != want {
			t.Errorf("Slot(%q) = %d, want %d", key, got, want)
		}
	}
}

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts six redis-server processes")
	}
	ctx := context.Background()
	c := Cluster(t, 3, 1)
	if len(c.Addrs()) != 6 || len(c.MasterAddrs()) != 3 {
		t.Fatalf("addrs %v, masters %v", c.Addrs(), c.MasterAddrs())
	}
	for _, key := range []string{"a", "ORS:x:session:{abc}", "foo{}{bar}", "{}"} {
		if got := c.Do(t, c.Addrs()[0], "cluster", "keyslot", key).(int64); int(got) != Slot(key) {
			t.Errorf("CLUSTER KEYSLOT %q = %d, Slot = %d", key, got, Slot(key))
		}
	}
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	defer cl.Close()
	const tag = "{mig}"
	slot := Slot(tag)
	for i := range 10 {
		if err := cl.Set(ctx, fmt.Sprintf("%s%d", tag, i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	from := c.SlotOwner(t, slot)
	m := c.BeginMigration(t, slot, "")
	if m.From != from || m.To == from {
		t.Fatalf("migration %s -> %s, owner was %s", m.From, m.To, from)
	}
	if n := m.MoveKeys(t); n != 10 {
		t.Fatalf("moved %d keys, want 10", n)
	}
	// Mid-migration: the source answers ASK for the moved keys.
	err := c.client(m.From).Get(ctx, tag+"0").Err()
	if err == nil || !redis.HasErrorPrefix(err, "ASK") {
		t.Fatalf("GET on the source mid-migration: %v, want ASK", err)
	}
	if v, err := cl.Get(ctx, tag+"3").Result(); err != nil || v != "3" {
		t.Fatalf("GET through the cluster client mid-migration: %q %v", v, err)
	}
	m.Finish(t)
	if got := c.SlotOwner(t, slot); got != m.To {
		t.Fatalf("slot %d on %s after Finish, want %s", slot, got, m.To)
	}
	err = c.client(m.From).Get(ctx, tag+"0").Err()
	if err == nil || !redis.HasErrorPrefix(err, "MOVED") {
		t.Fatalf("GET on the source after the move: %v, want MOVED", err)
	}
	if v, err := cl.Get(ctx, tag+"9").Result(); err != nil || v != "9" {
		t.Fatalf("GET through the cluster client after the move: %q %v", v, err)
	}

	pids := []int{}
	for _, s := range c.Nodes {
		pids = append(pids, s.Pid())
	}
	for _, s := range c.Nodes {
		s.Stop()
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("pid %d still there: %v", pid, err)
		}
	}
}

func TestTLS(t *testing.T) {
	ctx := context.Background()
	pki := NewPKI(t)
	t.Run("standalone", func(t *testing.T) {
		s := Standalone(t, WithTLS(pki))
		if s.TLS == nil {
			t.Fatal("Server.TLS not set")
		}
		c := redis.NewClient(&redis.Options{Addr: s.Addr, TLSConfig: s.TLS, MaxRetries: -1})
		defer c.Close()
		if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		// Only TLS is served: a plain client gets no answer.
		plain := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, ReadTimeout: time.Second})
		defer plain.Close()
		if err := plain.Ping(ctx).Err(); err == nil {
			t.Fatal("plain PING answered by a TLS-only server")
		}
		// Mutual TLS: a client without a certificate is refused.
		noCert := s.TLS.Clone()
		noCert.Certificates = nil
		anon := redis.NewClient(&redis.Options{Addr: s.Addr, TLSConfig: noCert, MaxRetries: -1})
		defer anon.Close()
		if err := anon.Ping(ctx).Err(); err == nil {
			t.Fatal("client without a certificate accepted")
		}
	})
	t.Run("cluster", func(t *testing.T) {
		rc := Cluster(t, 3, 1, WithTLS(pki))
		if rc.TLS() == nil {
			t.Fatal("RedisCluster.TLS not set")
		}
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()[:1], TLSConfig: rc.TLS()})
		defer c.Close()
		for i := range 20 { // keys in several slots, through redirections
			if err := c.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if got := rc.Do(t, rc.MasterAddrs()[0], "config", "get", "tls-cluster").(map[any]any); got["tls-cluster"] != "yes" {
			t.Fatalf("tls-cluster = %v", got)
		}
	})
}
