package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/persist"
)

// Hibernation (Options.HibernateAfter). A persisted session that waited
// that long for an event, and whose last checkpoint was written, is
// hibernated: the engine drops its interpreter session (the ECMAScript
// runtime and everything in it) and keeps a small handle, so that a
// node's live-session count is bounded by the store, not by its heap.
// What the handle keeps is what finds and wakes the session: its id,
// type, document's machine (shared), checkpoint seq, creation time,
// subscriptions and directory of invoked children (so that Publish,
// Broadcast and Send to a child still reach it), and the timer of its
// next delayed send, which wakes it on time.
//
// Anything that needs the interpreter session wakes it from its record
// (Store.Load, then restored as Resume restores one): an event (Send,
// Post, Publish, PostInvoke, Broadcast, a send from another session, to
// it or one of its children), its timer, Cancel, Checkpoint and
// Configuration. Running, Final, Err, Subscriptions and Hibernated answer
// without waking it.
//
// Idle sessions are found by one sweep, a timer of the engine's Clock
// armed for the earliest moment a session can become idle (never sooner
// than HibernateAfter/8 after the last sweep), and disarmed while no
// session is a candidate. A macrostep only notes its time (Session.last)
// and whether its checkpoint was written (Session.saved).

// ErrWake is wrapped by the error of a call that had to wake a hibernated
// session and could not: its record could not be read, or is gone,
// damaged or not the one this engine last wrote (another node took the
// session over, say). The error names the session and wraps the cause
// (persist.ErrNotFound, ...). When the store could not be reached the
// session stays hibernated and a later call tries again; otherwise it
// ended: it leaves the engine (Done is closed) and Err returns the error.
// OnStoreError hears of every failure.
var ErrWake = errors.New("engine: hibernated session cannot be woken")

// wakeRetry is how long a hibernated session whose timer fell due waits
// before trying again when its record could not be read.
const wakeRetry = 5 * time.Second

// Hibernated reports whether the session is hibernated: running, with its
// state in the store only until something wakes it.
func (s *Session) Hibernated() bool { return s.hib.Load() }

// Hibernated returns the number of hibernated sessions, which Sessions
// counts too.
func (e *Engine) Hibernated() int { return int(e.nhib.Load()) }

// armSweep arms the hibernation sweep for s, a session that just started,
// resumed or woke, unless one is armed. e.mu is held.
func (e *Engine) armSweep(s *Session) {
	if e.opts.HibernateAfter <= 0 || e.opts.Store == nil || e.closed || !s.persisted() {
		return
	}
	if e.hibArmed {
		e.hibMore = true // a sweep running now may not have seen s
		return
	}
	e.hibArmed = true
	e.hibTimer = e.clock.AfterFunc(e.opts.HibernateAfter, e.sweep)
}

// sweep hibernates the sessions that have been idle for HibernateAfter,
// and arms itself again for the earliest moment another one can be.
func (e *Engine) sweep() {
	after := e.opts.HibernateAfter
	now := e.clock.Now()
	e.mu.Lock()
	e.hibTimer = nil
	if e.closed {
		e.hibArmed = false
		e.mu.Unlock()
		return
	}
	e.hibMore = false
	scan := e.hibScratch[:0]
	for _, s := range e.sessions {
		if !s.hib.Load() && s.persisted() {
			scan = append(scan, s)
		}
	}
	e.mu.Unlock()

	next, live := now.Add(after), 0
	for i, s := range scan {
		if at, ok := e.hibernateIdle(s, now); !ok {
			live++
			if at.Before(next) {
				next = at
			}
		}
		scan[i] = nil // hold no session until the next sweep
	}
	e.hibScratch = scan[:0]

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || live == 0 && !e.hibMore {
		// Nothing to watch: the next Start, Resume or wake arms it.
		e.hibArmed, e.hibMore = false, false
		return
	}
	e.hibTimer = e.clock.AfterFunc(max(next.Sub(now), after/8), e.sweep)
}

// hibernateIdle hibernates s if it is idle and may be (ok). Otherwise it
// returns when it may next be.
func (e *Engine) hibernateIdle(s *Session, now time.Time) (at time.Time, ok bool) {
	after := e.opts.HibernateAfter
	if !s.mu.TryLock() {
		return now.Add(after), false // in a call, so not idle
	}
	defer s.mu.Unlock()
	switch {
	case s.sess == nil:
		return time.Time{}, true // hibernated meanwhile, or lost
	case !s.sess.Running():
		return now.Add(after), false // starting, or ending
	case now.Before(s.last.Add(after)):
		return s.last.Add(after), false
	case !s.saved || s.sess.Pending() || s.busy():
		// Its record is older than its state, or an event waits:
		// hibernating it would lose state.
		return now.Add(after), false
	}
	e.hibernate(s)
	return time.Time{}, true
}

