// Package engine is the embedder's entry point: it runs SCXML sessions
// (package interp) on behalf of an application, owning what the pure
// interpreter leaves out — locking, the clock and timers, routing events
// between sessions, the script watchdog and, for voice sessions, checkpoints.
//
// Every call that delivers an event processes it synchronously: when Send
// returns, the macrostep the event caused has completed.
package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orsgo/engine/datamodel"
	"github.com/orsgo/engine/ids"
	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/persist"
	"github.com/orsgo/engine/scxml"
)

// Event is an SCXML event (the fields of _event).
type Event = interp.Event

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

// Sentinel errors.
var (
	// ErrNoSession is returned for a session id the engine does not run.
	ErrNoSession = errors.New("engine: no such session")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("engine: closed")
	// ErrSessionExists is returned by Start and Resume for a session id
	// the engine already runs.
	ErrSessionExists = errors.New("engine: session already runs here")
)

// Options configure an Engine. The zero value is usable.
type Options struct {
	// Node is this node's id ([A-Za-z0-9_-], at most 32); session ids carry it.
	// default: "node1"
	Node string
	// Clock supplies time and timers.
	// default: RealClock{}
	Clock Clock
	// Log receives <log> output.
	// default: discarded
	Log func(sessionID, label string, value any)
	// OnError is told why each error.execution and error.communication
	// event was raised (the event carries no message).
	// default: nil
	OnError func(sessionID string, ev *Event, cause error)
	// MaxMicrosteps bounds one macrostep (see interp.Options).
	// default: 100000
	MaxMicrosteps int
	// ScriptBudget is how long one script or expression may run before it
	// is interrupted and becomes error.execution. NoScriptBudget disables
	// the watchdog.
	// default: 2s
	ScriptBudget time.Duration
	// Store receives a checkpoint of every persisted session after each
	// macrostep (see Resume).
	// default: nil, no checkpoints
	Store persist.Store
	// OnStoreError is told when a checkpoint cannot be written or
	// deleted (the session goes on), or read back to wake a hibernated
	// session (an error wrapping ErrWake), or when the time to live of a
	// hibernated session's record cannot be refreshed (ErrRefresh).
	// default: nil
	OnStoreError func(sessionID string, err error)
	// RestoreEveryStep replaces each session after each macrostep by one
	// restored from its encoded snapshot. It is for tests and replays
	// (scxml replay --restore-every-step): a session that behaves the same
	// with it proves its checkpoints complete.
	// default: false
	RestoreEveryStep bool
	// VerifySnapshots makes every checkpoint also export the session's
	// whole datamodel afresh and fail (ErrCheckpoint) if the incremental
	// snapshot, which re-exports only the variables code touched since
	// the last one, differs. For tests and replays: it doubles the cost
	// of a checkpoint.
	// default: false
	VerifySnapshots bool
	// IOProcessors are Event I/O Processors beyond the built-in SCXML one,
	// such as basichttp.New(...). New opens them, Close closes them.
	// default: none
	IOProcessors []IOProcessor
	// NewID makes session ids.
	// default: node-tagged ids from package ids
	NewID func() string
	// Extensions add custom actions, host objects, invoke types and
	// owned events (see Extension).
	// default: none
	Extensions []*Extension
	// HostObject is the name of the ECMAScript global holding one
	// sub-object per extension (HostObject.<Extension.Name>).
	// default: DefaultHostObject ("_genesys")
	HostObject string
	// Datamodels are the datamodels documents may name in <scxml
	// datamodel> (see interp.Datamodels); a document naming another is
	// rejected by Compile.
	// default: datamodel.Standard(), ECMAScript and null
	Datamodels interp.Datamodels
	// IgnoreUnknownActions lets documents hold custom executable content
	// no extension runs: it does nothing (section 4.1 allows ignoring
	// it). Otherwise Compile rejects such a document, naming each
	// element's file:line:col.
	// default: false
	IgnoreUnknownActions bool
	// HibernateAfter is how long a persisted session whose last
	// checkpoint was written may wait for an event before it is
	// hibernated: dropped from memory but for a small handle, kept in
	// Store, and woken from its record by its next event or timer (see
	// Session.Hibernated). Without a Store nothing is hibernated. Keep
	// it well under the store's record time to live: a session idle for
	// longer has no record left to wake from. Once hibernated, its record
	// is kept alive on a store that implements persist.Expirer.
	// default: 0, never
	HibernateAfter time.Duration
}

