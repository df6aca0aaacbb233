package persist

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/orsgo/engine/config"
	"github.com/orsgo/engine/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// tlsSections is redisSections with TLS on, trusting pki's CA and
// presenting its client certificate.
func tlsSections(nodes string, pki *redistest.PKI) map[string]map[string]string {
	s := redisSections(nodes)
	p := s["persistence"]
	p["tls-enabled"] = "true"
	p["tls-cacert"] = pki.CACert
	p["tls-cert"] = pki.ClientCert
	p["tls-key"] = pki.ClientKey
	return s
}

// saveLoad proves a store works: a record goes in and comes back.
func saveLoad(t *testing.T, st Store) {
	t.Helper()
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} { // several slots in a cluster
		if err := st.Save(ctx, &Record{SessionID: id, Node: "n1", Seq: 1, Data: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		rec, err := st.Load(ctx, id)
		if err != nil || string(rec.Data) != "x" {
			t.Fatalf("Load(%s) = %+v, %v", id, rec, err)
		}
		if err := st.Delete(ctx, Writer{Node: "n1"}, id); err != nil {
			t.Fatal(err)
		}
	}
}

// openErr opens with sections and wants an error wrapping
// config.ErrInvalid whose text holds each of want.
func openErr(t *testing.T, sections map[string]map[string]string, want ...string) {
	t.Helper()
	cfg, err := config.FromMap(sections)
	if err == nil {
		var st Store
		st, err = Open(context.Background(), cfg)
		if st != nil {
			st.Close()
			t.Fatalf("Open succeeded, want an error containing %q", want)
		}
	}
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if !errors.Is(err, config.ErrInvalid) {
		t.Errorf("error does not wrap config.ErrInvalid: %v", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error:\n%v\nwant it to contain %q", err, w)
		}
	}
}

func TestOpenTLSStandalone(t *testing.T) {
	pki := redistest.NewPKI(t)
	srv := redistest.Standalone(t, redistest.WithTLS(pki))
	ctx := context.Background()
	t.Run("mutual TLS", func(t *testing.T) {
		for _, v := range []string{"1.2", "1.3"} {
			s := tlsSections(srv.Addr, pki)
			s["persistence"]["tls-min-version"] = v
			st, err := Open(ctx, openConfig(t, s))
			if err != nil {
				t.Fatalf("tls-min-version %s: %v", v, err)
			}
			saveLoad(t, st)
			st.Close()
		}
	})
	t.Run("tls-cacertdir and tls-sni", func(t *testing.T) {
		s := tlsSections(srv.Addr, pki)
		delete(s["persistence"], "tls-cacert")
		s["persistence"]["tls-cacertdir"] = pki.CADir
		s["persistence"]["tls-sni"] = "redis.test"
		st, err := Open(ctx, openConfig(t, s))
		if err != nil {
			t.Fatal(err)
		}
		saveLoad(t, st)
		st.Close()
	})
	t.Run("TLS 1.3 required, server gives 1.2 at most", func(t *testing.T) {
		srv12 := redistest.Standalone(t, redistest.WithTLS(pki), redistest.WithConfig("tls-protocols TLSv1.2"))
		s := tlsSections(srv12.Addr, pki)
		st, err := Open(ctx, openConfig(t, s))
		if err != nil {
			t.Fatalf("TLS 1.2 server with tls-min-version 1.2: %v", err)
		}
		st.Close()
		s["persistence"]["tls-min-version"] = "1.3"
		openErr(t, s, "[persistence] tls-min-version:", srv12.Addr)
	})

	other := redistest.NewPKI(t)
	now := time.Now()
	expiredCert, expiredKey := pki.Issue(t, redistest.CertOptions{Name: "expired", Client: true, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)})
	futureCert, futureKey := pki.Issue(t, redistest.CertOptions{Name: "future", Client: true, NotBefore: now.Add(time.Hour), NotAfter: now.Add(48 * time.Hour)})
	for _, tc := range []struct {
		name string
		edit func(p map[string]string)
		want []string
	}{
		{"wrong CA", func(p map[string]string) { p["tls-cacert"] = other.CACert },
			[]string{"[persistence] tls-cacert: the certificate of Redis at " + srv.Addr + " is not signed by a CA of tls-cacert \"" + other.CACert + "\""}},
		{"wrong CA directory", func(p map[string]string) { delete(p, "tls-cacert"); p["tls-cacertdir"] = other.CADir },
			[]string{"[persistence] tls-cacertdir: the certificate of Redis at " + srv.Addr + " is not signed by a CA of tls-cacertdir"}},
		{"missing CA: system roots", func(p map[string]string) { delete(p, "tls-cacert") },
			[]string{"[persistence] tls-cacert:", "the system roots (neither tls-cacert nor tls-cacertdir is set)"}},
		{"CA file missing", func(p map[string]string) { p["tls-cacert"] = pki.Dir + "/nope.crt" },
			[]string{"[persistence] tls-cacert:", "no such file"}},
		{"wrong SNI", func(p map[string]string) { p["tls-sni"] = "wrong.test" },
			[]string{`[persistence] tls-sni: the certificate of Redis at ` + srv.Addr + ` is not valid for "wrong.test"`}},
		{"no client certificate", func(p map[string]string) { delete(p, "tls-cert"); delete(p, "tls-key") },
			[]string{"[persistence] tls-cert: Redis at " + srv.Addr + " requires a client certificate (mutual TLS): set tls-cert and tls-key"}},
		{"client certificate of another CA", func(p map[string]string) { p["tls-cert"], p["tls-key"] = other.ClientCert, other.ClientKey },
			[]string{"[persistence] tls-cert: Redis at " + srv.Addr + " refused the client certificate"}},
		{"expired client certificate", func(p map[string]string) { p["tls-cert"], p["tls-key"] = expiredCert, expiredKey },
			[]string{`[persistence] tls-cert: "` + expiredCert + `" expired at`}},
		{"client certificate not yet valid", func(p map[string]string) { p["tls-cert"], p["tls-key"] = futureCert, futureKey },
			[]string{`[persistence] tls-cert: "` + futureCert + `" is not valid before`}},
		{"mismatched certificate and key", func(p map[string]string) { p["tls-key"] = pki.ServerKey },
			[]string{"[persistence] tls-cert:", "private key does not match public key"}},
		{"tls-cert without tls-key", func(p map[string]string) { delete(p, "tls-key") },
			[]string{"[persistence] tls-cert: set without tls-key (both or neither)"}},
		{"plain client, TLS server", func(p map[string]string) { p["tls-enabled"] = "false" },
			[]string{"[persistence] tls-enabled: Redis at " + srv.Addr + " closed the connection at once: if it serves TLS only, set tls-enabled = true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tlsSections(srv.Addr, pki)
			tc.edit(s["persistence"])
			openErr(t, s, tc.want...)
		})
	}

	t.Run("expired server certificate", func(t *testing.T) {
		// A server whose own certificate expired.
		old := *pki
		old.ServerCert, old.ServerKey = pki.Issue(t, redistest.CertOptions{Name: "old-server", Hosts: []string{"127.0.0.1"}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)})
		srvOld := redistest.Standalone(t, redistest.WithTLS(&old))
		openErr(t, tlsSections(srvOld.Addr, pki), "[persistence] redis-nodes: the TLS certificate of Redis at "+srvOld.Addr+" is expired or not yet valid")
	})
	t.Run("TLS client, plain server", func(t *testing.T) {
		plain := redistest.Standalone(t)
		s := tlsSections(plain.Addr, pki)
		s["persistence"]["redis-connect-timeout"] = "500"
		s["persistence"]["redis-socket-timeout"] = "500"
		cfg := openConfig(t, s)
		st, err := Open(ctx, cfg)
		if st != nil || err == nil || !strings.Contains(err.Error(), "tls-enabled = false") || !strings.Contains(err.Error(), "redis-nodes") {
			t.Fatalf("Open = %v, %v; want an error naming redis-nodes and tls-enabled", st, err)
		}
	})
}

