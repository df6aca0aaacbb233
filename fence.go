package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

// Fencing, lost deletions and lazy adoption.
//
// Every write of the engine to its store carries its node and epoch
// (persist.Writer; the epoch is zero until Promote). When another node
// promotes this node id (a backup taking it over, or another node
// adopting its sessions), the store refuses every later write of this
// engine with persist.ErrFenced: the session whose write was refused
// ends here at once (it leaves the engine without deleting anything,
// Err wraps ErrFenced, OnStoreError hears of it), and from then on the
// engine runs no macrostep of any persisted session: each ends the same
// way at its next event or timer, before doing anything. Engine.Fenced
// reports it.
//
// An ended session whose record could not be deleted (the store was
// unreachable) keeps being retried every deleteRetry until the deletion
// lands or is fenced, each failure reported to OnStoreError;
// Session.Checkpoint retries it at once and returns the result. So a
// call that hung up is not resumed by a backup once the store is back.
//
// Adopt takes over the sessions of a failed node without loading them:
// it promotes the node (fencing it) and from then on loads each of its
// sessions when something needs it (Send, Lookup, a send from another
// session, its next delayed send falling due), exactly once, through
// ResumeRecord: the session's first macrostep here fires what fell due
// and saves it under this node, which moves it out of the failed node's
// index. Timers come from the store's index of due times
// (persist.Scheduler): the sessions due within AdoptOptions.Horizon are
// armed, those already due are woken at once in due-time order, and the
// index is read again every Horizon/2.

// ErrFenced is wrapped by the error of a call whose session this node
// lost: the store refused its write because another node promoted this
// node id (persist.ErrFenced), or the engine had been fenced before. The
// session ended here without deleting its record: another node runs it.
var ErrFenced = errors.New("engine: fenced: this node lost the session to another")

// deleteRetry is how long an ended session whose record could not be
// deleted waits before the next attempt.
const deleteRetry = time.Second

// fencing is the engine's epoch, fencing state, lost deletions and
// adopted nodes.
type fencing struct {
	epoch atomic.Uint64
	// lost is set (once) when a write was refused as fenced.
	lost atomic.Pointer[error]

	mu sync.Mutex
	// undeleted are ended sessions whose record deletion failed, retried
	// by delTimer.
	undeleted map[*Session]struct{}
	delTimer  Timer
	// adopted are the nodes adopted (Adopt), with how to find their
	// sessions' documents; loading are the adoptions on demand in
	// flight, by session id. The timers of adoption check e.ctx: Close
	// leaves them to fire into a closed engine.
	adopted map[string]*adoption
	loading map[string]*adoptCall
}

// adoption is one adopted node.
type adoption struct {
	node  string
	opts  AdoptOptions
	armed map[string]time.Time // sessions whose due timer is armed, by id
}

// adoptCall is one session being loaded on demand.
type adoptCall struct {
	done chan struct{}
	s    *Session
	err  error
}

// Epoch returns the epoch the engine writes with (zero until Promote).
func (e *Engine) Epoch() uint64 { return e.fc.epoch.Load() }

// writer is who the engine writes as.
func (e *Engine) writer() persist.Writer {
	return persist.Writer{Node: e.opts.Node, Epoch: e.fc.epoch.Load()}
}

// Fenced returns nil while this node's writes are accepted, else the
// error (wrapping ErrFenced and persist.ErrFenced) of the first write the
// store refused because another node promoted this node id.
func (e *Engine) Fenced() error {
	if p := e.fc.lost.Load(); p != nil {
		return *p
	}
	return nil
}

// fencer returns the store as a persist.Fencer.
func (e *Engine) fencer(what string) (persist.Fencer, error) {
	if e.opts.Store == nil {
		return nil, fmt.Errorf("engine: %s: no Store configured: %w", what, ErrNotPersisted)
	}
	f, ok := e.opts.Store.(persist.Fencer)
	if !ok {
		return nil, fmt.Errorf("engine: %s: store %T keeps no node epochs (persist.Fencer)", what, e.opts.Store)
	}
	return f, nil
}

// Promote raises this node's epoch in the store (persist.Fencer.Promote)
// and writes with it from now on: the node id's previous holder (a
// primary this engine, its backup, replaces) is fenced. Call it before
// serving as the node, and Adopt(ctx, Node(), ...) to take over the
// sessions the previous holder left.
func (e *Engine) Promote(ctx context.Context) (uint64, error) {
	f, err := e.fencer("promote")
	if err != nil {
		return 0, err
	}
	epoch, err := f.Promote(ctx, e.opts.Node)
	if err != nil {
		return 0, fmt.Errorf("engine: promote node %s: %w", e.opts.Node, err)
	}
	e.fc.epoch.Store(epoch)
	return epoch, nil
}

