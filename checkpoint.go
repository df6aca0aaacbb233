package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/interp/snapshot"
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

// ErrCheckpoint is wrapped by the error of a call whose macrostep ran but
// whose checkpoint could not be written (or, for an ended session,
// deleted): the session goes on in memory, but a switchover now would
// resume it from an older checkpoint, or not at all. The wrapped error
// says why (the store's error, or persist/interp's for a value that
// cannot be snapshotted). Session.Checkpoint writes it again.
var ErrCheckpoint = errors.New("engine: checkpoint not written")

// checkpoints is the state of a session's record.
type checkpoints struct {
	seq uint64 // checkpoints written
	// fresh is when its record was last known written or refreshed
	// (engine clock, Unix ns), for refreshing it while hibernated.
	fresh atomic.Int64
	// saved says that its last checkpoint was written.
	saved bool
	// fenced says the session ended here because this node lost it
	// (fence.go); undeleted that it ended and its record's deletion
	// failed, and is retried; volatile that it is registered as running
	// unpersisted (persist.Volatile).
	fenced, undeleted, volatile bool
}

func (s *Session) persisted() bool {
	return s.typ == Voice && s.m.Document().Persist
}

// checkpoint runs after a macrostep, s.mu held. It returns an error
// wrapping ErrCheckpoint when the store did not take the checkpoint;
// OnStoreError hears of it too, for macrosteps no caller waits on
// (timers).
func (e *Engine) checkpoint(ctx context.Context, s *Session) error {
	var data []byte // encoded once, for the round trip and the store
	if e.opts.RestoreEveryStep && s.sess.Running() {
		data = e.roundTrip(s)
	}
	st := e.opts.Store
	if st == nil || !s.persisted() {
		return nil
	}
	// The caller's context bounds the wait: a checkpoint it gave up on
	// may still land (the store keeps the record of the highest seq), and
	// until one is known written the session is not hibernated.
	if !s.sess.Running() {
		t0 := e.checkpointTimer(s)
		err := e.deleteRecord(s)
		e.observeCheckpoint(s, CheckpointDelete, t0, 0, err)
		return err
	}
	return e.save(ctx, s, data)
}

// save writes the checkpoint of a running session, encoding it unless
// data already holds it. s.mu held.
func (e *Engine) save(ctx context.Context, s *Session, data []byte) error {
	t0 := e.checkpointTimer(s)
	if data == nil {
		// Encoded into a reused buffer: the store copies what it keeps
		// (Store: no reference to Data after Save returns).
		buf := encodeBufs.Get().(*[]byte)
		defer func() {
			if cap(*buf) <= maxPooledEncoding {
				encodeBufs.Put(buf)
			}
		}()
		var err error
		*buf, err = snapshot.AppendSession((*buf)[:0], s.sess)
		if data = *buf; err != nil {
			s.cp.saved = false
			err = e.storeError(s.id, err)
			e.observeCheckpoint(s, CheckpointSave, t0, 0, err)
			return err
		}
	}
	if max := e.maxRecord(); max > 0 && len(data) > max {
		s.cp.saved = false
		return e.storeError(s.id, e.tooLarge(s, len(data), max))
	}
	s.cp.seq++
	doc := s.sess.Machine().Document()
	due, _ := s.sess.NextDeadline()
	w := e.writer()
	rec := records.Get().(*persist.Record)
	defer func() { *rec = persist.Record{}; records.Put(rec) }()
	*rec = persist.Record{
		SessionID: s.id, Node: w.Node, Epoch: w.Epoch, Type: string(s.typ), Seq: s.cp.seq, Data: data,
		Doc: doc.Name, DocHash: doc.Hash, Created: fromUnixNano(s.created), Updated: e.clock.Now(), Due: due,
	}
	if err := e.opts.Store.Save(ctx, rec); err != nil {
		s.cp.saved = false // never hibernated on an older record
		if errors.Is(err, persist.ErrFenced) {
			err = e.fenced(s, err)
		} else {
			err = e.storeError(s.id, err)
		}
		e.observeCheckpoint(s, CheckpointSave, t0, len(data), err)
		return err
	}
	s.cp.saved = true
	e.observeCheckpoint(s, CheckpointSave, t0, len(data), nil)
	return nil
}

// encodeBufs and records are reused by save from one checkpoint to the
// next: a store keeps no reference to the Record or its Data once Save
// returned (persist.Store).
var (
	encodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
	records    = sync.Pool{New: func() any { return new(persist.Record) }}
)

// maxPooledEncoding is the largest encoding buffer kept for reuse.
const maxPooledEncoding = 64 << 10

// Checkpoint writes the session's checkpoint again, now: after a call
// failed with ErrCheckpoint, once the store is back, so that the session
// does not wait for its next event to be persisted. For a session that
// ended but whose record could not be deleted, it tries the deletion
// again (the engine also retries it on its own) and returns its error. It
// is a no-op for a session that is not persisted. A hibernated session is
// woken from its record, which is then written again (refreshing its time
// to live). A session this node lost (ErrFenced) returns its error.
func (s *Session) Checkpoint(ctx context.Context) error {
	if err := s.e.ready(ctx, "checkpoint", s.id); err != nil {
		return err
	}
	if _, err := s.lockIdle(ctx, true); err != nil { // effects first (settle)
		return err
	}
	defer s.mu.Unlock()
	if s.cp.fenced {
		return s.err
	}
	if s.cp.undeleted {
		return s.e.deleteRecord(s)
	}
	if err := s.e.awake(s); err != nil {
		return err
	}
	if s.sess == nil || !s.sess.Running() {
		return nil
	}
	if s.e.opts.Store == nil || !s.persisted() {
		return nil
	}
	return s.e.save(ctx, s, nil)
}

