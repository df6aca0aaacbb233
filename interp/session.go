package interp

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/orsgo/engine/internal/bitset"
	"github.com/orsgo/engine/scxml"
)

// SCXML Event I/O Processor type (section 6.2 / appendix C.1).
const (
	SCXMLProcessorType      = "http://www.w3.org/TR/scxml/#SCXMLEventProcessor"
	scxmlProcessorShortType = "scxml"
)

// Host is the session's window on the world. It is asked, during the
// macrostep and without delivering anything, where an event for a target
// the session does not own goes (Route); what the event then does is the
// caller's, after the macrostep, through the outbox (see Effect). Route is
// called from Start, Step, Advance and Cancel and must not call back into
// the session.
type Host interface {
	// Route decides what becomes of msg, an event for a target outside
	// the session tree: RouteOutbox puts it in the outbox (an EffectSend,
	// carried out after the macrostep), RouteSelf puts msg.Event into
	// the sending session's own external queue now (an I/O processor's
	// address of the session itself: a loopback), in order with its other
	// sends to itself. Route may rewrite *msg into the form it is to be
	// carried out in. It returns an error wrapping ErrInvalidTarget or
	// ErrUnsupportedType when the request cannot be interpreted (the
	// session raises error.execution), and any other error (ErrUnreachable,
	// say) when the target cannot be reached (error.communication), both
	// before the next executable content runs (W3C tests 159, 194, 496).
	Route(from *Session, msg *Message) (RouteDecision, error)
}

// RouteDecision is a Host's answer to Route.
type RouteDecision uint8

// Route decisions.
const (
	// RouteOutbox: the event goes into the outbox, an EffectSend.
	RouteOutbox RouteDecision = iota
	// RouteSelf: the event (msg.Event as Route left it) goes into the
	// sending session's own external queue at once.
	RouteSelf
	// routeDone: delivered inside the session tree (an invoked child's
	// parent or sibling); interp's own, see childHost.
	routeDone
)

// Message is an event leaving a session (Host.Route, EffectSend).
type Message struct {
	// Target is the target URI as evaluated ("#_scxml_<id>", a URL, ...).
	Target string
	// Type is the event I/O processor type as evaluated; "" means SCXML.
	Type string
	// Event carries name, data, sendid, origin and origintype.
	Event Event
}

// Options configure a session. The zero value is usable.
type Options struct {
	// Host routes outbound events (see Host; the outbox holds what the
	// session does to the world).
	// default: a host that rejects every outbound target
	Host Host
	// MaxMicrosteps bounds the microsteps of one macrostep, so that a chart
	// looping on eventless transitions fails with ErrLivelock instead of
	// hanging its caller.
	// default: 100000
	MaxMicrosteps int
	// MaxMacrosteps bounds the macrosteps one Run takes, so that a chart
	// that keeps sending itself events without delay fails with
	// ErrLivelock instead of holding its caller forever. The session stays
	// usable: its queued events remain for the next Run.
	// default: 100000
	MaxMacrosteps int
	// IOProcessors are extra entries for _ioprocessors, by type short name
	// (e.g. "basichttp") to location. The SCXML processor is always there.
	// default: none
	IOProcessors map[string]string
	// OnTransition, when set, is told of each transition taken, before
	// its microstep runs (section 3.13), with the event that enabled it
	// (nil for an eventless transition). It is a pure observer, called
	// during the macrostep (not an effect: it changes nothing outside,
	// and buffering it would cost a copy per transition for tracing that
	// wants it in step): it must not call back into the session.
	// default: nil
	OnTransition func(s *Session, t *scxml.Transition, ev *Event)
	// Load reads the document an <invoke src> names: doc is the file of
	// the invoking document (for relative names), src the evaluated src;
	// it returns the document and the name to give it (its resolved
	// path). The interpreter does no I/O of its own: this is the
	// embedder's (engine.Options.Loader).
	// default: nil, and an <invoke src> raises error.execution
	Load func(doc, src string) (data []byte, name string, err error)
	// Actions run custom executable content (see Action), by element
	// namespace and local name.
	// default: none; custom content raises error.execution
	Actions map[ActionName]Action
	// IgnoreUnknownActions makes custom executable content without an
	// Action do nothing instead of raising error.execution (section 4.1
	// allows either; a document validated against the registered actions
	// has none).
	// default: false
	IgnoreUnknownActions bool
	// Globals are host objects and functions put into the ECMAScript
	// global scope under their names (Go values, converted by goja:
	// functions, maps, structs). They are read-only, not enumerable, never
	// snapshotted, and installed again when a session is restored. The
	// null datamodel ignores them.
	// default: none
	Globals map[string]any
	// Data gives the document's top-level <data> items initial values in
	// place of their expr, src or content, as an invoking parent's
	// <param> and namelist values do (section 6.4.4): by <data> id,
	// JSON-like Go values (as Event.Data holds them). Start binds them
	// (early or late binding alike, the top-level items are bound when
	// the session starts), so they are in every snapshot from then on;
	// Restore ignores them. Names that are not top-level <data> ids are
	// ignored (the engine refuses them before).
	// default: none
	Data map[string]any
	// VerifySnapshots makes every Snapshot also export the whole
	// datamodel afresh and fail if the incremental export (which reuses
	// the encoding of variables no code touched since the last
	// snapshot) differs. For tests and replays: it doubles the cost.
	// default: false
	VerifySnapshots bool
}

