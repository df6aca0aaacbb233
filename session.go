package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

// SessionType says what a session handles. Voice sessions are checkpointed;
// digital ones (chat, email and the other eServices media) never are,
// because their media server re-queues the interaction after a failover.
type SessionType string

// Session types.
const (
	Voice    SessionType = "voice"
	Chat     SessionType = "chat"
	Email    SessionType = "email"
	SMS      SessionType = "sms"
	Social   SessionType = "social"
	Workitem SessionType = "workitem"
)

// StartOptions configure one session.
type StartOptions struct {
	// Type is the session type.
	// default: Voice
	Type SessionType
	// ID is the session id to use.
	// default: a new id from Options.NewID
	ID string
	// Data gives the document's top-level <data> items their initial
	// values, by id, in place of their expr, src or content, the way an
	// invoking parent's <param>s do for an invoked session (section
	// 6.4.4). The values are JSON-like Go values: nil, bool, numbers,
	// strings, json.Number, slices and arrays of them, maps with string
	// keys. They are bound when the session starts, with early and late
	// binding alike (items of nested states keep their own values), so
	// they are in every checkpoint from the first one: a session resumed
	// from its record has them. A name that is not a top-level <data> id,
	// or a value of another Go type, fails Start with an error wrapping
	// ErrInvalidData that names it.
	// default: none
	Data map[string]any
}

// Session is a handle on a session of the engine. It stays valid after the
// session ended, to read how it ended, and while the session is
// hibernated (see Hibernated).
//
// Its fields are what a hibernated session costs the heap (a node may
// hold a million): times that only the engine reads are Unix
// nanoseconds, what only an awake session needs hangs off a pointer that
// hibernation drops (scratch), a pending timer is an entry in the
// engine's heap (timers.go), and its configuration while hibernated is
// shared. 256 bytes: keep it within that size class.
type Session struct {
	e   *Engine
	id  string
	typ SessionType
	m   *interp.Machine // its document's, shared; kept while hibernated
	// created is when the session started (kept across resumes), Unix
	// ns (0: unknown).
	created int64

	mu sync.Mutex // serialises processing of the interpreter session
	// sess is the interpreter session; nil while hibernated (hib), or
	// once waking it failed for good (the session then ended).
	sess *interp.Session
	err  error // first engine-level failure (livelock, ...)
	// last is when its last macrostep ran (the engine's clock, Unix
	// ns), for the hibernation sweep.
	last int64

	// ended says the session ended (written under in.mu); done, made by
	// the first call to Done (most handles are never waited on: a channel
	// costs 96 bytes), is closed then (in.mu).
	ended atomic.Bool
	hib   atomic.Bool // hibernated (hibernate.go); written under mu
	// tidx is its timer's entry in Engine.tm's heap plus one; 0 if none,
	// timerFell if none since it fell due; tseq orders entries due at the
	// same time (timers.go). Engine.tm.mu.
	tidx int32
	tseq uint32
	done chan struct{}

	in inbox       // events waiting for the session (routing.go)
	rt sessionDir  // its subscriptions and children (routing.go)
	cp checkpoints // its record's state (checkpoint.go)
	// scratch holds buffers reused from one macrostep to the next, and
	// its entry in the watchdog's set; nil while hibernated. Session.mu.
	scratch *scratch
	// hibCfg is its configuration while hibernated (Engine.Sessions),
	// shared by the sessions hibernated in the same one; mu.
	hibCfg *[]string
	obs    runObs // its runs observed (observe.go)
}

