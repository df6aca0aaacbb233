package persist

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemoryOptions configure a MemoryStore. The zero value is usable.
type MemoryOptions struct {
	// TTL is how long a record lives after its last Save.
	// default: DefaultTTL
	TTL time.Duration
	// Now tells the time, for expiry; tests pass a manual clock's.
	// default: time.Now
	Now func() time.Time
}

// MemoryStore is the embedded, in-memory Store and the reference
// implementation of its semantics: records survive the end of a session's
// goroutine but not of the process. Expiry is driven by MemoryOptions.Now
// and applied lazily.
//
// Unlike RedisStore it keeps records natively, not in the envelope: the
// record never crosses a wire or a disk, so there is no torn write or bit
// flip for a checksum to catch, and encoding it on every Save would cost
// more than the rest of the Save. Each session holds its own copy of
// Record.Data, rewritten in place by the next Save when it fits; the
// metadata (Node, Type, Doc, DocHash) is shared between the sessions that
// have the same; times are compact integers. Load returns the record as
// decoding its envelope would (as RedisStore does): Created and Updated
// at millisecond precision, in UTC; empty Data as nil. DueBefore returns
// Due as saved, to the nanosecond, in UTC. SaveRaw still stores bytes
// that Load decodes as an envelope, for tests of damaged records.
//
// The zero MemoryStore is not usable; call NewMemory.
type MemoryStore struct {
	ttl   time.Duration
	now   func() time.Time
	clock bool      // now is time.Now (MemoryOptions.Now unset)
	base  time.Time // expiries are kept as offsets from it

	mu      sync.Mutex
	closed  bool
	records map[string]*memEntry // by session id (the caller's string)
	metas   map[memMeta]*memShared
	epochs  map[string]uint64   // node -> epoch (Fencer)
	leases  map[string]memLease // Leaser
	// volatile: node -> unpersisted session -> type (Volatile)
	volatile map[string]map[string]string
	saves    int // since the last sweep
	// oversized is the queue of entries whose buffer is larger than
	// their record needs (setData), from oversizedHead on.
	oversized     []memPending
	oversizedHead int
}

// memEntry is a session's record. Its node is meta's: ListNode and
// DueBefore scan the records rather than keep a per-node index, which
// would cost a map entry per session for calls that only recovery and
// switchover make.
type memEntry struct {
	// data is Record.Data, owned by the store and rewritten in place; or,
	// with meta.raw, the bytes SaveRaw stored, which Load decodes.
	data []byte
	meta *memShared
	seq  uint64
	// created and updated are Record.Created and Updated in Unix
	// milliseconds (unixMilli), the precision RedisStore keeps.
	created, updated int64
	expires          time.Duration // since MemoryStore.base
	// due is Record.Due, exactly: Unix seconds and nanoseconds (the zero
	// time included, which means none).
	dueSec  int64
	dueNsec int32
	queued  bool // in MemoryStore.oversized
}

// memMeta is the part of a record that many sessions share.
type memMeta struct {
	node, typ, doc string
	hash           [32]byte
	raw            bool // SaveRaw's: data is an envelope for Load to decode
}

// memShared is an interned memMeta and how many records use it.
type memShared struct {
	memMeta
	refs int
}

// sweepEvery is how many Saves (at least) trigger a sweep of expired
// records, so that records nobody reads again do not accumulate; a store
// holding more records sweeps after as many Saves, so that sweeping costs
// a bounded amount per Save.
const sweepEvery = 4096

var (
	_ Store     = (*MemoryStore)(nil)
	_ Expirer   = (*MemoryStore)(nil)
	_ Fencer    = (*MemoryStore)(nil)
	_ Scheduler = (*MemoryStore)(nil)
	_ Loader    = (*MemoryStore)(nil)
	_ Mover     = (*MemoryStore)(nil)
)

