package redistest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a running Redis Cluster of masters and replicas, each a
// Server with cluster-enabled yes in its own directory.
type RedisCluster struct {
	// Nodes are all the servers, in the order given to
	// redis-cli --cluster create (which made the first ones masters).
	Nodes []*Server

	masters []string
	clients map[string]*redis.Client // of every node, made by Cluster
	pki     *PKI                     // for a TLS cluster, or nil
}

// clusterTimeout bounds each wait for the cluster to converge; generous,
// for loaded two-core machines.
const clusterTimeout = 90 * time.Second

// Cluster starts masters*(1+replicasPerMaster) servers and joins them
// with redis-cli --cluster create, then waits until every node reports
// cluster_state:ok with every slot assigned and every other node known,
// and every replica is in sync with its master. Redis requires
// masters >= 3. opts apply to every node: WithTLS makes a cluster that
// speaks only TLS, to clients and on its bus (tls-cluster yes).
func Cluster(t testing.TB, masters, replicasPerMaster int, opts ...Option) *RedisCluster {
	t.Helper()
	bin := lookPath(t, "redis-server")
	cli := lookPath(t, "redis-cli")
	if masters < 3 || replicasPerMaster < 0 {
		t.Fatalf("redistest: Cluster(%d, %d): Redis Cluster needs at least 3 masters", masters, replicasPerMaster)
	}
	n := masters * (1 + replicasPerMaster)
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	c := &RedisCluster{clients: map[string]*redis.Client{}, pki: cfg.pki}
	tc := cfg.tlsConfig(t)
	lines := []string{
		"cluster-enabled yes",
		"cluster-config-file nodes.conf",
		"cluster-node-timeout 5000",
		// A test cluster keeps serving the slots it has while a node is
		// down, and lets replicas fail over quickly.
		"cluster-require-full-coverage no",
		// Replicas sync at once instead of after the default 5s wait
		// for more replicas.
		"repl-diskless-sync-delay 0",
	}
	lines = append(lines, cfg.lines...)
	for attempt := 0; len(c.Nodes) < n; attempt++ {
		ports := freePorts(t, n-len(c.Nodes), true)
		for _, p := range ports {
			s, err := start(t, bin, p, lines, tc)
			if err != nil {
				if attempt >= 3 {
					t.Fatalf("redistest: %v", err)
				}
				continue // port taken meanwhile: pick new ones
			}
			c.Nodes = append(c.Nodes, s)
		}
	}
	for _, s := range c.Nodes {
		c.clients[s.Addr] = client(t, s.Addr, tc)
	}
	args := append(c.Addrs(), "--cluster-replicas", strconv.Itoa(replicasPerMaster), "--cluster-yes")
	args = append(args, c.cliTLSArgs()...)
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*clusterTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, cli, append([]string{"--cluster", "create"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	created := time.Now()
	c.waitConverged(t, func(ctx context.Context, cl *redis.Client) error {
		info, err := cl.ClusterInfo(ctx).Result()
		if err != nil {
			return err
		}
		for _, want := range []string{"cluster_state:ok", "cluster_slots_assigned:16384", "cluster_known_nodes:" + strconv.Itoa(n)} {
			if !strings.Contains(info, want+"\r\n") {
				return fmt.Errorf("CLUSTER INFO lacks %s", want)
			}
		}
		nodes, err := cl.ClusterNodes(ctx).Result()
		if err != nil {
			return err
		}
		if m, r := roles(nodes); m != masters || r != masters*replicasPerMaster {
			return fmt.Errorf("CLUSTER NODES shows %d masters and %d replicas", m, r)
		}
		// A replica is listed by CLUSTER SLOTS only once gossip has
		// carried its replication offset, seconds later: tests use
		// masters, so a replica only has to be in sync.
		repl, err := cl.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
			return errors.New("replica not in sync with its master")
		}
		return nil
	})
	c.masters = c.liveMasters(t)
	t.Logf("redistest: cluster %v: created in %v, converged in %v more", c.Addrs(), created.Sub(began).Round(time.Millisecond), time.Since(created).Round(time.Millisecond))
	return c
}

// cliTLSArgs are the TLS arguments of redis-cli and redis-benchmark.
func (c *RedisCluster) cliTLSArgs() []string {
	if c.pki == nil {
		return nil
	}
	return []string{"--tls", "--cacert", c.pki.CACert, "--cert", c.pki.ClientCert, "--key", c.pki.ClientKey}
}

// TLS returns, for a cluster started WithTLS, the client configuration
// that trusts its nodes and presents a client certificate; nil otherwise.
func (c *RedisCluster) TLS() *tls.Config {
	if len(c.Nodes) == 0 {
		return nil
	}
	return c.Nodes[0].TLS
}

// Addrs returns the addresses of all nodes, masters and replicas.
func (c *RedisCluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		addrs[i] = s.Addr
	}
	return addrs
}