// busy reports whether events wait for the session.
func (s *Session) busy() bool {
	s.inboxMu.Lock()
	defer s.inboxMu.Unlock()
	return s.queued || len(s.inbox) > 0 || len(s.childInbox) > 0
}

// hibernate drops the interpreter session of s and what only it needs.
// s.mu is held; s is idle and its record current.
func (e *Engine) hibernate(s *Session) {
	s.sess = nil
	s.kidBuf = nil
	s.spare = nil
	s.inboxMu.Lock()
	if len(s.inbox) == 0 {
		s.inbox = nil // and its buffer
	}
	s.inboxMu.Unlock()
	if d := s.children.Load(); d != nil {
		// The same ids and subscriptions, without the interpreter
		// sessions (noteChildren rebuilds it once woken).
		kids := make([]childEntry, len(d.kids))
		for i, k := range d.kids {
			kids[i] = childEntry{id: k.id, subs: k.subs}
		}
		s.children.Store(&childDir{kids: kids})
	}
	s.hib.Store(true)
	e.nhib.Add(1)
}

// awake wakes s if it is hibernated. s.mu is held.
func (e *Engine) awake(s *Session) error {
	if !s.hib.Load() {
		return nil
	}
	return e.wake(s)
}

// wake restores the interpreter session of a hibernated session from its
// record, which must be the one this engine last wrote. s.mu is held.
func (e *Engine) wake(s *Session) error {
	// Not the caller's context, as for a checkpoint: a caller giving up
	// must not leave the session half woken.
	rec, err := e.opts.Store.Load(e.ctx, s.id)
	lost := errors.Is(err, persist.ErrNotFound) || errors.Is(err, persist.ErrCorrupt) || errors.Is(err, persist.ErrVersion)
	var is *interp.Session
	if err == nil {
		lost = true
		if rec.Seq != s.seq || rec.Node != e.opts.Node {
			err = fmt.Errorf("its record is checkpoint %d of node %s, this engine wrote checkpoint %d of node %s: another node may have taken it over",
				rec.Seq, rec.Node, s.seq, e.opts.Node)
		} else {
			is, err = e.restore(s.m, s.id, rec.Data)
		}
	}
	if err != nil {
		err = fmt.Errorf("engine: session %s: %w: %w", s.id, ErrWake, err)
		if e.opts.OnStoreError != nil {
			e.opts.OnStoreError(s.id, err)
		}
		if lost {
			e.lose(s, err)
		} else {
			e.retryWake(s)
		}
		return err
	}
	s.sess = is
	s.hib.Store(false)
	e.nhib.Add(-1)
	s.last = e.clock.Now()
	e.noteChildren(s)
	e.mu.Lock()
	e.armSweep(s)
	e.mu.Unlock()
	return nil
}

// retryWake arms the session's timer to try waking it again after
// wakeRetry, when its timer fell due or posted events wait (no caller
// would otherwise come back for them), unless the timer is armed sooner.
// s.mu is held.
func (e *Engine) retryWake(s *Session) {
	retry := e.clock.Now().Add(wakeRetry)
	fell := s.timer == nil && !s.due.IsZero()
	waiting := s.busy() && (s.timer == nil || s.due.After(retry))
	if !fell && !waiting {
		return
	}
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if !closed {
		e.armTimerAt(s, retry)
	}
}

// wakeUp wakes s if it is hibernated, before a Send queues its event: a
// Send that fails with ErrWake did not deliver it.
func (s *Session) wakeUp() error {
	if !s.hib.Load() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.e.awake(s)
}

// lose ends a hibernated session that can never be woken, leaving its
// record (if any) to whoever holds it. s.mu is held.
func (e *Engine) lose(s *Session, err error) {
	s.hib.Store(false)
	e.nhib.Add(-1)
	if s.err == nil {
		s.err = err
	}
	s.children.Store(nil)
	s.inboxMu.Lock()
	s.inbox, s.childInbox = nil, nil
	s.inboxMu.Unlock()
	e.retire(s)
}
