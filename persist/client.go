package persist

import (
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClientOptions tune the go-redis client that Open builds for a redis
// store, beyond what the ORS configuration says (addresses, credentials,
// TLS, connect and socket timeouts): its own retries, redirections and
// connection pool. A zero field keeps go-redis's default. The store's
// own retries after a cluster failover (slot map reloaded, then the
// failed Saves sent again) are RedisOptions.RetryFor and RetryBackoff.
type ClientOptions struct {
	// MaxRetries is how many times go-redis retries a command on a
	// network error before the store sees it. NoClientRetries turns
	// them off.
	// default: go-redis's (3)
	MaxRetries int
	// MinRetryBackoff and MaxRetryBackoff bound go-redis's pause between
	// retries.
	// default: go-redis's (8ms and 512ms)
	MinRetryBackoff, MaxRetryBackoff time.Duration
	// MaxRedirects is how many MOVED/ASK redirections a command of a
	// cluster client follows, and how many times it retries on a
	// cluster error (CLUSTERDOWN, TRYAGAIN, LOADING) before failing.
	// default: go-redis's (3)
	MaxRedirects int
	// PoolSize is the number of connections per Redis node.
	// default: go-redis's (10 per CPU)
	PoolSize int
	// PoolTimeout is how long a command waits for a free connection.
	// default: go-redis's (ReadTimeout + 1s)
	PoolTimeout time.Duration
	// MinIdleConns keeps that many connections open per node.
	// default: 0
	MinIdleConns int
}

// NoClientRetries as ClientOptions.MaxRetries turns go-redis's retries
// off.
const NoClientRetries = -1

// check returns an error naming the first invalid option.
func (o ClientOptions) check() error {
	switch {
	case o.MaxRetries < 0 && o.MaxRetries != NoClientRetries:
		return fmt.Errorf("persist: ClientOptions.MaxRetries %d: negative (NoClientRetries is %d)", o.MaxRetries, NoClientRetries)
	case o.MinRetryBackoff < 0, o.MaxRetryBackoff < 0:
		return fmt.Errorf("persist: ClientOptions.MinRetryBackoff %v, MaxRetryBackoff %v: negative", o.MinRetryBackoff, o.MaxRetryBackoff)
	case o.MaxRetryBackoff > 0 && o.MinRetryBackoff > o.MaxRetryBackoff:
		return fmt.Errorf("persist: ClientOptions.MinRetryBackoff %v above MaxRetryBackoff %v", o.MinRetryBackoff, o.MaxRetryBackoff)
	case o.MaxRedirects < 0:
		return fmt.Errorf("persist: ClientOptions.MaxRedirects %d: negative", o.MaxRedirects)
	case o.PoolSize < 0:
		return fmt.Errorf("persist: ClientOptions.PoolSize %d: negative", o.PoolSize)
	case o.PoolTimeout < 0:
		return fmt.Errorf("persist: ClientOptions.PoolTimeout %v: negative", o.PoolTimeout)
	case o.MinIdleConns < 0:
		return fmt.Errorf("persist: ClientOptions.MinIdleConns %d: negative", o.MinIdleConns)
	}
	return nil
}

// apply sets the options on u.
func (o ClientOptions) apply(u *redis.UniversalOptions) {
	u.MaxRetries = o.MaxRetries // go-redis also reads -1 as none
	u.MinRetryBackoff, u.MaxRetryBackoff = o.MinRetryBackoff, o.MaxRetryBackoff
	u.MaxRedirects = o.MaxRedirects
	u.PoolSize, u.PoolTimeout, u.MinIdleConns = o.PoolSize, o.PoolTimeout, o.MinIdleConns
}

// OpenOptions are what OpenWith takes beyond the configuration.
type OpenOptions struct {
	// Client tunes the go-redis client.
	// default: go-redis's defaults
	Client ClientOptions
	// Redis are the store's options; Cluster and TTL are taken from the
	// configuration and override these.
	// default: RedisOptions's defaults
	Redis RedisOptions
}
