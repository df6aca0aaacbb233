package persist

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
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
	// Sealer encrypts records at rest (see NewSealer; persist.Open makes
	// one from the encryption-* options).
	// default: nil, records in clear
	Sealer *Sealer
	// KeyHash, when set (32 bytes), hashes session ids in keys and node
	// indexes: HMAC-SHA-256 under KeyHash (see keys.go).
	// default: nil, session ids in clear
	KeyHash []byte
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
// Keys: a session's record is the string ORS:<cluster>:session:{<id>},
// whose hash tag puts everything of one session in one cluster slot; a
// node's index is the set ORS:<cluster>:node:{<node>}; the set
// ORS:<cluster>:nodes registers the nodes that have an index (with
// RedisOptions.KeyHash, an HMAC of the id replaces it in the record's key
// and in the index: keys.go). All carry
// the TTL, refreshed by every Save and Touch. No command used needs
// MULTI, scripts touch one key, and pipelines are split by node (go-redis
// follows MOVED and ASK redirections, so slot migrations are transparent).
//
// A Save is a script on the record's key (write it with PX unless the
// stored record has a higher Seq), SADD and PEXPIRE on the index. With
// group commit (the default) Saves from many goroutines are coalesced by
// a few committer goroutines into pipelined round trips, one SADD per node
// and batch; each Save still returns its own result.
type RedisStore struct {
	c    redis.UniversalClient
	opts RedisOptions

	// queue feeds the committers; mu guards sends against Close.
	mu      sync.RWMutex
	closed  bool
	queue   chan *saveReq
	wg      sync.WaitGroup
	saves   atomic.Uint64
	batches atomic.Uint64
	bytes   atomic.Uint64
	stop    chan struct{} // closed by Close: ends the sweeper
}

var (
	_ Store   = (*RedisStore)(nil)
	_ Expirer = (*RedisStore)(nil)
)

type saveReq struct {
	ctx   context.Context
	id    string
	node  string
	seq   uint64
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
	r := &RedisStore{c: client, opts: opts, stop: make(chan struct{})}
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
// ORS:<cluster>:session:{<id>}.
func (r *RedisStore) SessionKey(sessionID string) string {
	return r.memberKey(r.member(sessionID))
}

// NodeKey returns the key of a node's index: ORS:<cluster>:node:{<node>}.
func (r *RedisStore) NodeKey(node string) string {
	return "ORS:" + r.opts.Cluster + ":node:{" + node + "}"
}

// NodesKey returns the key of the registry of nodes that have an index:
// ORS:<cluster>:nodes.
func (r *RedisStore) NodesKey() string {
	return "ORS:" + r.opts.Cluster + ":nodes"
}

// saveScript writes the record in KEYS[1] (ARGV[1], with PX ARGV[2])
// unless the stored record has a higher Seq than ARGV[3] (8 bytes, big
// endian, as in the envelope header; all zero disables the check). It
// returns 0 when it wrote, the stored Seq's 8 bytes when it refused.
// Comparing the bytes, not numbers, keeps all 64 bits exact.
var saveScript = newScript(`
local new = ARGV[3]
if new ~= string.rep('\0', 8) then
  local h = redis.call('GETRANGE', KEYS[1], 0, 13)
  if string.len(h) == 14 and string.sub(h, 1, 4) == 'ORSR' and string.byte(h, 5) == 1 then
    local cur = string.sub(h, 7, 14)
    for i = 1, 8 do
      local a, b = string.byte(cur, i), string.byte(new, i)
      if a > b then return cur end
      if a < b then break end
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 0
`)

// Save implements Store.
func (r *RedisStore) Save(ctx context.Context, rec *Record) error {
	b, err := prepareSave(ctx, rec)
	if err != nil {
		return err
	}
	b = r.opts.Sealer.seal(r.SessionKey(rec.SessionID), b)
	q := &saveReq{ctx: ctx, id: rec.SessionID, node: rec.Node, seq: rec.Seq, value: b, done: make(chan error, 1)}
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return fmt.Errorf("persist: save session %s: %w", rec.SessionID, ErrClosed)
	}
	if r.queue == nil {
		r.mu.RUnlock()
		r.saves.Add(1)
		r.batches.Add(1)
		r.bytes.Add(uint64(len(b)))
		return r.write(ctx, []*saveReq{q})[0]
	}
	select {
	case r.queue <- q:
		r.mu.RUnlock()
	case <-ctx.Done():
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
			continue
		}
		r.saves.Add(uint64(len(live)))
		r.batches.Add(1)
		for _, q := range live {
			r.bytes.Add(uint64(len(q.value)))
		}
		// The batch serves many callers: no one caller's cancellation
		// stops it; the client's timeouts bound it.
		for i, err := range r.write(context.Background(), live) {
			live[i].done <- err
		}
		clear(batch) // let the records be collected
	}
}