// NewMemory returns an empty MemoryStore. Options with a negative TTL are
// treated as the default.
func NewMemory(opts MemoryOptions) *MemoryStore {
	m := &MemoryStore{
		ttl:     opts.TTL,
		now:     opts.Now,
		records: make(map[string]*memEntry),
		metas:   make(map[memMeta]*memShared),
		epochs:  make(map[string]uint64),
	}
	if m.ttl <= 0 {
		m.ttl = DefaultTTL
	}
	m.clock = opts.Now == nil
	if m.clock {
		m.now = time.Now
	}
	m.base = m.now()
	return m
}

// since is t as an offset from m.base, saturated (time.Time.Sub).
func (m *MemoryStore) since(t time.Time) time.Duration { return t.Sub(m.base) }

// elapsed is the time now as an offset from m.base. On the default clock
// it reads only the monotonic clock (time.Since), half the cost of
// time.Now, which Save would otherwise spend on the wall clock.
func (m *MemoryStore) elapsed() time.Duration {
	if m.clock {
		return time.Since(m.base)
	}
	return m.since(m.now())
}

// Save implements Store. It copies rec.Data into the session's buffer,
// under the lock; in the steady state (a session saved again with Data
// of about the same size) it allocates nothing.
func (m *MemoryStore) Save(ctx context.Context, rec *Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkRecord(rec); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("persist: save session %s: %w", rec.SessionID, ErrClosed)
	}
	if e := m.epochs[rec.Node]; e > rec.Epoch {
		return fenced(rec.SessionID, Writer{rec.Node, rec.Epoch}, e)
	}
	now := m.elapsed()
	old := m.get(rec.SessionID, now)
	if rec.Seq > 0 && old != nil {
		if seq, ok := old.storedSeq(); ok && seq > rec.Seq {
			return stale(rec.SessionID, rec.Seq, seq)
		}
	}
	m.put(old, rec, now)
	m.compact(now)
	if m.saves++; m.saves >= max(sweepEvery, len(m.records)) {
		m.sweep(now)
	}
	return nil
}

// storedSeq is the Seq of the record e holds, false for raw bytes that do
// not start with an envelope header (as recordSeq).
func (e *memEntry) storedSeq() (uint64, bool) {
	if e.meta.raw {
		return recordSeq(e.data)
	}
	return e.seq, true
}

// put writes rec as the record of its session, into e, the session's live
// entry, or a new one if e is nil. m.mu held.
func (m *MemoryStore) put(e *memEntry, rec *Record, now time.Duration) {
	if e == nil {
		e = &memEntry{}
		m.records[rec.SessionID] = e
	}
	if s := e.meta; s == nil || s.raw || s.node != rec.Node || s.typ != rec.Type || s.doc != rec.Doc || s.hash != rec.DocHash {
		m.setMeta(e, memMeta{node: rec.Node, typ: rec.Type, doc: rec.Doc, hash: rec.DocHash})
	}
	m.setData(e, rec.Data, now)
	e.seq = rec.Seq
	e.created, e.updated = unixMilli(rec.Created), unixMilli(rec.Updated)
	e.expires = now + m.ttl
	e.dueSec, e.dueNsec = rec.Due.Unix(), int32(rec.Due.Nanosecond())
}

// setData copies p into e's buffer. It reuses the buffer when p fits in
// it and fills at least about half of it, so that a session whose
// checkpoints alternate between two sizes (a call going back and forth
// between two states) allocates nothing; a buffer left oversized (more
// than tight allows) is queued, to be cut to size once the session has
// been idle for compactAfter (hibernated sessions keep only what they
// need). Empty p gives nil, as Load returns it. m.mu held.
func (m *MemoryStore) setData(e *memEntry, p []byte, now time.Duration) {
	n, c := len(p), cap(e.data)
	switch {
	case n == 0:
		e.data = e.data[:0]
		if c > 64 {
			e.data = nil
		}
	case n <= c && c <= 2*n+64:
		e.data = append(e.data[:0], p...)
		if !tight(n, c) && !e.queued {
			e.queued = true
			m.oversized = append(m.oversized, memPending{e, now + compactAfter})
		}
	default:
		e.data = append([]byte(nil), p...) // capacity: p's size class
	}
}

// tight reports whether a buffer of capacity c holding n bytes wastes no
// more than what a fresh allocation's size class would, give or take.
func tight(n, c int) bool { return c <= n+n/4+32 }

