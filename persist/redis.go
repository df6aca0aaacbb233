package persist

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configure a RedisStore. Only Cluster is required.
type RedisOptions struct {
	// Cluster is the ORS cluster name: every key is rooted at
	// ORS:<Cluster>. Required; no braces, spaces or control characters.
	Cluster string
	// TTL is how long a record (and its node's index) lives after the
	// last Save.
	// default: DefaultTTL
	TTL time.Duration
	// MaxBatch is how many Saves the group committer sends at most in one
	// pipelined round trip. NoGroupCommit sends each Save from its
	// caller's goroutine, in a pipeline of its own.
	// default: DefaultMaxBatch
	MaxBatch int
	// Linger is how long a committer holding fewer than MaxBatch Saves
	// waits for more before sending them. With no linger a batch holds the
	// Saves that queued while earlier batches were in flight: under load
	// batches grow by themselves, and an idle store adds no delay.
	// default: 0, no linger
	Linger time.Duration
	// Committers is how many batches may be in flight at once.
	// default: DefaultCommitters
	Committers int
	// SweepInterval is how often the store runs Sweep in the background,
	// dropping index entries whose records expired (a node that died
	// leaves its index behind; records expire by themselves, index
	// entries are sets and do not). NoSweep turns it off.
	// default: DefaultSweepInterval
	SweepInterval time.Duration
	// OnSweepError is told when a background sweep fails.
	// default: nil
	OnSweepError func(error)
	// RetryFor is how long a Save that failed on a connection error or a
	// cluster reply (CLUSTERDOWN, TRYAGAIN, LOADING, MOVED: a master
	// failing over) is tried again, after the client's own retries, each
	// time after a reload of a cluster client's slot map and RetryBackoff.
	// Retrying a Save is safe: the same Seq is accepted again. NoRetry
	// turns it off.
	// default: DefaultRetryFor
	RetryFor time.Duration
	// RetryBackoff is the pause before each retry of RetryFor.
	// default: DefaultRetryBackoff
	RetryBackoff time.Duration
	// WaitReplicas, when positive, makes every batch of Saves wait (WAIT)
	// until that many replicas of each master it wrote to have it, or
	// WaitTimeout passed; a Save whose master answered fewer fails with
	// an error wrapping ErrNotReplicated (Redis wrote it all the same).
	// Without it a Save is acknowledged once its master has it in memory:
	// a master that fails before replicating it (Redis replication is
	// asynchronous) loses it, and the replica promoted in its place holds
	// an older checkpoint, or none. With it, an acknowledged checkpoint
	// survives the failure of its master as long as one of the replicas
	// that acknowledged it is promoted (Redis does not guarantee that
	// either: WAIT is not consensus, but it closes the window of
	// replication lag). Promote waits the same way for the fences.
	// default: 0, no waiting
	WaitReplicas int
	// WaitTimeout bounds each WAIT of WaitReplicas.
	// default: DefaultWaitTimeout
	WaitTimeout time.Duration
	// Shards is how many shards a Redis Cluster's keys are spread over
	// (see RedisStore; a standalone Redis has one). Every node of an ORS
	// cluster must use the same, and it must not change while records
	// exist: a record's key depends on it. More shards spread the load
	// of one node's sessions finer; fewer make listing a node, Promote
	// and DueBefore cheaper (one script per shard). At most 16384.
	// default: DefaultShards
	Shards int
	// Sealer encrypts records at rest (see NewSealer; persist.Open makes
	// one from the encryption-* options).
	// default: nil, records in clear
	Sealer *Sealer
	// KeyHash, when set (KeyLen bytes), hashes session ids in keys and
	// node indexes: HMAC-SHA-256 under KeyHash (see keys.go).
	// default: nil, session ids in clear
	KeyHash []byte
	// PageSize bounds the work of one Redis call that walks a node's
	// index or volatile registry (ListNode, Sweep and the background
	// sweeper, DueBefore, IndexMembers, Volatile): each reads at most
	// that many entries of one shard, and a listing takes as many calls
	// as it needs, so that a large index (a million sessions on a
	// standalone Redis, which has a single shard) never holds the server
	// for long (other clients wait while a script runs; past
	// busy-reply-threshold, 5 s by default, Redis answers them BUSY).
	// MoveMany moves that many records at most in one call, and Touch
	// refreshes touchPages times that many per pipelined round trip.
	// default: DefaultPageSize
	PageSize int
}

// Defaults and special values of RedisOptions.
const (
	// DefaultMaxBatch is the default RedisOptions.MaxBatch.
	DefaultMaxBatch = 128
	// DefaultCommitters is the default RedisOptions.Committers.
	DefaultCommitters = 4
	// NoGroupCommit as RedisOptions.MaxBatch turns group commit off.
	NoGroupCommit = -1
	// DefaultSweepInterval is the default RedisOptions.SweepInterval.
	DefaultSweepInterval = 10 * time.Minute
	// NoSweep as RedisOptions.SweepInterval turns background sweeps off.
	NoSweep time.Duration = -1
	// DefaultRetryFor is the default RedisOptions.RetryFor: longer than a
	// Redis Cluster takes to promote a replica with a short
	// cluster-node-timeout.
	DefaultRetryFor = 10 * time.Second
	// NoRetry as RedisOptions.RetryFor turns the store's retries off.
	NoRetry time.Duration = -1
	// DefaultRetryBackoff is the default RedisOptions.RetryBackoff.
	DefaultRetryBackoff = 100 * time.Millisecond
	// DefaultWaitTimeout is the default RedisOptions.WaitTimeout.
	DefaultWaitTimeout = time.Second
	// DefaultShards is the default RedisOptions.Shards.
	DefaultShards = 256
	// DefaultPageSize is the default RedisOptions.PageSize: a page of
	// the sweep (an EXISTS per entry) takes about a millisecond of the
	// server's time.
	DefaultPageSize = 1000
)

