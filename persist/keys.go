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
// key, ORS:<cluster>:session:{<t>}:<member>, its shard ({<t>}), and the
// session's entry in its node's index (and the scripts' session argument)
// are its member: the session id in clear by default, or with KeyHash the
// first 128 bits of HMAC-SHA-256(KeyHash, id) in hex, so that session ids
// (which carry node ids, and in some deployments caller data) cannot be
// read from the key space or the indexes. The id itself is then found
// only inside the record (sealed too, with a Sealer). Save, Touch, Delete,
// Load and LoadMany turn ids into members at their entry (member,
// memberKey, SessionKey); ListNode and DueBefore turn members back into
// ids (resolve), so that recovery by node, lazy adoption, hibernation,
// TTL refresh and fencing address the same keys as before.

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

// memberKey returns the key of the record of an index member.
func (r *RedisStore) memberKey(member string) string {
	return r.shardOf(member).record(member)
}

// resolve turns the index members of live into session ids: the members
// themselves, or, with hashed key names, the ids read from their records
// (GET, pipelined), checked against the member. Records gone meanwhile
// are left out; unreadable ones are listed as UnreadablePrefix+member.
func (r *RedisStore) resolve(ctx context.Context, live []DueSession) ([]DueSession, error) {
	if r.opts.KeyHash == nil || len(live) == 0 {
		return live, nil
	}
	out := live[:0]
	for off := 0; off < len(live); off += loadChunk {
		chunk := live[off:min(len(live), off+loadChunk)]
		cmds := make([]*redis.StringCmd, len(chunk))
		pipe := r.c.Pipeline()
		for i, d := range chunk {
			cmds[i] = pipe.Get(ctx, r.memberKey(d.SessionID))
		}
		_, _ = pipe.Exec(ctx) // each command's error is looked at below
		for i, d := range chunk {
			b, err := cmds[i].Bytes()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return nil, err
			}
			m := d.SessionID
			if rec, _, err := r.decodeAt(r.opts.Sealer, r.memberKey(m), m, b); err == nil {
				d.SessionID = rec.SessionID
			} else {
				d.SessionID = UnreadablePrefix + m
			}
			out = append(out, d)
		}
	}
	return out, nil
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