// compactAfter is how long a session whose buffer is oversized must go
// without a Save (or Touch) before the buffer is cut to size.
const compactAfter = time.Second

// memPending is an entry with an oversized buffer, to be looked at again
// at (since MemoryStore.base).
type memPending struct {
	e  *memEntry
	at time.Duration
}

// compact cuts to size the buffers of the queued entries idle for
// compactAfter, looking at no more than a few, so that a Save pays a
// bounded share of the work. m.mu held.
func (m *MemoryStore) compact(now time.Duration) {
	for range 4 {
		if m.oversizedHead == len(m.oversized) || m.oversized[m.oversizedHead].at > now {
			break
		}
		e := m.oversized[m.oversizedHead].e
		m.oversized[m.oversizedHead] = memPending{}
		m.oversizedHead++
		switch idle := e.expires - m.ttl + compactAfter; {
		case tight(len(e.data), cap(e.data)):
			e.queued = false // written since, or dropped (nil data)
		case idle > now: // written since: look again later
			m.oversized = append(m.oversized, memPending{e, idle})
		default:
			e.data = append([]byte(nil), e.data...)
			e.queued = false
		}
	}
	if h := m.oversizedHead; h > 64 && h*2 > len(m.oversized) {
		m.oversized = append(m.oversized[:0], m.oversized[h:]...)
		m.oversizedHead = 0
	}
}

// setMeta makes e use the interned meta equal to k. m.mu held.
func (m *MemoryStore) setMeta(e *memEntry, k memMeta) {
	m.release(e.meta)
	s := m.metas[k]
	if s == nil {
		// Interned copies, so that a record does not keep a larger
		// string of the caller's alive.
		k.node, k.typ, k.doc = strings.Clone(k.node), strings.Clone(k.typ), strings.Clone(k.doc)
		s = &memShared{memMeta: k}
		m.metas[k] = s
	}
	s.refs++
	e.meta = s
}

// release drops a reference to s (nil: none). m.mu held.
func (m *MemoryStore) release(s *memShared) {
	if s == nil {
		return
	}
	if s.refs--; s.refs == 0 {
		delete(m.metas, s.memMeta)
	}
}

// drop removes the record of sessionID. m.mu held.
func (m *MemoryStore) drop(sessionID string, e *memEntry) {
	delete(m.records, sessionID)
	m.release(e.meta)
	e.data = nil // e may still be queued (compact)
}

// TTL implements Expirer: MemoryOptions.TTL.
func (m *MemoryStore) TTL() time.Duration { return m.ttl }

// Touch implements Expirer: the live records of sessionIDs that w.Node
// owns expire TTL from now. A MemoryStore's node list and registry do not
// expire (they list the live records).
func (m *MemoryStore) Touch(ctx context.Context, w Writer, sessionIDs []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("persist: touch node %s: %w", w.Node, ErrClosed)
	}
	if len(sessionIDs) == 0 {
		return nil
	}
	if e := m.epochs[w.Node]; e > w.Epoch {
		return fmt.Errorf("persist: touch node %s: epoch %d, the store holds epoch %d: %w", w.Node, w.Epoch, e, ErrFenced)
	}
	now := m.elapsed()
	var errs []error
	for _, id := range sessionIDs {
		e := m.get(id, now)
		switch {
		case e == nil:
			errs = append(errs, &SessionError{SessionID: id, Err: ErrNotFound})
		case e.meta.node != w.Node:
			errs = append(errs, &SessionError{SessionID: id, Err: fmt.Errorf("node %s owns the record, not %s: %w", e.meta.node, w.Node, ErrFenced)})
		default:
			e.expires = now + m.ttl
		}
	}
	return errors.Join(errs...)
}

// Promote implements Fencer.
func (m *MemoryStore) Promote(ctx context.Context, node string) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, fmt.Errorf("persist: promote node %s: %w", node, ErrClosed)
	}
	m.epochs[node]++
	return m.epochs[node], nil
}

// Epoch implements Fencer.
func (m *MemoryStore) Epoch(ctx context.Context, node string) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, fmt.Errorf("persist: epoch of node %s: %w", node, ErrClosed)
	}
	return m.epochs[node], nil
}

