package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

// Observer is told what happens in the engine's sessions, for tests,
// tools and metrics (package metrics builds one that feeds expvar) to
// hook in without wrapping the Options callbacks. Every field is
// optional; an engine without an Observer, or with nil fields, pays
// one nil check at each point it would call them
// (BenchmarkMacrostepRoutingObserved measures the rest).
//
// The functions are called synchronously, from the goroutine that runs
// the session, while the session is locked (but ErrorEvent, called with
// the macrostep's other effects once the lock is released, as
// Options.OnError is): they must return quickly and must not call back
// into the engine for that session (Send, Configuration, ...), or they
// deadlock. Calls for one session are serialised; calls for different
// sessions may be concurrent.
type Observer struct {
	// Macrostep is told of each completed run of a top-level session:
	// the macrosteps that one Start, Send, timer or posted batch of
	// events caused, with the checkpoint that followed.
	Macrostep func(MacrostepInfo)
	// Transition is told of each transition taken, in a session or an
	// invoked child, before its microstep runs.
	Transition func(TransitionInfo)
	// Event is told of each external event delivered to a top-level
	// session (or to one of its invoked children, ChildID set), as it is
	// queued for processing.
	Event func(sessionID, childID string, ev *Event)
	// ErrorEvent is told of each error.execution and error.communication
	// event raised, with why (as Options.OnError is).
	ErrorEvent func(sessionID string, ev *Event, cause error)
	// Checkpoint is told of each record written, deleted or failed.
	Checkpoint func(CheckpointInfo)
	// Session is told when a session starts, ends, is hibernated, woken,
	// resumed from its record (Resume, recovery), lost (a hibernated
	// session whose record is gone or was taken over) or fenced (this
	// node lost it to another: ErrFenced).
	Session func(SessionEvent)
	// Recovery is told of each recovery of a node's sessions on this
	// engine when it ends: recovery.Recover and an eager
	// recovery.Node.Switchover (with their Report's figures), Adopt and a
	// lazy Switchover (once the node is adopted, Lazy set), and each
	// session of an adopted node loaded on demand (SessionID set). It
	// is called from the goroutine that ran the recovery or the load,
	// under no session's lock.
	Recovery func(RecoveryInfo)
	// TimingSample times one run (and its checkpoint) in TimingSample of
	// each session; the others are reported with Timed false and no
	// Duration. Reading the wall clock costs more than the rest of
	// observing (50 to 200 ns a read, three reads a timed run), so
	// latency histograms sample (package metrics uses
	// metrics.TimingSample).
	// default: 0, every run is timed
	TimingSample int
}

// MacrostepInfo describes a completed run of a session. It is valid only
// during the Observer call.
type MacrostepInfo struct {
	SessionID string
	// Timed says whether Duration was measured (see
	// Observer.TimingSample).
	Timed bool
	// Duration is the wall time the interpreter took, without the
	// checkpoint (see CheckpointInfo).
	Duration time.Duration
	// Running is false when the session ended in this run.
	Running bool
	// Err is the run's error (a livelock, a checkpoint not written), or
	// nil.
	Err error

	sess *interp.Session
}

// Configuration returns the session's active atomic states after the
// run, in document order (its final configuration once it has ended).
// It allocates; call it only when needed.
func (m MacrostepInfo) Configuration() []string {
	if m.sess == nil {
		return nil
	}
	return m.sess.Configuration()
}

// TransitionInfo describes a transition taken.
type TransitionInfo struct {
	// SessionID is the session that took it: a top-level session, or an
	// invoked child ("<parent id>.<invokeid>").
	SessionID string
	// Transition is the document's transition: its Source, Targets,
	// Events, Cond and Type (immutable; it may be kept).
	Transition *scxml.Transition
	// Event is the event that enabled it, or nil for an eventless
	// transition. It is valid only during the call.
	Event *Event
}

// CheckpointOp says what a checkpoint did to a session's record.
type CheckpointOp uint8