// MasterAddrs returns the addresses of the masters, sorted, as they were
// when the cluster had formed.
func (c *RedisCluster) MasterAddrs() []string {
	return append([]string(nil), c.masters...)
}

// liveMasters returns the addresses of the masters that serve slots, as
// the first node that answers sees them, sorted.
func (c *RedisCluster) liveMasters(t testing.TB) []string {
	t.Helper()
	var masters []string
	poll(t, clusterTimeout, "CLUSTER SLOTS", func(ctx context.Context) error {
		var lastErr error
		for _, s := range c.Nodes {
			if !s.Running() {
				continue
			}
			slots, err := c.client(s.Addr).ClusterSlots(ctx).Result()
			if err != nil {
				lastErr = err
				continue
			}
			masters = masters[:0]
			for _, r := range slots {
				if len(r.Nodes) > 0 && !slices.Contains(masters, r.Nodes[0].Addr) {
					masters = append(masters, r.Nodes[0].Addr)
				}
			}
			sort.Strings(masters)
			return nil
		}
		return fmt.Errorf("no node answers: %v", lastErr)
	})
	return masters
}

// roles counts the masters and replicas in a CLUSTER NODES reply.
func roles(nodes string) (masters, replicas int) {
	for _, line := range strings.Split(strings.TrimSpace(nodes), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		flags := "," + f[2] + ","
		switch {
		case strings.Contains(flags, ",fail"):
		case strings.Contains(flags, ",master,"):
			masters++
		case strings.Contains(flags, ",slave,"):
			replicas++
		}
	}
	return masters, replicas
}

// client returns the plain client of one node.
func (c *RedisCluster) client(addr string) *redis.Client {
	if cl, ok := c.clients[addr]; ok {
		return cl
	}
	panic("redistest: " + addr + " is not a node of this cluster")
}

// Do runs one command on the node at addr, not through cluster routing,
// and fails the test on error.
func (c *RedisCluster) Do(t testing.TB, addr string, args ...any) any {
	t.Helper()
	v, err := c.client(addr).Do(context.Background(), args...).Result()
	if err != nil {
		t.Fatalf("redistest: %s: %v: %v", addr, args, err)
	}
	return v
}

// DoAsking runs one command on the node at addr preceded by ASKING, as a
// client following an ASK redirection does: the target of a migration
// serves keys of the importing slot only to such commands. It fails the
// test on error.
func (c *RedisCluster) DoAsking(t testing.TB, addr string, args ...any) any {
	t.Helper()
	ctx := context.Background()
	var cmd *redis.Cmd
	_, err := c.client(addr).Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, "asking")
		cmd = p.Do(ctx, args...)
		return nil
	})
	if err != nil {
		t.Fatalf("redistest: %s: ASKING %v: %v", addr, args, err)
	}
	return cmd.Val()
}

// waitConverged polls every running node with f until all pass.
func (c *RedisCluster) waitConverged(t testing.TB, f func(ctx context.Context, cl *redis.Client) error) {
	t.Helper()
	poll(t, clusterTimeout, "cluster converged", func(ctx context.Context) error {
		for _, s := range c.Nodes {
			if !s.Running() {
				continue
			}
			if err := f(ctx, c.client(s.Addr)); err != nil {
				return fmt.Errorf("%s: %w", s.Addr, err)
			}
		}
		return nil
	})
}

// NodeID returns the cluster node id of the node at addr.
func (c *RedisCluster) NodeID(t testing.TB, addr string) string {
	t.Helper()
	return c.Do(t, addr, "cluster", "myid").(string)
}

