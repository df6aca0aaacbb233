package engine

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
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
// and whether its checkpoint was written (Session.cp.saved and, if it was,
// Session.cp.fresh).
//
// A hibernated session lives in its record only, which expires unless it
// is written again within the store's time to live, and a hibernated
// session writes nothing. On a store that implements persist.Expirer the
// same sweep keeps those records alive: it collects the hibernated
// sessions whose record was last written or refreshed (Session.cp.fresh)
// TTL/2 ago or more and refreshes them, with their node's index and the
// node registry, in one Expirer.Touch for this node; while hibernated
// sessions exist it stays armed, and runs at least every TTL/4. So each
// record is refreshed when between TTL/2 and 3/4 TTL old, leaving a
// quarter of the TTL for a late sweep, and a Touch that failed (reported
// to OnStoreError, wrapping ErrRefresh) is tried again at the next sweep,
// before the record expires. Without hibernated sessions the sweep costs
// nothing more than before (and is disarmed when no session is a
// candidate either); on a store that does not implement Expirer (or
// whose TTL is zero) there is nothing to do, and a session hibernated for
// longer than the store keeps its record cannot be woken.
//
// A record that Touch reports gone (persist.ErrNotFound: deleted behind
// the engine's back, or expired while the store could not be reached) is
// treated as a failed wake treats it, at once rather than at the
// session's next event or timer, which may be days away: the session can
// never be woken, so it ends (Done is closed, Err wraps ErrWake and
// persist.ErrNotFound, OnStoreError hears of it), and its routes,
// subscriptions and timer go with it instead of lingering until a wake
// fails.

// ErrWake is wrapped by the error of a call that had to wake a hibernated
// session and could not: its record could not be read, or is gone,
// damaged or not the one this engine last wrote (another node took the
// session over, say). The error names the session and wraps the cause
// (persist.ErrNotFound, ...). When the store could not be reached the
// session stays hibernated and a later call tries again; otherwise it
// ended: it leaves the engine (Done is closed) and Err returns the error.
// OnStoreError hears of every failure. The sweep that refreshes
// hibernated sessions' records ends a session whose record it finds gone
// the same way, with an error wrapping ErrWake and persist.ErrNotFound.
var ErrWake = errors.New("engine: hibernated session cannot be woken")

// ErrRefresh is wrapped by the error OnStoreError hears when the time to
// live of a hibernated session's record could not be refreshed
// (persist.Expirer.Touch failed for it): the session stays hibernated and
// the next sweep tries again. The error names the session and wraps the
// store's.
var ErrRefresh = errors.New("engine: hibernated session's record not refreshed")

// hibernation is the state of the engine's hibernation sweep.
type hibernation struct {
	// timer is the sweep's; armed says a sweep is armed or running, more
	// that a session it may not have seen joined meanwhile (Engine.mu).
	timer       Timer
	armed, more bool
	scratch     []*Session   // the sweep's only
	n           atomic.Int64 // hibernated sessions

	// awake holds the persisted sessions that started, resumed or woke
	// (armSweep) and have not been seen hibernated or ended since: the
	// sweep's candidates, so that a sweep costs the awake sessions, not
	// a node's million hibernated ones (Engine.mu).
	awake map[*Session]struct{}
	// oldest is at most the Session.cp.fresh of every hibernated
	// session (math.MaxInt64: none known), and full when the sweep last
	// went through all sessions (Engine.mu): the sweep goes through them
	// all, for the records to refresh, only once one may be half its
	// time to live old, or TTL/4 after the last time.
	oldest atomic.Int64
	full   time.Time

	// cfgs holds the configurations of hibernated sessions, each once,
	// by its states joined with NULs (cfgKey the key's buffer): a
	// million sessions waiting in the same states share one slice.
	cfgMu  sync.Mutex
	cfgs   map[string]*[]string
	cfgKey []byte
}

// sharedConfig returns cfg's shared copy, which nobody modifies.
func (h *hibernation) sharedConfig(cfg []string) *[]string {
	h.cfgMu.Lock()
	defer h.cfgMu.Unlock()
	b := h.cfgKey[:0]
	for i, id := range cfg {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, id...)
	}
	h.cfgKey = b
	if c := h.cfgs[string(b)]; c != nil {
		return c
	}
	c := &cfg
	if len(h.cfgs) >= maxSharedConfigs {
		return c // a document of very many configurations: not shared
	}
	if h.cfgs == nil {
		h.cfgs = make(map[string]*[]string)
	}
	h.cfgs[string(b)] = c
	return c
}

// maxSharedConfigs bounds the configurations kept for sharing: sessions
// wait in a few configurations of their documents, but a document could
// reach many.
const maxSharedConfigs = 4096