// Checkpoint operations.
const (
	// CheckpointSave wrote the record of a running session.
	CheckpointSave CheckpointOp = iota
	// CheckpointDelete deleted the record of a session that ended.
	CheckpointDelete
	// CheckpointRefresh failed to refresh the time to live of a
	// hibernated session's record (persist.Expirer.Touch). Only failures
	// are reported: a sweep refreshes many records in one round trip.
	CheckpointRefresh
)

// String returns "save", "delete" or "refresh".
func (op CheckpointOp) String() string {
	switch op {
	case CheckpointDelete:
		return "delete"
	case CheckpointRefresh:
		return "refresh"
	}
	return "save"
}

// CheckpointInfo describes one checkpoint.
type CheckpointInfo struct {
	SessionID string
	Op        CheckpointOp
	// Seq is the checkpoint number (CheckpointSave).
	Seq uint64
	// Bytes is the size of the encoded snapshot (CheckpointSave; 0 when
	// encoding failed).
	Bytes int
	// Timed says whether Duration was measured (see
	// Observer.TimingSample).
	Timed bool
	// Duration is the wall time of encoding and the store's Save, or of
	// its Delete.
	Duration time.Duration
	// Err is nil when the store took it. Otherwise it wraps
	// ErrFenced and persist.ErrFenced when the store refused the write
	// because another node holds this node id at a higher epoch (a
	// fenced write), else ErrCheckpoint (a save or a deletion) or ErrRefresh
	// (CheckpointRefresh).
	Err error
}

// SessionEventKind is what happened to a session.
type SessionEventKind uint8

// Session events.
const (
	SessionStarted SessionEventKind = iota
	SessionEnded
	SessionHibernated
	SessionWoken
	SessionResumed
	SessionLost
	// SessionFenced: the session ended here because this node lost it
	// (persist.ErrFenced: another node was promoted to it, or adopted it).
	SessionFenced
)

var sessionEventNames = [...]string{"started", "ended", "hibernated", "woken", "resumed", "lost", "fenced"}

// String returns the event's name: "started", "ended", ...
func (k SessionEventKind) String() string {
	if int(k) < len(sessionEventNames) {
		return sessionEventNames[k]
	}
	return "unknown"
}

// SessionEvent describes a session event.
type SessionEvent struct {
	SessionID string
	Kind      SessionEventKind
	Type      SessionType
	// Doc is the name of the session's document.
	Doc string
	// Err says why a session was lost (SessionLost).
	Err error
}

// RecoveryInfo describes a recovery of a failed node's sessions on this
// engine (see Observer.Recovery).
type RecoveryInfo struct {
	// Node is the node whose sessions were recovered.
	Node string
	// Epoch is the epoch Node was raised to (fenced at); 0 for a
	// session loaded on demand.
	Epoch uint64
	// Lazy says the node was adopted (Adopt, a lazy Switchover): its
	// sessions are loaded on demand, each reported on its own with
	// SessionID set.
	Lazy bool
	// SessionID is set for one session of an adopted node loaded on
	// demand: Resumed or Failed is 1, Elapsed is the time its load took.
	SessionID string
	// Listed is how many sessions the node's index held (eager
	// recovery).
	Listed int
	// Resumed is how many sessions now run here; Failed how many could
	// not be resumed (their records are kept); NotRecovered how many the
	// node ran without persisting them (gone; eager recovery only: a lazy
	// Switchover gives them in its recovery.Report).
	Resumed, Failed, NotRecovered int
	// Elapsed is the wall time the recovery took.
	Elapsed time.Duration
	// Err is the error the recovery returned, if any.
	Err error
}

