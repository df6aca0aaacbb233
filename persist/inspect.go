package persist

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// Read-only views of a RedisStore for operators' tools (scxml inspect):
// unlike ListNode and Sweep, they never change the index.

// IndexMembers returns, sorted, the sessions in node's index that have a
// record (live) and those whose record is gone (expired or deleted, not
// yet dropped from the index by ListNode or Sweep). It writes nothing.
func (r *RedisStore) IndexMembers(ctx context.Context, node string) (live, gone []string, err error) {
	if r.isClosed() {
		return nil, nil, fmt.Errorf("persist: index of node %s: %w", node, ErrClosed)
	}
	ids, err := r.c.SMembers(ctx, r.NodeKey(node)).Result()
	if err != nil {
		return nil, nil, fmt.Errorf("persist: index of node %s: %w", node, err)
	}
	if live, gone, err = r.exists(ctx, ids); err != nil {
		return nil, nil, fmt.Errorf("persist: index of node %s: %w", node, err)
	}
	sort.Strings(live)
	sort.Strings(gone)
	return live, gone, nil
}

// RecordTTLs returns the remaining time to live of each session's record,
// in one pipelined round trip (split by slot owner in Redis Cluster):
// -1 for a record without one, and ErrNotFound (wrapped, naming the
// session) for a record that does not exist. It writes nothing.
func (r *RedisStore) RecordTTLs(ctx context.Context, sessionIDs []string) ([]time.Duration, error) {
	if r.isClosed() {
		return nil, fmt.Errorf("persist: record TTLs: %w", ErrClosed)
	}
	cmds := make([]*redis.DurationCmd, len(sessionIDs))
	if _, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range sessionIDs {
			cmds[i] = p.PTTL(ctx, r.SessionKey(id))
		}
		return nil
	}); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("persist: record TTLs: %w", err)
	}
	out := make([]time.Duration, len(sessionIDs))
	for i, c := range cmds {
		// PTTL answers -2 for a missing key, -1 for a key without a TTL;
		// go-redis passes the negative values through as they are.
		switch d := c.Val(); {
		case d == -2:
			return nil, notFound(sessionIDs[i])
		case d < 0:
			out[i] = -1
		default:
			out[i] = d
		}
	}
	return out, nil
}
