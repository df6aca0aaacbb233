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

// Volatile implements Volatile: HSCAN of every shard's hash,
// RedisOptions.PageSize fields per call, one call per shard in each
// pipelined round trip; with clear, HDEL of the fields each page
// returned (a registration made meanwhile stays, not lost unlisted).
// HSCAN returns every field present throughout, perhaps twice: repeats
// are dropped.
func (r *RedisStore) Volatile(ctx context.Context, node string, clear bool) ([]VolatileSession, error) {
	if r.isClosed() {
		return nil, fmt.Errorf("persist: volatile sessions of node %s: %w", node, ErrClosed)
	}
	shards := r.shards()
	type scan struct {
		key    string
		cursor uint64
	}
	active := make([]scan, len(shards))
	for i, sh := range shards {
		active[i] = scan{key: sh.volatile(node)}
	}
	var out []VolatileSession
	for len(active) > 0 {
		cmds := make([]*redis.ScanCmd, len(active))
		pipe := r.c.Pipeline()
		for i, s := range active {
			cmds[i] = pipe.HScan(ctx, s.key, s.cursor, "", int64(r.opts.PageSize))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("persist: volatile sessions of node %s: %w", node, err)
		}
		next := active[:0]
		del := r.c.Pipeline()
		for i, c := range cmds {
			kv, cur := c.Val() // field, value, field, value...
			fields := make([]any, 0, len(kv)/2)
			for j := 0; j+1 < len(kv); j += 2 {
				out = append(out, VolatileSession{kv[j], kv[j+1]})
				fields = append(fields, kv[j])
			}
			if clear && len(fields) > 0 {
				del.Do(ctx, append([]any{"hdel", active[i].key}, fields...)...)
			}
			if cur != 0 {
				next = append(next, scan{active[i].key, cur})
			}
		}
		if del.Len() > 0 {
			if _, err := del.Exec(ctx); err != nil {
				return nil, fmt.Errorf("persist: forget volatile sessions of node %s: %w", node, err)
			}
		}
		active = next
	}
	sortVolatile(out)
	kept := out[:0]
	for i, v := range out {
		if i == 0 || v.SessionID != out[i-1].SessionID {
			kept = append(kept, v)
		}
	}
	return kept, nil
}