// init returns a copy of o with defaults filled in, or an error naming the
// first invalid option.
func (o RedisOptions) init() (RedisOptions, error) {
	switch {
	case o.Cluster == "":
		return o, errors.New("persist: RedisOptions.Cluster: required (keys are ORS:<Cluster>)")
	case strings.IndexFunc(o.Cluster, func(r rune) bool {
		return r == '{' || r == '}' || unicode.IsSpace(r) || unicode.IsControl(r)
	}) >= 0:
		return o, fmt.Errorf("persist: RedisOptions.Cluster %q: no braces, spaces or control characters", o.Cluster)
	case o.TTL < 0:
		return o, fmt.Errorf("persist: RedisOptions.TTL %v: negative", o.TTL)
	case o.TTL > 0 && o.TTL < time.Millisecond:
		return o, fmt.Errorf("persist: RedisOptions.TTL %v: below Redis's millisecond resolution", o.TTL)
	case o.MaxBatch < 0 && o.MaxBatch != NoGroupCommit:
		return o, fmt.Errorf("persist: RedisOptions.MaxBatch %d: negative (NoGroupCommit is %d)", o.MaxBatch, NoGroupCommit)
	case o.Linger < 0:
		return o, fmt.Errorf("persist: RedisOptions.Linger %v: negative", o.Linger)
	case o.Committers < 0:
		return o, fmt.Errorf("persist: RedisOptions.Committers %d: negative", o.Committers)
	case o.KeyHash != nil && len(o.KeyHash) != KeyLen:
		return o, fmt.Errorf("persist: RedisOptions.KeyHash: %d bytes, want %d", len(o.KeyHash), KeyLen)
	case o.SweepInterval < 0 && o.SweepInterval != NoSweep:
		return o, fmt.Errorf("persist: RedisOptions.SweepInterval %v: negative (NoSweep is %d)", o.SweepInterval, NoSweep)
	case o.RetryFor < 0 && o.RetryFor != NoRetry:
		return o, fmt.Errorf("persist: RedisOptions.RetryFor %v: negative (NoRetry is %d)", o.RetryFor, NoRetry)
	case o.RetryBackoff < 0:
		return o, fmt.Errorf("persist: RedisOptions.RetryBackoff %v: negative", o.RetryBackoff)
	case o.WaitReplicas < 0:
		return o, fmt.Errorf("persist: RedisOptions.WaitReplicas %d: negative", o.WaitReplicas)
	case o.WaitTimeout < 0:
		return o, fmt.Errorf("persist: RedisOptions.WaitTimeout %v: negative", o.WaitTimeout)
	case o.Shards < 0 || o.Shards > numSlots:
		return o, fmt.Errorf("persist: RedisOptions.Shards %d: out of 1..%d", o.Shards, numSlots)
	case o.PageSize < 0:
		return o, fmt.Errorf("persist: RedisOptions.PageSize %d: negative", o.PageSize)
	}
	if o.PageSize == 0 {
		o.PageSize = DefaultPageSize
	}
	if o.Shards == 0 {
		o.Shards = DefaultShards
	}
	if o.RetryFor == 0 {
		o.RetryFor = DefaultRetryFor
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = DefaultRetryBackoff
	}
	if o.WaitTimeout == 0 {
		o.WaitTimeout = DefaultWaitTimeout
	}
	if o.SweepInterval == 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	if o.TTL == 0 {
		o.TTL = DefaultTTL
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.Committers == 0 {
		o.Committers = DefaultCommitters
	}
	return o, nil
}

// RedisStore keeps records in Redis, standalone or Redis Cluster, through
// a go-redis UniversalClient (redis.NewClient or redis.NewClusterClient;
// authentication and TLS are the client's options).
//
// Keys. Sessions are spread over RedisOptions.Shards shards (one on a
// standalone Redis) by a hash of their id; each shard has a hash tag {<t>}
// naming one cluster slot, so that all its keys sit in that slot:
//
//	ORS:<cluster>:session:{<t>}:<id>    a session's record (the envelope)
//	ORS:<cluster>:shard:{<t>}:epochs    hash node -> epoch: the shard's fence
//	ORS:<cluster>:shard:{<t>}:node:<n>  sorted set: node n's sessions of the
//	                                    shard, scored by their next due time
//	                                    (Unix ms; +inf for none): the index
//	                                    and Scheduler's timer index at once
//	ORS:<cluster>:shard:{<t>}:nodes     set: the nodes with an index there
//
// and ORS:<cluster>:node:{<node>}:epoch counts node's promotions. Records,
// indexes and registries carry the TTL, refreshed by every Save and
// Touch; the epochs never expire.
//
// Why shards. A Lua script may touch the keys of one slot only, and the
// fencing check must run in the script that writes the record, so the
// epoch of a node must be readable in the slot of every record it may
// write. Tagging record keys with their owner node would put all of a
// node's records in one slot, on one master (none of the cluster's
// spreading of a node's load, and a key that moves when another node
// takes the session over); a fencing token kept in each record cannot
// refuse a zombie writing a record the new owner has not rewritten yet.
// So the epoch is copied into each shard: Promote increments the node's
// counter (INCR: every promotion gets an epoch of its own), then raises
// the node's entry in every shard's epochs hash (one small script per
// shard, pipelined by master, whatever the number of sessions), and
// returns once all are raised. A write is refused by the script that
// would perform it, atomically with its Seq check, when its shard holds
// a higher epoch for its node.
//
// The same placement makes the index exact: Save writes the record, puts
// the session in its node's sorted set with its due time and takes it out
// of any other node's set, in one script; Delete removes both. No failure
// can leave a record listed under a node that no longer owns it, and a
// checkpoint depends on the master of its own shard only, not on the one
// master that would hold a per-node index key. Listing a node's sessions
// (ListNode, DueBefore, Sweep) runs one script per shard in each
// pipelined round trip, each reading a page of RedisOptions.PageSize
// entries of its shard's index after a cursor (see cursorLua), as many
// round trips as the largest shard needs: for recovery and adoption, not
// on the checkpoint path, and never holding Redis for long, whatever the
// size of the index. While a slot migrates, a shard's keys may be split
// between two masters and its scripts answer TRYAGAIN until the move
// completes: Saves are retried (RetryFor).
//
// Group commit. With group commit (the default) Saves from many goroutines
// are coalesced by a few committer goroutines into pipelined round trips
// (split by master by the cluster client); each Save still returns its
// own result. go-redis follows MOVED and ASK redirections; on connection
// errors and CLUSTERDOWN/TRYAGAIN/LOADING replies the store has a cluster
// client reload its slot map at once and retries the failed Saves for up
// to RedisOptions.RetryFor, so that a master failover delays checkpoints
// by about the time Redis takes to promote a replica rather than until
// the client's periodic reload. With RedisOptions.WaitReplicas each batch
// also waits (WAIT) for that many replicas of every master it wrote to.
type RedisStore struct {
	c    redis.UniversalClient
	opts RedisOptions
	// cluster: a cluster client; nshards: RedisOptions.Shards, or 1 on
	// a standalone Redis.
	cluster   bool
	nshards   int
	shardList []shard // by number (makeShards)

	// queue feeds the committers; mu guards sends against Close.
	mu      sync.RWMutex
	closed  bool
	queue   chan *saveReq
	wg      sync.WaitGroup
	saves   atomic.Uint64
	batches atomic.Uint64
	bytes   atomic.Uint64
	retries atomic.Uint64 // Saves sent again (RetryFor)
	stop    chan struct{} // closed by Close: ends the sweeper
	// busy counts the Saves queued or being written: a Save that finds
	// none (and no Linger) writes itself from its caller's goroutine, as
	// without group commit, sparing a lone Save (a hibernated session's
	// wake, an idle node) the hand-offs to a committer and back, about
	// half its latency on loopback. Under load Saves find others busy and
	// are batched as before.
	busy atomic.Int64
}

var (
	_ Store     = (*RedisStore)(nil)
	_ Expirer   = (*RedisStore)(nil)
	_ Fencer    = (*RedisStore)(nil)
	_ Scheduler = (*RedisStore)(nil)
	_ Loader    = (*RedisStore)(nil)
	_ Mover     = (*RedisStore)(nil)
)

type saveReq struct {
	ctx   context.Context
	id    string
	node  string
	epoch uint64
	seq   uint64
	due   time.Time
	value []byte
	done  chan error // buffered: the committer never blocks on it
}

// NewRedis returns a store on client, which it owns from now on: Close
// closes it. Errors name the invalid option.
func NewRedis(client redis.UniversalClient, opts RedisOptions) (*RedisStore, error) {
	if client == nil {
		return nil, errors.New("persist: NewRedis: nil client")
	}
	opts, err := opts.init()
	if err != nil {
		return nil, err
	}
	_, cluster := client.(*redis.ClusterClient)
	r := &RedisStore{c: client, opts: opts, cluster: cluster, nshards: 1, stop: make(chan struct{})}
	if cluster {
		r.nshards = opts.Shards
	}
	r.makeShards()
	if opts.SweepInterval > 0 {
		r.wg.Add(1)
		go r.sweeper()
	}
	if opts.MaxBatch != NoGroupCommit {
		r.queue = make(chan *saveReq, opts.MaxBatch*opts.Committers)
		r.wg.Add(opts.Committers)
		for range opts.Committers {
			go r.commit()
		}
	}
	return r, nil
}

// SessionKey returns the key of a session's record:
// ORS:<cluster>:session:{<t>}:<member>, where {<t>} is the hash tag of
// the session's shard (see RedisStore) and member the session id, or its
// HMAC with RedisOptions.KeyHash (keys.go).
func (r *RedisStore) SessionKey(sessionID string) string {
	return r.memberKey(r.member(sessionID))
}

// EpochKey returns the key counting node's promotions:
// ORS:<cluster>:node:{<node>}:epoch.
func (r *RedisStore) EpochKey(node string) string {
	return "ORS:" + r.opts.Cluster + ":node:{" + node + "}:epoch"
}

// shard is one of the store's shards: the names of its keys, which all
// carry its hash tag {<t>} and so sit in one cluster slot. They are made
// once, by NewRedis.
type shard struct {
	root, tag                         string // ORS:<cluster>: and {<t>}
	recPrefix, epochKey, nodesKey, ix string
}

func newShard(root, tag string) shard {
	return shard{
		root: root, tag: tag,
		recPrefix: root + "session:" + tag + ":",
		epochKey:  root + "shard:" + tag + ":epochs",
		nodesKey:  root + "shard:" + tag + ":nodes",
		ix:        root + "shard:" + tag + ":node:",
	}
}

func (s shard) record(id string) string  { return s.recPrefix + id }
func (s shard) recordPrefix() string     { return s.recPrefix }
func (s shard) epochs() string           { return s.epochKey }
func (s shard) nodes() string            { return s.nodesKey }
func (s shard) indexPrefix() string      { return s.ix }
func (s shard) index(node string) string { return s.ix + node }

// shardOf returns the shard of a session: CRC16 of its id modulo the
// number of shards.
func (r *RedisStore) shardOf(sessionID string) shard {
	return r.shardList[int(crc16(sessionID))%len(r.shardList)]
}

// shardAt returns shard number k.
func (r *RedisStore) shardAt(k int) shard { return r.shardList[k] }

// makeShards names the shards: shard k's hash tag names a slot spread
// evenly over the slot space (Redis Cluster gives masters ranges of
// slots, so the shards spread over the masters).
func (r *RedisStore) makeShards() {
	root := "ORS:" + r.opts.Cluster + ":"
	r.shardList = make([]shard, r.nshards)
	for k := range r.shardList {
		r.shardList[k] = newShard(root, "{"+slotTag(k*numSlots/r.nshards)+"}")
	}
}

// shards returns every shard (the caller must not modify the slice).
func (r *RedisStore) shards() []shard { return r.shardList }

// IndexKey returns the key of node's index in the shard of sessionID.
func (r *RedisStore) IndexKey(node, sessionID string) string {
	return r.shardOf(r.member(sessionID)).index(node)
}

// The scripts answer a table whose first element says what happened.
const (
	replyOK      = 0
	replyFenced  = 1 // then the shard's epoch of the node
	replyStale   = 2 // then the stored Seq's 8 bytes
	replyGone    = 3 // no record
	replyOwned   = 4 // another node owns the record; then its name
	replyUnknown = -1
)

// fenceLua refuses the write of node ARGV[1] at epoch ARGV[2] if the
// shard's epochs hash (KEYS[2]) holds a higher one.
const fenceLua = `
local e = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if e > tonumber(ARGV[2]) then return {1, tostring(e)} end
`

// unindexLua takes session ARGV[4] out of the indexes (prefix ARGV[3]) of
// the nodes registered in KEYS[3] other than ARGV[1] (all if ARGV[1] is
// empty), unregistering a node whose index it empties.
const unindexLua = `
for _, n in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  if n ~= ARGV[1] then
    local k = ARGV[3] .. n
    if redis.call('ZREM', k, ARGV[4]) == 1 and redis.call('EXISTS', k) == 0 then
      redis.call('SREM', KEYS[3], n)
    end
  end
end
`

// saveScript: KEYS record, epochs, nodes, index of the writer; ARGV node,
// epoch, index prefix, session id, value, ttl (ms), Seq (8 bytes, big
// endian, as in the envelope header; all zero disables the check), due
// score. Comparing the Seq bytes, not numbers, keeps all 64 bits exact.
var saveScript = newScript(fenceLua + `
local new = ARGV[7]
if new ~= string.rep('\0', 8) then
  local h = redis.call('GETRANGE', KEYS[1], 0, 13)
  if string.len(h) == 14 and string.sub(h, 1, 4) == 'ORSR' and string.byte(h, 5) == 1 then
    local cur = string.sub(h, 7, 14)
    for i = 1, 8 do
      local a, b = string.byte(cur, i), string.byte(new, i)
      if a > b then return {2, cur} end
      if a < b then break end
    end
  end
end
redis.call('SET', KEYS[1], ARGV[5], 'PX', ARGV[6])
-- A session is in one node's index at most: when it is in the writer's
-- already (the common case), no other index holds it.
if redis.call('ZADD', KEYS[4], ARGV[8], ARGV[4]) == 1 then
` + unindexLua + `
  redis.call('SADD', KEYS[3], ARGV[1])
end
redis.call('PEXPIRE', KEYS[4], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
return {0}
`)

// moveScript moves many sessions of one shard (Mover.MoveMany): KEYS
// epochs, nodes, index of the writer, index of the node they move from,
// then their records; ARGV node, epoch, index prefix, ttl (ms), then for
// each record its member, value, Seq (8 bytes), due score and the Seq its
// record must hold (8 bytes). Each is saved as saveScript saves it, unless
// its record is gone (3), holds another Seq (2, then that Seq) or is not
// in the index it moves from (4). It answers a code and a value per
// record (all fenced, 1 and the epoch, when the writer is).
var moveScript = newScript(`
local out = {}
local e = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if e > tonumber(ARGV[2]) then
  for i = 5, #KEYS do out[#out + 1] = 1; out[#out + 1] = tostring(e) end
  return out
end
local others = {}
for _, n in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if n ~= ARGV[1] then others[#others + 1] = n end
end
local added = false
for i = 5, #KEYS do
  local a = 4 + (i - 5) * 5
  local m = ARGV[a + 1]
  local h = redis.call('GETRANGE', KEYS[i], 0, 13)
  if string.len(h) ~= 14 then
    out[#out + 1] = 3; out[#out + 1] = ''
  elseif string.sub(h, 7, 14) ~= ARGV[a + 5] then
    out[#out + 1] = 2; out[#out + 1] = string.sub(h, 7, 14)
  elseif not redis.call('ZSCORE', KEYS[4], m) then
    out[#out + 1] = 4; out[#out + 1] = ''
  else
    redis.call('SET', KEYS[i], ARGV[a + 2], 'PX', ARGV[4])
    if redis.call('ZADD', KEYS[3], ARGV[a + 4], m) == 1 then
      for _, n in ipairs(others) do
        local k = ARGV[3] .. n
        if redis.call('ZREM', k, m) == 1 and redis.call('EXISTS', k) == 0 then
          redis.call('SREM', KEYS[2], n)
        end
      end
      added = true
    end
    out[#out + 1] = 0; out[#out + 1] = ''
  end
end
if added then redis.call('SADD', KEYS[2], ARGV[1]) end
redis.call('PEXPIRE', KEYS[3], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return out
`)

// deleteScript: KEYS record, epochs, nodes; ARGV node, epoch, index
// prefix, session id.
var deleteScript = newScript(fenceLua + `
redis.call('DEL', KEYS[1])
ARGV[1] = ''
` + unindexLua + `
return {0}
`)

// touchScript: KEYS record, epochs, nodes, index of the writer; ARGV
// node, epoch, index prefix, session id, ttl (ms). A record that lost its
// index entry gets one due at once (its due time is not known: an
// adopter wakes it early rather than never).
var touchScript = newScript(fenceLua + `
if redis.call('EXISTS', KEYS[1]) == 0 then return {3} end
if not redis.call('ZSCORE', KEYS[4], ARGV[4]) then
  for _, n in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    if n ~= ARGV[1] and redis.call('ZSCORE', ARGV[3] .. n, ARGV[4]) then return {4, n} end
  end
  redis.call('ZADD', KEYS[4], 0, ARGV[4])
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[4], ARGV[5])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return {0}
`)

// promoteScript raises node ARGV[1]'s entry in the epochs hash KEYS[1] to
// ARGV[2] unless it is higher.
var promoteScript = newScript(`
local e = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if e < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0
`)

// Paging a node's index. A script that read a whole index at once would
// hold Redis (single-threaded) for as long as it takes: seconds for a
// million sessions in the single shard of a standalone Redis, and BUSY
// for every other client past busy-reply-threshold. So the index is read
// a page (RedisOptions.PageSize entries) per call, each call resuming
// after a cursor: the last entry (member, score) the previous page read,
// and the rank the next one was expected at.
//
// Why this cursor. A sorted set is ordered by score, then by member bytes
// (memcmp, shorter first on a common prefix): a total order. The next
// page starts at the first entry above the cursor, whose rank is the
// number of entries at or below it, whatever was added or removed since:
// the entries a page drops (expired records) and those other clients
// remove or add shift ranks, so the rank is not trusted alone. When the
// entry at the expected rank minus one is still the cursor entry, that
// rank is right; otherwise a binary search over ranks (ZRANGE i i, the
// predicate "entry i is at or below the cursor" being monotone in i)
// finds it. Paging by score alone would not do: many entries share a
// score (no timer: +inf; the same millisecond), and a page boundary
// inside such a run would lose or repeat entries. Hence an entry present
// throughout a walk with the same score is read exactly once. One whose
// score changes meanwhile (a Save of a live node's session) may be read
// twice or missed; the callers drop repeats. Promote fences a node before
// its sessions are listed for recovery, so its index only shrinks then.
//
// cursorLua defines start(key, rank, member, score): the rank of the first
// entry of key above the cursor (0 when rank is empty: the first page). It
// runs only ZRANGE, which the store's ACL allows already.
const cursorLua = `
local function le(a, sa, b, sb)
  sa, sb = tonumber(sa), tonumber(sb)
  if sa ~= sb then return sa < sb end
  if a == b then return true end
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function start(key, rank, m, s)
  if rank == '' then return 0 end
  local r = tonumber(rank)
  if r > 0 then
    local e = redis.call('ZRANGE', key, r - 1, r - 1, 'WITHSCORES')
    if e[1] == m and tonumber(e[2]) == tonumber(s) then return r end
  end
  local lo, hi = 0, 4294967296
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local e = redis.call('ZRANGE', key, mid, mid, 'WITHSCORES')
    if e[1] and le(e[1], e[2], m, s) then lo = mid + 1 else hi = mid end
  end
  return lo
end
`

// listScript reads one page of node ARGV[1]'s index KEYS[1]: ARGV[3]
// entries at most, after the cursor ARGV[5..7] (rank, member, score; rank
// empty for the first page). It drops the entries whose record (key prefix
// ARGV[2]) is gone, and the node from the registry KEYS[2] when that
// empties the index. It answers how many it dropped, the next cursor
// (rank -1 when the index is done), then, if ARGV[4] is '1', the live
// members each followed by its score.
var listScript = newScript(cursorLua + `
local n = tonumber(ARGV[3])
local r = start(KEYS[1], ARGV[5], ARGV[6], ARGV[7])
local m = redis.call('ZRANGE', KEYS[1], r, r + n - 1, 'WITHSCORES')
local out = {0, -1, '', ''}
local kept = 0
for i = 1, #m, 2 do
  if redis.call('EXISTS', ARGV[2] .. m[i]) == 1 then
    kept = kept + 1
    if ARGV[4] == '1' then
      out[#out + 1] = m[i]
      out[#out + 1] = m[i + 1]
    end
  else
    redis.call('ZREM', KEYS[1], m[i])
    out[1] = out[1] + 1
  end
end
if #m == 2 * n then
  out[2] = r + kept
  out[3] = m[#m - 1]
  out[4] = m[#m]
elseif redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('SREM', KEYS[2], ARGV[1])
end
return out
`)

// rangeScript reads one page of the index KEYS[1] in order, without
// changing it: ARGV[2] entries at most after the cursor ARGV[3..5] (as
// listScript's), those scored below ARGV[1] ("" for all). It answers the
// next cursor (rank -1 when done), then the members each followed by its
// score. (The first page is a plain command: see ranged.)
var rangeScript = newScript(cursorLua + `
local n = tonumber(ARGV[2])
local r = start(KEYS[1], ARGV[3], ARGV[4], ARGV[5])
local m = redis.call('ZRANGE', KEYS[1], r, r + n - 1, 'WITHSCORES')
local b = nil
if ARGV[1] ~= '' then b = tonumber(ARGV[1]) end
local out = {-1, '', ''}
for i = 1, #m, 2 do
  if b and tonumber(m[i + 1]) >= b then return out end
  out[#out + 1] = m[i]
  out[#out + 1] = m[i + 1]
end
if #m == 2 * n then
  out[1] = r + n
  out[2] = m[#m - 1]
  out[3] = m[#m]
end
return out
`)

// pipeliner makes pipelines: a client, a cluster client, or one master
// of a cluster.
type pipeliner interface{ Pipeline() redis.Pipeliner }

// scriptFn queues a script in a pipeline (by EVALSHA, or by EVAL when
// the server did not know it).
type scriptFn func(s *redis.Script, keys []string, args ...any) *redis.Cmd

// pipelined runs n scripted commands, made by mk, in one pipeline of c,
// then sends again by EVAL those that came back NOSCRIPT (a new master, a
// restarted one, the target of a migration has not seen the script).
// after, if not nil, queues more commands at the end of each pipeline
// (WAIT, which must follow the writes on their connection); it returns
// the last pipeline's.
func pipelined(ctx context.Context, c pipeliner, n int, mk func(run scriptFn, i int) *redis.Cmd, after func(redis.Pipeliner) *redis.IntCmd) ([]*redis.Cmd, *redis.IntCmd) {
	cmds := make([]*redis.Cmd, n)
	pipe := c.Pipeline()
	for i := range n {
		cmds[i] = mk(func(s *redis.Script, keys []string, args ...any) *redis.Cmd {
			return s.EvalSha(ctx, pipe, keys, args...)
		}, i)
	}
	var tail *redis.IntCmd
	if after != nil {
		tail = after(pipe)
	}
	_, _ = pipe.Exec(ctx) // each command's error is looked at by the caller
	var retry []int
	for i, c := range cmds {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		pipe := c.Pipeline()
		for _, i := range retry {
			cmds[i] = mk(func(s *redis.Script, keys []string, args ...any) *redis.Cmd {
				return s.Eval(ctx, pipe, keys, args...)
			}, i)
		}
		if after != nil {
			tail = after(pipe)
		}
		_, _ = pipe.Exec(ctx)
	}
	return cmds, tail
}

// reply reads a script's answer: its code and the value after it.
func reply(c *redis.Cmd) (code int64, val string, err error) {
	v, err := c.Result()
	if err != nil {
		return replyUnknown, "", err
	}
	a, ok := v.([]any)
	if !ok || len(a) == 0 {
		return replyUnknown, "", fmt.Errorf("unexpected script reply %v", v)
	}
	code, ok = a[0].(int64)
	if !ok {
		return replyUnknown, "", fmt.Errorf("unexpected script reply %v", v)
	}
	if len(a) > 1 {
		val, _ = a[1].(string)
	}
	return code, val, nil
}

func epochArg(e uint64) string { return strconv.FormatUint(e, 10) }

// dueScore is the index score of a due time: Unix ms, +inf for none.
func dueScore(t time.Time) string {
	if t.IsZero() {
		return "+inf"
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// Save implements Store.
func (r *RedisStore) Save(ctx context.Context, rec *Record) error {
	b, err := prepareSave(ctx, rec)
	if err != nil {
		return err
	}
	b = r.opts.Sealer.seal(r.SessionKey(rec.SessionID), b)
	q := &saveReq{ctx: ctx, id: rec.SessionID, node: rec.Node, epoch: rec.Epoch, seq: rec.Seq, due: rec.Due, value: b, done: make(chan error, 1)}
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return fmt.Errorf("persist: save session %s: %w", rec.SessionID, ErrClosed)
	}
	lone := r.queue != nil && r.opts.Linger == 0 && r.busy.CompareAndSwap(0, 1)
	if r.queue == nil || lone {
		r.mu.RUnlock()
		r.saves.Add(1)
		r.batches.Add(1)
		r.bytes.Add(uint64(len(b)))
		err := r.write(ctx, []*saveReq{q})[0]
		if lone {
			r.busy.Add(-1)
		}
		return err
	}
	r.busy.Add(1) // until a committer has written it
	select {
	case r.queue <- q:
		r.mu.RUnlock()
	case <-ctx.Done():
		r.busy.Add(-1)
		r.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-q.done:
		return err
	case <-ctx.Done():
		// The committer may still send it.
		return ctx.Err()
	}
}

// commit is a committer: it takes a Save off the queue, gathers what else
// is queued (up to MaxBatch, waiting up to Linger), and writes the batch.
func (r *RedisStore) commit() {
	defer r.wg.Done()
	batch := make([]*saveReq, 0, r.opts.MaxBatch)
	var timer *time.Timer
	for q := range r.queue {
		batch = append(batch[:0], q)
		if r.opts.Linger > 0 {
			if timer == nil {
				timer = time.NewTimer(r.opts.Linger)
			} else {
				timer.Reset(r.opts.Linger)
			}
		gather:
			for len(batch) < r.opts.MaxBatch {
				select {
				case q, ok := <-r.queue:
					if !ok {
						break gather
					}
					batch = append(batch, q)
				case <-timer.C:
					break gather
				}
			}
			timer.Stop()
		} else {
		drain:
			for len(batch) < r.opts.MaxBatch {
				select {
				case q, ok := <-r.queue:
					if !ok {
						break drain
					}
					batch = append(batch, q)
				default:
					break drain
				}
			}
		}
		taken := int64(len(batch))
		// Saves whose caller gave up before they were sent are not sent.
		live := batch[:0]
		for _, q := range batch {
			if err := q.ctx.Err(); err != nil {
				q.done <- err
				continue
			}
			live = append(live, q)
		}
		if len(live) == 0 {
			r.busy.Add(-taken)
			continue
		}
		r.saves.Add(uint64(len(live)))
		r.batches.Add(1)
		for _, q := range live {
			r.bytes.Add(uint64(len(q.value)))
		}
		// The batch serves many callers: no one caller's cancellation
		// stops it; the client's timeouts and RetryFor bound it.
		errs := r.write(context.Background(), live)
		r.busy.Add(-taken) // before their callers hear: none is busy then
		for i, err := range errs {
			live[i].done <- err
		}
		clear(batch) // let the records be collected
	}
}

// write sends a batch of Saves in one pipeline and returns each one's
// error, retrying those that failed on a connection or cluster error
// (after a reload of the slot map) for up to RetryFor.
func (r *RedisStore) write(ctx context.Context, reqs []*saveReq) []error {
	errs := make([]error, len(reqs))
	pending := make([]int, len(reqs))
	for i := range pending {
		pending[i] = i
	}
	deadline := time.Now().Add(r.opts.RetryFor)
	for attempt := 0; ; attempt++ {
		batch := make([]*saveReq, len(pending))
		for j, i := range pending {
			batch[j] = reqs[i]
		}
		berrs, retryable := r.writeOnce(ctx, batch)
		var again []int
		for j, i := range pending {
			errs[i] = berrs[j]
			if retryable[j] {
				again = append(again, i)
			}
		}
		if len(again) == 0 || r.opts.RetryFor <= 0 || time.Now().Add(r.opts.RetryBackoff).After(deadline) || ctx.Err() != nil {
			return errs
		}
		r.reload(ctx)
		r.retries.Add(uint64(len(again)))
		select {
		case <-time.After(r.opts.RetryBackoff):
		case <-ctx.Done():
			return errs
		case <-r.stop:
			return errs
		}
		pending = again
	}
}

// reload asks a cluster client to reload its slot map now.
func (r *RedisStore) reload(ctx context.Context) {
	if c, ok := r.c.(*redis.ClusterClient); ok {
		c.ReloadState(ctx)
	}
}

// retryable reports whether err is worth a retry after a reload of the
// slot map: a connection error, or a reply saying the cluster is
// changing. Replies about the command itself are not.
func retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var re redis.Error
	if errors.As(err, &re) {
		s := re.Error()
		for _, p := range []string{"CLUSTERDOWN", "TRYAGAIN", "LOADING", "MOVED", "ASK", "READONLY", "MASTERDOWN"} {
			if strings.HasPrefix(s, p) {
				return true
			}
		}
		return false
	}
	return !errors.Is(err, redis.Nil)
}

// writeOnce sends a batch of Saves in one pipeline.
func (r *RedisStore) writeOnce(ctx context.Context, reqs []*saveReq) (errs []error, retry []bool) {
	ttlMs := r.opts.TTL.Milliseconds()
	mk := func(reqs []*saveReq) func(run scriptFn, i int) *redis.Cmd {
		return func(run scriptFn, i int) *redis.Cmd {
			q := reqs[i]
			m := r.member(q.id)
			sh := r.shardOf(m)
			return run(saveScript, []string{sh.record(m), sh.epochs(), sh.nodes(), sh.index(q.node)},
				q.node, epochArg(q.epoch), sh.indexPrefix(), m, q.value, ttlMs,
				binary.BigEndian.AppendUint64(nil, q.seq), dueScore(q.due))
		}
	}
	var cmds []*redis.Cmd
	waitErrs := make([]error, len(reqs))
	if r.opts.WaitReplicas > 0 {
		cmds = r.writeWait(ctx, reqs, mk, waitErrs)
	} else {
		cmds, _ = pipelined(ctx, r.c, len(reqs), mk(reqs), nil)
	}
	errs, retry = make([]error, len(reqs)), make([]bool, len(reqs))
	for i, q := range reqs {
		code, val, err := reply(cmds[i])
		switch {
		case err != nil:
			errs[i] = fmt.Errorf("persist: save session %s: %w", q.id, err)
			retry[i] = retryable(err)
		case code == replyFenced:
			e, _ := strconv.ParseUint(val, 10, 64)
			errs[i] = fenced(q.id, Writer{q.node, q.epoch}, e)
		case code == replyStale && len(val) == 8:
			errs[i] = stale(q.id, q.seq, binary.BigEndian.Uint64([]byte(val)))
		case code != replyOK:
			errs[i] = fmt.Errorf("persist: save session %s: unexpected script reply %d %q", q.id, code, val)
		case waitErrs[i] != nil:
			errs[i] = fmt.Errorf("persist: save session %s: written, but %w", q.id, waitErrs[i])
			// A replica missing is not retried: it would only wait longer.
			retry[i] = !errors.Is(waitErrs[i], ErrNotReplicated) && retryable(waitErrs[i])
		}
	}
	return errs, retry
}

// waitCmd queues WAIT n ms in p.
func waitCmd(ctx context.Context, p redis.Pipeliner, n int, ms int64) *redis.IntCmd {
	c := redis.NewIntCmd(ctx, "wait", n, ms)
	_ = p.Process(ctx, c)
	return c
}

// ErrNotReplicated is wrapped by the error of a Save that Redis wrote but
// that fewer than RedisOptions.WaitReplicas replicas acknowledged within
// WaitTimeout: a failover of its master now could lose it.
var ErrNotReplicated = errors.New("persist: not acknowledged by enough replicas")

// writeWait writes a batch as writeOnce does, followed on each master's
// connection by WAIT WaitReplicas WaitTimeout, and notes in waitErrs the
// Saves whose master answered fewer replicas. WAIT counts the replicas
// that have every write of the connection it is sent on, so the batch
// is sent through one pipeline per master (the cluster client's own
// pipeline would choose the connections).
func (r *RedisStore) writeWait(ctx context.Context, reqs []*saveReq, mk func([]*saveReq) func(scriptFn, int) *redis.Cmd, waitErrs []error) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(reqs))
	type group struct {
		c   pipeliner
		idx []int
	}
	var groups []*group
	if cc, ok := r.c.(*redis.ClusterClient); ok {
		by := make(map[*redis.Client]*group)
		for i, q := range reqs {
			m, err := cc.MasterForKey(ctx, r.SessionKey(q.id))
			if err != nil {
				cmds[i] = redis.NewCmd(ctx)
				cmds[i].SetErr(err)
				continue
			}
			g := by[m]
			if g == nil {
				g = &group{c: m}
				by[m] = g
				groups = append(groups, g)
			}
			g.idx = append(g.idx, i)
		}
	} else {
		g := &group{c: r.c}
		for i := range reqs {
			g.idx = append(g.idx, i)
		}
		groups = append(groups, g)
	}
	n, ms := r.opts.WaitReplicas, r.opts.WaitTimeout.Milliseconds()
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub := make([]*saveReq, len(g.idx))
			for j, i := range g.idx {
				sub[j] = reqs[i]
			}
			got, wait := pipelined(ctx, g.c, len(sub), mk(sub), func(p redis.Pipeliner) *redis.IntCmd {
				return waitCmd(ctx, p, n, ms)
			})
			var werr error
			if k, err := wait.Result(); err != nil {
				werr = fmt.Errorf("WAIT %d %d: %w", n, ms, err)
			} else if k < int64(n) {
				werr = fmt.Errorf("WAIT %d %d: %d replicas acknowledged: %w", n, ms, k, ErrNotReplicated)
			}
			for j, i := range g.idx {
				cmds[i] = got[j]
				waitErrs[i] = werr
			}
		}()
	}
	wg.Wait()
	return cmds
}