// NoScriptBudget disables the script watchdog.
const NoScriptBudget time.Duration = -1

const defaultScriptBudget = 2 * time.Second

// Engine runs sessions. It is safe for concurrent use; events for one
// session are processed one at a time, different sessions in parallel.
type Engine struct {
	opts  Options
	clock Clock

	mu       sync.Mutex
	closed   bool
	sessions map[string]*Session
	runnable []*Session
	machines map[*scxml.Document]*interp.Machine

	// inflight counts asynchronous work (I/O sends, posted events) for
	// Quiesce; ctx is cancelled by Close to abort it.
	inflight atomic.Int64
	ctx      context.Context
	cancel   context.CancelFunc

	ownStore bool // opened by Open: Close closes it
	ext      *extensions

	stopWD chan struct{}
	wdDone chan struct{}

	// nrunnable is len(runnable), written under mu, read without it by
	// drain so that a Send with nothing to route takes no engine lock.
	nrunnable atomic.Int32
	// watched are the sessions the watchdog scans (see watch).
	wdMu    sync.Mutex
	watched []*Session

	// Hibernation (hibernate.go): the sweep's timer (mu); hibArmed says
	// a sweep is armed or running, hibMore that a session it may not
	// have seen joined meanwhile (mu); its scratch (the sweep only); the
	// count of hibernated sessions.
	hibTimer          Timer
	hibArmed, hibMore bool
	hibScratch        []*Session
	nhib              atomic.Int64
}