const (
	defaultMaxMicrosteps = 100000
	defaultMaxMacrosteps = 100000
)

type nopHost struct{}

func (nopHost) Route(_ *Session, msg *Message) (RouteDecision, error) {
	return RouteOutbox, fmt.Errorf("target %q: %w", msg.Target, ErrInvalidTarget)
}

// Session is one running instance of a Machine: the whole state of
// interpretation, explicit so that it can be snapshotted. A Session never
// starts goroutines, reads the clock or performs I/O: time comes in through
// Start and Advance, events through Enqueue, and everything outbound goes
// into the outbox (TakeOutbox). A Session is not safe for concurrent use.
type Session struct {
	m    *Machine
	id   string
	opts Options
	host Host

	dm Datamodel

	// The global variables of Appendix D.
	configuration  bitset.Set
	statesToInvoke bitset.Set
	historyValue   [][]int // by history state index: recorded state indices
	internalQueue  queue
	externalQueue  queue
	running        bool

	started   bool
	dataDone  bitset.Set // late binding: states whose <data> were initialised
	now       time.Time
	delayed   []*delayedSend // sorted by (due, seq)
	seq       uint64         // generated send ids and delayed-send order
	current   Event          // the event _event is bound to
	finalID   string         // id of the top-level final state reached
	endConfig []string       // configuration when the session ended

	// Invocations (section 6.4). Children run inside their parent: they
	// are driven by the parent's Step and Advance and snapshotted with it.
	invocations []*invocation
	parent      *Session       // the invoking session, or nil
	invokeID    string         // the parent's invokeid for this session
	params      map[string]any // <param>/namelist values from the parent

	// at is the element of executable content being executed (nil
	// outside executable content), for the data of the error events it
	// raises.
	at scxml.Executable

	// subs are the event-name prefixes the session subscribed to (see
	// Subscribe), sorted.
	subs []string

	// top is the top-level session of the tree, whose outbox holds the
	// effects of every session in it (s itself for a top-level session).
	top    *Session
	outbox []Effect

	// Scratch space reused by every microstep: no allocations per step.
	enabled      []*scxml.Transition
	exitSet      bitset.Set
	entrySet     bitset.Set
	defaultEntry bitset.Set
	tmpSet       bitset.Set
	tmpSets      []bitset.Set
	targets      []*scxml.State
	defaultHist  []histContent
}

type histContent struct {
	parent  int
	content []scxml.Executable
}

// delayedSend is a <send> waiting for its delay to elapse. Everything was
// evaluated when the <send> ran (section 6.2); only delivery waits.
type delayedSend struct {
	Due time.Time
	Seq uint64
	Msg Message
}

// NewSession creates a session of m with the given id. The session does
// nothing until Start.
func (m *Machine) NewSession(id string, opts Options) (*Session, error) {
	if opts.MaxMicrosteps <= 0 {
		opts.MaxMicrosteps = defaultMaxMicrosteps
	}
	if opts.MaxMacrosteps <= 0 {
		opts.MaxMacrosteps = defaultMaxMacrosteps
	}
	s := &Session{m: m, id: id, opts: opts, host: opts.Host, params: opts.Data}
	s.top = s
	if s.host == nil {
		s.host = nopHost{}
	}
	n := len(m.doc.States)
	s.configuration = bitset.New(n)
	s.statesToInvoke = bitset.New(n)
	s.dataDone = bitset.New(n)
	s.exitSet = bitset.New(n)
	s.entrySet = bitset.New(n)
	s.defaultEntry = bitset.New(n)
	s.tmpSet = bitset.New(n)
	s.historyValue = make([][]int, n)
	sys := SystemInfo{
		SessionID:       id,
		Name:            m.doc.Name,
		IOProcessors:    map[string]string{scxmlProcessorShortType: "#_scxml_" + id, SCXMLProcessorType: "#_scxml_" + id},
		In:              s.in,
		Globals:         opts.Globals,
		VerifySnapshots: opts.VerifySnapshots,
	}
	for k, v := range opts.IOProcessors {
		sys.IOProcessors[k] = v
	}
	dm, err := m.dm.NewDatamodel(sys)
	if err != nil {
		return nil, fmt.Errorf("interp: session %s: %w", id, err)
	}
	s.dm = dm
	return s, nil
}

