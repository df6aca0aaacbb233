package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/orsgo/engine/interp"
)

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
	if err := e.ready(ctx, "send to", sessionID); err != nil {
		return err
	}
	if err := checkEvent("send to", sessionID, &ev); err != nil {
		return err
	}
	s, kid := e.route(sessionID)
	if s == nil && e.adopting() {
		// A session of an adopted node, not loaded yet (fence.go).
		if _, err := e.adopt(ctx, sessionID); err == nil {
			s, kid = e.route(sessionID)
		}
	}
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

func (s *Session) post(ev Event) {
	s.in.mu.Lock()
	s.in.events = append(s.in.events, ev)
	s.in.mu.Unlock()
}

func (e *Engine) drain() {
	for e.rt.n.Load() > 0 {
		e.mu.Lock()
		if len(e.rt.runnable) == 0 {
			e.mu.Unlock()
			return
		}
		s := e.rt.runnable[0]
		e.rt.runnable[0] = nil
		e.rt.runnable = e.rt.runnable[1:]
		e.rt.n.Store(int32(len(e.rt.runnable)))
		e.mu.Unlock()
		s.in.mu.Lock()
		s.in.queued = false
		s.in.mu.Unlock()
		e.sessionError(s.id, e.process(e.ctx, s, false)) // no caller waits for it
	}
}

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
	s.in.mu.Lock()
	queue := !s.in.queued
	s.in.queued = true
	s.in.mu.Unlock()
	if queue {
		e.mu.Lock()
		e.rt.runnable = append(e.rt.runnable, s)
		e.rt.n.Store(int32(len(e.rt.runnable)))
		e.mu.Unlock()
	}
}

// noteSubscriptions copies the subscriptions of an interpreter session
// into its engine session, where Publish reads them without the session's
// lock: those of a top-level session into its subs, those of an invoked
// child into its top-level session's directory of children (which it
// rebuilds). Called from inside the session's processing, or at resume.
func (e *Engine) noteSubscriptions(is *interp.Session) {
	root := rootOf(is)
	e.mu.Lock()
	s := e.sessions[root.ID()]
	e.mu.Unlock()
	if s == nil {
		// A child its parent cancelled, running its onexit handlers:
		// it can no longer be reached.
		return
	}
	if root == is {
		subs := is.Subscriptions()
		s.rt.subs.Store(&subs)
	}
	s.setChildren(root.AppendChildren(nil))
}

// rootOf returns the top-level session is runs in (is itself when it is
// one, or a child its parent cancelled).
func rootOf(is *interp.Session) *interp.Session {
	for p := is.Parent(); p != nil; p = is.Parent() {
		is = p
	}
	return is
}

// Publish delivers an event of the named extension to one session,
// asynchronously like Post: the name must start with the extension's
// EventPrefix (ErrNotOwned) and the session must have subscribed to it
// (ErrNotSubscribed). Extensions call it when their service answers.
//
// sessionID may name an invoked SCXML child (see Engine.Send for how
// children are addressed): a child subscribes when it runs one of the
// extension's actions, and the event is processed by its top-level
// session's macrostep machinery, as the child's other events are.
func (e *Engine) Publish(extension, sessionID string, ev Event) error {
	if err := e.open("publish to", sessionID); err != nil {
		return err
	}
	if err := checkEvent("publish to", sessionID, &ev); err != nil {
		return err
	}
	ext, err := e.owned(extension, ev.Name)
	if err != nil {
		return err
	}
	s, kid := e.route(sessionID)
	switch {
	case s == nil:
		return fmt.Errorf("engine: publish %q to %s: %w", ev.Name, sessionID, ErrNoSession)
	case kid == nil && !s.subscribed(ext.EventPrefix), kid != nil && !kid.subscribed(ext.EventPrefix):
		return fmt.Errorf("engine: publish %q to %s: %w", ev.Name, sessionID, ErrNotSubscribed)
	}
	e.enqueue(s, kid, ev)
	e.goAsync(func(context.Context) { e.drain() })
	return nil
}