// ObserveRecovery tells the Observer (Observer.Recovery) and the Logger
// of a recovery run on this engine by code outside it: package recovery
// calls it at the end of Recover. The engine reports its own (Adopt and
// the sessions it loads on demand) itself.
func (e *Engine) ObserveRecovery(info RecoveryInfo) {
	if o := e.opts.Observer; o != nil && o.Recovery != nil {
		func() {
			defer e.observerPanic(info.SessionID, "Recovery")
			o.Recovery(info)
		}()
	}
	if e.log == nil || info.SessionID != "" {
		return // one line per recovery, not per session loaded
	}
	level := slog.LevelInfo
	if info.Err != nil || info.Failed > 0 {
		level = slog.LevelError
	}
	attrs := []slog.Attr{slog.String("from", info.Node), slog.Uint64("epoch", info.Epoch), slog.Bool("lazy", info.Lazy),
		slog.Int("resumed", info.Resumed), slog.Int("failed", info.Failed), slog.Int("not_recovered", info.NotRecovered),
		slog.Duration("elapsed", info.Elapsed)}
	if info.Err != nil {
		attrs = append(attrs, slog.Any("err", info.Err))
	}
	e.logAt(e.ctx, level, "recovery", attrs...)
}

// observeAdopted reports a session of adopted node a loaded on demand:
// s is nil when it could not be resumed.
func (e *Engine) observeAdopted(a *adoption, id string, s *Session, err error, t0 time.Time) {
	if o := e.opts.Observer; o == nil || o.Recovery == nil {
		return
	}
	info := RecoveryInfo{Node: a.node, Lazy: true, SessionID: id, Elapsed: time.Since(t0), Err: err}
	if s != nil {
		info.Resumed = 1
	}
	if err != nil {
		info.Failed = 1
	}
	e.ObserveRecovery(info)
}

// Persisted returns the number of running sessions, hibernated ones
// included, that are checkpointed (a voice session of a document
// without _persist="false", on an engine with a Store), as
// SessionInfo.Persisted says of each. It reads one counter.
func (e *Engine) Persisted() int { return int(e.persisted.Load()) }

// JoinObservers returns an Observer that calls each of obs in turn (nil
// ones and nil fields skipped), or nil when none has anything to call.
func JoinObservers(obs ...*Observer) *Observer {
	var live []*Observer
	for _, o := range obs {
		if o != nil {
			live = append(live, o)
		}
	}
	switch len(live) {
	case 0:
		return nil
	case 1:
		return live[0]
	}
	j := &Observer{}
	var (
		ms  []func(MacrostepInfo)
		trs []func(TransitionInfo)
		evs []func(string, string, *Event)
		ers []func(string, *Event, error)
		cps []func(CheckpointInfo)
		ses []func(SessionEvent)
		rcs []func(RecoveryInfo)
	)
	for _, o := range live {
		if o.Macrostep != nil {
			ms = append(ms, o.Macrostep)
		}
		if o.Transition != nil {
			trs = append(trs, o.Transition)
		}
		if o.Event != nil {
			evs = append(evs, o.Event)
		}
		if o.ErrorEvent != nil {
			ers = append(ers, o.ErrorEvent)
		}
		if o.Checkpoint != nil {
			cps = append(cps, o.Checkpoint)
		}
		if o.Session != nil {
			ses = append(ses, o.Session)
		}
		if o.Recovery != nil {
			rcs = append(rcs, o.Recovery)
		}
	}
	j.TimingSample = 0
	for _, o := range live { // the finest any of them asks for
		if o.TimingSample > 0 && (j.TimingSample == 0 || o.TimingSample < j.TimingSample) {
			j.TimingSample = o.TimingSample
		}
		if o.TimingSample <= 0 && (o.Macrostep != nil || o.Checkpoint != nil) {
			j.TimingSample = 1
			break
		}
	}
	j.Macrostep = fanout(ms)
	j.Transition = fanout(trs)
	if len(evs) > 0 {
		j.Event = func(id, child string, ev *Event) {
			for _, f := range evs {
				f(id, child, ev)
			}
		}
	}
	if len(ers) > 0 {
		j.ErrorEvent = func(id string, ev *Event, cause error) {
			for _, f := range ers {
				f(id, ev, cause)
			}
		}
	}
	j.Checkpoint = fanout(cps)
	j.Session = fanout(ses)
	j.Recovery = fanout(rcs)
	return j
}

