package engine

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/orsgo/engine/interp"
)

// The host and the outbox. During a macrostep the interpreter asks the
// engine's host where each outbound event goes (Route: a lookup that
// delivers nothing); everything the macrostep does to the world lands in
// the interpreter session's outbox (interp.Effect). After the macrostep
// the engine takes the outbox, still holding the session, then releases
// the session's lock and carries the effects out in order (carry, in
// session.go's macrostep driver): deliveries to other sessions, I/O
// processor sends, extensions' Invoke, Event and Cancel, Options.Log,
// OnError and the Observer's ErrorEvent. So no callback runs under the
// session's lock: a callback may read the session, Post to it, and Send
// to other sessions.

// host is the interp.Host of every session of the engine.
type host struct{ e *Engine }

// outbox is the work the engine carries out for its sessions off their
// lock on goroutines of its own: I/O processor sends and the drains of
// posted events.
type outbox struct {
	// inflight counts it, for Quiesce; Engine.ctx aborts it.
	inflight atomic.Int64
}

// Route implements interp.Host: where an event for a target outside the
// session tree goes, decided during the macrostep without delivering it
// (the effect is carried out after it). Errors found here are raised in
// the same macrostep: an unknown I/O processor or a malformed target
// (error.execution), a session this engine does not run
// (error.communication, W3C test 496).
func (h host) Route(from *interp.Session, msg *interp.Message) (interp.RouteDecision, error) {
	e := h.e
	if _, ok := strings.CutPrefix(msg.Target, "#_"); ok && e.ext.invokers[msg.Type] != nil {
		return interp.RouteOutbox, nil // an extension's invocation: Invoker.Event
	}
	if msg.Type != "" {
		var dec interp.RouteDecision
		err := guard(fmt.Sprintf("send type %q: I/O processor", msg.Type), func() (err error) {
			dec, err = e.routeIO(from, msg)
			return err
		})
		return dec, err
	}
	id, ok := strings.CutPrefix(msg.Target, "#_scxml_")
	if !ok {
		return interp.RouteOutbox, fmt.Errorf("send target %q: %w", msg.Target, interp.ErrInvalidTarget)
	}
	if to, _ := e.route(id); to == nil && !e.adopting() {
		return interp.RouteOutbox, fmt.Errorf("send target %q: no session %s: %w", msg.Target, id, interp.ErrUnreachable)
	}
	// Perhaps a session of an adopted node, not loaded yet: it is loaded
	// (fence.go) when the effect is carried out.
	return interp.RouteOutbox, nil
}

// CheckInvoke implements interp.Invoker: the invoke types extensions run,
// for top-level sessions and invoked children alike.
func (h host) CheckInvoke(_ *interp.Session, typ string) error {
	if h.e.ext.invokers[typ] == nil {
		known := slices.Sorted(maps.Keys(h.e.ext.invokers))
		return fmt.Errorf("invoke type %q (the engine runs SCXML and %v): %w", typ, known, interp.ErrUnsupportedType)
	}
	return nil
}

