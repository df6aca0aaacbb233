package persist

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Leaser is implemented by stores that keep leases (MemoryStore and
// RedisStore do), for automatic failover: the primary of an HA pair
// renews a lease; its backup takes it, and promotes itself, once it has
// lapsed.
type Leaser interface {
	// Lease takes or renews the lease name for holder, for ttl from now,
	// if it is free (never taken, lapsed or released) or holder holds it
	// already, atomically. It returns whether holder holds it now and,
	// when not, who does.
	Lease(ctx context.Context, name, holder string, ttl time.Duration) (held bool, by string, err error)
	// Release gives the lease up if holder holds it.
	Release(ctx context.Context, name, holder string) error
}

var (
	_ Leaser = (*MemoryStore)(nil)
	_ Leaser = (*RedisStore)(nil)
)

func checkLease(name, holder string, ttl time.Duration) error {
	switch {
	case name == "":
		return errors.New("persist: lease: empty name")
	case holder == "":
		return fmt.Errorf("persist: lease %s: empty holder", name)
	case ttl < time.Millisecond:
		return fmt.Errorf("persist: lease %s: ttl %v below a millisecond", name, ttl)
	}
	return nil
}

type memLease struct {
	holder  string
	expires time.Time
}

// Lease implements Leaser.
func (m *MemoryStore) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, string, error) {
	if err := ctx.Err(); err != nil {
		return false, "", err
	}
	if err := checkLease(name, holder, ttl); err != nil {
		return false, "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, "", fmt.Errorf("persist: lease %s: %w", name, ErrClosed)
	}
	now := m.now()
	if l, ok := m.leases[name]; ok && l.holder != holder && now.Before(l.expires) {
		return false, l.holder, nil
	}
	if m.leases == nil {
		m.leases = make(map[string]memLease)
	}
	m.leases[name] = memLease{holder: holder, expires: now.Add(ttl)}
	return true, holder, nil
}

// Release implements Leaser.
func (m *MemoryStore) Release(ctx context.Context, name, holder string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if l, ok := m.leases[name]; ok && l.holder == holder {
		delete(m.leases, name)
	}
	return nil
}

// LeaseKey returns the key of lease name: ORS:<cluster>:lease:{<name>}.
func (r *RedisStore) LeaseKey(name string) string {
	return "ORS:" + r.opts.Cluster + ":lease:{" + name + "}"
}

// leaseScript sets KEYS[1] to ARGV[1] for ARGV[2] ms unless another
// holder has it; it answers the holder.
var leaseScript = newScript(`
local h = redis.call('GET', KEYS[1])
if h and h ~= ARGV[1] then return h end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`)

var releaseScript = newScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`)

// Lease implements Leaser: one script on LeaseKey(name), whose TTL is the
// lease's (Redis expires it).
func (r *RedisStore) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, string, error) {
	if err := checkLease(name, holder, ttl); err != nil {
		return false, "", err
	}
	if r.isClosed() {
		return false, "", fmt.Errorf("persist: lease %s: %w", name, ErrClosed)
	}
	by, err := leaseScript.Run(ctx, r.c, []string{r.LeaseKey(name)}, holder, ttl.Milliseconds()).Text()
	if err != nil {
		return false, "", fmt.Errorf("persist: lease %s: %w", name, err)
	}
	return by == holder, by, nil
}

// Release implements Leaser.
func (r *RedisStore) Release(ctx context.Context, name, holder string) error {
	if r.isClosed() {
		return fmt.Errorf("persist: release lease %s: %w", name, ErrClosed)
	}
	if err := releaseScript.Run(ctx, r.c, []string{r.LeaseKey(name)}, holder).Err(); err != nil {
		return fmt.Errorf("persist: release lease %s: %w", name, err)
	}
	return nil
}
