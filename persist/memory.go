package persist

import (
	"context"
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
	// Now tells the time, for expiry.
	// default: time.Now
	Now func() time.Time
}

// MemoryStore is the embedded in-memory Store: records survive the loss
// of a session but not of the process. It keeps the same envelope as
// Redis, so what it returns has been through the same encoding.
type MemoryStore struct {
	opts    MemoryOptions
	mu      sync.Mutex
	records map[string]memEntry
	nodes   map[string]map[string]struct{}
}

type memEntry struct {
	value   []byte
	expires time.Time
}

// NewMemory returns an empty MemoryStore.
func NewMemory(opts MemoryOptions) *MemoryStore {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &MemoryStore{opts: opts, records: map[string]memEntry{}, nodes: map[string]map[string]struct{}{}}
}

// Save implements Store.
func (m *MemoryStore) Save(ctx context.Context, rec *Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := encodeRecord(rec)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[rec.SessionID] = memEntry{value: b, expires: m.opts.Now().Add(m.opts.TTL)}
	idx := m.nodes[rec.Node]
	if idx == nil {
		idx = map[string]struct{}{}
		m.nodes[rec.Node] = idx
	}
	idx[rec.SessionID] = struct{}{}
	return nil
}

// SaveRaw stores bytes as a session's record without encoding them: for
// tests of how readers handle damaged records.
func (m *MemoryStore) SaveRaw(node, sessionID string, value []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[sessionID] = memEntry{value: value, expires: m.opts.Now().Add(m.opts.TTL)}
	if m.nodes[node] == nil {
		m.nodes[node] = map[string]struct{}{}
	}
	m.nodes[node][sessionID] = struct{}{}
}

func (m *MemoryStore) get(sessionID string) ([]byte, bool) {
	e, ok := m.records[sessionID]
	if ok && !m.opts.Now().Before(e.expires) {
		delete(m.records, sessionID)
		return nil, false
	}
	return e.value, ok
}

// Load implements Store.
func (m *MemoryStore) Load(ctx context.Context, sessionID string) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	b, ok := m.get(sessionID)
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("session %s: %w", sessionID, ErrNotFound)
	}
	return decodeRecord(sessionID, b)
}

// Delete implements Store.
func (m *MemoryStore) Delete(ctx context.Context, node, sessionID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.records, sessionID)
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
	var ids []string
	for id := range m.nodes[node] {
		if _, ok := m.get(id); !ok {
			delete(m.nodes[node], id)
			continue
		}
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}

// Len returns how many records the store holds (expired ones included
// until they are next read).
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.records)
}

// Close implements Store.
func (m *MemoryStore) Close() error { return nil }