// Start creates a session of doc and runs it up to its first wait for an
// event.
func (e *Engine) Start(ctx context.Context, doc *scxml.Document, opts StartOptions) (*Session, error) {
	if err := e.ready(ctx, "start", ""); err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, errors.New("engine: start: nil document")
	}
	if opts.Type == "" {
		opts.Type = Voice
	}
	if err := checkType("start: StartOptions.Type", opts.Type); err != nil {
		return nil, err
	}
	what := "start: StartOptions.ID"
	if opts.ID == "" {
		if err := guard("Options.NewID", func() error { opts.ID = e.opts.NewID(); return nil }); err != nil {
			return nil, fmt.Errorf("engine: start: %w", err)
		}
		what = "start: Options.NewID returned"
	}
	if err := checkID(what, opts.ID); err != nil {
		return nil, err
	}
	m, err := e.Compile(doc)
	if err != nil {
		return nil, err
	}
	s := &Session{e: e, id: opts.ID, typ: opts.Type, m: m, created: unixNano(e.clock.Now())}
	data, err := startData(doc, opts.Data)
	if err != nil {
		return nil, err
	}
	iopts := e.sessionOptions(opts.ID)
	iopts.Data = data
	is, err := m.NewSession(opts.ID, iopts)
	if err != nil {
		return nil, err
	}
	s.sess = is
	e.mu.Lock()
	if e.closed.Load() {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if _, dup := e.sessions[opts.ID]; dup {
		e.mu.Unlock()
		return nil, fmt.Errorf("engine: start session %s: %w", opts.ID, ErrSessionExists)
	}
	e.sessions[opts.ID] = s
	e.armSweep(s)
	e.mu.Unlock()

	s.mu.Lock()
	e.registerVolatile(s)
	e.observeSession(s, SessionStarted, nil)
	t0 := e.beginRun(s)
	e.enter(s)
	now := e.clock.Now()
	s.last = now.UnixNano()
	err = guard("macrostep", func() error {
		if err := is.Start(now); err != nil {
			return err
		}
		// Events the initial macrostep sent to the session itself are
		// processed now, as they would be had they arrived from outside.
		return is.Run()
	})
	e.leave(s)
	e.endInterp(s, t0)
	err = e.settle(ctx, s, err)
	e.observeMacrostep(s, t0, err)
	s.mu.Unlock()
	e.drain()
	return s, err
}

// Session returns the handle of a running session.
func (e *Engine) Session(id string) (*Session, error) {
	if err := e.open("session", id); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.sessions[id]; s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("engine: session %s: %w", id, ErrNoSession)
}

// ID returns the session id.
func (s *Session) ID() string { return s.id }

// Type returns the session type.
func (s *Session) Type() SessionType { return s.typ }

// Send delivers an external event to the session and processes it (with
// any delayed sends that fell due) before returning. A hibernated session
// is woken first; when it cannot be, the error wraps ErrWake and the
// event was not delivered.
func (s *Session) Send(ctx context.Context, ev Event) error {
	if err := s.e.ready(ctx, "send to", s.id); err != nil {
		return err
	}
	if err := checkEvent("send to", s.id, &ev); err != nil {
		return err
	}
	if ev.Type == interp.Internal || ev.Type == interp.Platform {
		ev.Type = interp.External
	}
	if s.ended.Load() {
		return fmt.Errorf("engine: send %q to %s: session ended: %w", ev.Name, s.id, ErrNoSession)
	}
	if err := s.wakeUp(); err != nil {
		return err
	}
	s.post(ev)
	err := s.e.process(ctx, s, true)
	s.e.drain()
	return err
}

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	if s.done == nil {
		s.done = make(chan struct{})
		if s.ended.Load() {
			close(s.done)
		}
	}
	return s.done
}

// end marks the session ended, closing Done. e.mu is held.
func (s *Session) end() {
	s.in.mu.Lock()
	defer s.in.mu.Unlock()
	s.ended.Store(true)
	if s.done != nil {
		close(s.done)
	}
}

// Running reports whether the session still runs (a hibernated session
// does).
func (s *Session) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return s.hib.Load()
	}
	return s.sess.Running()
}

// Final returns the id of the top-level final state the session ended in.
func (s *Session) Final() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return "" // hibernated, so running; or lost (see Hibernated)
	}
	return s.sess.Final()
}

// Configuration returns the active atomic states in document order (the
// states the session ended in, once it has ended). A hibernated session
// is woken to answer; it returns nil if it cannot be (Err says why).
func (s *Session) Configuration() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.e.awake(s) != nil || s.sess == nil {
		return nil
	}
	return s.sess.Configuration()
}

// Err returns the first engine-level failure of the session's
// macrosteps, kept until the session ends: ErrLivelock (a macrostep that
// did not end within MaxMicrosteps, or Run within MaxMacrosteps), ErrPanic
// (a panic outside extension code's own guards), a failed
// restore-every-step, or ErrWake for a hibernated session that could not
// be woken and ended. Checkpoint failures are not kept (the call that
// caused one returns it, and OnStoreError hears of it), nor are errors
// the document handles as error.execution.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Cancel ends the session, running the onexit handlers of its states,
// and deletes its checkpoint (an error wrapping ErrCheckpoint when the
// store could not). A hibernated session is woken first (an error
// wrapping ErrWake when it cannot be).
func (s *Session) Cancel() error {
	if err := s.e.open("cancel", s.id); err != nil {
		return err
	}
	err := s.cancel()
	s.e.drain() // what its onexit handlers sent other sessions
	return err
}

