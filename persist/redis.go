package persist

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configure a RedisStore.
type RedisOptions struct {
	// Cluster is the ORS cluster name: keys are rooted at ORS:<Cluster>.
	// Required.
	Cluster string
	// TTL is how long a record lives after its last Save.
	// default: DefaultTTL
	TTL time.Duration
}

// RedisStore keeps records in Redis, standalone or Redis Cluster, through
// a go-redis UniversalClient. A session's record is the string key
// ORS:<cluster>:session:{<id>} (the hash tag keeps everything of one
// session in one slot); a node's index is the set
// ORS:<cluster>:node:{<node>}. Both carry the TTL, refreshed on each Save.
type RedisStore struct {
	c    redis.UniversalClient
	opts RedisOptions
}

// NewRedis returns a store on c; closing the store closes c.
func NewRedis(c redis.UniversalClient, opts RedisOptions) (*RedisStore, error) {
	if c == nil {
		return nil, errors.New("persist: NewRedis: nil client")
	}
	if opts.Cluster == "" || strings.ContainsAny(opts.Cluster, "{} \t\r\n") {
		return nil, fmt.Errorf("persist: option Cluster %q: must be non-empty, without braces or spaces", opts.Cluster)
	}
	if opts.TTL < 0 {
		return nil, fmt.Errorf("persist: option TTL %v is negative", opts.TTL)
	}
	if opts.TTL == 0 {
		opts.TTL = DefaultTTL
	}
	return &RedisStore{c: c, opts: opts}, nil
}

func (r *RedisStore) sessionKey(id string) string {
	return "ORS:" + r.opts.Cluster + ":session:{" + id + "}"
}

func (r *RedisStore) nodeKey(node string) string {
	return "ORS:" + r.opts.Cluster + ":node:{" + node + "}"
}

// Save implements Store: SET with PX, SADD and PEXPIRE in one pipeline
// (go-redis splits it per cluster node).
func (r *RedisStore) Save(ctx context.Context, rec *Record) error {
	b, err := encodeRecord(rec)
	if err != nil {
		return err
	}
	_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, r.sessionKey(rec.SessionID), b, r.opts.TTL)
		p.SAdd(ctx, r.nodeKey(rec.Node), rec.SessionID)
		p.PExpire(ctx, r.nodeKey(rec.Node), r.opts.TTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("persist: save session %s: %w", rec.SessionID, err)
	}
	return nil
}

// Load implements Store.
func (r *RedisStore) Load(ctx context.Context, sessionID string) (*Record, error) {
	b, err := r.c.Get(ctx, r.sessionKey(sessionID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("session %s: %w", sessionID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("persist: load session %s: %w", sessionID, err)
	}
	return decodeRecord(sessionID, b)
}

// Delete implements Store.
func (r *RedisStore) Delete(ctx context.Context, node, sessionID string) error {
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.sessionKey(sessionID))
		p.SRem(ctx, r.nodeKey(node), sessionID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("persist: delete session %s: %w", sessionID, err)
	}
	return nil
}

// ListNode implements Store: SMEMBERS of the node's index, then EXISTS of
// each record (pipelined); members whose record expired are removed.
func (r *RedisStore) ListNode(ctx context.Context, node string) ([]string, error) {
	ids, err := r.c.SMembers(ctx, r.nodeKey(node)).Result()
	if err != nil {
		return nil, fmt.Errorf("persist: list node %s: %w", node, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.IntCmd, len(ids))
	_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Exists(ctx, r.sessionKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("persist: list node %s: %w", node, err)
	}
	var live, gone []string
	for i, id := range ids {
		if cmds[i].Val() > 0 {
			live = append(live, id)
		} else {
			gone = append(gone, id)
		}
	}
	if len(gone) > 0 {
		args := make([]any, len(gone))
		for i, g := range gone {
			args[i] = g
		}
		if err := r.c.SRem(ctx, r.nodeKey(node), args...).Err(); err != nil {
			return nil, fmt.Errorf("persist: list node %s: dropping expired entries: %w", node, err)
		}
	}
	sort.Strings(live)
	return live, nil
}

// Close implements Store.
func (r *RedisStore) Close() error { return r.c.Close() }