// TTL implements Expirer: RedisOptions.TTL.
func (r *RedisStore) TTL() time.Duration { return r.opts.TTL }

// touchPages is how many pages (RedisOptions.PageSize) of records one
// pipelined round trip of Touch refreshes.
const touchPages = 10

// Touch implements Expirer in pipelined round trips of touchPages pages
// of records each, from the caller's goroutine (not through the group
// committer): one script per record, in its shard, that checks the
// fence, refreshes the record, its index entry and the shard's node
// registry, and refuses a record another node owns. Round trips of
// bounded size keep a sweep refreshing a million hibernated sessions
// from building a million commands at once.
func (r *RedisStore) Touch(ctx context.Context, w Writer, sessionIDs []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.isClosed() {
		return fmt.Errorf("persist: touch node %s: %w", w.Node, ErrClosed)
	}
	var errs []error
	done := 0
	for chunk := range slices.Chunk(sessionIDs, touchPages*r.opts.PageSize) {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("persist: touch node %s: %d of %d sessions not refreshed: %w", w.Node, len(sessionIDs)-done, len(sessionIDs), err))
			break
		}
		errs = append(errs, r.touch(ctx, w, chunk)...)
		done += len(chunk)
	}
	return errors.Join(errs...)
}

// touch refreshes the records of sessionIDs in one pipelined round trip.
func (r *RedisStore) touch(ctx context.Context, w Writer, sessionIDs []string) []error {
	ttlMs := r.opts.TTL.Milliseconds()
	cmds, _ := pipelined(ctx, r.c, len(sessionIDs), func(run scriptFn, i int) *redis.Cmd {
		m := r.member(sessionIDs[i])
		sh := r.shardOf(m)
		return run(touchScript, []string{sh.record(m), sh.epochs(), sh.nodes(), sh.index(w.Node)},
			w.Node, epochArg(w.Epoch), sh.indexPrefix(), m, ttlMs)
	}, nil)
	var errs []error
	for i, id := range sessionIDs {
		code, val, err := reply(cmds[i])
		switch {
		case err != nil:
			errs = append(errs, &SessionError{SessionID: id, Err: fmt.Errorf("persist: touch: %w", err)})
		case code == replyFenced:
			e, _ := strconv.ParseUint(val, 10, 64)
			errs = append(errs, &SessionError{SessionID: id, Err: fmt.Errorf("node %s touches with epoch %d, the store holds epoch %d: %w", w.Node, w.Epoch, e, ErrFenced)})
		case code == replyGone:
			errs = append(errs, &SessionError{SessionID: id, Err: ErrNotFound})
		case code == replyOwned:
			errs = append(errs, &SessionError{SessionID: id, Err: fmt.Errorf("node %s owns the record, not %s: %w", val, w.Node, ErrFenced)})
		case code != replyOK:
			errs = append(errs, &SessionError{SessionID: id, Err: fmt.Errorf("persist: touch: unexpected script reply %d %q", code, val)})
		}
	}
	return errs
}

