package interp

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/orsgo/engine/scxml"
)

// Invocations (section 6.4). An invoked SCXML document runs as a child
// Session inside its parent: the parent's Step runs the child's pending
// work, Advance and NextDeadline cover the child's delayed sends, and a
// snapshot of the parent contains the child's. Nothing about a child lives
// outside its parent, so a recovered session resumes its children too.
//
// Other invoke types are run by the caller, if the Host implements
// Invoker: the session checks the type with the Host and puts an
// EffectInvoke in the outbox (an EffectCancelInvoke when the invoking
// state exits); a child's invocations of such types are checked by its
// parent's Host (see childHost) and land in the same outbox, so an
// embedder's services serve children as they serve top-level sessions.
//
// A child is a session of its own: its id is its parent's id, a dot and
// the invokeid ("<parent id>.<invokeid>", at every depth), so the id of a
// child names the top-level session it runs in. An embedder delivers
// events to a child through the top-level session (EnqueueChild), whose
// Step runs them as it runs every child's work.

// Invoke types that name the SCXML processor (6.4.1, C.1).
var scxmlInvokeTypes = map[string]bool{
	"":                            true,
	"scxml":                       true,
	"http://www.w3.org/TR/scxml":  true,
	"http://www.w3.org/TR/scxml/": true,
}

// Invoker is implemented by a Host whose caller runs invoke types other
// than SCXML (a VoiceXML dialog, a CRM lookup service...). The service is
// started by the caller carrying out an EffectInvoke and stopped by an
// EffectCancelInvoke; events for it are EffectSends with the target
// "#_<invokeid>" and the invoke type as Message.Type; events from it come
// back through Session.Enqueue with Event.InvokeID set.
type Invoker interface {
	// CheckInvoke reports, without starting anything, whether the
	// caller runs invoke type typ: an error (wrapping
	// ErrUnsupportedType) makes the session raise error.execution at
	// once, and no invocation is recorded. It must not call back into
	// the session.
	CheckInvoke(from *Session, typ string) error
}

// SessionHost is implemented by a Host whose session options depend on the
// session id: host objects that close over it (Options.Globals), and the
// _ioprocessors locations (Options.IOProcessors), which name it. An
// invoked SCXML child gets the ones made for its own id instead of its
// parent's, when created and when restored.
type SessionHost interface {
	Globals(sessionID string) map[string]any
	IOProcessors(sessionID string) map[string]string
}

// InvokeRequest is an <invoke> with everything evaluated.
type InvokeRequest struct {
	InvokeID string
	Type     string
	Src      string
	// Content is the value of <content>, when present.
	Content any
	// Data holds the values of namelist and <param>.
	Data map[string]any
	// Autoforward is the autoforward attribute: the session forwards it
	// every external event it processes.
	Autoforward bool
}

// invocation is an active <invoke>.
type invocation struct {
	inv   *scxml.Invoke
	id    string
	typ   string
	src   []byte   // the child document, kept for snapshots
	file  string   // the child document's file name, for messages
	child *Session // nil when the Host runs the service
	done  bool     // the child reached a top-level final state
}

// runInvokes starts the invocations of the states entered during the
// macrostep that are still active, in entry order (mainEventLoop).
func (s *Session) runInvokes() {
	for i := s.statesToInvoke.Next(0); i >= 0; i = s.statesToInvoke.Next(i + 1) {
		for _, inv := range s.m.doc.States[i].Invokes {
			s.invoke(inv)
		}
	}
	s.statesToInvoke.Clear()
}