// fanout returns a func calling each of fs in turn, or nil when fs is
// empty (so that an unset hook stays nil and costs nothing).
func fanout[T any](fs []func(T)) func(T) {
	if len(fs) == 0 {
		return nil
	}
	return func(v T) {
		for _, f := range fs {
			f(v)
		}
	}
}

// The engine's side: one nil check when nothing observes or logs.

// obsBase anchors the monotonic readings of runTimer.
var obsBase = time.Now()

// monoNow reads the monotonic clock, in ns since obsBase, plus one: zero
// means "not timed".
func monoNow() int64 { return int64(time.Since(obsBase)) + 1 }

// runObs is a session's observation state, under its mu: the runs
// counted for Observer.TimingSample, and when the interpreter finished
// the run being timed (0 when it is not), which starts its checkpoint.
type runObs struct {
	n   uint32
	mid int64
}

// beginRun returns the start of a run of s when it is timed, else 0.
// s.mu is held.
func (e *Engine) beginRun(s *Session) int64 {
	o := e.opts.Observer
	if o == nil || o.Macrostep == nil && o.Checkpoint == nil {
		return 0
	}
	s.obs.n++
	if o.TimingSample > 1 && s.obs.n%uint32(o.TimingSample) != 0 {
		return 0
	}
	return monoNow()
}

// endInterp marks the end of the interpreter's part of a timed run.
func (e *Engine) endInterp(s *Session, t0 int64) {
	if t0 != 0 {
		s.obs.mid = monoNow()
	}
}

// observeMacrostep reports a completed run of s. s.mu is held.
func (e *Engine) observeMacrostep(s *Session, t0 int64, err error) {
	mid := s.obs.mid
	s.obs.mid = 0
	o := e.opts.Observer
	if o == nil || o.Macrostep == nil {
		return
	}
	info := MacrostepInfo{SessionID: s.id, Err: err, sess: s.sess}
	if t0 != 0 && mid != 0 {
		info.Timed, info.Duration = true, time.Duration(mid-t0)
	}
	if s.sess != nil {
		info.Running = s.sess.Running()
	}
	defer e.observerPanic(s.id, "Macrostep")
	o.Macrostep(info)
}

// observeEvent reports an external event queued for s (or its child).
func (e *Engine) observeEvent(s *Session, child string, ev *Event) {
	if o := e.opts.Observer; o != nil && o.Event != nil {
		defer e.observerPanic(s.id, "Event")
		o.Event(s.id, child, ev)
	}
}

// checkpointTimer returns the start of a checkpoint of s when it is
// timed, else 0: the end of the timed run it follows, or now for a
// checkpoint outside a run (Session.Checkpoint) when every run is timed.
func (e *Engine) checkpointTimer(s *Session) int64 {
	o := e.opts.Observer
	if o == nil || o.Checkpoint == nil {
		return 0
	}
	if s.obs.mid != 0 {
		return s.obs.mid
	}
	if o.TimingSample <= 1 {
		return monoNow()
	}
	return 0
}

// observeCheckpoint reports a checkpoint; err is the one the call
// returns (wrapping ErrCheckpoint) or nil.
func (e *Engine) observeCheckpoint(s *Session, op CheckpointOp, t0 int64, bytes int, err error) {
	o := e.opts.Observer
	if o == nil || o.Checkpoint == nil {
		return
	}
	info := CheckpointInfo{SessionID: s.id, Op: op, Seq: s.cp.seq, Bytes: bytes, Err: err}
	if t0 != 0 {
		info.Timed, info.Duration = true, time.Duration(monoNow()-t0)
	}
	defer e.observerPanic(s.id, "Checkpoint")
	o.Checkpoint(info)
}

// observeRefresh reports a failed refresh of the record of s, a
// hibernated session (CheckpointRefresh). s.mu is held.
func (e *Engine) observeRefresh(s *Session, err error) {
	if o := e.opts.Observer; o != nil && o.Checkpoint != nil {
		defer e.observerPanic(s.id, "Checkpoint")
		o.Checkpoint(CheckpointInfo{SessionID: s.id, Op: CheckpointRefresh, Err: err})
	}
}

