package cli

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/orsgo/engine/config"
	"github.com/redis/go-redis/v9"
)

// redisCPU reads the CPU time the Redis servers of a configuration used
// (INFO cpu: used_cpu_user + used_cpu_sys, every master and replica), so
// that scxml bench can show Redis's share of a checkpoint beside the
// engine's. It only measures servers on this machine (loopback
// addresses): the CPU of a remote Redis is not this node's cost.
type redisCPU struct {
	c redis.UniversalClient
}

// newRedisCPU returns a reader for cfg's redis-nodes, or nil with the
// reason when they are not all on loopback.
func newRedisCPU(cfg *config.Config) (*redisCPU, string) {
	p := &cfg.Persistence
	for _, a := range p.RedisNodes {
		if !loopback(a) {
			return nil, fmt.Sprintf("%s is not a loopback address", a)
		}
	}
	opts := &redis.UniversalOptions{
		Addrs: p.RedisNodes, Username: p.Username, Password: p.Password.Reveal(),
		DialTimeout: p.ConnectTimeout, ReadTimeout: p.SocketTimeout, WriteTimeout: p.SocketTimeout,
		PoolSize: 1,
	}
	if p.TLS.Enabled {
		tc, err := cfg.TLSConfig()
		if err != nil {
			return nil, err.Error()
		}
		opts.TLSConfig = tc
	}
	// A cluster client finds every node, replicas included; a plain
	// client for one standalone server.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	simple := redis.NewClient(opts.Simple())
	info, err := simple.Info(ctx, "cluster").Result()
	if err != nil {
		simple.Close()
		return nil, err.Error()
	}
	if !strings.Contains(info, "cluster_enabled:1") {
		return &redisCPU{c: simple}, ""
	}
	simple.Close()
	cc := redis.NewClusterClient(opts.Cluster())
	if err := cc.Ping(ctx).Err(); err != nil {
		cc.Close()
		return nil, err.Error()
	}
	return &redisCPU{c: cc}, ""
}

func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// total returns the CPU time all the servers used since they started,
// and how many servers answered.
func (r *redisCPU) total(ctx context.Context) (time.Duration, int, error) {
	var mu sync.Mutex
	var sum time.Duration
	var n int
	one := func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "cpu").Result()
		if err != nil {
			return fmt.Errorf("INFO cpu of %s: %w", c.Options().Addr, err)
		}
		d, err := infoCPU(info)
		if err != nil {
			return fmt.Errorf("INFO cpu of %s: %w", c.Options().Addr, err)
		}
		mu.Lock()
		sum += d
		n++
		mu.Unlock()
		return nil
	}
	var err error
	switch c := r.c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachShard(ctx, one)
	case *redis.Client:
		err = one(ctx, c)
	}
	return sum, n, err
}

// infoCPU adds used_cpu_user and used_cpu_sys (seconds) of an INFO cpu
// reply.
func infoCPU(info string) (time.Duration, error) {
	var sum float64
	found := 0
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (k != "used_cpu_user" && k != "used_cpu_sys") {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q: %w", k, v, err)
		}
		sum += f
		found++
	}
	if found != 2 {
		return 0, fmt.Errorf("no used_cpu_user and used_cpu_sys in %q", info)
	}
	return time.Duration(sum * float64(time.Second)), nil
}

func (r *redisCPU) Close() error { return r.c.Close() }