func (e *Engine) encode(s *Session) ([]byte, error) {
	return snapshot.EncodeSession(s.sess)
}

// roundTrip replaces the interpreter session by one restored from its own
// encoded snapshot, so that every later macrostep runs on restored state:
// a replay with RestoreEveryStep proves snapshots complete. It returns the
// encoded snapshot, or nil when the round trip failed.
func (e *Engine) roundTrip(s *Session) []byte {
	data, err := e.encode(s)
	if err == nil {
		var is *interp.Session
		if is, err = e.restore(s.m, s.id, data); err == nil {
			s.sess = is
			return data
		}
	}
	if s.err == nil {
		s.err = fmt.Errorf("engine: session %s: restore-every-step: %w", s.id, err)
	}
	return nil
}

// storeError reports a failed checkpoint to OnStoreError and returns it
// as the error of the call that caused it.
func (e *Engine) storeError(id string, err error) error {
	e.onStoreError(id, err)
	if e.log != nil {
		e.logAt(e.ctx, slog.LevelError, "checkpoint failed", e.sessionAttr(id), slog.Any("err", err))
	}
	return fmt.Errorf("engine: session %s: %w: %w", id, ErrCheckpoint, err)
}

// restore makes the interpreter session of id from its encoded snapshot
// (a record's Data), for Resume, a wake from hibernation and
// RestoreEveryStep.
func (e *Engine) restore(m *interp.Machine, id string, data []byte) (*interp.Session, error) {
	snap, err := snapshot.Decode(id, data)
	if err != nil {
		// A record whose snapshot cannot be read is a damaged record to
		// the store's callers too.
		if errors.Is(err, snapshot.ErrVersion) {
			return nil, fmt.Errorf("%w: %w", err, persist.ErrVersion)
		}
		return nil, fmt.Errorf("%w: %w", err, persist.ErrCorrupt)
	}
	return m.Restore(snap, e.sessionOptions(id))
}

func (e *Engine) sessionOptions(id string) interp.Options {
	return interp.Options{
		Host:          host{e},
		MaxMicrosteps: e.opts.MaxMicrosteps,
		OnTransition:  e.transitionHook(),
		IOProcessors:  e.ioLocations(id),
		Actions:       e.ext.actions,
		Globals:       e.globals(id),
		Load:          e.load,

		IgnoreUnknownActions: e.opts.IgnoreUnknownActions,
		VerifySnapshots:      e.opts.VerifySnapshots,
	}
}

// Resume restores a session from its checkpoint in Options.Store and runs
// it: delayed sends that fell due while it was down fire now, and events
// it had queued are processed. doc must be the document the session ran
// (checked by hash). The session keeps its id and node tag; it is now run
// by this engine, and its record moves to this node's index.
func (e *Engine) Resume(ctx context.Context, sessionID string, doc *scxml.Document) (*Session, error) {
	if err := e.ready(ctx, "resume", sessionID); err != nil {
		return nil, err
	}
	if err := checkID("resume", sessionID); err != nil {
		return nil, err
	}
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
	return e.ResumeRecord(ctx, rec, doc)
}

// ResumeRecord is Resume for a record already loaded from Options.Store
// (package recovery loads it first, to find the document by rec.Doc and
// rec.DocHash).
func (e *Engine) ResumeRecord(ctx context.Context, rec *persist.Record, doc *scxml.Document) (*Session, error) {
	if err := e.ready(ctx, "resume", ""); err != nil {
		return nil, err
	}
	switch {
	case rec == nil:
		return nil, errors.New("engine: resume: nil record")
	case doc == nil:
		return nil, fmt.Errorf("engine: resume %s: nil document", rec.SessionID)
	}
	if err := errors.Join(checkID("resume: record's session id", rec.SessionID), checkType("resume "+rec.SessionID+": record's type", SessionType(rec.Type))); err != nil {
		return nil, err
	}
	if e.opts.Store == nil {
		return nil, fmt.Errorf("engine: resume %s: no Store configured: %w", rec.SessionID, ErrNotPersisted)
	}
	sessionID := rec.SessionID
	m, err := e.Compile(doc)
	if err != nil {
		return nil, err
	}
	is, err := e.restore(m, sessionID, rec.Data)
	if err != nil {
		return nil, fmt.Errorf("engine: resume: %w", err)
	}
	s := &Session{e: e, id: sessionID, typ: SessionType(rec.Type), m: m, sess: is, created: unixNano(rec.Created)}
	s.cp.seq = rec.Seq
	e.mu.Lock()
	if e.closed.Load() {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if _, dup := e.sessions[sessionID]; dup {
		e.mu.Unlock()
		return nil, fmt.Errorf("engine: resume %s: %w", sessionID, ErrSessionExists)
	}
	e.sessions[sessionID] = s
	e.armSweep(s)
	e.mu.Unlock()
	e.noteSubscriptions(is)
	s.mu.Lock()
	e.observeSession(s, SessionResumed, nil)
	s.mu.Unlock()
	// The first macrostep saves the session under this node (or deletes
	// it, had it ended), which takes it out of the failed node's index
	// in the same atomic step.
	err = e.process(ctx, s, true)
	e.drain()
	return s, err
}
