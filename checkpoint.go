package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

// Checkpoints. After each macrostep of a persisted session (a voice
// session of a document without _persist="false") the engine snapshots the
// interpreter session, encodes it and saves it in Options.Store; when the
// session ends its record is deleted. Digital sessions are never
// persisted: their media server re-queues the interaction after a
// failover.

// ErrNotPersisted is returned by Resume for a session that has no record.
var ErrNotPersisted = errors.New("engine: session has no checkpoint")

func (s *Session) persisted() bool {
	return s.typ == Voice && s.sess.Machine().Document().Persist
}

// checkpoint runs after a macrostep, s.mu held.
func (e *Engine) checkpoint(s *Session) {
	var data []byte // encoded once, for the round trip and the store
	if e.opts.RestoreEveryStep && s.sess.Running() {
		data = e.roundTrip(s)
	}
	st := e.opts.Store
	if st == nil || !s.persisted() {
		return
	}
	ctx := e.ctx
	if !s.sess.Running() {
		if err := st.Delete(ctx, e.opts.Node, s.id); err != nil {
			e.storeError(s.id, err)
		}
		return
	}
	if data == nil {
		var err error
		if data, err = e.encode(s); err != nil {
			e.storeError(s.id, err)
			return
		}
	}
	s.seq++
	rec := &persist.Record{SessionID: s.id, Node: e.opts.Node, Type: string(s.typ), Seq: s.seq, Data: data}
	if err := st.Save(ctx, rec); err != nil {
		e.storeError(s.id, err)
	}
}

func (e *Engine) encode(s *Session) ([]byte, error) {
	snap, err := s.sess.Snapshot()
	if err != nil {
		return nil, err
	}
	return persist.EncodeSnapshot(snap)
}

// roundTrip replaces the interpreter session by one restored from its own
// encoded snapshot, so that every later macrostep runs on restored state:
// a replay with RestoreEveryStep proves snapshots complete. It returns the
// encoded snapshot, or nil when the round trip failed.
func (e *Engine) roundTrip(s *Session) []byte {
	data, err := e.encode(s)
	if err == nil {
		var snap *interp.Snapshot
		if snap, err = persist.DecodeSnapshot(s.id, data); err == nil {
			var is *interp.Session
			if is, err = s.sess.Machine().Restore(snap, e.sessionOptions(s.id)); err == nil {
				s.sess = is
				return data
			}
		}
	}
	if s.err == nil {
		s.err = fmt.Errorf("engine: session %s: restore-every-step: %w", s.id, err)
	}
	return nil
}

func (e *Engine) storeError(id string, err error) {
	if e.opts.OnStoreError != nil {
		e.opts.OnStoreError(id, err)
	}
}

func (e *Engine) sessionOptions(id string) interp.Options {
	return interp.Options{
		Host:          host{e},
		MaxMicrosteps: e.opts.MaxMicrosteps,
		OnError:       e.onError,
		IOProcessors:  e.ioLocations(id),
	}
}

// Resume restores a session from its checkpoint in Options.Store and runs
// it: delayed sends that fell due while it was down fire now, and events
// it had queued are processed. doc must be the document the session ran
// (checked by hash). The session keeps its id and node tag; it is now run
// by this engine, and its record moves to this node's index.
func (e *Engine) Resume(ctx context.Context, sessionID string, doc *scxml.Document) (*Session, error) {
	if e.opts.Store == nil {
		return nil, fmt.Errorf("engine: resume %s: no Store configured: %w", sessionID, ErrNotPersisted)
	}
	rec, err := e.opts.Store.Load(ctx, sessionID)
	if err != nil {
		if errors.Is(err, persist.ErrNotFound) {
			return nil, fmt.Errorf("engine: resume: %w (%w)", err, ErrNotPersisted)
		}
		return nil, fmt.Errorf("engine: resume: %w", err)
	}
	snap, err := persist.DecodeSnapshot(sessionID, rec.Data)
	if err != nil {
		return nil, fmt.Errorf("engine: resume: %w", err)
	}
	m, err := e.Compile(doc)
	if err != nil {
		return nil, err
	}
	is, err := m.Restore(snap, e.sessionOptions(sessionID))
	if err != nil {
		return nil, fmt.Errorf("engine: resume: %w", err)
	}
	s := &Session{e: e, id: sessionID, typ: SessionType(rec.Type), done: make(chan struct{}), sess: is, seq: rec.Seq}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if _, dup := e.sessions[sessionID]; dup {
		e.mu.Unlock()
		return nil, fmt.Errorf("engine: resume %s: session already runs here", sessionID)
	}
	e.sessions[sessionID] = s
	e.mu.Unlock()
	// The first macrostep saves the session under this node (or deletes
	// it, had it ended); only then does the failed node's index let go,
	// so that a crash in between leaves a record someone can resume.
	err = e.process(s)
	if rec.Node != e.opts.Node {
		if uerr := e.opts.Store.Unlist(ctx, rec.Node, sessionID); uerr != nil {
			e.storeError(sessionID, uerr)
		}
	}
	e.drain()
	return s, err
}