// observeSession reports a session event, and logs it. It also keeps the
// count of Persisted: a session enters e.sessions just before its
// SessionStarted or SessionResumed, and leaves it just before its one
// SessionEnded (retire), whatever ended it.
func (e *Engine) observeSession(s *Session, kind SessionEventKind, err error) {
	if e.opts.Store != nil && s.persisted() {
		switch kind {
		case SessionStarted, SessionResumed:
			e.persisted.Add(1)
		case SessionEnded:
			e.persisted.Add(-1)
		}
	}
	if o := e.opts.Observer; o != nil && o.Session != nil {
		e.observeSessionCall(o, SessionEvent{SessionID: s.id, Kind: kind, Type: s.typ, Doc: s.m.Document().Name, Err: err})
	}
	if e.log == nil {
		return
	}
	level := slog.LevelDebug
	switch kind {
	case SessionResumed:
		level = slog.LevelInfo
	case SessionLost, SessionFenced:
		level = slog.LevelError
	}
	if !e.log.Enabled(e.ctx, level) {
		return
	}
	attrs := []slog.Attr{e.sessionAttr(s.id), slog.String("doc", s.m.Document().Name), slog.String("type", string(s.typ))}
	if err != nil {
		attrs = append(attrs, slog.Any("err", err))
	}
	e.log.LogAttrs(e.ctx, level, "session "+kind.String(), attrs...)
}

// sessionAttr is the attribute naming a session in log records.
func (e *Engine) sessionAttr(id string) slog.Attr { return slog.String("session", id) }

// logAt logs msg at level with attrs when the logger takes that level.
func (e *Engine) logAt(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if e.log == nil || !e.log.Enabled(ctx, level) {
		return
	}
	e.log.LogAttrs(ctx, level, msg, attrs...)
}

// onTransition is the interp.Options.OnTransition of the engine's
// sessions when the Observer wants transitions.
func (e *Engine) onTransition(is *interp.Session, t *scxml.Transition, ev *Event) {
	defer e.observerPanic(is.ID(), "Transition")
	e.opts.Observer.Transition(TransitionInfo{SessionID: is.ID(), Transition: t, Event: ev})
}

// transitionHook returns onTransition when the Observer wants
// transitions, else nil (and the interpreter checks nothing more).
func (e *Engine) transitionHook() func(*interp.Session, *scxml.Transition, *Event) {
	if o := e.opts.Observer; o != nil && o.Transition != nil {
		return e.onTransition
	}
	return nil
}

// observeError reports an error event raised in a session, and logs it.
func (e *Engine) observeError(sessionID string, ev *Event, cause error) {
	if o := e.opts.Observer; o != nil && o.ErrorEvent != nil {
		e.observeErrorCall(o, sessionID, ev, cause)
	}
	if e.log != nil {
		e.logAt(e.ctx, slog.LevelWarn, "error event", e.sessionAttr(sessionID), slog.String("event", ev.Name), slog.Any("err", cause))
	}
}

// observerPanic, deferred around a call into the Observer, turns a panic
// there into an error wrapping ErrPanic for OnSessionError, as the
// engine does for every callback (panics.go): an observer's bug must not
// take the node down. Deferred with its arguments, it costs no
// allocation.
func (e *Engine) observerPanic(sessionID, what string) {
	if r := recover(); r != nil {
		e.sessionError(sessionID, fmt.Errorf("Observer.%s: %w: %v", what, ErrPanic, r))
	}
}

func (e *Engine) observeSessionCall(o *Observer, ev SessionEvent) {
	defer e.observerPanic(ev.SessionID, "Session")
	o.Session(ev)
}

func (e *Engine) observeErrorCall(o *Observer, sessionID string, ev *Event, cause error) {
	defer e.observerPanic(sessionID, "ErrorEvent")
	o.ErrorEvent(sessionID, ev, cause)
}