func (s *Session) cancel() error {
	if _, err := s.lockIdle(s.e.ctx, true); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.e.awake(s); err != nil {
		return err
	}
	if s.sess == nil {
		return nil // lost while hibernated: it ended then
	}
	if err := s.e.checkFenced(s); err != nil {
		return err
	}
	s.e.enter(s)
	err := guard("cancel", func() error { s.sess.Cancel(); return nil })
	s.e.leave(s)
	return s.e.settle(s.e.ctx, s, err)
}

// events in its inbox, each as one macrostep. A hibernated session is
// woken first. With wait false (no caller waits for the result: drain, a
// timer), it returns at once when another goroutine is carrying out the
// session's effects: that one processes what came meanwhile (see
// doneCarrying).
func (e *Engine) process(ctx context.Context, s *Session, wait bool) error {
	if ok, err := s.lockIdle(ctx, wait); !ok {
		return err
	}
	defer s.mu.Unlock()
	if e.closed.Load() {
		return fmt.Errorf("engine: session %s: %w", s.id, ErrClosed)
	}
	if err := e.awake(s); err != nil {
		return err
	}
	if s.sess == nil || !s.sess.Running() {
		return nil
	}
	if err := e.checkFenced(s); err != nil {
		return err
	}
	// Two inboxes take turns: posts go to one while the other, taken
	// here, is emptied into the session's queue.
	if s.scratch == nil {
		s.scratch = &scratch{}
	}
	s.in.mu.Lock()
	inbox := s.in.events
	s.in.events = s.scratch.spare
	kids := s.in.kids
	s.in.kids = nil
	s.in.mu.Unlock()
	for i := range inbox {
		s.sess.Enqueue(inbox[i])
		e.observeEvent(s, "", &inbox[i])
	}
	for i := range kids {
		s.sess.EnqueueChild(kids[i].to, kids[i].ev) // dropped if the child ended since
		e.observeEvent(s, kids[i].to, &kids[i].ev)
	}
	// Keep no event data alive, nor a burst's large buffer.
	clear(inbox)
	if cap(inbox) <= 16 {
		s.scratch.spare = inbox[:0]
	} else {
		s.scratch.spare = nil
	}
	t0 := e.beginRun(s)
	e.enter(s)
	now := e.clock.Now()
	s.last = now.UnixNano()
	err := guard("macrostep", func() error {
		s.sess.Advance(now)
		return s.sess.Run()
	})
	e.leave(s)
	e.endInterp(s, t0)
	err = e.settle(ctx, s, err)
	e.observeMacrostep(s, t0, err)
	return err
}

// settle ends a run of macrosteps of s (s.mu held, and held again on
// return): their effects are carried out, off the session's lock (carry),
// then the session is checkpointed (afterMacrostep). Effects leave before
// the checkpoint that records the state after them is written, so a node
// that fails between the two resumes the session from the checkpoint
// before them and runs the macrosteps again: effects are carried out at
// least once, as when they left during the macrostep.
func (e *Engine) settle(ctx context.Context, s *Session, err error) error {
	if !s.sess.HasEffects() {
		return e.afterMacrostep(ctx, s, err) // most macrosteps: nothing more
	}
	e.carry(s)
	err = e.afterMacrostep(ctx, s, err)
	e.doneCarrying(s)
	return err
}

