package engine

import (
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
	// runs any of them subscribes to EventPrefix.
	Actions map[string]interp.Action
	// Object returns the members of the extension's host object for one
	// session: Go functions and values, converted by goja. It is called
	// when a session is created or restored, so functions may close over
	// the session id; host objects are never snapshotted.
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
// Publish are safe), and should return quickly.
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
// lock. Called from inside the session's processing, or at resume.
func (e *Engine) noteSubscriptions(is *interp.Session) {
	e.mu.Lock()
	s := e.sessions[is.ID()]
	e.mu.Unlock()
	if s != nil {
		subs := is.Subscriptions()
		s.subs.Store(&subs)
	}
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
func (e *Engine) Publish(extension, sessionID string, ev Event) error {
	ext, err := e.owned(extension, ev.Name)
	if err != nil {
		return err
	}
	e.mu.Lock()
	s := e.sessions[sessionID]
	e.mu.Unlock()
	if s == nil {
		return fmt.Errorf("engine: publish %q to %s: %w", ev.Name, sessionID, ErrNoSession)
	}
	if !s.subscribed(ext.EventPrefix) {
		return fmt.Errorf("engine: publish %q to %s: %w", ev.Name, sessionID, ErrNotSubscribed)
	}
	return e.Post(sessionID, ev)
}

// Broadcast delivers an event of the named extension to every session
// subscribed to it and returns how many it reached.
func (e *Engine) Broadcast(extension string, ev Event) (int, error) {
	ext, err := e.owned(extension, ev.Name)
	if err != nil {
		return 0, err
	}
	e.mu.Lock()
	targets := make([]*Session, 0, len(e.sessions))
	for _, s := range e.sessions {
		if s.subscribed(ext.EventPrefix) {
			targets = append(targets, s)
		}
	}
	e.mu.Unlock()
	n := 0
	for _, s := range targets {
		if e.Post(s.id, ev) == nil {
			n++
		}
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
func (e *Engine) PostInvoke(sessionID, invokeID string, ev Event) error {
	ev.InvokeID = invokeID
	ev.Type = interp.External
	return e.Post(sessionID, ev)
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
// invoke types.
func (h host) Invoke(from *interp.Session, req *interp.InvokeRequest) error {
	ivk := h.e.ext.invokers[req.Type]
	if ivk == nil {
		known := slices.Sorted(maps.Keys(h.e.ext.invokers))
		return fmt.Errorf("invoke type %q (the engine runs SCXML and %v): %w", req.Type, known, interp.ErrUnsupportedType)
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

var _ interp.Invoker = host{}

// subsPtr is the engine session's copy of its subscriptions.
type subsPtr = atomic.Pointer[[]string]