// DueBefore implements Scheduler. It scans every record (see memEntry).
func (m *MemoryStore) DueBefore(ctx context.Context, node string, t time.Time) ([]DueSession, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("persist: due sessions of node %s: %w", node, ErrClosed)
	}
	now := m.elapsed()
	var out []DueSession
	for id, e := range m.records {
		if e.meta.node != node || m.expired(id, e, now) {
			continue
		}
		if due := e.due(); !due.IsZero() && due.Before(t) {
			out = append(out, DueSession{SessionID: id, Due: due})
		}
	}
	sortDue(out)
	return out, nil
}

// due is Record.Due as saved, in UTC.
func (e *memEntry) due() time.Time {
	if e.dueSec == zeroUnix && e.dueNsec == 0 {
		return time.Time{}
	}
	return time.Unix(e.dueSec, int64(e.dueNsec)).UTC()
}

// zeroUnix is the zero time's Unix seconds: a record without Due.
var zeroUnix = time.Time{}.Unix()

// sortDue sorts by due time, then by id.
func sortDue(ds []DueSession) {
	sort.Slice(ds, func(i, j int) bool {
		if c := ds[i].Due.Compare(ds[j].Due); c != 0 {
			return c < 0
		}
		return ds[i].SessionID < ds[j].SessionID
	})
}

// SaveRaw stores value as the record of sessionID, owned by node,
// without checking it: for tests of how readers handle damaged records.
// Load decodes it as an envelope (decodeRecord), as RedisStore reads
// what it finds under the session's key.
func (m *MemoryStore) SaveRaw(node, sessionID string, value []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	now := m.elapsed()
	e := m.get(sessionID, now)
	if e == nil {
		e = &memEntry{}
		m.records[sessionID] = e
	}
	m.setMeta(e, memMeta{node: node, raw: true})
	*e = memEntry{data: append([]byte(nil), value...), meta: e.meta, expires: now + m.ttl, dueSec: zeroUnix, queued: e.queued}
}

// get returns the live record of sessionID, or nil, dropping it if it
// expired. m.mu held.
func (m *MemoryStore) get(sessionID string, now time.Duration) *memEntry {
	e := m.records[sessionID]
	if e == nil || m.expired(sessionID, e, now) {
		return nil
	}
	return e
}

// expired reports whether e, the record of sessionID, expired, dropping
// it if so. m.mu held.
func (m *MemoryStore) expired(sessionID string, e *memEntry, now time.Duration) bool {
	if now < e.expires {
		return false
	}
	m.drop(sessionID, e)
	return true
}

// sweep drops expired records. m.mu held.
func (m *MemoryStore) sweep(now time.Duration) {
	m.saves = 0
	for id, e := range m.records {
		m.expired(id, e, now) // drops it if it expired
	}
}

// Load implements Store. It copies the record under the lock: the next
// Save rewrites the session's buffer in place.
func (m *MemoryStore) Load(ctx context.Context, sessionID string) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, fmt.Errorf("persist: load session %s: %w", sessionID, ErrClosed)
	}
	rec, raw := m.load(sessionID, m.elapsed())
	m.mu.Unlock()
	if raw != nil {
		return decodeRecordOf(sessionID, raw, true)
	}
	if rec == nil {
		return nil, notFound(sessionID)
	}
	return rec, nil
}

// load returns the record of sessionID, or, for a record SaveRaw stored,
// a copy of its bytes; neither if there is none. m.mu held.
func (m *MemoryStore) load(sessionID string, now time.Duration) (*Record, []byte) {
	e := m.get(sessionID, now)
	switch {
	case e == nil:
		return nil, nil
	case e.meta.raw:
		return nil, append(make([]byte, 0, len(e.data)), e.data...)
	}
	rec := &Record{
		SessionID: sessionID,
		Node:      e.meta.node,
		Type:      e.meta.typ,
		Seq:       e.seq,
		Doc:       e.meta.doc,
		DocHash:   e.meta.hash,
		Created:   fromUnixMilli(e.created),
		Updated:   fromUnixMilli(e.updated),
	}
	if len(e.data) > 0 {
		rec.Data = append([]byte(nil), e.data...)
	}
	return rec, nil
}