func (r *RedisStore) isClosed() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.closed
}

// Load implements Store: one GET.
func (r *RedisStore) Load(ctx context.Context, sessionID string) (*Record, error) {
	if r.isClosed() {
		return nil, fmt.Errorf("persist: load session %s: %w", sessionID, ErrClosed)
	}
	b, err := r.c.Get(ctx, r.SessionKey(sessionID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, notFound(sessionID)
	}
	if err != nil {
		return nil, fmt.Errorf("persist: load session %s: %w", sessionID, err)
	}
	key := r.SessionKey(sessionID)
	return r.open(key, sessionID, b)
}

// open opens (with the store's Sealer) and decodes the record b of
// sessionID stored at key.
func (r *RedisStore) open(key, sessionID string, b []byte) (*Record, error) {
	clear, err := r.opts.Sealer.open(key, sessionID, b)
	if err != nil {
		return nil, err
	}
	// b is a reply read for this record alone, and clear is b or a
	// fresh buffer: the record may keep it.
	return decodeRecordOf(sessionID, clear, true)
}

// loadChunk bounds the GETs of one LoadMany pipeline.
const loadChunk = 1000

// LoadMany implements Loader: pipelined GETs, loadChunk at a time.
func (r *RedisStore) LoadMany(ctx context.Context, sessionIDs []string) ([]*Record, []error) {
	recs, errs := make([]*Record, len(sessionIDs)), make([]error, len(sessionIDs))
	if r.isClosed() {
		for i, id := range sessionIDs {
			errs[i] = fmt.Errorf("persist: load session %s: %w", id, ErrClosed)
		}
		return recs, errs
	}
	for off := 0; off < len(sessionIDs); off += loadChunk {
		chunk := sessionIDs[off:min(len(sessionIDs), off+loadChunk)]
		cmds := make([]*redis.StringCmd, len(chunk))
		pipe := r.c.Pipeline()
		for i, id := range chunk {
			cmds[i] = pipe.Get(ctx, r.SessionKey(id))
		}
		_, _ = pipe.Exec(ctx)
		for i, id := range chunk {
			b, err := cmds[i].Bytes()
			switch {
			case errors.Is(err, redis.Nil):
				errs[off+i] = notFound(id)
			case err != nil:
				errs[off+i] = fmt.Errorf("persist: load session %s: %w", id, err)
			default:
				recs[off+i], errs[off+i] = r.open(r.SessionKey(id), id, b)
			}
		}
	}
	return recs, errs
}

// MoveMany implements Mover: the moves are grouped by shard (and by the
// nodes they move from and to), one script per group moves a group (of
// RedisOptions.PageSize moves at most), and the scripts of all groups go
// in one pipeline, from the caller's goroutine (the batch is made
// already: no group committer). Groups that fail on a connection or
// cluster error are sent again as Saves are (RetryFor); with
// WaitReplicas, a WAIT on every master follows.
func (r *RedisStore) MoveMany(ctx context.Context, moves []Move) []error {
	errs := make([]error, len(moves))
	if r.isClosed() {
		for i, mv := range moves {
			errs[i] = fmt.Errorf("persist: move session %s: %w", mv.Record.SessionID, ErrClosed)
		}
		return errs
	}
	type group struct {
		sh         shard
		node, from string
		epoch      uint64
		idx        []int
		keys       []string
		args       []any
	}
	type groupKey struct {
		shard      int
		node, from string
		epoch      uint64
	}
	by := make(map[groupKey]*group)
	var groups []*group
	ttlMs := r.opts.TTL.Milliseconds()
	for i, mv := range moves {
		b, err := prepareSave(ctx, mv.Record)
		if err != nil {
			errs[i] = err
			continue
		}
		rec := mv.Record
		m := r.member(rec.SessionID)
		k := int(crc16(m)) % len(r.shardList)
		gk := groupKey{k, rec.Node, mv.From, rec.Epoch}
		g := by[gk]
		if g == nil || len(g.idx) == r.opts.PageSize {
			// A script moves PageSize records at most: a recovery's
			// batch (thousands) into one shard of a standalone Redis
			// would hold it as long as a page of a large index.
			sh := r.shardList[k]
			g = &group{sh: sh, node: rec.Node, from: mv.From, epoch: rec.Epoch,
				keys: []string{sh.epochs(), sh.nodes(), sh.index(rec.Node), sh.index(mv.From)},
				args: []any{rec.Node, epochArg(rec.Epoch), sh.indexPrefix(), ttlMs}}
			by[gk] = g
			groups = append(groups, g)
		}
		b = r.opts.Sealer.seal(g.sh.record(m), b)
		r.bytes.Add(uint64(len(b)))
		g.idx = append(g.idx, i)
		g.keys = append(g.keys, g.sh.record(m))
		g.args = append(g.args, m, b, binary.BigEndian.AppendUint64(nil, rec.Seq), dueScore(rec.Due), binary.BigEndian.AppendUint64(nil, mv.Seq))
	}
	r.saves.Add(uint64(len(moves)))
	r.batches.Add(1)
	deadline := time.Now().Add(r.opts.RetryFor)
	for len(groups) > 0 {
		cmds, _ := pipelined(ctx, r.c, len(groups), func(run scriptFn, i int) *redis.Cmd {
			return run(moveScript, groups[i].keys, groups[i].args...)
		}, nil)
		var again []*group
		for gi, g := range groups {
			v, err := cmds[gi].Result()
			a, ok := v.([]any)
			if err == nil && (!ok || len(a) != 2*len(g.idx)) {
				err = fmt.Errorf("unexpected script reply %v", v)
			}
			if err != nil {
				for _, i := range g.idx {
					errs[i] = fmt.Errorf("persist: move session %s: %w", moves[i].Record.SessionID, err)
				}
				if retryable(err) {
					again = append(again, g)
				}
				continue
			}
			for j, i := range g.idx {
				id := moves[i].Record.SessionID
				code, _ := a[2*j].(int64)
				val, _ := a[2*j+1].(string)
				switch code {
				case replyOK:
					errs[i] = nil
				case replyFenced:
					e, _ := strconv.ParseUint(val, 10, 64)
					errs[i] = fenced(id, Writer{g.node, g.epoch}, e)
				case replyStale:
					why := "the store holds another seq"
					if len(val) == 8 {
						why = fmt.Sprintf("the store holds seq %d", binary.BigEndian.Uint64([]byte(val)))
					}
					errs[i] = moved(id, g.from, moves[i].Seq, why)
				case replyGone:
					errs[i] = notFound(id)
				case replyOwned:
					errs[i] = moved(id, g.from, moves[i].Seq, "it is not in the node's index")
				default:
					errs[i] = fmt.Errorf("persist: move session %s: unexpected script reply %d %q", id, code, val)
				}
			}
		}
		if len(again) == 0 || r.opts.RetryFor <= 0 || time.Now().Add(r.opts.RetryBackoff).After(deadline) || ctx.Err() != nil {
			break
		}
		r.reload(ctx)
		for _, g := range again {
			r.retries.Add(uint64(len(g.idx)))
		}
		select {
		case <-time.After(r.opts.RetryBackoff):
		case <-ctx.Done():
		case <-r.stop:
		}
		groups = again
	}
	if r.opts.WaitReplicas > 0 {
		if err := r.waitAll(ctx); err != nil {
			for i := range errs {
				if errs[i] == nil {
					errs[i] = fmt.Errorf("persist: move session %s: written, but %w", moves[i].Record.SessionID, err)
				}
			}
		}
	}
	return errs
}

// Delete implements Store: one script in the record's shard deletes the
// record and its index entry, unless w is fenced.
func (r *RedisStore) Delete(ctx context.Context, w Writer, sessionID string) error {
	if r.isClosed() {
		return fmt.Errorf("persist: delete session %s: %w", sessionID, ErrClosed)
	}
	m := r.member(sessionID)
	sh := r.shardOf(m)
	cmds, _ := pipelined(ctx, r.c, 1, func(run scriptFn, _ int) *redis.Cmd {
		return run(deleteScript, []string{sh.record(m), sh.epochs(), sh.nodes()}, w.Node, epochArg(w.Epoch), sh.indexPrefix(), m)
	}, nil)
	code, val, err := reply(cmds[0])
	switch {
	case err != nil:
		return fmt.Errorf("persist: delete session %s: %w", sessionID, err)
	case code == replyFenced:
		e, _ := strconv.ParseUint(val, 10, 64)
		return fenced(sessionID, w, e)
	case code != replyOK:
		return fmt.Errorf("persist: delete session %s: unexpected script reply %d %q", sessionID, code, val)
	}
	return nil
}

// Promote implements Fencer: INCR of EpochKey(node), then the new epoch
// in every shard's fence (see RedisStore), all shards before it returns.
// When it fails part way the epoch may be raised in some shards only:
// call it again (the next epoch covers every shard).
func (r *RedisStore) Promote(ctx context.Context, node string) (uint64, error) {
	if r.isClosed() {
		return 0, fmt.Errorf("persist: promote node %s: %w", node, ErrClosed)
	}
	e, err := r.c.Incr(ctx, r.EpochKey(node)).Uint64()
	if err != nil {
		if retryable(err) {
			r.reload(ctx) // as below
		}
		return 0, fmt.Errorf("persist: promote node %s: %w", node, err)
	}
	shards := r.shards()
	cmds, _ := pipelined(ctx, r.c, len(shards), func(run scriptFn, i int) *redis.Cmd {
		return run(promoteScript, []string{shards[i].epochs()}, node, epochArg(e))
	}, nil)
	for i, c := range cmds {
		if err := c.Err(); err != nil {
			if retryable(err) {
				// A master failing over: the caller's next Promote
				// must find its successor (go-redis does not reload
				// the slot map on a pipeline's connection errors).
				r.reload(ctx)
			}
			return 0, fmt.Errorf("persist: promote node %s to epoch %d: fence of %s: %w", node, e, shards[i].epochs(), err)
		}
	}
	if r.opts.WaitReplicas > 0 {
		// The fences must survive a master failover as the records do.
		if err := r.waitAll(ctx); err != nil {
			return 0, fmt.Errorf("persist: promote node %s to epoch %d: %w", node, e, err)
		}
	}
	return e, nil
}

// waitAll sends WAIT to every master, for writes made on any connection:
// it waits for a new write of its own on each (a no-op script would not
// replicate), so it only orders; used after Promote.
func (r *RedisStore) waitAll(ctx context.Context) error {
	n, t := r.opts.WaitReplicas, r.opts.WaitTimeout
	cc, _ := r.c.(*redis.ClusterClient)
	wait := func(ctx context.Context, c *redis.Client) error {
		// WAIT counts the writes of its own connection: make one there,
		// to a key of a slot this master serves (a cluster's other
		// masters would answer MOVED).
		key := "ORS:" + r.opts.Cluster + ":wait"
		if cc != nil {
			for i := 0; ; i++ {
				if i == 1<<14 {
					return fmt.Errorf("WAIT %d: no key of this master's slots", n)
				}
				k := fmt.Sprintf("ORS:%s:wait:{%d}", r.opts.Cluster, i)
				if m, err := cc.MasterForKey(ctx, k); err == nil && m == c {
					key = k
					break
				}
			}
		}
		var k *redis.IntCmd
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, "1", time.Second)
			k = waitCmd(ctx, p, n, t.Milliseconds())
			return nil
		})
		if err != nil {
			return err
		}
		if k.Val() < int64(n) {
			return fmt.Errorf("WAIT %d: %d replicas acknowledged: %w", n, k.Val(), ErrNotReplicated)
		}
		return nil
	}
	if cc != nil {
		return cc.ForEachMaster(ctx, wait)
	}
	if c, ok := r.c.(*redis.Client); ok {
		return wait(ctx, c)
	}
	return nil
}

