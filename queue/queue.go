// Package queue is a small automatic call distributor (ACD) packaged as an
// engine extension: the reference for writing one, and the platform the
// routing fixtures run against.
//
// Documents use it through the three extension points of package engine:
//
//	<scxml xmlns:queue="urn:orsgo:queue" ...>
//	  <invoke type="urn:orsgo:queue:select-group">      choose the group
//	    <param name="groups" expr="['VIP', 'Agents']"/>   with most ready agents
//	  </invoke>                                          -> queue.selected {group, ready}
//	  <queue:submit group="group"/>                       wait for an agent
//	                                                     -> queue.routed {agent, group}
//	  <queue:cancel/>                                     leave the queue
//	  <log expr="_genesys.queue.waiting('VIP')"/>         host object
//
// Running <queue:submit> subscribes the session to the "queue." events;
// the ACD publishes queue.routed to it once an agent of the group is
// ready (at once if one is). The ACD's own state (who waits, who is
// ready) lives here, not in sessions: like the real ACD of a contact
// centre, it is outside the engine, and a session resumed on another node
// keeps its subscription, not its place in a queue.
//
// An invoked SCXML child uses it as a top-level session does: it queues
// under its own session id ("<parent id>.<invokeid>"), which Publish and
// PostInvoke address (see engine.Engine.Send), and its events are
// processed by its top-level session. A child cancelled while it waits
// leaves the queue if its onexit runs <queue:cancel/>; otherwise the ACD
// drops its call when an agent comes, as for any session that ended.
package queue

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"

	engine "github.com/orsgo/engine"
)

// Names the extension uses.
const (
	// Name is the extension's name: its host object is _genesys.queue.
	Name = "queue"
	// Namespace is the XML namespace of <queue:submit> and <queue:cancel>.
	Namespace = "urn:orsgo:queue"
	// EventPrefix prefixes the events the ACD publishes.
	EventPrefix = "queue."
	// SelectGroup is the invoke type that picks, among the groups given in
	// the "groups" parameter, the one with the most ready agents.
	SelectGroup = "urn:orsgo:queue:select-group"
	// EventRouted is published to a waiting session when an agent takes
	// its call: data {agent, group}.
	EventRouted = "queue.routed"
	// EventSelected is sent by a select-group invocation: data {group,
	// ready}; group is "" when no group has a ready agent.
	EventSelected = "queue.selected"
)

// ErrUnknownGroup is returned for a group the ACD does not have.
var ErrUnknownGroup = errors.New("queue: unknown group")

// ACD holds agent groups: each a list of ready agents (longest ready
// first) and a list of waiting calls (first come, first served).
type ACD struct {
	mu     sync.Mutex
	e      *engine.Engine
	groups map[string]*group
}

type group struct {
	ready   []string
	waiting []string // session ids
}

// New returns an ACD whose groups hold the given agents, all ready.
func New(agents map[string][]string) *ACD {
	a := &ACD{groups: map[string]*group{}}
	for g, ids := range agents {
		a.groups[g] = &group{ready: slices.Clone(ids)}
	}
	return a
}

// Extension returns the engine extension of the ACD. Give it to one
// engine only.
func (a *ACD) Extension() *engine.Extension {
	return &engine.Extension{
		Name:        Name,
		Namespace:   Namespace,
		EventPrefix: EventPrefix,
		Actions: map[string]engine.Action{
			"submit": a.submit,
			"cancel": a.cancel,
		},
		Object: func(string) map[string]any {
			return map[string]any{
				"waiting": func(g string) int { return a.count(g, false) },
				"ready":   func(g string) int { return a.count(g, true) },
			}
		},
		Invokers: map[string]engine.Invoker{SelectGroup: selector{a}},
		Open: func(e *engine.Engine) error {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.e != nil {
				return errors.New("queue: the ACD already serves an engine")
			}
			a.e = e
			return nil
		},
	}
}

