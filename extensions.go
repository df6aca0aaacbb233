package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

// Extension adds a vocabulary to the engine's documents, the way
// Orchestration Server's queue, interaction and agent functions extend
// SCXML: custom actions in an XML namespace of its own, a host object in
// the ECMAScript datamodel, invoke types, and a prefix of event names it
// owns. Every part is optional.
type Extension struct {
	// Name identifies the extension. Its host object is
	// <Options.HostObject>.<Name> in every ECMAScript session
	// (_genesys.queue, say). [A-Za-z_][A-Za-z0-9_]*.
	Name string
	// Namespace is the XML namespace URI of its custom actions. Required
	// with Actions; no two extensions share one.
	Namespace string
	// Actions run its custom executable content, by element local name
	// (<q:submit> in Namespace runs Actions["submit"]). A session that
	// runs any of them subscribes to EventPrefix; so does an invoked
	// SCXML child, under its own session id (see Engine.Send).
	Actions map[string]interp.Action
	// Object returns the members of the extension's host object for one
	// session: Go functions and values, converted by goja. It is called
	// when a session is created or restored, so functions may close over
	// the session id (an invoked SCXML child gets its own object, for its
	// own id); host objects are never snapshotted.
	Object func(sessionID string) map[string]any
	// Invokers run the invoke types the extension owns, by the value of
	// <invoke type>.
	Invokers map[string]Invoker
	// EventPrefix is the prefix of the event names the extension may
	// publish ("queue."): Publish refuses others, and delivers only to
	// sessions that subscribed to it.
	EventPrefix string
	// Open, when set, is called by New with the engine the extension is
	// part of (to Publish and PostInvoke through later). An error fails
	// New.
	Open func(e *Engine) error
}

// Invoker runs an invoke type for an extension (see Extension.Invokers).
// Its methods are called while the invoking session is being processed:
// they must not call Send or Start on the engine (Post, PostInvoke and
// Publish are safe), and should return quickly. The invoking session may
// be an invoked SCXML child: sessionID is then the child's own id, which
// PostInvoke and Publish take (see Engine.Send), and Cancel is called
// when the child's invoking state exits or the child ends, cancelled by
// its parent included. Cancel is not called once the service sent
// done.invoke.<invokeID>.
type Invoker interface {
	// Invoke starts the service for the session. An error makes the
	// session raise error.execution.
	Invoke(sessionID string, req *interp.InvokeRequest) error
	// Event delivers an event the session sent to the invocation (<send
	// target="#_<invokeid>">, or autoforward). An error makes the session
	// raise error.communication.
	Event(sessionID, invokeID string, ev Event) error
	// Cancel stops the service: the invoking state was exited, or the
	// session ended.
	Cancel(sessionID, invokeID string)
}

// Sentinel errors of extensions.
var (
	// ErrNotSubscribed: Publish to a session that did not subscribe to
	// the extension's events.
	ErrNotSubscribed = errors.New("engine: session is not subscribed to the extension's events")
	// ErrNotOwned: Publish of an event outside the extension's prefix.
	ErrNotOwned = errors.New("engine: event name outside the extension's prefix")
	// ErrNoExtension: no extension has the name given.
	ErrNoExtension = errors.New("engine: no such extension")
	// ErrUnknownAction: a document uses custom executable content no
	// extension registered (see Options.IgnoreUnknownActions).
	ErrUnknownAction = errors.New("engine: unknown custom action")
)

// DefaultHostObject is the default Options.HostObject: the name
// Orchestration Server documents use.
const DefaultHostObject = "_genesys"