// New creates an engine.
func New(opts Options) (*Engine, error) {
	if opts.Node == "" {
		opts.Node = "node1"
	}
	if opts.Clock == nil {
		opts.Clock = RealClock{}
	}
	if opts.Datamodels == nil {
		opts.Datamodels = datamodel.Standard()
	} else {
		opts.Datamodels = maps.Clone(opts.Datamodels) // read by concurrent compiles
	}
	if opts.ScriptBudget == 0 {
		opts.ScriptBudget = defaultScriptBudget
	}
	if opts.ScriptBudget < 0 && opts.ScriptBudget != NoScriptBudget {
		return nil, fmt.Errorf("engine: option ScriptBudget: %v is negative (use NoScriptBudget)", opts.ScriptBudget)
	}
	if opts.HibernateAfter < 0 {
		return nil, fmt.Errorf("engine: option HibernateAfter: %v is negative (0 never hibernates)", opts.HibernateAfter)
	}
	e := &Engine{
		opts:     opts,
		clock:    opts.Clock,
		sessions: make(map[string]*Session),
		machines: make(map[*scxml.Document]*interp.Machine),
	}
	node, err := ids.ParseNodeID(opts.Node)
	if err != nil {
		return nil, fmt.Errorf("engine: option Node: %w", err)
	}
	if e.opts.NewID == nil {
		// Node-tagged ids: after a failure, the backup finds this node's
		// sessions by the node id their ids carry.
		e.opts.NewID = func() string { return ids.New(node).String() }
	}
	if err := e.initExtensions(); err != nil {
		return nil, err
	}
	for _, ext := range opts.Extensions {
		if ext.Open != nil {
			if err := ext.Open(e); err != nil {
				return nil, fmt.Errorf("engine: open extension %s: %w", ext.Name, err)
			}
		}
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	for i, p := range opts.IOProcessors {
		if p == nil {
			return nil, fmt.Errorf("engine: option IOProcessors[%d] is nil", i)
		}
		if len(p.Types()) == 0 {
			return nil, fmt.Errorf("engine: option IOProcessors[%d] (%s): no types", i, p.Name())
		}
		if err := p.Open(e); err != nil {
			return nil, fmt.Errorf("engine: open I/O processor %s: %w", p.Name(), err)
		}
	}
	if opts.ScriptBudget > 0 {
		e.stopWD, e.wdDone = make(chan struct{}), make(chan struct{})
		go e.watchdog()
	}
	return e, nil
}

// Close stops the engine's timers and watchdog. Sessions are not ended:
// their checkpoints stay, so that a backup node can resume them.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	sessions := make([]*Session, 0, len(e.sessions))
	for _, s := range e.sessions {
		sessions = append(sessions, s)
	}
	if e.hibTimer != nil {
		e.hibTimer.Stop()
		e.hibTimer = nil
	}
	e.mu.Unlock()
	for _, s := range sessions {
		s.mu.Lock()
		if s.timer != nil {
			s.timer.Stop()
			s.timer = nil
		}
		s.mu.Unlock()
	}
	if e.stopWD != nil {
		close(e.stopWD)
		<-e.wdDone
	}
	e.cancel()
	var errs []error
	for _, p := range e.opts.IOProcessors {
		if err := p.Close(); err != nil {
			errs = append(errs, fmt.Errorf("engine: close I/O processor %s: %w", p.Name(), err))
		}
	}
	if e.ownStore && e.opts.Store != nil {
		if err := e.opts.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("engine: close store: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Compile returns the machine for doc, compiling it once per engine.
func (e *Engine) Compile(doc *scxml.Document) (*interp.Machine, error) {
	e.mu.Lock()
	m := e.machines[doc]
	e.mu.Unlock()
	if m != nil {
		return m, nil
	}
	if err := e.checkCustom(doc); err != nil {
		return nil, err
	}
	m, err := interp.Compile(doc, e.opts.Datamodels)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if old := e.machines[doc]; old != nil {
		return old, nil
	}
	e.machines[doc] = m
	return m, nil
}

// StartOptions configure one session.
type StartOptions struct {
	// Type is the session type.
	// default: Voice
	Type SessionType
	// ID is the session id to use.
	// default: a new id from Options.NewID
	ID string
}

// Session is a handle on a session of the engine. It stays valid after the
// session ended, to read how it ended, and while the session is
// hibernated (see Hibernated).
type Session struct {
	e   *Engine
	id  string
	typ SessionType
	m   *interp.Machine // its document's, shared; kept while hibernated

	mu sync.Mutex // serialises processing of the interpreter session
	// sess is the interpreter session; nil while hibernated (hib), or
	// once waking it failed for good (the session then ended).
	sess  *interp.Session
	timer Timer
	due   time.Time // of its next delayed send, zero if none (or of a wake retry)
	err   error     // first engine-level failure (livelock, ...)
	seq   uint64    // checkpoints written
	// last is when its last macrostep ran (the engine's clock), for the
	// hibernation sweep; saved says that its last checkpoint was written.
	last  time.Time
	saved bool
	// fresh is when its record was last known written or refreshed
	// (engine clock, Unix ns), for refreshing it while hibernated.
	fresh atomic.Int64
	hib   atomic.Bool // hibernated: written under mu
	// created is when the session started (kept across resumes).
	created time.Time
	// subs mirrors the interpreter session's subscriptions, for Publish.
	subs subsPtr
	// children is the directory of its running invoked children, for
	// addressing them by id; kidBuf is noteChildren's scratch (s.mu).
	children childrenPtr
	kidBuf   []*interp.Session

	inboxMu    sync.Mutex
	inbox      []Event
	childInbox []childEvent // events for its invoked children
	queued     bool         // in e.runnable
	// ended says the session ended (written under inboxMu); done, made
	// by the first call to Done (most handles are never waited on: a
	// channel costs 96 bytes), is closed then (inboxMu).
	ended atomic.Bool
	done  chan struct{}

	// spare is the inbox process emptied last, reused as the next inbox; s.mu.
	spare []Event
	// wd is the session's entry in the watchdog's set.
	wd watch
}

// Start creates a session of doc and runs it up to its first wait for an
// event.
func (e *Engine) Start(ctx context.Context, doc *scxml.Document, opts StartOptions) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := e.Compile(doc)
	if err != nil {
		return nil, err
	}
	if opts.Type == "" {
		opts.Type = Voice
	}
	if opts.ID == "" {
		opts.ID = e.opts.NewID()
	}
	s := &Session{e: e, id: opts.ID, typ: opts.Type, m: m, created: e.clock.Now()}
	is, err := m.NewSession(opts.ID, e.sessionOptions(opts.ID))
	if err != nil {
		return nil, err
	}
	s.sess = is
	e.mu.Lock()
	if e.closed {
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
	e.enter(s)
	s.last = e.clock.Now()
	err = is.Start(s.last)
	if err == nil {
		// Events the initial macrostep sent to the session itself are
		// processed now, as they would be had they arrived from outside.
		err = is.Run()
	}
	e.leave(s)
	err = e.afterMacrostep(s, err)
	s.mu.Unlock()
	e.drain()
	return s, err
}

// Send delivers ev to the session with the given id and processes it.
//
// The id may be that of an SCXML session invoked by a session of the
// engine, at any depth: "<parent id>.<invokeid>", its _sessionid. The
// event goes to the child's external queue and is processed by its
// top-level session's macrostep, on the caller's goroutine, as the
// child's other events are; Send returns when that macrostep completed.
// Publish, PostInvoke, Broadcast and <send target="#_scxml_<id>"> reach
// children the same way, while they run. Session (and Post, Cancel and
// the other Session methods) know top-level sessions only: a child is
// cancelled by its parent.
func (e *Engine) Send(ctx context.Context, sessionID string, ev Event) error {
	s, kid := e.route(sessionID)
	if s == nil {
		return fmt.Errorf("engine: send %q to %s: %w", ev.Name, sessionID, ErrNoSession)
	}
	if kid != nil {
		if err := s.wakeUp(); err != nil { // as Session.Send does
			return err
		}
		return s.sendChild(ctx, kid.id, ev)
	}
	return s.Send(ctx, ev)
}

// Session returns the handle of a running session.
func (e *Engine) Session(id string) (*Session, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.sessions[id]; s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("engine: session %s: %w", id, ErrNoSession)
}

// Node returns this engine's node id.
func (e *Engine) Node() string { return e.opts.Node }

// Store returns the store checkpoints go to (nil when none).
func (e *Engine) Store() persist.Store { return e.opts.Store }

// Sessions returns the number of running sessions, hibernated ones
// included (see Hibernated).
func (e *Engine) Sessions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sessions)
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
	if err := ctx.Err(); err != nil {
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
	err := s.e.process(s)
	s.e.drain()
	return err
}

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} {
	s.inboxMu.Lock()
	defer s.inboxMu.Unlock()
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
	s.inboxMu.Lock()
	defer s.inboxMu.Unlock()
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

// Err returns the engine-level failure that stopped the session's last
// macrostep, if any (interp.ErrLivelock).
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.e.awake(s); err != nil {
		return err
	}
	if s.sess == nil {
		return nil // lost while hibernated: it ended then
	}
	s.sess.Cancel()
	return s.e.afterMacrostep(s, nil)
}

func (s *Session) post(ev Event) {
	s.inboxMu.Lock()
	s.inbox = append(s.inbox, ev)
	s.inboxMu.Unlock()
}

// process runs everything the session has to do now: due timers, then the
// events in its inbox, each as one macrostep. A hibernated session is
// woken first.
func (e *Engine) process(s *Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := e.awake(s); err != nil {
		return err
	}
	if s.sess == nil || !s.sess.Running() {
		return nil
	}
	// Two inboxes take turns: posts go to one while the other, taken
	// here, is emptied into the session's queue.
	s.inboxMu.Lock()
	inbox := s.inbox
	s.inbox = s.spare
	kids := s.childInbox
	s.childInbox = nil
	s.inboxMu.Unlock()
	for _, ev := range inbox {
		s.sess.Enqueue(ev)
	}
	for _, k := range kids {
		s.sess.EnqueueChild(k.to, k.ev) // dropped if the child ended since
	}
	// Keep no event data alive, nor a burst's large buffer.
	clear(inbox)
	if cap(inbox) <= 16 {
		s.spare = inbox[:0]
	} else {
		s.spare = nil
	}
	e.enter(s)
	s.last = e.clock.Now()
	s.sess.Advance(s.last)
	err := s.sess.Run()
	e.leave(s)
	return e.afterMacrostep(s, err)
}

// afterMacrostep checkpoints the session, re-arms its timer and retires it
// once ended. s.mu is held. It returns err (the macrostep's) joined with
// the checkpoint's.
func (e *Engine) afterMacrostep(s *Session, err error) error {
	if err != nil && s.err == nil {
		s.err = err
	}
	if cerr := e.checkpoint(s); cerr != nil {
		err = errors.Join(err, cerr)
	} else if s.saved {
		s.noteFresh(s.last) // written after s.last: its TTL runs from later
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
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	e.unwatch(s)
	e.mu.Lock()
	if e.sessions[s.id] == s {
		delete(e.sessions, s.id)
		s.end()
	}
	e.mu.Unlock()
}

// armTimer arms the session's timer for its next delayed send, if it has
// one and the timer is not armed for it already. s.mu is held.
func (e *Engine) armTimer(s *Session) {
	due, ok := s.sess.NextDeadline()
	if !ok {
		if s.timer != nil {
			s.timer.Stop()
			s.timer = nil
		}
		s.due = time.Time{}
		return
	}
	if s.timer != nil && due.Equal(s.due) {
		return
	}
	e.armTimerAt(s, due)
}

// armTimerAt (re-)arms the session's timer to process it at due. s.mu is
// held.
func (e *Engine) armTimerAt(s *Session, due time.Time) {
	if s.timer != nil {
		s.timer.Stop()
	}
	s.due = due
	d := due.Sub(e.clock.Now())
	if d < 0 {
		d = 0
	}
	s.timer = e.clock.AfterFunc(d, func() {
		s.mu.Lock()
		if s.due.Equal(due) {
			s.timer = nil
		}
		s.mu.Unlock()
		_ = e.process(s) // a failed checkpoint or wake went to OnStoreError
		e.drain()
	})
}

// drain processes sessions that received events from other sessions.
func (e *Engine) drain() {
	for e.nrunnable.Load() > 0 {
		e.mu.Lock()
		if len(e.runnable) == 0 {
			e.mu.Unlock()
			return
		}
		s := e.runnable[0]
		e.runnable[0] = nil
		e.runnable = e.runnable[1:]
		e.nrunnable.Store(int32(len(e.runnable)))
		e.mu.Unlock()
		s.inboxMu.Lock()
		s.queued = false
		s.inboxMu.Unlock()
		_ = e.process(s)
	}
}

func (e *Engine) onError(is *interp.Session, ev *Event, cause error) {
	if e.opts.OnError != nil {
		e.opts.OnError(is.ID(), ev, cause)
	}
}

// host is the interp.Host of every session of the engine.
type host struct{ e *Engine }

func (h host) Log(from *interp.Session, label string, value any) {
	if h.e.opts.Log != nil {
		h.e.opts.Log(from.ID(), label, value)
	}
}

func (h host) Dispatch(from *interp.Session, msg *interp.Message) error {
	if ok, err := h.dispatchInvoke(from, msg); ok {
		return err
	}
	if msg.Type != "" {
		return h.e.dispatchIO(from, msg)
	}
	id, ok := strings.CutPrefix(msg.Target, "#_scxml_")
	if !ok {
		return fmt.Errorf("send target %q: %w", msg.Target, interp.ErrInvalidTarget)
	}
	e := h.e
	to, kid := e.route(id)
	if to == nil {
		return fmt.Errorf("send target %q: no session %s: %w", msg.Target, id, interp.ErrUnreachable)
	}
	e.enqueue(to, kid, msg.Event)
	return nil
}

// enqueue queues ev for to, the top-level session route found, or for its
// invoked child kid, and marks to runnable. The caller has it drained.
func (e *Engine) enqueue(to *Session, kid *childEntry, ev Event) {
	if kid != nil {
		to.postChild(kid.id, ev)
	} else {
		to.post(ev)
	}
	e.markRunnable(to)
}

// markRunnable queues s for drain, once.
func (e *Engine) markRunnable(s *Session) {
	s.inboxMu.Lock()
	queue := !s.queued
	s.queued = true
	s.inboxMu.Unlock()
	if queue {
		e.mu.Lock()
		e.runnable = append(e.runnable, s)
		e.nrunnable.Store(int32(len(e.runnable)))
		e.mu.Unlock()
	}
}

func (e *Engine) onErrorID(sessionID string, cause error) {
	if e.opts.OnError != nil {
		e.opts.OnError(sessionID, &Event{Name: interp.EventErrorCommunication, Type: interp.Platform}, cause)
	}
}
