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

func (e *Engine) onError(is *interp.Session, ev *Event, cause error) {
	if e.opts.OnError != nil {
		e.guarded(is.ID(), "OnError", func() { e.opts.OnError(is.ID(), ev, cause) })
	}
	e.observeError(is.ID(), ev, cause)
}

// host is the interp.Host of every session of the engine.
type host struct{ e *Engine }

// outbox is the work the engine carries out for its sessions off their
// lock: I/O processor sends and the drains of posted events.
type outbox struct {
	// inflight counts it, for Quiesce; Engine.ctx aborts it.
	inflight atomic.Int64
}

func (h host) Log(from *interp.Session, label string, value any) {
	if h.e.opts.Log != nil {
		h.e.guarded(from.ID(), "Log", func() { h.e.opts.Log(from.ID(), label, value) })
	}
	if h.e.log != nil {
		h.e.logAt(h.e.ctx, slog.LevelInfo, "log", h.e.sessionAttr(from.ID()), slog.String("doc", from.Machine().Document().Name),
			slog.String("label", label), slog.Any("value", value))
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
	if to == nil && e.adopting() {
		// Perhaps a session of an adopted node, not loaded yet: it is
		// loaded (fence.go) and the event delivered off the sender's
		// macrostep; a session that turns out not to exist is reported
		// to OnError as error.communication of the sender.
		sender, ev := from.ID(), msg.Event
		e.goAsync(func(ctx context.Context) {
			if err := e.Send(ctx, id, ev); err != nil {
				e.onErrorID(sender, fmt.Errorf("send target %q: %w", msg.Target, err))
			}
		})
		return nil
	}
	if to == nil {
		return fmt.Errorf("send target %q: no session %s: %w", msg.Target, id, interp.ErrUnreachable)
	}
	e.enqueue(to, kid, msg.Event)
	return nil
}

func (e *Engine) onErrorID(sessionID string, cause error) {
	ev := &Event{Name: interp.EventErrorCommunication, Type: interp.Platform}
	if e.opts.OnError != nil {
		e.guarded(sessionID, "OnError", func() { e.opts.OnError(sessionID, ev, cause) })
	}
	e.observeError(sessionID, ev, cause)
}

// Invoke implements interp.Invoker for the engine's host: extensions'
// invoke types, for top-level sessions and invoked children alike (from
// is the invoking session; a child's id addresses it, see Engine.Send).
func (h host) Invoke(from *interp.Session, req *interp.InvokeRequest) error {
	ivk := h.e.ext.invokers[req.Type]
	if ivk == nil {
		known := slices.Sorted(maps.Keys(h.e.ext.invokers))
		return fmt.Errorf("invoke type %q (the engine runs SCXML and %v): %w", req.Type, known, interp.ErrUnsupportedType)
	}
	if from.Parent() != nil {
		// A child started in this macrostep is not in its top-level
		// session's directory yet, and the service may answer at once.
		h.e.noteSubscriptions(from)
	}
	return guard(fmt.Sprintf("invoke type %q: Invoke", req.Type), func() error { return ivk.Invoke(from.ID(), req) })
}

// CancelInvoke implements interp.Invoker.
func (h host) CancelInvoke(from *interp.Session, invokeID, typ string) {
	if ivk := h.e.ext.invokers[typ]; ivk != nil {
		h.e.guarded(from.ID(), fmt.Sprintf("invoke type %q: Cancel of %q", typ, invokeID), func() { ivk.Cancel(from.ID(), invokeID) })
	}
}

// dispatchInvoke delivers a session's event to an extension's invocation
// ("#_<invokeid>" with the invoke type); ok is false when msg is not for
// one.
func (h host) dispatchInvoke(from *interp.Session, msg *interp.Message) (ok bool, err error) {
	ivk := h.e.ext.invokers[msg.Type]
	id, isInvoke := strings.CutPrefix(msg.Target, "#_")
	if ivk == nil || !isInvoke {
		return false, nil
	}
	return true, guard(fmt.Sprintf("invoke type %q: Event to %q", msg.Type, id), func() error { return ivk.Event(from.ID(), id, msg.Event) })
}

// Globals implements interp.SessionHost: an invoked child's host objects
// are made for the child's own session id.
func (h host) Globals(sessionID string) map[string]any { return h.e.globals(sessionID) }

// IOProcessors implements interp.SessionHost: an invoked child has
// locations of its own (a Basic HTTP POST to it reaches it through Post).
func (h host) IOProcessors(sessionID string) map[string]string { return h.e.ioLocations(sessionID) }

var (
	_ interp.Invoker     = host{}
	_ interp.SessionHost = host{}
)

// dispatchIO hands a <send> for another processor to it, asynchronously:
// the session goes on, and a failure comes back as error.communication.
func (e *Engine) dispatchIO(from *interp.Session, msg *interp.Message) error {
	return guard(fmt.Sprintf("send type %q: I/O processor", msg.Type), func() error { return e.sendIO(from, msg) })
}

func (e *Engine) sendIO(from *interp.Session, msg *interp.Message) error {
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
		err := guard(fmt.Sprintf("I/O processor %s: Send", p.Name()), func() error { return p.Send(ctx, sid, target, ev) })
		if err != nil {
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