// fenced ends s, whose write the store refused as fenced, here: see
// "Fencing" above. s.mu is held; err is the store's.
func (e *Engine) fenced(s *Session, err error) error {
	err = fmt.Errorf("engine: session %s: %w: %w", s.id, ErrFenced, err)
	// A refusal of this node's epoch fences every session of the node.
	e.fc.lost.CompareAndSwap(nil, &err)
	if e.opts.OnStoreError != nil {
		e.opts.OnStoreError(s.id, err)
	}
	e.drop(s, err)
	return err
}

// drop ends s here, without touching its record: it was fenced, or lost
// while hibernated. s.mu is held.
func (e *Engine) drop(s *Session, err error) {
	if s.hib.Load() {
		s.hib.Store(false)
		e.hib.n.Add(-1)
	}
	e.observeSession(s, SessionFenced, err)
	if s.err == nil {
		s.err = err
	}
	s.cp.fenced = true
	s.sess = nil
	s.rt.children.Store(nil)
	s.in.mu.Lock()
	s.in.events, s.in.kids = nil, nil
	s.in.mu.Unlock()
	e.retire(s)
}

// checkFenced ends s before its macrostep if the engine was fenced. s.mu
// is held.
func (e *Engine) checkFenced(s *Session) error {
	lost := e.Fenced()
	if lost == nil || !s.persisted() || e.opts.Store == nil {
		return nil
	}
	err := fmt.Errorf("engine: session %s: %w (node %s was fenced: %w)", s.id, ErrFenced, e.opts.Node, lost)
	if e.opts.OnStoreError != nil {
		e.opts.OnStoreError(s.id, err)
	}
	e.drop(s, err)
	return err
}

// deleteRecord deletes the record of s, an ended session, and notes it
// for a retry when that fails. s.mu is held.
func (e *Engine) deleteRecord(s *Session) error {
	err := e.opts.Store.Delete(e.ctx, e.writer(), s.id)
	if err == nil || errors.Is(err, persist.ErrFenced) {
		e.fc.mu.Lock()
		delete(e.fc.undeleted, s)
		e.fc.mu.Unlock()
		s.cp.undeleted = false
		if err != nil {
			err = fmt.Errorf("engine: session %s: record not deleted: %w: %w", s.id, ErrFenced, err)
			e.fc.lost.CompareAndSwap(nil, &err)
			if e.opts.OnStoreError != nil {
				e.opts.OnStoreError(s.id, err)
			}
			return err
		}
		return nil
	}
	s.cp.undeleted = true
	e.fc.mu.Lock()
	if e.fc.undeleted == nil {
		e.fc.undeleted = make(map[*Session]struct{})
	}
	e.fc.undeleted[s] = struct{}{}
	if e.fc.delTimer == nil && e.ctx.Err() == nil {
		e.fc.delTimer = e.clock.AfterFunc(deleteRetry, e.retryDeletes)
	}
	e.fc.mu.Unlock()
	return e.storeError(s.id, fmt.Errorf("the session ended, its record is not deleted (retried every %v): %w", deleteRetry, err))
}

// retryDeletes tries again to delete the records of ended sessions.
func (e *Engine) retryDeletes() {
	e.fc.mu.Lock()
	e.fc.delTimer = nil
	ss := make([]*Session, 0, len(e.fc.undeleted))
	for s := range e.fc.undeleted {
		ss = append(ss, s)
	}
	e.fc.mu.Unlock()
	if e.ctx.Err() != nil {
		return
	}
	for _, s := range ss {
		s.mu.Lock()
		if s.cp.undeleted {
			_ = e.deleteRecord(s) // reported; re-arms the timer
		}
		s.mu.Unlock()
	}
}

// Undeleted returns the number of ended sessions whose record the engine
// has not managed to delete yet (it keeps trying).
func (e *Engine) Undeleted() int {
	e.fc.mu.Lock()
	defer e.fc.mu.Unlock()
	return len(e.fc.undeleted)
}

// registerVolatile notes s, a session that is not persisted, in a store
// that keeps such a registry (persist.Volatile), so that a node taking
// this one over can report it as not recoverable. A failure is reported
// to OnStoreError; the session runs all the same. s.mu is held.
func (e *Engine) registerVolatile(s *Session) {
	v, ok := e.opts.Store.(persist.Volatile)
	if !ok || s.persisted() {
		return
	}
	typ := string(s.typ)
	if s.typ == Voice {
		typ += " (_persist=false)"
	}
	if err := v.Register(e.ctx, e.opts.Node, s.id, typ); err != nil {
		if e.opts.OnStoreError != nil {
			e.opts.OnStoreError(s.id, fmt.Errorf("engine: session %s: register as not persisted: %w", s.id, err))
		}
		return
	}
	s.cp.volatile = true
}

