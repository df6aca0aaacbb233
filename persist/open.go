package persist

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/orsgo/engine/config"
	"github.com/redis/go-redis/v9"
)

// Open returns the store cfg's [persistence] section asks for: nil for
// type none, a MemoryStore for memory, and for redis a RedisStore on a
// go-redis client built from redis-nodes, username, password, the tls-*
// options and the timeouts, under ORS:<cluster-name> with session-ttl,
// sealing records with the encryption-* options (Sealer) and hashing
// session ids in keys with hash-session-keys and hash-key (KeyHash).
//
// Whether redis-nodes name a Redis Cluster or one standalone Redis is
// asked of the servers (INFO cluster), so the same options serve both; a
// standalone Redis must be the only address given. Open checks that Redis
// answers (within redis-connect-timeout plus redis-socket-timeout, or ctx)
// so that a wrong address fails at start, not at the first checkpoint,
// and then runs each of the store's operations once on a probe session
// of its own (deleted after), so that an ACL refusing a command or the
// store's keys fails here too, naming the command. cfg is validated
// first; errors name the option: TLS verification failures tls-cacert,
// tls-cacertdir or tls-sni, a refused client certificate tls-cert,
// authentication username/password, ACL refusals username, and a password
// given for a Redis that needs none password; those wrap
// config.ErrInvalid. Nothing is left open when Open fails.
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
	sealer, err := sealerFor(p)
	if err != nil {
		return nil, err
	}
	client, err := redisClient(ctx, cfg, opts.Client)
	if err != nil {
		return nil, err
	}
	ro := opts.Redis
	ro.Cluster, ro.TTL = cfg.Cluster, p.SessionTTL
	if ro.Sealer == nil {
		ro.Sealer = sealer
	}
	if ro.KeyHash == nil {
		ro.KeyHash = p.HashKeyBytes()
	}
	st, err := NewRedis(client, ro)
	if err != nil {
		client.Close()
		return nil, err
	}
	if err := preflightRetried(ctx, p, st); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// preflightRetried runs the preflight, again within the store's
// RetryFor while it fails for what is not an option's fault: a node
// (re)started while a Redis Cluster promotes the replica of a dead master
// waits for the cluster, as its checkpoints would, instead of failing to
// start. ACL, authentication and TLS problems fail at once.
func preflightRetried(ctx context.Context, p *config.Persistence, st *RedisStore) error {
	deadline := time.Now().Add(st.opts.RetryFor)
	for {
		pctx, cancel := context.WithTimeout(ctx, p.ConnectTimeout+4*p.SocketTimeout)
		err := preflight(pctx, p, st, p.RedisNodes[0])
		cancel()
		if err == nil || errors.Is(err, config.ErrInvalid) || errors.Is(err, ErrClosed) ||
			st.opts.RetryFor <= 0 || !time.Now().Before(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(max(st.opts.RetryBackoff, 100*time.Millisecond)):
		}
		st.reload(ctx) // the dead master's slots may have a new owner

	}
}

// sealerFor returns the Sealer of the encryption-* options, or nil when
// encryption is off.
func sealerFor(p *config.Persistence) (*Sealer, error) {
	e := &p.Encryption
	if !e.Enabled() {
		return nil, nil
	}
	cur, old := e.Keys()
	s, err := NewSealer(SealerOptions{Key: cur, OldKeys: old, AcceptPlaintext: e.AcceptPlaintext})
	if err != nil {
		return nil, optionError("encryption-key", err.Error(), err)
	}
	return s, nil
}

// redisClient dials the configured nodes and returns a cluster client or,
// for a standalone Redis, a plain one.
func redisClient(ctx context.Context, cfg *config.Config, co ClientOptions) (redis.UniversalClient, error) {
	p := &cfg.Persistence
	opts := &redis.UniversalOptions{
		Addrs:        p.RedisNodes,
		Username:     p.Username,
		Password:     p.Password.Reveal(),
		DialTimeout:  p.ConnectTimeout,
		ReadTimeout:  p.SocketTimeout,
		WriteTimeout: p.SocketTimeout,
	}
	co.apply(opts)
	if p.TLS.Enabled {
		tc, err := cfg.TLSConfig()
		if err != nil {
			return nil, fmt.Errorf("persist: %w", err)
		}
		opts.TLSConfig = tc
	}
	ctx, cancel := context.WithTimeout(ctx, p.ConnectTimeout+p.SocketTimeout)
	defer cancel()
	cluster, addr, err := probeCluster(ctx, p, opts)
	if err != nil {
		return nil, err
	}
	if err := checkPasswordNeeded(ctx, p, opts, addr); err != nil {
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
		return nil, explainConnectError(p, strings.Join(p.RedisNodes, ";"), err)
	}
	return c, nil
}

// probeCluster asks the configured nodes, in turn, whether they run in
// cluster mode; the first that answers decides, and its address is
// returned. A node that answers with an error about the configuration
// (TLS, authentication, ACL) stops the probe: the others would say the
// same.
func probeCluster(ctx context.Context, p *config.Persistence, opts *redis.UniversalOptions) (bool, string, error) {
	var errs []error
	for _, addr := range opts.Addrs {
		o := opts.Simple()
		o.Addr = addr
		o.PoolSize = 1
		o.MaxRetries = -1 // a refusal is final; the caller's timeout bounds the rest
		c := redis.NewClient(o)
		info, err := c.Info(ctx, "cluster").Result()
		c.Close()
		if err != nil {
			if e := explainConnectError(p, addr, err); errors.Is(e, config.ErrInvalid) {
				return false, "", e
			}
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		return strings.Contains(info, "cluster_enabled:1"), addr, nil
	}
	err := fmt.Errorf("persist: [persistence] redis-nodes: no node answered: %w", errors.Join(errs...))
	if p.TLS.Enabled && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w (no TLS answer: if Redis does not serve TLS on these ports, use their tls-port or set tls-enabled = false)", err)
	}
	return false, "", err
}
