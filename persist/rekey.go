package persist

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// RekeyOptions configure RedisStore.Rekey.
type RekeyOptions struct {
	// DryRun counts the records without rewriting any.
	// default: false
	DryRun bool
	// ScanCount is the COUNT hint of each SCAN.
	// default: 1000
	ScanCount int64
}

// RekeyReport is what RedisStore.Rekey found and did.
type RekeyReport struct {
	// Records is how many session records it found.
	Records int
	// Before counts the records as found, by how they were stored: a key
	// id in hex, or "clear".
	Before map[string]int
	// Rewritten is how many it sealed again with the current key (or
	// wrote in clear, when the store has old keys only).
	Rewritten int
	// Changed is how many changed between being read and being
	// rewritten (a checkpoint came first: it is written with the current
	// key anyway) or disappeared (the session ended); they were left as
	// they were.
	Changed int
	// Errors holds, per session key, the records that could not be
	// opened (ErrTampered, ErrUnknownKey, ErrCorrupt...) and so were left
	// as they are.
	Errors map[string]error
}

// Clear is the RekeyReport.Before key of records stored in clear.
const Clear = "clear"

// Found returns how many records were found stored as keyID (a key id
// in hex, or Clear). To check that none remains under an old key, run a
// DryRun after the Rekey: Found of that key must be 0 (a node still
// configured with the old key as current would write some again).
func (r *RekeyReport) Found(keyID string) int {
	return r.Before[strings.ToLower(keyID)]
}

// rekeyScript replaces KEYS[1]'s value ARGV[1] with ARGV[2], keeping its
// time to live, only if it still holds ARGV[1]: a checkpoint written
// meanwhile is never overwritten with an older state.
var rekeyScript = newScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
`)

// Rekey rewrites every session record of the store that is not stored
// as the store's Sealer writes (sealed with the current key; or in clear
// when there is no Sealer, or it has old keys only), so that an old key
// can be retired: records written under it are otherwise sealed again
// only at their next checkpoint. It reads the key space with SCAN (on
// every master of a cluster), not the node indexes, so that it finds
// every record. Each rewrite is conditional on the record being unchanged
// since it was read (a checkpoint that came first wins) and keeps its
// time to live. Records that cannot be opened are reported in Errors and
// left alone. Redis commands: SCAN, GET, EVALSHA/EVAL (GET, SET).
func (r *RedisStore) Rekey(ctx context.Context, o RekeyOptions) (*RekeyReport, error) {
	if r.isClosed() {
		return nil, fmt.Errorf("persist: rekey: %w", ErrClosed)
	}
	if o.ScanCount <= 0 {
		o.ScanCount = 1000
	}
	rep := &RekeyReport{Before: map[string]int{}, Errors: map[string]error{}}
	var want string // how records should be stored
	reader := r.opts.Sealer
	if reader != nil {
		want = reader.CurrentKeyID()
		// Rekey is the migration tool: it reads records in clear even
		// where the store would not.
		cp := *reader
		cp.acceptPlaintext = true
		reader = &cp
	}
	if want == "" {
		want = Clear
	}
	prefix := "ORS:" + r.opts.Cluster + ":session:"
	var mu sync.Mutex
	rekeyNode := func(ctx context.Context, c redis.UniversalClient) error {
		iter := c.Scan(ctx, 0, prefix+"*", o.ScanCount).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			b, err := c.Get(ctx, key).Bytes()
			if errors.Is(err, redis.Nil) {
				continue // expired or deleted since SCAN saw it
			}
			if err != nil {
				return fmt.Errorf("GET %s: %w", key, err)
			}
			state := Clear
			if sealed, id, ok := sealState(b); !ok {
				state = "unreadable"
			} else if sealed {
				state = hex.EncodeToString(id[:])
			}
			mu.Lock()
			rep.Records++
			rep.Before[state]++
			mu.Unlock()
			if state == want || o.DryRun {
				continue
			}
			_, clear, err := r.decodeAt(reader, key, sessionOfKey(key), b) // checked before it is rewritten
			if err != nil {
				mu.Lock()
				rep.Errors[key] = err
				mu.Unlock()
				continue
			}
			nb := r.opts.Sealer.seal(key, clear)
			n, err := rekeyScript.Run(ctx, c, []string{key}, b, nb).Int()
			if err != nil {
				return fmt.Errorf("rewrite %s: %w", key, err)
			}
			mu.Lock()
			if n == 1 {
				rep.Rewritten++
			} else {
				rep.Changed++
			}
			mu.Unlock()
		}
		return iter.Err()
	}
	var err error
	if cc, ok := r.c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return rekeyNode(ctx, c) })
	} else {
		err = rekeyNode(ctx, r.c)
	}
	if err != nil {
		return rep, fmt.Errorf("persist: rekey: %w", err)
	}
	return rep, nil
}

// sessionOfKey returns the session part of a record's key,
// ORS:<cluster>:session:{<t>}:<member> (the session id, or its hash with
// hashed key names).
func sessionOfKey(key string) string {
	if i := strings.Index(key, "}:"); i >= 0 {
		return key[i+2:]
	}
	return key
}

// KeyStates returns the states of r.Before in order, for reports.
func (r *RekeyReport) KeyStates() []string {
	states := make([]string, 0, len(r.Before))
	for s := range r.Before {
		states = append(states, s)
	}
	sort.Strings(states)
	return states
}