// unregisterVolatile forgets s, which ended. s.mu is held.
func (e *Engine) unregisterVolatile(s *Session) {
	if !s.cp.volatile {
		return
	}
	s.cp.volatile = false
	if err := e.opts.Store.(persist.Volatile).Unregister(e.ctx, e.opts.Node, s.id); err != nil && e.opts.OnStoreError != nil {
		e.opts.OnStoreError(s.id, fmt.Errorf("engine: session %s: unregister as not persisted: %w", s.id, err))
	}
}

// AdoptOptions configure Adopt.
type AdoptOptions struct {
	// Documents finds the document a session ran, by the name and hash
	// its record carries (recovery.Library does). Required.
	Documents func(ctx context.Context, name string, hash [32]byte) (*scxml.Document, error)
	// Horizon is how far ahead the store's index of due times is read:
	// the adopted sessions whose next delayed send falls due within it
	// get a timer; the index is read again every Horizon/2.
	// default: DefaultHorizon
	Horizon time.Duration
	// OnSession is told of each adopted session loaded (err nil) or that
	// could not be (err says why; its record is kept).
	// default: nil
	OnSession func(sessionID string, err error)
}

// DefaultHorizon is the default AdoptOptions.Horizon.
const DefaultHorizon = time.Minute

// Adopt takes over node's sessions lazily, in time independent of their
// number: it promotes node (fencing whoever wrote as it: persist.Fencer),
// then arms the timers of its sessions due within the horizon and wakes
// those already due, in due-time order, in the background. Its other
// sessions are loaded when an event or a send reaches them (Send,
// Lookup, <send target="#_scxml_<id>">). node may be this engine's own
// node id, after Promote, to take over what a previous holder of the id
// left. It returns the epoch node was raised to.
func (e *Engine) Adopt(ctx context.Context, node string, opts AdoptOptions) (uint64, error) {
	start := time.Now() // for Observer.Recovery
	if opts.Documents == nil {
		return 0, errors.New("engine: adopt: option Documents: required")
	}
	if opts.Horizon < 0 {
		return 0, fmt.Errorf("engine: adopt: option Horizon %v: negative", opts.Horizon)
	}
	if opts.Horizon == 0 {
		opts.Horizon = DefaultHorizon
	}
	f, err := e.fencer("adopt " + node)
	if err != nil {
		return 0, err
	}
	var epoch uint64
	if node == e.opts.Node {
		epoch = e.fc.epoch.Load()
		if epoch == 0 {
			return 0, fmt.Errorf("engine: adopt %s: this engine's own node: Promote it first", node)
		}
	} else if epoch, err = f.Promote(ctx, node); err != nil {
		return 0, fmt.Errorf("engine: adopt %s: %w", node, err)
	}
	a := &adoption{node: node, opts: opts, armed: make(map[string]time.Time)}
	e.fc.mu.Lock()
	if e.fc.adopted == nil {
		e.fc.adopted = make(map[string]*adoption)
	}
	e.fc.adopted[node] = a
	e.fc.mu.Unlock()
	e.goAsync(func(context.Context) { e.poll(a) })
	e.ObserveRecovery(RecoveryInfo{Node: node, Epoch: epoch, Lazy: true, Elapsed: time.Since(start)})
	return epoch, nil
}

// poll reads a's due sessions within the horizon: wakes the overdue ones
// now, in due-time order, arms timers for the others, and arms itself
// again for Horizon/2 later.
func (e *Engine) poll(a *adoption) {
	if e.ctx.Err() != nil {
		return // closed
	}
	now := e.clock.Now()
	var due []persist.DueSession
	if sc, ok := e.opts.Store.(persist.Scheduler); ok {
		var err error
		due, err = sc.DueBefore(e.ctx, a.node, now.Add(a.opts.Horizon))
		if err != nil && e.ctx.Err() == nil && e.opts.OnStoreError != nil {
			e.opts.OnStoreError("", fmt.Errorf("engine: adopted node %s: due sessions: %w", a.node, err))
		}
	}
	sort.SliceStable(due, func(i, j int) bool { return due[i].Due.Before(due[j].Due) })
	var overdue []string
	e.fc.mu.Lock()
	for _, d := range due {
		if at, ok := a.armed[d.SessionID]; ok && at.Equal(d.Due) {
			continue
		}
		if !d.Due.After(now) {
			overdue = append(overdue, d.SessionID)
			continue
		}
		a.armed[d.SessionID] = d.Due
		id := d.SessionID
		e.clock.AfterFunc(d.Due.Sub(now), func() { e.wakeAdopted(a, id) })
	}
	e.fc.mu.Unlock()
	e.clock.AfterFunc(a.opts.Horizon/2, func() { e.poll(a) })
	for _, id := range overdue {
		e.wakeAdopted(a, id)
	}
}