// invoke evaluates and starts one <invoke> (6.4). A failure raises
// error.execution and leaves no invocation behind.
func (s *Session) invoke(inv *scxml.Invoke) {
	var err error
	typ := inv.Type
	if inv.TypeExpr != nil {
		if typ, err = s.dm.String(inv.TypeExpr); err != nil {
			s.execError(err)
			return
		}
	}
	id := inv.ID
	if inv.IDLocation != nil || id == "" {
		// 6.4.1: generated ids are stateid.platformid.
		s.seq++
		id = inv.Parent.ID + "." + s.id + "." + strconv.FormatUint(s.seq, 10)
		if inv.IDLocation != nil {
			if err := s.dm.SetLocation(inv.IDLocation, id); err != nil {
				s.execError(err)
				return
			}
		}
	}
	src := inv.Src
	if inv.SrcExpr != nil {
		if src, err = s.dm.String(inv.SrcExpr); err != nil {
			s.execError(err)
			return
		}
	}
	data, err := s.sendData(inv.Namelist, inv.Params, nil)
	if err != nil {
		s.execError(err)
		return
	}
	params, _ := data.(map[string]any)
	where := fmt.Sprintf("%s:%s: <invoke id=%q>", s.m.doc.File, inv.Pos, id)
	if !scxmlInvokeTypes[typ] {
		s.invokeHost(inv, id, typ, src, params, where)
		return
	}
	body, file, err := s.childSource(inv, src)
	if err != nil {
		s.execError(fmt.Errorf("%s: %w", where, err))
		return
	}
	m, err := s.m.childMachine(body, file)
	if err != nil {
		s.execError(fmt.Errorf("%s: %w", where, err))
		return
	}
	iv := &invocation{inv: inv, id: id, typ: typ, src: body, file: file}
	child, err := s.newChild(m, iv)
	if err != nil {
		s.execError(fmt.Errorf("%s: %w", where, err))
		return
	}
	child.params = params
	iv.child = child
	s.invocations = append(s.invocations, iv)
	if err := child.Start(s.now); err != nil {
		s.execError(fmt.Errorf("%s: %w", where, err))
	}
}

func (s *Session) invokeHost(inv *scxml.Invoke, id, typ, src string, params map[string]any, where string) {
	ivk, ok := s.host.(Invoker)
	if !ok {
		s.execError(fmt.Errorf("%s: type %q: %w", where, typ, ErrUnsupportedType))
		return
	}
	if err := ivk.CheckInvoke(s, typ); err != nil {
		s.execError(fmt.Errorf("%s: %w", where, err))
		return
	}
	req := &InvokeRequest{InvokeID: id, Type: typ, Src: src, Data: params, Autoforward: inv.Autoforward}
	if inv.Content != nil {
		v, err := s.dm.Content(inv.Content)
		if err != nil {
			s.execError(err)
			return
		}
		req.Content = v
	}
	// Started by the caller after the macrostep; a failure then comes
	// back as error.execution (the engine posts it).
	s.emit(Effect{Kind: EffectInvoke, Invoke: req, At: where})
	s.invocations = append(s.invocations, &invocation{inv: inv, id: id, typ: typ})
}

// childSource returns the document an SCXML invoke runs: its <content>
// (inline markup, or an expression yielding the markup) or the file its
// src names, resolved against the parent document.
func (s *Session) childSource(inv *scxml.Invoke, src string) ([]byte, string, error) {
	if c := inv.Content; c != nil {
		if c.Expr == nil {
			return []byte(c.Body), s.m.doc.File, nil
		}
		v, err := s.dm.Value(c.Expr)
		if err != nil {
			return nil, "", err
		}
		str, ok := v.(string)
		if !ok {
			return nil, "", fmt.Errorf("content expr %q is not a document (got %T)", c.Expr.Source, v)
		}
		return []byte(str), s.m.doc.File, nil
	}
	if src == "" {
		return nil, "", errors.New("no src, srcexpr or <content>")
	}
	// No I/O here: the embedder's loader reads it (engine.Options.Loader).
	if s.opts.Load == nil {
		return nil, "", fmt.Errorf("src %q: no loader (Options.Load) to read it", src)
	}
	body, name, err := s.opts.Load(s.m.doc.File, src)
	if err != nil {
		return nil, "", fmt.Errorf("src %q: %w", src, err)
	}
	return body, name, nil
}