// Broadcast delivers an event of the named extension to every session
// subscribed to it, invoked SCXML children included, and returns how many
// it reached.
func (e *Engine) Broadcast(extension string, ev Event) (int, error) {
	if err := e.open("broadcast", ""); err != nil {
		return 0, err
	}
	if err := checkEvent("broadcast", "", &ev); err != nil {
		return 0, err
	}
	ext, err := e.owned(extension, ev.Name)
	if err != nil {
		return 0, err
	}
	type childTarget struct {
		s   *Session
		kid *childEntry
	}
	var kids []childTarget
	e.mu.Lock()
	targets := make([]*Session, 0, len(e.sessions))
	for _, s := range e.sessions {
		if s.subscribed(ext.EventPrefix) {
			targets = append(targets, s)
		}
		if d := s.rt.children.Load(); d != nil {
			for i := range d.kids {
				if k := &d.kids[i]; k.subscribed(ext.EventPrefix) {
					kids = append(kids, childTarget{s, k})
				}
			}
		}
	}
	e.mu.Unlock()
	// All queued, then drained once: not a goroutine per session.
	for _, s := range targets {
		e.enqueue(s, nil, ev)
	}
	for _, k := range kids {
		e.enqueue(k.s, k.kid, ev)
	}
	n := len(targets) + len(kids)
	if n > 0 {
		e.goAsync(func(context.Context) { e.drain() })
	}
	return n, nil
}

func (e *Engine) owned(extension, name string) (*Extension, error) {
	ext, err := e.Extension(extension)
	if err != nil {
		return nil, err
	}
	if ext.EventPrefix == "" || !strings.HasPrefix(name, ext.EventPrefix) {
		return nil, fmt.Errorf("engine: extension %s publishes %q: %w %q", extension, name, ErrNotOwned, ext.EventPrefix)
	}
	return ext, nil
}

// PostInvoke delivers an event from an invoked service to the session
// that invoked it (its InvokeID set, so that <finalize> runs), like Post.
// An event named "done.invoke.<invokeID>" ends the invocation.
//
// sessionID is the one Invoker.Invoke was given, which names an invoked
// SCXML child when the child invoked the service (see Engine.Send).
func (e *Engine) PostInvoke(sessionID, invokeID string, ev Event) error {
	if err := e.open("post from an invocation to", sessionID); err != nil {
		return err
	}
	if invokeID == "" {
		return fmt.Errorf("engine: post %q to %s: empty invoke id: %w", ev.Name, sessionID, ErrInvalidEvent)
	}
	if err := checkEvent("post from an invocation to", sessionID, &ev); err != nil {
		return err
	}
	ev.InvokeID = invokeID
	ev.Type = interp.External
	s, kid := e.route(sessionID)
	switch {
	case s == nil:
		return fmt.Errorf("engine: post %q from invocation %q to %s: %w", ev.Name, invokeID, sessionID, ErrNoSession)
	}
	e.enqueue(s, kid, ev)
	e.goAsync(func(context.Context) { e.drain() })
	return nil
}

// subscribed reports whether the session subscribed to prefix (or to one
// of its prefixes).
func (s *Session) subscribed(prefix string) bool {
	p := s.rt.subs.Load()
	if p == nil {
		return false
	}
	return slices.ContainsFunc(*p, func(sub string) bool { return strings.HasPrefix(prefix, sub) })
}

// Subscriptions returns the event prefixes the session subscribed to.
func (s *Session) Subscriptions() []string {
	if p := s.rt.subs.Load(); p != nil {
		return slices.Clone(*p)
	}
	return nil
}

// subsPtr is the engine session's copy of its subscriptions.
type subsPtr = atomic.Pointer[[]string]

// Invoked children. An SCXML session invoked by another runs inside its
// top-level engine session (package interp) under an id of its own,
// "<parent id>.<invokeid>" at every depth. The engine keeps, per
// top-level session, a directory of its running children with their
// subscriptions (childDir), so that Send, Publish, PostInvoke,
// Broadcast and #_scxml_<id> targets reach a child by its id; the events
// wait in the top-level session's childInbox and are enqueued to the
// child when the top-level session is processed, whose macrostep runs
// the child's work as it runs all of its children's.

// childDir lists the running invoked children of one top-level session,
// parents before their children. It is replaced, never modified, so that
// Publish reads it without the session's lock.
type childDir struct {
	kids []childEntry
}

type childEntry struct {
	id   string
	subs []string
	// is tells noteChildren whether the tree changed; read under the
	// session's lock only.
	is *interp.Session
}

// childrenPtr is the engine session's directory of children; nil when it
// has none.
type childrenPtr = atomic.Pointer[childDir]

// childEvent is an event for an invoked child, waiting in its top-level
// session's childInbox.
type childEvent struct {
	to string
	ev Event
}

func (d *childDir) find(id string) *childEntry {
	if d == nil {
		return nil
	}
	for i := range d.kids {
		if d.kids[i].id == id {
			return &d.kids[i]
		}
	}
	return nil
}