// write sends a batch of Saves in one pipeline and returns each one's
// error.
func (r *RedisStore) write(ctx context.Context, reqs []*saveReq) []error {
	ttl := r.opts.TTL
	ttlMs := ttl.Milliseconds()
	seqArg := func(q *saveReq) []byte {
		return binary.BigEndian.AppendUint64(nil, q.seq)
	}
	type index struct {
		add *redis.IntCmd
		exp *redis.BoolCmd
	}
	evals := make([]*redis.Cmd, len(reqs))
	idx := make(map[string]*index)
	members := make(map[string][]any)
	var order []string
	for _, q := range reqs {
		if _, ok := members[q.node]; !ok {
			order = append(order, q.node)
		}
		members[q.node] = append(members[q.node], r.member(q.id))
	}
	pipe := r.c.Pipeline()
	for i, q := range reqs {
		evals[i] = saveScript.EvalSha(ctx, pipe, []string{r.SessionKey(q.id)}, q.value, ttlMs, seqArg(q))
	}
	for _, node := range order {
		key := r.NodeKey(node)
		idx[node] = &index{add: pipe.SAdd(ctx, key, members[node]...), exp: pipe.PExpire(ctx, key, ttl)}
	}
	reg := pipe.SAdd(ctx, r.NodesKey(), toAny(order)...)
	regExp := pipe.PExpire(ctx, r.NodesKey(), ttl)
	_, _ = pipe.Exec(ctx) // each command's error is looked at below

	// A node that has not seen the script yet (a new master, a restarted
	// one, the target of a migration) answers NOSCRIPT: send the script.
	var retry []int
	for i, c := range evals {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		pipe := r.c.Pipeline()
		for _, i := range retry {
			q := reqs[i]
			evals[i] = saveScript.Eval(ctx, pipe, []string{r.SessionKey(q.id)}, q.value, ttlMs, seqArg(q))
		}
		_, _ = pipe.Exec(ctx)
	}

	errs := make([]error, len(reqs))
	for i, q := range reqs {
		v, err := evals[i].Result()
		if err != nil {
			errs[i] = fmt.Errorf("persist: save session %s: %w", q.id, err)
			continue
		}
		if s, ok := v.(string); ok && len(s) == 8 {
			errs[i] = stale(q.id, q.seq, binary.BigEndian.Uint64([]byte(s)))
			continue
		}
		if n, ok := v.(int64); !ok || n != 0 {
			errs[i] = fmt.Errorf("persist: save session %s: unexpected script reply %v", q.id, v)
			continue
		}
		ix := idx[q.node]
		if err := cmp.Or(reg.Err(), regExp.Err()); err != nil {
			errs[i] = fmt.Errorf("persist: save session %s: node registry: %w", q.id, err)
		} else if err := ix.add.Err(); err != nil {
			errs[i] = fmt.Errorf("persist: save session %s: index of node %s: %w", q.id, q.node, err)
		} else if err := ix.exp.Err(); err != nil {
			errs[i] = fmt.Errorf("persist: save session %s: index of node %s: %w", q.id, q.node, err)
		}
	}
	return errs
}

// TTL implements Expirer: RedisOptions.TTL.
func (r *RedisStore) TTL() time.Duration { return r.opts.TTL }