// childMachine parses and compiles an invoked document, once per distinct
// source for the lifetime of the parent Machine.
func (m *Machine) childMachine(src []byte, file string) (*Machine, error) {
	key := sha256.Sum256(append([]byte(file+"\x00"), src...))
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.childMachines[key]; ok {
		return c, nil
	}
	doc, err := scxml.Parse(src, &scxml.Options{File: file})
	if err != nil {
		return nil, err
	}
	c, err := Compile(doc, m.datamodels)
	if err != nil {
		return nil, err
	}
	if m.childMachines == nil {
		m.childMachines = map[[32]byte]*Machine{}
	}
	m.childMachines[key] = c
	return c, nil
}

func (s *Session) newChild(m *Machine, iv *invocation) (*Session, error) {
	id := s.id + "." + iv.id
	child, err := m.NewSession(id, s.childOptions(s.opts, id))
	if err != nil {
		return nil, err
	}
	child.parent, child.invokeID, child.top = s, iv.id, s.top
	return child, nil
}

// childOptions are the options of the child with the given id: its
// parent's (opts), with a childHost, and the host objects the Host makes
// and I/O processor locations the Host makes for the child, if it makes
// them per session (SessionHost).
func (s *Session) childOptions(opts Options, id string) Options {
	opts.Host = childHost{parent: s}
	opts.Data = nil // the parent's: the child's come from its <param>s
	if g, ok := s.host.(SessionHost); ok {
		opts.Globals = g.Globals(id)
		opts.IOProcessors = g.IOProcessors(id)
	}
	return opts
}

// childHost routes what a child sends: to its parent (#_parent or the
// parent's #_scxml_ address) straight into the parent's external queue,
// to a sibling into its queue (both inside the tree, so delivered now:
// routeDone), anything else through the parent's Host. The child's
// invocations of types other than SCXML are checked by the parent's Host
// too (Invoker), with the child as the invoking session. h.parent is the
// session that created the child, even once it cancelled the child
// (child.parent is nil then).
type childHost struct{ parent *Session }

// CheckInvoke implements Invoker: the parent's Host runs the service for
// the child.
func (h childHost) CheckInvoke(from *Session, typ string) error {
	ivk, ok := h.parent.host.(Invoker)
	if !ok {
		return fmt.Errorf("type %q: %w", typ, ErrUnsupportedType)
	}
	return ivk.CheckInvoke(from, typ)
}

// Globals implements SessionHost for the child's own children.
func (h childHost) Globals(sessionID string) map[string]any {
	if g, ok := h.parent.host.(SessionHost); ok {
		return g.Globals(sessionID)
	}
	return h.parent.opts.Globals
}

// IOProcessors implements SessionHost for the child's own children.
func (h childHost) IOProcessors(sessionID string) map[string]string {
	if g, ok := h.parent.host.(SessionHost); ok {
		return g.IOProcessors(sessionID)
	}
	return h.parent.opts.IOProcessors
}

var (
	_ Invoker     = childHost{}
	_ SessionHost = childHost{}
)

// Route implements Host.
func (h childHost) Route(from *Session, msg *Message) (RouteDecision, error) {
	p := h.parent
	if msg.Type == "" && (msg.Target == "#_parent" || msg.Target == "#_scxml_"+p.id) {
		if p.invocationOf(from) == nil {
			return routeDone, nil // cancelled: its last words are dropped (6.4.5)
		}
		ev := msg.Event
		ev.InvokeID = from.invokeID
		p.externalQueue.push(ev)
		return routeDone, nil
	}
	if msg.Type == "" && strings.HasPrefix(msg.Target, "#_scxml_") {
		// A sibling or a parent's sibling of the same tree.
		if p.deliverInvoke(msg) {
			return routeDone, nil
		}
	}
	return p.host.Route(from, msg)
}

func (s *Session) invocationOf(child *Session) *invocation {
	for _, iv := range s.invocations {
		if iv.child == child {
			return iv
		}
	}
	return nil
}