// Epoch implements Fencer: GET of EpochKey(node).
func (r *RedisStore) Epoch(ctx context.Context, node string) (uint64, error) {
	if r.isClosed() {
		return 0, fmt.Errorf("persist: epoch of node %s: %w", node, ErrClosed)
	}
	e, err := r.c.Get(ctx, r.EpochKey(node)).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("persist: epoch of node %s: %w", node, err)
	}
	return e, nil
}

// cursor is where the next page of one shard's index starts (see
// cursorLua): the rank expected, and the last entry read.
type cursor struct {
	rank, member, score string // rank "" before the first page
}

func (c cursor) args() []any { return []any{c.rank, c.member, c.score} }

// paged runs a page script on each shard's index, one page of every shard
// not yet done in each pipelined round trip, until all are done. mk
// queues shard k's next page; each reply is a table with the next cursor
// at a[at:at+3] (rank -1 when that shard is done), handed to visit.
// cur holds each shard's cursor, active the shards to read (nil: all,
// from their first page).
func (r *RedisStore) paged(ctx context.Context, cur []cursor, active []int, mk func(run scriptFn, k int, c cursor) *redis.Cmd, at int, visit func(k int, a []any)) error {
	if active == nil {
		active = make([]int, len(r.shards()))
		for k := range active {
			active[k] = k
		}
	}
	for len(active) > 0 {
		cmds, _ := pipelined(ctx, r.c, len(active), func(run scriptFn, i int) *redis.Cmd {
			return mk(run, active[i], cur[active[i]])
		}, nil)
		var next []int
		for i, c := range cmds {
			k := active[i]
			v, err := c.Result()
			if err != nil {
				return err
			}
			a, ok := v.([]any)
			if !ok || len(a) < at+3 {
				return fmt.Errorf("unexpected script reply %v", v)
			}
			rank, ok := a[at].(int64)
			if !ok {
				return fmt.Errorf("unexpected script reply %v", v)
			}
			if rank >= 0 {
				m, _ := a[at+1].(string)
				sc, _ := a[at+2].(string)
				cur[k] = cursor{rank: strconv.FormatInt(rank, 10), member: m, score: sc}
				next = append(next, k)
			}
			visit(k, a)
		}
		active = next
	}
	return nil
}

