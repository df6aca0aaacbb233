package persist

import (
	"context"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"
)

// Volatile is implemented by stores that keep a registry of the sessions
// a node runs without persisting them (MemoryStore and RedisStore do):
// digital sessions, and voice sessions of documents that opt out
// (_persist="false"). They cannot be recovered; after a failover the new
// primary lists them so that the platform can requeue their interactions.
// An entry lives for the store's TTL after it was registered.
type Volatile interface {
	// Register notes that node runs sessionID, of type typ, unpersisted.
	Register(ctx context.Context, node, sessionID, typ string) error
	// Unregister forgets it: the session ended.
	Unregister(ctx context.Context, node, sessionID string) error
	// Volatile returns node's registered sessions, sorted by id, and
	// forgets them if clear is set (a new primary took the node over).
	Volatile(ctx context.Context, node string, clear bool) ([]VolatileSession, error)
}

// VolatileSession is a session registered with Volatile.Register.
type VolatileSession struct {
	SessionID, Type string
}

var (
	_ Volatile = (*MemoryStore)(nil)
	_ Volatile = (*RedisStore)(nil)
)

// Register implements Volatile.
func (m *MemoryStore) Register(ctx context.Context, node, sessionID, typ string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("persist: register session %s: %w", sessionID, ErrClosed)
	}
	if m.volatile == nil {
		m.volatile = make(map[string]map[string]string)
	}
	v := m.volatile[node]
	if v == nil {
		v = make(map[string]string)
		m.volatile[node] = v
	}
	v[sessionID] = typ
	return nil
}

// Unregister implements Volatile.
func (m *MemoryStore) Unregister(ctx context.Context, node, sessionID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.volatile[node], sessionID)
	return nil
}

// Volatile implements Volatile.
func (m *MemoryStore) Volatile(ctx context.Context, node string, clear bool) ([]VolatileSession, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("persist: volatile sessions of node %s: %w", node, ErrClosed)
	}
	var out []VolatileSession
	for id, typ := range m.volatile[node] {
		out = append(out, VolatileSession{id, typ})
	}
	if clear {
		delete(m.volatile, node)
	}
	sortVolatile(out)
	return out, nil
}

func sortVolatile(vs []VolatileSession) {
	sort.Slice(vs, func(i, j int) bool { return vs[i].SessionID < vs[j].SessionID })
}

// volatileKey is the hash of node's unpersisted sessions in shard s:
// ORS:<cluster>:shard:{<t>}:volatile:<node>, field id, value type.
func (s shard) volatile(node string) string { return s.root + "shard:" + s.tag + ":volatile:" + node }

// Register implements Volatile: HSET and PEXPIRE in the session's shard.
func (r *RedisStore) Register(ctx context.Context, node, sessionID, typ string) error {
	if r.isClosed() {
		return fmt.Errorf("persist: register session %s: %w", sessionID, ErrClosed)
	}
	key := r.shardOf(sessionID).volatile(node)
	if _, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, sessionID, typ)
		p.PExpire(ctx, key, r.opts.TTL)
		return nil
	}); err != nil {
		return fmt.Errorf("persist: register session %s: %w", sessionID, err)
	}
	return nil
}

// Unregister implements Volatile.
func (r *RedisStore) Unregister(ctx context.Context, node, sessionID string) error {
	if r.isClosed() {
		return fmt.Errorf("persist: unregister session %s: %w", sessionID, ErrClosed)
	}
	if err := r.c.HDel(ctx, r.shardOf(sessionID).volatile(node), sessionID).Err(); err != nil {
		return fmt.Errorf("persist: unregister session %s: %w", sessionID, err)
	}
	return nil
}

// Volatile implements Volatile: HGETALL (and DEL) of every shard's hash,
// in one pipeline.
func (r *RedisStore) Volatile(ctx context.Context, node string, clear bool) ([]VolatileSession, error) {
	if r.isClosed() {
		return nil, fmt.Errorf("persist: volatile sessions of node %s: %w", node, ErrClosed)
	}
	shards := r.shards()
	cmds := make([]*redis.MapStringStringCmd, len(shards))
	pipe := r.c.Pipeline()
	for i, sh := range shards {
		cmds[i] = pipe.HGetAll(ctx, sh.volatile(node))
		if clear {
			pipe.Del(ctx, sh.volatile(node))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("persist: volatile sessions of node %s: %w", node, err)
	}
	var out []VolatileSession
	for _, c := range cmds {
		for id, typ := range c.Val() {
			out = append(out, VolatileSession{id, typ})
		}
	}
	sortVolatile(out)
	return out, nil
}
