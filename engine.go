package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
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

// Sentinel errors.
var (
	// ErrNoSession is returned for a session id the engine does not run.
	ErrNoSession = errors.New("engine: no such session")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("engine: closed")
	// ErrLivelock is wrapped by the error of a macrostep that did not end
	// within Options.MaxMicrosteps (see Session.Err).
	ErrLivelock = interp.ErrLivelock
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
	// Log receives <log> output, after the macrostep, off the session's
	// lock, in order with the session's other effects (see the package
	// documentation: it may read the session).
	// default: discarded
	Log func(sessionID, label string, value any)
	// OnError is told why each error.execution and error.communication
	// event was raised (the event carries no message), as Log is told of
	// <log> output: after the macrostep, off the session's lock.
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
	// OnSessionError is told of every failure of a session that no
	// caller waits on: a macrostep run by a timer, by Post, Publish,
	// PostInvoke or Broadcast, by a send from another session, or a wake
	// (ErrLivelock, ErrPanic, ErrCheckpoint, ErrWake, ...), and of panics
	// in callbacks that return nothing (Log, OnError, OnStoreError,
	// Invoker.Cancel, Extension.Object), which are dropped. The session
	// id is "" for a failure that concerns none. Calls that run a
	// macrostep themselves (Start, Send, Resume, Cancel) return their
	// error instead. It must not block; a panic in it is dropped.
	// default: nil
	OnSessionError func(sessionID string, err error)
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
	// NewID makes session ids. Ids must be unique in the cluster; keep
	// the node tag (ids.New) for recovery to find a failed node's
	// sessions.
	// default: func() string { return ids.New(Node).String() }
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
	// Loader reads what src attributes name: <invoke src> documents at
	// run time, <script src> and <data src> at parse time (ParseOptions).
	// default: FileLoader("", DefaultMaxLoadSize): local files relative
	// to the document naming them, at most 4 MiB
	Loader Loader
	// MaxRecordSize bounds the encoded checkpoint of a session: a bigger
	// one is not written, and the call fails with an error wrapping
	// ErrCheckpoint and ErrRecordTooLarge that names the session and its
	// largest variables (and queued events). NoRecordLimit disables it.
	// default: DefaultMaxRecordSize (32 MiB)
	MaxRecordSize int
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
	// Logger receives the engine's log records, each naming its session
	// (attribute "session") and the node ("node"): <log> output (Info,
	// with "label" and "value"), error events (Warn), checkpoints and
	// deletions that failed (Error), sessions resumed from a record
	// (Info), hibernated, woken, started and ended (Debug), lost (Error).
	// Options.Log, OnError and OnStoreError are called as well. engine.Open
	// also routes go-redis's own messages to it (persist.RedisLogger).
	// default: nil, nothing logged
	Logger *slog.Logger
	// Observer is told of macrosteps, events, error events, checkpoints
	// and session lifecycle events (see Observer; package metrics makes
	// one that publishes expvar metrics).
	// default: nil
	Observer *Observer
}

// NoScriptBudget disables the script watchdog.
const NoScriptBudget time.Duration = -1

const defaultScriptBudget = 2 * time.Second

