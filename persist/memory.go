package persist

import (
	"context"
	"errors"
	"fmt"
	"sort"
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
// goroutine but not of the process. It keeps records in the same envelope
// as RedisStore, so what Load returns has been through the same encoding
// and checks. Expiry is driven by MemoryOptions.Now and applied lazily.
//
// The zero MemoryStore is not usable; call NewMemory.
type MemoryStore struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	closed  bool
	records map[string]memEntry            // by session id
	nodes   map[string]map[string]struct{} // node -> session ids it owns
	epochs  map[string]uint64              // node -> epoch (Fencer)
	leases  map[string]memLease            // Leaser
	// volatile: node -> unpersisted session -> type (Volatile)
	volatile map[string]map[string]string
	saves    int // since the last sweep
}

type memEntry struct {
	value   []byte
	expires time.Time
	node    string    // owner: the index holding it
	due     time.Time // Record.Due
}

// sweepEvery is how many Saves trigger a sweep of expired records, so
// that records nobody reads again do not accumulate.
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
		records: make(map[string]memEntry),
		nodes:   make(map[string]map[string]struct{}),
		epochs:  make(map[string]uint64),
	}
	if m.ttl <= 0 {
		m.ttl = DefaultTTL
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m
}

// Save implements Store.
func (m *MemoryStore) Save(ctx context.Context, rec *Record) error {
	b, err := prepareSave(ctx, rec)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("persist: save session %s: %w", rec.SessionID, ErrClosed)
	}
	now := m.now()
	if e := m.epochs[rec.Node]; e > rec.Epoch {
		return fenced(rec.SessionID, Writer{rec.Node, rec.Epoch}, e)
	}
	if rec.Seq > 0 {
		if old, ok := m.get(rec.SessionID, now); ok {
			if seq, ok := recordSeq(old.value); ok && seq > rec.Seq {
				return stale(rec.SessionID, rec.Seq, seq)
			}
		}
	}
	m.put(rec.Node, rec.SessionID, b, rec.Due, now)
	if m.saves++; m.saves >= sweepEvery {
		m.sweep(now)
	}
	return nil
}

// TTL implements Expirer: MemoryOptions.TTL.
func (m *MemoryStore) TTL() time.Duration { return m.ttl }