// dueOf reads the member and score at a[i:i+2] of a page's reply.
func dueOf(a []any, i int) DueSession {
	id, _ := a[i].(string)
	score, _ := a[i+1].(string)
	d := DueSession{SessionID: id}
	if ms, err := strconv.ParseInt(score, 10, 64); err == nil {
		d.Due = time.UnixMilli(ms).UTC()
	} else if f, err := strconv.ParseFloat(score, 64); err == nil && !math.IsInf(f, 0) {
		d.Due = time.UnixMilli(int64(f)).UTC()
	}
	return d
}

// indexed walks node's index in every shard with listScript, a page at a
// time (RedisOptions.PageSize), dropping the entries whose record is gone:
// it returns how many it dropped and, with wantLive, the live entries,
// sorted by session id, each once.
func (r *RedisStore) indexed(ctx context.Context, node string, wantLive bool) (live []DueSession, dropped int, err error) {
	shards := r.shards()
	flag := "0"
	if wantLive {
		flag = "1"
	}
	err = r.paged(ctx, make([]cursor, len(shards)), nil, func(run scriptFn, k int, c cursor) *redis.Cmd {
		sh := shards[k]
		return run(listScript, []string{sh.index(node), sh.nodes()},
			append([]any{node, sh.recordPrefix(), r.opts.PageSize, flag}, c.args()...)...)
	}, 1, func(_ int, a []any) {
		n, _ := a[0].(int64)
		dropped += int(n)
		for i := 4; i+1 < len(a); i += 2 {
			live = append(live, dueOf(a, i))
		}
	})
	if err != nil {
		return nil, dropped, err
	}
	live = uniqueByID(live)
	if live, err = r.resolveIDs(ctx, live); err != nil {
		return nil, dropped, err
	}
	return live, dropped, nil
}