// Engine runs sessions. It is safe for concurrent use; events for one
// session are processed one at a time, different sessions in parallel.
type Engine struct {
	opts     Options
	clock    Clock
	ext      *extensions
	ownStore bool // opened by Open: Close closes it

	mu       sync.Mutex
	closed   atomic.Bool // set under mu, read without it by every call
	sessions map[string]*Session
	machines map[*scxml.Document]*interp.Machine

	// ctx is the engine's lifetime, cancelled by Close: checkpoints,
	// wakes and asynchronous work run under it, not under a caller's.
	ctx    context.Context
	cancel context.CancelFunc

	rt  runQueue      // sessions with events from other sessions (routing.go)
	out outbox        // effects carried out off the session's lock (host.go)
	hib hibernation   // the sweep (hibernate.go)
	tm  sessionTimers // the sessions' timers (timers.go)
	wd  watchdog      // the script watchdog (watchdog.go)
	fc  fencing       // epoch, lost deletions, adopted nodes (fence.go)

	log       *slog.Logger // Options.Logger with the node; nil: nothing logged (observe.go)
	persisted atomic.Int64 // running persisted sessions: Persisted (observe.go)
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
	if opts.Loader == nil {
		opts.Loader = FileLoader("", 0)
	}
	if opts.MaxRecordSize < 0 && opts.MaxRecordSize != NoRecordLimit {
		return nil, fmt.Errorf("engine: option MaxRecordSize: %d is negative (use NoRecordLimit)", opts.MaxRecordSize)
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
	if opts.Logger != nil {
		e.log = opts.Logger.With(slog.String("node", opts.Node))
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
			if err := guard("Open", func() error { return ext.Open(e) }); err != nil {
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
		if err := guard("Open", func() error { return p.Open(e) }); err != nil {
			return nil, fmt.Errorf("engine: open I/O processor %s: %w", p.Name(), err)
		}
	}
	if opts.ScriptBudget > 0 {
		e.wd.stop, e.wd.done = make(chan struct{}), make(chan struct{})
		go e.watchdog()
	}
	return e, nil
}

// CloseTimeout bounds the drain of Close (see Shutdown).
const CloseTimeout = 10 * time.Second

// Close is Shutdown with CloseTimeout: a store that does not answer
// cannot hold it for ever.
func (e *Engine) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
	defer cancel()
	return e.Shutdown(ctx)
}

// Shutdown stops the engine. Sessions are not ended: their checkpoints
// stay, so that a backup node can resume them.
//
// From its start every call that would run a macrostep, or read a
// session, returns an error wrapping ErrClosed, and timers stop without
// firing. It then drains within ctx: the macrosteps in flight finish
// (the watchdog still interrupts their scripts), and the checkpoint of
// every persisted session whose last write failed is written again. Events
// queued and not yet processed (by Post, say) are not processed. When ctx
// ends first, the scripts still running are interrupted and Shutdown
// returns an error wrapping ctx's (the macrosteps in flight may still
// complete, without their checkpoints). Then the I/O processors and a
// store opened by Open are closed. A second call returns nil.
func (e *Engine) Shutdown(ctx context.Context) error {
	if ctx == nil {
		return errors.New("engine: shutdown: nil context")
	}
	e.mu.Lock()
	if e.closed.Load() {
		e.mu.Unlock()
		return nil
	}
	e.closed.Store(true)
	sessions := make([]*Session, 0, len(e.sessions))
	for _, s := range e.sessions {
		sessions = append(sessions, s)
	}
	if e.hib.timer != nil {
		e.hib.timer.Stop()
		e.hib.timer = nil
	}
	e.tm.stop()
	e.mu.Unlock()
	var errs []error
	drained := make(chan error, 1)
	go func() { drained <- e.drainAll(ctx, sessions) }()
	select {
	case err := <-drained:
		errs = append(errs, err)
	case <-ctx.Done():
		e.interruptAll()
		errs = append(errs, fmt.Errorf("engine: shutdown: drain (macrosteps in flight, last checkpoints) not finished: %w", ctx.Err()))
	}
	if e.wd.stop != nil {
		close(e.wd.stop)
		<-e.wd.done
	}
	e.stopFencing()
	e.cancel()
	for _, p := range e.opts.IOProcessors {
		if err := guard("Close", p.Close); err != nil {
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

// drainAll waits for the macrostep in flight of each session (by taking
// its lock once its effects are out), stops its timer and writes its
// checkpoint again if the last write failed.
func (e *Engine) drainAll(ctx context.Context, sessions []*Session) error {
	var errs []error
	for _, s := range sessions {
		if _, err := s.lockIdle(ctx, true); err != nil {
			errs = append(errs, err)
			continue
		}
		e.stopTimer(s)
		if s.sess != nil && s.sess.Running() && !s.cp.saved && e.opts.Store != nil && s.persisted() && ctx.Err() == nil {
			errs = append(errs, e.save(ctx, s, nil))
		}
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// Compile returns the machine for doc, compiling it once per engine.
func (e *Engine) Compile(doc *scxml.Document) (*interp.Machine, error) {
	if doc == nil {
		return nil, errors.New("engine: compile: nil document")
	}
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

// Node returns this engine's node id.
func (e *Engine) Node() string { return e.opts.Node }

// Store returns the store checkpoints go to (nil when none).
func (e *Engine) Store() persist.Store { return e.opts.Store }

// Len returns the number of running sessions, hibernated ones included
// (see Hibernated).
func (e *Engine) Len() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sessions)
}