// wakeRetry is how long a hibernated session whose timer fell due waits
// before trying again when its record could not be read.
const wakeRetry = 5 * time.Second

// Hibernated reports whether the session is hibernated: running, with its
// state in the store only until something wakes it.
func (s *Session) Hibernated() bool { return s.hib.Load() }

// Hibernated returns the number of hibernated sessions, which Len counts
// too.
func (e *Engine) Hibernated() int { return int(e.hib.n.Load()) }

// armSweep arms the hibernation sweep for s, a session that just started,
// resumed or woke, unless one is armed. e.mu is held.
//
// Without HibernateAfter the sweep still runs for sessions installed
// hibernated (Engine.TakeOver, eager recovery): it refreshes their
// records, TTL/4 apart, so that they do not expire before their next
// event; it then hibernates nothing.
func (e *Engine) armSweep(s *Session) {
	if e.opts.Store == nil || e.closed.Load() || !s.persisted() {
		return
	}
	first := e.opts.HibernateAfter
	if first <= 0 {
		// Only a session installed hibernated (TakeOver): its record
		// is refreshed, nothing is hibernated.
		_, ttl := e.expirer()
		if !s.hib.Load() || ttl <= 0 {
			return
		}
		first = max(ttl/4, time.Millisecond)
	} else {
		if e.hib.awake == nil {
			e.hib.awake = make(map[*Session]struct{})
		}
		e.hib.awake[s] = struct{}{}
	}
	if e.hib.armed {
		e.hib.more = true // a sweep running now may not have seen s
		return
	}
	e.hib.armed = true
	e.hib.timer = e.clock.AfterFunc(first, e.sweep)
}

