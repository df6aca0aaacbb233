package persist

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/vmihailenco/msgpack/v5"
)

// Hashed key names (RedisOptions.KeyHash): the session part of a record's
// key, ORS:<cluster>:session:{<t>}:<member>, and the session's entry in its
// node's index are its member: the session id in clear by default, or
// with KeyHash the first 128 bits of HMAC-SHA-256(KeyHash, id) in hex,
// so that session ids (which carry node ids, and in some deployments
// caller data) cannot be read from the key space or the indexes. The id
// itself is then found only inside the record (sealed too, with a
// Sealer). Every operation goes through member and memberKey, so that
// recovery by node (ListNode), hibernation (Touch), TTL refresh and
// fencing keep addressing the same keys.

// hashedIDLen is the length of a hashed member: 128 bits in hex.
const hashedIDLen = 32

// UnreadablePrefix starts the ids ListNode gives, with hashed key names,
// for index entries whose record exists but cannot be read (tampered,
// sealed with an unknown key): "unreadable:<member>". Load of such an id
// reads that record again and returns its error, so that recovery reports
// the session instead of losing sight of it.
const UnreadablePrefix = "unreadable:"

// member returns the session's name in keys and indexes.
func (r *RedisStore) member(sessionID string) string {
	if r.opts.KeyHash == nil {
		return sessionID
	}
	if m, ok := strings.CutPrefix(sessionID, UnreadablePrefix); ok && len(m) == hashedIDLen {
		return m
	}
	h := hmac.New(sha256.New, r.opts.KeyHash)
	h.Write([]byte(sessionID))
	return hex.EncodeToString(h.Sum(nil)[:hashedIDLen/2])
}

func (r *RedisStore) members(sessionIDs []string) []string {
	if r.opts.KeyHash == nil {
		return sessionIDs
	}
	m := make([]string, len(sessionIDs))
	for i, id := range sessionIDs {
		m[i] = r.member(id)
	}
	return m
}

// memberKey returns the key of the record of an index member.
func (r *RedisStore) memberKey(member string) string {
	return r.shardOf(member).record(member)
}

// idsOf returns the session ids of index members, in their order: the
// members themselves, or, with hashed key names, the ids read from their
// records (GET, pipelined), checked against the member. A record gone
// meanwhile gives ""; an unreadable one UnreadablePrefix+member.
func (r *RedisStore) idsOf(ctx context.Context, members []string) ([]string, error) {
	if r.opts.KeyHash == nil || len(members) == 0 {
		return members, nil
	}
	ids := make([]string, 0, len(members))
	for len(members) > 0 {
		chunk := members[:min(len(members), loadChunk)]
		members = members[len(chunk):]
		cmds := make([]*redis.StringCmd, len(chunk))
		if _, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, m := range chunk {
				cmds[i] = p.Get(ctx, r.memberKey(m))
			}
			return nil
		}); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		for i, m := range chunk {
			b, err := cmds[i].Bytes()
			switch {
			case errors.Is(err, redis.Nil):
				ids = append(ids, "")
			case err != nil:
				return nil, err
			default:
				if rec, _, err := r.decodeAt(r.opts.Sealer, r.memberKey(m), m, b); err == nil {
					ids = append(ids, rec.SessionID)
				} else {
					ids = append(ids, UnreadablePrefix+m)
				}
			}
		}
	}
	return ids, nil
}

// decodeAt opens (with s) and decodes the record b stored at key, whose
// session part is member, checking that it is that member's record:
// Load's work when the session id is not known (Rekey, ListNode). It
// returns the record and its envelope in clear.
func (r *RedisStore) decodeAt(s *Sealer, key, member string, b []byte) (*Record, []byte, error) {
	clear, err := s.open(key, member, b)
	if err != nil {
		return nil, nil, err
	}
	id := member
	if r.opts.KeyHash != nil {
		// The id is in the payload; decodeRecord checks the rest.
		var p payload
		if len(clear) >= headerLen && msgpack.Unmarshal(clear[headerLen:], &p) == nil {
			id = p.SessionID
			if r.member(id) != member {
				return nil, nil, fmt.Errorf("session %s: record stored under the key of another session (%s): %w", id, member, ErrCorrupt)
			}
		}
	}
	rec, err := decodeRecord(id, clear)
	return rec, clear, err
}