// routeIO is Route for a <send> to another I/O processor: the checks
// that need no network, and the in-process loopback of a target the
// processor resolves to a session of this engine (LocalResolver). A
// session addressing itself gets the event at once (RouteSelf: W3C test
// 201, it precedes a later <send> to itself); another session of this
// engine gets it as an SCXML send would (msg rewritten to its
// #_scxml_<id>).
func (e *Engine) routeIO(from *interp.Session, msg *interp.Message) (interp.RouteDecision, error) {
	p := e.processorFor(msg.Type)
	if p == nil {
		return interp.RouteOutbox, fmt.Errorf("send type %q: %w", msg.Type, interp.ErrUnsupportedType)
	}
	if strings.TrimSpace(msg.Target) == "" {
		return interp.RouteOutbox, fmt.Errorf("send type %q: no target: %w", msg.Type, interp.ErrUnreachable)
	}
	if tc, ok := p.(TargetChecker); ok {
		if err := tc.CheckTarget(msg.Target); err != nil {
			return interp.RouteOutbox, fmt.Errorf("send type %q: %w: %w", msg.Type, err, interp.ErrInvalidTarget)
		}
	}
	lr, ok := p.(LocalResolver)
	if !ok {
		return interp.RouteOutbox, nil
	}
	id, in, local, err := lr.ResolveLocal(msg.Target, e.ioEvent(p, from.ID(), msg.Event))
	switch {
	case err != nil:
		return interp.RouteOutbox, fmt.Errorf("send type %q: %w", msg.Type, err)
	case !local:
		return interp.RouteOutbox, nil
	case id == from.ID():
		// The sender itself, in the middle of its macrostep: straight
		// into its external queue, behind what it queued before and
		// ahead of what it queues after, as a <send> to
		// "#_scxml_<own id>" would be (an invoked child included).
		msg.Event = in
		return interp.RouteSelf, nil
	}
	if strings.HasPrefix(id, rootOf(from).ID()+".") {
		// A child of the sender's own tree, maybe invoked in this very
		// macrostep: not in the directory until the macrostep ends.
		e.noteSubscriptions(from)
	}
	if to, _ := e.route(id); to == nil {
		return interp.RouteOutbox, nil // not run here: over the network
	}
	// Another session of this engine: as an SCXML send between sessions,
	// processed in order once the sender's macrostep is over.
	*msg = interp.Message{Target: "#_scxml_" + id, Event: in}
	return interp.RouteOutbox, nil
}

// ioEvent is ev as I/O processor p sends it from session sid: with its
// origin.
func (e *Engine) ioEvent(p IOProcessor, sid string, ev Event) Event {
	ev.Origin = p.Location(sid)
	ev.OriginType = p.Types()[0]
	return ev
}

// carryOut carries out one effect of a macrostep, off the session's
// lock. A failure the session must hear of comes back to it as an event
// (error.communication, or error.execution for a service that would not
// start), as for an I/O processor's asynchronous send; OnError and the
// Observer hear of it too.
func (e *Engine) carryOut(fx *interp.Effect) {
	switch fx.Kind {
	case interp.EffectSend:
		e.carrySend(fx)
	case interp.EffectInvoke:
		req := fx.Invoke
		ivk := e.ext.invokers[req.Type]
		if ivk == nil { // checked by CheckInvoke: an engine's invokers do not change
			return
		}
		err := guard(fmt.Sprintf("invoke type %q: Invoke", req.Type), func() error { return ivk.Invoke(fx.From, req) })
		if err != nil {
			e.failBack(fx.From, interp.EventErrorExecution, "", "invoke", fmt.Errorf("%s: %w", fx.At, err))
		}
	case interp.EffectCancelInvoke:
		if ivk := e.ext.invokers[fx.InvokeType]; ivk != nil {
			e.guarded(fx.From, fmt.Sprintf("invoke type %q: Cancel of %q", fx.InvokeType, fx.InvokeID), func() { ivk.Cancel(fx.From, fx.InvokeID) })
		}
	case interp.EffectLog:
		if e.opts.Log != nil {
			e.guarded(fx.From, "Log", func() { e.opts.Log(fx.From, fx.Label, fx.Value) })
		}
		if e.log != nil {
			e.logAt(e.ctx, slog.LevelInfo, "log", e.sessionAttr(fx.From), slog.String("doc", fx.Doc),
				slog.String("label", fx.Label), slog.Any("value", fx.Value))
		}
	case interp.EffectError:
		e.onError(fx.From, fx.Event, fx.Cause)
	}
}