// carry takes the outbox of s and carries out its effects in order, with
// s.mu released meanwhile: a callback (Options.Log, OnError, an Invoker,
// an I/O processor) may read the session, Post to it or Send to another.
// Until doneCarrying, no other macrostep of s runs nor is it checkpointed
// (lockIdle waits), so its effects leave in the order its macrosteps made
// them, each batch before the checkpoint after it.
func (e *Engine) carry(s *Session) {
	if s.scratch == nil {
		s.scratch = &scratch{}
	}
	sc := s.scratch
	fx := s.sess.TakeOutbox(sc.fx)
	sc.fx = nil
	sc.carrying = true
	// Its state is ahead of its record until afterMacrostep: not to be
	// hibernated meanwhile.
	s.cp.saved = false
	// Children started in the macrostep are addressable by the effects
	// (a service answering a child at once, PostInvoke to it).
	e.noteChildren(s)
	s.mu.Unlock()
	// Extension code is guarded where it is called; this is the last
	// line, so that the session is locked again whatever happens.
	if err := guard("effects", func() error {
		for i := range fx {
			e.carryOut(&fx[i])
		}
		return nil
	}); err != nil {
		e.sessionError(s.id, err)
	}
	clear(fx) // hold no event data
	s.mu.Lock()
	if cap(fx) <= 16 { // nor a burst's large buffer
		s.scratch.fx = fx[:0] // scratch kept: never hibernated while carrying
	}
}

// doneCarrying lets the next macrostep of s run (s.mu held); the events
// posted while the effects were carried out, which drain and timers left
// to this goroutine, are queued for drain.
func (e *Engine) doneCarrying(s *Session) {
	sc := s.scratch
	sc.carrying = false
	if sc.idle != nil {
		close(sc.idle)
		sc.idle = nil
	}
	if s.busy() && s.sess != nil && s.sess.Running() {
		e.markRunnable(s)
	}
}

// lockIdle locks s.mu once no goroutine is carrying out effects of s
// (see carry). With wait false it returns false at once, unlocked, when
// one is; it returns false with ctx's error when ctx ends while it waits.
func (s *Session) lockIdle(ctx context.Context, wait bool) (bool, error) {
	s.mu.Lock()
	for s.scratch != nil && s.scratch.carrying {
		if !wait {
			s.mu.Unlock()
			return false, nil
		}
		if s.scratch.idle == nil {
			s.scratch.idle = make(chan struct{})
		}
		idle := s.scratch.idle
		s.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			return false, fmt.Errorf("engine: session %s: %w", s.id, ctx.Err())
		}
		s.mu.Lock()
	}
	return true, nil
}

// afterMacrostep checkpoints the session, re-arms its timer and retires it
// once ended. s.mu is held. It returns err (the macrostep's) joined with
// the checkpoint's.
func (e *Engine) afterMacrostep(ctx context.Context, s *Session, err error) error {
	if err != nil && s.err == nil {
		s.err = err
	}
	if cerr := e.checkpoint(ctx, s); cerr != nil {
		err = errors.Join(err, cerr)
		if s.cp.fenced {
			return err // ended here: fenced
		}
	} else if s.cp.saved {
		s.noteFresh(time.Unix(0, s.last)) // written after s.last: its TTL runs from later
	}
	e.noteChildren(s)
	if !s.sess.Running() {
		e.retire(s)
		return err
	}
	e.armTimer(s)
	return err
}

// retire forgets an ended session: its timer, its place in the
// watchdog's set and in the engine. s.mu is held.
func (e *Engine) retire(s *Session) {
	e.unregisterVolatile(s)
	e.stopTimer(s)
	e.unwatch(s)
	e.mu.Lock()
	ended := e.sessions[s.id] == s
	if ended {
		delete(e.sessions, s.id)
		s.end()
	}
	e.mu.Unlock()
	if ended {
		e.observeSession(s, SessionEnded, nil)
	}
}

// armTimer arms the session's timer for its next delayed send, if it has
// one, and disarms it otherwise. s.mu is held.
func (e *Engine) armTimer(s *Session) {
	due, ok := s.sess.NextDeadline()
	if !ok {
		e.stopTimer(s)
		return
	}
	e.armTimerAt(s, due)
}

// scratch holds what an awake session reuses from one macrostep to the
// next.
type scratch struct {
	// spare is the inbox process emptied last, reused as the next one.
	spare []Event
	// kids is noteChildren's buffer.
	kids []*interp.Session
	// fx is the outbox carried out last, reused as the next one (carry).
	fx []interp.Effect
	// carrying says a goroutine is carrying out the session's effects,
	// s.mu released (carry); idle, made by the first goroutine to wait
	// for it (lockIdle), is closed when it is done.
	carrying bool
	idle     chan struct{}
	// wd is its entry in the watchdog's set (watchdog.go), or nil.
	wd *watch
}

// unixNano is t in Unix ns, 0 for the zero time; fromUnixNano the
// reverse.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