// uniqueByID sorts ds by session id and keeps one entry per id, the last
// read: a page walk reads an entry again only if its score changed
// meanwhile (see cursorLua), and the later score is the newer.
func uniqueByID(ds []DueSession) []DueSession {
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].SessionID < ds[j].SessionID })
	out := ds[:0]
	for i, d := range ds {
		if i+1 < len(ds) && ds[i+1].SessionID == d.SessionID {
			continue
		}
		out = append(out, d)
	}
	return out
}

// ListNode implements Store: listScript walks node's index in every
// shard, a page (RedisOptions.PageSize entries) per call, returning the
// entries whose record exists and dropping the others.
func (r *RedisStore) ListNode(ctx context.Context, node string) ([]string, error) {
	if r.isClosed() {
		return nil, fmt.Errorf("persist: list node %s: %w", node, ErrClosed)
	}
	live, _, err := r.indexed(ctx, node, true)
	if err != nil {
		return nil, fmt.Errorf("persist: list node %s: %w", node, err)
	}
	ids := make([]string, len(live))
	for i, d := range live {
		ids[i] = d.SessionID
	}
	sort.Strings(ids) // resolveIDs may change the order
	return ids, nil
}

// DueBefore implements Scheduler: rangeScript reads node's index in every
// shard in due-time order, a page (RedisOptions.PageSize entries) per
// call, up to t. Unlike ListNode it does not check that each record still
// exists (it is read on the path of a switchover, and cheap): an entry
// whose record expired is returned until ListNode or Sweep drops it, and
// loading it finds nothing.
func (r *RedisStore) DueBefore(ctx context.Context, node string, t time.Time) ([]DueSession, error) {
	if r.isClosed() {
		return nil, fmt.Errorf("persist: due sessions of node %s: %w", node, ErrClosed)
	}
	out, err := r.ranged(ctx, node, strconv.FormatInt(t.UnixMilli(), 10))
	if err != nil {
		return nil, fmt.Errorf("persist: due sessions of node %s: %w", node, err)
	}
	if out, err = r.resolveIDs(ctx, out); err != nil {
		return nil, fmt.Errorf("persist: due sessions of node %s: %w", node, err)
	}
	sortDue(out)
	return out, nil
}