// SlotOwner returns the address of the master serving slot, as the first
// master that answers sees it.
func (c *RedisCluster) SlotOwner(t testing.TB, slot int) string {
	t.Helper()
	for _, m := range c.liveMasters(t) {
		slots, err := c.client(m).ClusterSlots(context.Background()).Result()
		if err != nil {
			continue
		}
		for _, s := range slots {
			if s.Start <= slot && slot <= s.End && len(s.Nodes) > 0 {
				return s.Nodes[0].Addr
			}
		}
	}
	t.Fatalf("redistest: no master serves slot %d", slot)
	return ""
}

// Migration is a slot being moved between masters: between
// BeginMigration and Finish the source answers ASK for the slot's keys it
// no longer holds, and the target serves them to clients that send
// ASKING; after Finish every node answers MOVED to the target.
type Migration struct {
	c *RedisCluster
	// Slot is the slot being moved.
	Slot int
	// From and To are the source and target masters' addresses.
	From, To       string
	fromID, toID   string
	toHost, toPort string
}

// BeginMigration puts slot in the IMPORTING state on master to and in the
// MIGRATING state on its current owner; to "" picks another master. No
// key moves yet (see MoveKeys).
func (c *RedisCluster) BeginMigration(t testing.TB, slot int, to string) *Migration {
	t.Helper()
	from := c.SlotOwner(t, slot)
	if to == "" {
		for _, m := range c.liveMasters(t) {
			if m != from {
				to = m
				break
			}
		}
	}
	if to == from {
		t.Fatalf("redistest: slot %d already on %s", slot, to)
	}
	m := &Migration{c: c, Slot: slot, From: from, To: to, fromID: c.NodeID(t, from), toID: c.NodeID(t, to)}
	m.toHost, m.toPort, _ = strings.Cut(to, ":")
	c.Do(t, to, "cluster", "setslot", slot, "importing", m.fromID)
	c.Do(t, from, "cluster", "setslot", slot, "migrating", m.toID)
	return m
}

// MoveKeys moves the keys of the slot still on the source to the target
// (CLUSTER GETKEYSINSLOT, MIGRATE ... KEYS) and returns how many it moved.
// It can be called repeatedly while clients work.
func (m *Migration) MoveKeys(t testing.TB) int {
	t.Helper()
	moved := 0
	for {
		keys, err := m.c.client(m.From).ClusterGetKeysInSlot(context.Background(), m.Slot, 100).Result()
		if err != nil {
			t.Fatalf("redistest: %s: CLUSTER GETKEYSINSLOT %d: %v", m.From, m.Slot, err)
		}
		if len(keys) == 0 {
			return moved
		}
		args := []any{"migrate", m.toHost, m.toPort, "", 0, 10000, "replace", "keys"}
		for _, k := range keys {
			args = append(args, k)
		}
		m.c.Do(t, m.From, args...)
		moved += len(keys)
	}
}

// Finish moves the remaining keys, assigns the slot to the target on the
// target, the source and the other masters (in that order, as Redis
// recommends), and waits until every node sees the target as the owner.
func (m *Migration) Finish(t testing.TB) {
	t.Helper()
	m.MoveKeys(t)
	m.c.Do(t, m.To, "cluster", "setslot", m.Slot, "node", m.toID)
	m.c.Do(t, m.From, "cluster", "setslot", m.Slot, "node", m.toID)
	for _, a := range m.c.liveMasters(t) {
		if a != m.To && a != m.From {
			m.c.Do(t, a, "cluster", "setslot", m.Slot, "node", m.toID)
		}
	}
	m.c.waitConverged(t, func(ctx context.Context, cl *redis.Client) error {
		slots, err := cl.ClusterSlots(ctx).Result()
		if err != nil {
			return err
		}
		for _, s := range slots {
			if s.Start <= m.Slot && m.Slot <= s.End {
				if len(s.Nodes) == 0 || s.Nodes[0].Addr != m.To {
					return fmt.Errorf("slot %d not yet on %s", m.Slot, m.To)
				}
				return nil
			}
		}
		return fmt.Errorf("slot %d unassigned", m.Slot)
	})
}