// Touch implements Expirer: the live records of sessionIDs that w.Node
// owns expire TTL from now. A MemoryStore's indexes and registry do not
// expire (an index lists the live records its node owns).
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
	now := m.now()
	var errs []error
	for _, id := range sessionIDs {
		e, ok := m.get(id, now)
		switch {
		case !ok:
			errs = append(errs, &SessionError{SessionID: id, Err: ErrNotFound})
		case e.node != w.Node:
			errs = append(errs, &SessionError{SessionID: id, Err: fmt.Errorf("node %s owns the record, not %s: %w", e.node, w.Node, ErrFenced)})
		default:
			e.expires = now.Add(m.ttl)
			m.records[id] = e
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

// DueBefore implements Scheduler.
func (m *MemoryStore) DueBefore(ctx context.Context, node string, t time.Time) ([]DueSession, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("persist: due sessions of node %s: %w", node, ErrClosed)
	}
	now := m.now()
	var out []DueSession
	for id := range m.nodes[node] {
		e, ok := m.get(id, now)
		if ok && !e.due.IsZero() && e.due.Before(t) {
			out = append(out, DueSession{SessionID: id, Due: e.due})
		}
	}
	sortDue(out)
	return out, nil
}

// sortDue sorts by due time, then by id.
func sortDue(ds []DueSession) {
	sort.Slice(ds, func(i, j int) bool {
		if c := ds[i].Due.Compare(ds[j].Due); c != 0 {
			return c < 0
		}
		return ds[i].SessionID < ds[j].SessionID
	})
}

// SaveRaw stores value as the record of sessionID, indexed under node,
// without encoding it: for tests of how readers handle damaged records.
func (m *MemoryStore) SaveRaw(node, sessionID string, value []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(node, sessionID, append([]byte(nil), value...), time.Time{}, m.now())
}

// put writes the record of sessionID and moves its index entry to node.
// m.mu held.
func (m *MemoryStore) put(node, sessionID string, value []byte, due, now time.Time) {
	if old, ok := m.records[sessionID]; ok && old.node != node {
		m.unindex(old.node, sessionID)
	}
	m.records[sessionID] = memEntry{value: value, expires: now.Add(m.ttl), node: node, due: due}
	idx := m.nodes[node]
	if idx == nil {
		idx = make(map[string]struct{})
		m.nodes[node] = idx
	}
	idx[sessionID] = struct{}{}
}

// unindex takes sessionID out of node's index. m.mu held.
func (m *MemoryStore) unindex(node, sessionID string) {
	if idx := m.nodes[node]; idx != nil {
		delete(idx, sessionID)
		if len(idx) == 0 {
			delete(m.nodes, node)
		}
	}
}

// get returns the live record of sessionID, dropping it (and its index
// entry) if it expired. m.mu held.
func (m *MemoryStore) get(sessionID string, now time.Time) (memEntry, bool) {
	e, ok := m.records[sessionID]
	if !ok {
		return memEntry{}, false
	}
	if !now.Before(e.expires) {
		delete(m.records, sessionID)
		m.unindex(e.node, sessionID)
		return memEntry{}, false
	}
	return e, true
}

// sweep drops expired records and the index entries without a record.
// m.mu held.
func (m *MemoryStore) sweep(now time.Time) {
	m.saves = 0
	for id := range m.records {
		m.get(id, now) // drops it if it expired
	}
}

// Load implements Store.
func (m *MemoryStore) Load(ctx context.Context, sessionID string) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, fmt.Errorf("persist: load session %s: %w", sessionID, ErrClosed)
	}
	e, ok := m.get(sessionID, m.now())
	m.mu.Unlock()
	if !ok {
		return nil, notFound(sessionID)
	}
	// e.value is never modified in place (Save replaces it), and
	// decodeRecord copies what it returns.
	return decodeRecord(sessionID, e.value)
}

// LoadMany implements Loader.
func (m *MemoryStore) LoadMany(ctx context.Context, sessionIDs []string) ([]*Record, []error) {
	recs, errs := make([]*Record, len(sessionIDs)), make([]error, len(sessionIDs))
	for i, id := range sessionIDs {
		recs[i], errs[i] = m.Load(ctx, id)
	}
	return recs, errs
}

// MoveMany implements Mover, under one lock.
func (m *MemoryStore) MoveMany(ctx context.Context, moves []Move) []error {
	errs := make([]error, len(moves))
	vals := make([][]byte, len(moves))
	for i, mv := range moves {
		vals[i], errs[i] = prepareSave(ctx, mv.Record)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
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
		old, ok := m.get(rec.SessionID, now)
		if !ok {
			errs[i] = notFound(rec.SessionID)
			continue
		}
		if old.node != mv.From {
			errs[i] = moved(rec.SessionID, mv.From, mv.Seq, "node "+old.node+" owns it")
			continue
		}
		if seq, _ := recordSeq(old.value); seq != mv.Seq {
			errs[i] = moved(rec.SessionID, mv.From, mv.Seq, fmt.Sprintf("the store holds seq %d", seq))
			continue
		}
		m.put(rec.Node, rec.SessionID, vals[i], rec.Due, now)
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
	if old, ok := m.records[sessionID]; ok {
		delete(m.records, sessionID)
		m.unindex(old.node, sessionID)
	}
	return nil
}

// ListNode implements Store.
func (m *MemoryStore) ListNode(ctx context.Context, node string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("persist: list node %s: %w", node, ErrClosed)
	}
	now := m.now()
	idx := m.nodes[node]
	ids := make([]string, 0, len(idx))
	for id := range idx {
		if _, ok := m.get(id, now); ok { // else get dropped it
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

// Nodes implements Store.
func (m *MemoryStore) Nodes(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("persist: list nodes: %w", ErrClosed)
	}
	m.sweep(m.now())
	nodes := make([]string, 0, len(m.nodes))
	for node := range m.nodes {
		nodes = append(nodes, node)
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
	m.nodes = nil
	m.epochs = nil
	return nil
}
