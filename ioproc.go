package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/orsgo/engine/interp"
)

// IOProcessor is an Event I/O Processor (section 6.2, appendix C) that the
// engine runs beside its built-in SCXML one: Basic HTTP (package basichttp),
// or an embedder's own transport. The engine calls Send on a goroutine of
// its own, never while holding a session, so a processor may block on the
// network; what arrives from outside it hands to Engine.Send.
type IOProcessor interface {
	// Name is the processor's key in _ioprocessors ("basichttp").
	Name() string
	// Types are the <send type> values it handles; the first is the one
	// reported as _event.origintype.
	Types() []string
	// Open is called once by New, with the engine inbound events go to.
	Open(e *Engine) error
	// Location is a session's address, published in
	// _ioprocessors[Name()].location.
	Location(sessionID string) string
	// Send delivers ev from a session to target. An error becomes
	// error.communication in the sending session.
	Send(ctx context.Context, fromSessionID, target string, ev Event) error
	// Close stops the processor; the engine's Close calls it.
	Close() error
}

// TargetChecker is implemented by an IOProcessor that can tell, without
// sending, that a target is malformed for it (not a URL, say). The engine
// asks it before sending: such a target is an error in the document, so
// the session raises error.execution at once (section 6.2.4), not
// error.communication later.
type TargetChecker interface {
	CheckTarget(target string) error
}

// LocalResolver is implemented by an IOProcessor that can tell that a
// target is one of the addresses it serves for a session of this engine,
// and build, without its transport, the event that session would receive.
// The engine asks it before Send and, when the engine runs that session,
// delivers the event in process, in order with the sender's other sends:
// into the sender's own external queue during the <send> when the sender
// addresses itself (W3C test 201: it precedes a later <send> to itself),
// otherwise queued for the other session the way an SCXML send between
// sessions is. For any other target, or a session the engine does not
// run, Send is called as usual.
//
// ResolveLocal is called while the sending session is held: it must not
// block on the network nor call back into the engine.
type LocalResolver interface {
	// ResolveLocal reports whether target addresses a session of this
	// engine (ok), which one, and the event it would receive for ev (ev
	// as Send would be given it, origin included). A non-nil error means
	// the send cannot succeed by any path (its data cannot be encoded,
	// say): it becomes error.communication in the sending session.
	ResolveLocal(target string, ev Event) (sessionID string, in Event, ok bool, err error)
}

func (e *Engine) processorFor(typ string) IOProcessor {
	for _, p := range e.opts.IOProcessors {
		for _, t := range p.Types() {
			if t == typ {
				return p
			}
		}
	}
	return nil
}

func (e *Engine) ioLocations(id string) map[string]string {
	if len(e.opts.IOProcessors) == 0 {
		return nil
	}
	m := make(map[string]string, 2*len(e.opts.IOProcessors))
	for _, p := range e.opts.IOProcessors {
		loc := p.Location(id)
		m[p.Name()] = loc
		if t := p.Types(); len(t) > 0 {
			m[t[0]] = loc
		}
	}
	return m
}

// dispatchIO hands a <send> for another processor to it, asynchronously:
// the session goes on, and a failure comes back as error.communication.
func (e *Engine) dispatchIO(from *interp.Session, msg *interp.Message) error {
	p := e.processorFor(msg.Type)
	if p == nil {
		return fmt.Errorf("send type %q: %w", msg.Type, interp.ErrUnsupportedType)
	}
	if strings.TrimSpace(msg.Target) == "" {
		return fmt.Errorf("send type %q: no target: %w", msg.Type, interp.ErrUnreachable)
	}
	if tc, ok := p.(TargetChecker); ok {
		if err := tc.CheckTarget(msg.Target); err != nil {
			return fmt.Errorf("send type %q: %w: %w", msg.Type, err, interp.ErrInvalidTarget)
		}
	}
	sid, ev, target := from.ID(), msg.Event, msg.Target
	ev.Origin = p.Location(sid)
	ev.OriginType = p.Types()[0]
	if lr, ok := p.(LocalResolver); ok {
		id, in, local, err := lr.ResolveLocal(target, ev)
		if err != nil {
			return fmt.Errorf("send type %q: %w", msg.Type, err)
		}
		if local && e.deliverLocal(from, id, in) {
			return nil
		}
	}
	e.goAsync(func(ctx context.Context) {
		if err := p.Send(ctx, sid, target, ev); err != nil {
			e.onErrorID(sid, err)
			_ = e.Post(sid, Event{Name: interp.EventErrorCommunication, Type: interp.Platform, SendID: ev.SendID})
		}
	})
	return nil
}

// deliverLocal delivers ev, which an I/O processor resolved to session id
// of this engine, in process. It reports false when the engine runs no
// such session.
func (e *Engine) deliverLocal(from *interp.Session, id string, ev Event) bool {
	if strings.HasPrefix(id, rootOf(from).ID()+".") {
		// A child of the sender's own tree, maybe invoked in this very
		// macrostep: not in the directory until the macrostep ends.
		e.noteSubscriptions(from)
	}
	to, kid := e.route(id)
	if to == nil {
		return false
	}
	if id == from.ID() {
		// The sender itself, held by this goroutine in the middle of its
		// macrostep: straight into its external queue, behind what it
		// queued before and ahead of what it queues after, as a <send>
		// to "#_scxml_<own id>" would be (an invoked child included).
		from.Enqueue(ev)
		return true
	}
	// Another session: as Dispatch posts an SCXML send, processed in
	// order once the sender's macrostep is over.
	e.enqueue(to, kid, ev)
	return true
}

// goAsync runs f on its own goroutine, counted by Quiesce.
func (e *Engine) goAsync(f func(ctx context.Context)) {
	e.inflight.Add(1)
	go func() {
		defer e.inflight.Add(-1)
		f(e.ctx)
	}()
}

// Post queues ev for the session and returns at once; the event is
// processed on another goroutine. Unlike Send it may be called from inside
// the engine's callbacks (an extension's action, a host function, an
// I/O processor's Send) without deadlocking on the session.
func (e *Engine) Post(sessionID string, ev Event) error {
	s, kid := e.route(sessionID)
	if s == nil {
		return fmt.Errorf("engine: post %q to %s: %w", ev.Name, sessionID, ErrNoSession)
	}
	e.enqueue(s, kid, ev)
	e.goAsync(func(context.Context) { e.drain() })
	return nil
}

// Quiesce waits until nothing the engine started is in flight: no I/O
// processor send, no posted event unprocessed. Replays on a ManualClock
// call it before moving time, so that network round trips complete
// "instantly" in simulated time.
func (e *Engine) Quiesce(ctx context.Context) error {
	for e.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}
