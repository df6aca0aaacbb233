package engine

import (
	"context"
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
// ResolveLocal is called while the sending session is held, during its
// macrostep (it decides where the event goes, interp.Host.Route): it must
// not block on the network nor call back into the engine. CheckTarget is
// called there too.
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
		var loc string
		e.guarded(id, "I/O processor "+p.Name()+": Location", func() { loc = p.Location(id) })
		m[p.Name()] = loc
		if t := p.Types(); len(t) > 0 {
			m[t[0]] = loc
		}
	}
	return m
}