// extensions is the engine's view of its Options.Extensions.
type extensions struct {
	byName   map[string]*Extension
	actions  map[interp.ActionName]interp.Action
	invokers map[string]Invoker
	object   string // Options.HostObject
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// initExtensions checks the extensions and indexes them.
func (e *Engine) initExtensions() error {
	x := &extensions{
		byName:   map[string]*Extension{},
		actions:  map[interp.ActionName]interp.Action{},
		invokers: map[string]Invoker{},
		object:   e.opts.HostObject,
	}
	if x.object == "" {
		x.object = DefaultHostObject
	}
	if !isIdent(x.object) {
		return fmt.Errorf("engine: option HostObject %q: not an identifier", x.object)
	}
	namespaces := map[string]string{}
	for i, ext := range e.opts.Extensions {
		at := fmt.Sprintf("engine: option Extensions[%d]", i)
		switch {
		case ext == nil:
			return fmt.Errorf("%s: nil", at)
		case !isIdent(ext.Name):
			return fmt.Errorf("%s: Name %q: not an identifier", at, ext.Name)
		case x.byName[ext.Name] != nil:
			return fmt.Errorf("%s: Name %q: used by another extension", at, ext.Name)
		case len(ext.Actions) > 0 && (ext.Namespace == "" || ext.Namespace == scxml.Namespace):
			return fmt.Errorf("%s (%s): Namespace %q: actions need a namespace of their own", at, ext.Name, ext.Namespace)
		case ext.Namespace != "" && namespaces[ext.Namespace] != "":
			return fmt.Errorf("%s (%s): Namespace %q: used by extension %s", at, ext.Name, ext.Namespace, namespaces[ext.Namespace])
		}
		x.byName[ext.Name] = ext
		if ext.Namespace != "" {
			namespaces[ext.Namespace] = ext.Name
		}
		for local, act := range ext.Actions {
			if act == nil {
				return fmt.Errorf("%s (%s): Actions[%q]: nil", at, ext.Name, local)
			}
			x.actions[interp.ActionName{Namespace: ext.Namespace, Local: local}] = e.subscribing(ext, act)
		}
		for typ, ivk := range ext.Invokers {
			if ivk == nil || typ == "" {
				return fmt.Errorf("%s (%s): Invokers[%q]: empty type or nil invoker", at, ext.Name, typ)
			}
			if x.invokers[typ] != nil {
				return fmt.Errorf("%s (%s): Invokers[%q]: type owned by another extension", at, ext.Name, typ)
			}
			x.invokers[typ] = ivk
		}
	}
	e.ext = x
	return nil
}

// subscribing wraps an extension's action: the session subscribes to the
// extension's events, and the engine learns its subscriptions.
func (e *Engine) subscribing(ext *Extension, act interp.Action) interp.Action {
	return func(c *interp.ActionContext) error {
		if ext.EventPrefix != "" {
			c.Subscribe(ext.EventPrefix)
			// Known before the action runs: it may publish at once.
			e.noteSubscriptions(c.Session())
		}
		err := act(c)
		e.noteSubscriptions(c.Session())
		return err
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
		s.subs.Store(&subs)
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

// globals returns the host objects of one session.
func (e *Engine) globals(sessionID string) map[string]any {
	if len(e.ext.byName) == 0 {
		return nil
	}
	root := map[string]any{}
	for name, ext := range e.ext.byName {
		if ext.Object != nil {
			root[name] = ext.Object(sessionID)
		}
	}
	if len(root) == 0 {
		return nil
	}
	return map[string]any{e.ext.object: root}
}

// checkCustom reports every custom element of doc that no extension
// runs, as file:line:col errors.
func (e *Engine) checkCustom(doc *scxml.Document) error {
	if e.opts.IgnoreUnknownActions {
		return nil
	}
	var errs []error
	for _, c := range doc.CustomElements() {
		if e.ext.actions[interp.ActionName{Namespace: c.Namespace, Local: c.Local}] == nil {
			errs = append(errs, fmt.Errorf("%s:%s: <%s> in namespace %q: %w", doc.File, c.Pos, c.Local, c.Namespace, ErrUnknownAction))
		}
	}
	return errors.Join(errs...)
}

// ParseOptions returns parser options that know the engine's extensions:
// a document using custom executable content no extension runs is
// rejected at parse time (or the element dropped, with
// Options.IgnoreUnknownActions), with its file:line:col.
func (e *Engine) ParseOptions(file string) *scxml.Options {
	return &scxml.Options{
		File: file,
		Custom: func(ns, local string) bool {
			return e.ext.actions[interp.ActionName{Namespace: ns, Local: local}] != nil
		},
		IgnoreUnknown: e.opts.IgnoreUnknownActions,
	}
}

// Extension returns the extension with the given name.
func (e *Engine) Extension(name string) (*Extension, error) {
	if ext := e.ext.byName[name]; ext != nil {
		return ext, nil
	}
	return nil, fmt.Errorf("engine: extension %q: %w", name, ErrNoExtension)
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
		if d := s.children.Load(); d != nil {
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
	p := s.subs.Load()
	if p == nil {
		return false
	}
	return slices.ContainsFunc(*p, func(sub string) bool { return strings.HasPrefix(prefix, sub) })
}

// Subscriptions returns the event prefixes the session subscribed to.
func (s *Session) Subscriptions() []string {
	if p := s.subs.Load(); p != nil {
		return slices.Clone(*p)
	}
	return nil
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
	return ivk.Invoke(from.ID(), req)
}

// CancelInvoke implements interp.Invoker.
func (h host) CancelInvoke(from *interp.Session, invokeID, typ string) {
	if ivk := h.e.ext.invokers[typ]; ivk != nil {
		ivk.Cancel(from.ID(), invokeID)
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
	return true, ivk.Event(from.ID(), id, msg.Event)
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
		if s.children.Load() != nil {
			s.children.Store(nil)
		}
		return
	}
	d := &childDir{kids: make([]childEntry, len(kids))}
	for i, c := range kids {
		d.kids[i] = childEntry{id: c.ID(), subs: c.Subscriptions(), is: c}
	}
	s.children.Store(d)
}

// noteChildren brings the session's directory of children up to date
// after a macrostep: children started or ended, or a tree restored from
// a snapshot (subscriptions changed only by actions, which noted them).
// s.mu held. For a session that has and had no children it is inlined
// and allocates nothing.
func (e *Engine) noteChildren(s *Session) {
	s.kidBuf = s.sess.AppendChildren(s.kidBuf[:0])
	if len(s.kidBuf) == 0 && s.children.Load() == nil {
		return
	}
	s.syncChildren()
}

func (s *Session) syncChildren() {
	d := s.children.Load()
	same := d != nil && len(d.kids) == len(s.kidBuf)
	for i := 0; same && i < len(d.kids); i++ {
		same = d.kids[i].is == s.kidBuf[i]
	}
	if !same {
		s.setChildren(s.kidBuf)
	}
	clear(s.kidBuf) // hold no ended session
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
			if kid := s.children.Load().find(sessionID); kid != nil {
				return s, kid
			}
		}
	}
	return nil, nil
}

func (s *Session) postChild(id string, ev Event) {
	s.inboxMu.Lock()
	s.childInbox = append(s.childInbox, childEvent{to: id, ev: ev})
	s.inboxMu.Unlock()
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
	err := s.e.process(s)
	s.e.drain()
	return err
}