// childDone is returnDoneEvent seen from the parent: done.invoke.<id>.
func (s *Session) childDone(child *Session, ev Event) {
	iv := s.invocationOf(child)
	if iv == nil {
		return
	}
	iv.done = true
	ev.Name = "done.invoke." + iv.id
	ev.InvokeID = iv.id
	ev.Origin = "#_scxml_" + child.id
	ev.OriginType = SCXMLProcessorType
	s.externalQueue.push(ev)
}

// runChildren runs the pending work of every child, reporting whether
// there was any.
func (s *Session) runChildren() bool {
	ran := false
	for _, iv := range s.invocations {
		c := iv.child
		if c == nil || !c.Pending() {
			continue
		}
		ran = true
		if err := c.Run(); err != nil {
			// A child that livelocks is cancelled; the parent hears
			// of it as an error, not a hang.
			s.execError(fmt.Errorf("invoked session %s: %w", c.id, err))
			c.Cancel()
		}
	}
	return ran
}

// cancelInvokes is cancelInvoke for every invocation of a state being
// exited (6.4.5).
func (s *Session) cancelInvokes(st *scxml.State) {
	if len(s.invocations) == 0 {
		return
	}
	var cancelled []*invocation
	kept := make([]*invocation, 0, len(s.invocations))
	for _, iv := range s.invocations {
		if iv.inv.Parent == st {
			cancelled = append(cancelled, iv)
		} else {
			kept = append(kept, iv)
		}
	}
	if len(cancelled) == 0 {
		return
	}
	// Removed first, so that whatever a cancelled child sends from its
	// onexit handlers is dropped, and it sends no done.invoke.
	s.invocations = kept
	for _, iv := range cancelled {
		if iv.child != nil {
			iv.child.parent = nil
			iv.child.Cancel()
		} else if !iv.done {
			// A service that sent done.invoke has ended: nothing to
			// cancel.
			s.emit(Effect{Kind: EffectCancelInvoke, InvokeID: iv.id, InvokeType: iv.typ})
		}
	}
}

// applyFinalizeAndAutoforward is the invoke part of mainEventLoop for an
// external event: the finalize of the invocation it came from runs first,
// then it is forwarded to every invocation with autoforward.
func (s *Session) applyFinalizeAndAutoforward(ev *Event) {
	if ev.InvokeID != "" && strings.HasPrefix(ev.Name, eventDoneInvoke) {
		// A service run by the host says it finished: it is no longer
		// cancelled on exit, nor forwarded to.
		for _, iv := range s.invocations {
			if iv.child == nil && iv.id == ev.InvokeID && ev.Name == eventDoneInvoke+iv.id {
				iv.done = true
			}
		}
	}
	for _, iv := range s.invocations {
		if ev.InvokeID != "" && ev.InvokeID == iv.id && len(iv.inv.Finalize) > 0 {
			s.executeContent(iv.inv.Finalize)
		}
	}
	for _, iv := range s.invocations {
		if !iv.inv.Autoforward || iv.done {
			continue
		}
		fwd := *ev
		if iv.child != nil {
			iv.child.Enqueue(fwd)
			continue
		}
		s.deliverTo(iv, &Message{Target: "#_" + iv.id, Type: iv.typ, Event: fwd})
	}
}

// deliverInvoke delivers a message addressed to an invocation ("#_<id>",
// or an invoked child's "#_scxml_<sessionid>") or, from a child, to
// "#_parent". It reports whether the target was one of those.
func (s *Session) deliverInvoke(msg *Message) bool {
	if msg.Target == "#_parent" {
		if s.parent == nil {
			return false
		}
		_, err := childHost{parent: s.parent}.Route(s, msg)
		return err == nil
	}
	for _, iv := range s.invocations {
		if msg.Target == "#_"+iv.id || (iv.child != nil && msg.Target == "#_scxml_"+iv.child.id) {
			s.deliverTo(iv, msg)
			return true
		}
	}
	return false
}