// Touch implements Expirer in one pipelined round trip, from the caller's
// goroutine (not through the group committer): PEXPIRE of each record
// (answering 0 for a record that no longer exists), SADD of the sessions
// and PEXPIRE of node's index, SADD of node and PEXPIRE of the registry.
// In Redis Cluster the pipeline is split by slot owner, as Save's is.
// The index entries it adds for sessions without a record are dropped by
// the next ListNode or Sweep.
func (r *RedisStore) Touch(ctx context.Context, node string, sessionIDs []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.isClosed() {
		return fmt.Errorf("persist: touch node %s: %w", node, ErrClosed)
	}
	if len(sessionIDs) == 0 {
		return nil
	}
	ttl := r.opts.TTL
	exps := make([]*redis.BoolCmd, len(sessionIDs))
	pipe := r.c.Pipeline()
	for i, id := range sessionIDs {
		exps[i] = pipe.PExpire(ctx, r.SessionKey(id), ttl)
	}
	key := r.NodeKey(node)
	add, addExp := pipe.SAdd(ctx, key, toAny(r.members(sessionIDs))...), pipe.PExpire(ctx, key, ttl)
	reg, regExp := pipe.SAdd(ctx, r.NodesKey(), node), pipe.PExpire(ctx, r.NodesKey(), ttl)
	_, _ = pipe.Exec(ctx) // each command's error is looked at below

	var errs []error
	for i, id := range sessionIDs {
		switch ok, err := exps[i].Result(); {
		case err != nil:
			errs = append(errs, &SessionError{SessionID: id, Err: fmt.Errorf("persist: touch: %w", err)})
		case !ok:
			errs = append(errs, &SessionError{SessionID: id, Err: ErrNotFound})
		}
	}
	if err := cmp.Or(add.Err(), addExp.Err()); err != nil {
		errs = append(errs, fmt.Errorf("persist: touch: index of node %s: %w", node, err))
	}
	if err := cmp.Or(reg.Err(), regExp.Err()); err != nil {
		errs = append(errs, fmt.Errorf("persist: touch: node registry: %w", err))
	}
	return errors.Join(errs...)
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
	if b, err = r.opts.Sealer.open(r.SessionKey(sessionID), sessionID, b); err != nil {
		return nil, err
	}
	return decodeRecord(sessionID, b)
}

// Delete implements Store: DEL of the record and SREM from the index, in
// one pipeline.
func (r *RedisStore) Delete(ctx context.Context, node, sessionID string) error {
	if r.isClosed() {
		return fmt.Errorf("persist: delete session %s: %w", sessionID, ErrClosed)
	}
	cmds, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.SessionKey(sessionID))
		p.SRem(ctx, r.NodeKey(node), r.member(sessionID))
		return nil
	})
	if err == nil {
		for _, c := range cmds {
			if err = c.Err(); err != nil {
				break
			}
		}
	}
	if err != nil {
		return fmt.Errorf("persist: delete session %s: %w", sessionID, err)
	}
	return nil
}

// Unlist implements Store.
func (r *RedisStore) Unlist(ctx context.Context, node, sessionID string) error {
	if r.isClosed() {
		return fmt.Errorf("persist: unlist session %s: %w", sessionID, ErrClosed)
	}
	if err := r.c.SRem(ctx, r.NodeKey(node), r.member(sessionID)).Err(); err != nil {
		return fmt.Errorf("persist: unlist session %s from node %s: %w", sessionID, node, err)
	}
	return nil
}

// listChunk bounds the EXISTS commands of one ListNode pipeline.
const listChunk = 1000