// submit runs <queue:submit group="expr"/>.
func (a *ACD) submit(c *engine.ActionContext) error {
	v, ok, err := c.EvalAttr("group")
	if err != nil {
		return err
	}
	name, isString := v.(string)
	if !ok || !isString || name == "" {
		return fmt.Errorf("attribute group: want an expression giving a group name, got %v", v)
	}
	id := c.Session().ID()
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.groups[name]
	if g == nil {
		return fmt.Errorf("group %q: %w", name, ErrUnknownGroup)
	}
	a.leave(id)
	g.waiting = append(g.waiting, id)
	a.route(name, g)
	return nil
}

// cancel runs <queue:cancel/>: the session's call leaves every queue.
func (a *ACD) cancel(c *engine.ActionContext) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.leave(c.Session().ID())
	return nil
}

// leave removes a session's call from the queues. a.mu held.
func (a *ACD) leave(id string) {
	for _, g := range a.groups {
		g.waiting = slices.DeleteFunc(g.waiting, func(s string) bool { return s == id })
	}
}

// route gives ready agents of g to its waiting calls. a.mu held. A call
// whose session is gone (ended, or moved to another node) is dropped and
// the agent goes to the next one.
func (a *ACD) route(name string, g *group) {
	for len(g.ready) > 0 && len(g.waiting) > 0 {
		id := g.waiting[0]
		g.waiting = g.waiting[1:]
		err := a.e.Publish(Name, id, engine.Event{Name: EventRouted, Data: map[string]any{"agent": g.ready[0], "group": name}})
		if err == nil {
			g.ready = g.ready[1:]
		}
	}
}

// Ready makes an agent of a group ready (after a call, say); a waiting
// call gets it at once.
func (a *ACD) Ready(groupName, agent string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.groups[groupName]
	if g == nil {
		return fmt.Errorf("group %q: %w", groupName, ErrUnknownGroup)
	}
	if !slices.Contains(g.ready, agent) {
		g.ready = append(g.ready, agent)
	}
	a.route(groupName, g)
	return nil
}

// count returns how many agents are ready in a group, or how many calls
// wait; -1 for an unknown group.
func (a *ACD) count(name string, ready bool) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.groups[name]
	switch {
	case g == nil:
		return -1
	case ready:
		return len(g.ready)
	}
	return len(g.waiting)
}

// selector runs the select-group invoke type: it answers at once, then
// ends (done.invoke).
type selector struct{ a *ACD }

func (s selector) Invoke(sessionID string, req *engine.InvokeRequest) error {
	var names []string
	switch v := req.Data["groups"].(type) {
	case []any:
		for _, x := range v {
			n, ok := x.(string)
			if !ok {
				return fmt.Errorf("param groups: %v is not a group name", x)
			}
			names = append(names, n)
		}
	case string:
		names = []string{v}
	default:
		return fmt.Errorf("param groups: want an array of group names, got %T", v)
	}
	s.a.mu.Lock()
	best, most := "", 0
	for _, n := range names {
		g := s.a.groups[n]
		if g == nil {
			s.a.mu.Unlock()
			return fmt.Errorf("param groups: %q: %w", n, ErrUnknownGroup)
		}
		if len(g.ready) > most {
			best, most = n, len(g.ready)
		}
	}
	e := s.a.e
	s.a.mu.Unlock()
	if err := e.PostInvoke(sessionID, req.InvokeID, engine.Event{Name: EventSelected, Data: map[string]any{"group": best, "ready": most}}); err != nil {
		return err
	}
	return e.PostInvoke(sessionID, req.InvokeID, engine.Event{Name: "done.invoke." + req.InvokeID})
}

func (selector) Event(string, string, engine.Event) error { return nil }
func (selector) Cancel(string, string)                    {}

// Groups returns the group names, sorted.
func (a *ACD) Groups() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	names := make([]string, 0, len(a.groups))
	for n := range a.groups {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