// wakeAdopted loads an adopted session whose delayed send fell due
// (unless it runs here already: its own timer serves it then).
func (e *Engine) wakeAdopted(a *adoption, id string) {
	if e.ctx.Err() != nil {
		return // closed
	}
	e.fc.mu.Lock()
	delete(a.armed, id)
	e.fc.mu.Unlock()
	if _, err := e.Session(id); err == nil {
		return
	}
	_, _ = e.adopt(e.ctx, id) // reported to OnSession
}

// Lookup returns the running session id, loading it first if it belongs
// to a node this engine adopted (Adopt) and has not been loaded yet.
func (e *Engine) Lookup(ctx context.Context, id string) (*Session, error) {
	if s, err := e.Session(id); err == nil {
		return s, nil
	}
	return e.adopt(ctx, id)
}

// adopting reports whether the engine adopted any node.
func (e *Engine) adopting() bool {
	e.fc.mu.Lock()
	defer e.fc.mu.Unlock()
	return len(e.fc.adopted) > 0
}

// adopt loads session id of an adopted node, once however many callers
// ask for it at the same time.
func (e *Engine) adopt(ctx context.Context, id string) (*Session, error) {
	e.fc.mu.Lock()
	if len(e.fc.adopted) == 0 {
		e.fc.mu.Unlock()
		return nil, fmt.Errorf("engine: session %s: %w", id, ErrNoSession)
	}
	if c := e.fc.loading[id]; c != nil {
		e.fc.mu.Unlock()
		select {
		case <-c.done:
			return c.s, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c := &adoptCall{done: make(chan struct{})}
	if e.fc.loading == nil {
		e.fc.loading = make(map[string]*adoptCall)
	}
	e.fc.loading[id] = c
	e.fc.mu.Unlock()

	c.s, c.err = e.loadAdopted(id)
	e.fc.mu.Lock()
	delete(e.fc.loading, id)
	e.fc.mu.Unlock()
	close(c.done)
	return c.s, c.err
}

// loadAdopted loads and resumes session id if its record belongs to an
// adopted node.
func (e *Engine) loadAdopted(id string) (*Session, error) {
	if s, err := e.Session(id); err == nil {
		return s, nil // loaded by a caller that finished just before
	}
	// The engine's context: callers giving up must not leave it half
	// resumed, and other callers wait on it.
	t0 := time.Now() // for Observer.Recovery
	rec, err := e.opts.Store.Load(e.ctx, id)
	if errors.Is(err, persist.ErrNotFound) {
		return nil, fmt.Errorf("engine: session %s: %w", id, ErrNoSession)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: load adopted session %s: %w", id, err)
	}
	e.fc.mu.Lock()
	a := e.fc.adopted[rec.Node]
	e.fc.mu.Unlock()
	if a == nil {
		return nil, fmt.Errorf("engine: session %s: its record is node %s's, not adopted here: %w", id, rec.Node, ErrNoSession)
	}
	doc, err := a.opts.Documents(e.ctx, rec.Doc, rec.DocHash)
	if err != nil {
		err = fmt.Errorf("engine: load adopted session %s: %w", id, err)
		e.observeAdopted(a, id, nil, err, t0)
		if a.opts.OnSession != nil {
			a.opts.OnSession(id, err)
		}
		return nil, err
	}
	s, err := e.ResumeRecord(e.ctx, rec, doc)
	if errors.Is(err, ErrSessionExists) {
		return e.Session(id)
	}
	e.observeAdopted(a, id, s, err, t0)
	if a.opts.OnSession != nil {
		a.opts.OnSession(id, err)
	}
	if s == nil {
		return nil, err
	}
	return s, err
}

// stopFencing stops the deletion retries, for Close.
func (e *Engine) stopFencing() {
	e.fc.mu.Lock()
	defer e.fc.mu.Unlock()
	if e.fc.delTimer != nil {
		e.fc.delTimer.Stop()
		e.fc.delTimer = nil
	}
}