// ranged reads node's index in every shard: the entries scored below
// bound ("" for all), each once, sorted by member. The first page of
// every shard is a plain ZRANGEBYSCORE (or ZRANGE) with a LIMIT of
// RedisOptions.PageSize, all in one pipeline, as cheap as a poll that
// finds nothing due can be; rangeScript reads the next pages of the
// shards whose first page was full.
func (r *RedisStore) ranged(ctx context.Context, node, bound string) ([]DueSession, error) {
	shards := r.shards()
	n := r.opts.PageSize
	first := make([]*redis.ZSliceCmd, len(shards))
	pipe := r.c.Pipeline()
	for k, sh := range shards {
		if bound == "" {
			first[k] = pipe.ZRangeWithScores(ctx, sh.index(node), 0, int64(n-1))
		} else {
			first[k] = pipe.ZRangeByScoreWithScores(ctx, sh.index(node), &redis.ZRangeBy{Min: "-inf", Max: "(" + bound, Count: int64(n)})
		}
	}
	_, _ = pipe.Exec(ctx) // each command's error is looked at below
	var out []DueSession
	cur := make([]cursor, len(shards))
	var more []int
	for k, c := range first {
		zs, err := c.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		for _, z := range zs {
			id, _ := z.Member.(string)
			d := DueSession{SessionID: id}
			if !math.IsInf(z.Score, 0) {
				d.Due = time.UnixMilli(int64(z.Score)).UTC()
			}
			out = append(out, d)
		}
		if len(zs) == n {
			last := zs[n-1]
			m, _ := last.Member.(string)
			cur[k] = cursor{rank: strconv.Itoa(n), member: m, score: scoreArg(last.Score)}
			more = append(more, k)
		}
	}
	if len(more) > 0 {
		err := r.paged(ctx, cur, more, func(run scriptFn, k int, c cursor) *redis.Cmd {
			return run(rangeScript, []string{shards[k].index(node)},
				append([]any{bound, n}, c.args()...)...)
		}, 0, func(_ int, a []any) {
			for i := 3; i+1 < len(a); i += 2 {
				out = append(out, dueOf(a, i))
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return uniqueByID(out), nil
}

// scoreArg formats a score as a script reads it (Lua's tonumber).
func scoreArg(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// resolveIDs replaces index members by session ids: with hashed key
// names the index holds HMACs, and the ids are in the records (idsOf);
// entries whose record is gone are left out.
func (r *RedisStore) resolveIDs(ctx context.Context, ds []DueSession) ([]DueSession, error) {
	if r.opts.KeyHash == nil || len(ds) == 0 {
		return ds, nil
	}
	members := make([]string, len(ds))
	for i, d := range ds {
		members[i] = d.SessionID
	}
	ids, err := r.idsOf(ctx, members)
	if err != nil {
		return nil, err
	}
	kept := ds[:0]
	for i, d := range ds {
		if ids[i] != "" { // gone since it was listed
			d.SessionID = ids[i]
			kept = append(kept, d)
		}
	}
	return kept, nil
}

// Nodes implements Store: SMEMBERS of every shard's node registry, in
// one pipeline.
func (r *RedisStore) Nodes(ctx context.Context) ([]string, error) {
	if r.isClosed() {
		return nil, fmt.Errorf("persist: list nodes: %w", ErrClosed)
	}
	shards := r.shards()
	cmds := make([]*redis.StringSliceCmd, len(shards))
	pipe := r.c.Pipeline()
	for i, sh := range shards {
		cmds[i] = pipe.SMembers(ctx, sh.nodes())
	}
	_, _ = pipe.Exec(ctx)
	set := make(map[string]bool)
	for _, c := range cmds {
		ns, err := c.Result()
		if err != nil {
			return nil, fmt.Errorf("persist: list nodes: %w", err)
		}
		for _, n := range ns {
			set[n] = true
		}
	}
	nodes := make([]string, 0, len(set))
	for n := range set {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	return nodes, nil
}

// Sweep drops the index entries whose records expired, for every
// registered node (the walk of ListNode, a page of RedisOptions.PageSize
// entries per call, which also unregisters a node from the shards where
// its index is gone). It returns how many index entries it dropped. The
// store runs it every RedisOptions.SweepInterval; call it to run it now.
func (r *RedisStore) Sweep(ctx context.Context) (dropped int, err error) {
	nodes, err := r.Nodes(ctx)
	if err != nil {
		return 0, fmt.Errorf("persist: sweep: %w", err)
	}
	for _, node := range nodes {
		_, n, err := r.indexed(ctx, node, false)
		dropped += n
		if err != nil {
			return dropped, fmt.Errorf("persist: sweep node %s: %w", node, err)
		}
	}
	return dropped, nil
}

func (r *RedisStore) sweeper() {
	defer r.wg.Done()
	t := time.NewTicker(r.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), r.opts.SweepInterval)
			_, err := r.Sweep(ctx)
			cancel()
			if err != nil && r.opts.OnSweepError != nil {
				r.opts.OnSweepError(err)
			}
		}
	}
}

func toAny(ss []string) []any {
	a := make([]any, len(ss))
	for i, s := range ss {
		a[i] = s
	}
	return a
}

// RedisStats count a RedisStore's writes.
type RedisStats struct {
	// Saves is how many Saves were sent to Redis.
	Saves uint64
	// Batches is how many pipelined round trips sent them: Saves/Batches
	// is the mean group-commit batch size.
	Batches uint64
	// Bytes is the size of the records those Saves sent, envelope
	// included: Bytes/Saves is the mean checkpoint size.
	Bytes uint64
	// Retries is how many Saves were sent again after a connection or
	// cluster error (RedisOptions.RetryFor).
	Retries uint64
}

// Stats returns the store's counters.
func (r *RedisStore) Stats() RedisStats {
	return RedisStats{Saves: r.saves.Load(), Batches: r.batches.Load(), Bytes: r.bytes.Load(), Retries: r.retries.Load()}
}

// Close implements Store: it waits for the committers to send the Saves
// already queued, then closes the client.
func (r *RedisStore) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.stop)
	if r.queue != nil {
		close(r.queue)
	}
	r.mu.Unlock()
	r.wg.Wait()
	return r.c.Close()
}