func (k *childEntry) subscribed(prefix string) bool {
	return slices.ContainsFunc(k.subs, func(sub string) bool { return strings.HasPrefix(prefix, sub) })
}

// setChildren makes kids (from interp.Session.AppendChildren) the
// session's directory of children.
func (s *Session) setChildren(kids []*interp.Session) {
	if len(kids) == 0 {
		if s.rt.children.Load() != nil {
			s.rt.children.Store(nil)
		}
		return
	}
	d := &childDir{kids: make([]childEntry, len(kids))}
	for i, c := range kids {
		d.kids[i] = childEntry{id: c.ID(), subs: c.Subscriptions(), is: c}
	}
	s.rt.children.Store(d)
}

// noteChildren brings the session's directory of children up to date
// after a macrostep: children started or ended, or a tree restored from
// a snapshot (subscriptions changed only by actions, which noted them).
// s.mu held. For a session that has and had no children it is inlined
// and allocates nothing.
func (e *Engine) noteChildren(s *Session) {
	if s.scratch == nil {
		s.scratch = &scratch{}
	}
	s.scratch.kids = s.sess.AppendChildren(s.scratch.kids[:0])
	if len(s.scratch.kids) == 0 && s.rt.children.Load() == nil {
		return
	}
	s.syncChildren()
}

func (s *Session) syncChildren() {
	d := s.rt.children.Load()
	same := d != nil && len(d.kids) == len(s.scratch.kids)
	for i := 0; same && i < len(d.kids); i++ {
		same = d.kids[i].is == s.scratch.kids[i]
	}
	if !same {
		s.setChildren(s.scratch.kids)
	}
	clear(s.scratch.kids) // hold no ended session
}

// route finds the engine session an event for sessionID goes to: the
// top-level session of that id (kid nil), or the top-level session
// running the invoked child of that id (whose id starts with the
// top-level session's, then a dot). s is nil when neither runs.
func (e *Engine) route(sessionID string) (s *Session, kid *childEntry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s := e.sessions[sessionID]; s != nil {
		return s, nil
	}
	for i := 1; i < len(sessionID); i++ {
		if sessionID[i] != '.' {
			continue
		}
		if s := e.sessions[sessionID[:i]]; s != nil {
			if kid := s.rt.children.Load().find(sessionID); kid != nil {
				return s, kid
			}
		}
	}
	return nil, nil
}

func (s *Session) postChild(id string, ev Event) {
	s.in.mu.Lock()
	s.in.kids = append(s.in.kids, childEvent{to: id, ev: ev})
	s.in.mu.Unlock()
}

// sendChild is Session.Send for the child id of s.
func (s *Session) sendChild(ctx context.Context, id string, ev Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ev.Type == interp.Internal || ev.Type == interp.Platform {
		ev.Type = interp.External
	}
	s.postChild(id, ev)
	err := s.e.process(ctx, s, true)
	s.e.drain()
	return err
}

// Post queues ev for the session and returns at once; the event is
// processed on another goroutine. Unlike Send it may be called from inside
// the engine's callbacks (an extension's action, a host function, an
// I/O processor's Send) without deadlocking on the session.
func (e *Engine) Post(sessionID string, ev Event) error {
	if err := e.open("post to", sessionID); err != nil {
		return err
	}
	if err := checkEvent("post to", sessionID, &ev); err != nil {
		return err
	}
	s, kid := e.route(sessionID)
	if s == nil {
		return fmt.Errorf("engine: post %q to %s: %w", ev.Name, sessionID, ErrNoSession)
	}
	e.enqueue(s, kid, ev)
	e.goAsync(func(context.Context) { e.drain() })
	return nil
}

// runQueue holds the sessions that received events from other sessions
// and wait for drain.
type runQueue struct {
	runnable []*Session // Engine.mu
	// n is len(runnable), written under Engine.mu, read without it by
	// drain so that a Send with nothing to route takes no engine lock.
	n atomic.Int32
}

// inbox holds the events posted to one session until process enqueues
// them into its interpreter session.
type inbox struct {
	mu     sync.Mutex
	events []Event
	kids   []childEvent // events for its invoked children
	queued bool         // in Engine.rt.runnable
}

// sessionDir is what routing knows of one top-level session without its
// lock: its subscriptions and its invoked children.
type sessionDir struct {
	// subs mirrors the interpreter session's subscriptions, for Publish.
	subs subsPtr
	// children is the directory of its running invoked children, for
	// addressing them by id.
	children childrenPtr
}
