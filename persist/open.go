package persist

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/orsgo/engine/config"
	"github.com/redis/go-redis/v9"
)

// Open returns the store cfg's [persistence] section asks for: nil for
// type none, a MemoryStore for memory, and for redis a RedisStore on a
// go-redis client built from redis-nodes, username, password, the tls-*
// options and the timeouts, under ORS:<cluster-name> with session-ttl.
//
// Whether redis-nodes name a Redis Cluster or one standalone Redis is
// asked of the servers (INFO cluster), so the same options serve both; a
// standalone Redis must be the only address given. Open checks that Redis
// answers (within redis-connect-timeout plus redis-socket-timeout, or ctx)
// so that a wrong address fails at start, not at the first checkpoint.
// cfg is validated first; errors name the option.
func Open(ctx context.Context, cfg *config.Config) (Store, error) {
	return OpenWith(ctx, cfg, OpenOptions{})
}

// OpenWith is Open with the go-redis client's and the store's tuning
// (retries, redirections, pool, WAIT, shards) given in opts.
func OpenWith(ctx context.Context, cfg *config.Config, opts OpenOptions) (Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := opts.Client.check(); err != nil {
		return nil, err
	}
	p := &cfg.Persistence
	switch p.Type {
	case "", config.TypeNone:
		return nil, nil
	case config.TypeMemory:
		return NewMemory(MemoryOptions{TTL: p.SessionTTL}), nil
	}
	client, err := redisClient(ctx, p, opts.Client)
	if err != nil {
		return nil, err
	}
	ro := opts.Redis
	ro.Cluster, ro.TTL = cfg.Cluster, p.SessionTTL
	st, err := NewRedis(client, ro)
	if err != nil {
		client.Close()
		return nil, err
	}
	return st, nil
}

// redisClient dials the configured nodes and returns a cluster client or,
// for a standalone Redis, a plain one.
func redisClient(ctx context.Context, p *config.Persistence, co ClientOptions) (redis.UniversalClient, error) {
	opts := &redis.UniversalOptions{
		Addrs:        p.RedisNodes,
		Username:     p.Username,
		Password:     p.Password,
		DialTimeout:  p.ConnectTimeout,
		ReadTimeout:  p.SocketTimeout,
		WriteTimeout: p.SocketTimeout,
	}
	co.apply(opts)
	if p.TLS.Enabled {
		tc, err := p.TLSConfig()
		if err != nil {
			return nil, err
		}
		opts.TLSConfig = tc
	}
	ctx, cancel := context.WithTimeout(ctx, p.ConnectTimeout+p.SocketTimeout)
	defer cancel()
	cluster, err := probeCluster(ctx, opts)
	if err != nil {
		return nil, err
	}
	var c redis.UniversalClient
	if cluster {
		c = redis.NewClusterClient(opts.Cluster())
	} else {
		if len(p.RedisNodes) > 1 {
			return nil, fmt.Errorf("persist: [persistence] redis-nodes: %s is a standalone Redis (cluster support disabled); give it as the only address, or list Redis Cluster nodes", p.RedisNodes[0])
		}
		c = redis.NewClient(opts.Simple())
	}
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("persist: [persistence] redis-nodes %s: %w", strings.Join(p.RedisNodes, ";"), err)
	}
	return c, nil
}

// probeCluster asks the configured nodes, in turn, whether they run in
// cluster mode; the first that answers decides.
func probeCluster(ctx context.Context, opts *redis.UniversalOptions) (bool, error) {
	var errs []error
	for _, addr := range opts.Addrs {
		o := opts.Simple()
		o.Addr = addr
		o.PoolSize = 1
		c := redis.NewClient(o)
		info, err := c.Info(ctx, "cluster").Result()
		c.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		return strings.Contains(info, "cluster_enabled:1"), nil
	}
	return false, fmt.Errorf("persist: [persistence] redis-nodes: no node answered: %w", errors.Join(errs...))
}
