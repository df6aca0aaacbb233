package engine

import (
	"errors"
	"fmt"

	"github.com/orsgo/engine/interp"
	"github.com/orsgo/engine/scxml"
)

// The interpreter's types an extension works with, so that an extension
// imports this package only.
type (
	// Action runs one custom executable content element (interp.Action).
	Action = interp.Action
	// ActionContext is what an Action may do to its session: evaluate,
	// assign, raise, subscribe (interp.ActionContext).
	ActionContext = interp.ActionContext
	// ActionName identifies custom executable content by namespace and
	// local name (interp.ActionName).
	ActionName = interp.ActionName
	// InvokeRequest is what an Invoker is asked to start
	// (interp.InvokeRequest).
	InvokeRequest = interp.InvokeRequest
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
	Actions map[string]Action
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
// Its methods are effects of the invoking session's macrostep: they are
// called once the macrostep is over, off the session's lock, in the order
// the macrostep asked for them (an Event sent right after the <invoke>
// comes after Invoke). They may read the session, and call PostInvoke,
// Publish and Post (a service may answer at once) or Send to another
// session; a Send to the invoking session itself would wait for them to
// return. The invoking session may be an invoked SCXML child: sessionID
// is then the child's own id, which PostInvoke and Publish take (see
// Engine.Send), and Cancel is called when the child's invoking state
// exits or the child ends, cancelled by its parent included. Cancel is
// not called once the service sent done.invoke.<invokeID>; it is called,
// when the state exits, for an invocation whose Invoke failed (the
// session heard of the failure only after its macrostep): an unknown
// invokeID is to be ignored.
type Invoker interface {
	// Invoke starts the service for the session. An error comes back
	// to the session as an error.execution event (posted: the <invoke>
	// ran in an earlier macrostep), which OnError hears of.
	Invoke(sessionID string, req *InvokeRequest) error
	// Event delivers an event the session sent to the invocation (<send
	// target="#_<invokeid>">, or autoforward). An error comes back to the
	// session as an error.communication event with the send's sendid.
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

// globals returns the host objects of one session.
func (e *Engine) globals(sessionID string) map[string]any {
	if len(e.ext.byName) == 0 {
		return nil
	}
	root := map[string]any{}
	for name, ext := range e.ext.byName {
		if ext.Object != nil {
			var obj map[string]any
			e.guarded(sessionID, "extension "+name+": Object", func() { obj = ext.Object(sessionID) })
			root[name] = obj
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
		// The parser resolves src against file already.
		ReadFile: func(path string) ([]byte, error) {
			data, _, err := e.load("", path)
			return data, err
		},
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