func (s *Session) deliverTo(iv *invocation, msg *Message) {
	if iv.child != nil {
		if iv.done {
			s.raiseError(EventErrorCommunication, msg.Event.SendID, fmt.Errorf("send to %q: invoked session has ended: %w", msg.Target, ErrUnreachable))
			return
		}
		iv.child.Enqueue(msg.Event)
		return
	}
	// A service the caller runs: the event leaves with the outbox, and a
	// failure to deliver it comes back as error.communication.
	m := *msg
	m.Type = iv.typ
	s.emit(Effect{Kind: EffectSend, Message: m})
}

// snapshotInvocations records every active invocation with the document
// and snapshot of its child.
func (s *Session) snapshotInvocations() ([]InvokeRecord, error) {
	var recs []InvokeRecord
	for _, iv := range s.invocations {
		rec := InvokeRecord{Invoke: iv.inv.Index, InvokeID: iv.id, Type: iv.typ, Done: iv.done}
		if iv.child != nil {
			snap, err := iv.child.Snapshot()
			if err != nil {
				return nil, err
			}
			rec.Child, rec.Source, rec.File = snap, iv.src, iv.file
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

func (s *Session) restoreInvocations(recs []InvokeRecord, opts Options) error {
	for _, rec := range recs {
		if rec.Invoke < 0 || rec.Invoke >= len(s.m.doc.Invokes) {
			return fmt.Errorf("interp: restore session %s: invoke index %d out of range", s.id, rec.Invoke)
		}
		iv := &invocation{inv: s.m.doc.Invokes[rec.Invoke], id: rec.InvokeID, typ: rec.Type, done: rec.Done, src: rec.Source, file: rec.File}
		if rec.Child != nil {
			m, err := s.m.childMachine(rec.Source, rec.File)
			if err != nil {
				return fmt.Errorf("interp: restore session %s: invoke %s: %w", s.id, rec.InvokeID, err)
			}
			child, err := m.Restore(rec.Child, s.childOptions(opts, rec.Child.SessionID))
			if err != nil {
				return fmt.Errorf("interp: restore session %s: invoke %s: %w", s.id, rec.InvokeID, err)
			}
			child.parent, child.invokeID, child.top = s, rec.InvokeID, s.top
			iv.child = child
		}
		s.invocations = append(s.invocations, iv)
	}
	return nil
}

// Parent returns the session that invoked s and runs it: nil for a
// top-level session, and for a child its parent cancelled.
func (s *Session) Parent() *Session { return s.parent }

// AppendChildren appends to dst the running SCXML sessions s invoked,
// directly or through its children, parents before their children, in
// invocation order, and returns the extended slice (dst itself, with
// nothing appended, when there is none).
func (s *Session) AppendChildren(dst []*Session) []*Session {
	if len(s.invocations) == 0 {
		return dst // inlined: a macrostep without invocations pays nothing
	}
	return s.appendChildren(dst)
}

func (s *Session) appendChildren(dst []*Session) []*Session {
	for _, iv := range s.invocations {
		if c := iv.child; c != nil && c.running {
			dst = append(dst, c)
			dst = c.appendChildren(dst)
		}
	}
	return dst
}

// Child returns the running SCXML session with the given id that s
// invoked, directly or through its children; nil when there is none.
func (s *Session) Child(id string) *Session {
	for _, iv := range s.invocations {
		c := iv.child
		if c == nil || !c.running {
			continue
		}
		if c.id == id {
			return c
		}
		if len(id) > len(c.id) && id[len(c.id)] == '.' && strings.HasPrefix(id, c.id) {
			if d := c.Child(id); d != nil {
				return d
			}
		}
	}
	return nil
}

// EnqueueChild appends ev to the external queue of the running child
// (see Child) with the given id, to be processed by s's next Step as the
// child's own events are; it reports whether there was such a child.
func (s *Session) EnqueueChild(id string, ev Event) bool {
	c := s.Child(id)
	if c == nil {
		return false
	}
	c.Enqueue(ev)
	return true
}