// carrySend delivers the event of an EffectSend.
func (e *Engine) carrySend(fx *interp.Effect) {
	msg := &fx.Message
	if ivk := e.ext.invokers[msg.Type]; ivk != nil && strings.HasPrefix(msg.Target, "#_") {
		id := msg.Target[2:]
		err := guard(fmt.Sprintf("invoke type %q: Event to %q", msg.Type, id), func() error { return ivk.Event(fx.From, id, msg.Event) })
		if err != nil {
			e.failBack(fx.From, interp.EventErrorCommunication, msg.Event.SendID, "send", err)
		}
		return
	}
	if msg.Type != "" {
		e.sendIO(fx.From, msg)
		return
	}
	id := strings.TrimPrefix(msg.Target, "#_scxml_")
	if to, kid := e.route(id); to != nil {
		e.enqueue(to, kid, msg.Event)
		return
	}
	sender, ev := fx.From, msg.Event
	if e.adopting() {
		// Perhaps a session of an adopted node, not loaded yet: it is
		// loaded (fence.go) and the event delivered off the sender's
		// run; a session that turns out not to exist is reported to
		// OnError as error.communication of the sender.
		e.goAsync(func(ctx context.Context) {
			if err := e.Send(ctx, id, ev); err != nil {
				e.onErrorID(sender, fmt.Errorf("send target %q: %w", msg.Target, err))
			}
		})
		return
	}
	// Routed when the <send> ran, gone since.
	e.failBack(sender, interp.EventErrorCommunication, ev.SendID, "send",
		fmt.Errorf("send target %q: no session %s: %w", msg.Target, id, interp.ErrUnreachable))
}

// sendIO hands a <send> for another processor to it, asynchronously: the
// session goes on, and a failure comes back as error.communication.
func (e *Engine) sendIO(sid string, msg *interp.Message) {
	p := e.processorFor(msg.Type)
	if p == nil { // checked by Route: an engine's processors do not change
		return
	}
	var ev Event
	if err := guard(fmt.Sprintf("send type %q: I/O processor", msg.Type), func() error { ev = e.ioEvent(p, sid, msg.Event); return nil }); err != nil {
		e.failBack(sid, interp.EventErrorCommunication, msg.Event.SendID, "send", err)
		return
	}
	target := msg.Target
	e.goAsync(func(ctx context.Context) {
		err := guard(fmt.Sprintf("I/O processor %s: Send", p.Name()), func() error { return p.Send(ctx, sid, target, ev) })
		if err != nil {
			// The <send> ran in an earlier macrostep: its position is in
			// what OnError heard.
			e.failBack(sid, interp.EventErrorCommunication, ev.SendID, "send", err)
		}
	})
}

// failBack tells a session, by an event (name) posted to it, that an
// effect of one of its macrosteps failed, and OnError and the Observer
// why.
func (e *Engine) failBack(sessionID, name, sendID, tag string, err error) {
	ev := Event{Name: name, Type: interp.Platform, SendID: sendID, Data: map[string]any{"tagname": tag, "reason": err.Error()}}
	e.onError(sessionID, &ev, err)
	_ = e.Post(sessionID, ev)
}

func (e *Engine) onError(sessionID string, ev *Event, cause error) {
	if e.opts.OnError != nil {
		e.guarded(sessionID, "OnError", func() { e.opts.OnError(sessionID, ev, cause) })
	}
	e.observeError(sessionID, ev, cause)
}

func (e *Engine) onErrorID(sessionID string, cause error) {
	e.onError(sessionID, &Event{Name: interp.EventErrorCommunication, Type: interp.Platform}, cause)
}

// Globals implements interp.SessionHost: an invoked child's host objects
// are made for the child's own session id.
func (h host) Globals(sessionID string) map[string]any { return h.e.globals(sessionID) }

// IOProcessors implements interp.SessionHost: an invoked child has
// locations of its own (a Basic HTTP POST to it reaches it through Post).
func (h host) IOProcessors(sessionID string) map[string]string { return h.e.ioLocations(sessionID) }

var (
	_ interp.Host        = host{}
	_ interp.Invoker     = host{}
	_ interp.SessionHost = host{}
)

// goAsync runs f on its own goroutine, counted by Quiesce.
func (e *Engine) goAsync(f func(ctx context.Context)) {
	e.out.inflight.Add(1)
	go func() {
		defer e.out.inflight.Add(-1)
		// Extension code is guarded where it is called; this is the last
		// line, so that nothing on the engine's goroutines crashes the node.
		if err := guard("engine goroutine", func() error { f(e.ctx); return nil }); err != nil {
			e.sessionError("", err)
		}
	}()
}

// Quiesce waits until nothing the engine started is in flight: no I/O
// processor send, no posted event unprocessed. Replays on a ManualClock
// call it before moving time, so that network round trips complete
// "instantly" in simulated time.
func (e *Engine) Quiesce(ctx context.Context) error {
	for e.out.inflight.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}