// sweep hibernates the sessions that have been idle for HibernateAfter,
// refreshes the records of hibernated sessions that need it, and arms
// itself again for the earliest moment another one can be idle, and at
// most TTL/4 later while hibernated sessions' records need refreshing.
func (e *Engine) sweep() {
	after := e.opts.HibernateAfter
	now := e.clock.Now()
	x, ttl := e.expirer()
	e.mu.Lock()
	e.hib.timer = nil
	if e.closed.Load() {
		e.hib.armed = false
		e.mu.Unlock()
		return
	}
	e.hib.more = false
	scan := e.hib.scratch[:0]
	var touch []*Session // allocated only when a record needs refreshing
	if x != nil && e.hib.n.Load() > 0 &&
		(now.UnixNano()-e.hib.oldest.Load() >= int64(ttl/2) || !now.Before(e.hib.full.Add(ttl/4))) {
		// Some record may need refreshing: through every session, as
		// hibernated ones are not listed elsewhere. Sessions
		// hibernating meanwhile lower oldest again (hibernate).
		e.hib.full = now
		e.hib.oldest.Store(math.MaxInt64)
		oldest := int64(math.MaxInt64)
		for _, s := range e.sessions {
			switch {
			case !s.persisted(): // never hibernated
			case !s.hib.Load():
				if after > 0 {
					scan = append(scan, s)
				}
			case s.staleRecord(now, ttl):
				touch = append(touch, s)
			default:
				oldest = min(oldest, s.cp.fresh.Load())
			}
		}
		e.hib.lowerOldest(oldest)
		clear(e.hib.awake) // the scan lists them
	} else {
		for s := range e.hib.awake {
			if s.hib.Load() || s.ended.Load() {
				delete(e.hib.awake, s)
				continue
			}
			scan = append(scan, s)
		}
	}
	e.mu.Unlock()

	next, live := now.Add(after), 0
	for _, s := range scan {
		if at, ok := e.hibernateIdle(s, now); !ok {
			live++
			if at.Before(next) {
				next = at
			}
		} else if x != nil && s.hib.Load() && s.staleRecord(now, ttl) {
			// Hibernated now, on a record older than its last wake (it
			// woke for Configuration, say, and wrote nothing since).
			touch = append(touch, s)
		}
	}
	if len(touch) > 0 {
		e.refresh(x, touch, now)
		// Refreshed now, or still old after a failed Touch.
		for _, s := range touch {
			e.hib.lowerOldest(s.cp.fresh.Load())
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	// Those still awake stay candidates (a full scan listed them, or
	// they are in the set already); the others leave it.
	for i, s := range scan {
		if s.hib.Load() || s.ended.Load() || !s.persisted() {
			delete(e.hib.awake, s)
		} else {
			e.hib.awake[s] = struct{}{}
		}
		scan[i] = nil // hold no session until the next sweep
	}
	e.hib.scratch = scan[:0]
	if cap(scan) > 64 && live < cap(scan)/4 {
		e.hib.scratch = nil // a burst's sessions hibernated: not their capacity
	}
	if len(e.hib.awake) == 0 {
		e.hib.awake = nil // nor the map's
	}
	refreshing := x != nil && e.hib.n.Load() > 0
	if e.closed.Load() || live == 0 && !e.hib.more && !refreshing {
		// Nothing to watch: the next Start, Resume or wake arms it.
		e.hib.armed, e.hib.more = false, false
		return
	}
	d := max(next.Sub(now), after/8)
	if after <= 0 && live == 0 {
		d = max(ttl/4, time.Millisecond) // refreshing only (armSweep)
	} else if refreshing {
		d = min(d, max(ttl/4, time.Millisecond))
	}
	e.hib.timer = e.clock.AfterFunc(d, e.sweep)
}

// lowerOldest lowers oldest to fresh, if that is older.
func (h *hibernation) lowerOldest(fresh int64) {
	for {
		old := h.oldest.Load()
		if old <= fresh || h.oldest.CompareAndSwap(old, fresh) {
			return
		}
	}
}

// expirer returns the store as a persist.Expirer and its TTL, or nil when
// its records cannot be refreshed or do not expire.
func (e *Engine) expirer() (persist.Expirer, time.Duration) {
	x, ok := e.opts.Store.(persist.Expirer)
	if !ok {
		return nil, 0
	}
	if ttl := x.TTL(); ttl > 0 {
		return x, ttl
	}
	return nil, 0
}

// noteFresh notes that the session's record was written or refreshed at
// t or later, unless a later time is noted already.
func (s *Session) noteFresh(t time.Time) {
	n := t.UnixNano()
	for {
		old := s.cp.fresh.Load()
		if old >= n || s.cp.fresh.CompareAndSwap(old, n) {
			return
		}
	}
}

// staleRecord reports whether the session's record, last written or
// refreshed at s.cp.fresh, is half its time to live old or more at now.
func (s *Session) staleRecord(now time.Time, ttl time.Duration) bool {
	return now.UnixNano()-s.cp.fresh.Load() >= int64(ttl/2)
}

// refresh refreshes the records of ss, hibernated sessions, in one Touch.
// now, the sweep's time, is before the Touch: a record refreshed lives
// until TTL after it at least. It takes no lock while the store works.
func (e *Engine) refresh(x persist.Expirer, ss []*Session, now time.Time) {
	ids := make([]string, len(ss))
	fresh := make([]int64, len(ss))
	for i, s := range ss {
		ids[i], fresh[i] = s.id, s.cp.fresh.Load()
	}
	// The engine's context, as for a checkpoint: Close cancels it.
	err := x.Touch(e.ctx, e.writer(), ids)
	if err == nil {
		for _, s := range ss {
			s.noteFresh(now)
		}
		return
	}
	if e.ctx.Err() != nil {
		return // closed meanwhile: nothing to retry
	}
	failed, other := touchErrors(err)
	for i, s := range ss {
		cause, named := failed[s.id]
		switch {
		case named && errors.Is(cause, persist.ErrFenced), other != nil && errors.Is(other, persist.ErrFenced):
			// Another node owns its record now, or promoted this node.
			e.loseFenced(s, fresh[i], cmp.Or(cause, other))
		case named && errors.Is(cause, persist.ErrNotFound):
			e.loseRecord(s, fresh[i], cause)
		case named:
			e.refreshError(s, cause)
		case other != nil:
			// Its record may be refreshed, its index or the registry not:
			// the next sweep tries again.
			e.refreshError(s, other)
		default:
			s.noteFresh(now)
		}
	}
}

// touchErrors sorts the error of Expirer.Touch into the sessions it
// names (*persist.SessionError) and the rest (nil if none), which may
// concern any session: a session is known refreshed only if the rest is
// nil and it is not named.
func touchErrors(err error) (failed map[string]error, other error) {
	failed = make(map[string]error)
	var others []error
	// outer is the outermost error since the last join, for its message.
	var walk func(err, outer error)
	walk = func(err, outer error) {
		if outer == nil {
			outer = err
		}
		switch u := err.(type) {
		case *persist.SessionError:
			failed[u.SessionID] = outer
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e, nil)
			}
		case interface{ Unwrap() error }:
			if w := u.Unwrap(); w != nil {
				walk(w, outer)
			} else {
				others = append(others, outer)
			}
		default:
			others = append(others, outer)
		}
	}
	walk(err, nil)
	return failed, errors.Join(others...)
}

// refreshError reports a failed refresh of the record of s to
// OnStoreError; s stays hibernated, and the next sweep tries again.
func (e *Engine) refreshError(s *Session, cause error) {
	err := fmt.Errorf("engine: session %s: %w: %w", s.id, ErrRefresh, cause)
	s.mu.Lock() // Observer calls for a session are serialised
	e.observeRefresh(s, err)
	s.mu.Unlock()
	e.onStoreError(s.id, err)
}

