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
	nodes   map[string]map[string]struct{} // node -> session ids
	saves   int                            // since the last sweep
}

type memEntry struct {
	value   []byte
	expires time.Time
}

// sweepEvery is how many Saves trigger a sweep of expired records, so
// that records nobody reads again do not accumulate.
const sweepEvery = 4096

var (
	_ Store   = (*MemoryStore)(nil)
	_ Expirer = (*MemoryStore)(nil)
)

// NewMemory returns an empty MemoryStore. Options with a negative TTL are
// treated as the default.
func NewMemory(opts MemoryOptions) *MemoryStore {
	m := &MemoryStore{
		ttl:     opts.TTL,
		now:     opts.Now,
		records: make(map[string]memEntry),
		nodes:   make(map[string]map[string]struct{}),
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
	if rec.Seq > 0 {
		if old, ok := m.get(rec.SessionID, now); ok {
			if seq, ok := recordSeq(old); ok && seq > rec.Seq {
				return stale(rec.SessionID, rec.Seq, seq)
			}
		}
	}
	m.put(rec.Node, rec.SessionID, b, now)
	if m.saves++; m.saves >= sweepEvery {
		m.sweep(now)
	}
	return nil
}

// TTL implements Expirer: MemoryOptions.TTL.
func (m *MemoryStore) TTL() time.Duration { return m.ttl }

// Touch implements Expirer: the live records of sessionIDs expire TTL
// from now, and the sessions are in node's index. A MemoryStore's
// indexes and registry do not expire (an index lists the live records
// saved or touched under its node), and it adds no session without a
// record to an index.
func (m *MemoryStore) Touch(ctx context.Context, node string, sessionIDs []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("persist: touch node %s: %w", node, ErrClosed)
	}
	now := m.now()
	var errs []error
	for _, id := range sessionIDs {
		b, ok := m.get(id, now)
		if !ok {
			errs = append(errs, &SessionError{SessionID: id, Err: ErrNotFound})
			continue
		}
		m.put(node, id, b, now)
	}
	return errors.Join(errs...)
}

// SaveRaw stores value as the record of sessionID, indexed under node,
// without encoding it: for tests of how readers handle damaged records.
func (m *MemoryStore) SaveRaw(node, sessionID string, value []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(node, sessionID, append([]byte(nil), value...), m.now())
}

func (m *MemoryStore) put(node, sessionID string, value []byte, now time.Time) {
	m.records[sessionID] = memEntry{value: value, expires: now.Add(m.ttl)}
	idx := m.nodes[node]
	if idx == nil {
		idx = make(map[string]struct{})
		m.nodes[node] = idx
	}
	idx[sessionID] = struct{}{}
}

// get returns the live record of sessionID, dropping it if it expired.
// m.mu held.
func (m *MemoryStore) get(sessionID string, now time.Time) ([]byte, bool) {
	e, ok := m.records[sessionID]
	if !ok {
		return nil, false
	}
	if !now.Before(e.expires) {
		delete(m.records, sessionID)
		return nil, false
	}
	return e.value, true
}

// sweep drops expired records and the index entries without a record.
// m.mu held.
func (m *MemoryStore) sweep(now time.Time) {
	m.saves = 0
	for id, e := range m.records {
		if !now.Before(e.expires) {
			delete(m.records, id)
		}
	}
	for node, idx := range m.nodes {
		for id := range idx {
			if _, ok := m.records[id]; !ok {
				delete(idx, id)
			}
		}
		if len(idx) == 0 {
			delete(m.nodes, node)
		}
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
	b, ok := m.get(sessionID, m.now())
	m.mu.Unlock()
	if !ok {
		return nil, notFound(sessionID)
	}
	// b is never modified in place (Save replaces it), and decodeRecord
	// copies what it returns.
	return decodeRecord(sessionID, b)
}

// Delete implements Store.
func (m *MemoryStore) Delete(ctx context.Context, node, sessionID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("persist: delete session %s: %w", sessionID, ErrClosed)
	}
	delete(m.records, sessionID)
	if idx := m.nodes[node]; idx != nil {
		delete(idx, sessionID)
		if len(idx) == 0 {
			delete(m.nodes, node)
		}
	}
	return nil
}

// Unlist implements Store.
func (m *MemoryStore) Unlist(ctx context.Context, node, sessionID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("persist: unlist session %s: %w", sessionID, ErrClosed)
	}
	if idx := m.nodes[node]; idx != nil {
		delete(idx, sessionID)
		if len(idx) == 0 {
			delete(m.nodes, node)
		}
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
		if _, ok := m.get(id, now); !ok {
			delete(idx, id)
			continue
		}
		ids = append(ids, id)
	}
	if idx != nil && len(idx) == 0 {
		delete(m.nodes, node)
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
	return nil
}