// LoadMany implements Loader, under one lock.
func (m *MemoryStore) LoadMany(ctx context.Context, sessionIDs []string) ([]*Record, []error) {
	recs, errs := make([]*Record, len(sessionIDs)), make([]error, len(sessionIDs))
	if err := ctx.Err(); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return recs, errs
	}
	raws := make([][]byte, len(sessionIDs))
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		for i, id := range sessionIDs {
			errs[i] = fmt.Errorf("persist: load session %s: %w", id, ErrClosed)
		}
		return recs, errs
	}
	now := m.elapsed()
	for i, id := range sessionIDs {
		recs[i], raws[i] = m.load(id, now)
	}
	m.mu.Unlock()
	for i, id := range sessionIDs {
		switch {
		case raws[i] != nil:
			recs[i], errs[i] = decodeRecordOf(id, raws[i], true)
		case recs[i] == nil:
			errs[i] = notFound(id)
		}
	}
	return recs, errs
}

// MoveMany implements Mover, under one lock.
func (m *MemoryStore) MoveMany(ctx context.Context, moves []Move) []error {
	errs := make([]error, len(moves))
	for i, mv := range moves {
		if errs[i] = ctx.Err(); errs[i] == nil {
			errs[i] = checkRecord(mv.Record)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.elapsed()
	for i, mv := range moves {
		if errs[i] != nil {
			continue
		}
		rec := mv.Record
		if m.closed {
			errs[i] = fmt.Errorf("persist: move session %s: %w", rec.SessionID, ErrClosed)
			continue
		}
		if e := m.epochs[rec.Node]; e > rec.Epoch {
			errs[i] = fenced(rec.SessionID, Writer{rec.Node, rec.Epoch}, e)
			continue
		}
		old := m.get(rec.SessionID, now)
		if old == nil {
			errs[i] = notFound(rec.SessionID)
			continue
		}
		if old.meta.node != mv.From {
			errs[i] = moved(rec.SessionID, mv.From, mv.Seq, "node "+old.meta.node+" owns it")
			continue
		}
		if seq, _ := old.storedSeq(); seq != mv.Seq {
			errs[i] = moved(rec.SessionID, mv.From, mv.Seq, fmt.Sprintf("the store holds seq %d", seq))
			continue
		}
		m.put(old, rec, now)
	}
	return errs
}

// Delete implements Store.
func (m *MemoryStore) Delete(ctx context.Context, w Writer, sessionID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("persist: delete session %s: %w", sessionID, ErrClosed)
	}
	if e := m.epochs[w.Node]; e > w.Epoch {
		return fenced(sessionID, w, e)
	}
	if e := m.records[sessionID]; e != nil {
		m.drop(sessionID, e)
	}
	return nil
}

// ListNode implements Store. It scans every record (see memEntry).
func (m *MemoryStore) ListNode(ctx context.Context, node string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("persist: list node %s: %w", node, ErrClosed)
	}
	now := m.elapsed()
	n := 0 // the node's records, expired ones included
	for k, s := range m.metas {
		if k.node == node {
			n += s.refs
		}
	}
	ids := make([]string, 0, n)
	for id, e := range m.records {
		if e.meta.node == node && !m.expired(id, e, now) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Nodes implements Store: the nodes of the live records, after a sweep.
func (m *MemoryStore) Nodes(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("persist: list nodes: %w", ErrClosed)
	}
	m.sweep(m.elapsed())
	nodes := []string{}
	for k := range m.metas { // every meta has a live record
		if !slices.Contains(nodes, k.node) {
			nodes = append(nodes, k.node)
		}
	}
	sort.Strings(nodes)
	return nodes, nil
}

// Len returns how many records the store holds, expired ones included
// until they are next read or swept.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.records)
}

// Close implements Store. The records are dropped.
func (m *MemoryStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.records = nil
	m.metas = nil
	m.epochs = nil
	m.oversized, m.oversizedHead = nil, 0
	return nil
}
