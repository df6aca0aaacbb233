package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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
	// The encoding buffer and the Record are reused from one checkpoint
	// to the next: the store copies what it keeps (Store: no reference
	// to the Record or its Data after Save returns).
	w := saveScratch.Get().(*saveWork)
	defer w.put()
	if data == nil {
		var err error
		w.buf, err = snapshot.AppendSession(w.buf[:0], s.sess)
		if data = w.buf; err != nil {
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
	wr := e.writer()
	rec := &w.rec
	*rec = persist.Record{
		SessionID: s.id, Node: wr.Node, Epoch: wr.Epoch, Type: string(s.typ), Seq: s.cp.seq, Data: data,
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

// saveWork is what save reuses from one checkpoint to the next: one
// pooled value, one Get and one Put per checkpoint.
type saveWork struct {
	buf []byte
	rec persist.Record
}

var saveScratch = sync.Pool{New: func() any { return &saveWork{buf: make([]byte, 0, 1024)} }}

// put pools w, dropping what the Record referred to and a buffer grown
// beyond maxPooledEncoding.
func (w *saveWork) put() {
	w.rec = persist.Record{}
	if cap(w.buf) > maxPooledEncoding {
		w.buf = nil
	}
	saveScratch.Put(w)
}

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
	snap, err := decodeSnapshot(id, data)
	if err != nil {
		return nil, err
	}
	return m.Restore(snap, e.sessionOptions(id))
}

// decodeSnapshot decodes a record's Data. A record whose snapshot cannot
// be read is a damaged record to the store's callers too.
func decodeSnapshot(id string, data []byte) (*interp.Snapshot, error) {
	snap, err := snapshot.Decode(id, data)
	if err != nil {
		if errors.Is(err, snapshot.ErrVersion) {
			return nil, fmt.Errorf("%w: %w", err, persist.ErrVersion)
		}
		return nil, fmt.Errorf("%w: %w", err, persist.ErrCorrupt)
	}
	return snap, nil
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

// Takeover is what TakeOver did with one record.
type Takeover struct {
	// Session is the session, now hibernated on this engine; nil when it
	// was not taken over.
	Session *Session
	// Resume says that the record was left for ResumeRecord: the session
	// must run a macrostep now (a delayed send of it fell due, events
	// wait in its queues, it runs invoked sessions, it has not started or
	// has ended), or the store cannot move records (persist.Mover), or it
	// is not known whether the move landed (the store's error). Err is
	// nil then.
	Resume bool
	// Err says why the session was not taken over; its record is kept as
	// it was. It wraps ErrSessionExists when the session runs here
	// already; persist.ErrCorrupt or persist.ErrVersion for a damaged
	// record; ErrFenced (and persist.ErrFenced) when this node is fenced;
	// persist.ErrMoved or persist.ErrNotFound when the record changed or
	// went since it was read.
	Err error
}

// TakeOver takes over sessions of node from whose records recs were just
// read from Options.Store (docs[i] is the document of recs[i]), without
// restoring their interpreter sessions: what package recovery's eager
// Recover does with each batch of records.
//
// It checks each record as a restore would before running anything (its
// snapshot decodes, is of the session and of docs[i], names states the
// document has), then moves the records to this node in one
// persist.Mover.MoveMany: each is written unchanged but for its owner,
// its writer's epoch and its Seq (one more, as the checkpoint of a
// resumed session's first macrostep would be), on condition that it is
// still in from's index with the Seq that was read, so that no session
// is taken from a node that took it meanwhile, and a failure part way
// leaves each session owned by exactly one node. Each moved session is
// then installed hibernated (Session.Hibernated), its timer armed for its
// next delayed send: its first event, query or timer wakes it from the
// record just written, as any hibernated session is woken, and from then
// on it runs as a resumed one would have. A session that must run a
// macrostep now is not moved (Takeover.Resume).
//
// A hibernated session's record is kept alive by the hibernation sweep,
// which runs for sessions installed this way even without
// Options.HibernateAfter (it then refreshes their records, a quarter of
// the store's time to live apart, and hibernates nothing).
func (e *Engine) TakeOver(ctx context.Context, from string, recs []*persist.Record, docs []*scxml.Document) []Takeover {
	out := make([]Takeover, len(recs))
	fail := func(err error) []Takeover {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	if len(docs) != len(recs) {
		return fail(fmt.Errorf("engine: take over from %s: %d records, %d documents", from, len(recs), len(docs)))
	}
	if err := e.ready(ctx, "take over", ""); err != nil {
		return fail(err)
	}
	if e.opts.Store == nil {
		return fail(fmt.Errorf("engine: take over from %s: no Store configured: %w", from, ErrNotPersisted))
	}
	if lost := e.Fenced(); lost != nil {
		return fail(fmt.Errorf("engine: take over from %s: %w (node %s was fenced: %w)", from, ErrFenced, e.opts.Node, lost))
	}
	mover, ok := e.opts.Store.(persist.Mover)
	if !ok {
		for i := range out {
			out[i].Resume = true
		}
		return out
	}
	now, w := e.clock.Now(), e.writer()
	// Sessions that run here already are left alone (one lock for all).
	e.mu.Lock()
	for i, rec := range recs {
		if rec != nil && e.sessions[rec.SessionID] != nil {
			out[i].Err = fmt.Errorf("engine: take over %s: %w", rec.SessionID, ErrSessionExists)
		}
	}
	e.mu.Unlock()
	moves := make([]persist.Move, 0, len(recs))
	todo := make([]takeoverCheck, 0, len(recs))
	for i, rec := range recs {
		if out[i].Err != nil {
			continue
		}
		t, resume, err := e.checkTakeover(rec, docs[i], now)
		switch {
		case err != nil:
			out[i].Err = err
			continue
		case resume:
			out[i].Resume = true
			continue
		}
		t.i = i
		nrec := *rec
		nrec.Node, nrec.Epoch, nrec.Seq, nrec.Updated, nrec.Due = w.Node, w.Epoch, rec.Seq+1, now, t.due
		moves = append(moves, persist.Move{Record: &nrec, From: from, Seq: rec.Seq})
		todo = append(todo, t)
	}
	if len(moves) == 0 {
		return out
	}
	errs := mover.MoveMany(ctx, moves)
	for k, t := range todo {
		rec := recs[t.i]
		switch err := errs[k]; {
		case err == nil:
			out[t.i].Session, out[t.i].Err = e.installTakeover(rec, t.m, t.snap, t.due, now)
		case errors.Is(err, persist.ErrFenced):
			// Refused for this node's epoch: this node was fenced.
			err = fmt.Errorf("engine: take over %s: %w: %w", rec.SessionID, ErrFenced, err)
			e.fc.lost.CompareAndSwap(nil, &err)
			out[t.i].Err = err
		case errors.Is(err, persist.ErrMoved), errors.Is(err, persist.ErrNotFound):
			out[t.i].Err = fmt.Errorf("engine: take over %s: %w", rec.SessionID, err)
		default:
			// It may have landed: ResumeRecord writes it again (the same
			// Seq, which the store accepts).
			out[t.i].Resume = true
		}
	}
	return out
}

// takeoverCheck is what checkTakeover read of a record.
type takeoverCheck struct {
	i    int
	m    *interp.Machine
	snap *snapshot.Summary
	due  time.Time
}

// checkTakeover checks rec, of doc, as ResumeRecord and a restore would
// without building the interpreter session, and says whether it must be
// resumed instead (it has something to do now).
func (e *Engine) checkTakeover(rec *persist.Record, doc *scxml.Document, now time.Time) (t takeoverCheck, resume bool, err error) {
	switch {
	case rec == nil:
		return t, false, errors.New("engine: take over: nil record")
	case doc == nil:
		return t, false, fmt.Errorf("engine: take over %s: nil document", rec.SessionID)
	}
	id := rec.SessionID
	if err := errors.Join(checkID("take over: record's session id", id), checkType("take over "+id+": record's type", SessionType(rec.Type))); err != nil {
		return t, false, err
	}
	if t.m, err = e.Compile(doc); err != nil {
		return t, false, err
	}
	if t.snap, err = snapshot.Peek(id, rec.Data); err != nil {
		if errors.Is(err, snapshot.ErrVersion) {
			return t, false, fmt.Errorf("engine: resume: %w: %w", err, persist.ErrVersion)
		}
		return t, false, fmt.Errorf("engine: resume: %w: %w", err, persist.ErrCorrupt)
	}
	snap := t.snap
	if snap.DocHash != doc.Hash {
		return t, false, fmt.Errorf("engine: resume: interp: restore session %s: document %q (%x) is not the one the session ran (%q, %x): %w",
			id, doc.Name, doc.Hash[:6], snap.DocName, snap.DocHash[:6], interp.ErrDocumentMismatch)
	}
	n := len(doc.States)
	in := func(idx ...int) bool {
		for _, i := range idx {
			if i < 0 || i >= n {
				return false
			}
		}
		return true
	}
	ok := in(snap.Configuration...) && in(snap.StatesToInvoke...) && in(snap.DataDone...)
	for _, h := range snap.History {
		ok = ok && in(h.State) && in(h.States...)
	}
	if !ok {
		return t, false, fmt.Errorf("engine: resume: session %s: snapshot names a state index out of range of document %q: %w", id, doc.Name, persist.ErrCorrupt)
	}
	for _, d := range snap.Due {
		if t.due.IsZero() || d.Before(t.due) {
			t.due = d
		}
	}
	s := Session{typ: SessionType(rec.Type), m: t.m}
	resume = !s.persisted() || !snap.Started || !snap.Running || snap.Final != "" ||
		snap.Internal > 0 || snap.External > 0 ||
		len(snap.StatesToInvoke) > 0 || snap.Invocations > 0 ||
		!t.due.IsZero() && !t.due.After(now) ||
		e.opts.RestoreEveryStep // its first macrostep proves the snapshot
	return t, resume, nil
}

// installTakeover installs the session of rec, whose record this engine
// just moved to itself at rec.Seq+1, hibernated.
func (e *Engine) installTakeover(rec *persist.Record, m *interp.Machine, snap *snapshot.Summary, due, now time.Time) (*Session, error) {
	id := rec.SessionID
	s := &Session{e: e, id: id, typ: SessionType(rec.Type), m: m, created: unixNano(rec.Created)}
	s.cp.seq, s.cp.saved = rec.Seq+1, true
	s.noteFresh(now)
	s.last = now.UnixNano()
	if len(snap.Subs) > 0 {
		subs := slices.Clone(snap.Subs)
		slices.Sort(subs)
		s.rt.subs.Store(&subs)
	}
	var cfg []string
	for _, i := range snap.Configuration {
		if st := m.Document().States[i]; st.IsAtomic() {
			cfg = append(cfg, st.ID)
		}
	}
	// s.mu first, while no one else can find s: listed hibernated, it is
	// woken by the first call that finds it, once installed.
	s.mu.Lock()
	defer s.mu.Unlock()
	e.mu.Lock()
	if e.closed.Load() {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if _, dup := e.sessions[id]; dup {
		// Resumed here meanwhile: its own checkpoints overwrite the move
		// (the same Seq or higher).
		e.mu.Unlock()
		return nil, fmt.Errorf("engine: take over %s: %w", id, ErrSessionExists)
	}
	// Hibernated before the sweep is armed for it: the sweep runs for
	// hibernated sessions even without HibernateAfter, and keeps the
	// record alive.
	s.hib.Store(true)
	e.sessions[id] = s
	e.armSweep(s)
	e.mu.Unlock()
	e.observeSession(s, SessionResumed, nil)
	e.hibernated(s, cfg)
	if !due.IsZero() {
		e.armTimerAt(s, due)
	}
	return s, nil
}
