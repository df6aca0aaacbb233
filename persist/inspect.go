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

// IndexMembers returns the sessions in node's index (in every shard)
// that have a record, sorted by id, each with the due time its entry
// holds (zero: none), and the ids of those whose record is gone (expired
// or deleted, not yet dropped by ListNode or Sweep). With hashed key
// names (RedisOptions.KeyHash) the ids are read from the records, as
// ListNode does: an unreadable record gives UnreadablePrefix+member
// (which Load reads again, returning its error), and a gone entry its
// member, the hash, since nothing tells its id any more. It writes
// nothing.
func (r *RedisStore) IndexMembers(ctx context.Context, node string) (live []DueSession, gone []string, err error) {
	if r.isClosed() {
		return nil, nil, fmt.Errorf("persist: index of node %s: %w", node, ErrClosed)
	}
	// The index a page at a time (rangeScript, RedisOptions.PageSize),
	// then EXISTS of each record, loadChunk per pipeline.
	entries, err := r.ranged(ctx, node, "")
	if err != nil {
		return nil, nil, fmt.Errorf("persist: index of node %s: %w", node, err)
	}
	exists := make([]*redis.IntCmd, len(entries))
	for off := 0; off < len(entries); off += loadChunk {
		chunk := entries[off:min(len(entries), off+loadChunk)]
		pipe := r.c.Pipeline()
		for i, d := range chunk {
			exists[off+i] = pipe.Exists(ctx, r.memberKey(d.SessionID))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, nil, fmt.Errorf("persist: index of node %s: %w", node, err)
		}
	}
	for i, d := range entries {
		if d.Due.UnixMilli() == 0 {
			d.Due = time.Time{} // score 0: an entry Touch made, due time unknown
		}
		if exists[i].Val() > 0 {
			live = append(live, d)
		} else {
			gone = append(gone, d.SessionID)
		}
	}
	if r.opts.KeyHash != nil && len(live) > 0 {
		members := make([]string, len(live))
		for i, d := range live {
			members[i] = d.SessionID
		}
		ids, err := r.idsOf(ctx, members)
		if err != nil {
			return nil, nil, fmt.Errorf("persist: index of node %s: %w", node, err)
		}
		kept := live[:0]
		for i, d := range live {
			if ids[i] != "" { // gone since it was listed
				d.SessionID = ids[i]
				kept = append(kept, d)
			}
		}
		live = kept
	}
	sort.Slice(live, func(i, j int) bool { return live[i].SessionID < live[j].SessionID })
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
		// go-redis passes them through as -2 and -1 (nanoseconds).
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