// loseRecord ends s, a hibernated session whose record Touch found gone,
// as a wake that finds it gone would: see "A record that Touch reports
// gone" above. A session that woke and wrote its record since fresh was
// read is left alone: the Touch raced with it, and what is gone is not
// the record it now has.
func (e *Engine) loseRecord(s *Session, fresh int64, cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hib.Load() || s.cp.fresh.Load() != fresh {
		return // woke meanwhile (or lost already): its wake settled it
	}
	err := fmt.Errorf("engine: session %s: %w: its record is gone: %w", s.id, ErrWake, cause)
	e.onStoreError(s.id, err)
	e.lose(s, err)
}

// loseFenced ends s, a hibernated session whose record Touch refused to
// refresh because this node lost it (persist.ErrFenced). As loseRecord,
// it leaves alone a session that woke and wrote since.
func (e *Engine) loseFenced(s *Session, fresh int64, cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hib.Load() || s.cp.fresh.Load() != fresh {
		return
	}
	err := fmt.Errorf("engine: session %s: %w: %w", s.id, ErrFenced, cause)
	e.observeRefresh(s, err)
	if e.opts.OnStoreError != nil {
		e.opts.OnStoreError(s.id, err)
	}
	e.drop(s, err)
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
	case now.Before(time.Unix(0, s.last).Add(after)):
		return time.Unix(0, s.last).Add(after), false
	case !s.cp.saved || s.sess.Pending() || s.busy() || s.scratch != nil && s.scratch.carrying:
		// Its record is older than its state, or an event waits:
		// hibernating it would lose state.
		return now.Add(after), false
	}
	e.hibernate(s)
	return time.Time{}, true
}

// busy reports whether events wait for the session.
func (s *Session) busy() bool {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	return s.in.queued || len(s.in.events) > 0 || len(s.in.kids) > 0
}

// hibernate drops the interpreter session of s and what only it needs.
// s.mu is held; s is idle and its record current.
func (e *Engine) hibernate(s *Session) {
	cfg := s.sess.Configuration()
	s.sess = nil
	e.unwatch(s)
	s.scratch = nil
	s.in.mu.Lock()
	if len(s.in.events) == 0 {
		s.in.events = nil // and its buffer
	}
	s.in.mu.Unlock()
	if d := s.rt.children.Load(); d != nil {
		// The same ids and subscriptions, without the interpreter
		// sessions (noteChildren rebuilds it once woken).
		kids := make([]childEntry, len(d.kids))
		for i, k := range d.kids {
			kids[i] = childEntry{id: k.id, subs: k.subs}
		}
		s.rt.children.Store(&childDir{kids: kids})
	}
	e.hibernated(s, cfg)
}

// hibernated marks s, which has no interpreter session, hibernated in
// configuration cfg (its atomic states): a session hibernate just
// dropped, or one installed from its record without restoring it. Its
// record is the one it last wrote or refreshed at s.cp.fresh, which the
// sweep keeps alive from then on. s.mu is held.
func (e *Engine) hibernated(s *Session, cfg []string) {
	s.hibCfg = e.hib.sharedConfig(cfg)
	s.hib.Store(true)
	e.hib.lowerOldest(s.cp.fresh.Load())
	e.hib.n.Add(1)
	e.observeSession(s, SessionHibernated, nil)
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
		if rec.Seq != s.cp.seq || rec.Node != e.opts.Node {
			err = fmt.Errorf("its record is checkpoint %d of node %s, this engine wrote checkpoint %d of node %s: another node may have taken it over",
				rec.Seq, rec.Node, s.cp.seq, e.opts.Node)
		} else {
			is, err = e.restore(s.m, s.id, rec.Data)
		}
	}
	if err != nil {
		err = fmt.Errorf("engine: session %s: %w: %w", s.id, ErrWake, err)
		e.onStoreError(s.id, err)
		if lost {
			e.lose(s, err)
		} else {
			e.retryWake(s)
		}
		return err
	}
	s.sess = is
	s.hibCfg = nil
	s.hib.Store(false)
	e.hib.n.Add(-1)
	e.observeSession(s, SessionWoken, nil)
	s.last = e.clock.Now().UnixNano()
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
	due, armed, fell := e.timerState(s)
	waiting := s.busy() && (!armed || due.After(retry))
	if !fell && !waiting {
		return
	}
	e.mu.Lock()
	closed := e.closed.Load()
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
	s.hibCfg = nil
	s.hib.Store(false)
	e.hib.n.Add(-1)
	e.observeSession(s, SessionLost, err)
	if s.err == nil {
		s.err = err
	}
	s.rt.children.Store(nil)
	s.in.mu.Lock()
	s.in.events, s.in.kids = nil, nil
	s.in.mu.Unlock()
	e.retire(s)
}