// ID returns the session id.
func (s *Session) ID() string { return s.id }

// Datamodel returns the session's datamodel (for tests and tools: the
// interpreter is its only caller while the session runs).
func (s *Session) Datamodel() Datamodel { return s.dm }

// Machine returns the machine the session runs.
func (s *Session) Machine() *Machine { return s.m }

// Running reports whether the session has started and not yet ended.
func (s *Session) Running() bool { return s.running }

// Started reports whether Start has been called.
func (s *Session) Started() bool { return s.started }

// Final returns the id of the top-level final state the session ended in,
// or "" while it runs or when it was cancelled.
func (s *Session) Final() string { return s.finalID }

// Now returns the session's notion of the current time: the last time given
// to Start or Advance.
func (s *Session) Now() time.Time { return s.now }

func (s *Session) in(id string) bool {
	st := s.m.doc.StateByID(id)
	return st != nil && s.configuration.Has(st.Index)
}

// Configuration returns the ids of the active atomic states in document
// order; after the session ended, those it ended in.
func (s *Session) Configuration() []string {
	if !s.running && s.started {
		return append([]string(nil), s.endConfig...)
	}
	return s.atomicIDs()
}

func (s *Session) atomicIDs() []string {
	var ids []string
	for i := s.configuration.Next(0); i >= 0; i = s.configuration.Next(i + 1) {
		if st := s.m.doc.States[i]; st.IsAtomic() {
			ids = append(ids, st.ID)
		}
	}
	return ids
}

// ActiveStates returns the ids of all active states (atomic or not) in
// document order.
func (s *Session) ActiveStates() []string {
	var ids []string
	for i := s.configuration.Next(1); i >= 0; i = s.configuration.Next(i + 1) {
		ids = append(ids, s.m.doc.States[i].ID)
	}
	return ids
}

// Start runs interpret() of Appendix D up to the first wait for an external
// event: the datamodel is initialised, the global script runs, the initial
// configuration is entered and the first macrostep completes.
func (s *Session) Start(now time.Time) error {
	if s.started {
		return fmt.Errorf("interp: session %s: already started", s.id)
	}
	s.started = true
	s.now = now
	s.interpret()
	// Bound now, and in the datamodel from here on: hold no copy.
	s.params, s.opts.Data = nil, nil
	return s.completeMacrostep()
}

// Enqueue appends ev to the external queue; it is processed by Step. Events
// sent to a session that ended are dropped.
func (s *Session) Enqueue(ev Event) {
	if s.started && !s.running {
		return
	}
	s.externalQueue.push(ev)
}

// Pending reports whether Step has work to do.
func (s *Session) Pending() bool {
	if !s.running {
		return false
	}
	if s.externalQueue.len() > 0 || s.internalQueue.len() > 0 {
		return true
	}
	for _, inv := range s.invocations {
		if inv.child != nil && inv.child.Pending() {
			return true
		}
	}
	return false
}

// Advance moves the session's clock to now and delivers the delayed sends
// that are due, in due order. Events for the session itself go to its
// external queue, to be processed by Step; the others are routed as a
// <send> without delay is (Host.Route, the outbox). Time never goes backwards: an earlier now is ignored.
func (s *Session) Advance(now time.Time) {
	if now.After(s.now) {
		s.now = now
	}
	for len(s.delayed) > 0 && !s.delayed[0].Due.After(s.now) && s.running {
		d := s.delayed[0]
		s.delayed[0] = nil
		s.delayed = s.delayed[1:]
		s.deliver(&d.Msg)
	}
	for _, inv := range s.invocations {
		if inv.child != nil {
			inv.child.Advance(now)
		}
	}
}

// NextDeadline returns when the earliest delayed send falls due.
func (s *Session) NextDeadline() (time.Time, bool) {
	if !s.running {
		return time.Time{}, false
	}
	var due time.Time
	ok := len(s.delayed) > 0
	if ok {
		due = s.delayed[0].Due
	}
	for _, inv := range s.invocations {
		if inv.child == nil {
			continue
		}
		if d, cok := inv.child.NextDeadline(); cok && (!ok || d.Before(due)) {
			due, ok = d, true
		}
	}
	return due, ok
}