// TestOpenTLSCluster: a 3+3 Redis Cluster speaking only TLS, on its bus
// too (tls-cluster yes); the store finds it is a cluster from one seed
// and writes keys of several slots through redirections.
func TestOpenTLSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3+3 TLS cluster")
	}
	pki := redistest.NewPKI(t)
	rc := redistest.Cluster(t, 3, 1, redistest.WithTLS(pki))
	ctx := context.Background()
	// The README's minimal ACL user, on every node (ACLs are per node).
	for _, addr := range rc.Addrs() {
		args := []any{"acl", "setuser"}
		for _, f := range strings.Fields(aclUser("opentest", "s3cret", aclCommands))[1:] {
			args = append(args, f)
		}
		rc.Do(t, addr, args...)
	}
	s := tlsSections(rc.Addrs()[0], pki)
	s["persistence"]["username"] = "ors"
	s["persistence"]["password"] = "s3cret"
	st, err := Open(ctx, openConfig(t, s))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, ok := st.(*RedisStore).c.(*redis.ClusterClient); !ok {
		t.Fatalf("client %T, want a cluster client", st.(*RedisStore).c)
	}
	saveLoad(t, st)
	// Every node was reached over TLS: the cluster has no plain port.
	for _, addr := range rc.MasterAddrs() {
		if got := rc.Do(t, addr, "config", "get", "port").(map[any]any)["port"]; got != "0" {
			t.Errorf("%s: port %v, want 0 (TLS only)", addr, got)
		}
	}
	// Everything at once: TLS, the ACL user, sealed records, hashed keys.
	s["persistence"]["encryption-key"] = strings.Repeat("ab", 32)
	s["persistence"]["hash-session-keys"] = "true"
	s["persistence"]["hash-key"] = strings.Repeat("cd", 32)
	secure, err := Open(ctx, openConfig(t, s))
	if err != nil {
		t.Fatal(err)
	}
	saveLoad(t, secure)
	if rs := secure.(*RedisStore); rs.opts.Sealer == nil || rs.opts.KeyHash == nil {
		t.Fatalf("encryption or hashing not configured: %+v", rs.opts)
	}
	secure.Close()
	t.Run("hashed keys", func(t *testing.T) {
		testHashedKeys(t, func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs(), TLSConfig: rc.TLS()})
		})
	})
	s["persistence"]["tls-sni"] = "wrong.test"
	openErr(t, s, "[persistence] tls-sni:")
}