// MigrateSlot moves slot to master to ("" picks another master) at once:
// BeginMigration then Finish.
func (c *RedisCluster) MigrateSlot(t testing.TB, slot int, to string) *Migration {
	t.Helper()
	m := c.BeginMigration(t, slot, to)
	m.Finish(t)
	return m
}

// Slot returns the Redis Cluster slot of key: CRC16 (XMODEM) of the key,
// or of its hash tag (the part between the first "{" and the next "}",
// when not empty), modulo 16384.
func Slot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for k := 0; k < len(key); k++ {
		crc ^= uint16(key[k]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

// CompareWithSet reports, for a benchmark that wrote rate records of size
// bytes per second into the cluster, what redis-benchmark measures for SET
// of that size against it (redis-benchmark-SET/s) and the benchmark's
// share of it (%-of-SET), the yardstick. Runs shorter than
// minRuns ops compare nothing.
func (c *RedisCluster) CompareWithSet(b *testing.B, size int, rate float64, minRuns int) {
	if b.N < minRuns {
		return
	}
	rps, err := c.SetThroughput(size)
	if err != nil {
		b.Logf("%v (no comparison)", err)
		return
	}
	b.ReportMetric(rps, "redis-benchmark-SET/s")
	b.ReportMetric(100*rate/rps, "%-of-SET")
}

// SetThroughput runs redis-benchmark against the cluster: SET of size-byte
// values (-d), 200,000 requests over 100,000 keys, 50 clients, no
// pipelining (its defaults), and returns the SETs per second it measured:
// the ceiling the checkpoint benchmarks compare themselves with.
func (c *RedisCluster) SetThroughput(size int) (float64, error) {
	host, port, err := net.SplitHostPort(c.MasterAddrs()[0])
	if err != nil {
		return 0, err
	}
	args := append([]string{"--cluster", "-h", host, "-p", port,
		"-t", "set", "-d", strconv.Itoa(size), "-n", "200000", "-r", "100000", "--csv"}, c.cliTLSArgs()...)
	out, err := exec.Command("redis-benchmark", args...).Output()
	if err != nil {
		return 0, fmt.Errorf("redis-benchmark: %w", err)
	}
	// --csv: a header line, then "SET","<requests per second>",...
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, ",")
		if len(f) > 1 && strings.Trim(f[0], `"`) == "SET" {
			if rps, err := strconv.ParseFloat(strings.Trim(f[1], `"`), 64); err == nil && rps > 0 {
				return rps, nil
			}
		}
	}
	return 0, fmt.Errorf("redis-benchmark: no SET figure in %q", out)
}

// ReplicasOf returns the servers that replicate the master at addr, as
// that master's CLUSTER NODES lists them (failed ones left out).
func (c *RedisCluster) ReplicasOf(t testing.TB, addr string) []*Server {
	t.Helper()
	id := c.NodeID(t, addr)
	nodes := c.Do(t, addr, "cluster", "nodes").(string)
	var out []*Server
	for _, line := range strings.Split(strings.TrimSpace(nodes), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != id || strings.Contains(","+f[2]+",", ",fail") {
			continue
		}
		a, _, _ := strings.Cut(f[1], "@")
		for _, s := range c.Nodes {
			if s.Addr == a {
				out = append(out, s)
			}
		}
	}
	return out
}

// ShutdownNoSave stops the node at addr with SHUTDOWN NOSAVE NOW (no
// snapshot, no wait for lagging replicas: the way a master dies with
// writes its replicas lack) and waits until its process has exited.
func (c *RedisCluster) ShutdownNoSave(t testing.TB, addr string) {
	t.Helper()
	var srv *Server
	for _, s := range c.Nodes {
		if s.Addr == addr {
			srv = s
		}
	}
	if srv == nil {
		t.Fatalf("redistest: %s is not a node of this cluster", addr)
	}
	// The connection closes under the command: its error is expected.
	_ = c.client(addr).Do(context.Background(), "shutdown", "nosave", "now").Err()
	select {
	case <-srv.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("redistest: %s still runs 10s after SHUTDOWN NOSAVE NOW", addr)
	}
}