// Step runs one macrostep: it completes pending internal work, or else
// takes one event from the external queue and processes it with all its
// follow-up microsteps (the body of mainEventLoop). It reports whether
// there was anything to do.
func (s *Session) Step() (bool, error) {
	if !s.started {
		return false, ErrNotStarted
	}
	if !s.running {
		return false, nil
	}
	if s.internalQueue.len() > 0 {
		return true, s.completeMacrostep()
	}
	// Invoked children run before the parent takes its next event, so
	// what they send to #_parent is queued in the order they sent it.
	ran := s.runChildren()
	ev, ok := s.externalQueue.pop()
	if !ok && ran {
		return true, nil
	}
	if !ok {
		return false, nil
	}
	s.processExternalEvent(ev)
	return true, s.completeMacrostep()
}

// Run calls Step until there is nothing left to do.
func (s *Session) Run() error {
	for n := 0; ; n++ {
		if n == s.opts.MaxMacrosteps {
			return fmt.Errorf("interp: session %s: more than %d macrosteps without waiting for an outside event: %w", s.id, n, ErrLivelock)
		}
		ok, err := s.Step()
		if err != nil || !ok {
			return err
		}
	}
}

// Cancel ends the session as if cancelled by its parent (Appendix D,
// isCancelEvent): active states are exited, running their onexit handlers.
func (s *Session) Cancel() {
	if !s.running {
		return
	}
	s.running = false
	s.exitInterpreter()
}

// raiseError places error.execution or error.communication on the
// internal queue (section 5.10.1) and puts why in the outbox
// (EffectError).
func (s *Session) raiseError(name string, sendID string, cause error) {
	ev := Event{Name: name, Type: Platform, SendID: sendID, Data: errorData(cause)}
	cp := ev
	s.emit(Effect{Kind: EffectError, Event: &cp, Cause: cause})
	s.internalQueue.push(ev)
}

func (s *Session) execError(cause error) { s.raiseError(EventErrorExecution, "", cause) }

// errorData is the data of an error event (as other interpreters give
// it): the reason and, when an element failed, its tag name, position
// and document, {tagname, line, column, document, reason}, so that a
// document can act on it.
func errorData(cause error) any {
	if cause == nil {
		return nil
	}
	d := map[string]any{"reason": cause.Error()}
	var ee *ElementError
	if errors.As(cause, &ee) {
		d["tagname"] = ee.Tag
		d["line"] = int64(ee.Pos.Line)
		d["column"] = int64(ee.Pos.Col)
		d["document"] = ee.Document
	}
	return d
}

// queue is a FIFO of events that reuses its storage.
type queue struct {
	items []Event
	head  int
}

func (q *queue) len() int { return len(q.items) - q.head }

func (q *queue) push(ev Event) {
	if q.head > 0 && q.head == len(q.items) {
		q.items, q.head = q.items[:0], 0
	}
	q.items = append(q.items, ev)
}

func (q *queue) pop() (Event, bool) {
	if q.head == len(q.items) {
		return Event{}, false
	}
	ev := q.items[q.head]
	q.items[q.head] = Event{}
	q.head++
	return ev, true
}

// schedule inserts a delayed send in (due, seq) order.
func (s *Session) schedule(d *delayedSend) {
	i := sort.Search(len(s.delayed), func(i int) bool {
		x := s.delayed[i]
		return x.Due.After(d.Due) || (x.Due.Equal(d.Due) && x.Seq > d.Seq)
	})
	s.delayed = append(s.delayed, nil)
	copy(s.delayed[i+1:], s.delayed[i:])
	s.delayed[i] = d
}

// cancelSend removes the delayed sends with the given id (section 6.3).
func (s *Session) cancelSend(id string) {
	out := s.delayed[:0]
	for _, d := range s.delayed {
		if d.Msg.Event.SendID != id {
			out = append(out, d)
		}
	}
	for i := len(out); i < len(s.delayed); i++ {
		s.delayed[i] = nil
	}
	s.delayed = out
}

// Busy returns a generation counter that is odd while datamodel code of
// the session runs (always even for a datamodel that runs no code). A
// watchdog that reads the same odd value twice, a script budget apart,
// passes it to Interrupt. Busy and Interrupt are the only methods safe to
// call from another goroutine.
func (s *Session) Busy() uint64 { return s.dm.Busy() }

// Interrupt stops the datamodel code of generation gen if it still runs;
// the evaluation fails with error.execution. It reports whether it did.
func (s *Session) Interrupt(gen uint64) bool { return s.dm.Interrupt(gen) }
