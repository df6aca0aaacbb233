package interp

import (
	"errors"
	"fmt"
	"github.com/beevik/etree"
	"slices"
	"strings"

	"github.com/orsgo/engine/scxml"
)

// Extension points of the interpreter. Embedders add vocabulary to SCXML
// without touching the algorithm:
//
//   - custom executable content: an element in a foreign namespace runs the
//     Action registered for its namespace and local name (Options.Actions);
//   - host objects: Go values put into the ECMAScript global scope
//     (Options.Globals), never snapshotted, installed again on restore;
//   - event subscriptions: a session records the event-name prefixes it
//     subscribed to (ActionContext.Subscribe), so that the engine knows
//     which sessions an extension's events are for; they are part of the
//     snapshot, so a recovered session keeps them.
//
// Invoke types other than SCXML are run by the caller, through the outbox
// (see Invoker).

// ActionName identifies custom executable content: its element's
// namespace URI and local name.
type ActionName struct {
	Namespace, Local string
}

// String returns the name in Clark notation, {namespace}local.
func (n ActionName) String() string { return "{" + n.Namespace + "}" + n.Local }

// Action runs one custom executable content element. An error makes the
// session raise error.execution and stop the enclosing block (section
// 4.1), as a failing <assign> does; the outbox has the error (EffectError),
// prefixed with the element's file:line:col.
type Action func(c *ActionContext) error

// ActionContext is what an Action may do to its session. It is valid only
// during the call: an Action that needs to reach the session later (an
// answer from a queue, say) keeps the session id and posts an event to it
// through the engine.
type ActionContext struct {
	s  *Session
	el *scxml.Custom
}

// Session returns the session running the action (for its ID; do not call
// Step, Run or Enqueue from inside an action).
func (c *ActionContext) Session() *Session { return c.s }

// Element returns the element being run: its attributes, its XML and its
// position.
func (c *ActionContext) Element() *scxml.Custom { return c.el }

// ElementTree returns the element being run as an etree element (package
// github.com/beevik/etree): its attributes with their prefixes, its
// children and text, the tree Go code that handles XML expects. It is
// parsed from Element().XML on each call: the caller owns it. (The SCXML
// parser keeps encoding/xml, for the line:col positions etree does not
// record; Element().Pos has the element's.)
func (c *ActionContext) ElementTree() (*etree.Element, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(c.el.XML); err != nil {
		return nil, fmt.Errorf("%s: %w", c.where(), err)
	}
	root := doc.Root()
	if root == nil {
		return nil, fmt.Errorf("%s: no element in its XML", c.where())
	}
	if root.NamespaceURI() == "" && c.el.Namespace != "" {
		// The markup was cut out of the document, without the xmlns
		// declaration of its prefix: declare it, so that NamespaceURI
		// answers for the element and its children.
		if root.Space != "" {
			root.CreateAttr("xmlns:"+root.Space, c.el.Namespace)
		} else {
			root.CreateAttr("xmlns", c.el.Namespace)
		}
	}
	return root, nil
}

// Attr returns the attribute with the given local name.
func (c *ActionContext) Attr(name string) (string, bool) {
	v, ok := c.el.Attrs[name]
	return v, ok
}

// Eval evaluates src as an expression of the session's datamodel and
// returns its value as Go data (as Event.Data holds it). The expression is
// compiled once per document and source, then shared by its sessions.
func (c *ActionContext) Eval(src string) (any, error) {
	return c.s.dm.EvalSource(src, c.where())
}

// EvalAttr evaluates the attribute with the given local name as an
// expression; ok is false when the element has no such attribute.
func (c *ActionContext) EvalAttr(name string) (v any, ok bool, err error) {
	src, ok := c.el.Attrs[name]
	if !ok {
		return nil, false, nil
	}
	v, err = c.s.dm.EvalSource(src, c.where()+" "+name)
	return v, true, err
}

// Assign stores v at location (a location expression of the datamodel,
// such as "result" or "call.agent"), as <assign> would.
func (c *ActionContext) Assign(location string, v any) error {
	return c.s.dm.AssignSource(location, c.where(), v)
}

// Raise puts an event on the internal queue, as <raise> would.
func (c *ActionContext) Raise(ev Event) {
	ev.Type = Internal
	c.s.internalQueue.push(ev)
}

// Subscribe records that the session takes events whose names start with
// prefix (see Session.Subscribed). Subscriptions are saved in snapshots.
func (c *ActionContext) Subscribe(prefix string) { c.s.Subscribe(prefix) }

// Unsubscribe removes a subscription made by Subscribe.
func (c *ActionContext) Unsubscribe(prefix string) { c.s.Unsubscribe(prefix) }

func (c *ActionContext) where() string {
	return fmt.Sprintf("%s:%s: <%s>", c.s.m.doc.File, c.el.Pos, c.el.Local)
}

// ErrNoAction is wrapped by the error raised for custom executable content
// that has no registered Action.
var ErrNoAction = errors.New("no action registered for the element")

// runCustom runs custom executable content (section 4.1: "if the element
// is not supported ... the processor ... must raise error.execution" for
// unknown content it cannot ignore).
func (s *Session) runCustom(x *scxml.Custom) error {
	name := ActionName{x.Namespace, x.Local}
	act := s.opts.Actions[name]
	if act == nil {
		if s.opts.IgnoreUnknownActions {
			return nil
		}
		return s.fail(fmt.Errorf("%s:%s: <%s> in namespace %q: %w", s.m.doc.File, x.Pos, x.Local, x.Namespace, ErrNoAction))
	}
	c := &ActionContext{s: s, el: x}
	if err := runAction(act, c); err != nil {
		return s.fail(fmt.Errorf("%s: %w", c.where(), err))
	}
	return nil
}

// ErrPanic is wrapped by the error raised (error.execution) for custom
// executable content whose Action panicked: the panic does not cross the
// macrostep, whichever path ran it.
var ErrPanic = errors.New("panic in extension code")

// runAction runs act, turning a panic into an error.
func runAction(act Action, c *ActionContext) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrPanic, r)
		}
	}()
	return act(c)
}

// Subscribe records that the session takes events whose names start with
// prefix. It is idempotent.
func (s *Session) Subscribe(prefix string) {
	i, found := slices.BinarySearch(s.subs, prefix)
	if !found {
		s.subs = slices.Insert(s.subs, i, prefix)
	}
}

// Unsubscribe removes a subscription.
func (s *Session) Unsubscribe(prefix string) {
	if i, found := slices.BinarySearch(s.subs, prefix); found {
		s.subs = slices.Delete(s.subs, i, i+1)
	}
}

// Subscriptions returns the session's subscribed prefixes, sorted.
func (s *Session) Subscriptions() []string { return slices.Clone(s.subs) }

// Subscribed reports whether the session subscribed to a prefix of
// eventName.
func (s *Session) Subscribed(eventName string) bool {
	for _, p := range s.subs {
		if strings.HasPrefix(eventName, p) {
			return true
		}
	}
	return false
}