// ListNode implements Store: SMEMBERS of the node's index, EXISTS of each
// member's record (pipelined), and SREM of the members without one. A
// Save racing with that SREM could lose its index entry: the members
// removed are checked again and put back if their record reappeared.
func (r *RedisStore) ListNode(ctx context.Context, node string) ([]string, error) {
	if r.isClosed() {
		return nil, fmt.Errorf("persist: list node %s: %w", node, ErrClosed)
	}
	key := r.NodeKey(node)
	ids, err := r.c.SMembers(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("persist: list node %s: %w", node, err)
	}
	live, gone, err := r.exists(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("persist: list node %s: %w", node, err)
	}
	if len(gone) > 0 {
		if err := r.c.SRem(ctx, key, toAny(gone)...).Err(); err != nil {
			return nil, fmt.Errorf("persist: list node %s: dropping %d entries without a record: %w", node, len(gone), err)
		}
		back, _, err := r.exists(ctx, gone)
		if err != nil {
			return nil, fmt.Errorf("persist: list node %s: %w", node, err)
		}
		if len(back) > 0 {
			if err := r.c.SAdd(ctx, key, toAny(back)...).Err(); err != nil {
				return nil, fmt.Errorf("persist: list node %s: %w", node, err)
			}
			live = append(live, back...)
		}
	}
	if live, err = r.idsOf(ctx, live); err != nil {
		return nil, fmt.Errorf("persist: list node %s: %w", node, err)
	}
	sort.Strings(live)
	return live, nil
}

// Nodes implements Store: SMEMBERS of the node registry.
func (r *RedisStore) Nodes(ctx context.Context) ([]string, error) {
	if r.isClosed() {
		return nil, fmt.Errorf("persist: list nodes: %w", ErrClosed)
	}
	nodes, err := r.c.SMembers(ctx, r.NodesKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("persist: list nodes: %w", err)
	}
	sort.Strings(nodes)
	return nodes, nil
}

// Sweep drops the index entries whose records expired or were deleted,
// for every registered node (ListNode of each), and unregisters the nodes
// left without an index. It returns how many index entries it dropped.
// The store runs it every RedisOptions.SweepInterval; call it to run it
// now.
func (r *RedisStore) Sweep(ctx context.Context) (dropped int, err error) {
	nodes, err := r.Nodes(ctx)
	if err != nil {
		return 0, fmt.Errorf("persist: sweep: %w", err)
	}
	for _, node := range nodes {
		before, err := r.c.SCard(ctx, r.NodeKey(node)).Result()
		if err != nil {
			return dropped, fmt.Errorf("persist: sweep node %s: %w", node, err)
		}
		live, err := r.ListNode(ctx, node)
		if err != nil {
			return dropped, fmt.Errorf("persist: sweep: %w", err)
		}
		dropped += max(0, int(before)-len(live))
		if len(live) > 0 {
			continue
		}
		if err := r.unregister(ctx, node); err != nil {
			return dropped, fmt.Errorf("persist: sweep: unregister node %s: %w", node, err)
		}
	}
	return dropped, nil
}

// unregister takes node out of the registry if its index is gone (an
// empty set does not exist in Redis). The two keys sit in different
// cluster slots, so this cannot be one script: a Save that recreated the
// index between the check and the SREM is caught by checking again, and
// the node goes back in.
func (r *RedisStore) unregister(ctx context.Context, node string) error {
	key := r.NodeKey(node)
	if n, err := r.c.Exists(ctx, key).Result(); err != nil || n > 0 {
		return err
	}
	if err := r.c.SRem(ctx, r.NodesKey(), node).Err(); err != nil {
		return err
	}
	if n, err := r.c.Exists(ctx, key).Result(); err != nil || n == 0 {
		return err
	}
	return r.c.SAdd(ctx, r.NodesKey(), node).Err()
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

// exists splits ids into those that have a record and those that do not.
func (r *RedisStore) exists(ctx context.Context, ids []string) (live, gone []string, err error) {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), listChunk)]
		ids = ids[len(chunk):]
		cmds := make([]*redis.IntCmd, len(chunk))
		if _, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, id := range chunk {
				cmds[i] = p.Exists(ctx, r.memberKey(id))
			}
			return nil
		}); err != nil {
			return nil, nil, err
		}
		for i, id := range chunk {
			if cmds[i].Val() > 0 {
				live = append(live, id)
			} else {
				gone = append(gone, id)
			}
		}
	}
	return live, gone, nil
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
}

// Stats returns the store's counters.
func (r *RedisStore) Stats() RedisStats {
	return RedisStats{Saves: r.saves.Load(), Batches: r.batches.Load(), Bytes: r.bytes.Load()}
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
